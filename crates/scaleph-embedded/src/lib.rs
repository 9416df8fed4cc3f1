//! The embedded engine: runs Flink SQL scripts in-process on Apache DataFusion 54.
//!
//! A script is parsed by `scaleph-sql`; DDL registers connectors from `scaleph-connectors`;
//! queries are parsed with sqlparser, Flink functions are mapped (see [`functions`]) and
//! DataFusion plans and executes them. Execution is bounded (batch). All `INSERT`s of a run
//! publish together once every one succeeded (`SET 'table.dml-sync' = 'true'` publishes each
//! before the next starts). Cancelling drops the running streams and discards staged output.
#![warn(missing_docs)]

pub mod allocator;
mod case_select;
mod config;
mod errors;
pub mod functions;
mod growth;
mod join_order;
mod lateral;
mod naming;
mod run;
mod session;
mod set_ops;
mod stream;
mod support;
mod timestamp_shift;
mod values;
mod windows;

pub use config::{EmbeddedConfig, Limits};

use async_trait::async_trait;
use config::EngineRuntime;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::collect;
use scaleph_engine::{
    CancellationToken, Engine, EngineError, EngineKind, EventSender, JobSettings, JobSpec, Preview,
    PreviewEvent, PreviewRequest, RunSummary, ValidationReport,
};
use scaleph_sql::{parse_script, SqlError, Statement, StatementKind};
use session::{columns_of, ScriptSession};
use std::sync::Arc;

/// The in-process DataFusion engine. Cheap to clone; holds no state between calls except its
/// configuration and the runtime its work runs on.
///
/// Every call (validate, preview, run) runs on the engine's own Tokio runtime, whose threads
/// have large stacks ([`Limits::stack_bytes`]), so planning deep expressions cannot overflow a
/// request thread's stack and heavy jobs do not occupy the threads that serve requests.
#[derive(Debug, Clone)]
pub struct EmbeddedEngine {
    cfg: Arc<EmbeddedConfig>,
    rt: Arc<EngineRuntime>,
}

impl Default for EmbeddedEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl EmbeddedEngine {
    /// An engine with default limits and unrestricted file access (the local CLI's view).
    pub fn new() -> Self {
        Self::with_config(EmbeddedConfig::default())
    }

    /// An engine with `cfg`'s limits and file-access policy.
    ///
    /// # Panics
    /// If the OS refuses to start the engine's threads.
    pub fn with_config(cfg: EmbeddedConfig) -> Self {
        let rt = Arc::new(EngineRuntime::new(&cfg.limits));
        Self {
            cfg: Arc::new(cfg),
            rt,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EmbeddedConfig {
        &self.cfg
    }
}

/// Applies a DDL/SET statement to the session; returns false for statements that produce work
/// (INSERT, statement set, query).
///
/// # Errors
/// What the embedded engine does not run ([`support::check`]), DDL errors.
async fn apply_ddl(s: &mut ScriptSession, st: &Statement) -> Result<bool, SqlError> {
    for note in support::check(st)? {
        s.notes.push((scaleph_engine::LogLevel::Info, note));
    }
    match &st.kind {
        StatementKind::Set { key, value } => s.set(key, value, st.pos)?,
        StatementKind::Reset { key } => s.reset(key.as_deref()),
        StatementKind::CreateTable(t) => s.create_table(t)?,
        StatementKind::CreateView(v) => s.create_view(v).await?,
        // Only the default catalog, database and modules pass `support::check`.
        StatementKind::Use(_) => {}
        StatementKind::Insert(_) | StatementKind::StatementSet(_) | StatementKind::Query(_) => {
            return Ok(false)
        }
        _ => return Err(support::refuse(st.pos, "this statement")),
    }
    Ok(true)
}

#[async_trait]
impl Engine for EmbeddedEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Embedded
    }

    async fn validate(
        &self,
        script: &str,
        settings: &JobSettings,
    ) -> Result<ValidationReport, EngineError> {
        let cfg = self.cfg.clone();
        let (script, settings) = (script.to_string(), settings.clone());
        self.rt
            .spawn(async move { validate(&cfg, &script, &settings).await })
            .await
            .map_err(support::point_to_flink)
    }

    async fn preview(&self, req: PreviewRequest) -> Result<Preview, EngineError> {
        let cfg = self.cfg.clone();
        self.rt
            .spawn(async move { preview(&cfg, req, None).await })
            .await
            .map_err(support::point_to_flink)
    }

    async fn preview_stream(
        &self,
        req: PreviewRequest,
        tx: tokio::sync::mpsc::Sender<PreviewEvent>,
    ) -> Result<(), EngineError> {
        let cfg = self.cfg.clone();
        let live = tx.clone();
        let p = self
            .rt
            .spawn(async move { preview(&cfg, req, Some(live)).await })
            .await
            .map_err(support::point_to_flink)?;
        // A streaming preview sent its columns and rows as they came (and answers none); a
        // batch one sends them now.
        scaleph_engine::send_preview(&tx, p).await;
        Ok(())
    }

    async fn run(
        &self,
        spec: JobSpec,
        events: EventSender,
        cancel: CancellationToken,
    ) -> Result<RunSummary, EngineError> {
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.run_controlled(spec, events, cancel, rx).await
    }

    async fn run_controlled(
        &self,
        spec: JobSpec,
        events: EventSender,
        cancel: CancellationToken,
        control: scaleph_engine::ControlReceiver,
    ) -> Result<RunSummary, EngineError> {
        let cfg = self.cfg.clone();
        // Cancelling aborts the run and waits until its streams (and with them the staged
        // output) are dropped.
        self.rt
            .spawn_until(
                async move { run::run(&cfg, spec, events, control).await },
                cancel.cancelled_owned(),
            )
            .await
            .map_err(support::point_to_flink)
    }
}

async fn validate(
    cfg: &EmbeddedConfig,
    script: &str,
    settings: &JobSettings,
) -> Result<ValidationReport, EngineError> {
    cfg.limits.check_script(script)?;
    let stmts = parse_script(script)?;
    let mut s = ScriptSession::new(cfg, settings)?;
    let mut report = ValidationReport {
        statements: stmts.len(),
        validated_by: "embedded".into(),
        ..Default::default()
    };
    for st in &stmts {
        if apply_ddl(&mut s, st).await? {
            if let StatementKind::CreateTable(t) = &st.kind {
                report.tables.push(t.name.clone());
            }
            continue;
        }
        match &st.kind {
            StatementKind::Insert(i) => {
                let p = s.plan_insert(i).await?;
                if s.streaming() {
                    run::stream_insert(&s, &p)?;
                }
                report.sinks.push(i.target.clone());
            }
            StatementKind::StatementSet(set) => {
                for i in set {
                    let p = s.plan_insert(i).await?;
                    if s.streaming() {
                        run::stream_insert(&s, &p)?;
                    }
                    report.sinks.push(i.target.clone());
                }
            }
            StatementKind::Query(q) => {
                let plan = s.plan_query(q).await?;
                if s.streaming() {
                    s.dataflow(&plan, q)?;
                }
                report.query_schema = Some(columns_of(&plan.schema().inner().clone()));
            }
            _ => unreachable!("handled by apply_ddl"),
        }
    }
    report.table_columns = s.table_columns();
    Ok(report)
}

/// The preview of `req`; with `live`, a streaming query's columns and changes are sent there as
/// they come and the answer carries no rows (only whether a limit stopped it).
async fn preview(
    cfg: &EmbeddedConfig,
    req: PreviewRequest,
    live: Option<tokio::sync::mpsc::Sender<PreviewEvent>>,
) -> Result<Preview, EngineError> {
    cfg.limits.check_script(&req.script)?;
    let stmts = parse_script(&req.script)?;
    let Some(last) = stmts
        .iter()
        .rposition(|s| matches!(s.kind, StatementKind::Query(_)))
    else {
        let pos = stmts.last().map(|s| s.pos).unwrap_or_default();
        return Err(SqlError::invalid(pos, "preview needs a SELECT statement").into());
    };
    let mut s = ScriptSession::new(cfg, &req.settings)?;
    for st in &stmts[..last] {
        apply_ddl(&mut s, st).await?;
    }
    let StatementKind::Query(q) = &stmts[last].kind else {
        unreachable!()
    };
    let plan = s.plan_query(q).await?;
    let columns = columns_of(&plan.schema().inner().clone());
    if s.streaming() {
        let plan = preview_fetch(&plan, req.limit.saturating_add(1));
        return stream_preview(cfg, &s, &plan, q, &req, columns, live).await;
    }
    let limited = LogicalPlanBuilder::from(plan)
        .limit(0, Some(req.limit + 1))
        .and_then(|b| b.build())
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    let work = async {
        let physical = s.ctx.state().create_physical_plan(&limited).await?;
        collect(physical, s.ctx.task_ctx()).await
    };
    let batches = tokio::time::timeout(req.timeout, work)
        .await
        .map_err(|_| EngineError::Timeout(req.timeout))?
        .map_err(|e| EngineError::Execution(e.strip_backtrace()))?;
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut rows =
        values::rows(&batches, req.limit).map_err(|e| EngineError::Execution(e.to_string()))?;
    let mut truncated = total > req.limit;
    // Bound the answer's size too: wide rows of long strings stop at the byte limit.
    let mut bytes = 0usize;
    if let Some(cut) = rows.iter().position(|r| {
        bytes += r.iter().map(values::json_len).sum::<usize>();
        bytes > cfg.limits.preview_bytes
    }) {
        rows.truncate(cut);
        truncated = true;
    }
    Ok(Preview {
        columns,
        rows,
        truncated,
    })
}

/// `plan` with its outermost `ORDER BY` (under projections) limited to `n` rows: a preview
/// shows the first rows anyway, and a sort with a limit runs in streaming mode (as a Top-N).
fn preview_fetch(
    plan: &datafusion::logical_expr::LogicalPlan,
    n: usize,
) -> datafusion::logical_expr::LogicalPlan {
    use datafusion::logical_expr::{LogicalPlan, Projection, Sort};
    match plan {
        LogicalPlan::Sort(s) if s.fetch.is_none() => LogicalPlan::Sort(Sort {
            expr: s.expr.clone(),
            input: s.input.clone(),
            fetch: Some(n),
        }),
        LogicalPlan::Projection(p) => {
            let input = std::sync::Arc::new(preview_fetch(&p.input, n));
            Projection::try_new_with_schema(p.expr.clone(), input, p.schema.clone())
                .map(LogicalPlan::Projection)
                .unwrap_or_else(|_| plan.clone())
        }
        other => other.clone(),
    }
}

/// Preview of a streaming query: its changelog applied to a table of rows (`+I`/`+U` add a
/// row, `-U`/`-D` remove it) until the sources end, `req.limit` rows of an insert-only result
/// arrived, or `req.timeout` passed (then the rows so far, marked truncated).
async fn stream_preview(
    cfg: &EmbeddedConfig,
    s: &ScriptSession,
    plan: &datafusion::logical_expr::LogicalPlan,
    q: &scaleph_sql::QueryText,
    req: &PreviewRequest,
    columns: Vec<scaleph_engine::ColumnInfo>,
    live: Option<tokio::sync::mpsc::Sender<PreviewEvent>>,
) -> Result<Preview, EngineError> {
    let df = s.dataflow(plan, q)?;
    if let Some(tx) = &live {
        let _ = tx
            .send(PreviewEvent::Columns {
                columns: columns.clone(),
            })
            .await;
    }
    let updating = df.updating;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let state = s.ctx.state();
    let drive = stream::exec::drive(
        df,
        &state,
        s.ctx.task_ctx(),
        s.watermark_interval(),
        stream::exec::Output::Channel(tx),
        None,
        None,
    );
    let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
    let mut bytes = 0usize;
    let mut truncated = false;
    let collect = async {
        // Owned here: once the limit is reached the receiver goes, which stops the dataflow.
        let mut rx = rx;
        while let Some(c) = rx.recv().await {
            let c: stream::Chunk = c.map_err(|e| EngineError::Execution(e.strip_backtrace()))?;
            let vals = values::rows(std::slice::from_ref(&c.batch), usize::MAX)
                .map_err(|e| EngineError::Execution(e.to_string()))?;
            if let Some(tx) = &live {
                // An insert-only result shows no more rows than the limit.
                let n = if updating {
                    vals.len()
                } else {
                    vals.len().min(req.limit.saturating_sub(rows.len()))
                };
                let kinds = (0..n)
                    .map(|r| {
                        let k = c.kinds.as_ref().map_or(0, |k| k[r] as i8);
                        scaleph_connectors::row_kind(k).to_string()
                    })
                    .collect();
                let sent = if n == 0 {
                    Ok(())
                } else {
                    tx.send(PreviewEvent::Rows {
                        kinds,
                        rows: vals[..n].to_vec(),
                    })
                    .await
                };
                // The client went away: stop the query.
                if sent.is_err() {
                    break;
                }
            }
            for (r, row) in vals.into_iter().enumerate() {
                match c.kinds.as_ref().map_or(0, |k| k[r]) {
                    1 | 3 => {
                        if let Some(i) = rows.iter().position(|x| *x == row) {
                            rows.remove(i);
                        }
                    }
                    _ => {
                        bytes += row.iter().map(values::json_len).sum::<usize>();
                        rows.push(row);
                    }
                }
            }
            if !updating && (rows.len() > req.limit || bytes > cfg.limits.preview_bytes) {
                truncated = true;
                break;
            }
            if updating && bytes > cfg.limits.preview_bytes.saturating_mul(4) {
                return Err(EngineError::Execution(
                    "the preview's changelog grew beyond its size limit".into(),
                ));
            }
        }
        Ok::<(), EngineError>(())
    };
    let work = async {
        let (d, c) = futures::join!(drive, collect);
        c?;
        d.map(|_| ())
            .map_err(|e| EngineError::Execution(e.strip_backtrace()))
    };
    match tokio::time::timeout(req.timeout, work).await {
        Ok(r) => r?,
        // An unbounded query: what arrived so far.
        Err(_) if !rows.is_empty() => truncated = true,
        Err(_) => return Err(EngineError::Timeout(req.timeout)),
    }
    if rows.len() > req.limit {
        rows.truncate(req.limit);
        truncated = true;
    }
    if live.is_some() {
        // Columns and rows went out as they came.
        return Ok(Preview {
            columns: Vec::new(),
            rows: Vec::new(),
            truncated,
        });
    }
    Ok(Preview {
        columns,
        rows,
        truncated,
    })
}
