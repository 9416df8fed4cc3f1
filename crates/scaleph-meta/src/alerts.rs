//! Alert channels, rules, raised alerts and their deliveries (migration `0006_alerts.sql`), and
//! the facts the alert loop looks at (failed instances, restarts, lost instances, failed or
//! timed-out workflow runs, missed fires).
//!
//! Raising is idempotent: an alert is keyed `(rule, event key)` and inserted with
//! `ON CONFLICT DO NOTHING`; only the insert that wins creates the deliveries, in the same
//! transaction. A delivery is claimed by compare-and-set ([`Store::claim_delivery`]), so two
//! servers never send it both; a claim older than the lease is taken over (a crash mid-send).

use crate::error::on_unique;
use crate::{new_id, now_ms, Result, Row, Store, StoreError};
use serde::Serialize;
use sqlx::Row as _;
use utoipa::ToSchema;

/// A channel of a project (its secret keys sealed).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertChannel {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name, unique in the project.
    pub name: String,
    /// `webhook`, `email`, `dingtalk`, `feishu`, `wecom`.
    pub kind: String,
    /// Configuration (secrets sealed).
    #[schema(value_type = Object)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Creator.
    pub created_by: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// A rule of a project.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertRule {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name, unique in the project.
    pub name: String,
    /// What it watches (`instance_failed`, `instance_restarts`, `instance_lost`,
    /// `checkpoint_failed`, `workflow_failed`, `workflow_timeout`, `schedule_missed`).
    pub kind: String,
    /// Only this job (job rules and `schedule_missed`); none: every job of the project.
    pub job_id: Option<String>,
    /// Only this workflow (workflow rules and `schedule_missed`); none: every workflow.
    pub workflow_id: Option<String>,
    /// Restarts allowed (`instance_restarts`: alert when more).
    pub threshold: Option<i64>,
    /// Minutes: the restart window, or how long an instance stays LOST/UNKNOWN.
    pub minutes: Option<i64>,
    /// Channel ids.
    pub channels: Vec<String>,
    /// Evaluated.
    pub enabled: bool,
    /// Creator.
    pub created_by: String,
    /// Epoch ms; nothing that happened before it is alerted.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// The settable fields of a rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleFields {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Job scope.
    pub job_id: Option<String>,
    /// Workflow scope.
    pub workflow_id: Option<String>,
    /// Threshold.
    pub threshold: Option<i64>,
    /// Minutes.
    pub minutes: Option<i64>,
    /// Channel ids.
    pub channels: Vec<String>,
    /// Evaluated.
    pub enabled: bool,
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Identifies the occurrence within the rule (raising it again does nothing).
    pub event_key: String,
    /// The rule's kind.
    pub kind: String,
    /// One line.
    pub title: String,
    /// Details.
    pub body: String,
    /// Ids and states, JSON.
    pub subject: serde_json::Value,
}

/// A raised alert with its deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertEvent {
    /// Id (sent to receivers as `event_id`).
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Rule.
    pub rule_id: String,
    /// Rule name (when the rule still exists).
    pub rule_name: Option<String>,
    /// Occurrence key.
    pub event_key: String,
    /// Rule kind.
    pub kind: String,
    /// One line.
    pub title: String,
    /// Details.
    pub body: String,
    /// Ids and states.
    #[schema(value_type = Object)]
    pub subject: serde_json::Value,
    /// Epoch ms.
    pub created_at: i64,
    /// One per channel of the rule.
    pub deliveries: Vec<AlertDelivery>,
}

/// The delivery of an alert on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AlertDelivery {
    /// Alert.
    pub event_id: String,
    /// Channel id.
    pub channel_id: String,
    /// Channel name when raised.
    pub channel_name: String,
    /// `PENDING`, `SENDING`, `SENT`, `FAILED` (retries spent).
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Next attempt, epoch ms (`PENDING`).
    pub next_attempt_at: Option<i64>,
    /// The receiver's answer or the last error.
    pub detail: Option<String>,
    /// When it was delivered, epoch ms.
    pub sent_at: Option<i64>,
}

/// Something that happened, as the alert loop reads it; every field but `key`, `at` and
/// `state` is optional by kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertFact {
    /// Occurrence key (unique per rule).
    pub key: String,
    /// Epoch ms.
    pub at: i64,
    /// State (`FAILED`, `LOST`, `SKIPPED`, …).
    pub state: String,
    /// Job id.
    pub job_id: Option<String>,
    /// Job name.
    pub job_name: Option<String>,
    /// Instance id.
    pub instance_id: Option<String>,
    /// Workflow id.
    pub workflow_id: Option<String>,
    /// Workflow name.
    pub workflow_name: Option<String>,
    /// Workflow run id.
    pub run_id: Option<String>,
    /// Task key.
    pub task_key: Option<String>,
    /// Business date.
    pub bizdate: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// A count (restarts).
    pub count: Option<i64>,
}

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(format!("{what}: {e}")))
}

fn channel(r: &Row) -> Result<AlertChannel> {
    let c: String = r.try_get("config")?;
    Ok(AlertChannel {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        config: json(&c, "alert channel config")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn rule(r: &Row) -> Result<AlertRule> {
    let c: String = r.try_get("channels")?;
    let enabled: i64 = r.try_get("enabled")?;
    Ok(AlertRule {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        job_id: r.try_get("job_id")?,
        workflow_id: r.try_get("workflow_id")?,
        threshold: r.try_get("threshold")?,
        minutes: r.try_get("minutes")?,
        channels: json(&c, "alert rule channels")?,
        enabled: enabled != 0,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn delivery(r: &Row) -> Result<AlertDelivery> {
    Ok(AlertDelivery {
        event_id: r.try_get("event_id")?,
        channel_id: r.try_get("channel_id")?,
        channel_name: r.try_get("channel_name")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        detail: r.try_get("detail")?,
        sent_at: r.try_get("sent_at")?,
    })
}

fn event(r: &Row) -> Result<AlertEvent> {
    let s: String = r.try_get("subject")?;
    Ok(AlertEvent {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        rule_id: r.try_get("rule_id")?,
        rule_name: r.try_get("rule_name")?,
        event_key: r.try_get("event_key")?,
        kind: r.try_get("kind")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        subject: json(&s, "alert subject")?,
        created_at: r.try_get("created_at")?,
        deliveries: Vec::new(),
    })
}

/// `AND <col> = $n` when scoped.
fn scope(sql: &mut String, col: &str, value: &Option<String>, n: usize) {
    if value.is_some() {
        sql.push_str(&format!(" AND {col} = ${n}"));
    }
}

impl Store {
    /// Creates a channel; 409 when the name is taken.
    pub async fn create_alert_channel(
        &self,
        project_id: &str,
        name: &str,
        kind: &str,
        config: &serde_json::Map<String, serde_json::Value>,
        user: &str,
    ) -> Result<AlertChannel> {
        let id = new_id();
        sqlx::query("INSERT INTO alert_channels (id, project_id, name, kind, config, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(&id)
            .bind(project_id)
            .bind(name)
            .bind(kind)
            .bind(serde_json::Value::Object(config.clone()).to_string())
            .bind(user)
            .bind(now_ms())
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("an alert channel named '{name}' exists in this project")))?;
        self.get_alert_channel(project_id, &id).await
    }

    /// Replaces a channel's name, kind and configuration.
    pub async fn update_alert_channel(
        &self,
        project_id: &str,
        id: &str,
        name: &str,
        kind: &str,
        config: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<AlertChannel> {
        let n = sqlx::query("UPDATE alert_channels SET name = $1, kind = $2, config = $3, updated_at = $4 WHERE id = $5 AND project_id = $6")
            .bind(name)
            .bind(kind)
            .bind(serde_json::Value::Object(config.clone()).to_string())
            .bind(now_ms())
            .bind(id)
            .bind(project_id)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("an alert channel named '{name}' exists in this project")))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert channel '{id}'")));
        }
        self.get_alert_channel(project_id, id).await
    }

    /// A channel of the project.
    pub async fn get_alert_channel(&self, project_id: &str, id: &str) -> Result<AlertChannel> {
        let r = sqlx::query("SELECT * FROM alert_channels WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(channel)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("alert channel '{id}'")))
    }

    /// The project's channels by name.
    pub async fn list_alert_channels(&self, project_id: &str) -> Result<Vec<AlertChannel>> {
        let rows = sqlx::query("SELECT * FROM alert_channels WHERE project_id = $1 ORDER BY name")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(channel).collect()
    }

    /// Deletes a channel; 409 while a rule uses it.
    pub async fn delete_alert_channel(&self, project_id: &str, id: &str) -> Result<()> {
        let users: Vec<String> = self
            .list_alert_rules(project_id)
            .await?
            .into_iter()
            .filter(|r| r.channels.iter().any(|c| c == id))
            .map(|r| r.name)
            .collect();
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "the channel is used by the rules {}; remove it from them first",
                users.join(", ")
            )));
        }
        let n = sqlx::query("DELETE FROM alert_channels WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert channel '{id}'")));
        }
        Ok(())
    }

    /// Creates a rule; 409 when the name is taken.
    pub async fn create_alert_rule(
        &self,
        project_id: &str,
        f: &RuleFields,
        user: &str,
    ) -> Result<AlertRule> {
        let id = new_id();
        sqlx::query("INSERT INTO alert_rules (id, project_id, name, kind, job_id, workflow_id, threshold, minutes, channels, enabled, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)")
            .bind(&id)
            .bind(project_id)
            .bind(&f.name)
            .bind(&f.kind)
            .bind(&f.job_id)
            .bind(&f.workflow_id)
            .bind(f.threshold)
            .bind(f.minutes)
            .bind(serde_json::json!(f.channels).to_string())
            .bind(i64::from(f.enabled))
            .bind(user)
            .bind(now_ms())
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("an alert rule named '{}' exists in this project", f.name)))?;
        self.get_alert_rule(project_id, &id).await
    }

    /// Replaces a rule's fields.
    pub async fn update_alert_rule(
        &self,
        project_id: &str,
        id: &str,
        f: &RuleFields,
    ) -> Result<AlertRule> {
        let n = sqlx::query("UPDATE alert_rules SET name = $1, kind = $2, job_id = $3, workflow_id = $4, threshold = $5, minutes = $6, channels = $7, enabled = $8, updated_at = $9 WHERE id = $10 AND project_id = $11")
            .bind(&f.name)
            .bind(&f.kind)
            .bind(&f.job_id)
            .bind(&f.workflow_id)
            .bind(f.threshold)
            .bind(f.minutes)
            .bind(serde_json::json!(f.channels).to_string())
            .bind(i64::from(f.enabled))
            .bind(now_ms())
            .bind(id)
            .bind(project_id)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("an alert rule named '{}' exists in this project", f.name)))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert rule '{id}'")));
        }
        self.get_alert_rule(project_id, id).await
    }

    /// A rule of the project.
    pub async fn get_alert_rule(&self, project_id: &str, id: &str) -> Result<AlertRule> {
        let r = sqlx::query("SELECT * FROM alert_rules WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(rule)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("alert rule '{id}'")))
    }

    /// The project's rules by name.
    pub async fn list_alert_rules(&self, project_id: &str) -> Result<Vec<AlertRule>> {
        let rows = sqlx::query("SELECT * FROM alert_rules WHERE project_id = $1 ORDER BY name")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rule).collect()
    }

    /// Every enabled rule of every project.
    pub async fn enabled_alert_rules(&self) -> Result<Vec<AlertRule>> {
        let rows =
            sqlx::query("SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY project_id, name")
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(rule).collect()
    }

    /// Deletes a rule (its alerts go with it).
    pub async fn delete_alert_rule(&self, project_id: &str, id: &str) -> Result<()> {
        let n = sqlx::query("DELETE FROM alert_rules WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert rule '{id}'")));
        }
        Ok(())
    }

    /// Raises `a` for `rule` with one `PENDING` delivery per `(channel id, name)`; false when
    /// it was raised before (nothing written).
    pub async fn raise_alert(
        &self,
        rule: &AlertRule,
        a: &NewAlert,
        channels: &[(String, String)],
    ) -> Result<bool> {
        let id = new_id();
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("INSERT INTO alert_events (id, project_id, rule_id, event_key, kind, title, body, subject, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (rule_id, event_key) DO NOTHING")
            .bind(&id)
            .bind(&rule.project_id)
            .bind(&rule.id)
            .bind(&a.event_key)
            .bind(&a.kind)
            .bind(&a.title)
            .bind(&a.body)
            .bind(a.subject.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for (cid, cname) in channels {
            sqlx::query("INSERT INTO alert_deliveries (event_id, channel_id, channel_name, state, attempts, next_attempt_at) VALUES ($1, $2, $3, 'PENDING', 0, $4)")
                .bind(&id)
                .bind(cid)
                .bind(cname)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The project's latest `limit` alerts with their deliveries, newest first.
    pub async fn list_alerts(&self, project_id: &str, limit: i64) -> Result<Vec<AlertEvent>> {
        let rows = sqlx::query("SELECT e.*, r.name AS rule_name FROM alert_events e LEFT JOIN alert_rules r ON r.id = e.rule_id WHERE e.project_id = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT $2")
            .bind(project_id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let mut events: Vec<AlertEvent> = rows.iter().map(event).collect::<Result<_>>()?;
        if let Some(oldest) = events.last().map(|e| e.created_at) {
            let ds = sqlx::query("SELECT d.* FROM alert_deliveries d JOIN alert_events e ON e.id = d.event_id WHERE e.project_id = $1 AND e.created_at >= $2 ORDER BY d.channel_name")
                .bind(project_id)
                .bind(oldest)
                .fetch_all(&self.read)
                .await?;
            for d in ds.iter().map(delivery) {
                let d = d?;
                if let Some(e) = events.iter_mut().find(|e| e.id == d.event_id) {
                    e.deliveries.push(d);
                }
            }
        }
        Ok(events)
    }

    /// One alert (any project) with its deliveries.
    pub async fn get_alert(&self, id: &str) -> Result<AlertEvent> {
        let r = sqlx::query("SELECT e.*, r.name AS rule_name FROM alert_events e LEFT JOIN alert_rules r ON r.id = e.rule_id WHERE e.id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("alert '{id}'")))?;
        let mut e = event(&r)?;
        let ds =
            sqlx::query("SELECT * FROM alert_deliveries WHERE event_id = $1 ORDER BY channel_name")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        e.deliveries = ds.iter().map(delivery).collect::<Result<_>>()?;
        Ok(e)
    }

    /// Deliveries due now: `PENDING` ones whose time came, and `SENDING` ones claimed more than
    /// `lease_ms` ago (the sender died); at most 100, oldest first.
    pub async fn due_deliveries(&self, lease_ms: i64) -> Result<Vec<AlertDelivery>> {
        let now = now_ms();
        let rows = sqlx::query("SELECT * FROM alert_deliveries WHERE (state = 'PENDING' AND next_attempt_at <= $1) OR (state = 'SENDING' AND claimed_at < $2) ORDER BY next_attempt_at LIMIT 100")
            .bind(now)
            .bind(now - lease_ms)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(delivery).collect()
    }

    /// Claims a due delivery for sending (compare-and-set on its state, attempts and time);
    /// false when another worker has it.
    pub async fn claim_delivery(&self, d: &AlertDelivery, lease_ms: i64) -> Result<bool> {
        let now = now_ms();
        let n = sqlx::query("UPDATE alert_deliveries SET state = 'SENDING', claimed_at = $1 WHERE event_id = $2 AND channel_id = $3 AND attempts = $4 AND ((state = 'PENDING' AND next_attempt_at <= $1) OR (state = 'SENDING' AND claimed_at < $5))")
            .bind(now)
            .bind(&d.event_id)
            .bind(&d.channel_id)
            .bind(d.attempts)
            .bind(now - lease_ms)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Records an attempt: `SENT`, or `PENDING` again at `retry_at`, or `FAILED` (no retry).
    pub async fn finish_delivery(
        &self,
        event_id: &str,
        channel_id: &str,
        sent: bool,
        detail: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let now = now_ms();
        let state = match (sent, retry_at) {
            (true, _) => "SENT",
            (false, Some(_)) => "PENDING",
            (false, None) => "FAILED",
        };
        sqlx::query("UPDATE alert_deliveries SET state = $1, attempts = attempts + 1, detail = $2, next_attempt_at = $3, sent_at = $4, claimed_at = NULL WHERE event_id = $5 AND channel_id = $6 AND state = 'SENDING'")
            .bind(state)
            .bind(detail)
            .bind(retry_at)
            .bind(sent.then_some(now))
            .bind(event_id)
            .bind(channel_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Sends an alert's `FAILED` deliveries again (attempts start over); how many.
    pub async fn retry_alert(&self, project_id: &str, id: &str) -> Result<u64> {
        let e = self.get_alert(id).await?;
        if e.project_id != project_id {
            return Err(StoreError::NotFound(format!("alert '{id}'")));
        }
        Ok(sqlx::query("UPDATE alert_deliveries SET state = 'PENDING', attempts = 0, next_attempt_at = $1 WHERE event_id = $2 AND state = 'FAILED'")
            .bind(now_ms())
            .bind(id)
            .execute(&self.write)
            .await?
            .rows_affected())
    }

    /// Deletes history older than `before` (epoch ms): alerts (with their deliveries) and
    /// schedule fires that ended (started, skipped, missed or failed). Returns rows deleted.
    pub async fn prune_history(&self, before: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let d = sqlx::query("DELETE FROM alert_deliveries WHERE event_id IN (SELECT id FROM alert_events WHERE created_at < $1)")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let e = sqlx::query("DELETE FROM alert_events WHERE created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let f = sqlx::query("DELETE FROM schedule_fires WHERE claimed_at < $1 AND state IN ('SUBMITTED', 'SKIPPED', 'MISSED', 'FAILED')")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(d + e + f)
    }

    /// Instances of the project's jobs (or `job`'s) that entered `state` since `since`.
    pub async fn alert_state_changes(
        &self,
        project_id: &str,
        job: &Option<String>,
        state: &str,
        since: i64,
    ) -> Result<Vec<AlertFact>> {
        let mut sql = String::from(
            "SELECT s.instance_id, s.seq, s.at, s.reason, j.id AS job_id, j.name AS job_name
             FROM instance_states s JOIN job_instances i ON i.id = s.instance_id JOIN jobs j ON j.id = i.job_id
             WHERE s.state = $1 AND s.at >= $2 AND j.project_id = $3",
        );
        scope(&mut sql, "j.id", job, 4);
        let mut q = sqlx::query(&sql).bind(state).bind(since).bind(project_id);
        if let Some(j) = job {
            q = q.bind(j);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let inst: String = r.try_get("instance_id")?;
                let seq: i64 = r.try_get("seq")?;
                Ok(AlertFact {
                    key: format!("instance:{inst}:{seq}"),
                    at: r.try_get("at")?,
                    state: state.to_string(),
                    job_id: r.try_get("job_id")?,
                    job_name: r.try_get("job_name")?,
                    instance_id: Some(inst),
                    reason: r.try_get("reason")?,
                    ..AlertFact::default()
                })
            })
            .collect()
    }

    /// Restarts per job of the project since `since`: Flink's RESTARTING transitions plus the
    /// platform's automatic restarts (new instances of a failed one).
    pub async fn alert_restarts(
        &self,
        project_id: &str,
        job: &Option<String>,
        since: i64,
    ) -> Result<Vec<AlertFact>> {
        let mut sql = String::from(
            "SELECT j.id AS job_id, j.name AS job_name, COUNT(*) AS n, MAX(x.at) AS last_at FROM (
                SELECT i.job_id, s.at FROM instance_states s JOIN job_instances i ON i.id = s.instance_id
                  WHERE s.state = 'RESTARTING' AND s.at >= $1
                UNION ALL
                SELECT job_id, created_at AS at FROM job_instances WHERE restart_of IS NOT NULL AND created_at >= $1
             ) x JOIN jobs j ON j.id = x.job_id WHERE j.project_id = $2",
        );
        scope(&mut sql, "j.id", job, 3);
        sql.push_str(" GROUP BY j.id, j.name");
        let mut q = sqlx::query(&sql).bind(since).bind(project_id);
        if let Some(j) = job {
            q = q.bind(j);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(AlertFact {
                    at: r.try_get("last_at")?,
                    state: "RESTARTING".into(),
                    job_id: r.try_get("job_id")?,
                    job_name: r.try_get("job_name")?,
                    count: Some(r.try_get("n")?),
                    ..AlertFact::default()
                })
            })
            .collect()
    }

    /// Instances of the project's jobs now in one of `states`, with when they entered it
    /// (`at`).
    pub async fn alert_instances_in(
        &self,
        project_id: &str,
        job: &Option<String>,
        states: &[&str],
    ) -> Result<Vec<AlertFact>> {
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "SELECT i.id, i.state, j.id AS job_id, j.name AS job_name,
                    (SELECT MAX(s.at) FROM instance_states s WHERE s.instance_id = i.id) AS since
             FROM job_instances i JOIN jobs j ON j.id = i.job_id
             WHERE i.state IN ({list}) AND j.project_id = $1"
        );
        scope(&mut sql, "j.id", job, 2);
        let mut q = sqlx::query(&sql).bind(project_id);
        if let Some(j) = job {
            q = q.bind(j);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let since: Option<i64> = r.try_get("since")?;
                Ok(AlertFact {
                    at: since.unwrap_or(0),
                    state: r.try_get("state")?,
                    job_id: r.try_get("job_id")?,
                    job_name: r.try_get("job_name")?,
                    instance_id: r.try_get("id")?,
                    ..AlertFact::default()
                })
            })
            .collect()
    }

    /// The project's workflow runs that FAILED since `since`.
    pub async fn alert_failed_runs(
        &self,
        project_id: &str,
        workflow: &Option<String>,
        since: i64,
    ) -> Result<Vec<AlertFact>> {
        let mut sql = String::from(
            "SELECT r.id, r.bizdate, r.ended_at, w.id AS workflow_id, w.name AS workflow_name
             FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id
             WHERE r.state = 'FAILED' AND r.ended_at >= $1 AND w.project_id = $2",
        );
        scope(&mut sql, "w.id", workflow, 3);
        let mut q = sqlx::query(&sql).bind(since).bind(project_id);
        if let Some(w) = workflow {
            q = q.bind(w);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let ended: Option<i64> = r.try_get("ended_at")?;
                Ok(AlertFact {
                    key: format!("run:{id}"),
                    at: ended.unwrap_or(0),
                    state: "FAILED".into(),
                    workflow_id: r.try_get("workflow_id")?,
                    workflow_name: r.try_get("workflow_name")?,
                    run_id: Some(id),
                    bizdate: r.try_get("bizdate")?,
                    ..AlertFact::default()
                })
            })
            .collect()
    }

    /// Tasks of the project's workflow runs (started since `since`) that ran past their
    /// timeout.
    pub async fn alert_timed_out_tasks(
        &self,
        project_id: &str,
        workflow: &Option<String>,
        since: i64,
    ) -> Result<Vec<AlertFact>> {
        let mut sql = String::from(
            "SELECT t.run_id, t.task_key, t.job_id, t.instance_id, t.reason, t.state, t.started_at, r.bizdate,
                    w.id AS workflow_id, w.name AS workflow_name
             FROM task_runs t JOIN workflow_runs r ON r.id = t.run_id JOIN workflows w ON w.id = r.workflow_id
             WHERE t.timed_out = 1 AND r.created_at >= $1 AND w.project_id = $2",
        );
        scope(&mut sql, "w.id", workflow, 3);
        let mut q = sqlx::query(&sql).bind(since).bind(project_id);
        if let Some(w) = workflow {
            q = q.bind(w);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let run: String = r.try_get("run_id")?;
                let task: String = r.try_get("task_key")?;
                let started: Option<i64> = r.try_get("started_at")?;
                Ok(AlertFact {
                    key: format!("timeout:{run}:{task}"),
                    at: started.unwrap_or(0),
                    state: r.try_get("state")?,
                    job_id: r.try_get("job_id")?,
                    instance_id: r.try_get("instance_id")?,
                    workflow_id: r.try_get("workflow_id")?,
                    workflow_name: r.try_get("workflow_name")?,
                    run_id: Some(run),
                    task_key: Some(task),
                    bizdate: r.try_get("bizdate")?,
                    reason: r.try_get("reason")?,
                    ..AlertFact::default()
                })
            })
            .collect()
    }

    /// Fires of the project's schedules claimed since `since` that did not run: `SKIPPED`
    /// (overlap), `MISSED` (misfire `skip`) or `FAILED` (could not be started).
    pub async fn alert_missed_fires(
        &self,
        project_id: &str,
        job: &Option<String>,
        workflow: &Option<String>,
        since: i64,
    ) -> Result<Vec<AlertFact>> {
        let mut sql = String::from(
            "SELECT f.schedule_id, f.fire_at, f.bizdate, f.state, f.reason, f.claimed_at,
                    s.job_id, j.name AS job_name, s.workflow_id, w.name AS workflow_name
             FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id
             LEFT JOIN jobs j ON j.id = s.job_id LEFT JOIN workflows w ON w.id = s.workflow_id
             WHERE f.state IN ('SKIPPED', 'MISSED', 'FAILED') AND f.claimed_at >= $1 AND s.project_id = $2",
        );
        let mut n = 3;
        scope(&mut sql, "s.job_id", job, n);
        if job.is_some() {
            n += 1;
        }
        scope(&mut sql, "s.workflow_id", workflow, n);
        let mut q = sqlx::query(&sql).bind(since).bind(project_id);
        if let Some(j) = job {
            q = q.bind(j);
        }
        if let Some(w) = workflow {
            q = q.bind(w);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let sid: String = r.try_get("schedule_id")?;
                let fire: i64 = r.try_get("fire_at")?;
                Ok(AlertFact {
                    key: format!("fire:{sid}:{fire}"),
                    at: fire,
                    state: r.try_get("state")?,
                    job_id: r.try_get("job_id")?,
                    job_name: r.try_get("job_name")?,
                    workflow_id: r.try_get("workflow_id")?,
                    workflow_name: r.try_get("workflow_name")?,
                    bizdate: r.try_get("bizdate")?,
                    reason: r.try_get("reason")?,
                    ..AlertFact::default()
                })
            })
            .collect()
    }
}
