//! Job schedules, their fires and run parameters (migration `0005_schedules.sql`).
//!
//! A fire is claimed once: [`Store::claim_fires`] moves the schedule's `next_fire_at` forward
//! only if it still holds the value the caller planned from, and inserts the fires in the same
//! transaction; `(schedule_id, fire_at)` is the key, so neither a restart nor a second server
//! on the same database can claim a fire twice.

use crate::{new_id, now_ms, Result, Row, Store, StoreError};
use serde::Serialize;
use sqlx::Row as _;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A job's cron schedule.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Schedule {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// The scheduled job (or none: a workflow's schedule).
    pub job_id: Option<String>,
    /// The scheduled workflow (or none: a job's schedule).
    pub workflow_id: Option<String>,
    /// Cron pattern (5 fields, or 6–7 with seconds; Quartz syntax with `?`).
    pub cron: String,
    /// IANA time zone the pattern is evaluated in.
    pub timezone: String,
    /// No fire before this instant (epoch ms).
    pub start_at: Option<i64>,
    /// No fire after this instant (epoch ms).
    pub end_at: Option<i64>,
    /// Paused: no fire is taken; resuming waits for the next fire after that moment.
    pub paused: bool,
    /// `fire_once` or `skip`.
    pub misfire: String,
    /// `allow`, `skip` or `queue`.
    pub overlap: String,
    /// Parameters substituted into the script (`${name}`).
    pub params: BTreeMap<String, String>,
    /// The next fire not yet claimed (epoch ms); none when the window has ended.
    pub next_fire_at: Option<i64>,
    /// User who created it.
    pub created_by: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// What a schedule or a backfill runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A job (by id).
    Job(&'a str),
    /// A workflow (by id).
    Workflow(&'a str),
}

impl Target<'_> {
    /// The column naming it.
    fn column(self) -> &'static str {
        match self {
            Target::Job(_) => "job_id",
            Target::Workflow(_) => "workflow_id",
        }
    }

    /// Its id.
    fn id(self) -> String {
        match self {
            Target::Job(i) | Target::Workflow(i) => i.to_string(),
        }
    }
}

/// The fields a schedule is created or replaced with.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleFields {
    /// Cron pattern.
    pub cron: String,
    /// IANA zone.
    pub timezone: String,
    /// Window start, epoch ms.
    pub start_at: Option<i64>,
    /// Window end, epoch ms.
    pub end_at: Option<i64>,
    /// Paused.
    pub paused: bool,
    /// Misfire policy name.
    pub misfire: String,
    /// Overlap policy name.
    pub overlap: String,
    /// Parameters.
    pub params: BTreeMap<String, String>,
    /// First fire to wait for, epoch ms.
    pub next_fire_at: Option<i64>,
}

/// One fire of a schedule and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScheduleFire {
    /// Schedule.
    pub schedule_id: String,
    /// Scheduled instant, epoch ms.
    pub fire_at: i64,
    /// Business date (`yyyy-MM-dd`).
    pub bizdate: String,
    /// `CLAIMED` (being started), `SUBMITTED` (an instance runs it), `QUEUED` (waits for the
    /// previous run), `SKIPPED` (overlap), `MISSED` (downtime or paused), `FAILED` (could not
    /// start).
    pub state: String,
    /// The instance started for it.
    pub instance_id: Option<String>,
    /// Why it was skipped, missed or failed.
    pub reason: Option<String>,
    /// Epoch ms.
    pub claimed_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// A fire to record in [`Store::claim_fires`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewFire {
    /// Scheduled instant, epoch ms.
    pub fire_at: i64,
    /// Business date.
    pub bizdate: String,
    /// Initial state.
    pub state: String,
    /// Why (missed fires).
    pub reason: Option<String>,
}

/// What a run was started with.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RunParams {
    /// Instance.
    pub instance_id: String,
    /// Business date (`yyyy-MM-dd`).
    pub bizdate: String,
    /// Parameters in effect.
    pub params: BTreeMap<String, String>,
    /// The script as run (parameters substituted).
    pub script: String,
    /// The schedule that fired it, if any.
    pub schedule_id: Option<String>,
    /// The fire's scheduled instant, epoch ms.
    pub fire_at: Option<i64>,
}

fn schedule(r: &Row) -> Result<Schedule> {
    let params: String = r.try_get("params")?;
    let paused: i64 = r.try_get("paused")?;
    Ok(Schedule {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        job_id: r.try_get("job_id")?,
        workflow_id: r.try_get("workflow_id")?,
        cron: r.try_get("cron")?,
        timezone: r.try_get("timezone")?,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
        paused: paused != 0,
        misfire: r.try_get("misfire")?,
        overlap: r.try_get("overlap")?,
        params: serde_json::from_str(&params)
            .map_err(|e| StoreError::Database(format!("schedule params: {e}")))?,
        next_fire_at: r.try_get("next_fire_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn fire(r: &Row) -> Result<ScheduleFire> {
    Ok(ScheduleFire {
        schedule_id: r.try_get("schedule_id")?,
        fire_at: r.try_get("fire_at")?,
        bizdate: r.try_get("bizdate")?,
        state: r.try_get("state")?,
        instance_id: r.try_get("instance_id")?,
        reason: r.try_get("reason")?,
        claimed_at: r.try_get("claimed_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn params_json(p: &BTreeMap<String, String>) -> String {
    serde_json::to_string(p).expect("a string map serializes")
}

impl Store {
    /// Creates or replaces the schedule of `target`.
    pub async fn put_schedule(
        &self,
        project_id: &str,
        target: Target<'_>,
        f: &ScheduleFields,
        user: &str,
    ) -> Result<Schedule> {
        let now = now_ms();
        let col = target.column();
        sqlx::query(&format!(
            "INSERT INTO schedules (id, project_id, {col}, cron, timezone, start_at, end_at, paused, misfire, overlap, params, next_fire_at, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
             ON CONFLICT ({col}) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
               start_at = excluded.start_at, end_at = excluded.end_at, paused = excluded.paused,
               misfire = excluded.misfire, overlap = excluded.overlap, params = excluded.params,
               next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at"
        ))
        .bind(new_id())
        .bind(project_id)
        .bind(target.id())
        .bind(&f.cron)
        .bind(&f.timezone)
        .bind(f.start_at)
        .bind(f.end_at)
        .bind(i64::from(f.paused))
        .bind(&f.misfire)
        .bind(&f.overlap)
        .bind(params_json(&f.params))
        .bind(f.next_fire_at)
        .bind(user)
        .bind(now)
        .execute(&self.write)
        .await?;
        self.schedule_of(target)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("schedule of '{}'", target.id())))
    }

    /// The schedule of `target`, if it has one.
    pub async fn schedule_of(&self, target: Target<'_>) -> Result<Option<Schedule>> {
        let r = sqlx::query(&format!(
            "SELECT * FROM schedules WHERE {} = $1",
            target.column()
        ))
        .bind(target.id())
        .fetch_optional(&self.read)
        .await?;
        r.as_ref().map(schedule).transpose()
    }

    /// The schedule of `job_id`, if it has one.
    pub async fn job_schedule(&self, job_id: &str) -> Result<Option<Schedule>> {
        self.schedule_of(Target::Job(job_id)).await
    }

    /// A schedule by id.
    pub async fn get_schedule(&self, id: &str) -> Result<Schedule> {
        let r = sqlx::query("SELECT * FROM schedules WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(schedule)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("schedule '{id}'")))
    }

    /// Deletes the schedule of `target` (and its fire history); false when there was none.
    pub async fn delete_schedule(&self, target: Target<'_>) -> Result<bool> {
        let col = target.column();
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!("DELETE FROM schedule_fires WHERE schedule_id IN (SELECT id FROM schedules WHERE {col} = $1)"))
            .bind(target.id())
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query(&format!("DELETE FROM schedules WHERE {col} = $1"))
            .bind(target.id())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Schedules not paused whose next fire is at or before `now` (epoch ms).
    pub async fn due_schedules(&self, now: i64) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(
            "SELECT * FROM schedules WHERE paused = 0 AND next_fire_at IS NOT NULL AND next_fire_at <= $1 ORDER BY next_fire_at",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(schedule).collect()
    }

    /// The earliest next fire of any active schedule (epoch ms).
    pub async fn earliest_fire(&self) -> Result<Option<i64>> {
        let r = sqlx::query(
            "SELECT MIN(next_fire_at) AS t FROM schedules WHERE paused = 0 AND next_fire_at IS NOT NULL",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(r.try_get("t")?)
    }

    /// Claims `fires` of schedule `id`: atomically moves `next_fire_at` from `expected` to
    /// `next` and records the fires. False (nothing written) when `next_fire_at` no longer
    /// holds `expected` — another tick or server claimed them first.
    pub async fn claim_fires(
        &self,
        id: &str,
        expected: i64,
        next: Option<i64>,
        fires: &[NewFire],
    ) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE schedules SET next_fire_at = $1 WHERE id = $2 AND next_fire_at = $3 AND paused = 0",
        )
        .bind(next)
        .bind(id)
        .bind(expected)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for f in fires {
            sqlx::query(
                "INSERT INTO schedule_fires (schedule_id, fire_at, bizdate, state, reason, claimed_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (schedule_id, fire_at) DO NOTHING",
            )
            .bind(id)
            .bind(f.fire_at)
            .bind(&f.bizdate)
            .bind(&f.state)
            .bind(&f.reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Moves fire `(id, fire_at)` from state `from` to `to`; false when it was not in `from`
    /// (so two workers never both start it).
    pub async fn update_fire(
        &self,
        id: &str,
        fire_at: i64,
        from: &str,
        to: &str,
        instance_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE schedule_fires SET state = $1, instance_id = COALESCE($2, instance_id), reason = COALESCE($3, reason), updated_at = $4
             WHERE schedule_id = $5 AND fire_at = $6 AND state = $7",
        )
        .bind(to)
        .bind(instance_id)
        .bind(reason)
        .bind(now_ms())
        .bind(id)
        .bind(fire_at)
        .bind(from)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Fires in `state`, oldest first (reconciliation at start, queued fires).
    pub async fn fires_in_state(&self, state: &str) -> Result<Vec<ScheduleFire>> {
        let rows = sqlx::query(
            "SELECT * FROM schedule_fires WHERE state = $1 ORDER BY fire_at, schedule_id",
        )
        .bind(state)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(fire).collect()
    }

    /// The latest `limit` fires of schedule `id`, newest first.
    pub async fn list_fires(&self, id: &str, limit: i64) -> Result<Vec<ScheduleFire>> {
        let rows = sqlx::query(
            "SELECT * FROM schedule_fires WHERE schedule_id = $1 ORDER BY fire_at DESC LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(fire).collect()
    }

    /// Records what instance `p.instance_id` was started with.
    pub async fn record_run_params(&self, p: &RunParams) -> Result<()> {
        sqlx::query(
            "INSERT INTO run_params (instance_id, bizdate, params, script, schedule_id, fire_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.instance_id)
        .bind(&p.bizdate)
        .bind(params_json(&p.params))
        .bind(&p.script)
        .bind(&p.schedule_id)
        .bind(p.fire_at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The instance started for fire `(schedule_id, fire_at)`, by its recorded parameters.
    pub async fn run_for_fire(&self, schedule_id: &str, fire_at: i64) -> Result<Option<String>> {
        let r = sqlx::query(
            "SELECT instance_id FROM run_params WHERE schedule_id = $1 AND fire_at = $2",
        )
        .bind(schedule_id)
        .bind(fire_at)
        .fetch_optional(&self.read)
        .await?;
        Ok(r.map(|r| r.try_get("instance_id")).transpose()?)
    }

    /// The oldest instance of `job_id` created at or after `since` (epoch ms) without recorded
    /// run parameters: a run a scheduler started just before the process died, before it
    /// recorded the run.
    pub async fn unlinked_instance(&self, job_id: &str, since: i64) -> Result<Option<String>> {
        let r = sqlx::query(
            "SELECT i.id FROM job_instances i LEFT JOIN run_params p ON p.instance_id = i.id
             WHERE i.job_id = $1 AND i.created_at >= $2 AND p.instance_id IS NULL
             ORDER BY i.created_at LIMIT 1",
        )
        .bind(job_id)
        .bind(since)
        .fetch_optional(&self.read)
        .await?;
        Ok(r.map(|r| r.try_get("id")).transpose()?)
    }

    /// What instance `id` was started with, when it had parameters.
    pub async fn run_params(&self, id: &str) -> Result<Option<RunParams>> {
        let r = sqlx::query("SELECT * FROM run_params WHERE instance_id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(|r| {
                let params: String = r.try_get("params")?;
                Ok(RunParams {
                    instance_id: r.try_get("instance_id")?,
                    bizdate: r.try_get("bizdate")?,
                    params: serde_json::from_str(&params)
                        .map_err(|e| StoreError::Database(format!("run params: {e}")))?,
                    script: r.try_get("script")?,
                    schedule_id: r.try_get("schedule_id")?,
                    fire_at: r.try_get("fire_at")?,
                })
            })
            .transpose()
    }
}

/// A backfill: runs of a job for a list of business dates.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Backfill {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Job (or none: a workflow's backfill).
    pub job_id: Option<String>,
    /// Workflow (or none: a job's backfill).
    pub workflow_id: Option<String>,
    /// Zone the dates' logical times are computed in.
    pub timezone: String,
    /// Most runs at a time.
    pub parallelism: i64,
    /// Parameters.
    pub params: BTreeMap<String, String>,
    /// Creator.
    pub created_by: String,
    /// Epoch ms.
    pub created_at: i64,
    /// One per date, in order.
    pub runs: Vec<BackfillRun>,
}

/// One date of a backfill.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BackfillRun {
    /// Position (0-based).
    pub seq: i64,
    /// Business date (`yyyy-MM-dd`).
    pub bizdate: String,
    /// `PENDING`, `CLAIMED`, `SUBMITTED`, `FAILED` (could not start), `CANCELED`.
    pub state: String,
    /// The run's instance.
    pub instance_id: Option<String>,
    /// Why it failed.
    pub reason: Option<String>,
}

impl Store {
    /// Creates a backfill of `target` with one `PENDING` run per date.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_backfill(
        &self,
        project_id: &str,
        target: Target<'_>,
        timezone: &str,
        parallelism: i64,
        params: &BTreeMap<String, String>,
        dates: &[String],
        user: &str,
    ) -> Result<Backfill> {
        let id = new_id();
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!("INSERT INTO backfills (id, project_id, {}, timezone, parallelism, params, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", target.column()))
            .bind(&id)
            .bind(project_id)
            .bind(target.id())
            .bind(timezone)
            .bind(parallelism)
            .bind(params_json(params))
            .bind(user)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for (i, d) in dates.iter().enumerate() {
            sqlx::query("INSERT INTO backfill_runs (backfill_id, seq, bizdate, state, updated_at) VALUES ($1, $2, $3, 'PENDING', $4)")
                .bind(&id)
                .bind(i as i64)
                .bind(d)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_backfill(&id).await
    }

    /// A backfill with its runs.
    pub async fn get_backfill(&self, id: &str) -> Result<Backfill> {
        let r = sqlx::query("SELECT * FROM backfills WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("backfill '{id}'")))?;
        let runs = sqlx::query("SELECT * FROM backfill_runs WHERE backfill_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(BackfillRun {
                    seq: r.try_get("seq")?,
                    bizdate: r.try_get("bizdate")?,
                    state: r.try_get("state")?,
                    instance_id: r.try_get("instance_id")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let params: String = r.try_get("params")?;
        Ok(Backfill {
            id: r.try_get("id")?,
            project_id: r.try_get("project_id")?,
            job_id: r.try_get("job_id")?,
            workflow_id: r.try_get("workflow_id")?,
            timezone: r.try_get("timezone")?,
            parallelism: r.try_get("parallelism")?,
            params: serde_json::from_str(&params)
                .map_err(|e| StoreError::Database(format!("backfill params: {e}")))?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            runs,
        })
    }

    /// The backfills of `target`, newest first.
    pub async fn list_backfills(&self, target: Target<'_>) -> Result<Vec<Backfill>> {
        let ids: Vec<String> = sqlx::query(&format!(
            "SELECT id FROM backfills WHERE {} = $1 ORDER BY created_at DESC LIMIT 50",
            target.column()
        ))
        .bind(target.id())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get_backfill(&id).await?);
        }
        Ok(out)
    }

    /// Ids of backfills with runs still `PENDING` or `CLAIMED`.
    pub async fn open_backfills(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT backfill_id FROM backfill_runs WHERE state IN ('PENDING', 'CLAIMED')",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("backfill_id")?)).collect()
    }

    /// Moves run `seq` of backfill `id` from `from` to `to`; false when it was not in `from`.
    pub async fn update_backfill_run(
        &self,
        id: &str,
        seq: i64,
        from: &str,
        to: &str,
        instance_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<bool> {
        let n = sqlx::query("UPDATE backfill_runs SET state = $1, instance_id = COALESCE($2, instance_id), reason = COALESCE($3, reason), updated_at = $4 WHERE backfill_id = $5 AND seq = $6 AND state = $7")
            .bind(to)
            .bind(instance_id)
            .bind(reason)
            .bind(now_ms())
            .bind(id)
            .bind(seq)
            .bind(from)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}
