//! A searched `CASE WHEN c1 THEN t1 … ELSE e END` whose conditions and results are cheap and
//! cannot fail, evaluated over the whole batch and combined by selection
//! (`zip(c1, t1, zip(c2, t2, … e))`, a `NULL` condition counting as false, as in SQL).
//!
//! DataFusion 54 evaluates each branch on a filtered copy of the columns the `CASE` reads,
//! struct and string children included, so a computed column such as Nexmark's
//! `CASE WHEN event_type = 0 THEN person.dateTime … ELSE bid.dateTime END` copied the three
//! event structs twice per batch (10 % of a Nexmark job). Columns, literals and field accesses
//! are free to evaluate on every row, and comparisons of them cannot fail, so evaluating them
//! everywhere gives the same result. Anything else keeps DataFusion's `CaseExpr`.
use datafusion::arrow::array::{new_null_array, Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::expressions::{
    BinaryExpr, CaseExpr, Column, IsNotNullExpr, IsNullExpr, Literal, NotExpr,
};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::ExecutionPlan;
use std::fmt;
use std::sync::Arc;

/// The selecting form of an eligible `CASE` (see the module docs).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CaseSelect {
    when_then: Vec<(Arc<dyn PhysicalExpr>, Arc<dyn PhysicalExpr>)>,
    otherwise: Option<Arc<dyn PhysicalExpr>>,
    data_type: DataType,
    /// As DataFusion's `CaseExpr` derived it (it knows e.g. `COALESCE(x, 0)` is never `NULL`).
    nullable: bool,
}

/// A value evaluated on every row without cost or failure: a column, a literal, or a field of
/// one.
fn free_value(e: &Arc<dyn PhysicalExpr>) -> bool {
    let any: &dyn PhysicalExpr = e.as_ref();
    if any.is::<Column>() || any.is::<Literal>() {
        return true;
    }
    match any.downcast_ref::<ScalarFunctionExpr>() {
        Some(f) if f.name() == "get_field" => {
            let args = f.args();
            !args.is_empty() && free_value(&args[0]) && args[1..].iter().all(|a| a.is::<Literal>())
        }
        _ => false,
    }
}

/// A type whose comparisons cannot fail.
fn comparable(t: &DataType) -> bool {
    t.is_primitive()
        || matches!(
            t,
            DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
}

/// A condition that cannot fail on any row: comparisons of free values of one type, `IS
/// [NOT] NULL`, `NOT`, `AND`, `OR` of such.
fn free_condition(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> bool {
    let any: &dyn PhysicalExpr = e.as_ref();
    if let Some(b) = any.downcast_ref::<BinaryExpr>() {
        return match b.op() {
            Operator::And | Operator::Or => {
                free_condition(b.left(), schema) && free_condition(b.right(), schema)
            }
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom => {
                free_value(b.left())
                    && free_value(b.right())
                    && matches!(
                        (b.left().data_type(schema), b.right().data_type(schema)),
                        (Ok(l), Ok(r)) if l == r && comparable(&l)
                    )
            }
            _ => false,
        };
    }
    if let Some(n) = any.downcast_ref::<NotExpr>() {
        return free_condition(n.arg(), schema);
    }
    if let Some(n) = any.downcast_ref::<IsNullExpr>() {
        return free_value(n.arg());
    }
    if let Some(n) = any.downcast_ref::<IsNotNullExpr>() {
        return free_value(n.arg());
    }
    false
}

impl CaseSelect {
    /// The selecting form of `e` when it is an eligible `CASE` over rows of `schema`.
    fn of(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<Self> {
        let case = e.downcast_ref::<CaseExpr>()?;
        if case.expr().is_some() {
            return None;
        }
        let data_type = e.data_type(schema).ok()?;
        let nullable = e.nullable(schema).ok()?;
        let same = |v: &Arc<dyn PhysicalExpr>| {
            free_value(v) && v.data_type(schema).ok().as_ref() == Some(&data_type)
        };
        let eligible = case
            .when_then_expr()
            .iter()
            .all(|(w, t)| free_condition(w, schema) && same(t))
            && case.else_expr().is_none_or(same);
        eligible.then(|| Self {
            when_then: case.when_then_expr().to_vec(),
            otherwise: case.else_expr().cloned(),
            data_type,
            nullable,
        })
    }
}

/// `e` with every eligible `CASE` in it in the selecting form, and every fixed timestamp shift
/// as integer arithmetic ([`crate::timestamp_shift`]).
///
/// # Errors
/// None in practice: rebuilding a parent with its rewritten children.
pub(crate) fn rewrite(e: Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<Arc<dyn PhysicalExpr>> {
    e.transform_up(|x| {
        if let Some(s) = CaseSelect::of(&x, schema) {
            return Ok(Transformed::yes(Arc::new(s) as Arc<dyn PhysicalExpr>));
        }
        Ok(
            match crate::timestamp_shift::TimestampShift::of(&x, schema) {
                Some(s) => Transformed::yes(Arc::new(s) as Arc<dyn PhysicalExpr>),
                None => Transformed::no(x),
            },
        )
    })
    .data()
}

impl fmt::Display for CaseSelect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_sql(f)
    }
}

impl PhysicalExpr for CaseSelect {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(self.data_type.clone())
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(self.nullable)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let n = batch.num_rows();
        let mut acc: ArrayRef = match &self.otherwise {
            Some(e) => e.evaluate(batch)?.into_array(n)?,
            None => new_null_array(&self.data_type, n),
        };
        for (w, t) in self.when_then.iter().rev() {
            let mask = w.evaluate(batch)?.into_array(n)?;
            let Some(mask) = mask.as_boolean_opt() else {
                return internal_err!("a CASE condition that is not BOOLEAN");
            };
            if mask.true_count() == 0 {
                continue;
            }
            let then = t.evaluate(batch)?.into_array(n)?;
            acc = if mask.null_count() == 0 && mask.false_count() == 0 {
                then
            } else {
                zip(mask, &then, &acc)?
            };
        }
        Ok(ColumnarValue::Array(acc))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.when_then
            .iter()
            .flat_map(|(w, t)| [w, t])
            .chain(self.otherwise.iter())
            .collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        if children.len() != self.children().len() {
            return internal_err!("CaseSelect: {} children", children.len());
        }
        let mut it = children.into_iter();
        let when_then = (0..self.when_then.len())
            .map(|_| (it.next().expect("counted"), it.next().expect("counted")))
            .collect();
        Ok(Arc::new(Self {
            when_then,
            otherwise: it.next(),
            data_type: self.data_type.clone(),
            nullable: self.nullable,
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CASE")?;
        for (w, t) in &self.when_then {
            write!(f, " WHEN {w} THEN {t}")?;
        }
        if let Some(e) = &self.otherwise {
            write!(f, " ELSE {e}")?;
        }
        write!(f, " END")
    }
}

/// The physical optimizer rule putting eligible `CASE`s of projections in the selecting form.
#[derive(Debug)]
pub(crate) struct CaseSelectRule;

impl PhysicalOptimizerRule for CaseSelectRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|p| {
            let Some(proj) = p.downcast_ref::<ProjectionExec>() else {
                return Ok(Transformed::no(p));
            };
            let schema = proj.input().schema();
            let mut changed = false;
            let exprs = proj
                .expr()
                .iter()
                .map(|pe| {
                    let e = rewrite(pe.expr.clone(), &schema)?;
                    changed |= !Arc::ptr_eq(&e, &pe.expr);
                    Ok(ProjectionExpr {
                        expr: e,
                        alias: pe.alias.clone(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if !changed {
                return Ok(Transformed::no(p));
            }
            let new = ProjectionExec::try_new(exprs, proj.input().clone())?;
            Ok(Transformed::yes(Arc::new(new) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "case_select"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::SessionContext;

    /// The rows of `sql` over a table with NULLs in conditions and results, and the
    /// projection's expressions as planned.
    async fn run(rule: bool, sql: &str) -> (String, Vec<String>) {
        let mut b = SessionStateBuilder::new().with_default_features();
        if rule {
            b = b.with_physical_optimizer_rule(Arc::new(CaseSelectRule));
        }
        let ctx = SessionContext::new_with_state(b.build());
        ctx.sql(
            "CREATE TABLE t AS SELECT * FROM (VALUES \
             (0, 10, 20, 'p', named_struct('x', 100)), (1, 11, NULL, 'q', named_struct('x', 101)), \
             (2, 12, 22, NULL, NULL), (NULL, 13, 23, 'p', named_struct('x', 103)), \
             (1, 14, 24, 'q', named_struct('x', 104))) AS v(k, a, b, s, st)",
        )
        .await
        .expect("table")
        .collect()
        .await
        .expect("created");
        let df = ctx.sql(sql).await.expect("planned");
        let plan = df.clone().create_physical_plan().await.expect("physical");
        let mut kinds = Vec::new();
        let _ = plan.apply(|p| {
            if let Some(proj) = p.downcast_ref::<ProjectionExec>() {
                for e in proj.expr() {
                    kinds.push(if e.expr.is::<CaseSelect>() {
                        "select".to_string()
                    } else {
                        e.expr.to_string()
                    });
                }
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
        let rows = pretty_format_batches(&df.collect().await.expect("rows"))
            .expect("format")
            .to_string();
        (rows, kinds)
    }

    #[tokio::test]
    async fn selecting_case_equals_datafusions() {
        let sql = "SELECT k, \
            CASE WHEN k = 0 THEN a WHEN k = 1 THEN b ELSE a END AS c1, \
            CASE WHEN k > 0 AND s = 'q' THEN st['x'] END AS c2, \
            CASE WHEN s IS NULL OR NOT (k = 2) THEN b ELSE 0 END AS c3 \
            FROM t ORDER BY a";
        let (want, plain) = run(false, sql).await;
        let (got, kinds) = run(true, sql).await;
        assert_eq!(got, want);
        assert!(plain.iter().all(|k| k != "select"), "{plain:?}");
        assert_eq!(
            kinds.iter().filter(|k| *k == "select").count(),
            3,
            "{kinds:?}"
        );
        // A branch that may fail (a cast of text) keeps DataFusion's CASE.
        // (Evaluated on every row, the cast would fail on 'p'.)
        let (rows, kinds) = run(
            true,
            "SELECT CASE WHEN k = 2 THEN CAST(s AS BIGINT) ELSE a END FROM t",
        )
        .await;
        assert!(rows.contains("14"), "{rows}");
        assert!(kinds.iter().all(|k| k != "select"), "{kinds:?}");
    }
}
