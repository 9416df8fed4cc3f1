//! `CURRENT_WATERMARK(rowtime)` (Flink 2.x built-in, streaming only): the watermark the operator
//! evaluating it has received, as the rowtime's type with precision 3 — `NULL` while no
//! watermark has arrived (Flink's `Long.MIN_VALUE`).
//!
//! The planner binds each `SELECT`/`WHERE` operator that calls it to its own cell
//! ([`CurrentWatermark::bound`]), which the operator sets when its input watermark advances;
//! an unbound call (anywhere else) fails.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The UDF's name as planned (lower case, as DataFusion resolves it).
pub(crate) const NAME: &str = "current_watermark";

/// No watermark yet.
pub(crate) const NONE: i64 = i64::MIN;

/// The watermark cell of one operator: epoch ms, [`NONE`] before the first watermark.
pub(crate) type Cell = Arc<AtomicI64>;

/// A new cell without a watermark.
pub(crate) fn cell() -> Cell {
    Arc::new(AtomicI64::new(NONE))
}

/// `CURRENT_WATERMARK(ts)`; unbound until the streaming planner gives it an operator's cell.
#[derive(Debug)]
pub(crate) struct CurrentWatermark {
    signature: Signature,
    cell: Option<Cell>,
}

impl CurrentWatermark {
    /// The UDF as registered: planning works, evaluation fails.
    pub(crate) fn unbound() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Volatile),
            cell: None,
        }
    }

    /// The UDF reading `cell`.
    pub(crate) fn bound(cell: Cell) -> Self {
        Self {
            cell: Some(cell),
            ..Self::unbound()
        }
    }
}

impl PartialEq for CurrentWatermark {
    fn eq(&self, other: &Self) -> bool {
        match (&self.cell, &other.cell) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for CurrentWatermark {}

impl Hash for CurrentWatermark {
    fn hash<H: Hasher>(&self, state: &mut H) {
        NAME.hash(state);
        self.cell.as_ref().map(Arc::as_ptr).hash(state);
    }
}

impl ScalarUDFImpl for CurrentWatermark {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::Timestamp(_, tz)) => {
                Ok(DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))
            }
            Some(other) => plan_err!(
                "The argument of CURRENT_WATERMARK() must be a rowtime attribute, but was '{other}'"
            ),
            None => plan_err!("CURRENT_WATERMARK() takes one rowtime attribute"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(cell) = &self.cell else {
            return exec_err!(
                "CURRENT_WATERMARK() is evaluated in SELECT and WHERE of a streaming query only"
            );
        };
        let tz = match args.return_field.data_type() {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let wm = cell.load(Ordering::Relaxed);
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            (wm != NONE).then_some(wm),
            tz,
        )))
    }
}
