//! Running a script as one job instance.

use crate::config::EmbeddedConfig;
use crate::session::{ColumnSource, PlannedInsert, ScriptSession};
use crate::{apply_ddl, values};
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use scaleph_connectors::{Counter, LogFn, PendingCommit, SinkContext};
use scaleph_engine::{
    EngineError, EventSender, JobSpec, LogLevel, RunEvent, RunSummary, TableMetrics, TableRole,
};
use scaleph_sql::{parse_script, StatementKind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        match &st.kind {
            StatementKind::Insert(i) => planned.push(Work::Insert(s.plan_insert(i).await?)),
            StatementKind::StatementSet(set) => {
                for i in set {
                    planned.push(Work::Insert(s.plan_insert(i).await?));
                }
            }
            StatementKind::Query(q) => planned.push(Work::Query(s.plan_query(q).await?)),
            _ => unreachable!("handled by apply_ddl"),
        }
        register(&meters, &s, &planned);
        if s.dml_sync() {
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
    start_running(&events, &mut s, &mut running);
    let mut pending: Vec<Box<dyn PendingCommit>> = Vec::new();
    let mut failure = None;
    for w in deferred {
        match execute(&s, w, &events, &log_fn).await {
            Ok(c) => pending.extend(c),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        for c in pending {
            c.abort().await;
        }
        return Err(e);
    }
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
        if let Work::Insert(p) = w {
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
                let b = b.map_err(exec_err)?;
                // Printed as Flink prints rows: DOUBLE/FLOAT as Java writes them.
                let b = scaleph_connectors::text::printed_batch(&b)
                    .map_err(|e| EngineError::Execution(e.to_string()))?;
                let rows = values::rows(std::slice::from_ref(&b), QUERY_LOG_ROWS - shown)
                    .map_err(|e| EngineError::Execution(e.to_string()))?;
                for row in rows {
                    shown += 1;
                    let cells: Vec<String> = row
                        .iter()
                        .map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => "NULL".into(),
                            other => other.to_string(),
                        })
                        .collect();
                    log(
                        events,
                        LogLevel::Stdout,
                        format!("+I[{}]", cells.join(", ")),
                    );
                }
            }
            Ok(None)
        }
    }
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
    use datafusion::arrow::compute::{cast_with_options, CastOptions};
    let table = table.to_string();
    let schema = sink_schema.clone();
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    let checked = stream.map(move |b: Result<RecordBatch, DataFusionError>| {
        let b = b?;
        let mut cols = Vec::with_capacity(mapping.len());
        for (f, src) in sink_schema.fields().iter().zip(&mapping) {
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
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, checked))
}
