//! Alerts: channels (checked, their hosts against the admin's `--allowed-host`, secrets sealed),
//! rules, and the loop that raises alerts from what happened and delivers them with retries.
//!
//! The loop ([`Alerter`]) looks every 2 s at each enabled rule's facts since the rule was
//! created (at most the last hour, so a restart after downtime still alerts what it missed),
//! raises each once ([`Store::raise_alert`]: keyed by rule and occurrence) and sends due
//! deliveries, each claimed by compare-and-set. A failed attempt is retried after 10 s, 30 s,
//! 90 s and 270 s, then the delivery is `FAILED` (the history's "retry" sends it again).
//! Alerts and ended schedule fires older than 30 days are pruned hourly.

use crate::error::ApiError;
use crate::AppState;
use scaleph_alert::{AlertError, Channel, ChannelKind, Message};
use scaleph_connectors::hosts::Endpoint;
use scaleph_meta::{
    AlertChannel, AlertDelivery, AlertFact, AlertRule, NewAlert, RuleFields, Store,
};
use scaleph_secrets::Keyring;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// How often rules are evaluated and deliveries looked for.
const TICK: Duration = Duration::from_secs(2);
/// How often running instances' checkpoint statistics are read (`checkpoint_failed` rules).
const CHECKPOINT_TICK: Duration = Duration::from_secs(10);
/// How far back a rule looks (bounded work per tick).
const LOOKBACK_MS: i64 = 3_600_000;
/// A claimed delivery not finished after this is taken over (the sender died).
const LEASE_MS: i64 = 120_000;
/// Attempts per delivery.
pub const MAX_ATTEMPTS: i64 = 5;
/// How long alerts and ended schedule fires are kept (30 days).
pub const HISTORY_MS: i64 = 30 * 86_400_000;
/// How often old history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A job instance became FAILED.
    InstanceFailed,
    /// A job restarted more than `threshold` times within `minutes` (Flink's RESTARTING
    /// transitions plus the platform's automatic restarts); at most one alert per window.
    InstanceRestarts,
    /// A job instance stayed LOST or UNKNOWN for `minutes`.
    InstanceLost,
    /// A running instance's failed-checkpoint count grew.
    CheckpointFailed,
    /// A workflow run FAILED.
    WorkflowFailed,
    /// A workflow task ran past its timeout.
    WorkflowTimeout,
    /// A scheduled fire did not run (skipped by the overlap policy, missed by the misfire
    /// policy, or could not be started).
    ScheduleMissed,
}

impl RuleKind {
    const ALL: [RuleKind; 7] = [
        RuleKind::InstanceFailed,
        RuleKind::InstanceRestarts,
        RuleKind::InstanceLost,
        RuleKind::CheckpointFailed,
        RuleKind::WorkflowFailed,
        RuleKind::WorkflowTimeout,
        RuleKind::ScheduleMissed,
    ];

    /// Snake-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleKind::InstanceFailed => "instance_failed",
            RuleKind::InstanceRestarts => "instance_restarts",
            RuleKind::InstanceLost => "instance_lost",
            RuleKind::CheckpointFailed => "checkpoint_failed",
            RuleKind::WorkflowFailed => "workflow_failed",
            RuleKind::WorkflowTimeout => "workflow_timeout",
            RuleKind::ScheduleMissed => "schedule_missed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn about_jobs(&self) -> bool {
        matches!(
            self,
            RuleKind::InstanceFailed
                | RuleKind::InstanceRestarts
                | RuleKind::InstanceLost
                | RuleKind::CheckpointFailed
        )
    }

    fn about_workflows(&self) -> bool {
        matches!(self, RuleKind::WorkflowFailed | RuleKind::WorkflowTimeout)
    }
}

/// A channel as the API takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// Name, unique in the project (1–100 characters).
    pub name: String,
    /// Kind.
    pub kind: ChannelKind,
    /// Configuration by kind (see `scaleph-alert`): webhook `{url, secret}`; email `{host,
    /// port, security, username, password, from, to}`; dingtalk / feishu `{url, secret}`;
    /// wecom `{url}`. On update, secret keys left out keep their stored value.
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

/// A channel as the API shows it: secrets removed, their presence listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Configuration without secrets.
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    /// Secret keys that are set (never returned).
    pub secrets_set: Vec<String>,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

impl From<AlertChannel> for ChannelView {
    fn from(c: AlertChannel) -> Self {
        let mut config = c.config;
        let secrets_set = ChannelKind::parse(&c.kind)
            .map(|k| k.secret_keys())
            .unwrap_or_default()
            .iter()
            .filter(|k| config.remove(**k).is_some())
            .map(|k| k.to_string())
            .collect();
        Self {
            id: c.id,
            project_id: c.project_id,
            name: c.name,
            kind: c.kind,
            config,
            secrets_set,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A rule as the API takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name, unique in the project (1–100 characters).
    pub name: String,
    /// What it watches.
    pub kind: RuleKind,
    /// Only this job of the project (job rules, `schedule_missed`).
    #[serde(default)]
    pub job_id: Option<String>,
    /// Only this workflow of the project (workflow rules, `schedule_missed`).
    #[serde(default)]
    pub workflow_id: Option<String>,
    /// `instance_restarts`: restarts allowed in the window (default 3, 0–1000).
    #[serde(default)]
    pub threshold: Option<i64>,
    /// `instance_restarts`: the window (default 60); `instance_lost`: how long LOST/UNKNOWN
    /// (default 5). Minutes, 1–10080.
    #[serde(default)]
    pub minutes: Option<i64>,
    /// Channel ids of the project (1–20).
    pub channels: Vec<String>,
    /// Evaluated (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The outcome of a test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendResult {
    /// Delivered.
    pub ok: bool,
    /// The receiver's answer or the error.
    pub detail: String,
    /// Time taken, ms.
    pub elapsed_ms: u64,
}

fn check_name(name: &str, what: &str) -> Result<(), ApiError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "the {what} name must be 1–100 characters without control characters"
        )));
    }
    Ok(())
}

fn check_host(ch: &Channel, state: &AppState) -> Result<(), ApiError> {
    let (host, port) = ch.endpoint();
    state
        .access
        .hosts
        .check(&Endpoint {
            host,
            port: Some(port),
        })
        .map_err(|e| ApiError::forbidden(e.to_string()))
}

fn invalid(e: AlertError) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// Opens a stored channel's secrets and checks it.
fn open(c: &AlertChannel, keyring: &Keyring) -> Result<Channel, String> {
    let kind = ChannelKind::parse(&c.kind).ok_or_else(|| format!("unknown kind '{}'", c.kind))?;
    let mut config = c.config.clone();
    for k in kind.secret_keys() {
        if let Some(Value::String(v)) = config.get(*k) {
            let plain = keyring.open(v).map_err(|e| format!("stored '{k}': {e}"))?;
            config.insert(k.to_string(), Value::String(plain));
        }
    }
    Channel::parse(kind, &config).map_err(|e| e.to_string())
}

/// Checks and stores a channel (`existing`: the stored one being replaced, whose secrets are
/// kept where the spec leaves them out).
///
/// # Errors
/// 422 for a bad configuration; 403 when its host is not allowed; 409 for a taken name.
pub async fn save_channel(
    state: &AppState,
    project_id: &str,
    existing: Option<&AlertChannel>,
    spec: ChannelSpec,
    user: &str,
) -> Result<AlertChannel, ApiError> {
    check_name(&spec.name, "channel")?;
    let mut config = spec.config;
    if let Some(old) = existing.filter(|o| o.kind == spec.kind.as_str()) {
        for k in spec.kind.secret_keys() {
            if !config.contains_key(*k) {
                if let Some(v) = old.config.get(*k) {
                    let plain = state
                        .keyring
                        .open(v.as_str().unwrap_or_default())
                        .map_err(|e| ApiError::invalid(format!("stored '{k}': {e}")))?;
                    config.insert(k.to_string(), Value::String(plain));
                }
            }
        }
    }
    let ch = Channel::parse(spec.kind, &config).map_err(invalid)?;
    check_host(&ch, state)?;
    for k in spec.kind.secret_keys() {
        match config.get(*k) {
            Some(Value::String(v)) if !v.trim().is_empty() => {
                let sealed = state.keyring.seal(v.trim());
                config.insert(k.to_string(), Value::String(sealed));
            }
            _ => {
                config.remove(*k);
            }
        }
    }
    let name = spec.name.trim();
    Ok(match existing {
        Some(old) => {
            state
                .store
                .update_alert_channel(project_id, &old.id, name, spec.kind.as_str(), &config)
                .await?
        }
        None => {
            state
                .store
                .create_alert_channel(project_id, name, spec.kind.as_str(), &config, user)
                .await?
        }
    })
}

/// Checks a rule against the project: its scope, thresholds and channels.
///
/// # Errors
/// 422 naming what is wrong.
pub async fn rule_fields(
    store: &Store,
    project_id: &str,
    spec: RuleSpec,
) -> Result<RuleFields, ApiError> {
    check_name(&spec.name, "rule")?;
    let k = spec.kind;
    if let Some(j) = &spec.job_id {
        if !(k.about_jobs() || k == RuleKind::ScheduleMissed) {
            return Err(ApiError::invalid(format!(
                "a {} rule is about workflows: it takes no job_id",
                k.as_str()
            )));
        }
        store
            .get_job(project_id, j)
            .await
            .map_err(|_| ApiError::invalid(format!("job '{j}' is not a job of this project")))?;
    }
    if let Some(w) = &spec.workflow_id {
        if !(k.about_workflows() || k == RuleKind::ScheduleMissed) {
            return Err(ApiError::invalid(format!(
                "a {} rule is about jobs: it takes no workflow_id",
                k.as_str()
            )));
        }
        store.get_workflow(project_id, w).await.map_err(|_| {
            ApiError::invalid(format!("workflow '{w}' is not a workflow of this project"))
        })?;
    }
    if spec.job_id.is_some() && spec.workflow_id.is_some() {
        return Err(ApiError::invalid("give job_id or workflow_id, not both"));
    }
    let threshold = match (k, spec.threshold) {
        (RuleKind::InstanceRestarts, t) => {
            let t = t.unwrap_or(3);
            if !(0..=1000).contains(&t) {
                return Err(ApiError::invalid("threshold is 0–1000 restarts"));
            }
            Some(t)
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "threshold applies to instance_restarts rules only",
            ))
        }
        (_, None) => None,
    };
    let minutes = match (k, spec.minutes) {
        (RuleKind::InstanceRestarts | RuleKind::InstanceLost, m) => {
            let m = m.unwrap_or(if k == RuleKind::InstanceLost { 5 } else { 60 });
            if !(1..=10_080).contains(&m) {
                return Err(ApiError::invalid("minutes is 1–10080"));
            }
            Some(m)
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "minutes applies to instance_restarts and instance_lost rules only",
            ))
        }
        (_, None) => None,
    };
    let mut channels = spec.channels;
    channels.dedup();
    if channels.is_empty() || channels.len() > 20 {
        return Err(ApiError::invalid("a rule sends to 1–20 channels"));
    }
    for c in &channels {
        store.get_alert_channel(project_id, c).await.map_err(|_| {
            ApiError::invalid(format!("channel '{c}' is not a channel of this project"))
        })?;
    }
    Ok(RuleFields {
        name: spec.name.trim().to_string(),
        kind: k.as_str().into(),
        job_id: spec.job_id,
        workflow_id: spec.workflow_id,
        threshold,
        minutes,
        channels,
        enabled: spec.enabled,
    })
}

/// Sends a test message on a stored channel now.
///
/// # Errors
/// 403 when its host is no longer allowed.
pub async fn send_test(state: &AppState, c: &AlertChannel) -> Result<SendResult, ApiError> {
    let ch = match open(c, &state.keyring) {
        Ok(ch) => ch,
        Err(detail) => {
            return Ok(SendResult {
                ok: false,
                detail,
                elapsed_ms: 0,
            })
        }
    };
    check_host(&ch, state)?;
    let project = state.store.get_project(&c.project_id).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let msg = Message {
        event_id: format!("test-{}", uuid::Uuid::new_v4()),
        kind: "test".into(),
        project: project.name,
        rule: None,
        title: format!("Test message from scaleph ({})", c.name),
        text: format!(
            "This is a test of the alert channel '{}' ({}).\nSent at {}.",
            c.name,
            c.kind,
            chrono::DateTime::from_timestamp_millis(now)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        ),
        subject: json!({ "channel_id": c.id }),
        at: now,
    };
    let t0 = Instant::now();
    let r = state.alerts.send(&ch, &msg).await;
    Ok(SendResult {
        ok: r.is_ok(),
        detail: match r {
            Ok(d) => d.detail,
            Err(e) => e.to_string(),
        },
        elapsed_ms: t0.elapsed().as_millis() as u64,
    })
}

/// The alert loop of a server.
pub struct Alerter {
    state: AppState,
    last_checkpoint_scan: Option<Instant>,
    last_prune: Option<Instant>,
    /// Occurrences already raised (or found raised), with when they happened: each is
    /// written once, not re-inserted every tick while it stays in the lookback window.
    raised: std::collections::HashMap<(String, String), i64>,
}

impl Alerter {
    /// An alert loop over the server's state.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            last_checkpoint_scan: None,
            last_prune: None,
            raised: std::collections::HashMap::new(),
        }
    }

    /// Runs the loop in the background.
    pub fn spawn(mut self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.evaluate().await {
                    tracing::error!(error = %e.detail(), "alert rules: evaluation failed");
                }
                if let Err(e) = self.deliver().await {
                    tracing::error!(error = %e.detail(), "alerts: delivery failed");
                }
                if self.last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                    self.last_prune = Some(Instant::now());
                    let before = chrono::Utc::now().timestamp_millis() - HISTORY_MS;
                    match self.state.store.prune_history(before).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(
                            rows = n,
                            "pruned alert and fire history older than 30 days"
                        ),
                        Err(e) => tracing::warn!(error = %e, "pruning history failed"),
                    }
                }
                tokio::time::sleep(TICK).await;
            }
        })
    }

    /// Raises the alerts of every enabled rule.
    async fn evaluate(&mut self) -> Result<(), ApiError> {
        let rules = self.state.store.enabled_alert_rules().await?;
        let scan_checkpoints = self
            .last_checkpoint_scan
            .is_none_or(|t| t.elapsed() >= CHECKPOINT_TICK);
        if scan_checkpoints {
            self.last_checkpoint_scan = Some(Instant::now());
        }
        let now = chrono::Utc::now().timestamp_millis();
        for rule in rules {
            let Some(kind) = RuleKind::parse(&rule.kind) else {
                continue;
            };
            if kind == RuleKind::CheckpointFailed && !scan_checkpoints {
                continue;
            }
            let since = rule.created_at.max(now - LOOKBACK_MS);
            let facts = match self.facts(&rule, kind, since, now).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(rule = %rule.id, error = %e.detail(), "alert rule: cannot read its facts");
                    continue;
                }
            };
            let facts: Vec<AlertFact> = facts
                .into_iter()
                .filter(|f| !self.raised.contains_key(&(rule.id.clone(), f.key.clone())))
                .collect();
            if facts.is_empty() {
                continue;
            }
            let project = self.state.store.get_project(&rule.project_id).await?;
            let mut channels = Vec::new();
            for c in &rule.channels {
                if let Ok(ch) = self
                    .state
                    .store
                    .get_alert_channel(&rule.project_id, c)
                    .await
                {
                    channels.push((ch.id, ch.name));
                }
            }
            for f in facts {
                let alert = render(kind, &rule, &project.name, &f);
                if self
                    .state
                    .store
                    .raise_alert(&rule, &alert, &channels)
                    .await?
                {
                    tracing::info!(rule = %rule.name, key = %alert.event_key, "alert raised");
                }
                self.raised.insert((rule.id.clone(), f.key), f.at.max(now));
            }
        }
        // Past the lookback window no fact is read again: forget it.
        self.raised.retain(|_, at| *at >= now - 2 * LOOKBACK_MS);
        Ok(())
    }

    /// What happened for `rule` since `since`, each with its occurrence key.
    async fn facts(
        &self,
        rule: &AlertRule,
        kind: RuleKind,
        since: i64,
        now: i64,
    ) -> Result<Vec<AlertFact>, ApiError> {
        let store = &self.state.store;
        let pid = &rule.project_id;
        Ok(match kind {
            RuleKind::InstanceFailed => {
                store
                    .alert_state_changes(pid, &rule.job_id, "FAILED", since)
                    .await?
            }
            RuleKind::InstanceRestarts => {
                let window = rule.minutes.unwrap_or(60) * 60_000;
                let threshold = rule.threshold.unwrap_or(3);
                let from = (now - window).max(rule.created_at);
                store
                    .alert_restarts(pid, &rule.job_id, from)
                    .await?
                    .into_iter()
                    .filter(|f| f.count.unwrap_or(0) > threshold)
                    .map(|mut f| {
                        let job = f.job_id.clone().unwrap_or_default();
                        f.key = format!("restarts:{job}:{}", now / window);
                        f
                    })
                    .collect()
            }
            RuleKind::InstanceLost => {
                let after = rule.minutes.unwrap_or(5) * 60_000;
                store
                    .alert_instances_in(pid, &rule.job_id, &["LOST", "UNKNOWN"])
                    .await?
                    .into_iter()
                    .filter(|f| f.at > 0 && f.at <= now - after && f.at + after >= rule.created_at)
                    .map(|mut f| {
                        let inst = f.instance_id.clone().unwrap_or_default();
                        f.key = format!("lost:{inst}:{}", f.at);
                        f
                    })
                    .collect()
            }
            RuleKind::CheckpointFailed => {
                let running = store
                    .alert_instances_in(pid, &rule.job_id, &["RUNNING"])
                    .await?;
                let mut out = Vec::new();
                for mut f in running {
                    let Some(id) = f.instance_id.clone() else {
                        continue;
                    };
                    let Ok(inst) = store.get_instance(&id).await else {
                        continue;
                    };
                    let stats = tokio::time::timeout(
                        Duration::from_secs(5),
                        self.state.lifecycle(inst.engine).checkpoints(&inst),
                    )
                    .await;
                    let failed = match stats {
                        Ok(Ok(v)) => v["counts"]["failed"].as_i64().unwrap_or(0),
                        _ => continue,
                    };
                    if failed > 0 {
                        f.key = format!("checkpoint:{id}:{failed}");
                        f.count = Some(failed);
                        f.at = now;
                        out.push(f);
                    }
                }
                out
            }
            RuleKind::WorkflowFailed => {
                store
                    .alert_failed_runs(pid, &rule.workflow_id, since)
                    .await?
            }
            RuleKind::WorkflowTimeout => {
                store
                    .alert_timed_out_tasks(pid, &rule.workflow_id, since)
                    .await?
            }
            RuleKind::ScheduleMissed => {
                store
                    .alert_missed_fires(pid, &rule.job_id, &rule.workflow_id, since)
                    .await?
            }
        })
    }

    /// Sends the due deliveries (at most 4 at a time).
    async fn deliver(&self) -> Result<(), ApiError> {
        let due = self.state.store.due_deliveries(LEASE_MS).await?;
        let mut claimed = Vec::new();
        for d in due {
            if self.state.store.claim_delivery(&d, LEASE_MS).await? {
                claimed.push(d);
            }
        }
        use futures::StreamExt as _;
        futures::stream::iter(claimed)
            .for_each_concurrent(4, |d| async move {
                if let Err(e) = self.deliver_one(&d).await {
                    tracing::warn!(event = %d.event_id, error = %e.detail(), "alert delivery not recorded");
                }
            })
            .await;
        Ok(())
    }

    async fn deliver_one(&self, d: &AlertDelivery) -> Result<(), ApiError> {
        let store = &self.state.store;
        let e = store.get_alert(&d.event_id).await?;
        let outcome = match store.get_alert_channel(&e.project_id, &d.channel_id).await {
            Err(_) => Err("the channel was deleted".to_string()),
            Ok(c) => match open(&c, &self.state.keyring) {
                Err(m) => Err(m),
                Ok(ch) => match check_host(&ch, &self.state) {
                    Err(denied) => Err(denied.detail().to_string()),
                    Ok(()) => {
                        let project = store.get_project(&e.project_id).await?;
                        let msg = Message {
                            event_id: e.id.clone(),
                            kind: e.kind.clone(),
                            project: project.name,
                            rule: e.rule_name.clone(),
                            title: e.title.clone(),
                            text: e.body.clone(),
                            subject: e.subject.clone(),
                            at: e.created_at,
                        };
                        self.state
                            .alerts
                            .send(&ch, &msg)
                            .await
                            .map(|ok| ok.detail)
                            .map_err(|err| err.to_string())
                    }
                },
            },
        };
        let attempt = d.attempts + 1;
        match outcome {
            Ok(detail) => {
                store
                    .finish_delivery(&d.event_id, &d.channel_id, true, &detail, None)
                    .await?
            }
            Err(detail) => {
                let retry = (attempt < MAX_ATTEMPTS).then(|| {
                    chrono::Utc::now().timestamp_millis() + 10_000 * 3i64.pow(attempt as u32 - 1)
                });
                tracing::warn!(event = %d.event_id, channel = %d.channel_name, attempt, %detail, "alert delivery failed");
                store
                    .finish_delivery(&d.event_id, &d.channel_id, false, &detail, retry)
                    .await?
            }
        }
        Ok(())
    }
}

/// The alert for fact `f` of `rule`.
fn render(kind: RuleKind, rule: &AlertRule, project: &str, f: &AlertFact) -> NewAlert {
    let job = f.job_name.as_deref().unwrap_or("?");
    let wf = f.workflow_name.as_deref().unwrap_or("?");
    let when = chrono::DateTime::from_timestamp_millis(f.at)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let mut lines = vec![format!("Project: {project}")];
    let title = match kind {
        RuleKind::InstanceFailed => {
            lines.push(format!("Job: {job}"));
            format!("Job instance FAILED: {job}")
        }
        RuleKind::InstanceRestarts => {
            lines.push(format!("Job: {job}"));
            lines.push(format!(
                "Restarts: {} within {} min (allowed: {})",
                f.count.unwrap_or(0),
                rule.minutes.unwrap_or(60),
                rule.threshold.unwrap_or(3)
            ));
            format!("Job restarting too often: {job}")
        }
        RuleKind::InstanceLost => {
            lines.push(format!("Job: {job}"));
            lines.push(format!(
                "State: {} for more than {} min",
                f.state,
                rule.minutes.unwrap_or(5)
            ));
            format!("Job instance {}: {job}", f.state)
        }
        RuleKind::CheckpointFailed => {
            lines.push(format!("Job: {job}"));
            lines.push(format!("Failed checkpoints: {}", f.count.unwrap_or(0)));
            format!("Checkpoint failed: {job}")
        }
        RuleKind::WorkflowFailed => {
            lines.push(format!("Workflow: {wf}"));
            format!("Workflow run FAILED: {wf}")
        }
        RuleKind::WorkflowTimeout => {
            lines.push(format!("Workflow: {wf}"));
            lines.push(format!("Task: {}", f.task_key.as_deref().unwrap_or("?")));
            format!(
                "Workflow task timed out: {wf}.{}",
                f.task_key.as_deref().unwrap_or("?")
            )
        }
        RuleKind::ScheduleMissed => {
            let target = f
                .job_name
                .as_deref()
                .map(|j| format!("job {j}"))
                .or_else(|| f.workflow_name.as_deref().map(|w| format!("workflow {w}")))
                .unwrap_or_else(|| "?".into());
            lines.push(format!("Schedule of {target}: fire {}", f.state));
            format!("Scheduled run {}: {target}", f.state.to_lowercase())
        }
    };
    if let Some(i) = &f.instance_id {
        lines.push(format!("Instance: {i}"));
    }
    if let Some(r) = &f.run_id {
        lines.push(format!("Run: {r}"));
    }
    if let Some(b) = &f.bizdate {
        lines.push(format!("Business date: {b}"));
    }
    if let Some(r) = f.reason.as_deref().filter(|r| !r.is_empty()) {
        let r: String = r.chars().take(1000).collect();
        lines.push(format!("Reason: {r}"));
    }
    lines.push(format!("At: {when}"));
    NewAlert {
        event_key: f.key.clone(),
        kind: kind.as_str().into(),
        title,
        body: lines.join("\n"),
        subject: json!({
            "state": f.state,
            "job_id": f.job_id,
            "instance_id": f.instance_id,
            "workflow_id": f.workflow_id,
            "workflow_run_id": f.run_id,
            "task_key": f.task_key,
            "bizdate": f.bizdate,
            "count": f.count,
            "at": f.at,
        }),
    }
}
