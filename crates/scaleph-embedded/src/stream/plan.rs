//! Translation of a DataFusion logical plan into a streaming dataflow.

use super::ops::{AggCall, Aggregate, Filter, Operator, Pass, Project, Unnest};
use crate::windows::WINDOW_ADD;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result as DfResult};
use datafusion::datasource::{source_as_provider, TableType};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
// The builder that replaces it is not public in DataFusion 54.1.
#[allow(deprecated)]
use datafusion::physical_planner::create_aggregate_expr_and_maybe_filter;
use datafusion::prelude::Expr as DfExpr;
use scaleph_sql::{Pos, QueryText, SqlError};
use std::sync::Arc;

/// A declared table in streaming mode: what the planner sees in place of the connector's table.
/// Its rows come from `plan` (the connector's table with computed columns, then — with a
/// watermark — the watermark expression as one more, last column).
#[derive(Debug)]
pub(crate) struct StreamTable {
    pub(crate) name: String,
    pub(crate) schema: SchemaRef,
    pub(crate) plan: LogicalPlan,
    /// Index of the rowtime column (the one `WATERMARK FOR` names).
    pub(crate) rowtime: Option<usize>,
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
    /// The node the source's rows enter.
    pub(crate) node: usize,
}

/// One node of a dataflow.
pub(crate) struct Node {
    pub(crate) op: Box<dyn Operator>,
    /// The node this one feeds, and as which of its inputs; `None` for the root.
    pub(crate) parent: Option<(usize, usize)>,
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
}

/// Properties of an intermediate stream.
#[derive(Clone, Default)]
struct Props {
    node: usize,
    rowtime: Option<usize>,
    window_start: Option<usize>,
    window_end: Option<usize>,
    window_time: Option<usize>,
    updating: bool,
    updating_node: Option<String>,
}

/// Translates plans of one query; refusals point at `q`.
pub(crate) struct Translator<'a> {
    state: &'a SessionState,
    q: &'a QueryText,
    nodes: Vec<Node>,
    sources: Vec<SourceSpec>,
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
        }
    }

    /// Translates `plan` (analysed, not optimised).
    ///
    /// # Errors
    /// What streaming execution does not run, as `unsupported` at the construct.
    pub(crate) fn translate(mut self, plan: &LogicalPlan) -> Result<Dataflow, SqlError> {
        let p = self.node(plan)?;
        Ok(Dataflow {
            nodes: self.nodes,
            sources: self.sources,
            updating: p.updating,
            updating_node: p.updating_node,
        })
    }

    fn add(&mut self, op: Box<dyn Operator>, inputs: &[usize]) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            op,
            parent: None,
            inputs: inputs.len().max(1),
        });
        for (k, &i) in inputs.iter().enumerate() {
            self.nodes[i].parent = Some((id, k));
        }
        id
    }

    fn physical(
        &self,
        e: &Expr,
        schema: &DFSchema,
    ) -> Result<Arc<dyn datafusion::physical_expr::PhysicalExpr>, SqlError> {
        self.state
            .create_physical_expr(e.clone(), schema)
            .map_err(|err| internal(self.q, err))
    }

    fn node(&mut self, plan: &LogicalPlan) -> Result<Props, SqlError> {
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
                if scan.projection.is_some() || !scan.filters.is_empty() {
                    return Err(internal(q, "a streaming scan with pushed-down work"));
                }
                let node = self.add(Box::new(Pass), &[]);
                self.sources.push(SourceSpec {
                    plan: t.plan.clone(),
                    watermark: t.rowtime.is_some(),
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
                let exprs = p
                    .expr
                    .iter()
                    .map(|e| self.physical(e, in_schema))
                    .collect::<Result<Vec<_>, _>>()?;
                let node = self.add(
                    Box::new(Project {
                        exprs,
                        schema: Arc::new(p.schema.as_arrow().clone()),
                    }),
                    &[input.node],
                );
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
                out.window_start = maps_to(input.window_start);
                out.window_end = maps_to(input.window_end);
                out.window_time = maps_to(input.window_time);
                // The window TVF's rewritten form (crate::windows): `… AS window_time`.
                for (i, e) in p.expr.iter().enumerate() {
                    if let Expr::Alias(a) = e {
                        if a.name == "window_time"
                            && matches!(a.expr.as_ref(), Expr::ScalarFunction(f) if f.name() == WINDOW_ADD)
                        {
                            if input.rowtime.is_none() {
                                return Err(refuse_at(
                                    q,
                                    "DESCRIPTOR",
                                    "a window over a column that is not a time attribute (declare `WATERMARK FOR` it)",
                                ));
                            }
                            let names = p.schema.fields();
                            let find = |n: &str| names.iter().position(|f| f.name() == n);
                            out.window_start = find("window_start");
                            out.window_end = find("window_end");
                            out.window_time = Some(i);
                            out.rowtime = Some(i);
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
                let input = self.node(&f.input)?;
                let predicate = self.physical(&f.predicate, f.input.schema())?;
                let node = self.add(Box::new(Filter { predicate }), &[input.node]);
                Ok(Props { node, ..input })
            }
            LogicalPlan::Unnest(u) => {
                if !u.struct_type_columns.is_empty()
                    || u.list_type_columns.len() != 1
                    || u.list_type_columns[0].1.depth != 1
                {
                    return Err(refuse_at(q, "UNNEST", "this UNNEST"));
                }
                let input = self.node(&u.input)?;
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
                    window_start: maps_to(input.window_start),
                    window_end: maps_to(input.window_end),
                    window_time: maps_to(input.window_time),
                    updating: input.updating,
                    updating_node: input.updating_node,
                })
            }
            LogicalPlan::Union(u) => {
                let inputs = u
                    .inputs
                    .iter()
                    .map(|i| self.node(i))
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
            LogicalPlan::Sort(_) => Err(refuse_at(q, "ORDER BY", "ORDER BY")),
            LogicalPlan::Limit(_) => Err(refuse_at(q, "LIMIT", "LIMIT")),
            LogicalPlan::Join(_) => Err(refuse_at(q, "JOIN", "a join")),
            LogicalPlan::Window(_) => Err(refuse_at(q, "OVER", "an OVER window")),
            other => Err(refuse_at(
                q,
                "SELECT",
                &format!("this query ({})", other.display()),
            )),
        }
    }

    fn aggregate(&mut self, a: &datafusion::logical_expr::Aggregate) -> Result<Props, SqlError> {
        let q = self.q;
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
            let (expr, filter, order) =
                create_aggregate_expr_and_maybe_filter(e, in_schema, arrow, props)
                    .map_err(|err| internal(q, err))?;
            if !order.is_empty() {
                return Err(refuse_at(q, "WITHIN", "an aggregate with an ordering"));
            }
            let retract = input.updating;
            if retract {
                let name = expr.fun().name().to_ascii_lowercase();
                if expr.is_distinct() || !matches!(name.as_str(), "count" | "sum" | "avg") {
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
        let node = self.add(
            Box::new(Aggregate::new(keys, calls, schema, window_end)),
            &[input.node],
        );
        if window_end.is_some() {
            // Window properties stay with the window's keys; `window_time` is a time attribute.
            let wt = key_col(input.window_time);
            Ok(Props {
                node,
                rowtime: wt,
                window_start: key_col(input.window_start),
                window_end,
                window_time: wt,
                updating: false,
                updating_node: None,
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
