//! `ts ± INTERVAL …` of a fixed length (no months; whole days only on a timestamp without
//! zone) as integer arithmetic on the timestamp's values.
//!
//! Arrow's kernel for timestamp ± interval converts every value to a chrono date-time and back
//! (about 5 % of a Nexmark job, whose watermark is `dateTime - INTERVAL '4' SECOND`). A fixed
//! shift is one checked addition per value with the same result; a value that would overflow
//! makes the whole batch go through DataFusion's expression, so the error stays its.
use datafusion::arrow::array::{Array, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowTimestampType, DataType, Schema, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{internal_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::expressions::{BinaryExpr, Literal};
use datafusion::physical_expr::PhysicalExpr;
use std::fmt;
use std::sync::Arc;

/// `original`, a timestamp `±` a fixed interval, computed as `input + by` in the timestamp's
/// unit.
#[derive(Debug)]
pub(crate) struct TimestampShift {
    input: Arc<dyn PhysicalExpr>,
    /// The shift in the timestamp's unit (negative for `-`).
    by: i64,
    unit: TimeUnit,
    /// The expression as DataFusion planned it: evaluated when a value would overflow.
    original: Arc<dyn PhysicalExpr>,
}

impl TimestampShift {
    /// The shifting form of `e` when it is `timestamp ± fixed interval literal` over `schema`.
    pub(crate) fn of(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Self> {
        let bin = e.downcast_ref::<BinaryExpr>()?;
        let sign = match bin.op() {
            Operator::Plus => 1,
            Operator::Minus => -1,
            _ => return None,
        };
        let DataType::Timestamp(unit, tz) = bin.left().data_type(schema).ok()? else {
            return None;
        };
        let lit = bin.right().downcast_ref::<Literal>()?;
        let (days, nanos) = match lit.value() {
            ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => {
                (i64::from(v.days), i128::from(v.nanoseconds))
            }
            ScalarValue::IntervalDayTime(Some(v)) => {
                (i64::from(v.days), i128::from(v.milliseconds) * 1_000_000)
            }
            _ => return None,
        };
        // A day of a zoned timestamp is a calendar day (23 to 25 hours).
        if days != 0 && tz.is_some() {
            return None;
        }
        let per: i128 = match unit {
            TimeUnit::Second => 1_000_000_000,
            TimeUnit::Millisecond => 1_000_000,
            TimeUnit::Microsecond => 1_000,
            TimeUnit::Nanosecond => 1,
        };
        let total = i128::from(days) * 86_400_000_000_000 + nanos;
        if total % per != 0 || e.data_type(schema).ok()? != bin.left().data_type(schema).ok()? {
            return None;
        }
        let by = i64::try_from(sign * total / per).ok()?;
        Some(Self {
            input: bin.left().clone(),
            by,
            unit,
            original: e.clone(),
        })
    }

    fn shift<T: ArrowTimestampType>(&self, a: &dyn Array) -> Option<Arc<dyn Array>> {
        let a: &PrimitiveArray<T> = a.as_primitive_opt()?;
        let out: PrimitiveArray<T> = a.try_unary(|v| v.checked_add(self.by).ok_or(())).ok()?;
        Some(Arc::new(out.with_data_type(a.data_type().clone())))
    }
}

impl PartialEq for TimestampShift {
    fn eq(&self, other: &Self) -> bool {
        self.by == other.by && self.unit == other.unit && self.original.eq(&other.original)
    }
}

impl Eq for TimestampShift {}

impl std::hash::Hash for TimestampShift {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.by.hash(state);
        self.original.hash(state);
    }
}

impl fmt::Display for TimestampShift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.original, f)
    }
}

impl PhysicalExpr for TimestampShift {
    fn data_type(&self, input_schema: &Schema) -> Result<DataType> {
        self.original.data_type(input_schema)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.original.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let a = self.input.evaluate(batch)?.into_array(batch.num_rows())?;
        let shifted = match self.unit {
            TimeUnit::Second => self.shift::<TimestampSecondType>(&a),
            TimeUnit::Millisecond => self.shift::<TimestampMillisecondType>(&a),
            TimeUnit::Microsecond => self.shift::<TimestampMicrosecondType>(&a),
            TimeUnit::Nanosecond => self.shift::<TimestampNanosecondType>(&a),
        };
        match shifted {
            Some(a) => Ok(ColumnarValue::Array(a)),
            None => self.original.evaluate(batch),
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|c| {
            datafusion::common::DataFusionError::Internal(format!(
                "TimestampShift: {} children",
                c.len()
            ))
        })?;
        let Some(bin) = self.original.downcast_ref::<BinaryExpr>() else {
            return internal_err!("TimestampShift over a non-binary expression");
        };
        let original = Arc::new(BinaryExpr::new(
            input.clone(),
            *bin.op(),
            bin.right().clone(),
        ));
        Ok(Arc::new(Self {
            input,
            by: self.by,
            unit: self.unit,
            original,
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.original.fmt_sql(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    /// `sql`'s rows with and without the rewrite (same plan otherwise).
    async fn both(sql: &str) -> (String, String, usize) {
        let ctx = SessionContext::new();
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        let want = pretty_format_batches(
            &datafusion::physical_plan::collect(plan.clone(), ctx.task_ctx())
                .await
                .unwrap(),
        )
        .unwrap()
        .to_string();
        let proj = plan
            .downcast_ref::<datafusion::physical_plan::projection::ProjectionExec>()
            .expect("a projection");
        let schema = proj.input().schema();
        let mut shifted = 0;
        let exprs = proj
            .expr()
            .iter()
            .map(|pe| {
                let e = match TimestampShift::of(&pe.expr, &schema) {
                    Some(s) => {
                        shifted += 1;
                        Arc::new(s) as Arc<dyn PhysicalExpr>
                    }
                    None => pe.expr.clone(),
                };
                datafusion::physical_plan::projection::ProjectionExpr {
                    expr: e,
                    alias: pe.alias.clone(),
                }
            })
            .collect::<Vec<_>>();
        let p = Arc::new(
            datafusion::physical_plan::projection::ProjectionExec::try_new(
                exprs,
                proj.input().clone(),
            )
            .unwrap(),
        );
        let got = match datafusion::physical_plan::collect(p, ctx.task_ctx()).await {
            Ok(b) => pretty_format_batches(&b).unwrap().to_string(),
            Err(e) => format!("error {e}"),
        };
        (want, got, shifted)
    }

    #[tokio::test]
    async fn fixed_shifts_equal_arrows_kernel() {
        let (want, got, n) = both(
            "SELECT ts - INTERVAL '4' SECOND AS a, ts + INTERVAL '1' DAY AS b, \
             ts - INTERVAL '1 day 2 hours 3 minutes 4.005 seconds' AS c, ts + INTERVAL '1' MONTH AS d, \
             CAST(ts AS TIMESTAMP(6)) - INTERVAL '0.000001' SECOND AS e \
             FROM (VALUES (CAST('2026-11-23 20:28:32.8' AS TIMESTAMP(3))), \
             (CAST('1969-12-31 23:59:59.999' AS TIMESTAMP(3))), (CAST(NULL AS TIMESTAMP(3)))) t(ts)",
        )
        .await;
        assert_eq!(want, got);
        assert!(n >= 3, "{n} expressions shifted");
    }
}
