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

pub use access::{ApiToken, Member, NewUser, SessionRow, User, UserPatch};
pub use audit::{AuditEntry, AuditFilter};
pub use clusters::{Cluster, ClusterSecrets, Savepoint};
pub use error::{Result, StoreError};
pub use jobs::NewJob;
pub use models::*;

use scaleph_engine::JobState;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use std::time::Duration;

/// Handle to the metadata database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
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

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and applies migrations.
    ///
    /// # Errors
    /// [`StoreError::Database`] when the database cannot be reached or migrated.
    pub async fn connect(url: &str) -> Result<Store> {
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
        // SQLite serializes writers; with several connections a deferred transaction that reads
        // and then writes fails at once with SQLITE_BUSY when another connection holds a
        // snapshot. One connection avoids that; no store method holds a connection while
        // acquiring another.
        let max = if backend == Backend::Sqlite { 1 } else { 10 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        migrations::migrator()
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(Store { pool, backend })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when the database answers `SELECT 1`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM {} WHERE project_id = $1 ORDER BY name LIMIT $2 OFFSET $3",
            t.table()
        ))
        .bind(project_id)
        .bind(page.page_size)
        .bind(page.offset())
        .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("{} '{id}'", t.noun())));
        }
        Ok(())
    }
}
