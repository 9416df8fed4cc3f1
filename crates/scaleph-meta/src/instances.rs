use crate::{
    new_id, now_ms, state_of, InstanceDetail, JobInstance, LogLine, Page, PageRequest, Result, Row,
    StateChange, Store, StoreError,
};
use scaleph_engine::{EngineKind, JobState, LogLevel, TableMetrics, TableRole};
use sqlx::Row as _;

pub(crate) fn instance(r: &Row) -> Result<JobInstance> {
    let engine: String = r.try_get("engine")?;
    let state: String = r.try_get("state")?;
    Ok(JobInstance {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        version: r.try_get("version")?,
        engine: EngineKind::parse(&engine)
            .ok_or_else(|| StoreError::Database(format!("unknown engine '{engine}'")))?,
        state: state_of(&state)?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        cluster_id: r.try_get("cluster_id")?,
        flink_job_id: r.try_get("flink_job_id")?,
        restored_from: r.try_get("restored_from")?,
        restart_of: r.try_get("restart_of")?,
    })
}

fn level(s: &str) -> LogLevel {
    match s {
        "WARN" => LogLevel::Warn,
        "ERROR" => LogLevel::Error,
        "STDOUT" => LogLevel::Stdout,
        _ => LogLevel::Info,
    }
}

impl Store {
    /// Instances of `job_id` that have not ended, oldest first.
    pub async fn active_job_instances(&self, job_id: &str) -> Result<Vec<JobInstance>> {
        let rows = sqlx::query(
            "SELECT * FROM job_instances WHERE job_id = $1 AND ended_at IS NULL ORDER BY created_at",
        )
        .bind(job_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(instance).collect()
    }

    /// Creates an instance in state CREATED (with its first history entry), atomically.
    pub async fn create_instance(
        &self,
        job_id: &str,
        version: i64,
        engine: EngineKind,
        cluster_id: Option<&str>,
        restored_from: Option<&str>,
    ) -> Result<JobInstance> {
        let now = now_ms();
        let i = JobInstance {
            id: new_id(),
            job_id: job_id.into(),
            version,
            engine,
            state: JobState::Created,
            error: None,
            created_at: now,
            started_at: None,
            ended_at: None,
            cluster_id: cluster_id.map(str::to_string),
            flink_job_id: None,
            restored_from: restored_from.map(str::to_string),
            restart_of: None,
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO job_instances (id, job_id, version, engine, state, created_at, cluster_id, restored_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&i.id)
            .bind(job_id)
            .bind(version)
            .bind(engine.as_str())
            .bind(i.state.as_str())
            .bind(now)
            .bind(cluster_id)
            .bind(restored_from)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO instance_states (instance_id, seq, state, at) VALUES ($1, 1, $2, $3)",
        )
        .bind(&i.id)
        .bind(i.state.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(i)
    }

    /// One instance.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_instance(&self, id: &str) -> Result<JobInstance> {
        let r = sqlx::query("SELECT * FROM job_instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(instance)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("job instance '{id}'")))
    }

    /// An instance with history and metrics.
    pub async fn instance_detail(&self, id: &str) -> Result<InstanceDetail> {
        let instance = self.get_instance(id).await?;
        let history = sqlx::query(
            "SELECT state, at, reason FROM instance_states WHERE instance_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            let s: String = r.try_get("state")?;
            Ok(StateChange {
                state: state_of(&s)?,
                at: r.try_get("at")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect::<Result<_>>()?;
        let metrics = sqlx::query("SELECT table_name, role, rows_count, bytes FROM instance_metrics WHERE instance_id = $1 ORDER BY role DESC, table_name")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(TableMetrics {
                    table: r.try_get("table_name")?,
                    role: if role == "sink" { TableRole::Sink } else { TableRole::Source },
                    rows: r.try_get::<i64, _>("rows_count")? as u64,
                    bytes: r.try_get::<i64, _>("bytes")? as u64,
                })
            })
            .collect::<Result<_>>()?;
        let project_id = self.instance_project(id).await?;
        Ok(InstanceDetail {
            instance,
            project_id,
            history,
            metrics,
        })
    }

    /// A job's instances, newest first.
    pub async fn list_instances(
        &self,
        job_id: &str,
        page: PageRequest,
    ) -> Result<Page<JobInstance>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_instances WHERE job_id = $1")
            .bind(job_id)
            .fetch_one(&self.read)
            .await?;
        let rows = sqlx::query("SELECT * FROM job_instances WHERE job_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3")
            .bind(job_id)
            .bind(page.page_size)
            .bind(page.offset())
            .fetch_all(&self.read)
            .await?;
        Ok(Page {
            items: rows.iter().map(instance).collect::<Result<_>>()?,
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// Moves an instance to `to`, if the state machine allows it from the current state, and
    /// records the change in its history. `error` is stored with FAILED. Compare-and-set on the
    /// state column, so concurrent transitions cannot both win.
    ///
    /// # Errors
    /// [`StoreError::IllegalTransition`], [`StoreError::NotFound`].
    pub async fn transition(
        &self,
        id: &str,
        to: JobState,
        reason: Option<&str>,
        error: Option<&str>,
    ) -> Result<JobInstance> {
        self.change_state(id, to, reason, error, JobState::transition)
            .await
    }

    /// Records a state observed on a cluster, if [`JobState::observe`] allows it from the
    /// current state; otherwise like [`Store::transition`].
    ///
    /// # Errors
    /// [`StoreError::IllegalTransition`], [`StoreError::NotFound`].
    pub async fn observe(
        &self,
        id: &str,
        to: JobState,
        reason: Option<&str>,
        error: Option<&str>,
    ) -> Result<JobInstance> {
        self.change_state(id, to, reason, error, JobState::observe)
            .await
    }

    async fn change_state(
        &self,
        id: &str,
        to: JobState,
        reason: Option<&str>,
        error: Option<&str>,
        rule: fn(
            JobState,
            JobState,
        ) -> std::result::Result<JobState, scaleph_engine::IllegalTransition>,
    ) -> Result<JobInstance> {
        loop {
            let cur = self.get_instance(id).await?;
            rule(cur.state, to)?;
            let now = now_ms();
            let mut tx = self.begin_write().await?;
            let started = cur.started_at.or((to == JobState::Running).then_some(now));
            let ended = to.is_terminal().then_some(now);
            let n = sqlx::query("UPDATE job_instances SET state = $1, error = $2, started_at = $3, ended_at = $4 WHERE id = $5 AND state = $6")
                .bind(to.as_str())
                .bind(error.map(str::to_string).or(cur.error.clone()))
                .bind(started)
                .bind(ended)
                .bind(id)
                .bind(cur.state.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                continue; // someone else moved it; re-check against the new state
            }
            let seq: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM instance_states WHERE instance_id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO instance_states (instance_id, seq, state, at, reason) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(seq)
                .bind(to.as_str())
                .bind(now)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return self.get_instance(id).await;
        }
    }

    /// Replaces the instance's per-table counters.
    pub async fn upsert_metrics(&self, id: &str, metrics: &[TableMetrics]) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        for m in metrics {
            sqlx::query(
                "INSERT INTO instance_metrics (instance_id, table_name, role, rows_count, bytes, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (instance_id, table_name, role) DO UPDATE SET rows_count = excluded.rows_count, bytes = excluded.bytes, updated_at = excluded.updated_at",
            )
            .bind(id)
            .bind(&m.table)
            .bind(m.role.as_str())
            .bind(m.rows as i64)
            .bind(m.bytes as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends log lines; returns the sequence number of the last one.
    pub async fn append_logs(&self, id: &str, lines: &[(LogLevel, String)]) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let mut seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM instance_logs WHERE instance_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let now = now_ms();
        for (lvl, line) in lines {
            seq += 1;
            sqlx::query("INSERT INTO instance_logs (instance_id, seq, at, level, line) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(seq)
                .bind(now)
                .bind(lvl.as_str())
                .bind(line)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(seq)
    }

    /// Log lines with `seq > after`, at most `limit`, oldest first.
    pub async fn logs(&self, id: &str, after: i64, limit: i64) -> Result<Vec<LogLine>> {
        self.get_instance(id).await?;
        let rows = sqlx::query("SELECT seq, at, level, line FROM instance_logs WHERE instance_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let l: String = r.try_get("level")?;
                Ok(LogLine {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    level: level(&l),
                    line: r.try_get("line")?,
                })
            })
            .collect()
    }

    /// Marks an instance as the automatic restart of `failed`.
    pub async fn set_restart_of(&self, id: &str, failed: &str) -> Result<()> {
        sqlx::query("UPDATE job_instances SET restart_of = $1 WHERE id = $2")
            .bind(failed)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Automatic restarts of a job created since `since` (epoch ms).
    pub async fn count_restarts(&self, job_id: &str, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM job_instances WHERE job_id = $1 AND restart_of IS NOT NULL AND created_at >= $2")
            .bind(job_id)
            .bind(since)
            .fetch_one(&self.read)
            .await?)
    }

    /// The job an instance belongs to, with its project.
    pub async fn job_of_instance(&self, id: &str) -> Result<crate::Job> {
        let pid = self
            .instance_project(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job instance '{id}'")))?;
        let inst = self.get_instance(id).await?;
        self.get_job(&pid, &inst.job_id).await
    }

    /// Records the Flink job id an instance was submitted as.
    pub async fn set_flink_job_id(&self, id: &str, flink_job_id: &str) -> Result<()> {
        sqlx::query("UPDATE job_instances SET flink_job_id = $1 WHERE id = $2")
            .bind(flink_job_id)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Instances on `cluster_id` not in a terminal state, oldest first.
    pub async fn active_on_cluster(&self, cluster_id: &str) -> Result<Vec<JobInstance>> {
        let rows = sqlx::query("SELECT * FROM job_instances WHERE cluster_id = $1 AND state NOT IN ('FINISHED', 'FAILED', 'CANCELED', 'LOST') ORDER BY created_at")
            .bind(cluster_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(instance).collect()
    }

    /// Ids of instances of `engine` that are not in a terminal state.
    pub async fn unfinished_instances(&self, engine: EngineKind) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM job_instances WHERE engine = $1 AND state NOT IN ('FINISHED', 'FAILED', 'CANCELED', 'LOST')")
            .bind(engine.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }
}
