//! Runs job instances in background tasks and records what they report.

use crate::error::ApiError;
use axum::http::{header, StatusCode};
use scaleph_engine::{
    CancellationToken, Engine, EngineError, EngineKind, JobSpec, JobState, LogLevel, RunEvent,
    TableMetrics,
};
use scaleph_meta::{Job, JobInstance, Store, StoreError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Most log lines kept per instance; later lines are counted, not stored.
const MAX_LOG_LINES: usize = 20_000;
/// How often buffered logs and metrics are written.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Reason recorded for instances found unfinished at start-up.
pub const RESTART_REASON: &str = "platform restarted";

/// How many embedded runs may go at once; a submit beyond either bound is refused (429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Runs in this server.
    pub per_server: usize,
    /// Runs of one project.
    pub per_project: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            per_server: 16,
            per_project: 8,
        }
    }
}

/// A run in progress: its project and how to cancel it.
struct Running {
    project: String,
    token: CancellationToken,
}

/// Submits, tracks and cancels job instances.
#[derive(Clone)]
pub struct Runner {
    store: Store,
    embedded: Arc<dyn Engine>,
    running: Arc<Mutex<HashMap<String, Running>>>,
    limits: RunLimits,
    /// Where instances keep their checkpoints (`<dir>/<instance id>/…`); `None`: in memory.
    checkpoints: Option<PathBuf>,
}

/// What [`Runner::recover`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Streaming instances resumed from their latest checkpoint.
    pub resumed: usize,
    /// Instances marked FAILED ("platform restarted").
    pub failed: usize,
}

impl Runner {
    /// A runner over `store` with the embedded engine, at most `limits` runs at once;
    /// instances' checkpoints go under `checkpoints`.
    pub fn new(
        store: Store,
        embedded: Arc<dyn Engine>,
        limits: RunLimits,
        checkpoints: Option<PathBuf>,
    ) -> Self {
        Self {
            store,
            embedded,
            running: Arc::new(Mutex::new(HashMap::new())),
            limits,
            checkpoints,
        }
    }

    /// The checkpoint directory of instance `id`.
    fn checkpoint_dir(&self, id: &str) -> Option<PathBuf> {
        self.checkpoints.as_ref().map(|d| d.join(id))
    }

    /// Deals with embedded instances a previous process left unfinished: a streaming instance
    /// that was running with checkpoints resumes from its latest completed checkpoint
    /// (RESTARTING, then INITIALIZING and RUNNING again; its history says which checkpoint);
    /// the others are marked FAILED ("platform restarted").
    ///
    /// # Errors
    /// Store errors.
    pub async fn recover(&self) -> Result<Recovered, StoreError> {
        let ids = self
            .store
            .unfinished_instances(EngineKind::Embedded)
            .await?;
        let mut done = Recovered::default();
        for id in &ids {
            match self.resume(id).await {
                Ok(true) => {
                    done.resumed += 1;
                    continue;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(instance = %id, error = %e, "cannot resume"),
            }
            done.failed += 1;
            self.store
                .transition(
                    id,
                    JobState::Failed,
                    Some(RESTART_REASON),
                    Some(RESTART_REASON),
                )
                .await?;
        }
        Ok(done)
    }

    /// Resumes instance `id` if it was running with checkpoints: from its latest completed
    /// checkpoint, or from the start when it had none yet (nothing was published then).
    async fn resume(&self, id: &str) -> Result<bool, StoreError> {
        let inst = self.store.get_instance(id).await?;
        if !matches!(
            inst.state,
            JobState::Initializing | JobState::Running | JobState::Restarting
        ) {
            return Ok(false);
        }
        // The engine creates the directory when a run checkpoints.
        let Some(dir) = self.checkpoint_dir(id).filter(|d| d.is_dir()) else {
            return Ok(false);
        };
        let from = match latest_checkpoint(&dir) {
            Some(chk) => format!("resuming from checkpoint {chk}"),
            None => "no checkpoint completed yet: restarting from the beginning".to_string(),
        };
        let job = self.store.job_by_id(&inst.job_id).await?;
        let version = self.store.get_version(&inst.job_id, inst.version).await?;
        let reason = format!("{RESTART_REASON}; {from}");
        if inst.state != JobState::Restarting {
            self.store
                .transition(id, JobState::Restarting, Some(&reason), None)
                .await?;
        }
        self.store
            .append_logs(id, &[(LogLevel::Warn, reason)])
            .await?;
        let token = CancellationToken::new();
        self.running.lock().expect("runner lock").insert(
            id.to_string(),
            Running {
                project: job.project_id.clone(),
                token: token.clone(),
            },
        );
        let spec = JobSpec {
            name: job.name.clone(),
            script: version.script,
            settings: job.settings.clone(),
            checkpoint_dir: Some(dir),
            resume: true,
        };
        self.spawn(id.to_string(), spec, token);
        Ok(true)
    }

    fn spawn(&self, id: String, spec: JobSpec, token: CancellationToken) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.drive(&id, spec, token).await {
                tracing::error!(instance = %id, error = %e, "recording job instance failed");
            }
            this.running.lock().expect("runner lock").remove(&id);
        });
    }

    /// Creates an instance of the job's current version and starts it in the background.
    ///
    /// # Errors
    /// 429 when the server or the job's project already runs as many jobs as allowed (nothing
    /// is created); store errors.
    pub async fn submit(&self, job: &Job, script: String) -> Result<JobInstance, ApiError> {
        // Reserve the slot first, so concurrent submits cannot both pass the check.
        let slot = uuid::Uuid::now_v7().to_string();
        self.reserve(&slot, &job.project_id)?;
        let inst = match self
            .store
            .create_instance(&job.id, job.current_version, job.engine, None, None)
            .await
        {
            Ok(i) => i,
            Err(e) => {
                self.running.lock().expect("runner lock").remove(&slot);
                return Err(e.into());
            }
        };
        let token = CancellationToken::new();
        {
            let mut running = self.running.lock().expect("runner lock");
            running.remove(&slot);
            running.insert(
                inst.id.clone(),
                Running {
                    project: job.project_id.clone(),
                    token: token.clone(),
                },
            );
        }
        let spec = JobSpec {
            name: job.name.clone(),
            script,
            settings: job.settings.clone(),
            checkpoint_dir: self.checkpoint_dir(&inst.id),
            resume: false,
        };
        self.spawn(inst.id.clone(), spec, token);
        Ok(inst)
    }

    /// Requests cancellation: the instance goes to CANCELLING now and CANCELED when the engine
    /// has stopped.
    ///
    /// # Errors
    /// [`StoreError::IllegalTransition`] when the instance already ended.
    pub async fn cancel(&self, id: &str) -> Result<JobInstance, StoreError> {
        let inst = self
            .store
            .transition(id, JobState::Cancelling, Some("cancel requested"), None)
            .await?;
        let token = self
            .running
            .lock()
            .expect("runner lock")
            .get(id)
            .map(|r| r.token.clone());
        match token {
            Some(t) => t.cancel(),
            // Not running in this process (should not happen after recover): finish the cancel.
            None => {
                return self
                    .store
                    .transition(id, JobState::Canceled, Some("not running"), None)
                    .await
            }
        }
        Ok(inst)
    }

    /// Takes a run slot under `key`, or refuses with 429 naming the limit.
    fn reserve(&self, key: &str, project: &str) -> Result<(), ApiError> {
        let mut running = self.running.lock().expect("runner lock");
        let in_project = running.values().filter(|r| r.project == project).count();
        let refuse = |what: &str, n: usize| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{what} already runs {n} jobs on the embedded engine, the most allowed; wait for one to end or cancel one"),
            )
            .with_header(header::RETRY_AFTER, "5")
        };
        if running.len() >= self.limits.per_server {
            return Err(refuse(
                "the server (--max-running-jobs)",
                self.limits.per_server,
            ));
        }
        if in_project >= self.limits.per_project {
            return Err(refuse(
                "this project (--max-running-jobs-per-project)",
                self.limits.per_project,
            ));
        }
        running.insert(
            key.to_string(),
            Running {
                project: project.to_string(),
                token: CancellationToken::new(),
            },
        );
        Ok(())
    }

    async fn drive(
        &self,
        id: &str,
        spec: JobSpec,
        token: CancellationToken,
    ) -> Result<(), StoreError> {
        if let Err(e) = self
            .store
            .transition(id, JobState::Initializing, None, None)
            .await
        {
            // Cancelled before it started.
            if matches!(e, StoreError::IllegalTransition(_)) {
                return self
                    .store
                    .transition(id, JobState::Canceled, Some("cancelled before start"), None)
                    .await
                    .map(|_| ());
            }
            return Err(e);
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let engine = self.embedded.clone();
        let run = tokio::spawn(async move { engine.run(spec, tx, token).await });
        let mut logs: Vec<(LogLevel, String)> = Vec::new();
        let mut kept = 0usize;
        let mut dropped = 0usize;
        let mut metrics: Option<Vec<TableMetrics>> = None;
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(RunEvent::Running) => {
                        // Fails harmlessly if a cancel got there first.
                        let _ = self.store.transition(id, JobState::Running, None, None).await;
                    }
                    Some(RunEvent::Log(level, line)) => {
                        if kept < MAX_LOG_LINES {
                            kept += 1;
                            logs.push((level, line));
                        } else {
                            dropped += 1;
                        }
                    }
                    Some(RunEvent::Metrics(m)) => metrics = Some(m),
                    None => break,
                },
                _ = tick.tick() => self.flush(id, &mut logs, &mut metrics).await?,
            }
        }
        let outcome = run
            .await
            .unwrap_or_else(|e| Err(EngineError::Internal(format!("engine task panicked: {e}"))));
        if dropped > 0 {
            logs.push((
                LogLevel::Warn,
                format!("{dropped} more log lines were not kept (limit {MAX_LOG_LINES})"),
            ));
        }
        match &outcome {
            Ok(s) => {
                metrics = Some(s.metrics.clone());
                logs.push((
                    LogLevel::Info,
                    format!("job finished in {:.3}s", s.elapsed.as_secs_f64()),
                ));
            }
            Err(EngineError::Cancelled) => logs.push((
                LogLevel::Info,
                "job cancelled; no output was published".into(),
            )),
            Err(e) => logs.push((LogLevel::Error, e.to_string())),
        }
        self.flush(id, &mut logs, &mut metrics).await?;
        // A finished or cancelled instance's checkpoints are of no further use (Flink's
        // default retention); a failed one keeps them.
        if matches!(outcome, Ok(_) | Err(EngineError::Cancelled)) {
            if let Some(dir) = self.checkpoint_dir(id) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        let r = match outcome {
            Ok(_) => {
                self.store
                    .transition(id, JobState::Finished, None, None)
                    .await
            }
            Err(EngineError::Cancelled) => {
                self.store
                    .transition(id, JobState::Canceled, None, None)
                    .await
            }
            Err(e) => {
                self.store
                    .transition(
                        id,
                        JobState::Failed,
                        Some("job failed"),
                        Some(&e.to_string()),
                    )
                    .await
            }
        };
        r.map(|_| ())
    }

    async fn flush(
        &self,
        id: &str,
        logs: &mut Vec<(LogLevel, String)>,
        metrics: &mut Option<Vec<TableMetrics>>,
    ) -> Result<(), StoreError> {
        if !logs.is_empty() {
            self.store.append_logs(id, logs).await?;
            logs.clear();
        }
        if let Some(m) = metrics.take() {
            self.store.upsert_metrics(id, &m).await?;
        }
        Ok(())
    }
}

/// The latest completed checkpoint under an instance's directory (`chk-<n>/_metadata`, also
/// under `stmt-<k>/` of multi-statement jobs), as `chk-<n>`.
fn latest_checkpoint(dir: &Path) -> Option<String> {
    let mut best: Option<u64> = None;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(n) = name
                .strip_prefix("chk-")
                .and_then(|n| n.parse::<u64>().ok())
            {
                if e.path().join("_metadata").is_file() {
                    best = best.max(Some(n));
                }
            } else if name.starts_with("stmt-") {
                dirs.push(e.path());
            }
        }
    }
    best.map(|n| format!("chk-{n}"))
}
