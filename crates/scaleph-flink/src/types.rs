//! Request and response bodies (Flink's JSON field names).

use serde::{Deserialize, Serialize};

/// `GET /overview`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ClusterOverview {
    /// Registered TaskManagers.
    pub taskmanagers: u32,
    /// All slots.
    #[serde(rename = "slots-total")]
    pub slots_total: u32,
    /// Free slots.
    #[serde(rename = "slots-available")]
    pub slots_available: u32,
    /// Running jobs.
    #[serde(rename = "jobs-running")]
    pub jobs_running: u32,
    /// Flink version, e.g. `2.3.0`.
    #[serde(rename = "flink-version")]
    pub flink_version: String,
}

/// One job of `GET /jobs/overview`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JobOverview {
    /// Job id (32 hex characters).
    pub jid: String,
    /// Job name.
    pub name: String,
    /// Flink `JobStatus` name, e.g. `RUNNING`.
    pub state: String,
    /// Start time, epoch ms.
    #[serde(rename = "start-time")]
    pub start_time: i64,
    /// End time, epoch ms (-1 while running).
    #[serde(rename = "end-time")]
    pub end_time: i64,
    /// Last state change, epoch ms.
    #[serde(rename = "last-modification")]
    pub last_modification: i64,
}

/// `GET /jobs/overview`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JobsOverview {
    /// All jobs the JobManager knows.
    pub jobs: Vec<JobOverview>,
}

/// `POST /jars/{id}/run` body.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JarRun {
    /// Main class (default: the jar manifest's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_class: Option<String>,
    /// Program arguments, passed as they are.
    pub program_args_list: Vec<String>,
    /// Parallelism.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
    /// Savepoint or retained checkpoint to restore from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub savepoint_path: Option<String>,
    /// Skip savepoint state that maps to no operator.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_non_restored_state: bool,
    /// Fixed job id (32 hex characters), so a submission can be recognised after a crash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// One entry of a job's exception history.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionEntry {
    /// Exception class.
    pub exception_name: String,
    /// Full stack trace.
    pub stacktrace: String,
    /// When, epoch ms.
    pub timestamp: i64,
    /// Failing task, when known.
    #[serde(default)]
    pub task_name: Option<String>,
}

/// `GET /jobs/{id}/exceptions` (`exceptionHistory` part).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobExceptions {
    /// History, newest first.
    pub exception_history: ExceptionHistory,
}

/// The history list.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ExceptionHistory {
    /// Entries, newest first.
    pub entries: Vec<ExceptionEntry>,
    /// More existed than shown.
    pub truncated: bool,
}

/// State of an asynchronous operation (savepoint, stop, disposal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Still running.
    InProgress,
    /// Completed: the savepoint location, if any.
    Completed(Option<String>),
    /// Failed with Flink's message.
    Failed(String),
}

/// A TaskManager of `GET /taskmanagers`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManager {
    /// Id.
    pub id: String,
    /// Slots.
    pub slots_number: u32,
    /// Free slots.
    pub free_slots: u32,
}
