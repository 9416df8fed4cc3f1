//! Join ordering for batch queries: a region of inner equi-joins (the `FROM a, b, c WHERE …`
//! form once DataFusion has turned cross joins into joins) is rebuilt greedily, smallest
//! estimated intermediate result first (Fegaras' greedy operator ordering, "A New Heuristic for
//! Optimizing Large Queries", DEXA 1998), so selective dimension joins come before the large
//! fact table and their run-time filters reach its scan. DataFusion keeps the written order.
//!
//! Estimates (Selinger et al. 1979): a table's row count from its provider's statistics
//! (parquet footers, file sizes) times its filters' selectivities — `column = literal` 1/NDV
//! (NDV from dictionary pages or integer ranges, else 0.1), ranges 1/3, `LIKE` 1/4 …; an
//! equi-join of `X` and `Y` as `|X|·|Y| / max(NDV of the two keys)`. Regions whose join graph
//! is disconnected, or whose columns cannot be told apart, are left as written. Streaming plans are not reordered (Flink keeps the written order and
//! changelogs depend on it), nor batch plans with `table.optimizer.join-reorder-enabled` set to
//! `false`.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{NullEquality, Result, ScalarValue};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::utils::{conjunction, split_conjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, Filter, Join, JoinConstraint, JoinType, Like, LogicalPlan,
    LogicalPlanBuilder, Operator,
};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Regions with more relations than this stay as written (the greedy search is cubic).
const MAX_RELATIONS: usize = 32;
/// Rows assumed for a table whose provider gives no statistics.
const UNKNOWN_ROWS: f64 = 1000.0;

/// The optimizer rule; `enabled` is cleared for streaming sessions.
#[derive(Debug)]
pub(crate) struct JoinReorder {
    pub(crate) enabled: Arc<AtomicBool>,
}

impl OptimizerRule for JoinReorder {
    fn name(&self) -> &str {
        "scaleph_join_reorder"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        if !self.enabled.load(Ordering::Relaxed) {
            return Ok(Transformed::no(plan));
        }
        rewrite(plan)
    }
}

/// `ctx` with [`JoinReorder`] right after DataFusion's filter push-down (join predicates are
/// in place by then, and projection pruning still follows in the same pass).
pub(crate) fn with_join_reorder(
    ctx: datafusion::prelude::SessionContext,
    enabled: Arc<AtomicBool>,
) -> datafusion::prelude::SessionContext {
    use datafusion::execution::session_state::SessionStateBuilder;
    let state = ctx.state();
    let mut rules = state.optimizer().rules.clone();
    let at = rules
        .iter()
        .position(|r| r.name() == "push_down_filter")
        .map_or(rules.len(), |i| i + 1);
    rules.insert(at, Arc::new(JoinReorder { enabled }));
    datafusion::prelude::SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(state)
            .with_optimizer_rules(rules)
            .build(),
    )
}

fn rewrite(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    plan.transform_down(|p| {
        if !is_region(&p) {
            return Ok(Transformed::no(p));
        }
        match reorder(&p)? {
            Some(new) => Ok(Transformed::new(new, true, TreeNodeRecursion::Jump)),
            None => Ok(Transformed::no(p)),
        }
    })
}

/// An inner equi-join with plain `ON` semantics.
fn is_inner(j: &Join) -> bool {
    j.join_type == JoinType::Inner
        && j.join_constraint == JoinConstraint::On
        && j.null_equality == NullEquality::NullEqualsNothing
        && !j.null_aware
}

/// A join region's node: an inner join, or a filter / column-only projection over one.
fn is_region(p: &LogicalPlan) -> bool {
    match p {
        LogicalPlan::Join(j) => is_inner(j),
        LogicalPlan::Filter(f) => !f.predicate.is_volatile() && is_region(&f.input),
        LogicalPlan::Projection(pr) => {
            pr.expr.iter().all(|e| matches!(e, Expr::Column(_))) && is_region(&pr.input)
        }
        _ => false,
    }
}

/// The relations, equi-join pairs and other predicates of a region.
#[derive(Default)]
struct Region {
    leaves: Vec<LogicalPlan>,
    pairs: Vec<(Expr, Expr)>,
    preds: Vec<Expr>,
}

fn flatten(p: &LogicalPlan, r: &mut Region) {
    match p {
        LogicalPlan::Join(j) if is_inner(j) => {
            flatten(&j.left, r);
            flatten(&j.right, r);
            r.pairs.extend(j.on.iter().cloned());
            if let Some(f) = &j.filter {
                r.preds.extend(split_conjunction_owned(f.clone()));
            }
        }
        LogicalPlan::Filter(f) if is_region(p) => {
            r.preds.extend(split_conjunction_owned(f.predicate.clone()));
            flatten(&f.input, r);
        }
        LogicalPlan::Projection(pr) if is_region(p) => flatten(&pr.input, r),
        _ => r.leaves.push(p.clone()),
    }
}

/// A partial result of the greedy search.
struct Part {
    plan: LogicalPlan,
    /// Bit `i` set: leaf `i` is in it.
    mask: u64,
    rows: f64,
}

/// The region rooted at `p` in a new order, or `None` to keep it as written.
fn reorder(p: &LogicalPlan) -> Result<Option<LogicalPlan>> {
    let mut r = Region::default();
    flatten(p, &mut r);
    let n = r.leaves.len();
    if !(3..=MAX_RELATIONS).contains(&n) {
        return Ok(None);
    }
    // Leaves may hold regions of their own (subqueries).
    let leaves: Vec<LogicalPlan> = r
        .leaves
        .into_iter()
        .map(|l| rewrite(l).map(|t| t.data))
        .collect::<Result<_>>()?;
    let est: Vec<(f64, f64)> = leaves.iter().map(estimate).collect();

    // Which leaves an expression reads; `None` if a column matches no leaf or several.
    let owner = |e: &Expr| -> Option<u64> {
        let mut mask = 0u64;
        for c in e.column_refs() {
            let hits: Vec<usize> = (0..n)
                .filter(|i| leaves[*i].schema().has_column(c))
                .collect();
            if hits.len() != 1 {
                return None;
            }
            mask |= 1 << hits[0];
        }
        Some(mask)
    };
    // Equi-join edges between two single leaves; anything else becomes a predicate.
    let mut edges: Vec<(usize, usize, Expr, Expr)> = Vec::new();
    let mut preds: Vec<(u64, Expr)> = Vec::new();
    for (a, b) in r.pairs {
        let (Some(ma), Some(mb)) = (owner(&a), owner(&b)) else {
            return Ok(None);
        };
        if ma.count_ones() == 1 && mb.count_ones() == 1 && ma != mb {
            edges.push((
                ma.trailing_zeros() as usize,
                mb.trailing_zeros() as usize,
                a,
                b,
            ));
        } else {
            preds.push((ma | mb, a.eq(b)));
        }
    }
    for e in r.preds {
        let Some(m) = owner(&e) else {
            return Ok(None);
        };
        preds.push((m, e));
    }

    // Derived relations (aggregates of decorrelated subqueries …) join after the tables: their
    // sizes are guesses, and the physical planner cannot broadcast a side it cannot size.
    let derived: u64 = (0..n)
        .filter(|i| !is_table(&leaves[*i]))
        .fold(0, |m, i| m | 1 << i);
    // Each edge's divisor: the larger NDV of its two keys.
    let divisor: Vec<f64> = edges
        .iter()
        .map(|(a, b, ea, eb)| ndv(&leaves[*a], ea).max(ndv(&leaves[*b], eb)))
        .collect();
    let mut parts: Vec<Part> = leaves
        .into_iter()
        .enumerate()
        .map(|(i, plan)| Part {
            plan,
            mask: 1 << i,
            rows: est[i].0,
        })
        .collect();
    let mut applied = vec![false; preds.len()];
    while parts.len() > 1 {
        let mut best: Option<(bool, f64, usize, usize)> = None;
        for i in 0..parts.len() {
            for j in i + 1..parts.len() {
                let (mi, mj) = (parts[i].mask, parts[j].mask);
                let base = edges
                    .iter()
                    .zip(&divisor)
                    .filter(|((a, b, ..), _)| crosses(*a, *b, mi, mj))
                    .map(|(_, d)| *d)
                    .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
                let Some(base) = base else { continue };
                let rows = (parts[i].rows * parts[j].rows / base.max(1.0)).max(1.0);
                let late = (mi | mj) & derived != 0;
                if best.is_none_or(|(bl, b, ..)| (late, rows) < (bl, b)) {
                    best = Some((late, rows, i, j));
                }
            }
        }
        let Some((_, rows, i, j)) = best else {
            return Ok(None); // disconnected: a cross product stays where it was written
        };
        let b = parts.remove(j);
        let a = parts.remove(i);
        // The smaller input on the left (the build side of a hash join).
        let (l, rt) = if a.rows <= b.rows { (a, b) } else { (b, a) };
        let mask = l.mask | rt.mask;
        let on: Vec<(Expr, Expr)> = edges
            .iter()
            .filter(|(x, y, ..)| crosses(*x, *y, l.mask, rt.mask))
            .map(|(x, _, ex, ey)| {
                if l.mask & (1 << x) != 0 {
                    (ex.clone(), ey.clone())
                } else {
                    (ey.clone(), ex.clone())
                }
            })
            .collect();
        let mut filters = Vec::new();
        for (k, (m, e)) in preds.iter().enumerate() {
            if !applied[k] && *m != 0 && m & !mask == 0 {
                applied[k] = true;
                filters.push(e.clone());
            }
        }
        let join = Join::try_new(
            Arc::new(l.plan),
            Arc::new(rt.plan),
            on,
            conjunction(filters),
            JoinType::Inner,
            JoinConstraint::On,
            NullEquality::NullEqualsNothing,
            false,
        )?;
        parts.push(Part {
            plan: LogicalPlan::Join(join),
            mask,
            rows,
        });
    }
    let mut plan = parts.pop().expect("one part left").plan;
    let rest: Vec<Expr> = preds
        .into_iter()
        .zip(applied)
        .filter(|(_, done)| !done)
        .map(|((_, e), _)| e)
        .collect();
    if let Some(pred) = conjunction(rest) {
        plan = LogicalPlan::Filter(Filter::try_new(pred, Arc::new(plan))?);
    }
    let cols: Vec<Expr> = p.schema().columns().into_iter().map(Expr::Column).collect();
    let plan = LogicalPlanBuilder::from(plan).project(cols)?.build()?;
    Ok((plan != *p).then_some(plan))
}

/// A table, possibly filtered, projected or renamed.
fn is_table(p: &LogicalPlan) -> bool {
    match p {
        LogicalPlan::TableScan(_) => true,
        LogicalPlan::Filter(_) | LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => {
            is_table(p.inputs()[0])
        }
        _ => false,
    }
}

/// Distinct values of a join key over relation `p`: see [`column_ndv`]; at most the
/// relation's estimated rows (the table's rows when the key is no plain column).
fn ndv(p: &LogicalPlan, e: &Expr) -> f64 {
    let (rows, base) = estimate(p);
    let Expr::Column(c) = e else {
        return rows;
    };
    column_ndv(p, &c.name).unwrap_or(base).min(rows).max(1.0)
}

/// Distinct values of column `name` at the table under `p`: the statistics' distinct count
/// (parquet dictionaries), else an integer column's max − min + 1, at most the table's rows;
/// `None` when the column is computed or the table has no statistics.
fn column_ndv(p: &LogicalPlan, name: &str) -> Option<f64> {
    match p {
        LogicalPlan::TableScan(s) => {
            let t = source_as_provider(&s.source).ok()?;
            let st = t.statistics()?;
            let i = t.schema().index_of(name).ok()?;
            let c = st.column_statistics.get(i)?;
            if let Some(d) = c.distinct_count.get_value() {
                return Some(*d as f64);
            }
            let (Some(lo), Some(hi)) = (c.min_value.get_value(), c.max_value.get_value()) else {
                return st.num_rows.get_value().map(|r| *r as f64);
            };
            let span = match (lo, hi) {
                (ScalarValue::Int64(Some(a)), ScalarValue::Int64(Some(b))) => {
                    (*b as f64) - (*a as f64) + 1.0
                }
                _ => f64::INFINITY,
            };
            let rows = st.num_rows.get_value().map_or(f64::INFINITY, |r| *r as f64);
            Some(span.min(rows))
        }
        LogicalPlan::Projection(pr) => {
            let i = pr.schema.index_of_column_by_name(None, name)?;
            match &pr.expr[i] {
                Expr::Column(c) => column_ndv(&pr.input, &c.name),
                Expr::Alias(a) => match a.expr.as_ref() {
                    Expr::Column(c) => column_ndv(&pr.input, &c.name),
                    _ => None,
                },
                _ => None,
            }
        }
        LogicalPlan::Filter(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_) => column_ndv(p.inputs()[0], name),
        _ => None,
    }
}

/// Edge `a`–`b` joins the leaf sets `x` and `y`.
fn crosses(a: usize, b: usize, x: u64, y: u64) -> bool {
    let (a, b) = (1u64 << a, 1u64 << b);
    (a & x != 0 && b & y != 0) || (a & y != 0 && b & x != 0)
}

/// (estimated rows, unfiltered rows of the table underneath) of a relation.
fn estimate(p: &LogicalPlan) -> (f64, f64) {
    match p {
        LogicalPlan::TableScan(s) => {
            let base = source_as_provider(&s.source)
                .ok()
                .and_then(|t| t.statistics())
                .and_then(|st| st.num_rows.get_value().copied())
                .map_or(UNKNOWN_ROWS, |r| r as f64);
            let sel = conjuncts_selectivity(s.filters.iter(), p);
            let rows = (base * sel).max(1.0);
            (s.fetch.map_or(rows, |f| rows.min(f as f64)), base)
        }
        LogicalPlan::Filter(f) => {
            let (rows, base) = estimate(&f.input);
            // A filter the scan below also received (inexact push-down) is counted once.
            let pushed: &[Expr] = match f.input.as_ref() {
                LogicalPlan::TableScan(s) => &s.filters,
                _ => &[],
            };
            let own = split_conjunction(&f.predicate);
            let sel =
                conjuncts_selectivity(own.into_iter().filter(|e| !pushed.contains(e)), &f.input);
            ((rows * sel).max(1.0), base)
        }
        LogicalPlan::Limit(l) => {
            let (rows, base) = estimate(&l.input);
            let fetch = match l.get_fetch_type() {
                Ok(datafusion::logical_expr::logical_plan::FetchType::Literal(Some(f))) => f as f64,
                _ => rows,
            };
            (rows.min(fetch), base)
        }
        LogicalPlan::Aggregate(a) => {
            if a.group_expr.is_empty() {
                return (1.0, 1.0);
            }
            let rows = (estimate(&a.input).0 / 2.0).max(1.0);
            (rows, rows)
        }
        LogicalPlan::Join(j) => {
            let (l, r) = (estimate(&j.left), estimate(&j.right));
            let rows = match j.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti => l.0 / 2.0,
                JoinType::RightSemi | JoinType::RightAnti => r.0 / 2.0,
                JoinType::Left | JoinType::LeftMark => l.0,
                JoinType::Right | JoinType::RightMark => r.0,
                _ => l.0.max(r.0),
            };
            (rows.max(1.0), rows.max(1.0))
        }
        LogicalPlan::Union(u) => {
            let rows: f64 = u.inputs.iter().map(|i| estimate(i).0).sum();
            (rows, rows)
        }
        LogicalPlan::Values(v) => {
            let rows = v.values.len().max(1) as f64;
            (rows, rows)
        }
        _ => match p.inputs().as_slice() {
            [one] => estimate(one),
            _ => (UNKNOWN_ROWS, UNKNOWN_ROWS),
        },
    }
}

/// The share of rows a conjunction keeps; a second range bound on a column already bounded
/// keeps 3/4 (so `a >= x AND a <= y` counts as `BETWEEN`).
fn conjuncts_selectivity<'a>(es: impl Iterator<Item = &'a Expr>, input: &LogicalPlan) -> f64 {
    let mut bounded: Vec<&Expr> = Vec::new();
    es.map(|e| {
        if let Expr::BinaryExpr(BinaryExpr { left, op, .. }) = e {
            if matches!(
                op,
                Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
            ) {
                if bounded.contains(&left.as_ref()) {
                    return 0.75;
                }
                bounded.push(left);
            }
        }
        selectivity(e, input)
    })
    .product()
}

/// The share of rows a predicate over `input` keeps: `column = literal` 1/distinct values
/// when the table's statistics know them, else textbook constants.
fn selectivity(e: &Expr, input: &LogicalPlan) -> f64 {
    // 1 / distinct values of the column compared with a literal.
    let eq = |l: &Expr, r: &Expr| -> f64 {
        let c = match (l, r) {
            (Expr::Column(c), Expr::Literal(..)) | (Expr::Literal(..), Expr::Column(c)) => c,
            _ => return 0.1,
        };
        column_ndv(input, &c.name).map_or(0.1, |d| 1.0 / d.max(1.0))
    };
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => selectivity(left, input) * selectivity(right, input),
            Operator::Or => {
                let (a, b) = (selectivity(left, input), selectivity(right, input));
                a + b - a * b
            }
            Operator::Eq | Operator::IsNotDistinctFrom => eq(left, right),
            Operator::NotEq | Operator::IsDistinctFrom => 1.0 - eq(left, right),
            Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => 1.0 / 3.0,
            _ => 0.5,
        },
        Expr::Not(inner) => 1.0 - selectivity(inner, input),
        Expr::Between(Between { negated, .. }) => negate(0.25, *negated),
        Expr::Like(Like { negated, .. }) | Expr::SimilarTo(Like { negated, .. }) => {
            negate(0.25, *negated)
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => {
            let one = list.first().map_or(0.1, |v| eq(expr, v));
            negate((one * list.len() as f64).min(1.0), *negated)
        }
        Expr::IsNull(_) => 0.05,
        Expr::IsNotNull(_) => 0.95,
        _ => 0.5,
    }
}

fn negate(s: f64, negated: bool) -> f64 {
    if negated {
        1.0 - s
    } else {
        s
    }
}
