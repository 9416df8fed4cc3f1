//! The scaleph metadata store: users, sessions, API tokens, project membership, the audit log,
//! projects, datasources, SQL jobs with versioned scripts, and job instances with state
//! history, metrics and logs.
//!
//! One schema and one set of migrations (`migrations/`, embedded in the binary) serve SQLite
//! (default, a file under the data dir) and PostgreSQL, through sqlx's `Any` driver. Times are
//! epoch milliseconds (`BIGINT`), ids are UUIDv7 strings. Instance states change only through
//! [`Store::transition`], which asks [`JobState::transition`] first.
#![warn(missing_docs)]

mod access;
mod alerts;
mod artifacts;
mod audit;
mod clusters;
mod datasources;
mod error;
mod instances;
mod jobs;
mod migrations;
mod models;
mod projects;
mod schedules;
mod workflows;

pub use access::{ApiToken, Member, NewUser, SessionRow, User, UserPatch};
pub use alerts::{
    AlertChannel, AlertDelivery, AlertEvent, AlertFact, AlertRule, NewAlert, RuleFields,
};
pub use audit::{AuditEntry, AuditFilter};
pub use clusters::{Cluster, ClusterSecrets, Savepoint};
pub use error::{Result, StoreError};
pub use jobs::NewJob;
pub use models::*;
pub use schedules::{
    Backfill, BackfillRun, NewFire, RunParams, Schedule, ScheduleFields, ScheduleFire, Target,
};
pub use workflows::{TaskChange, TaskRun, Workflow, WorkflowRun};

use scaleph_engine::JobState;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use std::time::Duration;

/// Handle to the metadata database; cheap to clone.
///
/// Read-only queries go to a pool of readers, everything that writes (or reads to decide a
/// write, in one transaction) to a pool of one writer. On SQLite (WAL mode) readers never wait
/// for the writer, and writers queue on the single writer connection instead of failing with
/// `SQLITE_BUSY`; PostgreSQL has the same split ([`PG_WRITE_CONNECTIONS`]). No store method holds a connection of
/// one pool while it waits for a connection of the other.
#[derive(Clone, Debug)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// How a [`Store`] connects; [`StoreOptions::default`] suits a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections for read-only queries (default 8). SQLite: that many readers beside the one
    /// writer, in WAL mode; `0` keeps the setting from before WAL (one connection for reads and
    /// writes, journal mode as the file has it), for comparison only. PostgreSQL: that many
    /// readers beside [`PG_WRITE_CONNECTIONS`] writers; `0` is one pool of [`PG_CONNECTIONS`]
    /// for both (the setting before), for comparison only.
    pub read_connections: u32,
    /// How long a request waits for a free connection before [`StoreError::Database`]
    /// (default 10 s).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            read_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Connections of the single PostgreSQL pool used when `read_connections` is `0`.
pub const PG_CONNECTIONS: u32 = 12;

/// Connections for writes on PostgreSQL (beside `read_connections` readers): write transactions
/// are short, and serialising them keeps the cores for reads under a write storm.
pub const PG_WRITE_CONNECTIONS: u32 = 1;

/// How long an SQLite connection waits for a lock held by another process (e.g. a CLI command
/// writing while the server runs) before `SQLITE_BUSY`, in milliseconds.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5000;

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) with
    /// [`StoreOptions::default`] and applies migrations.
    ///
    /// # Errors
    /// [`StoreError::Database`] when the database cannot be reached or migrated;
    /// [`StoreError::Invalid`] for another kind of URL.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, StoreOptions::default()).await
    }

    /// Connects to `url` with `opts` and applies migrations.
    ///
    /// # Errors
    /// As [`Store::connect`].
    pub async fn connect_with(url: &str, opts: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL '{}': use sqlite://… or postgres://…",
                url.split('@').next_back().unwrap_or(url)
            )));
        };
        let base = AnyPoolOptions::new().acquire_timeout(opts.acquire_timeout);
        let (read, write) = match backend {
            // Readers beside one writer, as on SQLite (`bench/src/bin/store_load.rs`, 20 writers
            // + 200 reads/s, 2 cores, quiet machine): concurrent write transactions took the
            // cores from the reads. Read p99 with writers on 1 / 2 / 4 connections: 26–39 /
            // 27–43 / 48–85 ms; one pool of 12 for both: 49–82 ms.
            Backend::Postgres => {
                // A round trip before every acquire costs more than it saves: a connection that
                // died while idle fails one request and is dropped (sqlx pings on release).
                let base = base.test_before_acquire(false);
                if opts.read_connections == 0 {
                    let pool = base.max_connections(PG_CONNECTIONS).connect(url).await?;
                    (pool.clone(), pool)
                } else {
                    let write = base
                        .clone()
                        .max_connections(PG_WRITE_CONNECTIONS)
                        .connect(url)
                        .await?;
                    let read = base
                        .max_connections(opts.read_connections)
                        .connect_lazy(url)?;
                    (read, write)
                }
            }
            // An in-memory database exists once per connection: one connection serves all.
            // sqlx's defaults apply (foreign keys on, 5 s busy timeout).
            Backend::Sqlite if sqlite_in_memory(url) => {
                let pool = base.max_connections(1).connect(url).await?;
                (pool.clone(), pool)
            }
            Backend::Sqlite if opts.read_connections == 0 => {
                let pool = base.max_connections(1).connect(url).await?;
                set_journal_mode(&pool, "delete").await?;
                (pool.clone(), pool)
            }
            Backend::Sqlite => {
                let write = base
                    .clone()
                    .max_connections(1)
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c, false)))
                    .connect(url)
                    .await?;
                // Persistent in the file; readers then see committed data without blocking
                // the writer and the writer commits without waiting for readers.
                set_journal_mode(&write, "wal").await?;
                let read = base
                    .max_connections(opts.read_connections)
                    .after_connect(|c, _| Box::pin(sqlite_pragmas(c, true)))
                    .connect_lazy(url)?;
                (read, write)
            }
        };
        migrations::migrator()
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?
            .run(&write)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(Store {
            read,
            write,
            backend,
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when the database answers `SELECT 1`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// Closes the pools.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Starts a transaction on the writer. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads and then writes cannot fail half-way with
    /// `SQLITE_BUSY` when another process wrote in between.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }
}

/// Switches an SQLite file to journal `mode` (lower case) unless it is in it already (the
/// switch needs the only lock on the file; asking is free, so a CLI command opening the store
/// of a running server does not try).
async fn set_journal_mode(pool: &AnyPool, mode: &str) -> Result<()> {
    let cur: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await?;
    if !cur.eq_ignore_ascii_case(mode) {
        sqlx::query(&format!("PRAGMA journal_mode = {mode}"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

fn sqlite_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Per-connection SQLite settings; readers are `query_only`, so a write routed to the read
/// pool by mistake fails instead of racing the writer.
async fn sqlite_pragmas(
    c: &mut sqlx::AnyConnection,
    reader: bool,
) -> std::result::Result<(), sqlx::Error> {
    use sqlx::Executor as _;
    c.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str())
        .await?;
    c.execute("PRAGMA foreign_keys = ON").await?;
    c.execute("PRAGMA synchronous = NORMAL").await?;
    if reader {
        c.execute("PRAGMA query_only = ON").await?;
    }
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub(crate) fn state_of(row_state: &str) -> Result<JobState> {
    JobState::parse(row_state)
        .ok_or_else(|| StoreError::Database(format!("unknown state '{row_state}' in store")))
}

pub(crate) type Row = AnyRow;

/// Tables whose rows belong to a project and have a `name` (the only values `table` takes
/// below, so the formatted SQL never contains user input).
#[derive(Clone, Copy)]
pub(crate) enum ProjectTable {
    Datasources,
    Jobs,
}

impl ProjectTable {
    fn table(self) -> &'static str {
        match self {
            ProjectTable::Datasources => "datasources",
            ProjectTable::Jobs => "jobs",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            ProjectTable::Datasources => "datasource",
            ProjectTable::Jobs => "job",
        }
    }
}

impl Store {
    /// A page of a project's rows of `t`, by name.
    pub(crate) async fn list_in_project<T>(
        &self,
        t: ProjectTable,
        project_id: &str,
        page: PageRequest,
        map: fn(&Row) -> Result<T>,
    ) -> Result<Page<T>> {
        self.get_project(project_id).await?;
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE project_id = $1",
            t.table()
        ))
        .bind(project_id)
        .fetch_one(&self.read)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM {} WHERE project_id = $1 ORDER BY name LIMIT $2 OFFSET $3",
            t.table()
        ))
        .bind(project_id)
        .bind(page.page_size)
        .bind(page.offset())
        .fetch_all(&self.read)
        .await?;
        Ok(Page {
            items: rows.iter().map(map).collect::<Result<_>>()?,
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One row of `t` by id within a project.
    pub(crate) async fn get_in_project<T>(
        &self,
        t: ProjectTable,
        project_id: &str,
        id: &str,
        map: fn(&Row) -> Result<T>,
    ) -> Result<T> {
        let r = sqlx::query(&format!(
            "SELECT * FROM {} WHERE id = $1 AND project_id = $2",
            t.table()
        ))
        .bind(id)
        .bind(project_id)
        .fetch_optional(&self.read)
        .await?;
        r.as_ref()
            .map(map)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("{} '{id}'", t.noun())))
    }

    /// Deletes one row of `t` by id within a project.
    pub(crate) async fn delete_in_project(
        &self,
        t: ProjectTable,
        project_id: &str,
        id: &str,
    ) -> Result<()> {
        let n = sqlx::query(&format!(
            "DELETE FROM {} WHERE id = $1 AND project_id = $2",
            t.table()
        ))
        .bind(id)
        .bind(project_id)
        .execute(&self.write)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("{} '{id}'", t.noun())));
        }
        Ok(())
    }
}
