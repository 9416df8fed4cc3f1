//! The TPC-H example project: data generation and the 22 TPC-H queries as Flink SQL jobs.
//!
//! Data comes from the `tpchgen` crate (a port of the TPC-H `dbgen`, spec v3.0.1) and is written
//! as one directory per table (`<out>/lineitem/part-N.parquet`), the layout Flink's filesystem
//! connector reads. Each query becomes a job script: `CREATE TABLE` statements for the eight
//! tables (`'connector' = 'filesystem'`, `'format' = 'parquet'`), a CSV sink table, and
//! `INSERT INTO` the sink. Queries use the spec's validation substitution parameters.
#![warn(missing_docs)]

mod gen;
mod queries;

pub use gen::{generate, GenFormat, GenSummary};
pub use queries::{blackhole_script, job_script, table_ddl, Query, QUERIES};

/// Errors of data generation.
#[derive(Debug, thiserror::Error)]
pub enum TpchError {
    /// Writing files failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Building or writing Arrow data failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Writing parquet failed.
    #[error("parquet error: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
}
