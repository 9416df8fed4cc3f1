//! Running a script as one job instance.

use crate::config::EmbeddedConfig;
use crate::session::{ColumnSource, PlannedInsert, ScriptSession};
use crate::stream::exec;
use crate::stream::plan::Dataflow;
use crate::stream::Chunk;
use crate::{apply_ddl, values};
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use scaleph_connectors::ROW_KIND_COLUMN;
use scaleph_connectors::{Counter, LogFn, PendingCommit, SinkContext};
use scaleph_engine::{
    Control, ControlReceiver, EngineError, EventSender, JobSpec, LogLevel, RunEvent, RunSummary,
    TableMetrics, TableRole,
};
use scaleph_sql::{parse_script, SqlError, StatementKind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Rows of a bare `SELECT` in a job that are written to the log.
const QUERY_LOG_ROWS: usize = 1000;

fn log(events: &EventSender, level: LogLevel, msg: impl Into<String>) {
    let _ = events.send(RunEvent::Log(level, msg.into()));
}

fn exec_err(e: DataFusionError) -> EngineError {
    EngineError::Execution(runtime_message(&e))
}

/// The message of the error at the root of `e`, without DataFusion's kind prefixes.
fn runtime_message(e: &DataFusionError) -> String {
    match e.find_root() {
        DataFusionError::Execution(m) => m.clone(),
        DataFusionError::ArrowError(a, _) => a.to_string(),
        DataFusionError::External(x) => x.to_string(),
        DataFusionError::IoError(io) => io.to_string(),
        other => other.strip_backtrace(),
    }
}

/// Counters of the tables a run reads and writes; grows as statements are planned.
#[derive(Default)]
struct Meters {
    sources: Mutex<Vec<(String, Arc<Counter>)>>,
    sinks: Mutex<Vec<(String, Arc<Counter>)>>,
}

impl Meters {
    fn snapshot(&self) -> Vec<TableMetrics> {
        let one = |role, (n, c): &(String, Arc<Counter>)| {
            let (rows, bytes) = c.get();
            TableMetrics {
                table: n.clone(),
                role,
                rows,
                bytes,
            }
        };
        let mut v: Vec<TableMetrics> = self
            .sources
            .lock()
            .expect("meters")
            .iter()
            .map(|x| one(TableRole::Source, x))
            .collect();
        // Several INSERTs into one table add up.
        for s in self.sinks.lock().expect("meters").iter() {
            let m = one(TableRole::Sink, s);
            match v
                .iter_mut()
                .find(|x| x.role == TableRole::Sink && x.table == m.table)
            {
                Some(x) => {
                    x.rows += m.rows;
                    x.bytes += m.bytes;
                }
                None => v.push(m),
            }
        }
        v
    }
}

/// A planned statement.
enum Work {
    Insert(PlannedInsert),
    Query(LogicalPlan),
    /// Streaming mode: an INSERT and its dataflow.
    StreamInsert(PlannedInsert, Dataflow),
    /// Streaming mode: a query whose changelog goes to the log.
    StreamQuery(Dataflow),
}

/// The streaming dataflow of an INSERT, refused when it produces updates its sink cannot
/// consume (Flink's `FlinkChangelogModeInferenceProgram` message).
///
/// # Errors
/// Unsupported constructs; an updating query into an insert-only sink, at the target.
pub(crate) fn stream_insert(s: &ScriptSession, p: &PlannedInsert) -> Result<Dataflow, SqlError> {
    let df = s.dataflow(&p.plan, &p.query)?;
    if df.updating && !p.sink.accepts_updates() {
        return Err(SqlError::invalid(
            p.pos,
            format!(
                "Table sink 'default_catalog.default_database.{}' doesn't support consuming update changes which is produced by node {}",
                p.target,
                df.updating_node.clone().unwrap_or_default()
            ),
        ));
    }
    Ok(df)
}

/// Runs a script.
///
/// Without `table.dml-sync`, every statement is planned before anything runs (a script with an
/// error runs nothing) and all INSERTs publish together once all succeeded. With
/// `SET 'table.dml-sync' = 'true'`, statements are planned and run in order and each INSERT
/// publishes before the next statement is planned, so later statements read what earlier ones
/// wrote (Flink's synchronous DML).
pub(crate) async fn run(
    cfg: &EmbeddedConfig,
    spec: JobSpec,
    events: EventSender,
    control: ControlReceiver,
) -> Result<RunSummary, EngineError> {
    let started = Instant::now();
    cfg.limits.check_script(&spec.script)?;
    let stmts = parse_script(&spec.script)?;
    let mut s = ScriptSession::new(cfg, &spec.settings)?;
    log(
        &events,
        LogLevel::Info,
        format!(
            "job '{}': {} statements, embedded engine",
            spec.name,
            stmts.len()
        ),
    );
    let meters = Arc::new(Meters::default());
    let _ticker = AbortOnDrop(spawn_ticker(meters.clone(), events.clone()));
    let log_fn: LogFn = {
        let events = events.clone();
        Arc::new(move |level, line| {
            let _ = events.send(RunEvent::Log(level, line));
        })
    };
    let mut running = false;
    let mut deferred: Vec<Work> = Vec::new();
    for st in &stmts {
        if apply_ddl(&mut s, st).await? {
            continue;
        }
        let mut planned = Vec::new();
        let inserts: Vec<&scaleph_sql::InsertDef> = match &st.kind {
            StatementKind::Insert(i) => vec![i],
            StatementKind::StatementSet(set) => set.iter().collect(),
            StatementKind::Query(q) => {
                let plan = s.plan_query(q).await?;
                planned.push(if s.streaming() {
                    let df = s.dataflow(&plan, q)?;
                    checkpointable(&s, &df, st.pos)?;
                    Work::StreamQuery(df)
                } else {
                    Work::Query(plan)
                });
                vec![]
            }
            _ => unreachable!("handled by apply_ddl"),
        };
        for i in inserts {
            let p = s.plan_insert(i).await?;
            planned.push(if s.streaming() {
                let df = stream_insert(&s, &p)?;
                checkpointable(&s, &df, p.pos)?;
                Work::StreamInsert(p, df)
            } else {
                Work::Insert(p)
            });
        }
        register(&meters, &s, &planned);
        if s.dml_sync() && !s.streaming() {
            start_running(&events, &mut s, &mut running);
            let mut commits = Vec::new();
            for w in planned {
                commits.extend(execute(&s, w, &events, &log_fn).await?);
            }
            for c in commits {
                c.commit().await.map_err(exec_err)?;
            }
        } else {
            deferred.extend(planned);
        }
    }
    if s.streaming() {
        // The checkpoint to restore must fit before the job counts as running.
        let ckpts = prepare_checkpoints(&s, &spec, &deferred, &events)?;
        start_running(&events, &mut s, &mut running);
        return run_streaming(
            &s, deferred, ckpts, &events, &log_fn, &meters, started, control,
        )
        .await;
    }
    start_running(&events, &mut s, &mut running);
    let mut pending: Vec<Box<dyn PendingCommit>> = Vec::new();
    let mut failure = None;
    let batch = async {
        for w in deferred {
            match execute(&s, w, &events, &log_fn).await {
                Ok(c) => pending.extend(c),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = batch => {}
        _ = answer_savepoints(control, None) => unreachable!("pending forever"),
    }
    if let Some(e) = failure {
        for c in pending {
            c.abort().await;
        }
        return Err(e);
    }
    finish(pending, &meters, &events, started).await
}

/// Publishes every INSERT's staged output and reports the run's metrics.
async fn finish(
    pending: Vec<Box<dyn PendingCommit>>,
    meters: &Meters,
    events: &EventSender,
    started: Instant,
) -> Result<RunSummary, EngineError> {
    for c in pending {
        c.commit().await.map_err(exec_err)?;
    }
    let metrics = meters.snapshot();
    let _ = events.send(RunEvent::Metrics(metrics.clone()));
    Ok(RunSummary {
        metrics,
        elapsed: started.elapsed(),
    })
}

fn start_running(events: &EventSender, s: &mut ScriptSession, running: &mut bool) {
    for (level, note) in s.notes.drain(..) {
        log(events, level, note);
    }
    if !*running {
        *running = true;
        let _ = events.send(RunEvent::Running);
    }
}

fn register(meters: &Meters, s: &ScriptSession, planned: &[Work]) {
    *meters.sources.lock().expect("meters") = s.source_counters();
    let mut sinks = meters.sinks.lock().expect("meters");
    for w in planned {
        if let Work::Insert(p) | Work::StreamInsert(p, _) = w {
            sinks.push((p.target.clone(), p.counter.clone()));
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends a metrics snapshot every 500 ms.
fn spawn_ticker(meters: Arc<Meters>, events: EventSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut iv = tokio::time::interval(Duration::from_millis(500));
        loop {
            iv.tick().await;
            if events.send(RunEvent::Metrics(meters.snapshot())).is_err() {
                break;
            }
        }
    })
}

/// Runs one planned statement; an INSERT returns its staged output.
async fn execute(
    s: &ScriptSession,
    w: Work,
    events: &EventSender,
    log_fn: &LogFn,
) -> Result<Option<Box<dyn PendingCommit>>, EngineError> {
    match w {
        Work::Insert(p) => {
            let t0 = Instant::now();
            let physical = s
                .ctx
                .state()
                .create_physical_plan(&p.plan)
                .await
                .map_err(exec_err)?;
            let stream = execute_stream(physical, s.ctx.task_ctx()).map_err(exec_err)?;
            let stream = conform(stream, p.sink.schema(), p.mapping.clone(), &p.target);
            let ctx = SinkContext {
                counter: p.counter.clone(),
                overwrite: p.overwrite,
                log: log_fn.clone(),
            };
            let commit = p.sink.write(stream, ctx).await.map_err(exec_err)?;
            log_insert(events, &p, t0);
            Ok(Some(commit))
        }
        Work::Query(plan) => {
            let physical = s
                .ctx
                .state()
                .create_physical_plan(&plan)
                .await
                .map_err(exec_err)?;
            let mut stream = execute_stream(physical, s.ctx.task_ctx()).map_err(exec_err)?;
            let mut shown = 0;
            while let Some(b) = stream.next().await {
                log_rows(events, &b.map_err(exec_err)?, None, &mut shown)?;
            }
            Ok(None)
        }
        Work::StreamInsert(..) | Work::StreamQuery(_) => {
            unreachable!("streaming work runs in run_streaming")
        }
    }
}

/// Logs a query's rows as Flink prints them (`+I[…]`, or the row's kind), up to
/// [`QUERY_LOG_ROWS`] in all.
fn log_rows(
    events: &EventSender,
    b: &RecordBatch,
    kinds: Option<&[u8]>,
    shown: &mut usize,
) -> Result<(), EngineError> {
    // Printed as Flink prints rows: DOUBLE/FLOAT as Java writes them.
    let b = scaleph_connectors::text::printed_batch(b)
        .map_err(|e| EngineError::Execution(e.to_string()))?;
    let rows = values::rows(
        std::slice::from_ref(&b),
        QUERY_LOG_ROWS.saturating_sub(*shown),
    )
    .map_err(|e| EngineError::Execution(e.to_string()))?;
    for (r, row) in rows.iter().enumerate() {
        *shown += 1;
        let cells: Vec<String> = row
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "NULL".into(),
                other => other.to_string(),
            })
            .collect();
        let kind = kinds.map_or(0, |k| k[r] as i8);
        log(
            events,
            LogLevel::Stdout,
            format!(
                "{}[{}]",
                scaleph_connectors::row_kind(kind),
                cells.join(", ")
            ),
        );
    }
    Ok(())
}

/// Answers control requests. A savepoint is split into one per statement (`stmt-<k>/` under
/// the savepoint directory when there are several) and answered once all statements took
/// theirs; metrics are gathered from every statement. Without statements to ask (batch jobs),
/// savepoints are refused and metrics are empty. Never returns.
async fn answer_savepoints(
    mut control: ControlReceiver,
    statements: Option<Vec<mpsc::UnboundedSender<exec::DriveCmd>>>,
) {
    while let Some(c) = control.recv().await {
        let txs = statements.as_deref().unwrap_or_default();
        match c {
            Control::Metrics { reply } => {
                let mut waits = Vec::with_capacity(txs.len());
                for tx in txs {
                    let (r_tx, r_rx) = tokio::sync::oneshot::channel();
                    if tx.send(exec::DriveCmd::Metrics { reply: r_tx }).is_ok() {
                        waits.push(r_rx);
                    }
                }
                tokio::spawn(async move {
                    let mut all = scaleph_engine::StreamMetrics::default();
                    for (k, w) in waits.into_iter().enumerate() {
                        if let Ok((ops, mut ck)) = w.await {
                            all.operators.extend(ops.into_iter().map(|mut o| {
                                o.statement = k;
                                o
                            }));
                            ck.statement = k;
                            all.checkpoints.push(ck);
                        }
                    }
                    let _ = reply.send(all);
                });
            }
            Control::Savepoint { dir, stop, reply } => {
                if statements.is_none() {
                    let _ = reply.send(Err("a batch job takes no savepoints".into()));
                    continue;
                }
                // Answered by the statements themselves, the last one sending the reply: a
                // stop ends the job right after, and a task forwarding it could be dropped
                // with the engine's runtime before it ran.
                let parts = exec::SavepointReply::split(txs.len().max(1), dir.clone(), reply);
                for ((k, tx), part) in txs.iter().enumerate().zip(parts) {
                    let sub = if txs.len() > 1 {
                        dir.join(format!("stmt-{k}"))
                    } else {
                        dir.clone()
                    };
                    let cmd = exec::DriveCmd::Savepoint {
                        dir: sub,
                        stop,
                        reply: part,
                    };
                    if let Err(mpsc::error::SendError(exec::DriveCmd::Savepoint {
                        reply, ..
                    })) = tx.send(cmd)
                    {
                        reply.send(Err(format!("statement {} already ended", k + 1)));
                    }
                }
            }
        }
    }
    std::future::pending::<()>().await;
}

/// Refuses, when the script checkpoints, a dataflow with an operator whose state checkpoints
/// cannot hold yet.
fn checkpointable(s: &ScriptSession, df: &Dataflow, pos: scaleph_sql::Pos) -> Result<(), SqlError> {
    if !s.checkpointing_enabled() {
        return Ok(());
    }
    for n in &df.nodes {
        if let Err(what) = n.op.checkpointable() {
            return Err(SqlError::unsupported(
                pos,
                format!("{what} (execution.checkpointing.interval) — run it on a Flink cluster"),
            ));
        }
    }
    Ok(())
}

/// Runs every statement of a streaming script at once (Flink submits each as a job), until all
/// end — never, with an unbounded source, until cancelled. Sinks with a stream writer publish
/// on checkpoints and at the end; the others when all ended.
/// The checkpointing of each streaming statement, with the checkpoint each restores checked
/// against its dataflow (Flink fails such a job at submission).
///
/// # Errors
/// A missing or unreadable checkpoint; state that maps to no operator (without
/// `allow_non_restored_state`).
fn prepare_checkpoints(
    s: &ScriptSession,
    spec: &JobSpec,
    works: &[Work],
    events: &EventSender,
) -> Result<Vec<Option<exec::Checkpointing>>, EngineError> {
    let total = works.len();
    let job_id = uuid::Uuid::new_v4().simple().to_string();
    let mut ckpts = Vec::with_capacity(total);
    for (k, w) in works.iter().enumerate() {
        let c = s.checkpointing(k, total, spec, &job_id)?;
        if let Some(c) = &c {
            let df = match w {
                Work::StreamInsert(_, df) | Work::StreamQuery(df) => df,
                Work::Insert(_) | Work::Query(_) => unreachable!("batch work in streaming mode"),
            };
            if let Some((chk, m)) = &c.restored {
                exec::assign(df, m, c.allow_non_restored_state).map_err(exec_err)?;
                log(
                    events,
                    LogLevel::Info,
                    format!("restoring checkpoint {} from '{}'", m.id, chk.display()),
                );
            } else if let Some(dir) = &c.cfg.dir {
                log(
                    events,
                    LogLevel::Info,
                    format!(
                        "checkpoints every {:?} under '{}'",
                        c.cfg.interval,
                        dir.display()
                    ),
                );
            }
        }
        ckpts.push(c);
    }
    Ok(ckpts)
}

#[allow(clippy::too_many_arguments)]
async fn run_streaming(
    s: &ScriptSession,
    works: Vec<Work>,
    ckpts: Vec<Option<exec::Checkpointing>>,
    events: &EventSender,
    log_fn: &LogFn,
    meters: &Meters,
    started: Instant,
    control: ControlReceiver,
) -> Result<RunSummary, EngineError> {
    let state = s.ctx.state();
    let interval = s.watermark_interval();
    let total = works.len();
    let (cmd_txs, cmd_rxs): (Vec<_>, Vec<_>) =
        (0..total).map(|_| mpsc::unbounded_channel()).unzip();
    let runs = works
        .into_iter()
        .zip(ckpts)
        .zip(cmd_rxs)
        .map(|((w, ckpt), cmds)| {
            let state = &state;
            async move {
                let task = s.ctx.task_ctx();
                match w {
                    Work::StreamInsert(p, df) => {
                        stream_insert_run(state, task, interval, p, df, ckpt, cmds, events, log_fn)
                            .await
                            .map(Some)
                    }
                    Work::StreamQuery(df) => {
                        let (tx, mut rx) = mpsc::channel(8);
                        let drive = exec::drive(
                            df,
                            state,
                            task,
                            interval,
                            exec::Output::Channel(tx),
                            ckpt,
                            Some(cmds),
                        );
                        let show = async {
                            let mut shown = 0;
                            while let Some(c) = rx.recv().await {
                                let c: Chunk = c.map_err(exec_err)?;
                                log_rows(events, &c.batch, c.kinds.as_deref(), &mut shown)?;
                            }
                            Ok::<(), EngineError>(())
                        };
                        let (stats, shown) = futures::join!(drive, show);
                        let stats = stats.map_err(exec_err)?;
                        shown?;
                        log_stats(events, &stats);
                        Ok(None)
                    }
                    Work::Insert(_) | Work::Query(_) => {
                        unreachable!("batch work in streaming mode")
                    }
                }
            }
        });
    let pending = tokio::select! {
        r = futures::future::try_join_all(runs) => r?,
        _ = answer_savepoints(control, Some(cmd_txs)) => unreachable!("pending forever"),
    };
    finish(
        pending.into_iter().flatten().collect(),
        meters,
        events,
        started,
    )
    .await
}

fn log_stats(events: &EventSender, stats: &exec::DriveStats) {
    if let Some(id) = stats.last_checkpoint {
        log(
            events,
            LogLevel::Info,
            format!("{} checkpoints completed, the last {id}", stats.checkpoints),
        );
    }
    if stats.late_rows > 0 {
        log(
            events,
            LogLevel::Info,
            format!(
                "{} late rows dropped (behind the watermark of their window)",
                stats.late_rows
            ),
        );
    }
    if stats.state_rows > 0 {
        log(
            events,
            LogLevel::Info,
            format!("operator state at the end: {} rows", stats.state_rows),
        );
    }
}

/// Runs one streaming INSERT: the dataflow into the sink; returns the staged output (nothing,
/// for a sink with a stream writer: it published as it went).
#[allow(clippy::too_many_arguments)]
async fn stream_insert_run(
    state: &datafusion::execution::context::SessionState,
    task: Arc<datafusion::execution::TaskContext>,
    interval: Duration,
    p: PlannedInsert,
    df: Dataflow,
    ckpt: Option<exec::Checkpointing>,
    cmds: mpsc::UnboundedReceiver<exec::DriveCmd>,
    events: &EventSender,
    log_fn: &LogFn,
) -> Result<Box<dyn PendingCommit>, EngineError> {
    use datafusion::arrow::array::Int8Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let t0 = Instant::now();
    let with_kinds = df.updating && p.sink.accepts_updates();
    let ctx = SinkContext {
        counter: p.counter.clone(),
        overwrite: p.overwrite,
        log: log_fn.clone(),
    };
    let restored_sink = ckpt
        .as_ref()
        .and_then(|c| c.restored.as_ref())
        .map(|(_, m)| m.sink.clone())
        .filter(|v| !v.is_null());
    let sink_schema = p.sink.schema();
    let out_schema = if with_kinds {
        let mut fields: Vec<_> = sink_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(ROW_KIND_COLUMN, DataType::Int8, false)));
        Arc::new(Schema::new(fields))
    } else {
        sink_schema.clone()
    };
    // Each chunk onto the sink's schema, with the row kinds of a changelog after it.
    let map = {
        let (mapping, target, schema) = (p.mapping.clone(), p.target.clone(), out_schema.clone());
        move |c: Chunk| -> Result<RecordBatch, DataFusionError> {
            let b = conform_batch(c.batch, &sink_schema, &mapping, &target)?;
            if !with_kinds {
                return Ok(b);
            }
            let kinds: Int8Array = match &c.kinds {
                Some(k) => k.iter().map(|k| *k as i8).collect(),
                None => std::iter::repeat_n(0i8, b.num_rows()).collect(),
            };
            let mut cols = b.columns().to_vec();
            cols.push(Arc::new(kinds));
            Ok(RecordBatch::try_new(schema.clone(), cols)?)
        }
    };
    if let Some(writer) = p
        .sink
        .stream_writer(ctx.clone(), restored_sink.as_ref())
        .map_err(exec_err)?
    {
        let out = exec::Output::Writer(writer, Box::new(map));
        let stats = exec::drive(df, state, task, interval, out, ckpt, Some(cmds))
            .await
            .map_err(exec_err)?;
        log_stats(events, &stats);
        log_insert(events, &p, t0);
        return Ok(Box::new(Published));
    }
    let (tx, rx) = mpsc::channel::<Result<Chunk, DataFusionError>>(8);
    let batches =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
            .map(move |c| map(c?));
    let input = Box::pin(RecordBatchStreamAdapter::new(out_schema, batches));
    let (stats, commit) = futures::join!(
        exec::drive(
            df,
            state,
            task,
            interval,
            exec::Output::Channel(tx),
            ckpt,
            Some(cmds)
        ),
        p.sink.write(input, ctx)
    );
    let stats = match stats {
        Ok(st) => st,
        Err(e) => {
            if let Ok(c) = commit {
                c.abort().await;
            }
            return Err(exec_err(e));
        }
    };
    let commit = commit.map_err(exec_err)?;
    log_stats(events, &stats);
    log_insert(events, &p, t0);
    Ok(commit)
}

/// What a stream writer leaves to commit: nothing (it published on checkpoints and at the
/// end of its input).
struct Published;

#[async_trait::async_trait]
impl PendingCommit for Published {
    async fn commit(self: Box<Self>) -> datafusion::common::Result<()> {
        Ok(())
    }
    async fn abort(self: Box<Self>) {}
}

/// Logs "INSERT INTO t: N rows in Xs" for an INSERT that ran since `t0`.
fn log_insert(events: &EventSender, p: &PlannedInsert, t0: Instant) {
    let (rows, _) = p.counter.get();
    log(
        events,
        LogLevel::Info,
        format!(
            "INSERT INTO {}: {rows} rows in {:.3}s",
            p.target,
            t0.elapsed().as_secs_f64()
        ),
    );
}

/// Maps every batch onto the sink's declared schema: query columns cast (failing on values that
/// do not convert, as Flink's CAST does), constants filled in; fails when a NOT NULL column
/// receives a NULL (Flink's default `table.exec.sink.not-null-enforcer` = ERROR).
fn conform(
    stream: datafusion::execution::SendableRecordBatchStream,
    sink_schema: datafusion::arrow::datatypes::SchemaRef,
    mapping: Vec<ColumnSource>,
    table: &str,
) -> datafusion::execution::SendableRecordBatchStream {
    let table = table.to_string();
    let schema = sink_schema.clone();
    let checked = stream.map(move |b: Result<RecordBatch, DataFusionError>| {
        conform_batch(b?, &sink_schema, &mapping, &table)
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, checked))
}

/// One batch of [`conform`].
fn conform_batch(
    b: RecordBatch,
    sink_schema: &datafusion::arrow::datatypes::SchemaRef,
    mapping: &[ColumnSource],
    table: &str,
) -> Result<RecordBatch, DataFusionError> {
    use datafusion::arrow::compute::{cast_with_options, CastOptions};
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    {
        let mut cols = Vec::with_capacity(mapping.len());
        for (f, src) in sink_schema.fields().iter().zip(mapping) {
            let col = match src {
                ColumnSource::Query(i) => cast_with_options(b.column(*i), f.data_type(), &opts)
                    .map_err(|e| {
                        DataFusionError::Execution(format!(
                            "column `{}` of table `{table}`: {e}",
                            f.name()
                        ))
                    })?,
                ColumnSource::Const(v) => v.to_array_of_size(b.num_rows())?,
            };
            if !f.is_nullable() && col.null_count() > 0 {
                return Err(DataFusionError::Execution(format!(
                    "column `{}` of table `{table}` is NOT NULL, but the query produced a NULL",
                    f.name()
                )));
            }
            cols.push(col);
        }
        Ok(RecordBatch::try_new_with_options(
            sink_schema.clone(),
            cols,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
        )?)
    }
}
