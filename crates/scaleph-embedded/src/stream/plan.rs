//! Translation of a DataFusion logical plan into a streaming dataflow.

use super::current_watermark;
use super::interval::IntervalJoin;
use super::join::{Join, JoinSide, WindowJoin};
use super::ops::{AggCall, Aggregate, Filter, Operator, Pass, Project, Unnest};
use super::rank::{FirstOnTime, Rank, Ties};
use super::session::{SessionAggregate, SessionAssign, WindowCol};
use super::topn::TopN;
use crate::windows::{SESSION_END, WINDOW_ADD};
use async_trait::async_trait;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{DFSchema, Result as DfResult};
use datafusion::datasource::{source_as_provider, TableType};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    BinaryExpr, Expr, ExprSchemable, JoinType, LogicalPlan, Operator as BinOp,
};
use datafusion::physical_plan::ExecutionPlan;
// The builder that replaces it is not public in DataFusion 54.1.
#[allow(deprecated)]
use datafusion::physical_planner::create_aggregate_expr_and_maybe_filter;
use datafusion::prelude::Expr as DfExpr;
use scaleph_sql::{Pos, QueryText, SqlError};
use std::sync::Arc;

/// A planned expression.
type PhysExpr = Arc<dyn datafusion::physical_expr::PhysicalExpr>;

/// A declared table in streaming mode: what the planner sees in place of the connector's table.
/// Its rows come from `plan` (the connector's table with computed columns, then — with a
/// watermark — the watermark expression as one more, last column).
#[derive(Debug)]
pub(crate) struct StreamTable {
    pub(crate) name: String,
    pub(crate) schema: SchemaRef,
    pub(crate) plan: LogicalPlan,
    /// Index of the time attribute: the column `WATERMARK FOR` names, or a `PROCTIME()` column.
    pub(crate) rowtime: Option<usize>,
    /// The time attribute is processing time (its watermark follows the wall clock).
    pub(crate) proctime: bool,
}

#[async_trait]
impl TableProvider for StreamTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[DfExpr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        datafusion::common::plan_err!(
            "table `{}` is a streaming table; it is read by the streaming engine",
            self.name
        )
    }
}

/// A source of a dataflow.
pub(crate) struct SourceSpec {
    /// What DataFusion runs to read it (bounded or not).
    pub(crate) plan: LogicalPlan,
    /// The plan's last column is the watermark expression's value (not passed on).
    pub(crate) watermark: bool,
    /// The watermark is processing time: it also advances with the clock.
    pub(crate) proctime: bool,
    /// Index of the event-time attribute among the plan's columns: a row where it is NULL
    /// fails the job, as in Flink's `WatermarkAssignerOperator`.
    pub(crate) rowtime: Option<usize>,
    /// The node the source's rows enter.
    pub(crate) node: usize,
}

/// One node of a dataflow.
pub(crate) struct Node {
    pub(crate) op: Box<dyn Operator>,
    /// The nodes this one feeds, and as which of their inputs; none for the root. More than
    /// one when a sub-plan is reused (Flink's `table.optimizer.reuse-sub-plan-enabled`).
    pub(crate) parents: Vec<(usize, usize)>,
    pub(crate) inputs: usize,
}

/// A translated query: operators, sources, and the properties of its output.
pub(crate) struct Dataflow {
    pub(crate) nodes: Vec<Node>,
    pub(crate) sources: Vec<SourceSpec>,
    /// The output is a changelog with updates (not insert-only).
    pub(crate) updating: bool,
    /// Flink's name of the node that makes it updating (for the sink's error).
    pub(crate) updating_node: Option<String>,
    /// `table.exec.source.idle-timeout`: a source without rows for this long stops holding
    /// back the watermark until its next row.
    pub(crate) idle_timeout: Option<std::time::Duration>,
    /// Nodes assigning processing-time windows: each watermark tick passes the wall clock on
    /// from them (their inputs' event time does not move their windows).
    pub(crate) clocks: Vec<usize>,
}

/// Properties of an intermediate stream.
#[derive(Clone, Default)]
struct Props {
    node: usize,
    rowtime: Option<usize>,
    /// A `PROCTIME()` column of a view or query (a table's own is its `rowtime`).
    proctime: Option<usize>,
    window_start: Option<usize>,
    window_end: Option<usize>,
    window_time: Option<usize>,
    updating: bool,
    updating_node: Option<String>,
    /// Rows of a `SESSION` TVF: its gap (ms) and partition columns; their windows are merged by
    /// a window aggregation.
    session: Option<(i64, Vec<usize>)>,
}

/// Translates plans of one query; refusals point at `q`.
pub(crate) struct Translator<'a> {
    state: &'a SessionState,
    q: &'a QueryText,
    nodes: Vec<Node>,
    sources: Vec<SourceSpec>,
    /// The `Window` node a Top-N filter above it bounds, with its rank range.
    pending_rank: Option<(*const datafusion::logical_expr::Window, u64, u64)>,
    /// Translated sub-plans: an equal sub-plan met again reads the same node, as Flink reuses
    /// sub-plans (`table.optimizer.reuse-sub-plan-enabled`, on by default).
    reused: Vec<(LogicalPlan, Props)>,
    /// `table.exec.state.ttl`: how long group and regular-join state lives after its last write.
    ttl: Option<std::time::Duration>,
    idle_timeout: Option<std::time::Duration>,
    clocks: Vec<usize>,
}

/// `line:column: unsupported: <what> in streaming mode — run it on a Flink cluster`, at the
/// first occurrence of `keyword` in `q` (else at the query).
pub(crate) fn refuse_at(q: &QueryText, keyword: &str, what: &str) -> SqlError {
    crate::support::refuse(
        locate(q, keyword),
        format!(
            "{what} in streaming mode (set 'execution.runtime-mode' = 'batch' for a bounded job)"
        ),
    )
}

/// Position of the first token sequence `keyword` (e.g. `ORDER BY`) in `q`.
fn locate(q: &QueryText, keyword: &str) -> Pos {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let want: Vec<String> = keyword.split_whitespace().map(str::to_uppercase).collect();
    let text = q.padded();
    let Ok(toks) = Tokenizer::new(&GenericDialect {}, &text).tokenize_with_location() else {
        return q.pos;
    };
    let words: Vec<_> = toks
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    for i in 0..words.len() {
        let hit = want.iter().enumerate().all(|(k, w)| {
            matches!(words.get(i + k).map(|t| &t.token), Some(Token::Word(x)) if x.value.eq_ignore_ascii_case(w))
        });
        if hit && !want.is_empty() {
            let s = words[i].span.start;
            return Pos::new(s.line as u32, s.column as u32);
        }
    }
    q.pos
}

fn strip_alias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => strip_alias(&a.expr),
        other => other,
    }
}

/// Index of the input column `e` is (through aliases), if it is one.
fn column_index(e: &Expr, input: &DFSchema) -> Option<usize> {
    match strip_alias(e) {
        Expr::Column(c) => input.index_of_column(c).ok(),
        _ => None,
    }
}

fn internal(q: &QueryText, e: impl std::fmt::Display) -> SqlError {
    SqlError::invalid(q.pos, e.to_string())
}

impl<'a> Translator<'a> {
    pub(crate) fn new(state: &'a SessionState, q: &'a QueryText) -> Self {
        Self {
            state,
            q,
            nodes: Vec::new(),
            sources: Vec::new(),
            pending_rank: None,
            reused: Vec::new(),
            ttl: None,
            idle_timeout: None,
            clocks: Vec::new(),
        }
    }

    /// Applies `table.exec.source.idle-timeout` to the dataflow's sources.
    pub(crate) fn with_idle_timeout(mut self, idle: Option<std::time::Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Applies `table.exec.state.ttl` to the operators that keep state per key.
    pub(crate) fn with_state_ttl(mut self, ttl: Option<std::time::Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    /// Translates `plan` (analysed, not optimised).
    ///
    /// # Errors
    /// What streaming execution does not run, as `unsupported` at the construct.
    pub(crate) fn translate(mut self, plan: &LogicalPlan) -> Result<Dataflow, SqlError> {
        let p = self.node(plan)?;
        let p = self.settle(p, plan.schema())?;
        Ok(Dataflow {
            nodes: self.nodes,
            sources: self.sources,
            updating: p.updating,
            updating_node: p.updating_node,
            idle_timeout: self.idle_timeout,
            clocks: self.clocks,
        })
    }

    /// Session TVF rows that go anywhere but a window aggregation (which merges them itself):
    /// a [`SessionAssign`] emits them when their merged session closes, with its window (Flink's
    /// standalone session window TVF). `schema` is `p`'s.
    fn settle(&mut self, p: Props, schema: &DFSchema) -> Result<Props, SqlError> {
        let Some((gap, part)) = p.session.clone() else {
            return Ok(p);
        };
        if p.updating {
            return Err(refuse_at(
                self.q,
                "SESSION",
                "a SESSION window over an updating input",
            ));
        }
        if p.window_start.is_none() && p.window_end.is_none() {
            return Err(refuse_at(
                self.q,
                "SESSION",
                "SESSION window rows without window_start or window_end",
            ));
        }
        let op = SessionAssign::new(
            part,
            (p.window_start, p.window_end, p.window_time),
            gap,
            Arc::new(schema.as_arrow().clone()),
        );
        let node = self.add(Box::new(op), &[p.node]);
        Ok(Props {
            node,
            session: None,
            rowtime: p.window_time,
            ..p
        })
    }

    fn add(&mut self, op: Box<dyn Operator>, inputs: &[usize]) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            op,
            parents: Vec::new(),
            inputs: inputs.len().max(1),
        });
        for (k, &i) in inputs.iter().enumerate() {
            self.nodes[i].parents.push((id, k));
        }
        id
    }

    /// `exprs` as physical expressions of a `SELECT`/`WHERE` operator whose input has time
    /// attribute `rowtime`; their `CURRENT_WATERMARK(rowtime)` calls read the returned cell,
    /// which the operator sets (`None`: no call).
    ///
    /// # Errors
    /// `CURRENT_WATERMARK` of a column that is not the input's time attribute.
    fn physical_wm(
        &self,
        exprs: &[Expr],
        schema: &DFSchema,
        rowtime: Option<usize>,
    ) -> Result<(Vec<PhysExpr>, Option<current_watermark::Cell>), SqlError> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::logical_expr::ScalarUDF;
        let q = self.q;
        let mut cell = None;
        let mut out = Vec::with_capacity(exprs.len());
        for e in exprs {
            let bound = e
                .clone()
                .transform_up(|e| match e {
                    Expr::ScalarFunction(mut f) if f.name() == current_watermark::NAME => {
                        let on_rowtime = rowtime.is_some()
                            && f.args.len() == 1
                            && column_index(&f.args[0], schema) == rowtime;
                        if !on_rowtime {
                            return Err(datafusion::error::DataFusionError::Plan(
                                "not a rowtime".into(),
                            ));
                        }
                        let c = cell.get_or_insert_with(current_watermark::cell).clone();
                        f.func = Arc::new(ScalarUDF::new_from_impl(
                            current_watermark::CurrentWatermark::bound(c),
                        ));
                        Ok(Transformed::yes(Expr::ScalarFunction(f)))
                    }
                    other => Ok(Transformed::no(other)),
                })
                .map_err(|_| {
                    refuse_at(
                        q,
                        "CURRENT_WATERMARK",
                        "CURRENT_WATERMARK() of a column that is not the input's time attribute (Flink: the argument must be a rowtime attribute)",
                    )
                })?
                .data;
            let e = self
                .prepared(bound, schema)
                .and_then(|e| self.state.create_physical_expr(e, schema))
                .and_then(|e| crate::case_select::rewrite(e, schema.as_arrow()))
                .map_err(|err| internal(q, err))?;
            out.push(e);
        }
        Ok((out, cell))
    }

    fn physical(
        &self,
        e: &Expr,
        schema: &DFSchema,
    ) -> Result<Arc<dyn datafusion::physical_expr::PhysicalExpr>, SqlError> {
        use datafusion::common::tree_node::TreeNode;
        let wm = e
            .exists(|e| {
                Ok(matches!(e, Expr::ScalarFunction(f) if f.name() == current_watermark::NAME))
            })
            .unwrap_or(false);
        if wm {
            return Err(refuse_at(
                self.q,
                "CURRENT_WATERMARK",
                "CURRENT_WATERMARK() outside a projection or a filter",
            ));
        }
        self.prepared(e.clone(), schema)
            .and_then(|e| self.state.create_physical_expr(e, schema))
            .and_then(|e| crate::case_select::rewrite(e, schema.as_arrow()))
            .map_err(|err| internal(self.q, err))
    }

    /// `e` made ready for `create_physical_expr`, as DataFusion's optimizer would leave it (a
    /// streaming plan does not pass through it): `now()` becomes the clock read when a batch
    /// is evaluated (Flink evaluates `CURRENT_TIMESTAMP` per record in streaming mode), then
    /// DataFusion's `ExprSimplifier` rewrites the calls its functions only plan rewritten
    /// (`coalesce` and `nvl2` to `CASE`, `arrow_cast` to `CAST`) and folds constants.
    fn prepared(&self, e: Expr, schema: &DFSchema) -> DfResult<Expr> {
        use datafusion::common::tree_node::Transformed;
        use datafusion::logical_expr::expr::ScalarFunction;
        use datafusion::logical_expr::simplify::SimplifyContext;
        use datafusion::optimizer::simplify_expressions::ExprSimplifier;
        let clock = self.state.scalar_functions().get("proctime").cloned();
        let e = e
            .transform_up(|e| match (e, &clock) {
                (Expr::ScalarFunction(f), Some(clock))
                    if f.name() == "now" && f.args.is_empty() =>
                {
                    let ty = Expr::ScalarFunction(f).get_type(schema)?;
                    let read = Expr::ScalarFunction(ScalarFunction::new_udf(clock.clone(), vec![]));
                    Ok(Transformed::yes(Expr::Cast(
                        datafusion::logical_expr::Cast::new(Box::new(read), ty),
                    )))
                }
                (other, _) => Ok(Transformed::no(other)),
            })?
            .data;
        let ctx = SimplifyContext::builder()
            .with_schema(Arc::new(schema.clone()))
            .with_config_options(self.state.config_options().clone())
            .build();
        ExprSimplifier::new(ctx).simplify(e)
    }

    /// `e` (an aggregate call, possibly aliased) with its arguments and `FILTER` prepared as
    /// [`Self::prepared`] prepares an expression.
    fn prepared_aggregate(&self, e: &Expr, schema: &DFSchema) -> DfResult<Expr> {
        use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
        e.clone()
            .transform_down(|e| match e {
                Expr::AggregateFunction(mut a) => {
                    a.params.args = std::mem::take(&mut a.params.args)
                        .into_iter()
                        .map(|x| self.prepared(x, schema))
                        .collect::<DfResult<_>>()?;
                    if let Some(f) = a.params.filter.take() {
                        a.params.filter = Some(Box::new(self.prepared(*f, schema)?));
                    }
                    Ok(Transformed::new(
                        Expr::AggregateFunction(a),
                        true,
                        TreeNodeRecursion::Jump,
                    ))
                }
                other => Ok(Transformed::no(other)),
            })
            .map(|t| t.data)
    }

    /// The node of `plan`: an equal sub-plan translated before is reused (unless it has a
    /// volatile expression, whose values would differ between two evaluations).
    fn node(&mut self, plan: &LogicalPlan) -> Result<Props, SqlError> {
        if self.pending_rank.is_some() {
            return self.translate_node(plan);
        }
        if let Some((_, p)) = self.reused.iter().find(|(q, _)| q == plan) {
            return Ok(p.clone());
        }
        let p = self.translate_node(plan)?;
        let volatile = plan
            .exists(|n| Ok(n.expressions().iter().any(Expr::is_volatile)))
            .unwrap_or(true);
        if !volatile {
            self.reused.push((plan.clone(), p.clone()));
        }
        Ok(p)
    }

    /// A scan of only columns `proj` (pruned by the optimizer): the whole table's source
    /// (shared by every scan of the table, whatever each reads) and a projection.
    fn pruned_scan(
        &mut self,
        scan: &datafusion::logical_expr::TableScan,
        proj: &[usize],
    ) -> Result<Props, SqlError> {
        let q = self.q;
        let full = datafusion::logical_expr::TableScan::try_new(
            scan.table_name.clone(),
            scan.source.clone(),
            None,
            Vec::new(),
            scan.fetch,
        )
        .map_err(|e| internal(q, e))?;
        let input = self.node(&LogicalPlan::TableScan(full))?;
        let schema = Arc::new(scan.projected_schema.as_arrow().clone());
        let exprs = proj
            .iter()
            .zip(schema.fields())
            .map(|(&i, f)| {
                Arc::new(datafusion::physical_expr::expressions::Column::new(
                    f.name(),
                    i,
                )) as Arc<dyn datafusion::physical_expr::PhysicalExpr>
            })
            .collect();
        let node = self.add(
            Box::new(Project {
                exprs,
                schema,
                wm: None,
                clock: false,
            }),
            &[input.node],
        );
        Ok(Props {
            node,
            rowtime: input
                .rowtime
                .and_then(|r| proj.iter().position(|&c| c == r)),
            ..Default::default()
        })
    }

    fn translate_node(&mut self, plan: &LogicalPlan) -> Result<Props, SqlError> {
        let q = self.q;
        match plan {
            LogicalPlan::TableScan(scan) => {
                let provider = source_as_provider(&scan.source).map_err(|e| internal(q, e))?;
                let Some(t) = provider.downcast_ref::<StreamTable>() else {
                    return Err(refuse_at(
                        q,
                        "FROM",
                        &format!("reading `{}`", scan.table_name),
                    ));
                };
                if !scan.filters.is_empty() {
                    return Err(internal(q, "a streaming scan with pushed-down work"));
                }
                if let Some(proj) = &scan.projection {
                    return self.pruned_scan(scan, proj);
                }
                let node = self.add(Box::new(Pass), &[]);
                self.sources.push(SourceSpec {
                    plan: t.plan.clone(),
                    watermark: t.rowtime.is_some(),
                    proctime: t.proctime,
                    rowtime: t.rowtime.filter(|_| !t.proctime),
                    node,
                });
                Ok(Props {
                    node,
                    rowtime: t.rowtime,
                    ..Default::default()
                })
            }
            LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
                let node = self.add(Box::new(Pass), &[]);
                self.sources.push(SourceSpec {
                    plan: plan.clone(),
                    watermark: false,
                    proctime: false,
                    rowtime: None,
                    node,
                });
                Ok(Props {
                    node,
                    ..Default::default()
                })
            }
            LogicalPlan::SubqueryAlias(a) => self.node(&a.input),
            LogicalPlan::Projection(p) => {
                let input = self.node(&p.input)?;
                let in_schema = p.input.schema();
                // Session rows keep merging only while their partition keys and time pass
                // through; a projection that drops them settles the sessions first.
                let keeps = |c: Option<usize>| {
                    c.is_some_and(|c| p.expr.iter().any(|e| column_index(e, in_schema) == Some(c)))
                };
                let whole = input.session.as_ref().is_none_or(|(_, cols)| {
                    cols.iter().all(|&c| keeps(Some(c)))
                        && (keeps(input.window_start) || keeps(input.window_end))
                });
                let input = if whole {
                    input
                } else {
                    self.settle(input, in_schema)?
                };
                // The window TVF's rewritten form (crate::windows): window starts (or CUMULATE
                // ends) computed from the time column, then `window_add(…) AS window_end` and
                // `window_add(window_end, -1) AS window_time`. Columns nothing reads are pruned,
                // so the window is recognised at the first of these that is left.
                let windowing = |f: &str| {
                    [
                        crate::windows::TUMBLE_START,
                        crate::windows::HOP_STARTS,
                        crate::windows::CUMULATE_ENDS,
                    ]
                    .contains(&f)
                };
                let is_proctime = |e: &Expr| matches!(strip_alias(e), Expr::ScalarFunction(f) if f.name() == "proctime" && f.args.is_empty());
                let mut clock = false;
                for e in &p.expr {
                    let mut time_args = Vec::new();
                    let _ = e.apply(|x| {
                        if let Expr::ScalarFunction(f) = x {
                            if windowing(f.name()) {
                                time_args.extend(f.args.first().cloned());
                            }
                        }
                        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
                    });
                    for mut t in time_args {
                        // The time column as the window functions take it.
                        while let Expr::Cast(c) = t {
                            t = *c.expr;
                        }
                        if is_proctime(&t)
                            || (input.proctime.is_some()
                                && column_index(&t, in_schema) == input.proctime)
                        {
                            clock = true;
                        } else if input.rowtime.is_none()
                            || column_index(&t, in_schema) != input.rowtime
                        {
                            return Err(refuse_at(
                                q,
                                "DESCRIPTOR",
                                "a window over a column that is not a time attribute (declare `WATERMARK FOR` it)",
                            ));
                        }
                    }
                }
                let (exprs, wm) = self.physical_wm(&p.expr, in_schema, input.rowtime)?;
                let node = self.add(
                    Box::new(Project {
                        exprs,
                        schema: Arc::new(p.schema.as_arrow().clone()),
                        wm,
                        clock,
                    }),
                    &[input.node],
                );
                if clock {
                    self.clocks.push(node);
                }
                let mut out = Props {
                    node,
                    updating: input.updating,
                    updating_node: input.updating_node.clone(),
                    ..Default::default()
                };
                let maps_to = |from: Option<usize>| {
                    from.and_then(|f| {
                        p.expr
                            .iter()
                            .position(|e| column_index(e, in_schema) == Some(f))
                    })
                };
                out.rowtime = maps_to(input.rowtime);
                out.proctime =
                    maps_to(input.proctime).or_else(|| p.expr.iter().position(is_proctime));
                out.window_start = maps_to(input.window_start);
                out.window_end = maps_to(input.window_end);
                out.window_time = maps_to(input.window_time);
                out.session = input.session.as_ref().and_then(|(gap, cols)| {
                    let cols: Option<Vec<usize>> = cols.iter().map(|&c| maps_to(Some(c))).collect();
                    cols.map(|c| (*gap, c))
                });
                // The SESSION TVF's rewritten form: `scaleph_session_end(window_start, gap, k…)`.
                for e in &p.expr {
                    if let Expr::Alias(a) = e {
                        if let Expr::ScalarFunction(f) = a.expr.as_ref() {
                            if a.name == "window_end" && f.name() == SESSION_END {
                                let gap =
                                    f.args.get(1).and_then(rank_literal).ok_or_else(|| {
                                        internal(q, "a SESSION gap that is not a constant")
                                    })?;
                                let cols: Option<Vec<usize>> = f.args[2..]
                                    .iter()
                                    .map(|k| maps_to(column_index(k, in_schema)))
                                    .collect();
                                let cols = cols.ok_or_else(|| {
                                    refuse_at(
                                        q,
                                        "PARTITION",
                                        "a SESSION partition key that is not a column",
                                    )
                                })?;
                                out.session = Some((gap, cols));
                            }
                        }
                    }
                }
                for (i, e) in p.expr.iter().enumerate() {
                    if let Expr::Alias(a) = e {
                        let add = matches!(a.expr.as_ref(), Expr::ScalarFunction(f) if f.name() == WINDOW_ADD);
                        // CUMULATE's ends are unnested directly `AS window_end`.
                        let mut inner = a.expr.as_ref();
                        while let Expr::Alias(x) = inner {
                            inner = x.expr.as_ref();
                        }
                        let ends = matches!(inner, Expr::Column(c) if c.name.contains(crate::windows::CUMULATE_ENDS));
                        if (add && a.name == "window_time")
                            || ((add || ends) && a.name == "window_end")
                        {
                            let names = p.schema.fields();
                            let find = |n: &str| names.iter().position(|f| f.name() == n);
                            out.window_start = find("window_start");
                            out.window_end = find("window_end");
                            if a.name == "window_time" {
                                out.window_time = Some(i);
                                out.rowtime = Some(i);
                            }
                        }
                    }
                }
                Ok(out)
            }
            LogicalPlan::Filter(f) => {
                use datafusion::common::tree_node::TreeNode;
                let subquery = f
                    .predicate
                    .exists(|e| {
                        Ok(matches!(
                            e,
                            Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
                        ))
                    })
                    .unwrap_or(false);
                if subquery {
                    return Err(refuse_at(q, "SELECT", "a subquery in a condition"));
                }
                if let LogicalPlan::Join(j) = f.input.as_ref() {
                    if j.join_type == JoinType::Inner {
                        return self.join(j, Some(&f.predicate));
                    }
                }
                if let Some((w, lo, hi, rest)) = rank_filter(f) {
                    self.pending_rank = Some((w, lo, hi));
                    let input = self.node(&f.input)?;
                    let Some(rest) = rest.into_iter().reduce(Expr::and) else {
                        return Ok(input);
                    };
                    let (mut p, wm) = self.physical_wm(&[rest], f.input.schema(), input.rowtime)?;
                    let predicate = p.remove(0);
                    let node = self.add(Box::new(Filter { predicate, wm }), &[input.node]);
                    return Ok(Props { node, ..input });
                }
                let input = self.node(&f.input)?;
                // As Flink plans it: the filter is applied to settled session rows (rows it
                // drops still shaped their sessions), and what follows is no longer a window
                // operation: a GROUP BY window_start, window_end is an updating group
                // aggregation (Flink 2.3: `GroupAggregate` over `Calc(where)` over the SESSION
                // `WindowTableFunction`).
                let sessions = input.session.is_some();
                let input = self.settle(input, f.input.schema())?;
                let (mut p, wm) = self.physical_wm(
                    std::slice::from_ref(&f.predicate),
                    f.input.schema(),
                    input.rowtime,
                )?;
                let predicate = p.remove(0);
                let node = self.add(Box::new(Filter { predicate, wm }), &[input.node]);
                let mut out = Props { node, ..input };
                if sessions {
                    (out.window_start, out.window_end, out.window_time) = (None, None, None);
                }
                Ok(out)
            }
            LogicalPlan::Unnest(u) => {
                if !u.struct_type_columns.is_empty()
                    || u.list_type_columns.len() != 1
                    || u.list_type_columns[0].1.depth != 1
                {
                    return Err(refuse_at(q, "UNNEST", "this UNNEST"));
                }
                let input = self.node(&u.input)?;
                let input = self.settle(input, u.input.schema())?;
                let list = u.list_type_columns[0].0;
                let deps = u.dependency_indices.clone();
                let node = self.add(
                    Box::new(Unnest {
                        deps: deps.clone(),
                        list,
                        schema: Arc::new(u.schema.as_arrow().clone()),
                    }),
                    &[input.node],
                );
                let maps_to = |from: Option<usize>| {
                    from.and_then(|f| deps.iter().position(|&d| d == f && d != list))
                };
                Ok(Props {
                    node,
                    rowtime: maps_to(input.rowtime),
                    proctime: maps_to(input.proctime),
                    window_start: maps_to(input.window_start),
                    window_end: maps_to(input.window_end),
                    window_time: maps_to(input.window_time),
                    updating: input.updating,
                    updating_node: input.updating_node,
                    session: None,
                })
            }
            LogicalPlan::Union(u) => {
                let inputs = u
                    .inputs
                    .iter()
                    .map(|i| self.node(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let inputs = inputs
                    .into_iter()
                    .zip(&u.inputs)
                    .map(|(p, i)| self.settle(p, i.schema()))
                    .collect::<Result<Vec<_>, _>>()?;
                let ids: Vec<usize> = inputs.iter().map(|p| p.node).collect();
                let node = self.add(Box::new(Pass), &ids);
                let same = |f: fn(&Props) -> Option<usize>| {
                    let first = f(&inputs[0]);
                    inputs
                        .iter()
                        .all(|p| f(p) == first)
                        .then_some(first)
                        .flatten()
                };
                Ok(Props {
                    node,
                    rowtime: same(|p| p.rowtime),
                    proctime: same(|p| p.proctime),
                    updating: inputs.iter().any(|p| p.updating),
                    updating_node: inputs.iter().find_map(|p| p.updating_node.clone()),
                    ..Default::default()
                })
            }
            LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(input)) => {
                let groups: Vec<Expr> = input
                    .schema()
                    .columns()
                    .into_iter()
                    .map(Expr::Column)
                    .collect();
                let agg =
                    datafusion::logical_expr::Aggregate::try_new(input.clone(), groups, vec![])
                        .map_err(|e| internal(q, e))?;
                self.node(&LogicalPlan::Aggregate(agg))
            }
            LogicalPlan::Aggregate(a) => self.aggregate(a),
            LogicalPlan::Sort(s) => match s.fetch {
                Some(fetch) => self.limit(Some(s), s.input.as_ref(), 0, fetch),
                None => Err(refuse_at(
                    q,
                    "ORDER BY",
                    "ORDER BY without LIMIT (Flink: sort on a non-time-attribute field)",
                )),
            },
            LogicalPlan::Limit(l) => {
                use datafusion::logical_expr::{FetchType, SkipType};
                let skip = match l.get_skip_type().map_err(|e| internal(q, e))? {
                    SkipType::Literal(n) => n,
                    SkipType::UnsupportedExpr => {
                        return Err(refuse_at(q, "OFFSET", "a computed OFFSET"))
                    }
                };
                let fetch = match l.get_fetch_type().map_err(|e| internal(q, e))? {
                    FetchType::Literal(Some(n)) => n,
                    _ => return Err(refuse_at(q, "OFFSET", "OFFSET without LIMIT")),
                };
                match l.input.as_ref() {
                    LogicalPlan::Sort(s) => self.limit(Some(s), s.input.as_ref(), skip, fetch),
                    other => self.limit(None, other, skip, fetch),
                }
            }
            LogicalPlan::Join(j) => self.join(j, None),
            LogicalPlan::Window(w) => self.window(w),
            other => Err(refuse_at(
                q,
                "SELECT",
                &format!("this query ({})", other.display()),
            )),
        }
    }

    fn aggregate(&mut self, a: &datafusion::logical_expr::Aggregate) -> Result<Props, SqlError> {
        let q = self.q;
        if let [Expr::GroupingSet(gs)] = a.group_expr.as_slice() {
            return self.grouping_sets(a, gs);
        }
        if a.group_expr
            .iter()
            .any(|e| matches!(e, Expr::GroupingSet(_)))
        {
            return Err(refuse_at(q, "GROUP BY", "GROUPING SETS, ROLLUP and CUBE"));
        }
        let input = self.node(&a.input)?;
        let in_schema = a.input.schema();
        let keys = a
            .group_expr
            .iter()
            .map(|e| self.physical(e, in_schema))
            .collect::<Result<Vec<_>, _>>()?;
        let key_col = |c: Option<usize>| {
            c.and_then(|c| {
                a.group_expr
                    .iter()
                    .position(|e| column_index(e, in_schema) == Some(c))
            })
        };
        let window_end = match (key_col(input.window_start), key_col(input.window_end)) {
            (Some(_), Some(e)) => Some(e),
            _ => None,
        };
        let input = if input.session.is_some() && window_end.is_none() {
            self.settle(input, in_schema)?
        } else {
            input
        };
        if window_end.is_some() && input.updating {
            return Err(refuse_at(
                q,
                "GROUP BY",
                "a window aggregate over an updating input",
            ));
        }
        let props = self.state.execution_props();
        let arrow = in_schema.as_arrow();
        let mut calls = Vec::new();
        for e in &a.aggr_expr {
            #[allow(deprecated)]
            let (expr, filter, order) = self
                .prepared_aggregate(e, in_schema)
                .and_then(|e| create_aggregate_expr_and_maybe_filter(&e, in_schema, arrow, props))
                .map_err(|err| internal(q, err))?;
            if !order.is_empty() {
                return Err(refuse_at(q, "WITHIN", "an aggregate with an ordering"));
            }
            let retract = input.updating;
            if retract {
                let name = expr.fun().name().to_ascii_lowercase();
                // MIN/MAX of numbers, dates, timestamps and strings retract with native value
                // counts.
                let types: Option<Vec<_>> = expr
                    .expressions()
                    .iter()
                    .map(|a| a.data_type(arrow).ok())
                    .collect();
                // So does COUNT(DISTINCT) of integers and strings.
                let native = types.and_then(|t| {
                    super::fast_agg::FastKind::of(&name, expr.is_distinct(), &t, true)
                });
                if !native.is_some_and(|k| k.keeps_values())
                    && (expr.is_distinct() || !matches!(name.as_str(), "count" | "sum" | "avg"))
                {
                    return Err(refuse_at(
                        q,
                        "GROUP BY",
                        &format!("{} over an updating input", expr.name()),
                    ));
                }
            }
            calls.push(AggCall {
                args: expr.expressions(),
                expr,
                filter,
                retract,
            });
        }
        // A retracting MIN/MAX or COUNT(DISTINCT) runs only on native accumulators
        // (DataFusion's sliding ones retract in arrival order only), which then every call of
        // the aggregate needs.
        if input.updating && window_end.is_none() {
            let native = |c: &AggCall| {
                let types: Option<Vec<_>> =
                    c.args.iter().map(|a| a.data_type(arrow).ok()).collect();
                let name = c.expr.fun().name().to_ascii_lowercase();
                types.and_then(|t| {
                    super::fast_agg::FastKind::of(&name, c.expr.is_distinct(), &t, true)
                })
            };
            let extremes = calls
                .iter()
                .any(|c| matches!(native(c), Some(k) if k.keeps_values()));
            if let Some(other) = calls.iter().find(|c| extremes && native(c).is_none()) {
                return Err(refuse_at(
                    q,
                    "GROUP BY",
                    &format!(
                        "MIN/MAX or COUNT(DISTINCT) over an updating input together with {}",
                        other.expr.name()
                    ),
                ));
            }
        }
        let schema = Arc::new(a.schema.as_arrow().clone());
        let describe = || {
            let keys: Vec<String> = a
                .group_expr
                .iter()
                .map(|e| match e {
                    Expr::Column(c) => c.name.clone(),
                    e => e.schema_name().to_string(),
                })
                .collect();
            let select: Vec<String> = a.schema.fields().iter().map(|f| f.name().clone()).collect();
            if keys.is_empty() {
                format!("GroupAggregate(select=[{}])", select.join(", "))
            } else {
                format!(
                    "GroupAggregate(groupBy=[{}], select=[{}])",
                    keys.join(", "),
                    select.join(", ")
                )
            }
        };
        if let (Some((gap, part)), Some(_)) = (&input.session, window_end) {
            let window_cols = (0..a.group_expr.len())
                .map(|i| {
                    if key_col(input.window_start) == Some(i) {
                        Some(WindowCol::Start)
                    } else if key_col(input.window_end) == Some(i) {
                        Some(WindowCol::End)
                    } else if key_col(input.window_time) == Some(i) {
                        Some(WindowCol::Time)
                    } else {
                        None
                    }
                })
                .collect();
            let partition = part
                .iter()
                .map(|&c| {
                    let col = Expr::Column(datafusion::common::Column::from(
                        in_schema.qualified_field(c),
                    ));
                    self.physical(&col, in_schema)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let time = input.window_start.expect("window_end implies window_start");
            let node = self.add(
                Box::new(SessionAggregate::new(
                    keys,
                    window_cols,
                    partition,
                    time,
                    *gap,
                    calls,
                    schema,
                )),
                &[input.node],
            );
            let wt = key_col(input.window_time);
            return Ok(Props {
                node,
                rowtime: wt,
                proctime: None,
                window_start: key_col(input.window_start),
                window_end,
                window_time: wt,
                ..Default::default()
            });
        }
        let mut agg = Aggregate::new(keys, calls, schema, window_end);
        if window_end.is_none() {
            agg.ttl = self.ttl;
        }
        agg.decide_fast(in_schema.as_arrow());
        let node = self.add(Box::new(agg), &[input.node]);
        if window_end.is_some() {
            // Window properties stay with the window's keys; `window_time` is a time attribute.
            let wt = key_col(input.window_time);
            Ok(Props {
                node,
                rowtime: wt,
                proctime: None,
                window_start: key_col(input.window_start),
                window_end,
                window_time: wt,
                updating: false,
                updating_node: None,
                session: None,
            })
        } else {
            Ok(Props {
                node,
                updating: true,
                updating_node: Some(describe()),
                ..Default::default()
            })
        }
    }
}

/// Most grouping sets a streaming aggregate runs (one aggregate operator each).
const MAX_GROUPING_SETS: usize = 256;

impl Translator<'_> {
    /// `GROUPING SETS`, `ROLLUP` and `CUBE`: one aggregate per grouping set over the shared
    /// input, their rows padded to the grouping-set aggregate's columns (keys outside the set
    /// NULL, `__grouping_id` as DataFusion numbers it) and unioned. As Flink's `Expand` before
    /// one aggregate keyed by the set id, each set keeps its own groups and changelog; a
    /// window aggregate needs `window_start` and `window_end` in every set, as in Flink.
    fn grouping_sets(
        &mut self,
        a: &datafusion::logical_expr::Aggregate,
        gs: &datafusion::logical_expr::GroupingSet,
    ) -> Result<Props, SqlError> {
        use datafusion::common::{Column, ScalarValue};
        use datafusion::logical_expr::{GroupingSet, LogicalPlanBuilder, Union};
        let q = self.q;
        let keys: Vec<Expr> = gs.distinct_expr().into_iter().cloned().collect();
        let sets: Vec<Vec<Expr>> = match gs {
            GroupingSet::GroupingSets(s) => s.clone(),
            GroupingSet::Rollup(e) => (0..=e.len()).rev().map(|n| e[..n].to_vec()).collect(),
            GroupingSet::Cube(e) if e.len() <= 8 => (0..1u32 << e.len())
                .map(|m| {
                    e.iter()
                        .enumerate()
                        .filter(|(i, _)| m >> i & 1 == 1)
                        .map(|(_, x)| x.clone())
                        .collect()
                })
                .collect(),
            GroupingSet::Cube(_) => {
                return Err(refuse_at(q, "CUBE", "a CUBE of more than 8 expressions"))
            }
        };
        // Each set is an aggregate of its own that every input row goes through.
        if sets.len() > MAX_GROUPING_SETS {
            return Err(refuse_at(
                q,
                "GROUP BY",
                &format!("more than {MAX_GROUPING_SETS} grouping sets"),
            ));
        }
        let input = self.node(&a.input)?;
        let in_schema = a.input.schema();
        let window: Vec<Expr> = [input.window_start, input.window_end]
            .into_iter()
            .flatten()
            .map(|c| Expr::Column(Column::from(in_schema.qualified_field(c))))
            .collect();
        let windowed = window.iter().any(|w| keys.contains(w));
        if windowed && sets.iter().any(|s| window.iter().any(|w| !s.contains(w))) {
            return Err(SqlError::invalid(
                q.pos,
                "a window aggregate's every grouping set must contain window_start and window_end",
            ));
        }
        let n = keys.len();
        let gid_type = a.schema.field(n).data_type().clone();
        let mut seen: std::collections::HashMap<Vec<bool>, u64> = Default::default();
        let mut branches = Vec::with_capacity(sets.len());
        for set in sets {
            let mut set_keys: Vec<Expr> = Vec::new();
            for e in set {
                if !set_keys.contains(&e) {
                    set_keys.push(e);
                }
            }
            let absent: Vec<bool> = keys.iter().map(|k| !set_keys.contains(k)).collect();
            let ordinal = seen.entry(absent.clone()).or_insert(0);
            let id = absent.iter().fold(0u64, |acc, &a| acc << 1 | u64::from(a)) | *ordinal << n;
            *ordinal += 1;
            let plan = LogicalPlanBuilder::from(a.input.as_ref().clone())
                .aggregate(set_keys.clone(), a.aggr_expr.clone())
                .and_then(|b| b.build())
                .map_err(|e| internal(q, e))?;
            let out = plan.schema().clone();
            let col = |i: usize| Expr::Column(Column::from(out.qualified_field(i)));
            let mut exprs = Vec::with_capacity(a.schema.fields().len());
            for (i, k) in keys.iter().enumerate() {
                let e = match set_keys.iter().position(|x| x == k) {
                    Some(j) => col(j),
                    None => Expr::Literal(
                        ScalarValue::try_from(a.schema.field(i).data_type())
                            .map_err(|e| internal(q, e))?,
                        None,
                    ),
                };
                exprs.push(e.alias(format!("__scaleph_key_{i}")));
            }
            let id = ScalarValue::UInt64(Some(id))
                .cast_to(&gid_type)
                .map_err(|e| internal(q, e))?;
            exprs.push(Expr::Literal(id, None).alias("__scaleph_grouping_id"));
            for j in 0..a.aggr_expr.len() {
                exprs.push(col(set_keys.len() + j).alias(format!("__scaleph_agg_{j}")));
            }
            let branch = LogicalPlanBuilder::from(plan)
                .project(exprs)
                .and_then(|b| b.build())
                .map_err(|e| internal(q, e))?;
            branches.push(Arc::new(branch));
        }
        if branches.len() == 1 {
            return self.node(&branches[0]);
        }
        let union = Union::try_new_with_loose_types(branches).map_err(|e| internal(q, e))?;
        self.node(&LogicalPlan::Union(union))
    }
}

/// Milliseconds of an interval literal (day-time intervals only).
fn interval_ms(e: &Expr) -> Option<i64> {
    use datafusion::common::ScalarValue;
    match strip_cast(e) {
        Expr::Literal(ScalarValue::IntervalDayTime(Some(v)), _) => {
            Some(i64::from(v.days) * 86_400_000 + i64::from(v.milliseconds))
        }
        Expr::Literal(ScalarValue::IntervalMonthDayNano(Some(v)), _) if v.months == 0 => {
            Some(i64::from(v.days) * 86_400_000 + v.nanoseconds / 1_000_000)
        }
        _ => None,
    }
}

/// `e` as `rowtime ± interval` of one side: (side, offset in ms).
fn time_offset(
    e: &Expr,
    ls: &DFSchema,
    rs: &DFSchema,
    lt: usize,
    rt: usize,
) -> Option<(usize, i64)> {
    match strip_cast(e) {
        Expr::Column(c) => {
            if ls.index_of_column(c).ok() == Some(lt) {
                Some((0, 0))
            } else if rs.index_of_column(c).ok() == Some(rt) {
                Some((1, 0))
            } else {
                None
            }
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let sign = match op {
                BinOp::Plus => 1,
                BinOp::Minus => -1,
                _ => return None,
            };
            if let (Some((side, base)), Some(ms)) =
                (time_offset(left, ls, rs, lt, rt), interval_ms(right))
            {
                Some((side, base.checked_add(ms.checked_mul(sign)?)?))
            } else if sign == 1 {
                let (side, base) = time_offset(right, ls, rs, lt, rt)?;
                Some((side, base.checked_add(interval_ms(left)?)?))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The bounds `lower <= l.ts − r.ts <= upper` (ms) the conjuncts `rest` put on the rowtimes of
/// a join's sides (`lt` of the left, `rt` of the right), when both are bounded: Flink's
/// interval join condition.
fn time_bounds(
    rest: &[Expr],
    ls: &DFSchema,
    rs: &DFSchema,
    lt: usize,
    rt: usize,
) -> Option<(i64, i64)> {
    let (mut lower, mut upper) = (None::<i64>, None::<i64>);
    let mut bound = |a: &Expr, op: BinOp, b: &Expr| {
        let (Some((sa, oa)), Some((sb, ob))) = (
            time_offset(a, ls, rs, lt, rt),
            time_offset(b, ls, rs, lt, rt),
        ) else {
            return;
        };
        // l.ts + x  op  r.ts + y   ⇔   l.ts − r.ts  op  y − x
        let (op, v) = match (sa, sb) {
            (0, 1) => match ob.checked_sub(oa) {
                Some(v) => (op, v),
                None => return,
            },
            (1, 0) => match (op.swap(), oa.checked_sub(ob)) {
                (Some(op), Some(v)) => (op, v),
                _ => return,
            },
            _ => return,
        };
        let lo = |l: &mut Option<i64>, v: i64| *l = Some(l.map_or(v, |x| x.max(v)));
        let hi = |u: &mut Option<i64>, v: i64| *u = Some(u.map_or(v, |x| x.min(v)));
        match op {
            BinOp::GtEq => lo(&mut lower, v),
            BinOp::Gt => lo(&mut lower, v.saturating_add(1)),
            BinOp::LtEq => hi(&mut upper, v),
            BinOp::Lt => hi(&mut upper, v.saturating_sub(1)),
            BinOp::Eq => {
                lo(&mut lower, v);
                hi(&mut upper, v);
            }
            _ => {}
        }
    };
    for c in rest {
        match c {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => bound(left, *op, right),
            Expr::Between(b) if !b.negated => {
                bound(&b.expr, BinOp::GtEq, &b.low);
                bound(&b.expr, BinOp::LtEq, &b.high);
            }
            _ => {}
        }
    }
    match (lower, upper) {
        (Some(l), Some(u)) if l <= u => Some((l, u)),
        _ => None,
    }
}

/// A literal as a rank bound.
fn rank_literal(e: &Expr) -> Option<i64> {
    match strip_cast(e) {
        Expr::Literal(v, _) => v
            .cast_to(&datafusion::arrow::datatypes::DataType::Int64)
            .ok()
            .and_then(|v| match v {
                datafusion::common::ScalarValue::Int64(Some(n)) => Some(n),
                _ => None,
            }),
        _ => None,
    }
}

fn strip_cast(e: &Expr) -> &Expr {
    match e {
        Expr::Cast(c) => strip_cast(&c.expr),
        Expr::TryCast(c) => strip_cast(&c.expr),
        other => other,
    }
}

/// Flink's Top-N pattern: `WHERE rn <= N [AND …]` over `ROW_NUMBER() OVER (…) AS rn` (through
/// an alias and a projection). Returns the `Window` node, the rank range `lo..=hi` and the other
/// conjuncts.
fn rank_filter(
    f: &datafusion::logical_expr::Filter,
) -> Option<(*const datafusion::logical_expr::Window, u64, u64, Vec<Expr>)> {
    let mut p = f.input.as_ref();
    while let LogicalPlan::SubqueryAlias(a) = p {
        p = a.input.as_ref();
    }
    let (w, rn_cols) = match p {
        LogicalPlan::Projection(proj) => match proj.input.as_ref() {
            LogicalPlan::Window(w) => {
                let rn = w.schema.fields().len() - 1;
                let cols: Vec<usize> = proj
                    .expr
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| column_index(e, &w.schema) == Some(rn))
                    .map(|(i, _)| i)
                    .collect();
                (w, cols)
            }
            _ => return None,
        },
        LogicalPlan::Window(w) => (w, vec![w.schema.fields().len() - 1]),
        _ => return None,
    };
    let is_row_number = w.window_expr.len() == 1
        && matches!(strip_alias(&w.window_expr[0]), Expr::WindowFunction(wf) if wf.fun.name().eq_ignore_ascii_case("row_number"));
    if !is_row_number || rn_cols.is_empty() {
        return None;
    }
    let schema = f.input.schema();
    let is_rn = |e: &Expr| matches!(strip_cast(e), Expr::Column(c) if schema.index_of_column(c).is_ok_and(|i| rn_cols.contains(&i)));
    let (mut lo, mut hi) = (1i64, i64::MAX);
    let mut rest = Vec::new();
    for c in split_conjunction(&f.predicate) {
        let bound = match c {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                if is_rn(left) {
                    rank_literal(right).map(|v| (*op, v))
                } else if is_rn(right) {
                    rank_literal(left).and_then(|v| op.swap().map(|op| (op, v)))
                } else {
                    None
                }
            }
            Expr::Between(b) if !b.negated && is_rn(&b.expr) => {
                match (rank_literal(&b.low), rank_literal(&b.high)) {
                    (Some(l), Some(h)) => {
                        lo = lo.max(l);
                        hi = hi.min(h);
                        continue;
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match bound {
            Some((BinOp::LtEq, v)) => hi = hi.min(v),
            Some((BinOp::Lt, v)) => hi = hi.min(v.saturating_sub(1)),
            Some((BinOp::Eq, v)) => {
                lo = lo.max(v);
                hi = hi.min(v);
            }
            Some((BinOp::GtEq, v)) => lo = lo.max(v),
            Some((BinOp::Gt, v)) => lo = lo.max(v.saturating_add(1)),
            _ => rest.push(c.clone()),
        }
    }
    if hi == i64::MAX {
        return None;
    }
    Some((w, lo.max(1) as u64, hi.max(0) as u64, rest))
}

impl Translator<'_> {
    /// A regular join, or a window join when both inputs are windowed and the condition
    /// equates their `window_start` and `window_end`. `extra` is a `WHERE` over an inner join.
    fn join(
        &mut self,
        j: &datafusion::logical_expr::Join,
        extra: Option<&Expr>,
    ) -> Result<Props, SqlError> {
        let q = self.q;
        let (left_outer, right_outer, flink) = match j.join_type {
            JoinType::Inner => (false, false, "InnerJoin"),
            JoinType::Left => (true, false, "LeftOuterJoin"),
            JoinType::Right => (false, true, "RightOuterJoin"),
            JoinType::Full => (true, true, "FullOuterJoin"),
            JoinType::LeftSemi => (false, false, "LeftSemiJoin"),
            JoinType::LeftAnti if !j.null_aware => (false, false, "LeftAntiJoin"),
            JoinType::LeftAnti => {
                return Err(refuse_at(
                    q,
                    "NOT IN",
                    "NOT IN over a subquery (write NOT EXISTS)",
                ))
            }
            other => return Err(refuse_at(q, "JOIN", &format!("a {other} join"))),
        };
        let semi = match j.join_type {
            JoinType::LeftSemi => Some(false),
            JoinType::LeftAnti => Some(true),
            _ => None,
        };
        let left = self.node(&j.left)?;
        let right = self.node(&j.right)?;
        let left = self.settle(left, j.left.schema())?;
        let right = self.settle(right, j.right.schema())?;
        let (ls, rs) = (j.left.schema(), j.right.schema());
        let mut pairs: Vec<(Expr, Expr)> = j.on.clone();
        let mut rest = Vec::new();
        let side = |e: &Expr| {
            let cols = e.column_refs();
            if cols.is_empty() {
                None
            } else if cols.iter().all(|c| ls.has_column(c)) {
                Some(0)
            } else if cols.iter().all(|c| rs.has_column(c)) {
                Some(1)
            } else {
                None
            }
        };
        for c in j.filter.iter().chain(extra).flat_map(split_conjunction) {
            if let Expr::BinaryExpr(BinaryExpr {
                left: l,
                op: BinOp::Eq,
                right: r,
            }) = c
            {
                match (side(l), side(r)) {
                    (Some(0), Some(1)) => {
                        pairs.push((l.as_ref().clone(), r.as_ref().clone()));
                        continue;
                    }
                    (Some(1), Some(0)) => {
                        pairs.push((r.as_ref().clone(), l.as_ref().clone()));
                        continue;
                    }
                    _ => {}
                }
            }
            rest.push(c.clone());
        }
        let mut key_types = Vec::new();
        for (l, r) in &pairs {
            let lt = l.get_type(ls).map_err(|e| internal(q, e))?;
            let rt = r.get_type(rs).map_err(|e| internal(q, e))?;
            let t = if lt == rt {
                lt
            } else {
                datafusion::logical_expr::type_coercion::binary::comparison_coercion(&lt, &rt)
                    .unwrap_or(lt)
            };
            key_types.push(t);
        }
        let lkeys = pairs
            .iter()
            .map(|(l, _)| self.physical(l, ls))
            .collect::<Result<Vec<_>, _>>()?;
        let rkeys = pairs
            .iter()
            .map(|(_, r)| self.physical(r, rs))
            .collect::<Result<Vec<_>, _>>()?;
        let pair_schema = ls.join(rs).map_err(|e| internal(q, e))?;
        let condition = rest
            .iter()
            .cloned()
            .reduce(Expr::and)
            .map(|c| self.physical(&c, &pair_schema))
            .transpose()?;
        let types =
            |s: &DFSchema| -> Vec<_> { s.fields().iter().map(|f| f.data_type().clone()).collect() };
        let schema = Arc::new(j.schema.as_arrow().clone());
        let lside = JoinSide::new(lkeys, types(ls), left_outer);
        let rside = JoinSide::new(rkeys, types(rs), right_outer);
        // A window join: both inputs windowed, equal window_start and window_end.
        let equated = |a: Option<usize>, b: Option<usize>| {
            a.zip(b).is_some_and(|(a, b)| {
                pairs
                    .iter()
                    .any(|(l, r)| column_index(l, ls) == Some(a) && column_index(r, rs) == Some(b))
            })
        };
        if equated(left.window_start, right.window_start)
            && equated(left.window_end, right.window_end)
        {
            if left.updating || right.updating {
                return Err(refuse_at(q, "JOIN", "a window join over an updating input"));
            }
            let ends = [
                left.window_end.expect("equated"),
                right.window_end.expect("equated"),
            ];
            let pairs = Arc::new(pair_schema.as_arrow().clone());
            let join = Join::of_kind(semi, [lside, rside], key_types, condition, schema, pairs);
            let node = self.add(
                Box::new(WindowJoin::new(join, ends)),
                &[left.node, right.node],
            );
            return Ok(Props {
                node,
                window_start: left.window_start,
                window_end: left.window_end,
                ..Default::default()
            });
        }
        if let (None, false, false, Some(lt), Some(rt)) = (
            semi,
            left.updating,
            right.updating,
            left.rowtime,
            right.rowtime,
        ) {
            if let Some(bounds) = time_bounds(&rest, ls, rs, lt, rt) {
                let node = self.add(
                    Box::new(IntervalJoin::new(
                        lside,
                        rside,
                        key_types,
                        condition,
                        schema,
                        [lt, rt],
                        bounds,
                    )),
                    &[left.node, right.node],
                );
                return Ok(Props {
                    node,
                    rowtime: Some(lt),
                    ..Default::default()
                });
            }
        }
        if let Some(anti) = semi {
            let pairs = Arc::new(pair_schema.as_arrow().clone());
            let join = Join::of_kind(semi, [lside, rside], key_types, condition, schema, pairs);
            let node = self.add(Box::new(join), &[left.node, right.node]);
            // A semi join of insert-only inputs only inserts; an anti join retracts a left row
            // when its first match arrives.
            let updating = left.updating || right.updating || anti;
            return Ok(Props {
                node,
                rowtime: None,
                updating,
                updating_node: if left.updating || right.updating {
                    left.updating_node.or(right.updating_node)
                } else if updating {
                    Some(format!("Join(joinType=[{flink}])"))
                } else {
                    None
                },
                ..Default::default()
            });
        }
        let updating = left.updating || right.updating || left_outer || right_outer;
        let describe = || {
            let cond: Vec<String> = pairs
                .iter()
                .map(|(l, r)| format!("{l} = {r}"))
                .chain(rest.iter().map(|c| c.to_string()))
                .collect();
            format!("Join(joinType=[{flink}], where=[{}])", cond.join(" AND "))
        };
        let mut join = Join::new(lside, rside, key_types, condition, schema);
        join.ttl = self.ttl;
        let node = self.add(Box::new(join), &[left.node, right.node]);
        Ok(Props {
            node,
            updating,
            updating_node: if left.updating || right.updating {
                left.updating_node.or(right.updating_node)
            } else if updating {
                Some(describe())
            } else {
                None
            },
            ..Default::default()
        })
    }

    /// `ORDER BY … LIMIT n [OFFSET m]` (`sort` given) or `LIMIT n` of `input`: a Top-N without
    /// partitions and without the rank column.
    fn limit(
        &mut self,
        sort: Option<&datafusion::logical_expr::Sort>,
        input: &LogicalPlan,
        skip: usize,
        fetch: usize,
    ) -> Result<Props, SqlError> {
        let props = self.node(input)?;
        let props = self.settle(props, input.schema())?;
        let schema = input.schema();
        let order = sort
            .map(|s| {
                s.expr
                    .iter()
                    .map(|e| {
                        Ok((
                            self.physical(&e.expr, schema)?,
                            SortOptions {
                                descending: !e.asc,
                                nulls_first: e.nulls_first,
                            },
                        ))
                    })
                    .collect::<Result<Vec<_>, SqlError>>()
            })
            .transpose()?
            .unwrap_or_default();
        let append_only = !props.updating;
        let insert_only = order.is_empty() && append_only;
        let types = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let lo = skip as u64 + 1;
        let hi = (skip + fetch) as u64;
        let out = Arc::new(schema.as_arrow().clone());
        let op: Box<dyn super::ops::Operator> = if append_only {
            Box::new(TopN::new(
                Vec::new(),
                order,
                (lo, hi),
                Ties::Oldest,
                false,
                out,
                types,
            ))
        } else {
            Box::new(Rank::new(
                Vec::new(),
                order,
                (lo, hi),
                Ties::Oldest,
                false,
                None,
                false,
                out,
                types,
            ))
        };
        let node = self.add(op, &[props.node]);
        let flink = if sort.is_some() { "SortLimit" } else { "Limit" };
        Ok(Props {
            node,
            updating: !insert_only,
            updating_node: if props.updating {
                props.updating_node
            } else if !insert_only {
                Some(format!("{flink}(offset=[{skip}], fetch=[{fetch}])"))
            } else {
                None
            },
            ..Default::default()
        })
    }

    /// A `ROW_NUMBER` window bounded by a Top-N filter above it ([`rank_filter`]).
    /// An `OVER` aggregation ordered by the time attribute (Flink's streaming `OverAggregate`):
    /// every aggregate over the same window, ascending time order, a frame ending at the
    /// current row, an insert-only input.
    fn over(&mut self, w: &datafusion::logical_expr::Window) -> Result<Props, SqlError> {
        use super::over::{Frame, OverAggregate};
        use datafusion::logical_expr::{
            expr::{AggregateFunction, WindowFunction},
            WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition,
        };
        let q = self.q;
        let only_rank = "an OVER window with ROW_NUMBER() without a `WHERE rn <= N` filter (Top-N / deduplication need one)";
        let mut fns: Vec<&WindowFunction> = Vec::new();
        for e in &w.window_expr {
            let Expr::WindowFunction(wf) = strip_alias(e) else {
                return Err(internal(
                    q,
                    "an OVER expression that is not a window function",
                ));
            };
            match &wf.fun {
                WindowFunctionDefinition::AggregateUDF(_) => fns.push(wf),
                WindowFunctionDefinition::WindowUDF(f) => {
                    let what = if f.name().eq_ignore_ascii_case("row_number") {
                        only_rank.to_string()
                    } else {
                        format!("the window function {}() in streaming OVER windows (Flink runs aggregates and ROW_NUMBER there)", f.name().to_uppercase())
                    };
                    return Err(refuse_at(q, "OVER", &what));
                }
            }
        }
        let first = &fns[0].params;
        if fns.iter().any(|f| {
            f.params.partition_by != first.partition_by
                || f.params.order_by != first.order_by
                || f.params.window_frame != first.window_frame
        }) {
            return Err(refuse_at(
                q,
                "OVER",
                "OVER aggregates over different windows in one SELECT (Flink: all aggregates must be computed on the same window)",
            ));
        }
        let input = self.node(&w.input)?;
        let input = self.settle(input, w.input.schema())?;
        let in_schema = w.input.schema();
        let by_time = first.order_by.len() == 1
            && first.order_by[0].asc
            && input.rowtime.is_some()
            && column_index(&first.order_by[0].expr, in_schema) == input.rowtime;
        if !by_time {
            return Err(refuse_at(
                q,
                "OVER",
                "an OVER window not ordered by the time attribute ascending (Flink: OVER windows' ordering in stream mode must be defined on a time attribute)",
            ));
        }
        if input.updating {
            return Err(refuse_at(
                q,
                "OVER",
                "an OVER aggregate over an updating input",
            ));
        }
        let f = &first.window_frame;
        if !matches!(f.end_bound, WindowFrameBound::CurrentRow) {
            return Err(refuse_at(
                q,
                "FOLLOWING",
                "an OVER frame that does not end at the CURRENT ROW (Flink: only PRECEDING frames)",
            ));
        }
        let frame = match (&f.units, &f.start_bound) {
            (WindowFrameUnits::Rows, WindowFrameBound::CurrentRow) => Frame::Rows(Some(0)),
            (WindowFrameUnits::Range, WindowFrameBound::CurrentRow) => Frame::Range(Some(0)),
            (WindowFrameUnits::Rows, WindowFrameBound::Preceding(v)) if v.is_null() => {
                Frame::Rows(None)
            }
            (WindowFrameUnits::Range, WindowFrameBound::Preceding(v)) if v.is_null() => {
                Frame::Range(None)
            }
            (WindowFrameUnits::Rows, WindowFrameBound::Preceding(v)) => {
                let n = match v {
                    datafusion::common::ScalarValue::UInt64(Some(n)) => *n,
                    other => other
                        .to_string()
                        .parse::<u64>()
                        .map_err(|_| internal(q, format!("a ROWS bound {other}")))?,
                };
                Frame::Rows(Some(n))
            }
            (WindowFrameUnits::Range, WindowFrameBound::Preceding(v)) => {
                Frame::Range(Some(interval_ms(&Expr::Literal(v.clone(), None)).ok_or_else(|| {
                    refuse_at(
                        q,
                        "RANGE",
                        "a RANGE frame whose bound is not an INTERVAL (Flink: a time interval over the time attribute)",
                    )
                })?))
            }
            _ => {
                return Err(refuse_at(q, "OVER", "this OVER frame"));
            }
        };
        let props = self.state.execution_props();
        let arrow = in_schema.as_arrow();
        let mut calls = Vec::new();
        for wf in &fns {
            let WindowFunctionDefinition::AggregateUDF(udaf) = &wf.fun else {
                unreachable!("checked above");
            };
            let agg = Expr::AggregateFunction(AggregateFunction::new_udf(
                udaf.clone(),
                wf.params.args.clone(),
                wf.params.distinct,
                wf.params.filter.clone(),
                vec![],
                wf.params.null_treatment,
            ));
            #[allow(deprecated)]
            let (expr, filter, _) = self
                .prepared_aggregate(&agg, in_schema)
                .and_then(|e| create_aggregate_expr_and_maybe_filter(&e, in_schema, arrow, props))
                .map_err(|err| internal(q, err))?;
            if frame_bounded(frame) {
                let retracts = expr
                    .create_sliding_accumulator()
                    .map(|a| a.supports_retract_batch())
                    .unwrap_or(false);
                if !retracts {
                    return Err(refuse_at(
                        q,
                        "OVER",
                        &format!("{} over a bounded OVER frame", expr.name()),
                    ));
                }
            }
            // Planned here (simplified: `arrow_cast` becomes a cast), not taken from `expr`.
            let args = wf
                .params
                .args
                .iter()
                .map(|a| self.physical(a, in_schema))
                .collect::<Result<Vec<_>, _>>()?;
            calls.push(AggCall {
                args,
                expr,
                filter,
                retract: false,
            });
        }
        let types = in_schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let partition = first
            .partition_by
            .iter()
            .map(|e| self.physical(e, in_schema))
            .collect::<Result<Vec<_>, _>>()?;
        let rowtime = input.rowtime.expect("by_time");
        let node = self.add(
            Box::new(OverAggregate::new(
                partition,
                rowtime,
                frame,
                calls,
                Arc::new(w.schema.as_arrow().clone()),
                types,
            )),
            &[input.node],
        );
        Ok(Props {
            node,
            rowtime: input.rowtime,
            ..Default::default()
        })
    }

    fn window(&mut self, w: &datafusion::logical_expr::Window) -> Result<Props, SqlError> {
        let q = self.q;
        let Some((ptr, lo, hi)) = self.pending_rank.take() else {
            return self.over(w);
        };
        if !std::ptr::eq(ptr, w) {
            return Err(refuse_at(q, "OVER", "an OVER window"));
        }
        let Expr::WindowFunction(wf) = strip_alias(&w.window_expr[0]) else {
            return Err(internal(q, "ROW_NUMBER is not a window function"));
        };
        let input = self.node(&w.input)?;
        let input = self.settle(input, w.input.schema())?;
        let in_schema = w.input.schema();
        let params = &wf.params;
        let partition = params
            .partition_by
            .iter()
            .map(|e| self.physical(e, in_schema))
            .collect::<Result<Vec<_>, _>>()?;
        let order = params
            .order_by
            .iter()
            .map(|e| {
                Ok((
                    self.physical(&e.expr, in_schema)?,
                    SortOptions {
                        descending: !e.asc,
                        nulls_first: e.nulls_first,
                    },
                ))
            })
            .collect::<Result<Vec<_>, SqlError>>()?;
        let in_partition = |c: Option<usize>| {
            c.is_some_and(|c| {
                params
                    .partition_by
                    .iter()
                    .any(|e| column_index(e, in_schema) == Some(c))
            })
        };
        let windowed = in_partition(input.window_start) && in_partition(input.window_end);
        if windowed && input.updating {
            return Err(refuse_at(
                q,
                "OVER",
                "a window Top-N over an updating input",
            ));
        }
        let by_time = params.order_by.len() == 1
            && input.rowtime.is_some()
            && column_index(&params.order_by[0].expr, in_schema) == input.rowtime;
        let dedup = by_time && lo == 1 && hi == 1;
        let ties = if dedup && !params.order_by[0].asc {
            Ties::Newest
        } else {
            Ties::Oldest
        };
        let types = in_schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let append_only = !input.updating;
        if dedup && !windowed && append_only && params.order_by[0].asc {
            // Flink 2.3: keep-first on event time waits for the watermark and is insert-only.
            let rowtime = input.rowtime.expect("by_time");
            let node = self.add(
                Box::new(FirstOnTime::new(
                    partition,
                    rowtime,
                    Arc::new(w.schema.as_arrow().clone()),
                    types,
                )),
                &[input.node],
            );
            return Ok(Props {
                node,
                rowtime: input.rowtime,
                ..Default::default()
            });
        }
        let op: Box<dyn super::ops::Operator> = if append_only && !windowed {
            // Only the `hi` best rows per partition can ever rank: kept columnar.
            Box::new(TopN::new(
                partition,
                order,
                (lo, hi),
                ties,
                true,
                Arc::new(w.schema.as_arrow().clone()),
                types,
            ))
        } else {
            Box::new(Rank::new(
                partition,
                order,
                (lo, hi),
                ties,
                append_only,
                if windowed { input.window_end } else { None },
                true,
                Arc::new(w.schema.as_arrow().clone()),
                types,
            ))
        };
        let node = self.add(op, &[input.node]);
        if windowed {
            return Ok(Props {
                node,
                rowtime: input.rowtime,
                proctime: input.proctime,
                window_start: input.window_start,
                window_end: input.window_end,
                window_time: input.window_time,
                updating: false,
                updating_node: None,
                session: None,
            });
        }
        let names = |es: &[Expr]| -> Vec<String> { es.iter().map(|e| e.to_string()).collect() };
        let describe = if dedup {
            format!(
                "Deduplicate(keep=[{}], key=[{}], order=[ROWTIME])",
                if params.order_by[0].asc {
                    "FirstRow"
                } else {
                    "LastRow"
                },
                names(&params.partition_by).join(", ")
            )
        } else {
            format!(
                "Rank(rankType=[ROW_NUMBER], rankRange=[rankStart={lo}, rankEnd={hi}], partitionBy=[{}])",
                names(&params.partition_by).join(", ")
            )
        };
        Ok(Props {
            node,
            updating: true,
            updating_node: if input.updating {
                input.updating_node
            } else {
                Some(describe)
            },
            ..Default::default()
        })
    }
}

/// Whether an OVER frame retracts rows leaving it.
fn frame_bounded(f: super::over::Frame) -> bool {
    matches!(
        f,
        super::over::Frame::Rows(Some(_)) | super::over::Frame::Range(Some(_))
    )
}
