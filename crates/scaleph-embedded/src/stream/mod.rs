//! Streaming execution (`execution.runtime-mode` = `streaming`, Flink's default).
//!
//! A query's DataFusion logical plan is translated ([`plan`]) into a dataflow of our own
//! operators ([`ops`]) over Arrow batches: sources, projections, filters, `UNNEST`, `UNION ALL`,
//! window aggregation and group aggregation. Rows carry Flink's row kinds (a changelog);
//! watermarks follow Flink's rules ([`exec`]). What the translation does not know is refused at
//! validation with `unsupported: … — run it on a Flink cluster`.
//!
//! One driver task runs a dataflow: it takes the next batch of any source and pushes it through
//! every operator to the sink before taking the next, so nothing is in flight between
//! operators.

pub(crate) mod exec;
pub(crate) mod ops;
pub(crate) mod plan;

use datafusion::arrow::array::RecordBatch;

/// Flink's `RowKind`; its byte value is Flink's too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RowKind {
    /// `+I`
    Insert = 0,
    /// `-U`
    UpdateBefore = 1,
    /// `+U`
    UpdateAfter = 2,
    /// `-D`
    Delete = 3,
}

/// A batch of rows and their kinds (`None`: every row is `+I`).
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub(crate) batch: RecordBatch,
    pub(crate) kinds: Option<Vec<u8>>,
}

impl Chunk {
    /// An insert-only chunk.
    pub(crate) fn inserts(batch: RecordBatch) -> Self {
        Self { batch, kinds: None }
    }
}
