//! Streaming execution (`execution.runtime-mode` = `streaming`, Flink's default).
//!
//! A query's DataFusion logical plan is translated ([`plan`]) into a dataflow of our own
//! operators over Arrow batches: sources, projections, filters, `UNNEST`, `UNION ALL`, window
//! and group aggregation ([`ops`]), regular and window joins ([`join`]), Top-N, deduplication
//! and `LIMIT` ([`rank`]). Rows carry Flink's row kinds (a changelog);
//! watermarks follow Flink's rules ([`exec`]). What the translation does not know is refused at
//! validation with `unsupported: … — run it on a Flink cluster`.
//!
//! One driver task runs a dataflow: it takes the next batch of any source and pushes it through
//! every operator to the sink before taking the next, so nothing is in flight between
//! operators.

pub(crate) mod checkpoint;
pub(crate) mod current_watermark;
pub(crate) mod exec;
pub(crate) mod fast_agg;
pub(crate) mod interval;
pub(crate) mod join;
pub(crate) mod ops;
pub(crate) mod over;
pub(crate) mod panes;
pub(crate) mod plan;
pub(crate) mod rank;
pub(crate) mod session;
pub(crate) mod store;
pub(crate) mod topn;

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

impl RowKind {
    /// The kind of Flink's byte value (unknown values: `+I`).
    pub(crate) fn from_byte(b: u8) -> Self {
        match b {
            1 => Self::UpdateBefore,
            2 => Self::UpdateAfter,
            3 => Self::Delete,
            _ => Self::Insert,
        }
    }
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

use datafusion::arrow::array::{ArrayRef, RecordBatchOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::Result;

/// `cols` cast, where their type differs, to `types` (pairwise).
pub(crate) fn conform<'a>(
    cols: impl IntoIterator<Item = ArrayRef>,
    types: impl IntoIterator<Item = &'a DataType>,
) -> Result<Vec<ArrayRef>> {
    cols.into_iter()
        .zip(types)
        .map(|(c, t)| {
            if c.data_type() == t {
                Ok(c)
            } else {
                Ok(datafusion::arrow::compute::cast(&c, t)?)
            }
        })
        .collect()
}

/// `cols` in Arrow's row format (unsorted order); `conv` is created from their types on first
/// use.
pub(crate) fn encode(conv: &mut Option<RowConverter>, cols: &[ArrayRef]) -> Result<Rows> {
    if conv.is_none() {
        let fields = cols
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        *conv = Some(RowConverter::new(fields)?);
    }
    Ok(conv.as_ref().expect("set above").convert_columns(cols)?)
}

/// A chunk of `cols` (cast to `schema`'s types) with row kinds `kinds` (Flink's byte values).
pub(crate) fn changelog(schema: &SchemaRef, cols: Vec<ArrayRef>, kinds: Vec<u8>) -> Result<Chunk> {
    let n = kinds.len();
    let cols = conform(cols, schema.fields().iter().map(|f| f.data_type()))?;
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        cols,
        &RecordBatchOptions::new().with_row_count(Some(n)),
    )?;
    Ok(Chunk {
        batch,
        kinds: kinds.iter().any(|k| *k != 0).then_some(kinds),
    })
}
