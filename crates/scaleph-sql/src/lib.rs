//! Flink SQL front end of scaleph.
//!
//! A Flink SQL *script* is a sequence of `;`-terminated statements as written for the Flink SQL
//! client: `SET`/`RESET`, `CREATE [OR REPLACE] TABLE … [LIKE …] [AS query]`, `CREATE VIEW`,
//! `CREATE FUNCTION`, `CREATE CATALOG`/`DATABASE`, `USE`, `ADD JAR`, `EXPLAIN`, `SHOW`,
//! `DESCRIBE`, `ALTER`, `DROP`, `INSERT INTO|OVERWRITE`, `EXECUTE STATEMENT SET BEGIN … END;`
//! and plain queries. This crate splits a script into [`Statement`]s, parses Flink DDL (column
//! types, computed and metadata columns, primary key, watermark, distribution, partitioning,
//! connector options) into [`TableDef`]s, maps Flink types to Arrow ([`FlinkType`]), and reports
//! every syntax problem as a [`SqlError`] with a 1-based `line:column` in the script. It accepts
//! what Flink accepts; what an engine does not run is that engine's to refuse.
//!
//! Queries (the `SELECT` parts) are kept as text ([`QueryText`]) with their position, so an engine
//! can plan them with its own SQL planner and still report positions relative to the script.
//!
//! Grammar source: Flink 2.x "SQL > CREATE Statements", "Data Types" and "INSERT Statement"
//! documentation.
#![warn(missing_docs)]

mod cursor;
mod ddl;
mod error;
mod script;
mod types;

pub use ddl::{
    ColumnDef, ComputedColumn, Distribution, LikeClause, MetadataColumn, TableDef, TableOption,
    Watermark,
};
pub use error::{Pos, SqlError, SqlErrorKind};
pub use script::{
    parse_script, FunctionDef, Hint, InsertDef, QueryText, Statement, StatementKind, UseTarget,
    ViewDef,
};
pub use types::FlinkType;

/// Result alias of this crate.
pub type Result<T, E = SqlError> = std::result::Result<T, E>;
