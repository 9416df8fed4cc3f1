//! Runs job instances in background tasks and records what they report.

use crate::error::ApiError;
use axum::http::{header, StatusCode};
use scaleph_engine::{
    CancellationToken, Control, Engine, EngineError, EngineKind, JobSpec, JobState, LogLevel,
    RunEvent, StreamMetrics, TableMetrics,
};
use scaleph_meta::{Job, JobInstance, Savepoint, Store, StoreError};
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

/// A run in progress: its project, how to cancel it and where to send savepoint requests.
struct Running {
    project: String,
    token: CancellationToken,
    control: Option<mpsc::UnboundedSender<Control>>,
}

/// Submits, tracks and cancels job instances.
#[derive(Clone)]
pub struct Runner {
    store: Store,
    embedded: Arc<dyn Engine>,
    running: Arc<Mutex<HashMap<String, Running>>>,
    limits: RunLimits,
    /// Where instances keep checkpoints (`<dir>/checkpoints/<instance id>/…`) and savepoints
    /// (`<dir>/savepoints/<job id>/savepoint-<id>`); `None`: checkpoints in memory, no
    /// savepoints.
    state_dir: Option<PathBuf>,
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
        state_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            store,
            embedded,
            running: Arc::new(Mutex::new(HashMap::new())),
            limits,
            state_dir,
        }
    }

    /// The checkpoint directory of instance `id`.
    fn checkpoint_dir(&self, id: &str) -> Option<PathBuf> {
        self.state_dir
            .as_ref()
            .map(|d| d.join("checkpoints").join(id))
    }

    /// Where the savepoints of the server's jobs go.
    fn savepoints_root(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join("savepoints"))
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
        let spec = JobSpec {
            name: job.name.clone(),
            script: version.script,
            settings: job.settings.clone(),
            checkpoint_dir: Some(dir),
            resume: true,
            ..Default::default()
        };
        self.spawn(id.to_string(), &job.project_id, spec, None);
        Ok(true)
    }

    /// Runs `spec` as instance `id` in the background, registered as running in place of the
    /// slot `reserved` (one lock: concurrent submits see one or the other).
    fn spawn(&self, id: String, project: &str, spec: JobSpec, reserved: Option<&str>) {
        let token = CancellationToken::new();
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let mut running = self.running.lock().expect("runner lock");
        if let Some(slot) = reserved {
            running.remove(slot);
        }
        running.insert(
            id.clone(),
            Running {
                project: project.to_string(),
                token: token.clone(),
                control: Some(ctl_tx),
            },
        );
        drop(running);
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.drive(&id, spec, token, ctl_rx).await {
                tracing::error!(instance = %id, error = %e, "recording job instance failed");
            }
            this.running.lock().expect("runner lock").remove(&id);
        });
    }

    /// Creates an instance of the job's current version and starts it in the background,
    /// restored from the savepoint or checkpoint at `restore` when given.
    ///
    /// # Errors
    /// 429 when the server or the job's project already runs as many jobs as allowed (nothing
    /// is created); store errors.
    pub async fn start(
        &self,
        job: &Job,
        script: String,
        restore: Option<PathBuf>,
        allow_non_restored_state: bool,
    ) -> Result<JobInstance, ApiError> {
        // Reserve the slot first, so concurrent submits cannot both pass the check.
        let slot = uuid::Uuid::now_v7().to_string();
        self.reserve(&slot, &job.project_id)?;
        let restored_from = restore.as_ref().map(|p| p.to_string_lossy().to_string());
        let created = self
            .store
            .create_instance(
                &job.id,
                job.current_version,
                job.engine,
                None,
                restored_from.as_deref(),
            )
            .await;
        let inst = match created {
            Ok(i) => i,
            Err(e) => {
                self.running.lock().expect("runner lock").remove(&slot);
                return Err(e.into());
            }
        };
        let spec = JobSpec {
            name: job.name.clone(),
            script,
            settings: job.settings.clone(),
            checkpoint_dir: self.checkpoint_dir(&inst.id),
            resume: false,
            restore_from: restore,
            allow_non_restored_state,
        };
        self.spawn(inst.id.clone(), &job.project_id, spec, Some(&slot));
        Ok(inst)
    }

    /// A savepoint path given to restore from, which must be one of this server's.
    fn own_savepoint(&self, path: &str) -> Result<PathBuf, ApiError> {
        let p = PathBuf::from(path);
        let inside = self.state_dir.as_ref().is_some_and(|d| {
            p.starts_with(d.join("savepoints")) || p.starts_with(d.join("checkpoints"))
        });
        if !inside || p.components().any(|c| c == std::path::Component::ParentDir) {
            return Err(ApiError::conflict(format!(
                "'{path}' is not a savepoint of this server"
            )));
        }
        Ok(p)
    }

    /// The sender of savepoint requests of a running instance.
    fn control(&self, inst: &JobInstance) -> Result<mpsc::UnboundedSender<Control>, ApiError> {
        if inst.state != JobState::Running {
            return Err(ApiError::conflict(format!(
                "the instance is {}; savepoints need RUNNING",
                inst.state
            )));
        }
        self.running
            .lock()
            .expect("runner lock")
            .get(&inst.id)
            .and_then(|r| r.control.clone())
            .ok_or_else(|| ApiError::conflict("the instance is not running in this server"))
    }

    /// The live operator and checkpoint metrics of a running instance.
    ///
    /// # Errors
    /// 409 when it does not run in this server.
    async fn live_metrics(&self, inst: &JobInstance) -> Result<StreamMetrics, ApiError> {
        let control = self
            .running
            .lock()
            .expect("runner lock")
            .get(&inst.id)
            .and_then(|r| r.control.clone())
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "the instance is {}; live metrics exist while it runs",
                    inst.state
                ))
            })?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        control
            .send(Control::Metrics { reply: tx })
            .map_err(|_| ApiError::conflict("the instance has ended"))?;
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .map_err(|_| ApiError::new(StatusCode::GATEWAY_TIMEOUT, "the job did not answer"))?
            .map_err(|_| ApiError::conflict("the instance has ended"))
    }

    /// Starts a savepoint of `inst` and returns its record and the wait for its end.
    async fn savepoint_inner(
        &self,
        job: &Job,
        inst: &JobInstance,
        stop: Option<bool>,
        kind: &str,
    ) -> Result<
        (
            Savepoint,
            impl std::future::Future<Output = Result<Savepoint, StoreError>> + Send + 'static,
        ),
        ApiError,
    > {
        let control = self.control(inst)?;
        let root = self
            .savepoints_root()
            .ok_or_else(|| ApiError::conflict("this server keeps no state directory"))?;
        let sp = self
            .store
            .create_savepoint(&job.id, &inst.id, "", kind)
            .await?;
        let dir = root.join(&job.id).join(format!("savepoint-{}", sp.id));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = control.send(Control::Savepoint {
            dir,
            stop,
            reply: tx,
        });
        let store = self.store.clone();
        let (sp_id, job_id, iid) = (sp.id.clone(), job.id.clone(), inst.id.clone());
        let wait = async move {
            let outcome = match sent {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err("the job ended before the savepoint".into())),
                Err(_) => Err("the job ended before the savepoint".into()),
            };
            let outcome = outcome.map(|p| Some(p.to_string_lossy().to_string()));
            super::lifecycle::record_savepoint(&store, (&sp_id, &job_id, &iid), outcome).await
        };
        Ok((sp, wait))
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
                control: None,
            },
        );
        Ok(())
    }

    async fn drive(
        &self,
        id: &str,
        spec: JobSpec,
        token: CancellationToken,
        control: scaleph_engine::ControlReceiver,
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
        let run =
            tokio::spawn(async move { engine.run_controlled(spec, tx, token, control).await });
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
        let failed = matches!(
            outcome,
            Err(EngineError::Execution(_) | EngineError::Internal(_) | EngineError::Timeout(_))
        );
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
        r?;
        if failed {
            self.auto_restart(id).await;
        }
        Ok(())
    }

    /// Applies the job's restart policy to instance `id`, which just failed: starts a new
    /// instance of the job's current version restored from the newer of the job's latest
    /// completed savepoint and the failed run's latest checkpoint (or the state it was
    /// restored from), unless the policy's attempts within its window are spent. Attempts and
    /// refusals are written to the instance logs (as for Flink instances).
    async fn auto_restart(&self, id: &str) {
        use super::lifecycle::{latest_savepoint, newer, restart_attempt};
        let (Ok(failed), Ok(job)) = (
            self.store.get_instance(id).await,
            self.store.job_of_instance(id).await,
        ) else {
            return;
        };
        let Some(policy) = job.restart_policy else {
            return;
        };
        let log = |iid: String, line: String| {
            let store = self.store.clone();
            async move {
                let _ = store.append_logs(&iid, &[(LogLevel::Info, line)]).await;
            }
        };
        let attempt = match restart_attempt(&self.store, &job, &policy).await {
            Ok(a) => a,
            Err(line) => return log(id.to_string(), line).await,
        };
        let checkpoint = self
            .checkpoint_dir(id)
            .and_then(|d| latest_checkpoint_time(&d).map(|t| (t, d.to_string_lossy().to_string())))
            .or_else(|| failed.restored_from.clone().map(|p| (failed.created_at, p)));
        let from = newer(latest_savepoint(&self.store, &job).await, checkpoint);
        let Ok(version) = self.store.get_version(&job.id, job.current_version).await else {
            return;
        };
        match self
            .start(&job, version.script, from.clone().map(PathBuf::from), true)
            .await
        {
            Ok(new) => {
                let _ = self.store.set_restart_of(&new.id, id).await;
                let what = format!(
                    "auto-restart attempt {attempt} of {}: instance {} {}",
                    policy.max_attempts,
                    new.id,
                    from.map_or(
                        "without state (no savepoint or checkpoint)".to_string(),
                        |p| { format!("from {p}") }
                    )
                );
                log(id.to_string(), what.clone()).await;
                log(new.id, what).await;
            }
            Err(e) => {
                log(
                    id.to_string(),
                    format!("auto-restart attempt {attempt} failed: {}", e.detail()),
                )
                .await
            }
        }
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

#[async_trait::async_trait]
impl super::lifecycle::Lifecycle for Runner {
    async fn submit(
        &self,
        job: &Job,
        script: &str,
        restore: Option<&str>,
        allow_non_restored_state: bool,
    ) -> Result<JobInstance, ApiError> {
        self.embedded.validate(script, &job.settings).await?;
        let restore = restore.map(|p| self.own_savepoint(p)).transpose()?;
        let restoring = restore.is_some();
        let inst = self
            .start(job, script.to_string(), restore, allow_non_restored_state)
            .await?;
        if restoring {
            // As Flink fails a submission whose savepoint does not fit, answer the restore's
            // outcome: the state is checked before the job runs.
            for _ in 0..750 {
                let now = self.store.get_instance(&inst.id).await?;
                match now.state {
                    JobState::Created | JobState::Initializing => {}
                    JobState::Failed => {
                        return Err(ApiError::invalid(format!(
                            "the restore failed: {}",
                            now.error.unwrap_or_default()
                        ))
                        .with("instance_id", inst.id));
                    }
                    _ => return Ok(now),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(inst)
    }

    async fn cancel(&self, inst: &JobInstance) -> Result<JobInstance, ApiError> {
        Ok(Runner::cancel(self, &inst.id).await?)
    }

    async fn savepoint(
        &self,
        job: &Job,
        inst: &JobInstance,
        stop: Option<bool>,
    ) -> Result<Savepoint, ApiError> {
        let kind = if stop.is_some() { "stop" } else { "savepoint" };
        let (sp, wait) = self.savepoint_inner(job, inst, stop, kind).await?;
        tokio::spawn(wait);
        Ok(sp)
    }

    async fn restart(
        &self,
        job: &Job,
        script: &str,
        inst: &JobInstance,
    ) -> Result<JobInstance, ApiError> {
        self.embedded.validate(script, &job.settings).await?;
        let (_, wait) = self
            .savepoint_inner(job, inst, Some(false), "restart")
            .await?;
        let sp = wait.await?;
        let path = match (sp.status.as_str(), sp.path) {
            ("COMPLETED", Some(p)) => PathBuf::from(p),
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "restart stopped: the savepoint failed: {}",
                        sp.error.unwrap_or_default()
                    ),
                ))
            }
        };
        // The old run ends with the savepoint; wait for its slot before taking a new one.
        for _ in 0..200 {
            if !self
                .running
                .lock()
                .expect("runner lock")
                .contains_key(&inst.id)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.start(job, script.to_string(), Some(path), false).await
    }

    async fn dispose(&self, sp: &Savepoint) -> Result<(), ApiError> {
        let path = match (sp.status.as_str(), &sp.path) {
            ("COMPLETED", Some(p)) => self.own_savepoint(p)?,
            _ => {
                return Err(ApiError::conflict(format!(
                    "savepoint is {}; only COMPLETED ones can be disposed",
                    sp.status
                )))
            }
        };
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot delete the savepoint: {e}"),
                ))
            }
        }
        Ok(self
            .store
            .finish_savepoint(&sp.id, "DISPOSED", None, None)
            .await?)
    }

    async fn vertices(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        let m = self.live_metrics(inst).await?;
        let vertices: Vec<serde_json::Value> = m
            .operators
            .iter()
            .map(|o| {
                serde_json::json!({
                    "id": format!("{}-{}", o.statement, o.id),
                    "name": o.name,
                    "parallelism": 1,
                    "status": inst.state,
                    "metrics": { "read-records": o.records_in, "write-records": o.records_out },
                    "records_in_per_second": o.records_in_per_second,
                    "records_out_per_second": o.records_out_per_second,
                    "statement": o.statement,
                    "parent": o.parent.map(|p| format!("{}-{p}", o.statement)),
                    "watermark": o.watermark,
                    "watermark_lag_ms": o.watermark_lag_ms,
                    "late_records_dropped": o.late_records_dropped,
                    "state_rows": o.state_rows,
                    "state_bytes": o.state_bytes,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "state": inst.state,
            "vertices": vertices,
            "checkpoints": m.checkpoints,
        }))
    }

    async fn checkpoints(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        let live = self.live_metrics(inst).await.ok();
        let mut done = Vec::new();
        if let Some(dir) = self.checkpoint_dir(&inst.id) {
            let mut dirs = vec![dir];
            while let Some(d) = dirs.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().to_string();
                    if name.starts_with("stmt-") {
                        dirs.push(e.path());
                        continue;
                    }
                    let Ok(text) = std::fs::read_to_string(e.path().join("_metadata")) else {
                        continue;
                    };
                    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else {
                        continue;
                    };
                    done.push(serde_json::json!({
                        "id": m["id"],
                        "status": "COMPLETED",
                        "latest_ack_timestamp": m["timestamp"],
                        "external_path": e.path().to_string_lossy(),
                    }));
                }
            }
        }
        done.sort_by_key(|c| std::cmp::Reverse(c["id"].as_u64().unwrap_or(0)));
        let completed = live.as_ref().map_or(done.len() as u64, |m| {
            m.checkpoints.iter().map(|c| c.completed).sum()
        });
        Ok(serde_json::json!({
            "counts": { "completed": completed, "in_progress": 0, "failed": 0 },
            "latest": { "completed": done.first().cloned() },
            "history": done,
            "statements": live.map(|m| m.checkpoints),
        }))
    }
}

/// The time (epoch ms) of the newest completed checkpoint under an instance's directory.
fn latest_checkpoint_time(dir: &Path) -> Option<i64> {
    let mut best: Option<i64> = None;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("stmt-") {
                dirs.push(e.path());
            } else if name.starts_with("chk-") {
                let Ok(text) = std::fs::read_to_string(e.path().join("_metadata")) else {
                    continue;
                };
                let t = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|m| m["timestamp"].as_i64());
                best = best.max(t);
            }
        }
    }
    best
}
