//! One lifecycle for job instances on every engine: the operations Flink offers (submit,
//! optionally from a savepoint; cancel; trigger a savepoint; stop with a savepoint; restart
//! through a savepoint; dispose a savepoint; checkpoint statistics). Handlers pick the engine's
//! implementation with [`crate::AppState::lifecycle`] and never branch per operation.

use crate::error::ApiError;
use scaleph_engine::LogLevel;
use scaleph_meta::{Job, JobInstance, RestartPolicy, Savepoint, Store, StoreError};

/// The attempt number an auto-restart of `job` under `policy` would be now, or the line to log
/// when the policy's attempts within its window are spent.
pub(crate) async fn restart_attempt(
    store: &Store,
    job: &Job,
    policy: &RestartPolicy,
) -> Result<i64, String> {
    let now = chrono::Utc::now().timestamp_millis();
    let since = now - i64::from(policy.window_minutes) * 60_000;
    let used = store
        .count_restarts(&job.id, since)
        .await
        .unwrap_or(i64::MAX);
    if used >= i64::from(policy.max_attempts) {
        return Err(format!(
            "auto-restart: {used} of {} attempts used within {} min; not restarting",
            policy.max_attempts, policy.window_minutes
        ));
    }
    Ok(used + 1)
}

/// The job's latest completed savepoint as (completion time, path).
pub(crate) async fn latest_savepoint(store: &Store, job: &Job) -> Option<(i64, String)> {
    store
        .list_savepoints(&job.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.status == "COMPLETED")
        .and_then(|s| Some((s.completed_at.unwrap_or(s.created_at), s.path?)))
}

/// The path of the newer of two (time, path) states.
pub(crate) fn newer(a: Option<(i64, String)>, b: Option<(i64, String)>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 > a.0 { b.1 } else { a.1 }),
        (a, b) => a.or(b).map(|x| x.1),
    }
}

/// Ends savepoint record `sp_id` of `job_id` with `outcome` (its path, or why it failed) and
/// logs it on instance `iid`; returns the record.
///
/// # Errors
/// Store errors.
pub(crate) async fn record_savepoint(
    store: &Store,
    (sp_id, job_id, iid): (&str, &str, &str),
    outcome: Result<Option<String>, String>,
) -> Result<Savepoint, StoreError> {
    let (status, path, error, line) = match outcome {
        Ok(p) => {
            let line = format!("savepoint completed: {}", p.clone().unwrap_or_default());
            ("COMPLETED", p, None, line)
        }
        Err(m) => {
            let line = format!("savepoint failed: {m}");
            ("FAILED", None, Some(m), line)
        }
    };
    store
        .finish_savepoint(sp_id, status, path.as_deref(), error.as_deref())
        .await?;
    store.append_logs(iid, &[(LogLevel::Info, line)]).await?;
    store.get_savepoint(job_id, sp_id).await
}

/// The operations on instances of one engine.
#[async_trait::async_trait]
pub trait Lifecycle: Send + Sync {
    /// Starts an instance of `script` (the job's current version), restored from `restore` (a
    /// savepoint or checkpoint path) when given. `allow_non_restored_state`: restore even when
    /// some saved state maps to no operator of the script.
    ///
    /// # Errors
    /// 422 for a script that does not validate (with `line:column`); 429 when too many runs;
    /// engine errors.
    async fn submit(
        &self,
        job: &Job,
        script: &str,
        restore: Option<&str>,
        allow_non_restored_state: bool,
    ) -> Result<JobInstance, ApiError>;

    /// Cancels: CANCELLING now, CANCELED once stopped.
    ///
    /// # Errors
    /// 409 when the instance already ended.
    async fn cancel(&self, inst: &JobInstance) -> Result<JobInstance, ApiError>;

    /// Triggers a savepoint (`stop`: `Some(drain)` stops the job after it). Answers the record
    /// (IN_PROGRESS); it completes in the background.
    ///
    /// # Errors
    /// 409 unless the instance is RUNNING.
    async fn savepoint(
        &self,
        job: &Job,
        inst: &JobInstance,
        stop: Option<bool>,
    ) -> Result<Savepoint, ApiError>;

    /// Stops with a savepoint, waits for it and submits `script` from it, as one action.
    ///
    /// # Errors
    /// As [`Lifecycle::savepoint`] and [`Lifecycle::submit`]; 502 when the savepoint fails.
    async fn restart(
        &self,
        job: &Job,
        script: &str,
        inst: &JobInstance,
    ) -> Result<JobInstance, ApiError>;

    /// Deletes a completed savepoint's files; it stays listed as DISPOSED.
    ///
    /// # Errors
    /// 409 unless COMPLETED.
    async fn dispose(&self, sp: &Savepoint) -> Result<(), ApiError>;

    /// Checkpoint statistics in Flink's shape (`counts`, `latest`, `history`).
    ///
    /// # Errors
    /// Engine errors.
    async fn checkpoints(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError>;

    /// Per-operator (vertex) metrics of a running instance: `{ state, vertices: [{ id, name,
    /// parallelism, status, metrics: { read-records, write-records }, records_in_per_second,
    /// records_out_per_second, … }] }`; the embedded engine adds each operator's watermark,
    /// lag, late rows and state, and `checkpoints`.
    ///
    /// # Errors
    /// 409 when not running; engine errors.
    async fn vertices(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError>;
}

#[async_trait::async_trait]
impl Lifecycle for super::flink::Flink {
    async fn submit(
        &self,
        job: &Job,
        script: &str,
        restore: Option<&str>,
        allow_non_restored_state: bool,
    ) -> Result<JobInstance, ApiError> {
        super::flink::Flink::submit(self, job, script, restore, allow_non_restored_state).await
    }

    async fn cancel(&self, inst: &JobInstance) -> Result<JobInstance, ApiError> {
        super::flink::Flink::cancel(self, inst).await
    }

    async fn savepoint(
        &self,
        job: &Job,
        inst: &JobInstance,
        stop: Option<bool>,
    ) -> Result<Savepoint, ApiError> {
        super::flink::Flink::savepoint(self, job, inst, stop).await
    }

    async fn restart(
        &self,
        job: &Job,
        script: &str,
        inst: &JobInstance,
    ) -> Result<JobInstance, ApiError> {
        super::flink::Flink::restart(self, job, script, inst).await
    }

    async fn dispose(&self, sp: &Savepoint) -> Result<(), ApiError> {
        super::flink::Flink::dispose(self, sp).await
    }

    async fn checkpoints(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        super::flink::Flink::checkpoints(self, inst).await
    }

    async fn vertices(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        super::flink::Flink::vertices(self, inst).await
    }
}
