//! Rows as the API shows them.

use scaleph_engine::{EngineKind, JobSettings, JobState, LogLevel, TableMetrics};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A page of results. `page` starts at 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Total items across all pages.
    pub total: i64,
    /// Page number, from 1.
    pub page: i64,
    /// Page size.
    pub page_size: i64,
}

/// Which page to read.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Page number, from 1.
    pub page: i64,
    /// Items per page, 1..=500.
    pub page_size: i64,
}

impl PageRequest {
    /// Rows to skip; saturates for absurd page numbers (the page is then empty).
    pub(crate) fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }
}

/// A project: the unit of ownership for datasources and jobs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Project {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last update, epoch ms.
    pub updated_at: i64,
}

/// A datasource of a project. `properties` are stored as given; the service layer hides secrets.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Datasource {
    /// Id.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Unique within the project.
    pub name: String,
    /// `filesystem`, `postgresql`, `mysql`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Type-specific properties (JSON object of strings).
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last update, epoch ms.
    pub updated_at: i64,
}

/// A SQL job: its current script version and settings.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Job {
    /// Id.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Unique within the project.
    pub name: String,
    /// Engine that runs it.
    pub engine: EngineKind,
    /// Parallelism and SET options.
    pub settings: JobSettings,
    /// Version number of the current script.
    pub current_version: i64,
    /// Cluster for `engine: flink`.
    pub cluster_id: Option<String>,
    /// For jar jobs: the artifact and how to run it (`None` for SQL jobs).
    pub jar: Option<JarSpec>,
    /// Automatic restart after FAILED (`None` = off).
    pub restart_policy: Option<RestartPolicy>,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last update, epoch ms.
    pub updated_at: i64,
}

/// An immutable saved script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobVersion {
    /// Job id.
    pub job_id: String,
    /// 1, 2, 3, … in save order.
    pub version: i64,
    /// The Flink SQL script.
    pub script: String,
    /// Save message.
    pub message: String,
    /// Save time, epoch ms.
    pub created_at: i64,
}

/// One entry of an instance's state history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StateChange {
    /// State entered.
    pub state: JobState,
    /// When, epoch ms.
    pub at: i64,
    /// Why, when known (e.g. "platform restarted").
    pub reason: Option<String>,
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct JobInstance {
    /// Id.
    pub id: String,
    /// Job id.
    pub job_id: String,
    /// Script version that ran.
    pub version: i64,
    /// Engine that ran it.
    pub engine: EngineKind,
    /// Current state.
    pub state: JobState,
    /// Error text when FAILED.
    pub error: Option<String>,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// When it became RUNNING, epoch ms.
    pub started_at: Option<i64>,
    /// When it reached a terminal state, epoch ms.
    pub ended_at: Option<i64>,
    /// Cluster it runs on (Flink instances).
    pub cluster_id: Option<String>,
    /// Flink job id (32 hex characters) once submitted.
    pub flink_job_id: Option<String>,
    /// Savepoint path it was restored from.
    pub restored_from: Option<String>,
    /// The FAILED instance this one automatically restarts.
    pub restart_of: Option<String>,
}

/// How a jar job runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JarSpec {
    /// Artifact (a jar version uploaded to the project).
    pub artifact_id: String,
    /// Main class; default: the jar manifest's.
    #[serde(default)]
    pub entry_class: Option<String>,
    /// Program arguments, passed as they are.
    #[serde(default)]
    pub args: Vec<String>,
}

/// Automatic restart of a Flink job that ends FAILED: resubmit from the latest completed
/// savepoint or retained checkpoint, at most `max_attempts` times within `window_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// Attempts allowed within the window (1..=100).
    pub max_attempts: u32,
    /// Window length, minutes (1..=10080).
    pub window_minutes: u32,
}

/// A jar uploaded to a project; versions count up per name.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Artifact {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// 1, 2, … per name.
    pub version: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// Upload time, epoch ms.
    pub created_at: i64,
}

/// An instance with its history and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InstanceDetail {
    /// The instance.
    #[serde(flatten)]
    pub instance: JobInstance,
    /// The project of the instance's job.
    pub project_id: Option<String>,
    /// State changes, oldest first.
    pub history: Vec<StateChange>,
    /// Per-table counters.
    pub metrics: Vec<TableMetrics>,
}

/// A log line of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LogLine {
    /// Sequence number within the instance, from 1.
    pub seq: i64,
    /// Time, epoch ms.
    pub at: i64,
    /// Level.
    pub level: LogLevel,
    /// Text.
    pub line: String,
}
