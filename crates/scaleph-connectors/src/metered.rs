//! Row and byte counting around a source.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, BooleanArray, RecordBatch};
use datafusion::arrow::compute::kernels::boolean::{and, or_kleene};
use datafusion::arrow::compute::{filter_record_batch, is_null, BatchCoalescer};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::cast::as_boolean_array;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Operator;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::expressions::{
    lit, BinaryExpr, CaseExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, Literal, NotExpr,
};
use datafusion::physical_expr::split_conjunction;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::{
    is_dynamic_physical_expr, is_volatile, snapshot_generation, snapshot_physical_expr,
};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterDescription, FilterPushdownPhase, FilterPushdownPropagation,
    PushedDown,
};
use datafusion::physical_plan::joins::{HashExpr, HashTableLookupExpr};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows and bytes that went through a table, updated as batches flow.
#[derive(Debug, Default)]
pub struct Counter {
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    /// Adds a batch's rows and bytes.
    pub fn add(&self, rows: u64, bytes: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// (rows, bytes) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.rows.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// A source wrapped so every batch it yields is counted (rows, Arrow memory bytes).
#[derive(Debug)]
pub struct MeteredTable {
    inner: Arc<dyn TableProvider>,
    counter: Arc<Counter>,
}

impl MeteredTable {
    /// Wraps `inner`; counts go to `counter`.
    pub fn new(inner: Arc<dyn TableProvider>, counter: Arc<Counter>) -> Self {
        Self { inner, counter }
    }
}

#[async_trait]
impl TableProvider for MeteredTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        Ok(Arc::new(MeteredExec {
            input: plan,
            counter: self.counter.clone(),
            filters: Vec::new(),
            runtime_filters: Vec::new(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<datafusion::common::Statistics> {
        self.inner.statistics()
    }
}

/// Counts what its input yields, and applies the filters the scan below cannot apply row by
/// row.
///
/// Static predicates the scan only uses for statistics pruning are evaluated here (replacing
/// the `FilterExec` above), then run-time filters: a hash join publishes its finished build
/// side's key bounds and small `IN` lists, a TopK its current threshold, as dynamic filters
/// (DataFusion's `DynamicFilterPhysicalExpr`) pushed towards the probe side's scan. Without
/// them a probe side aggregated before the join (`GROUP BY` of a decorrelated subquery)
/// computes every group only for the join to drop most (TPC-H q17, q18). Hash-table probes are
/// left to the join (see [`cheap_form`]), and a filter that has passed more than
/// [`KEEP_FILTER_BELOW`] of [`ADAPT_AFTER_ROWS`] rows is skipped until it changes (runtime
/// filters with adaptive disabling, as in Spark and Doris). Output is re-batched to the
/// session's batch size. Rows are counted before filtering: the source metrics are what the
/// source read.
#[derive(Debug)]
struct MeteredExec {
    input: Arc<dyn ExecutionPlan>,
    counter: Arc<Counter>,
    /// Filters from above the scan did not take, applied exactly and first.
    filters: Vec<Arc<dyn PhysicalExpr>>,
    /// Dynamic filters from above, over the input's columns.
    runtime_filters: Vec<Arc<dyn PhysicalExpr>>,
    metrics: ExecutionPlanMetricsSet,
}

/// Rows a run-time filter is evaluated on before its selectivity is judged.
const ADAPT_AFTER_ROWS: usize = 1 << 16;
/// A run-time filter passing more than this share of rows is not worth evaluating.
const KEEP_FILTER_BELOW: f64 = 0.85;

impl DisplayAs for MeteredExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "MeteredExec")?;
        if !self.filters.is_empty() {
            let shown: Vec<String> = self.filters.iter().map(|e| e.to_string()).collect();
            write!(f, ": filters=[{}]", shown.join(", "))?;
        }
        if !self.runtime_filters.is_empty() {
            let shown: Vec<String> = self.runtime_filters.iter().map(|e| e.to_string()).collect();
            write!(f, ": runtime_filters=[{}]", shown.join(", "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for MeteredExec {
    fn name(&self) -> &str {
        "MeteredExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    /// The input's: counting changes no row (join ordering reads these).
    fn partition_statistics(
        &self,
        partition: Option<usize>,
    ) -> Result<Arc<datafusion::common::Statistics>> {
        self.input.partition_statistics(partition)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(MeteredExec {
            input: children.swap_remove(0),
            counter: self.counter.clone(),
            filters: self.filters.clone(),
            runtime_filters: self.runtime_filters.clone(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    /// Every filter goes on to the scan (statistics pruning).
    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }

    /// Filters the scan did not take for row-level evaluation are applied here: static ones
    /// (first phase, replacing the `FilterExec` above) before dynamic ones (second phase), so
    /// the costlier run-time filter sees only the rows the static predicate keeps.
    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let (mut filters, mut runtime_filters) =
            (self.filters.clone(), self.runtime_filters.clone());
        let mut changed = false;
        let answers = result
            .parent_filters
            .iter()
            .map(|f| match f.all() {
                PushedDown::No if is_volatile(&f.filter) => PushedDown::No,
                PushedDown::No => {
                    changed = true;
                    if is_dynamic_physical_expr(&f.filter) {
                        runtime_filters.push(Arc::clone(&f.filter));
                    } else {
                        filters.push(Arc::clone(&f.filter));
                    }
                    PushedDown::Yes
                }
                yes => yes,
            })
            .collect();
        let prop = FilterPushdownPropagation::with_parent_pushdown_result(answers);
        if !changed {
            return Ok(prop);
        }
        Ok(prop.with_updated_node(Arc::new(MeteredExec {
            input: Arc::clone(&self.input),
            counter: self.counter.clone(),
            filters,
            runtime_filters,
            metrics: ExecutionPlanMetricsSet::new(),
        })))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size();
        let stream = self.input.execute(partition, context)?;
        let schema = stream.schema();
        let counter = self.counter.clone();
        if self.filters.is_empty() && self.runtime_filters.is_empty() {
            let counted = stream.inspect(move |b| {
                if let Ok(b) = b {
                    counter.add(b.num_rows() as u64, b.get_array_memory_size() as u64);
                }
            });
            return Ok(Box::pin(RecordBatchStreamAdapter::new(schema, counted)));
        }
        let state = Filtering {
            input: stream,
            counter,
            conjuncts: ordered_conjuncts(&self.filters, &schema),
            runtime: self
                .runtime_filters
                .iter()
                .map(|f| RuntimeFilter::new(Arc::clone(f)))
                .collect(),
            coalescer: BatchCoalescer::new(Arc::clone(&schema), batch_size)
                .with_biggest_coalesce_batch_size(Some(batch_size / 2)),
            dropped: MetricBuilder::new(&self.metrics).counter("runtime_filtered_rows", partition),
            elapsed: MetricBuilder::new(&self.metrics).elapsed_compute(partition),
            done: false,
        };
        let out = futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(b) = st.coalescer.next_completed_batch() {
                    return Some((Ok(b), st));
                }
                if st.done {
                    return None;
                }
                let step = match st.input.next().await {
                    Some(Ok(b)) => st.push(b),
                    Some(Err(e)) => Err(e),
                    None => {
                        st.done = true;
                        st.coalescer.finish_buffered_batch().map_err(Into::into)
                    }
                };
                if let Err(e) = step {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, out)))
    }
}

/// A partition's stream state when filters apply: counted, filtered, re-batched.
struct Filtering {
    input: SendableRecordBatchStream,
    counter: Arc<Counter>,
    /// The static predicate's conjuncts in evaluation order, with their [`conjunct_class`].
    conjuncts: Vec<(u8, Arc<dyn PhysicalExpr>)>,
    runtime: Vec<RuntimeFilter>,
    coalescer: BatchCoalescer,
    dropped: datafusion::physical_plan::metrics::Count,
    elapsed: datafusion::physical_plan::metrics::Time,
    done: bool,
}

/// Splits the static filters into conjuncts. Conjuncts are evaluated in order, each on the rows
/// the earlier ones kept (Flink's `AND` short-circuits the same way, so an expression that
/// would fail on a row an earlier conjunct drops does not fail). Within each run of conjuncts
/// that cannot fail, those reading only fixed-width columns go first — reordering them changes
/// no result and no error.
fn ordered_conjuncts(
    filters: &[Arc<dyn PhysicalExpr>],
    schema: &SchemaRef,
) -> Vec<(u8, Arc<dyn PhysicalExpr>)> {
    let all: Vec<(u8, Arc<dyn PhysicalExpr>)> = filters
        .iter()
        .flat_map(|f| split_conjunction(f).into_iter().cloned())
        .map(|c| (conjunct_class(&c, schema), c))
        .collect();
    let mut out = Vec::with_capacity(all.len());
    for run in all.split_inclusive(|(class, _)| *class == 2) {
        let mut run = run.to_vec();
        run.sort_by_key(|(class, _)| *class);
        out.extend(run);
    }
    out
}

/// 0: comparisons of fixed-width columns and literals; 1: the same over any column; 2: other.
fn conjunct_class(expr: &Arc<dyn PhysicalExpr>, schema: &SchemaRef) -> u8 {
    let mut infallible = true;
    let mut wide = false;
    let _ = expr.apply(|e| {
        if let Some(c) = e.downcast_ref::<Column>() {
            // A column this schema does not have (never expected) counts as wide.
            wide |= schema.fields().get(c.index()).is_none_or(|f| {
                !f.data_type().is_primitive() && f.data_type() != &DataType::Boolean
            });
        } else if let Some(b) = e.downcast_ref::<BinaryExpr>() {
            use Operator::*;
            infallible &= matches!(
                b.op(),
                Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | IsDistinctFrom | IsNotDistinctFrom
            );
        } else if !(e.downcast_ref::<Literal>().is_some()
            || e.downcast_ref::<InListExpr>().is_some()
            || e.downcast_ref::<IsNullExpr>().is_some()
            || e.downcast_ref::<IsNotNullExpr>().is_some()
            || e.downcast_ref::<NotExpr>().is_some())
        {
            infallible = false;
        }
        Ok(TreeNodeRecursion::Continue)
    });
    match (infallible, wide) {
        (true, false) => 0,
        (true, true) => 1,
        _ => 2,
    }
}

/// Filters `batch` by the conjuncts in order. The batch is cut down to the rows still in before
/// a conjunct that can fail (so it only sees those), and otherwise once they are under half (so
/// costly conjuncts see fewer rows).
fn apply_conjuncts(
    batch: RecordBatch,
    conjuncts: &[(u8, Arc<dyn PhysicalExpr>)],
) -> Result<RecordBatch> {
    let mut b = batch;
    let mut keep: Option<BooleanArray> = None;
    for (class, c) in conjuncts {
        if let Some(k) = &keep {
            let kept = k.true_count();
            if kept * 2 < b.num_rows() || (*class == 2 && kept < b.num_rows()) {
                b = filter_record_batch(&b, k)?;
                keep = None;
            }
        }
        if b.num_rows() == 0 {
            return Ok(b);
        }
        let mask = c.evaluate(&b)?.into_array(b.num_rows())?;
        let mask = as_boolean_array(&mask)?;
        keep = Some(match keep {
            Some(k) => and(&k, mask)?,
            None => mask.clone(),
        });
    }
    match keep {
        Some(k) => Ok(filter_record_batch(&b, &k)?),
        None => Ok(b),
    }
}

impl Filtering {
    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.counter.add(
            batch.num_rows() as u64,
            batch.get_array_memory_size() as u64,
        );
        let _timer = self.elapsed.timer();
        let mut b = apply_conjuncts(batch, &self.conjuncts)?;
        for f in &mut self.runtime {
            if b.num_rows() == 0 {
                break;
            }
            let before = b.num_rows();
            b = f.apply(b)?;
            self.dropped.add(before - b.num_rows());
        }
        if b.num_rows() > 0 {
            self.coalescer.push_batch(b)?;
        }
        Ok(())
    }
}

/// A join's dynamic filter without its hash-table probes: a membership test costs about what
/// the join's own probe costs, so it is replaced by `true`, leaving the key bounds and small
/// `IN` lists. Per-partition branches (`CASE hash_repartition % n …`) lose their routing,
/// which saves hashing every row: when each branch tests one `IN` list over the same key, the
/// lists merge into one (one set lookup per row); otherwise the branches are `OR`ed. The result
/// is a superset of the filter — enough here, as the join still checks every key.
fn cheap_form(expr: Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<Arc<dyn PhysicalExpr>> {
    let expr = expr
        .transform_up(|e| {
            Ok(if e.downcast_ref::<HashTableLookupExpr>().is_some() {
                Transformed::yes(lit(true))
            } else {
                Transformed::no(e)
            })
        })?
        .data;
    expr.transform_up(|e| {
        let Some(case) = e.downcast_ref::<CaseExpr>() else {
            return Ok(Transformed::no(e));
        };
        let routed = case.expr().is_some_and(|r| {
            r.exists(|n| Ok(n.downcast_ref::<HashExpr>().is_some()))
                .unwrap_or(false)
        });
        if !routed {
            return Ok(Transformed::no(e));
        }
        let branches: Vec<Arc<dyn PhysicalExpr>> = case
            .when_then_expr()
            .iter()
            .map(|(_, t)| Arc::clone(t))
            .collect();
        if let Some(merged) = merged_in_list(&branches, schema) {
            return Ok(Transformed::yes(merged));
        }
        let any = branches
            .into_iter()
            .reduce(|a, b| Arc::new(BinaryExpr::new(a, Operator::Or, b)) as Arc<dyn PhysicalExpr>)
            .unwrap_or_else(|| lit(false));
        Ok(Transformed::yes(any))
    })
    .map(|t| t.data)
}

/// `key IN (l1 ∪ l2 ∪ …)` when every branch is a conjunction with exactly one non-negated `IN`
/// list of literals over the same `key` (its other conjuncts, the key's bounds, are then
/// dropped: a superset); `None` otherwise.
fn merged_in_list(
    branches: &[Arc<dyn PhysicalExpr>],
    schema: &Schema,
) -> Option<Arc<dyn PhysicalExpr>> {
    let mut key: Option<Arc<dyn PhysicalExpr>> = None;
    let mut values: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
    for b in branches {
        // Only a conjunct may be widened: an `IN` list under an `OR` is not the branch's
        // condition.
        let lists: Vec<_> = split_conjunction(b)
            .into_iter()
            .filter_map(|c| c.downcast_ref::<InListExpr>())
            .map(|l| (Arc::clone(l.expr()), l.negated(), l.list().to_vec()))
            .collect();
        let [(k, false, list)] = lists.as_slice() else {
            return None;
        };
        if !list.iter().all(|v| v.downcast_ref::<Literal>().is_some()) {
            return None;
        }
        match &key {
            Some(prev) if prev.as_ref() != k.as_ref() => return None,
            Some(_) => {}
            None => key = Some(Arc::clone(k)),
        }
        values.extend(list.iter().cloned());
    }
    let key = key?;
    InListExpr::try_new(key, values, false, schema)
        .ok()
        .map(|l| Arc::new(l) as Arc<dyn PhysicalExpr>)
}

/// One dynamic filter as a partition's stream applies it.
struct RuntimeFilter {
    expr: Arc<dyn PhysicalExpr>,
    /// Generation of `current`; a change means the filter was updated.
    generation: u64,
    /// The filter at `generation`; `None` when it is trivially true or judged not selective.
    current: Option<Arc<dyn PhysicalExpr>>,
    seen: usize,
    passed: usize,
}

impl RuntimeFilter {
    fn new(expr: Arc<dyn PhysicalExpr>) -> Self {
        Self {
            expr,
            generation: u64::MAX,
            current: None,
            seen: 0,
            passed: 0,
        }
    }

    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let generation = snapshot_generation(&self.expr);
        if generation != self.generation {
            self.generation = generation;
            let snap = cheap_form(
                snapshot_physical_expr(Arc::clone(&self.expr))?,
                batch.schema_ref(),
            )?;
            let trivial = snap
                .downcast_ref::<Literal>()
                .is_some_and(|l| l.value() == &ScalarValue::Boolean(Some(true)));
            self.current = (!trivial).then_some(snap);
            self.seen = 0;
            self.passed = 0;
        }
        let Some(expr) = &self.current else {
            return Ok(batch);
        };
        let mask = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        let Some(mask) = mask.as_any().downcast_ref::<BooleanArray>() else {
            return Ok(batch);
        };
        // A run-time filter only drops rows it proves useless: NULL keeps the row. (A join
        // whose keys compare NULL as equal, as INTERSECT's does, gets bounds that are NULL on
        // NULL keys.)
        let out = if mask.null_count() > 0 {
            filter_record_batch(&batch, &or_kleene(mask, &is_null(mask)?)?)?
        } else {
            filter_record_batch(&batch, mask)?
        };
        self.seen += batch.num_rows();
        self.passed += out.num_rows();
        if self.seen >= ADAPT_AFTER_ROWS
            && self.passed as f64 > KEEP_FILTER_BELOW * self.seen as f64
        {
            self.current = None;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::SessionContext;

    fn table(name: &str, keys: impl Iterator<Item = i64>) -> Arc<dyn TableProvider> {
        let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Int64, false)]));
        let keys: Vec<i64> = keys.collect();
        // Batches of 1,000 rows, so filtering and re-batching both happen.
        let batches = keys
            .chunks(1000)
            .map(|c| {
                RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(c.to_vec()))])
                    .unwrap()
            })
            .collect();
        Arc::new(MemTable::try_new(schema, vec![batches]).unwrap())
    }

    /// Runs `sql` over `big` (k = 0..200,000, metered) and `small` (`small_keys`); returns the
    /// single BIGINT answer and the plan after execution.
    async fn run(sql: &str, small_keys: &[i64]) -> (i64, Arc<dyn ExecutionPlan>, Arc<Counter>) {
        run_in(&SessionContext::new(), sql, small_keys).await
    }

    /// [`run`] in `ctx`.
    async fn run_in(
        ctx: &SessionContext,
        sql: &str,
        small_keys: &[i64],
    ) -> (i64, Arc<dyn ExecutionPlan>, Arc<Counter>) {
        let counter = Arc::new(Counter::default());
        let big = MeteredTable::new(table("k", 0..200_000), counter.clone());
        ctx.register_table("big", Arc::new(big)).unwrap();
        ctx.register_table("small", table("s", small_keys.iter().copied()))
            .unwrap();
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let out = collect(plan.clone(), ctx.task_ctx()).await.unwrap();
        let v = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        (v, plan, counter)
    }

    fn metered(plan: &Arc<dyn ExecutionPlan>) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        if plan.name() == "MeteredExec" {
            let dropped = plan
                .metrics()
                .and_then(|m| m.sum_by_name("runtime_filtered_rows"))
                .map_or(0, |v| v.as_usize());
            let shown = datafusion::physical_plan::displayable(plan.as_ref())
                .one_line()
                .to_string();
            found.push((shown, dropped));
        }
        for c in plan.children() {
            found.extend(metered(c));
        }
        found
    }

    #[tokio::test]
    async fn a_joins_build_keys_filter_the_probe_scan() {
        let (n, plan, counter) = run(
            "SELECT count(*) FROM big JOIN small ON big.k = small.s",
            &[70_000, 70_001, 70_500],
        )
        .await;
        assert_eq!(n, 3);
        // The scan still yields (and the source metrics count) every row…
        assert_eq!(counter.get().0, 200_000);
        // …but the join's key bounds and IN list drop all but the three matches first.
        let m = metered(&plan);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].0.contains("runtime_filters"), "{m:?}");
        assert_eq!(m[0].1, 200_000 - 3, "{m:?}");
    }

    #[tokio::test]
    async fn a_partitioned_joins_routed_filter_drops_the_same_rows() {
        // Both sides hash-partitioned: the join's filter routes each row by its key's hash to
        // its partition's IN list; merged into one list it must drop exactly the same rows.
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new()
                .with_target_partitions(2)
                .set_usize(
                    "datafusion.optimizer.hash_join_single_partition_threshold",
                    0,
                )
                .set_usize(
                    "datafusion.optimizer.hash_join_single_partition_threshold_rows",
                    0,
                ),
        );
        let keys = [5, 70_000, 70_001, 70_500, 199_999];
        let (n, plan, _) = run_in(
            &ctx,
            "SELECT count(*) FROM big JOIN small ON big.k = small.s",
            &keys,
        )
        .await;
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string();
        assert!(shown.contains("mode=Partitioned"), "{shown}");
        assert_eq!(n, 5);
        let m = metered(&plan);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].1, 200_000 - 5, "{m:?}");
    }

    #[test]
    fn routed_in_lists_merge_into_one() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
        ]);
        let col = |n: &str| {
            Arc::new(Column::new_with_schema(n, &schema).unwrap()) as Arc<dyn PhysicalExpr>
        };
        let list = |c: &str, vs: &[i64]| {
            Arc::new(
                InListExpr::try_new(col(c), vs.iter().map(|v| lit(*v)).collect(), false, &schema)
                    .unwrap(),
            ) as Arc<dyn PhysicalExpr>
        };
        let bounded = |c: &str, vs: &[i64]| {
            let lo = Arc::new(BinaryExpr::new(col(c), Operator::GtEq, lit(vs[0])));
            Arc::new(BinaryExpr::new(lo, Operator::And, list(c, vs))) as Arc<dyn PhysicalExpr>
        };
        let merged = merged_in_list(&[bounded("a", &[1, 5]), list("a", &[2, 7])], &schema)
            .expect("one key, one list per branch");
        let batch = RecordBatch::try_new(
            Arc::new(schema.clone()),
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(7),
                    None,
                ])),
                Arc::new(Int64Array::from(vec![0; 5])),
            ],
        )
        .unwrap();
        let mask = merged.evaluate(&batch).unwrap().into_array(5).unwrap();
        let mask = as_boolean_array(&mask).unwrap();
        let got: Vec<Option<bool>> = mask.iter().collect();
        assert_eq!(got, [Some(true), Some(true), Some(false), Some(true), None]);
        // Different keys, or a branch without a list (its hash probe became `true`): no merge.
        assert!(merged_in_list(&[list("a", &[1]), list("b", &[2])], &schema).is_none());
        assert!(merged_in_list(&[list("a", &[1]), lit(true)], &schema).is_none());
        // An `IN` list under an `OR` is not the branch's condition.
        let either = Arc::new(BinaryExpr::new(list("a", &[2]), Operator::Or, col("b")));
        assert!(merged_in_list(&[list("a", &[1]), either], &schema).is_none());
    }

    #[tokio::test]
    async fn static_filters_are_applied_exactly() {
        let (n, plan, _) = run(
            "SELECT count(*) FROM big WHERE k % 7 = 0 AND k < 150000",
            &[],
        )
        .await;
        assert_eq!(n, (0..150_000).filter(|k| k % 7 == 0).count() as i64);
        let m = metered(&plan);
        assert!(m[0].0.contains("filters=["), "{m:?}");
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string();
        assert!(!shown.contains("FilterExec"), "{shown}");
    }

    #[tokio::test]
    async fn conjuncts_short_circuit_in_order() {
        // k = 0 never reaches the division, as on Flink; in the other order it would fail.
        let (n, _, _) = run(
            "SELECT count(*) FROM big WHERE k <> 0 AND 100000 / k > 1",
            &[],
        )
        .await;
        assert_eq!(n, 50_000);
        let ctx = SessionContext::new();
        let big = MeteredTable::new(table("k", 0..10), Arc::new(Counter::default()));
        ctx.register_table("big", Arc::new(big)).unwrap();
        let err = ctx
            .sql("SELECT count(*) FROM big WHERE 100000 / k > 1 AND k <> 0")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Divide by zero"), "{err}");
    }

    #[tokio::test]
    async fn an_unselective_runtime_filter_keeps_every_match() {
        // Keys spread over the whole range: the bounds pass nearly everything, so the filter is
        // dropped after its trial; the answer must not change.
        let spread: Vec<i64> = (0..200_000).step_by(1000).collect();
        let (v, _, _) = run(
            "SELECT count(*) FROM big JOIN small ON big.k = small.s",
            &spread,
        )
        .await;
        assert_eq!(v, 200);
    }
}
