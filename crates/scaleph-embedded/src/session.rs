//! One script's session: the tables and views it declares and the plans of its statements.

use crate::config::EmbeddedConfig;
use crate::errors::plan_error;
use crate::functions;
use datafusion::arrow::compute::can_cast_types;
use datafusion::arrow::datatypes::{DataType, FieldRef, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{Cast, Expr, Limit, LogicalPlan, LogicalPlanBuilder, Sort};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{visit_relations, ObjectNamePart, Statement as SqlStatement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use scaleph_connectors::{connector_for, Connector, ConnectorContext, Counter, MeteredTable, Sink};
use scaleph_engine::{ColumnInfo, JobSettings, LogLevel};
use scaleph_sql::{
    FlinkType, InsertDef, Pos, QueryText, SqlError, SqlErrorKind, TableDef, ViewDef,
};
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

struct DeclaredTable {
    def: TableDef,
    connector: Box<dyn Connector>,
    source: Option<Arc<Counter>>,
}

/// Where a sink column's values come from.
#[derive(Debug, Clone)]
pub(crate) enum ColumnSource {
    /// Column `i` of the query, cast to the sink column's type.
    Query(usize),
    /// A constant (static partition value, or NULL for columns the INSERT does not list).
    Const(ScalarValue),
}

/// A planned `INSERT`: the query plan, how its columns map onto the sink, and the sink.
///
/// The mapping is applied to batches rather than as a projection on top of the plan, so a
/// top-level `ORDER BY` stays the plan's root and DataFusion keeps it.
pub(crate) struct PlannedInsert {
    pub(crate) target: String,
    /// Position of the target's name.
    pub(crate) pos: Pos,
    /// The query, for positions of streaming refusals.
    pub(crate) query: QueryText,
    pub(crate) plan: LogicalPlan,
    pub(crate) mapping: Vec<ColumnSource>,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) overwrite: bool,
    pub(crate) counter: Arc<Counter>,
}

/// Flink configuration keys the embedded engine acts on.
const KNOWN_OPTIONS: [&str; 15] = [
    "execution.state-recovery.ignore-unclaimed-state",
    "execution.checkpointing.interval",
    "execution.checkpointing.dir",
    "state.checkpoints.dir",
    "execution.checkpointing.num-retained",
    "execution.state-recovery.path",
    "execution.checkpointing.mode",
    "parallelism.default",
    "table.dml-sync",
    "execution.runtime-mode",
    "table.local-time-zone",
    "pipeline.auto-watermark-interval",
    "table.exec.state.ttl",
    "table.exec.source.idle-timeout",
    "table.optimizer.join-reorder-enabled",
];

pub(crate) struct ScriptSession {
    pub(crate) ctx: SessionContext,
    tables: HashMap<String, DeclaredTable>,
    views: Vec<String>,
    /// Tables that an INSERT earlier in the script writes.
    written: std::collections::HashSet<String>,
    pub(crate) options: BTreeMap<String, String>,
    /// Notes for the run log (ignored options and the like).
    pub(crate) notes: Vec<(LogLevel, String)>,
    connectors: ConnectorContext,
    limits: crate::config::Limits,
    /// Batch sessions reorder inner joins ([`crate::join_order`]); streaming ones do not.
    join_reorder: Arc<AtomicBool>,
}

impl ScriptSession {
    /// A session with `cfg`'s limits, its own memory pool, and `settings` applied.
    ///
    /// # Errors
    /// Settings beyond the limits (e.g. parallelism), at 1:1.
    pub(crate) fn new(cfg: &EmbeddedConfig, settings: &JobSettings) -> Result<Self, SqlError> {
        let at = Pos::new(1, 1);
        let env = cfg
            .limits
            .runtime_env()
            .map_err(|e| SqlError::invalid(at, e.to_string()))?;
        let ctx = SessionContext::new_with_config_rt(
            SessionConfig::new().with_information_schema(false),
            env,
        );
        let ctx = functions::with_flink_rules(ctx);
        let join_reorder = Arc::new(AtomicBool::new(false));
        let ctx = crate::join_order::with_join_reorder(ctx, join_reorder.clone());
        let ctx = SessionContext::new_with_state(
            datafusion::execution::session_state::SessionStateBuilder::new_from_existing(
                ctx.state(),
            )
            .with_physical_optimizer_rule(Arc::new(crate::case_select::CaseSelectRule))
            .build(),
        );
        functions::register(&ctx);
        crate::windows::register(&ctx);
        crate::growth::register(&ctx, cfg.limits.query_memory_bytes);
        let mut s = Self {
            ctx,
            tables: HashMap::new(),
            views: Vec::new(),
            written: Default::default(),
            options: BTreeMap::new(),
            notes: Vec::new(),
            connectors: cfg.connectors.clone(),
            limits: cfg.limits.clone(),
            join_reorder,
        };
        if let Some(p) = settings.parallelism {
            s.check_parallelism(&p.to_string(), at, "job setting parallelism")?;
            s.options
                .insert("parallelism.default".into(), p.to_string());
        }
        for (k, v) in &settings.options {
            if k == "parallelism.default" {
                s.check_parallelism(v, at, "job option 'parallelism.default'")?;
            }
            s.options.insert(k.clone(), v.clone());
        }
        s.apply_options();
        Ok(s)
    }

    /// `value` must be an integer in `1..=max_parallelism`; the error is at `pos`.
    fn check_parallelism(&self, value: &str, pos: Pos, what: &str) -> Result<(), SqlError> {
        self.limits
            .check_parallelism(what, value)
            .map(|_| ())
            .map_err(|m| SqlError::invalid(pos, m))
    }

    /// Applies the options DataFusion acts on to the live context.
    fn apply_options(&mut self) {
        let parallelism = self
            .options
            .get("parallelism.default")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .map(|p| p.min(self.limits.max_parallelism))
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            });
        let state = self.ctx.state_ref();
        let mut state = state.write();
        let opts = state.config_mut().options_mut();
        // Streaming reads each source in order, in one partition (watermarks depend on it).
        opts.execution.target_partitions = if self.streaming() { 1 } else { parallelism };
        let reorder = self
            .options
            .get("table.optimizer.join-reorder-enabled")
            .is_none_or(|v| v != "false");
        self.join_reorder.store(
            reorder && !self.streaming(),
            std::sync::atomic::Ordering::Relaxed,
        );
        opts.sql_parser.enable_ident_normalization = false;
        opts.sql_parser.collect_spans = true;
        // `2.5` is DECIMAL(2, 1) in Flink, not DOUBLE.
        opts.sql_parser.parse_float_as_decimal = true;
        // Flink (Calcite's NullCollation.LOW): NULL is the smallest value, first in ascending
        // order and last in descending order, in ORDER BY, OVER and Top-N alike.
        opts.sql_parser.default_null_ordering = "nulls_min".to_string();
        opts.execution.time_zone = self.options.get("table.local-time-zone").cloned();
        // DataFusion 54 builds the MIN/MAX filter from the aggregates over plain columns only
        // and drops the others (`MAX(a), MIN(a * b)` gets `a > max`), which would lose the
        // rows `MIN(a * b)` needs once a scan applies it row by row.
        opts.optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    }

    /// `SET 'key' = 'value'`.
    pub(crate) fn set(&mut self, key: &str, value: &str, pos: Pos) -> Result<(), SqlError> {
        match key {
            "parallelism.default" => self.check_parallelism(value, pos, "'parallelism.default'")?,
            "execution.runtime-mode"
                if !["streaming", "batch", "automatic"]
                    .iter()
                    .any(|m| value.eq_ignore_ascii_case(m)) =>
            {
                return Err(SqlError::invalid(
                    pos,
                    format!("'execution.runtime-mode' must be streaming, batch or automatic, found '{value}'"),
                ));
            }
            "pipeline.auto-watermark-interval"
                if crate::config::parse_duration(value).is_none() =>
            {
                return Err(SqlError::invalid(pos, format!("'pipeline.auto-watermark-interval' must be a duration such as '200 ms', found '{value}'")));
            }
            "execution.checkpointing.interval"
                if crate::config::parse_duration(value).is_none() =>
            {
                return Err(SqlError::invalid(pos, format!("'execution.checkpointing.interval' must be a duration such as '10 s', found '{value}'")));
            }
            // Flink's `CheckpointConfig.MINIMAL_CHECKPOINT_TIME`; 0 turns checkpointing off.
            "execution.checkpointing.interval"
                if crate::config::parse_duration(value)
                    .is_some_and(|d| !d.is_zero() && d.as_millis() < 10) =>
            {
                return Err(SqlError::invalid(pos, format!("Checkpoint interval must be larger than or equal to 10 ms, found '{value}'")));
            }
            "execution.checkpointing.num-retained"
                if !value.trim().parse::<usize>().is_ok_and(|n| n > 0) =>
            {
                return Err(SqlError::invalid(pos, format!("'execution.checkpointing.num-retained' must be a positive integer, found '{value}'")));
            }
            "execution.checkpointing.mode"
                if !["EXACTLY_ONCE", "AT_LEAST_ONCE"].contains(&value.trim()) =>
            {
                return Err(SqlError::invalid(pos, format!("'execution.checkpointing.mode' must be EXACTLY_ONCE or AT_LEAST_ONCE, found '{value}'")));
            }
            "execution.checkpointing.dir" | "state.checkpoints.dir" => {
                self.checked_path(value, scaleph_connectors::access::Use::Write, pos)?;
            }
            "execution.state-recovery.path" => {
                self.checked_path(value, scaleph_connectors::access::Use::Read, pos)?;
            }
            "table.dml-sync" | "table.optimizer.join-reorder-enabled"
                if !matches!(value, "true" | "false") =>
            {
                return Err(SqlError::invalid(
                    pos,
                    format!("'{key}' must be true or false, found '{value}'"),
                ));
            }
            k if !KNOWN_OPTIONS.contains(&k) => self.notes.push((
                LogLevel::Info,
                format!("option '{k}' has no effect on the embedded engine"),
            )),
            _ => {}
        }
        self.options.insert(key.to_string(), value.to_string());
        if matches!(
            key,
            "parallelism.default"
                | "table.local-time-zone"
                | "execution.runtime-mode"
                | "table.optimizer.join-reorder-enabled"
        ) {
            self.apply_options();
        }
        Ok(())
    }

    pub(crate) fn reset(&mut self, key: Option<&str>) {
        match key {
            Some(k) => {
                self.options.remove(k);
            }
            None => self.options.clear(),
        }
        self.apply_options();
    }

    pub(crate) fn dml_sync(&self) -> bool {
        self.options
            .get("table.dml-sync")
            .is_some_and(|v| v == "true")
    }

    fn exists(&self, name: &str) -> bool {
        self.tables.contains_key(name) || self.views.iter().any(|v| v == name)
    }

    /// `CREATE TABLE`: validates the connector options now; the source is opened on first use.
    pub(crate) fn create_table(&mut self, def: &TableDef) -> Result<(), SqlError> {
        if self.exists(&def.name) {
            if def.if_not_exists {
                return Ok(());
            }
            return Err(SqlError::invalid(
                def.pos,
                format!("table `{}` already exists", def.name),
            ));
        }
        let connector = connector_for(def, &self.connectors)?;
        self.tables.insert(
            def.name.clone(),
            DeclaredTable {
                def: def.clone(),
                connector,
                source: None,
            },
        );
        Ok(())
    }

    /// `CREATE VIEW`.
    pub(crate) async fn create_view(&mut self, v: &ViewDef) -> Result<(), SqlError> {
        if self.exists(&v.name) {
            if v.if_not_exists {
                return Ok(());
            }
            return Err(SqlError::invalid(
                v.pos,
                format!("view `{}` already exists", v.name),
            ));
        }
        let mut plan = self.plan_query(&v.query).await?;
        if let Some(cols) = &v.columns {
            if cols.len() != plan.schema().fields().len() {
                return Err(SqlError::invalid(
                    v.pos,
                    format!(
                        "view `{}` lists {} columns but its query returns {}",
                        v.name,
                        cols.len(),
                        plan.schema().fields().len()
                    ),
                ));
            }
            let exprs: Vec<Expr> = plan
                .schema()
                .columns()
                .into_iter()
                .zip(cols)
                .map(|(c, n)| Expr::Column(c).alias(n))
                .collect();
            plan = LogicalPlanBuilder::from(plan)
                .project(exprs)
                .and_then(|b| b.build())
                .map_err(|e| plan_error(e, &v.query))?;
        }
        self.ctx
            .register_table(
                v.name.as_str(),
                Arc::new(ViewTable::new(plan, Some(v.query.sql.clone()))),
            )
            .map_err(|e| plan_error(e, &v.query))?;
        self.views.push(v.name.clone());
        Ok(())
    }

    /// Opens the sources of declared tables that `stmt` reads and are not open yet. A table
    /// with computed columns is its connector's table (registered under an internal name)
    /// under a projection that adds them in declared order.
    async fn open_sources(&mut self, stmt: &SqlStatement) -> Result<(), SqlError> {
        let mut names = Vec::new();
        let _ = visit_relations(stmt, |r| {
            if let Some(ObjectNamePart::Identifier(id)) = r.0.last() {
                names.push(id.value.clone());
            }
            ControlFlow::<()>::Continue(())
        });
        let streaming = self.streaming();
        for n in names {
            let Some(t) = self.tables.get_mut(&n) else {
                continue;
            };
            if t.source.is_some() {
                continue;
            }
            let opened = if streaming {
                t.connector.source()
            } else {
                t.connector.batch_source()
            };
            let provider = match opened {
                Ok(p) => p,
                // Written earlier in this script but not there yet (validation, or output not
                // published before the end of the run): read as empty.
                Err(e) if self.written.contains(&n) && e.kind != SqlErrorKind::Unsupported => {
                    Arc::new(EmptyTable::new(Arc::new(t.def.arrow_schema())))
                        as Arc<dyn TableProvider>
                }
                Err(e) => return Err(e),
            };
            let bounded = t.connector.bounded();
            if !streaming && !bounded {
                return Err(SqlError::invalid(
                    t.def.pos,
                    format!("Querying an unbounded table `{n}` in batch mode is not allowed. The table source is unbounded (set 'execution.runtime-mode' = 'streaming')"),
                ));
            }
            let counter = Arc::new(Counter::default());
            let metered = Arc::new(MeteredTable::new(provider, counter.clone()));
            t.source = Some(counter);
            let def = t.def.clone();
            // Streaming: the connector's table is read by the streaming engine under an
            // internal name; the planner sees a `StreamTable`.
            let name = if streaming {
                format!("__scaleph_stream_{n}")
            } else {
                n.clone()
            };
            if def.computed.is_empty() {
                self.ctx
                    .register_table(name.as_str(), metered)
                    .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?;
            } else {
                self.register_computed(&def, metered, &name).await?;
            }
            if streaming {
                self.register_stream(&def, &name).await?;
            }
        }
        Ok(())
    }

    /// Registers `def.name` as a [`StreamTable`] reading `inner` (with the watermark
    /// expression as a last column when `def` declares one).
    async fn register_stream(&mut self, def: &TableDef, inner: &str) -> Result<(), SqlError> {
        // Without a watermark, a `PROCTIME()` column is the time attribute: its value is the
        // watermark (the wall clock).
        let proctime = if def.watermark.is_none() {
            def.computed.iter().find(|c| {
                let e: String = c.expr.sql.split_whitespace().collect();
                e.eq_ignore_ascii_case("PROCTIME()")
            })
        } else {
            None
        };
        let (text, pos) = match (&def.watermark, proctime) {
            (Some(w), _) => (
                format!("SELECT *, ({}) AS `__scaleph_wm` FROM `{inner}`", w.expr),
                w.pos,
            ),
            (None, Some(p)) => (
                format!("SELECT *, `{}` AS `__scaleph_wm` FROM `{inner}`", p.name),
                p.pos,
            ),
            (None, None) => (format!("SELECT * FROM `{inner}`"), def.pos),
        };
        let marked = def.watermark.is_some() || proctime.is_some();
        let q = QueryText { sql: text, pos };
        let text = functions::flink_syntax(&q.sql);
        let stmt = Parser::new(&GenericDialect {})
            .try_with_sql(&text)
            .and_then(|mut p| p.parse_statement())
            .map_err(|e| SqlError::invalid(pos, format!("watermark of `{}`: {e}", def.name)))?;
        let plan = self.plan_rewritten(stmt, pos).await?.map_err(|e| {
            SqlError::invalid(
                pos,
                format!("watermark of `{}`: {}", def.name, e.strip_backtrace()),
            )
        })?;
        let all = plan.schema().as_arrow().clone();
        let width = all.fields().len() - usize::from(marked);
        let schema = Arc::new(
            all.project(&(0..width).collect::<Vec<_>>())
                .map_err(|e| SqlError::invalid(pos, e.to_string()))?,
        );
        let rowtime = match &def.watermark {
            Some(w) => {
                let i = schema.index_of(&w.column).map_err(|_| {
                    SqlError::invalid(
                        w.pos,
                        format!(
                            "watermark column `{}` is not a column of `{}`",
                            w.column, def.name
                        ),
                    )
                })?;
                let wm_type = all.field(width).data_type();
                if !matches!(
                    wm_type,
                    datafusion::arrow::datatypes::DataType::Timestamp(..)
                ) {
                    return Err(SqlError::invalid(w.pos, format!("the watermark of `{}` must be a TIMESTAMP(3) or TIMESTAMP_LTZ(3), found {}", def.name, FlinkType::from_arrow(wm_type).map(|t| t.to_string()).unwrap_or_else(|| wm_type.to_string()))));
                }
                Some(i)
            }
            None => match proctime {
                Some(p) => Some(
                    schema
                        .index_of(&p.name)
                        .map_err(|e| SqlError::invalid(p.pos, e.to_string()))?,
                ),
                None => None,
            },
        };
        let table = crate::stream::plan::StreamTable {
            name: def.name.clone(),
            schema,
            plan,
            rowtime,
            proctime: proctime.is_some(),
        };
        self.ctx
            .register_table(def.name.as_str(), Arc::new(table))
            .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?;
        Ok(())
    }

    /// `execution.runtime-mode` is `streaming` (Flink's default, also when unset) or
    /// `automatic` (run as streaming: a streaming run of bounded sources finishes too); `batch`
    /// runs the batch engine.
    pub(crate) fn streaming(&self) -> bool {
        !self
            .options
            .get("execution.runtime-mode")
            .is_some_and(|v| v.eq_ignore_ascii_case("batch"))
    }

    /// A local path a script names (`file://` or plain), checked against the file-access
    /// policy.
    fn checked_path(
        &self,
        value: &str,
        usage: scaleph_connectors::access::Use,
        pos: Pos,
    ) -> Result<std::path::PathBuf, SqlError> {
        let v = value.trim();
        let local = v.strip_prefix("file://").unwrap_or(v);
        if local.contains("://") {
            return Err(SqlError::unsupported(
                pos,
                format!("checkpoint storage '{v}' (only local paths and file://)"),
            ));
        }
        self.connectors
            .files
            .check(local, usage)
            .map_err(|e| SqlError::invalid(pos, e.to_string()))
    }

    /// Checkpointing of streaming statement `k` of `n`: `None` without
    /// `execution.checkpointing.interval`. Checkpoints go to `base` (the server's directory of
    /// the instance), else to `execution.checkpointing.dir`/`<job id>`, else stay in memory;
    /// with several statements each has `stmt-<k>` under it. The restore source is
    /// `execution.state-recovery.path` (a `chk-<n>` directory, or a directory of them), else
    /// with `resume` the latest checkpoint under the statement's directory.
    ///
    /// # Errors
    /// A recovery path without a checkpoint; an unreadable manifest.
    pub(crate) fn checkpointing(
        &self,
        k: usize,
        n: usize,
        spec: &scaleph_engine::JobSpec,
        job_id: &str,
    ) -> Result<Option<crate::stream::exec::Checkpointing>, scaleph_engine::EngineError> {
        let (base, resume) = (spec.checkpoint_dir.as_deref(), spec.resume);
        use crate::stream::checkpoint::{self, CheckpointConfig};
        let interval = self
            .options
            .get("execution.checkpointing.interval")
            .and_then(|v| crate::config::parse_duration(v))
            .filter(|d| !d.is_zero());
        let recovery = spec
            .restore_from
            .as_ref()
            .map(|p| p.to_string_lossy().to_string())
            .or_else(|| self.options.get("execution.state-recovery.path").cloned());
        let recovery = recovery.as_deref();
        // Restoring without checkpointing: no periodic checkpoint (a year between them).
        let Some(interval) =
            interval.or(recovery.map(|_| std::time::Duration::from_secs(365 * 86_400)))
        else {
            return Ok(None);
        };
        let root = base.map(std::path::Path::to_path_buf).or_else(|| {
            self.options
                .get("execution.checkpointing.dir")
                .or(self.options.get("state.checkpoints.dir"))
                .map(|d| {
                    let d = d.trim();
                    std::path::PathBuf::from(d.strip_prefix("file://").unwrap_or(d)).join(job_id)
                })
        });
        let dir = root.map(|r| {
            if n > 1 {
                r.join(format!("stmt-{k}"))
            } else {
                r
            }
        });
        let fail = |m: String| scaleph_engine::EngineError::Execution(m);
        let restore = match recovery {
            Some(p) => {
                let p =
                    std::path::PathBuf::from(p.trim().strip_prefix("file://").unwrap_or(p.trim()));
                let found = if p.join(checkpoint::MANIFEST).is_file() {
                    (n == 1).then_some(p.clone())
                } else {
                    checkpoint::latest(&p)
                        .or_else(|| checkpoint::latest(&p.join(format!("stmt-{k}"))))
                };
                Some(found.ok_or_else(|| {
                    fail(format!(
                        "execution.state-recovery.path: no completed checkpoint for statement {} at '{}'",
                        k + 1,
                        p.display()
                    ))
                })?)
            }
            None if resume => dir.as_deref().and_then(checkpoint::latest),
            None => None,
        };
        let restored = match restore {
            Some(chk) => {
                let m = checkpoint::read_manifest(&chk).map_err(|e| fail(e.to_string()))?;
                Some((chk, m))
            }
            None => None,
        };
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).map_err(|e| {
                fail(format!(
                    "cannot create the checkpoint directory '{}': {e}",
                    d.display()
                ))
            })?;
        }
        let retained = self
            .options
            .get("execution.checkpointing.num-retained")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        Ok(Some(crate::stream::exec::Checkpointing {
            cfg: CheckpointConfig {
                interval,
                dir,
                retained,
            },
            restored,
            allow_non_restored_state: spec.allow_non_restored_state
                || self
                    .options
                    .get("execution.state-recovery.ignore-unclaimed-state")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        }))
    }

    /// Whether streaming statements take checkpoints (or restore one).
    pub(crate) fn checkpointing_enabled(&self) -> bool {
        self.options
            .get("execution.checkpointing.interval")
            .and_then(|v| crate::config::parse_duration(v))
            .is_some_and(|d| !d.is_zero())
            || self.options.contains_key("execution.state-recovery.path")
    }

    /// `pipeline.auto-watermark-interval` (Flink's default 200 ms).
    pub(crate) fn watermark_interval(&self) -> std::time::Duration {
        self.options
            .get("pipeline.auto-watermark-interval")
            .and_then(|v| crate::config::parse_duration(v))
            .unwrap_or(std::time::Duration::from_millis(200))
    }

    /// `table.exec.state.ttl` (Flink's default 0: state is kept forever → `None`).
    pub(crate) fn state_ttl(&self) -> Option<std::time::Duration> {
        self.options
            .get("table.exec.state.ttl")
            .and_then(|v| crate::config::parse_duration(v))
            .filter(|d| !d.is_zero())
    }

    /// The streaming dataflow of `plan` (a query of this session), checked for what streaming
    /// execution runs.
    ///
    /// # Errors
    /// Unsupported constructs, at their position in `q`.
    pub(crate) fn dataflow(
        &self,
        plan: &LogicalPlan,
        q: &QueryText,
    ) -> Result<crate::stream::plan::Dataflow, SqlError> {
        let state = self.ctx.state();
        let analyzed = state
            .analyzer()
            .execute_and_check(plan.clone(), state.config_options(), |_, _| {})
            .map_err(|e| plan_error(e, q))?;
        // `IN` / `EXISTS` / scalar subqueries become semi, anti and outer joins (Flink's
        // streaming plan does the same); filters move below joins, aggregates and projections
        // where that keeps the result (as Flink's `FilterIntoJoin` and related rules do), so a
        // join keeps only the rows that can reach its output; unread columns are pruned.
        // Sources take no filters: watermarks come from every row a source reads.
        let mut rules: Vec<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> = vec![
            Arc::new(datafusion::optimizer::decorrelate_predicate_subquery::DecorrelatePredicateSubquery::new()),
            Arc::new(datafusion::optimizer::scalar_subquery_to_join::ScalarSubqueryToJoin::new()),
        ];
        // Columns nothing reads are dropped where they enter (a HOP window copies every column
        // it carries once per window). Not with SESSION windows: the rule merges projections,
        // and a session's partition keys must stay columns.
        use datafusion::common::tree_node::TreeNode;
        let session = analyzed
            .exists(|n| {
                Ok(n.expressions().iter().any(|e| {
                    e.exists(|x| {
                        Ok(matches!(x, datafusion::prelude::Expr::ScalarFunction(f)
                            if f.name() == crate::windows::SESSION_END))
                    })
                    .unwrap_or(false)
                }))
            })
            .unwrap_or(true);
        if !session {
            // Not with SESSION windows either: a filter below one changes how sessions merge.
            rules.push(Arc::new(
                datafusion::optimizer::push_down_filter::PushDownFilter::new(),
            ));
            rules.push(Arc::new(
                datafusion::optimizer::optimize_projections::OptimizeProjections::new(),
            ));
        }
        let mut options = state.config_options().as_ref().clone();
        options
            .optimizer
            .enable_physical_uncorrelated_scalar_subquery = false;
        let context =
            datafusion::optimizer::OptimizerContext::new_with_config_options(Arc::new(options))
                .with_skip_failing_rules(false);
        let decorrelated = datafusion::optimizer::Optimizer::with_rules(rules)
            .optimize(analyzed, &context, |_, _| {})
            .map_err(|e| plan_error(e, q))?;
        crate::stream::plan::Translator::new(&state, q)
            .with_state_ttl(self.state_ttl())
            .with_idle_timeout(
                self.options
                    .get("table.exec.source.idle-timeout")
                    .and_then(|v| crate::config::parse_duration(v))
                    .filter(|d| !d.is_zero()),
            )
            .translate(&decorrelated)
    }

    /// Plans an internal statement over user expressions (computed columns, watermarks): its
    /// depth checked against the limit (an error at `pos`), Flink's functions rewritten. The
    /// planner's own error is left to the caller to word.
    async fn plan_rewritten(
        &self,
        mut stmt: SqlStatement,
        pos: Pos,
    ) -> Result<datafusion::error::Result<LogicalPlan>, SqlError> {
        crate::config::check_depth(&stmt, self.limits.max_expression_depth, pos)?;
        functions::rewrite(&mut stmt);
        Ok(self
            .ctx
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
            .await)
    }

    /// Registers `def`'s connector table as `__scaleph_physical_<name>` and `def.name` as the
    /// projection of its columns and computed columns in declared order (Flink: a computed
    /// column is an expression over the physical columns, evaluated when the table is read).
    async fn register_computed(
        &mut self,
        def: &TableDef,
        physical: Arc<dyn TableProvider>,
        name: &str,
    ) -> Result<(), SqlError> {
        use datafusion::sql::sqlparser::ast::{Ident, SelectItem, SetExpr};
        let raw = format!("__scaleph_physical_{}", def.name);
        self.ctx
            .register_table(raw.as_str(), physical)
            .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?;
        let quoted = |s: &str| Ident::with_quote('`', s);
        let mut items = Vec::new();
        let mut computed = def.computed.iter().peekable();
        let push_computed = |items: &mut Vec<SelectItem>, cc: &scaleph_sql::ComputedColumn| {
            functions::check_unsupported(&cc.expr, false)?;
            let text = functions::flink_syntax(&cc.expr.padded());
            let expr = Parser::new(&GenericDialect {})
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| {
                    let msg = e.to_string();
                    let pos = crate::errors::parser_pos(&msg).unwrap_or(cc.expr.pos);
                    SqlError::syntax(pos, format!("computed column `{}`: {msg}", cc.name))
                })?;
            items.push(SelectItem::ExprWithAlias {
                expr,
                alias: quoted(&cc.name),
            });
            Ok::<(), SqlError>(())
        };
        for (i, col) in def.columns.iter().enumerate() {
            while let Some(cc) = computed.next_if(|cc| cc.after == i) {
                push_computed(&mut items, cc)?;
            }
            items.push(SelectItem::UnnamedExpr(
                datafusion::sql::sqlparser::ast::Expr::Identifier(quoted(&col.name)),
            ));
        }
        for cc in computed {
            push_computed(&mut items, cc)?;
        }
        let mut stmt = Parser::new(&GenericDialect {})
            .try_with_sql(&format!("SELECT * FROM `{raw}`"))
            .and_then(|mut p| p.parse_statement())
            .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?;
        if let SqlStatement::Query(q) = &mut stmt {
            if let SetExpr::Select(sel) = q.body.as_mut() {
                sel.projection = items;
            }
        }
        let first = &def.computed[0].expr;
        let plan = self
            .plan_rewritten(stmt, first.pos)
            .await?
            .map_err(|e| plan_error(e, first))?;
        self.ctx
            .register_table(name, Arc::new(ViewTable::new(plan, None)))
            .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?;
        Ok(())
    }

    /// Parses, checks and plans a query fragment.
    pub(crate) async fn plan_query(&mut self, q: &QueryText) -> Result<LogicalPlan, SqlError> {
        functions::check_unsupported(q, self.streaming())?;
        let text = functions::flink_syntax(&q.padded());
        let mut stmts = Parser::new(&GenericDialect {})
            .try_with_sql(&text)
            .and_then(|mut p| p.parse_statements())
            .map_err(|e| {
                let msg = e.to_string();
                let pos = crate::errors::parser_pos(&msg).unwrap_or(q.pos);
                let msg = msg.strip_prefix("sql parser error: ").unwrap_or(&msg);
                let msg = msg.rsplit_once(" at Line: ").map(|(a, _)| a).unwrap_or(msg);
                SqlError::syntax(pos, msg.to_string())
            })?;
        if stmts.len() != 1 || !matches!(stmts[0], SqlStatement::Query(_)) {
            return Err(SqlError::invalid(q.pos, "expected a single query"));
        }
        let mut stmt = stmts.remove(0);
        crate::windows::rewrite(&mut stmt, q.pos, self.streaming())?;
        crate::config::check_depth(&stmt, self.limits.max_expression_depth, q.pos)?;
        crate::support::rewrite_select_list_exists(&mut stmt);
        crate::support::group_ids(&mut stmt, q.pos)?;
        crate::support::check_query(&stmt, q.pos)?;
        self.open_sources(&stmt).await?;
        crate::lateral::rewrite(&mut stmt);
        functions::rewrite(&mut stmt);
        crate::naming::name_select_items(&mut stmt);
        let plan = self
            .ctx
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
            .await
            .map_err(|e| plan_error(e, q))?;
        strings_out(plan).map_err(|e| plan_error(e, q))
    }

    /// Plans an `INSERT`: the query cast by position to the target's columns (Flink's rule),
    /// static partition values filled in, unlisted columns NULL.
    pub(crate) async fn plan_insert(&mut self, ins: &InsertDef) -> Result<PlannedInsert, SqlError> {
        if self.views.contains(&ins.target) {
            return Err(SqlError::invalid(
                ins.target_pos,
                format!("`{}` is a view; INSERT needs a table", ins.target),
            ));
        }
        let Some(t) = self.tables.get(&ins.target) else {
            return Err(SqlError::invalid(
                ins.target_pos,
                format!("table `{}` does not exist", ins.target),
            ));
        };
        let def = t.def.clone();
        let sink = t.connector.sink()?;
        self.written.insert(def.name.clone());
        for (k, _) in &ins.static_partition {
            if !def.partitioned_by.contains(k) {
                return Err(SqlError::invalid(
                    ins.target_pos,
                    format!("`{k}` is not a partition column of `{}`", def.name),
                ));
            }
        }
        let targets: Vec<String> = match &ins.columns {
            Some(cols) => {
                for c in cols {
                    if def.column_index(c).is_none() {
                        return Err(SqlError::invalid(
                            ins.target_pos,
                            format!("`{c}` is not a column of `{}`", def.name),
                        ));
                    }
                }
                cols.clone()
            }
            None => def
                .columns
                .iter()
                .filter(|c| !ins.static_partition.iter().any(|(k, _)| *k == c.name))
                .map(|c| c.name.clone())
                .collect(),
        };
        let plan = self.plan_query(&ins.query).await?;
        let produced = plan.schema().fields().len();
        if produced != targets.len() {
            return Err(SqlError::invalid(
                ins.query.pos,
                format!(
                    "INSERT INTO `{}`: the query returns {produced} columns but {} are expected ({})",
                    def.name,
                    targets.len(),
                    targets.join(", ")
                ),
            ));
        }
        let fields = plan.schema().fields().clone();
        let mut mapping = Vec::with_capacity(def.columns.len());
        for c in &def.columns {
            let dt = c.data_type.to_arrow();
            let src = if let Some(i) = targets.iter().position(|t| *t == c.name) {
                let from = fields[i].data_type();
                if !can_cast_types(from, &dt) {
                    return Err(SqlError::invalid(
                        ins.query.pos,
                        format!("INSERT INTO `{}`: column {} of the query has type {} which cannot be cast to {} of column `{}`",
                            def.name, i + 1, FlinkType::from_arrow(from).map(|t| t.to_string()).unwrap_or_else(|| from.to_string()), c.data_type, c.name),
                    ));
                }
                ColumnSource::Query(i)
            } else if let Some((_, v)) = ins.static_partition.iter().find(|(k, _)| *k == c.name) {
                let value = ScalarValue::Utf8(Some(v.clone()))
                    .cast_to(&dt)
                    .map_err(|_| {
                        SqlError::invalid(
                            ins.target_pos,
                            format!(
                                "partition value '{v}' is not a valid {} for `{}`",
                                c.data_type, c.name
                            ),
                        )
                    })?;
                ColumnSource::Const(value)
            } else {
                ColumnSource::Const(ScalarValue::try_from(&dt).unwrap_or(ScalarValue::Null))
            };
            mapping.push(src);
        }
        Ok(PlannedInsert {
            target: def.name.clone(),
            pos: ins.target_pos,
            query: ins.query.clone(),
            plan,
            mapping,
            sink,
            overwrite: ins.overwrite,
            counter: Arc::new(Counter::default()),
        })
    }

    /// Source counters of the tables opened so far, by name.
    pub(crate) fn source_counters(&self) -> Vec<(String, Arc<Counter>)> {
        let mut v: Vec<_> = self
            .tables
            .iter()
            .filter_map(|(n, t)| t.source.clone().map(|c| (n.clone(), c)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Declared tables and their columns, for the validation report.
    pub(crate) fn table_columns(&self) -> BTreeMap<String, Vec<ColumnInfo>> {
        self.tables
            .iter()
            .map(|(n, t)| {
                let cols = t
                    .def
                    .columns
                    .iter()
                    .map(|c| ColumnInfo {
                        name: c.name.clone(),
                        data_type: c.data_type.to_string(),
                        nullable: c.nullable,
                    })
                    .collect();
                (n.clone(), cols)
            })
            .collect()
    }
}

/// The columns of a schema in Flink's type vocabulary.
pub(crate) fn columns_of(schema: &SchemaRef) -> Vec<ColumnInfo> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            data_type: FlinkType::from_arrow(f.data_type())
                .map(|t| t.to_string())
                .unwrap_or_else(|| f.data_type().to_string()),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// `plan` with its `Utf8View` output columns (batch reads of parquet strings) cast to `Utf8`,
/// the engine's STRING at every output (results, sinks, views' schemas); nested types too.
/// Unchanged when no output column holds a view; a final ORDER BY and LIMIT stay on top.
fn strings_out(plan: LogicalPlan) -> datafusion::error::Result<LogicalPlan> {
    fn plain(dt: &DataType) -> DataType {
        match dt {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            DataType::List(f) => DataType::List(plain_field(f)),
            DataType::LargeList(f) => DataType::LargeList(plain_field(f)),
            DataType::FixedSizeList(f, n) => DataType::FixedSizeList(plain_field(f), *n),
            DataType::Map(f, sorted) => DataType::Map(plain_field(f), *sorted),
            DataType::Struct(fs) => DataType::Struct(fs.iter().map(plain_field).collect()),
            other => other.clone(),
        }
    }
    fn plain_field(f: &FieldRef) -> FieldRef {
        Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type())))
    }
    let schema = plan.schema().clone();
    if schema
        .fields()
        .iter()
        .all(|f| plain(f.data_type()) == *f.data_type())
    {
        return Ok(plan);
    }
    // Below a final ORDER BY / LIMIT: a projection above a sort may be parallelised by
    // DataFusion's physical optimizer, which then drops the sort as no longer required.
    match plan {
        LogicalPlan::Sort(s) => {
            return Ok(LogicalPlan::Sort(Sort {
                input: Arc::new(strings_out(Arc::unwrap_or_clone(s.input))?),
                ..s
            }))
        }
        LogicalPlan::Limit(l) => {
            return Ok(LogicalPlan::Limit(Limit {
                input: Arc::new(strings_out(Arc::unwrap_or_clone(l.input))?),
                ..l
            }))
        }
        _ => {}
    }
    let exprs: Vec<Expr> = schema
        .iter()
        .map(|(q, f)| {
            let col = Expr::Column(Column::new(q.cloned(), f.name()));
            let to = plain(f.data_type());
            if to == *f.data_type() {
                col
            } else {
                Expr::Cast(Cast::new(Box::new(col), to)).alias_qualified(q.cloned(), f.name())
            }
        })
        .collect();
    LogicalPlanBuilder::from(plan).project(exprs)?.build()
}
