//! What every scaleph engine shares: the [`Engine`] trait, the job-instance state machine
//! ([`JobState`]), run events (logs and per-table metrics) and previews.
//!
//! Flow: the server asks an engine to [`Engine::validate`] or [`Engine::preview`] a script, or to
//! [`Engine::run`] it as a job instance; while running, the engine reports [`RunEvent`]s through
//! an [`EventSender`] and stops when its [`CancellationToken`] fires.
#![warn(missing_docs)]

mod state;

pub use scaleph_sql::{Pos, SqlError, SqlErrorKind};
pub use state::{IllegalTransition, JobState};
pub use tokio_util::sync::CancellationToken;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

/// Which engine runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// In-process DataFusion engine (default, no JVM).
    Embedded,
    /// Apache Flink cluster.
    Flink,
}

impl EngineKind {
    /// The lower-case name used in the API and the metadata store.
    pub fn as_str(&self) -> &'static str {
        match self {
            EngineKind::Embedded => "embedded",
            EngineKind::Flink => "flink",
        }
    }

    /// Parses `embedded` / `flink`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "embedded" => Some(EngineKind::Embedded),
            "flink" => Some(EngineKind::Flink),
            _ => None,
        }
    }
}

/// Job settings applied before the script's own `SET` statements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// Parallelism (Flink `parallelism.default`); on the embedded engine, the number of
    /// partitions a query runs with. `None` = engine default (number of cores).
    #[serde(default)]
    pub parallelism: Option<u32>,
    /// Extra Flink configuration, as `SET 'key' = 'value'` would give.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// A script to run as one job instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobSpec {
    /// Job name, for logs.
    pub name: String,
    /// The Flink SQL script.
    pub script: String,
    /// Settings.
    pub settings: JobSettings,
    /// Where a streaming run with `execution.checkpointing.interval` keeps its checkpoints when
    /// the script sets no `execution.checkpointing.dir` (the server: one directory per
    /// instance). `None` and no `execution.checkpointing.dir`: checkpoints are kept in memory
    /// only (sinks still commit on them), as Flink's `JobManagerCheckpointStorage`.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Restore from the latest completed checkpoint under the checkpoint directory (a restart
    /// after a crash); no checkpoint there: start afresh.
    pub resume: bool,
    /// Restore from this savepoint or checkpoint (the platform's choice, before the script's
    /// `execution.state-recovery.path`).
    pub restore_from: Option<std::path::PathBuf>,
    /// Restore even when state of the savepoint maps to no operator of the job (Flink's
    /// `--allowNonRestoredState`).
    pub allow_non_restored_state: bool,
}

/// A request to a running job.
#[derive(Debug)]
pub enum Control {
    /// Take a savepoint into directory `dir` (created, must not exist yet). `stop`: stop the
    /// job after it (`Some(drain)`; drain first advances every watermark to the end, firing
    /// all event-time windows, as Flink's `--drain`). `reply` gets the savepoint's directory
    /// or why it failed.
    Savepoint {
        /// Where the savepoint goes.
        dir: std::path::PathBuf,
        /// `None`: keep running; `Some(drain)`: stop after the savepoint.
        stop: Option<bool>,
        /// The answer: the savepoint's directory, or why there is none.
        reply: tokio::sync::oneshot::Sender<Result<std::path::PathBuf, String>>,
    },
    /// Report the live metrics of every operator (streaming runs; a batch run answers none).
    Metrics {
        /// The answer.
        reply: tokio::sync::oneshot::Sender<StreamMetrics>,
    },
}

/// Live metrics of one operator of a streaming run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorMetrics {
    /// The statement (0-based) whose dataflow holds the operator.
    pub statement: usize,
    /// The operator's index in that dataflow.
    pub id: usize,
    /// Flink's name of the operator (`TableSourceScan`, `Calc`, `WindowAggregate`, `Join` …).
    pub name: String,
    /// The operator it feeds (`None`: the sink).
    pub parent: Option<usize>,
    /// Rows received (all inputs).
    pub records_in: u64,
    /// Rows emitted.
    pub records_out: u64,
    /// Rows per second received and emitted, over the last second or so.
    pub records_in_per_second: f64,
    /// See `records_in_per_second`.
    pub records_out_per_second: f64,
    /// The operator's current watermark, epoch ms (`None`: none yet).
    pub watermark: Option<i64>,
    /// Wall clock minus the watermark, ms.
    pub watermark_lag_ms: Option<i64>,
    /// Rows dropped because they came after the watermark passed their window.
    pub late_records_dropped: u64,
    /// Rows or groups held in state.
    pub state_rows: u64,
    /// Approximate bytes of state.
    pub state_bytes: u64,
}

/// Checkpoint figures of one statement of a streaming run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointMetrics {
    /// The statement (0-based).
    pub statement: usize,
    /// Checkpoints and savepoints completed by this run.
    pub completed: u64,
    /// The last one's id, wall time (ms), bytes written and end (epoch ms).
    pub last_id: Option<u64>,
    /// See `last_id`.
    pub last_duration_ms: Option<u64>,
    /// See `last_id`.
    pub last_size_bytes: Option<u64>,
    /// See `last_id`.
    pub last_completed_at: Option<i64>,
    /// The checkpoint the run restored, if any.
    pub restored_from: Option<u64>,
}

/// Live metrics of a streaming run: its operators and checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StreamMetrics {
    /// Every operator of every statement.
    pub operators: Vec<OperatorMetrics>,
    /// Per statement.
    pub checkpoints: Vec<CheckpointMetrics>,
}

/// Where a run receives [`Control`] requests.
pub type ControlReceiver = tokio::sync::mpsc::UnboundedReceiver<Control>;

/// Direction of a table's metric.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TableRole {
    /// Rows read from the table (a source).
    Source,
    /// Rows written to the table (a sink).
    Sink,
}

impl TableRole {
    /// `source` / `sink`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TableRole::Source => "source",
            TableRole::Sink => "sink",
        }
    }
}

/// Counters of one table in one run. Sources count rows and in-memory Arrow bytes read; sinks
/// count rows and bytes written: file bytes for `filesystem`, printed bytes for `print`,
/// in-memory Arrow bytes for `blackhole`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TableMetrics {
    /// Table name as declared in the script.
    pub table: String,
    /// Source or sink.
    pub role: TableRole,
    /// Rows read or written.
    pub rows: u64,
    /// Bytes read or written.
    pub bytes: u64,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Informational.
    Info,
    /// Something the user should look at.
    Warn,
    /// A failure.
    Error,
    /// Output of a `print` sink or a bare query (Flink's TaskManager stdout).
    Stdout,
}

impl LogLevel {
    /// Upper-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Stdout => "STDOUT",
        }
    }
}

/// Something an engine reports while a job runs.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// Planning is done and data is flowing: the instance is RUNNING.
    Running,
    /// A log line.
    Log(LogLevel, String),
    /// A snapshot of all table counters so far (cumulative, not deltas).
    Metrics(Vec<TableMetrics>),
}

/// Where an engine sends [`RunEvent`]s; unbounded so an engine never blocks on its observer.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RunEvent>;

/// Totals of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Final counters per table.
    pub metrics: Vec<TableMetrics>,
    /// Wall time from start to publish.
    pub elapsed: Duration,
}

/// A column of a preview or validated result: name and Flink type name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Flink type, e.g. `BIGINT`, `DECIMAL(15, 2)`, `STRING`.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether NULLs may appear.
    pub nullable: bool,
}

/// What validation found: the sinks a script writes and the schema of its trailing query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationReport {
    /// Number of statements.
    pub statements: usize,
    /// Tables written by `INSERT`s, in order.
    pub sinks: Vec<String>,
    /// Tables declared with `CREATE TABLE`.
    pub tables: Vec<String>,
    /// Schema of each table declared, by name, for editors' completion.
    pub table_columns: BTreeMap<String, Vec<ColumnInfo>>,
    /// Schema of the last plain `SELECT`, if the script has one.
    pub query_schema: Option<Vec<ColumnInfo>>,
    /// What checked the script: `embedded` (planned by the embedded engine), `flink` (parsed,
    /// validated and planned by Flink's own planner), `structure` (the platform's checks only:
    /// syntax, file and host permissions — no Flink distribution configured).
    #[serde(default)]
    pub validated_by: String,
    /// Flink's `EXPLAIN` output when Flink validated the script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<String>,
    /// Remarks for the user (e.g. why only the structure was checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A preview request: run the script's last `SELECT` with a row limit and a timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRequest {
    /// The script; DDL before the final `SELECT` is applied, `INSERT`s are not run.
    pub script: String,
    /// Settings.
    pub settings: JobSettings,
    /// Maximum rows returned.
    pub limit: usize,
    /// Maximum wall time.
    pub timeout: Duration,
}

/// Rows of a preview; each value is JSON (numbers, strings, booleans, null; temporal and
/// decimal values as strings in Flink's text form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    /// Result columns.
    pub columns: Vec<ColumnInfo>,
    /// Rows, each as many values as columns.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// True when more rows existed than the limit.
    pub truncated: bool,
}

/// One event of a live preview ([`Engine::preview_stream`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PreviewEvent {
    /// The result's columns; comes first.
    Columns {
        /// Name, Flink type and nullability of each column.
        columns: Vec<ColumnInfo>,
    },
    /// Changes as they come: each row with Flink's row kind (`+I`, `-U`, `+U`, `-D`); a
    /// client applies them in order (`+I`/`+U` add a row, `-U`/`-D` remove an equal one).
    Rows {
        /// Row kinds, one per row.
        kinds: Vec<String>,
        /// Rows, each as many values as columns (JSON as in [`Preview`]).
        rows: Vec<Vec<serde_json::Value>>,
    },
    /// The end: `truncated` when the row, size or time limit stopped the query.
    End {
        /// Stopped by a limit rather than by the end of the input.
        truncated: bool,
    },
    /// The query failed (last event): the problem as the API's error answers give it.
    Error {
        /// HTTP status of the problem (422 for SQL errors, 408 for the time limit).
        status: u16,
        /// The message.
        detail: String,
        /// Position of a SQL error (1-based).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
        /// See `line`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<u64>,
    },
}

/// Sends a finished preview as live-preview events: its columns (unless it has none: they went
/// out live), its rows as inserts, the end.
pub async fn send_preview(tx: &tokio::sync::mpsc::Sender<PreviewEvent>, p: Preview) {
    if !p.columns.is_empty() {
        let n = p.rows.len();
        let _ = tx.send(PreviewEvent::Columns { columns: p.columns }).await;
        let _ = tx
            .send(PreviewEvent::Rows {
                kinds: vec!["+I".into(); n],
                rows: p.rows,
            })
            .await;
    }
    let _ = tx
        .send(PreviewEvent::End {
            truncated: p.truncated,
        })
        .await;
}

/// Why an engine call failed; the variant says whose fault it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The script is wrong or uses something unsupported (user's fault), with `line:column`.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The job failed while running: bad data, an I/O error, an external system.
    #[error("{0}")]
    Execution(String),
    /// A preview exceeded its time limit.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// An engine bug.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An execution engine for Flink SQL scripts.
#[async_trait::async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Which kind this is.
    fn kind(&self) -> EngineKind;

    /// Parses and plans a script without running it.
    ///
    /// # Errors
    /// [`EngineError::Sql`] naming the first problem and its position.
    async fn validate(
        &self,
        script: &str,
        settings: &JobSettings,
    ) -> Result<ValidationReport, EngineError>;

    /// Runs the script's final `SELECT` and returns at most `limit` rows.
    async fn preview(&self, req: PreviewRequest) -> Result<Preview, EngineError>;

    /// [`Engine::preview`] whose rows go to `tx` as they come ([`PreviewEvent`]s: columns,
    /// changes, end); stops early when `tx`'s receiver is gone. Engines without live results
    /// send the finished preview.
    ///
    /// # Errors
    /// As [`Engine::preview`] (nothing but the error is sent then).
    async fn preview_stream(
        &self,
        req: PreviewRequest,
        tx: tokio::sync::mpsc::Sender<PreviewEvent>,
    ) -> Result<(), EngineError> {
        let p = self.preview(req).await?;
        send_preview(&tx, p).await;
        Ok(())
    }

    /// Runs a script to completion (bounded execution). Sends [`RunEvent::Running`] once
    /// planning succeeded. Output becomes visible only when every statement succeeded.
    ///
    /// # Errors
    /// [`EngineError::Sql`] if planning fails, [`EngineError::Execution`] if running fails,
    /// [`EngineError::Cancelled`] if `cancel` fired; no sink output is published in these cases.
    async fn run(
        &self,
        spec: JobSpec,
        events: EventSender,
        cancel: CancellationToken,
    ) -> Result<RunSummary, EngineError>;

    /// [`Engine::run`] taking [`Control`] requests while it runs. Engines without savepoints
    /// answer each request with an error.
    ///
    /// # Errors
    /// As [`Engine::run`].
    async fn run_controlled(
        &self,
        spec: JobSpec,
        events: EventSender,
        cancel: CancellationToken,
        mut control: ControlReceiver,
    ) -> Result<RunSummary, EngineError> {
        let refuse = async move {
            while let Some(c) = control.recv().await {
                match c {
                    Control::Savepoint { reply, .. } => {
                        let _ = reply.send(Err("this engine takes no savepoints".into()));
                    }
                    Control::Metrics { reply } => {
                        let _ = reply.send(StreamMetrics::default());
                    }
                }
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            r = self.run(spec, events, cancel) => r,
            _ = refuse => unreachable!("pending forever"),
        }
    }
}
