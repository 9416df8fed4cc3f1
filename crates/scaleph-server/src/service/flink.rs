//! Flink session clusters: registration, health, the SQL runner jar, job submission, operations
//! (cancel, stop with savepoint, savepoints, restore, restart, dispose) and one reconciler per
//! cluster that keeps instance states equal to the cluster's.
//!
//! Reconciliation: one `GET /jobs/overview` per cluster per interval (1 s by default) serves all
//! its instances. Unreachable cluster → its instances become UNKNOWN with the reason (not
//! FAILED), the cluster UNREACHABLE since the first failed poll, and polls back off up to 30 s;
//! a job missing from a reachable cluster → LOST with a reason. States change only through
//! `Store::observe` (the state machine's rule for observed states), so every change lands in
//! the instance's history.

use crate::error::ApiError;
use axum::http::StatusCode;
use scaleph_engine::{JobState, LogLevel, ValidationReport};
use scaleph_flink::{FlinkClient, FlinkError, JarRun, Operation};
use scaleph_meta::{Cluster, Job, JobInstance, Savepoint, Store, StoreError};
use scaleph_secrets::Keyring;
use scaleph_sql::StatementKind;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Entry class of the SQL runner (`runners/flink-sql-runner`).
pub const RUNNER_CLASS: &str = "io.scaleph.runner.SqlRunner";

/// Longest wait for a savepoint or stop to complete.
const SAVEPOINT_LIMIT: Duration = Duration::from_secs(300);

/// Flink settings of the platform.
#[derive(Debug, Clone)]
pub struct FlinkConfig {
    /// The SQL runner jar (`runners/flink-sql-runner/build.sh` builds it).
    pub sql_runner_jar: Option<PathBuf>,
    /// Reconciliation interval (default 1 s).
    pub reconcile_every: Duration,
    /// Where uploaded jar artifacts are kept (`<data-dir>/artifacts`).
    pub artifacts_dir: PathBuf,
    /// Local paths (`filesystem` tables) and hosts (connector options) SQL jobs may name;
    /// checked before submission.
    pub access: scaleph_connectors::ConnectorContext,
    /// A Flink distribution (its `lib/` jars) for validating scripts with Flink's planner in a
    /// local JVM; `None` = structural checks only.
    pub flink_home: Option<PathBuf>,
}

impl Default for FlinkConfig {
    fn default() -> Self {
        Self {
            sql_runner_jar: None,
            reconcile_every: Duration::from_secs(1),
            artifacts_dir: PathBuf::from("scaleph-data/artifacts"),
            access: scaleph_connectors::ConnectorContext::default(),
            flink_home: None,
        }
    }
}

/// The Flink service; cheap to clone.
#[derive(Clone)]
pub struct Flink {
    store: Store,
    keyring: Arc<Keyring>,
    cfg: Arc<FlinkConfig>,
    loops: Arc<Mutex<HashMap<String, CancellationToken>>>,
    /// Validation JVMs at once (each takes up to 768 MiB).
    validations: Arc<tokio::sync::Semaphore>,
}

/// A script problem as a 422 with `line` and `column`.
pub(crate) fn positioned(e: scaleph_sql::SqlError) -> ApiError {
    ApiError::invalid(e.to_string())
        .with("line", e.pos.line)
        .with("column", e.pos.column)
}

/// Longest a Flink validation may take (JVM start, planning).
const VALIDATE_LIMIT: Duration = Duration::from_secs(120);

/// Maps a Flink client error to the API's: unreachable or refused → 502, unknown → 404.
pub(crate) fn flink_err(e: FlinkError) -> ApiError {
    match &e {
        FlinkError::Unreachable(_) => ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()),
        FlinkError::Api { status: 404, .. } => ApiError::not_found(e.to_string()),
        FlinkError::Api { .. } => ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()),
        FlinkError::Decode(_) => ApiError::new(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// The Flink job id of an instance: its UUID's 32 hex digits.
pub fn flink_job_id(instance_id: &str) -> String {
    instance_id.replace('-', "")
}

impl Flink {
    /// The service over `store`; secrets opened with `keyring`.
    pub fn new(store: Store, keyring: Arc<Keyring>, cfg: FlinkConfig) -> Self {
        Self {
            store,
            keyring,
            cfg: Arc::new(cfg),
            loops: Arc::default(),
            validations: Arc::new(tokio::sync::Semaphore::new(2)),
        }
    }

    /// Validates a script for Flink. Always: syntax (line:column) and the file and host
    /// permissions. With a Flink distribution (`flink_home`) and the SQL runner jar: Flink's own
    /// parser, validator and planner in a local JVM (the runner's `--mode validate`, nothing
    /// runs), whose `SqlParseException`/`ValidationException` positions are mapped to the
    /// script's `line:column`, and whose `EXPLAIN` comes back in the report.
    ///
    /// # Errors
    /// 422 with `line`/`column` for syntax, permission or Flink validation errors; 500 when the
    /// JVM cannot be started or answers nothing readable.
    pub async fn validate(&self, script: &str) -> Result<ValidationReport, ApiError> {
        let stmts = scaleph_sql::parse_script(script).map_err(positioned)?;
        self.cfg.access.check_script(&stmts).map_err(positioned)?;
        let mut report = ValidationReport {
            statements: stmts.len(),
            validated_by: "structure".into(),
            ..Default::default()
        };
        for st in &stmts {
            match &st.kind {
                StatementKind::CreateTable(t) => report.tables.push(t.name.clone()),
                StatementKind::Insert(i) => report.sinks.push(i.target.clone()),
                StatementKind::StatementSet(set) => {
                    report.sinks.extend(set.iter().map(|i| i.target.clone()))
                }
                _ => {}
            }
        }
        let (Some(home), Some(jar)) = (&self.cfg.flink_home, &self.cfg.sql_runner_jar) else {
            report.notes.push(
                "checked by the platform only (syntax, file and host permissions): the server has no Flink distribution to validate with (--flink-home / SCALEPH_FLINK_HOME, and --flink-sql-runner)".into(),
            );
            return Ok(report);
        };
        let _slot = self
            .validations
            .acquire()
            .await
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        let java = std::env::var_os("JAVA_HOME")
            .map(|h| PathBuf::from(h).join("bin/java"))
            .unwrap_or_else(|| PathBuf::from("java"));
        let classpath = format!("{}:{}/lib/*", jar.display(), home.display());
        let child = tokio::process::Command::new(java)
            .args([
                "-Xmx768m",
                "-cp",
                &classpath,
                RUNNER_CLASS,
                "--mode",
                "validate",
            ])
            .arg("--script-base64")
            .arg(base64_encode(script.as_bytes()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot start the Flink validator: {e}"),
                )
            })?;
        let out = tokio::time::timeout(VALIDATE_LIMIT, child.wait_with_output())
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the Flink validator took more than 120 s",
                )
            })?
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the Flink validator failed: {e}"),
                )
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let answer: serde_json::Value = text
            .lines()
            .find_map(|l| l.strip_prefix("SCALEPH_VALIDATE "))
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the Flink validator gave no answer",
                )
            })?;
        if answer["ok"] == true {
            report.validated_by = "flink".into();
            report.explain = answer["explain"].as_str().map(str::to_string);
            return Ok(report);
        }
        // Flink's position is inside the statement (1-based; 0 = none): make it the script's.
        let at = answer["statement"]
            .as_u64()
            .and_then(|i| stmts.get(i as usize))
            .map(|s| s.pos)
            .unwrap_or_default();
        let (l, c) = (
            answer["line"].as_u64().unwrap_or(0) as u32,
            answer["column"].as_u64().unwrap_or(0) as u32,
        );
        let (line, column) = match (l, at.line) {
            (0, 0) => (1, 1),
            (0, _) => (at.line, at.column),
            (1, _) => (at.line.max(1), at.column.max(1) + c - 1),
            (_, _) => (at.line.max(1) + l - 1, c),
        };
        let message = answer["message"]
            .as_str()
            .unwrap_or("Flink refused the script");
        Err(
            ApiError::invalid(format!("{line}:{column}: Flink: {message}"))
                .with("line", line)
                .with("column", column),
        )
    }

    async fn client_for(&self, c: &Cluster) -> Result<FlinkClient, ApiError> {
        let secrets = self.store.cluster_secrets(&c.id).await?;
        let auth = match secrets.auth_header {
            Some(sealed) => Some(self.keyring.open(&sealed).map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot open the cluster's auth header: {e}"),
                )
            })?),
            None => None,
        };
        Ok(FlinkClient::new(&c.rest_url, auth, Duration::from_secs(60)))
    }

    /// The cluster and a client for it.
    ///
    /// # Errors
    /// 404 for an unknown cluster.
    pub async fn client(&self, cluster_id: &str) -> Result<(Cluster, FlinkClient), ApiError> {
        let c = self.store.get_cluster(cluster_id).await?;
        let client = self.client_for(&c).await?;
        Ok((c, client))
    }

    /// Registers a cluster, checks it once, and starts its reconciler.
    ///
    /// # Errors
    /// 422 for a bad URL, 409 for a taken name.
    pub async fn register(
        &self,
        name: &str,
        rest_url: &str,
        savepoint_dir: Option<&str>,
        auth_header: Option<&str>,
    ) -> Result<Cluster, ApiError> {
        let url = rest_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(ApiError::invalid(format!(
                "'rest_url' must be the JobManager's http(s):// REST address, got '{rest_url}'"
            )));
        }
        let sealed = auth_header.map(|h| self.keyring.seal(h));
        let c = self
            .store
            .create_cluster(name, "flink-session", url, savepoint_dir, sealed.as_deref())
            .await?;
        let client = self.client_for(&c).await?;
        self.check_health(&c.id, &client).await;
        self.start(&c.id);
        Ok(self.store.get_cluster(&c.id).await?)
    }

    async fn check_health(&self, id: &str, client: &FlinkClient) -> bool {
        match client.overview().await {
            Ok(o) => {
                let _ = self
                    .store
                    .set_cluster_health(id, "UP", None, Some(&o.flink_version))
                    .await;
                true
            }
            Err(e) => {
                let _ = self
                    .store
                    .set_cluster_health(id, "UNREACHABLE", Some(&e.to_string()), None)
                    .await;
                false
            }
        }
    }

    /// Deletes a cluster no job uses and stops its reconciler.
    ///
    /// # Errors
    /// 404, 409 while jobs use it.
    pub async fn delete(&self, id: &str) -> Result<(), ApiError> {
        self.store.delete_cluster(id).await?;
        if let Some(t) = self.loops.lock().expect("loops").remove(id) {
            t.cancel();
        }
        Ok(())
    }

    /// Starts the reconcilers of all registered clusters (at server start).
    ///
    /// # Errors
    /// Store errors.
    pub async fn start_all(&self) -> Result<(), StoreError> {
        for c in self.store.list_clusters().await? {
            self.start(&c.id);
        }
        Ok(())
    }

    fn start(&self, id: &str) {
        let token = CancellationToken::new();
        if let Some(old) = self
            .loops
            .lock()
            .expect("loops")
            .insert(id.to_string(), token.clone())
        {
            old.cancel();
        }
        let this = self.clone();
        let id = id.to_string();
        tokio::spawn(async move { this.reconcile_loop(id, token).await });
    }

    async fn reconcile_loop(self, id: String, token: CancellationToken) {
        let every = self.cfg.reconcile_every;
        let mut delay = every;
        let mut up: Option<bool> = None;
        let mut last_health_write = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let client = match self.store.get_cluster(&id).await {
                Ok(c) => match self.client_for(&c).await {
                    Ok(cl) => cl,
                    Err(_) => continue,
                },
                Err(StoreError::NotFound(_)) => return,
                Err(_) => continue,
            };
            match client.jobs_overview().await {
                Ok(jobs) => {
                    delay = every;
                    let stale =
                        up != Some(true) || last_health_write.elapsed() > Duration::from_secs(10);
                    if stale && self.check_health(&id, &client).await {
                        up = Some(true);
                        last_health_write = std::time::Instant::now();
                    }
                    if let Err(e) = self.reconcile(&id, &client, &jobs).await {
                        tracing::warn!(cluster = %id, error = %e, "reconcile failed");
                    }
                }
                Err(e) => {
                    delay = (delay * 2).min(Duration::from_secs(30));
                    let reason = format!("cluster unreachable: {e}");
                    if up != Some(false) || last_health_write.elapsed() > Duration::from_secs(10) {
                        let _ = self
                            .store
                            .set_cluster_health(&id, "UNREACHABLE", Some(&e.to_string()), None)
                            .await;
                        up = Some(false);
                        last_health_write = std::time::Instant::now();
                    }
                    if let Ok(active) = self.store.active_on_cluster(&id).await {
                        for i in active
                            .iter()
                            .filter(|i| i.state != JobState::Unknown && i.flink_job_id.is_some())
                        {
                            let _ = self
                                .store
                                .observe(&i.id, JobState::Unknown, Some(&reason), None)
                                .await;
                        }
                    }
                }
            }
        }
    }

    /// One reconciliation pass over the cluster's active instances with `jobs` as read.
    async fn reconcile(
        &self,
        cluster_id: &str,
        client: &FlinkClient,
        jobs: &[scaleph_flink::JobOverview],
    ) -> Result<(), StoreError> {
        let by_id: HashMap<&str, &scaleph_flink::JobOverview> =
            jobs.iter().map(|j| (j.jid.as_str(), j)).collect();
        for inst in self.store.active_on_cluster(cluster_id).await? {
            let Some(fid) = inst.flink_job_id.as_deref() else {
                continue; // submission in flight
            };
            match by_id.get(fid) {
                Some(j) => {
                    let Some(seen) = JobState::parse(&j.state) else {
                        tracing::warn!(state = %j.state, "unknown Flink job state");
                        continue;
                    };
                    if seen == inst.state {
                        continue;
                    }
                    let (reason, error) = if seen == JobState::Failed {
                        let cause = self.root_cause(client, fid).await;
                        (Some(format!("Flink: {cause}")), Some(cause))
                    } else {
                        (Some("observed on the cluster".to_string()), None)
                    };
                    match self
                        .store
                        .observe(&inst.id, seen, reason.as_deref(), error.as_deref())
                        .await
                    {
                        Ok(_) | Err(StoreError::IllegalTransition(_)) => {}
                        Err(e) => return Err(e),
                    }
                    if let Some(err) = &error {
                        let _ = self
                            .store
                            .append_logs(&inst.id, &[(LogLevel::Error, err.clone())])
                            .await;
                    }
                    if seen == JobState::Failed {
                        let this = self.clone();
                        let client = client.clone();
                        tokio::spawn(async move { this.auto_restart(&client, &inst).await });
                    }
                }
                None => {
                    let reason = format!("Flink job {fid} is not on the cluster (a JobManager restart without high availability loses its jobs)");
                    match self
                        .store
                        .observe(&inst.id, JobState::Lost, Some(&reason), Some(&reason))
                        .await
                    {
                        Ok(_) | Err(StoreError::IllegalTransition(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies the job's restart policy to an instance that just ended FAILED: resubmits
    /// from the newer of the job's latest completed savepoint and the failed run's latest
    /// retained checkpoint (or, when it completed none, the state it was restored from;
    /// fresh when there is nothing), unless the policy's attempts within
    /// its window are spent. Every attempt, and a refusal, is written to the instance logs.
    async fn auto_restart(&self, client: &FlinkClient, failed: &JobInstance) {
        let Ok(job) = self.store.job_of_instance(&failed.id).await else {
            return;
        };
        let Some(policy) = job.restart_policy else {
            return;
        };
        let log = |id: String, line: String| {
            let store = self.store.clone();
            async move {
                let _ = store.append_logs(&id, &[(LogLevel::Info, line)]).await;
            }
        };
        let used = match super::lifecycle::restart_attempt(&self.store, &job, &policy).await {
            Ok(attempt) => attempt - 1,
            Err(line) => {
                log(failed.id.clone(), line).await;
                return;
            }
        };
        let savepoint = super::lifecycle::latest_savepoint(&self.store, &job).await;
        let checkpoint = match failed.flink_job_id.as_deref() {
            Some(fid) => client.checkpoints(fid).await.ok().and_then(|c| {
                let l = &c["latest"]["completed"];
                Some((
                    l["latest_ack_timestamp"].as_i64()?,
                    l["external_path"].as_str()?.to_string(),
                ))
            }),
            None => None,
        };
        // A run that failed before its first checkpoint still holds the state it started from.
        let checkpoint =
            checkpoint.or_else(|| failed.restored_from.clone().map(|p| (failed.created_at, p)));
        let from = super::lifecycle::newer(savepoint, checkpoint);
        let script = match self.store.get_version(&job.id, job.current_version).await {
            Ok(v) => v.script,
            Err(_) => return,
        };
        let attempt = used + 1;
        match self.submit(&job, &script, from.as_deref(), true).await {
            Ok(new) => {
                let _ = self.store.set_restart_of(&new.id, &failed.id).await;
                let what = format!(
                    "auto-restart attempt {attempt} of {}: instance {} {}",
                    policy.max_attempts,
                    new.id,
                    from.as_deref().map_or(
                        "without state (no savepoint or retained checkpoint)".to_string(),
                        |p| format!("from {p}")
                    )
                );
                log(failed.id.clone(), what.clone()).await;
                log(new.id.clone(), what).await;
            }
            Err(e) => {
                log(
                    failed.id.clone(),
                    format!("auto-restart attempt {attempt} failed: {}", e.detail()),
                )
                .await;
            }
        }
    }

    async fn root_cause(&self, client: &FlinkClient, fid: &str) -> String {
        match client.exceptions(fid).await {
            Ok(x) => x
                .exception_history
                .entries
                .first()
                .map(|e| scaleph_flink::root_cause(&e.stacktrace))
                .unwrap_or_else(|| "the job failed (Flink recorded no exception)".into()),
            Err(e) => format!("the job failed; its exceptions could not be read: {e}"),
        }
    }

    /// Uploads the SQL runner to the cluster unless the same jar (by SHA-256) is there.
    async fn ensure_runner(&self, c: &Cluster, client: &FlinkClient) -> Result<String, ApiError> {
        let path = self.cfg.sql_runner_jar.as_ref().ok_or_else(|| {
            ApiError::invalid("the Flink SQL runner jar is not configured: build it with runners/flink-sql-runner/build.sh and start the server with --flink-sql-runner <jar>")
        })?;
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the SQL runner jar {}: {e}", path.display()),
            )
        })?;
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let s = self.store.cluster_secrets(&c.id).await?;
        if let (Some(jar), Some(d)) = (&s.runner_jar_id, &s.runner_digest) {
            if *d == digest && client.jar_ids().await.map_err(flink_err)?.contains(jar) {
                return Ok(jar.clone());
            }
        }
        let jar = client.upload_jar(path).await.map_err(flink_err)?;
        self.store.set_runner_jar(&c.id, &jar, &digest).await?;
        Ok(jar)
    }

    /// Submits a job's current script to its cluster as a new instance, optionally restored
    /// from `savepoint` (a path). The script's syntax is checked first (422 with line:column);
    /// Flink's refusal (planning errors) marks the instance FAILED and answers 422 with
    /// Flink's root cause.
    ///
    /// # Errors
    /// 422 (syntax, Flink refused), 502 (cluster unreachable).
    pub async fn submit(
        &self,
        job: &Job,
        script: &str,
        savepoint: Option<&str>,
        allow_non_restored_state: bool,
    ) -> Result<JobInstance, ApiError> {
        if job.jar.is_none() {
            let stmts = scaleph_sql::parse_script(script).map_err(positioned)?;
            self.cfg.access.check_script(&stmts).map_err(positioned)?;
        }
        let cluster_id = job
            .cluster_id
            .as_deref()
            .ok_or_else(|| ApiError::invalid("engine 'flink' needs a 'cluster_id'"))?;
        let (c, client) = self.client(cluster_id).await?;
        let jar = match &job.jar {
            Some(spec) => self.ensure_artifact(job, spec, &client).await?,
            None => self.ensure_runner(&c, &client).await?,
        };
        let inst = self
            .store
            .create_instance(
                &job.id,
                job.current_version,
                job.engine,
                Some(cluster_id),
                savepoint,
            )
            .await?;
        let fid = flink_job_id(&inst.id);
        let mut args = vec![
            "--script-base64".to_string(),
            base64_encode(script.as_bytes()),
            "--pipeline-name".to_string(),
            format!("scaleph:{}", job.name),
        ];
        // Jobs restarted by the platform need their checkpoints kept after a failure.
        if job.restart_policy.is_some() {
            args.push("--set".into());
            args.push(
                "execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION"
                    .into(),
            );
        }
        for (k, v) in &job.settings.options {
            args.push("--set".into());
            args.push(format!("{k}={v}"));
        }
        let (entry_class, args) = match &job.jar {
            Some(spec) => (spec.entry_class.clone(), spec.args.clone()),
            None => (Some(RUNNER_CLASS.to_string()), args),
        };
        let run = JarRun {
            entry_class,
            program_args_list: args,
            parallelism: job.settings.parallelism,
            savepoint_path: savepoint.map(str::to_string),
            allow_non_restored_state,
            job_id: Some(fid.clone()),
        };
        match client.run_jar(&jar, &run).await {
            Ok(jid) => {
                self.store.set_flink_job_id(&inst.id, &jid).await?;
                let mut line = format!("submitted to cluster '{}' as Flink job {jid}", c.name);
                if let Some(sp) = savepoint {
                    line.push_str(&format!(", restoring from {sp}"));
                }
                self.store
                    .append_logs(&inst.id, &[(LogLevel::Info, line)])
                    .await?;
                Ok(self.store.get_instance(&inst.id).await?)
            }
            Err(e) => {
                let cause = match &e {
                    FlinkError::Api { root_cause, .. } => root_cause.clone(),
                    other => other.to_string(),
                };
                if let FlinkError::Api { errors, .. } = &e {
                    let _ = self
                        .store
                        .append_logs(&inst.id, &[(LogLevel::Error, errors.join("\n"))])
                        .await;
                }
                self.store
                    .transition(
                        &inst.id,
                        JobState::Failed,
                        Some("Flink refused the job"),
                        Some(&cause),
                    )
                    .await?;
                Err(ApiError::invalid(format!("Flink refused the job: {cause}"))
                    .with("instance_id", inst.id))
            }
        }
    }

    /// Path of an artifact's file: `<artifacts dir>/<project>/<sha256>.jar`.
    pub fn artifact_path(&self, project_id: &str, sha256: &str) -> PathBuf {
        self.cfg
            .artifacts_dir
            .join(project_id)
            .join(format!("{sha256}.jar"))
    }

    /// Stores an uploaded jar (checked to be a zip archive) and records a new version.
    ///
    /// # Errors
    /// 422 when the bytes are not a jar or the name breaks [`super::names::check`]; 500 on I/O errors.
    pub async fn store_artifact(
        &self,
        project_id: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<scaleph_meta::Artifact, ApiError> {
        let name = super::names::check_field("name", name)?;
        if !bytes.starts_with(b"PK\x03\x04") {
            return Err(ApiError::invalid("the upload is not a jar (zip) file"));
        }
        self.store.get_project(project_id).await?;
        let digest: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = self.artifact_path(project_id, &digest);
        let io = |e: std::io::Error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot store the artifact: {e}"),
            )
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let tmp = path.with_extension("jar.tmp");
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(self
            .store
            .create_artifact(project_id, name.trim(), &digest, bytes.len() as i64)
            .await?)
    }

    /// Uploads a jar job's artifact unless the cluster has it (found by its checksum in the
    /// uploaded file name).
    async fn ensure_artifact(
        &self,
        job: &Job,
        spec: &scaleph_meta::JarSpec,
        client: &FlinkClient,
    ) -> Result<String, ApiError> {
        let a = self
            .store
            .get_artifact(&job.project_id, &spec.artifact_id)
            .await?;
        let suffix = format!("_{}.jar", a.sha256);
        let ids = client.jar_ids().await.map_err(flink_err)?;
        if let Some(id) = ids.into_iter().find(|j| j.ends_with(&suffix)) {
            return Ok(id);
        }
        let path = self.artifact_path(&job.project_id, &a.sha256);
        client.upload_jar(&path).await.map_err(flink_err)
    }

    /// A client of the instance's cluster and its Flink job id.
    ///
    /// # Errors
    /// 409 when never submitted; 404 for a deleted cluster.
    async fn job_client(&self, inst: &JobInstance) -> Result<(FlinkClient, String), ApiError> {
        let fid = Self::flink_id(inst)?.to_string();
        let (_, c) = self
            .client(inst.cluster_id.as_deref().unwrap_or_default())
            .await?;
        Ok((c, fid))
    }

    /// Flink's exception history of an instance: `{root_cause, history: [{root_cause,
    /// exception, timestamp, task, stacktrace}], truncated}`, newest first.
    ///
    /// # Errors
    /// 404/502 from Flink.
    pub async fn exceptions(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        let (c, fid) = self.job_client(inst).await?;
        let fid = fid.as_str();
        let x = c.exceptions(fid).await.map_err(flink_err)?;
        let entries: Vec<serde_json::Value> = x
            .exception_history
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "root_cause": scaleph_flink::root_cause(&e.stacktrace),
                    "exception": e.exception_name,
                    "timestamp": e.timestamp,
                    "task": e.task_name,
                    "stacktrace": e.stacktrace,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "root_cause": entries.first().map(|e| e["root_cause"].clone()),
            "history": entries,
            "truncated": x.exception_history.truncated,
        }))
    }

    /// Per-vertex metrics: `{state, vertices: [{id, name, parallelism, status, metrics
    /// (Flink's counters), records_in_per_second, records_out_per_second (summed over subtasks,
    /// while running), backpressure}]}`.
    ///
    /// # Errors
    /// 404/502 from Flink.
    pub async fn vertices(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        let (c, fid) = self.job_client(inst).await?;
        let fid = fid.as_str();
        let job = c.job(fid).await.map_err(flink_err)?;
        let mut out = Vec::new();
        for v in job["vertices"].as_array().into_iter().flatten() {
            let vid = v["id"].as_str().unwrap_or_default();
            let bp = c.backpressure(fid, vid).await.ok();
            // Rates exist while the vertex runs; summed over its subtasks.
            let rates = c
                .subtask_metrics_sum(
                    fid,
                    vid,
                    &["numRecordsInPerSecond", "numRecordsOutPerSecond"],
                )
                .await
                .ok();
            let rate = |name: &str| {
                rates.as_ref().and_then(|r| {
                    r.as_array()?
                        .iter()
                        .find(|m| m["id"] == name)
                        .and_then(|m| m["sum"].as_f64())
                })
            };
            out.push(serde_json::json!({
                "id": vid,
                "name": v["name"],
                "parallelism": v["parallelism"],
                "status": v["status"],
                "metrics": v["metrics"],
                "records_in_per_second": rate("numRecordsInPerSecond"),
                "records_out_per_second": rate("numRecordsOutPerSecond"),
                "backpressure": bp.as_ref().map(|b| b["backpressureLevel"].clone()),
            }));
        }
        Ok(serde_json::json!({ "state": job["state"], "vertices": out }))
    }

    /// Checkpoint statistics as Flink reports them (counts, summary, latest, history).
    ///
    /// # Errors
    /// 404/502 from Flink.
    pub async fn checkpoints(&self, inst: &JobInstance) -> Result<serde_json::Value, ApiError> {
        let (c, fid) = self.job_client(inst).await?;
        let fid = fid.as_str();
        c.checkpoints(fid).await.map_err(flink_err)
    }

    fn flink_id(inst: &JobInstance) -> Result<&str, ApiError> {
        inst.flink_job_id
            .as_deref()
            .ok_or_else(|| ApiError::conflict("the instance was never submitted to Flink"))
    }

    /// Cancels: CANCELLING now, CANCELED when the reconciler sees it.
    ///
    /// # Errors
    /// 409 when already ended; 502 when Flink cannot be reached.
    pub async fn cancel(&self, inst: &JobInstance) -> Result<JobInstance, ApiError> {
        let (client, fid) = self.job_client(inst).await?;
        JobState::transition(inst.state, JobState::Cancelling)
            .or_else(|_| inst.state.observe(JobState::Cancelling))
            .map_err(StoreError::from)?;
        client.cancel(&fid).await.map_err(flink_err)?;
        Ok(self
            .store
            .observe(
                &inst.id,
                JobState::Cancelling,
                Some("cancel requested"),
                None,
            )
            .await?)
    }

    /// Triggers a savepoint (`stop`: stop with savepoint, optionally draining). Returns the
    /// record (IN_PROGRESS); a background task completes it.
    ///
    /// # Errors
    /// 409 when the instance is not running; 502 when Flink refuses or cannot be reached.
    pub async fn savepoint(
        &self,
        job: &Job,
        inst: &JobInstance,
        stop: Option<bool>,
    ) -> Result<Savepoint, ApiError> {
        let (sp, wait) = self
            .savepoint_inner(
                job,
                inst,
                stop,
                if stop.is_some() { "stop" } else { "savepoint" },
            )
            .await?;
        tokio::spawn(wait);
        Ok(sp)
    }

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
        if inst.state != JobState::Running {
            return Err(ApiError::conflict(format!(
                "the instance is {}; savepoints need RUNNING",
                inst.state
            )));
        }
        let fid = Self::flink_id(inst)?.to_string();
        let cluster_id = inst.cluster_id.clone().unwrap_or_default();
        let (c, client) = self.client(&cluster_id).await?;
        // Flink refuses savepoints while tasks are still deploying; say so plainly.
        let details = client.job(&fid).await.map_err(flink_err)?;
        let vertices = details["vertices"].as_array().cloned().unwrap_or_default();
        let running = vertices.iter().filter(|v| v["status"] == "RUNNING").count();
        if running < vertices.len() {
            return Err(ApiError::conflict(format!(
                "{running} of {} tasks are running; a savepoint needs all of them: retry in a moment",
                vertices.len()
            )));
        }
        let dir = c.savepoint_dir.as_deref();
        let trigger = match stop {
            Some(drain) => client.stop_with_savepoint(&fid, dir, drain).await,
            None => client.trigger_savepoint(&fid, dir).await,
        }
        .map_err(flink_err)?;
        let sp = self
            .store
            .create_savepoint(&job.id, &inst.id, &cluster_id, kind)
            .await?;
        let store = self.store.clone();
        let (sp_id, job_id, iid) = (sp.id.clone(), job.id.clone(), inst.id.clone());
        let wait = async move {
            let op = client
                .wait_savepoint(&fid, &trigger, Duration::from_millis(200), SAVEPOINT_LIMIT)
                .await
                .unwrap_or_else(|e| Operation::Failed(e.to_string()));
            let outcome = match op {
                Operation::Completed(p) => Ok(p),
                Operation::Failed(m) => Err(m),
                Operation::InProgress => Err("savepoint gave no result".into()),
            };
            super::lifecycle::record_savepoint(&store, (&sp_id, &job_id, &iid), outcome).await
        };
        Ok((sp, wait))
    }

    /// Stops with a savepoint, waits for it, and submits the job again from it, as one action.
    ///
    /// # Errors
    /// As [`Flink::savepoint`] and [`Flink::submit`]; 502 when the savepoint fails.
    pub async fn restart(
        &self,
        job: &Job,
        script: &str,
        inst: &JobInstance,
    ) -> Result<JobInstance, ApiError> {
        let (_, wait) = self
            .savepoint_inner(job, inst, Some(false), "restart")
            .await?;
        let sp = wait.await?;
        let path = match (sp.status.as_str(), sp.path) {
            ("COMPLETED", Some(p)) => p,
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
        self.submit(job, script, Some(&path), false).await
    }

    /// Deletes a completed savepoint's files through Flink and marks it DISPOSED.
    ///
    /// # Errors
    /// 409 unless COMPLETED; 502 when Flink fails.
    pub async fn dispose(&self, sp: &Savepoint) -> Result<(), ApiError> {
        let path = match (sp.status.as_str(), &sp.path) {
            ("COMPLETED", Some(p)) => p.clone(),
            _ => {
                return Err(ApiError::conflict(format!(
                    "savepoint is {}; only COMPLETED ones can be disposed",
                    sp.status
                )))
            }
        };
        let (_, client) = self.client(&sp.cluster_id).await?;
        match client
            .dispose_savepoint(&path, Duration::from_secs(60))
            .await
            .map_err(flink_err)?
        {
            Operation::Completed(_) => Ok(self
                .store
                .finish_savepoint(&sp.id, "DISPOSED", None, None)
                .await?),
            Operation::Failed(m) => Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("Flink could not dispose the savepoint: {m}"),
            )),
            Operation::InProgress => Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "disposal still in progress",
            )),
        }
    }
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
