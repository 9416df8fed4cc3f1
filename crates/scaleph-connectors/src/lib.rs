//! Flink-compatible connectors for the embedded engine, as DataFusion sources and scaleph sinks.
//!
//! Each connector takes a [`TableDef`] (a Flink `CREATE TABLE … WITH (…)`) and validates its
//! options the way Flink does: unknown options and missing required ones are errors that name the
//! option and point at it. [`connector_for`] is the registry.
//!
//! | connector   | read | write | options |
//! |-------------|------|-------|---------|
//! | `filesystem`| yes  | yes   | `path`, `format` = csv \| json \| parquet, `csv.*` |
//! | `datagen`   | yes  | no    | `number-of-rows` (unbounded without), `rows-per-second`, `fields.<f>.*` |
//! | `print`     | no   | yes   | `print-identifier`, `standard-error` |
//! | `blackhole` | no   | yes   | — |
//!
//! Sinks never expose partial output: a [`Sink`] writes into a staging area and a
//! [`PendingCommit`] publishes or discards it.
#![warn(missing_docs)]

pub mod access;
mod blackhole;
mod datagen;
mod filesystem;
pub mod hosts;
mod metered;
mod nexmark;
mod options;
mod print;
mod sink;
pub mod text;

pub use access::FileAccess;
pub use filesystem::check_script_paths;
pub use hosts::{check_script_hosts, HostAccess};
pub use metered::{Counter, MeteredTable};
pub use options::Options;
pub use print::row_kind;
pub use sink::{LogFn, PendingCommit, Sink, SinkContext, StreamWriter, ROW_KIND_COLUMN};

use datafusion::catalog::TableProvider;
use scaleph_sql::{SqlError, TableDef};
use std::sync::Arc;

/// Where a streaming source resumes after a restore, set by the engine as an extension of the
/// task's session config: the rows the source delivered before. A source that can seek starts
/// there and sets `honored`; otherwise the engine drops that many rows of its output itself.
#[derive(Debug, Default)]
pub struct StartAt {
    /// Rows already delivered.
    pub rows: u64,
    /// Set by a source that started at `rows`.
    pub honored: std::sync::atomic::AtomicBool,
}

/// A table's connector: what it can read and write.
pub trait Connector: Send + Sync {
    /// The table as a bounded DataFusion source.
    ///
    /// # Errors
    /// A [`SqlError`] at the table's definition when the table cannot be read (a write-only
    /// connector, a path that does not exist).
    fn source(&self) -> Result<Arc<dyn TableProvider>, SqlError>;

    /// The table for batch execution. Like [`Connector::source`], except that STRING columns
    /// may be `Utf8View` where the format decodes to views cheaply (parquet); the batch engine
    /// casts them back to `Utf8` at the query's output.
    ///
    /// # Errors
    /// As [`Connector::source`].
    fn batch_source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        self.source()
    }

    /// The table as a sink.
    ///
    /// # Errors
    /// A [`SqlError`] when the connector cannot be written (e.g. `datagen`).
    fn sink(&self) -> Result<Arc<dyn Sink>, SqlError>;

    /// Whether reading the table ends (`datagen` without a row count does not). Batch execution
    /// reads bounded tables only; streaming execution reads both.
    fn bounded(&self) -> bool {
        true
    }
}

/// What the server allows connectors to reach; one per server (or the CLI), shared by every
/// script it runs.
#[derive(Debug, Clone, Default)]
pub struct ConnectorContext {
    /// Local paths that file-based connectors may read and write.
    pub files: FileAccess,
    /// Network endpoints that connectors and datasources may reach.
    pub hosts: HostAccess,
}

impl ConnectorContext {
    /// Checks what a script for another engine (a Flink cluster) names: local `filesystem`
    /// paths ([`check_script_paths`]) and network endpoints in connector options
    /// ([`check_script_hosts`]).
    ///
    /// # Errors
    /// The first refused path or host, positioned at its option.
    pub fn check_script(&self, stmts: &[scaleph_sql::Statement]) -> Result<(), SqlError> {
        check_script_paths(stmts, &self.files)?;
        check_script_hosts(stmts, &self.hosts)
    }
}

/// Names of the connectors [`connector_for`] knows.
pub const CONNECTORS: [&str; 5] = ["filesystem", "datagen", "nexmark", "print", "blackhole"];

/// The registry: validates `def`'s options and returns its connector.
///
/// # Errors
/// `'connector'` missing or unknown, unknown or missing options, bad option values — each a
/// [`SqlError`] positioned at the offending option (or the table name).
/// File-based connectors check their paths against `ctx` (see [`access`]).
pub fn connector_for(
    def: &TableDef,
    ctx: &ConnectorContext,
) -> Result<Box<dyn Connector>, SqlError> {
    let Some(name) = def.option("connector") else {
        return Err(SqlError::invalid(
            def.pos,
            format!("table `{}` has no 'connector' option", def.name),
        ));
    };
    match name {
        "filesystem" => Ok(Box::new(filesystem::Filesystem::new(def, ctx)?)),
        "datagen" => Ok(Box::new(datagen::Datagen::new(def)?)),
        "nexmark" => Ok(Box::new(nexmark::Nexmark::new(def)?)),
        "print" => Ok(Box::new(print::Print::new(def)?)),
        "blackhole" => Ok(Box::new(blackhole::Blackhole::new(def)?)),
        other => Err(SqlError::invalid(
            def.option_pos("connector"),
            format!(
                "unknown connector '{other}' for table `{}`; available: {}",
                def.name,
                CONNECTORS.join(", ")
            ),
        )),
    }
}
