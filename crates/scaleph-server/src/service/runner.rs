//! Runs job instances in background tasks and records what they report.

use crate::error::ApiError;
use axum::http::{header, StatusCode};
use scaleph_engine::{
    CancellationToken, Engine, EngineError, EngineKind, JobSpec, JobState, LogLevel, RunEvent,
    TableMetrics,
};
use scaleph_meta::{Job, JobInstance, Store, StoreError};
use std::collections::HashMap;
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
}

impl Runner {
    /// A runner over `store` with the embedded engine, at most `limits` runs at once.
    pub fn new(store: Store, embedded: Arc<dyn Engine>, limits: RunLimits) -> Self {
        Self {
            store,
            embedded,
            running: Arc::new(Mutex::new(HashMap::new())),
            limits,
        }
    }

    /// Marks embedded instances left unfinished by a previous process FAILED ("platform
    /// restarted"). Returns how many.
    ///
    /// # Errors
    /// Store errors.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let ids = self
            .store
            .unfinished_instances(EngineKind::Embedded)
            .await?;
        for id in &ids {
            self.store
                .transition(
                    id,
                    JobState::Failed,
                    Some(RESTART_REASON),
                    Some(RESTART_REASON),
                )
                .await?;
        }
        Ok(ids.len())
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
        };
        let this = self.clone();
        let id = inst.id.clone();
        tokio::spawn(async move {
            if let Err(e) = this.drive(&id, spec, token).await {
                tracing::error!(instance = %id, error = %e, "recording job instance failed");
            }
            this.running.lock().expect("runner lock").remove(&id);
        });
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
