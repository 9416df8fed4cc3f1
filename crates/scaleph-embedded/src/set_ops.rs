//! Set operations with SQL's multiset semantics where DataFusion's differ.

use datafusion::common::Result;
use std::sync::Arc;

/// `INTERSECT ALL` / `EXCEPT ALL` with SQL's multiset counts (Flink's): a row `n` times on the
/// left and `m` times on the right is kept `min(n, m)` / `max(n − m, 0)` times. DataFusion plans
/// both as a semi / anti join on every column (NULLs equal) that keeps or drops all `n` copies;
/// numbering equal rows on each side (`ROW_NUMBER() OVER (PARTITION BY` every column`)`) and
/// joining on the number too keeps the `k`-th copy iff the other side has at least `k` copies
/// (intersect) or fewer than `k` (except). The distinct forms (their left side is a `Distinct`)
/// are left alone.
#[derive(Debug)]
pub(crate) struct SetOpsAll;

impl datafusion::optimizer::AnalyzerRule for SetOpsAll {
    fn name(&self) -> &str {
        "scaleph_set_ops_all"
    }

    fn analyze(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        _config: &datafusion::common::config::ConfigOptions,
    ) -> Result<datafusion::logical_expr::LogicalPlan> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::common::NullEquality;
        use datafusion::logical_expr::{
            Expr, ExprFunctionExt, JoinType, LogicalPlan, LogicalPlanBuilder,
        };
        let number = |p: Arc<LogicalPlan>, name: &str| -> Result<LogicalPlan> {
            let cols: Vec<Expr> = p.schema().columns().into_iter().map(Expr::Column).collect();
            let rn = datafusion::functions_window::expr_fn::row_number()
                .partition_by(cols)
                .build()?
                .alias(name);
            LogicalPlanBuilder::from(p).window(vec![rn])?.build()
        };
        plan.transform_up(|p| {
            let LogicalPlan::Join(j) = &p else {
                return Ok(Transformed::no(p));
            };
            let all = matches!(j.join_type, JoinType::LeftSemi | JoinType::LeftAnti)
                && j.null_equality == NullEquality::NullEqualsNull
                && j.filter.is_none()
                && !j.null_aware
                && !matches!(j.left.as_ref(), LogicalPlan::Distinct(_))
                && j.on.len() == j.left.schema().fields().len()
                && j.on.len() == j.right.schema().fields().len();
            if !all {
                return Ok(Transformed::no(p));
            }
            let out: Vec<Expr> = j
                .left
                .schema()
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect();
            let left = number(j.left.clone(), "__scaleph_rn_l")?;
            let right = number(j.right.clone(), "__scaleph_rn_r")?;
            let mut on = j.on.clone();
            on.push((
                Expr::Column(datafusion::common::Column::from_name("__scaleph_rn_l")),
                Expr::Column(datafusion::common::Column::from_name("__scaleph_rn_r")),
            ));
            let (l, r): (Vec<Expr>, Vec<Expr>) = on.into_iter().unzip();
            let plan = LogicalPlanBuilder::from(left)
                .join_with_expr_keys(right, j.join_type, (l, r), None)?
                .build()?;
            // `join_with_expr_keys` compares NULLs as unequal; set operations need them equal.
            let plan = match plan {
                LogicalPlan::Join(mut nj) => {
                    nj.null_equality = NullEquality::NullEqualsNull;
                    LogicalPlan::Join(nj)
                }
                other => other,
            };
            let plan = LogicalPlanBuilder::from(plan).project(out)?.build()?;
            Ok(Transformed::yes(plan))
        })
        .map(|t| t.data)
    }
}
