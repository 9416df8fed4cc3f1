//! Workflows, their runs and task runs (migration `0005_schedules.sql`). Definitions are kept
//! as JSON (their shape and checks: `scaleph-schedule::dag`); a run keeps a snapshot of the
//! definition it started with. Task states change only by compare-and-set
//! ([`Store::update_task_run`]).

use crate::error::on_unique;
use crate::{new_id, now_ms, Result, Row, Store, StoreError};
use serde::Serialize;
use sqlx::Row as _;
use utoipa::ToSchema;

/// A workflow.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Workflow {
    /// Id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name, unique in the project.
    pub name: String,
    /// Tasks, failure strategy, parameters (see `Definition` in the API).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// Creator.
    pub created_by: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub updated_at: i64,
}

/// A run of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WorkflowRun {
    /// Id.
    pub id: String,
    /// Workflow.
    pub workflow_id: String,
    /// `RUNNING`, `SUCCESS`, `FAILED`, `CANCELED`.
    pub state: String,
    /// Business date (`yyyy-MM-dd`).
    pub bizdate: String,
    /// The definition it runs (as when it started).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// `manual`, `rerun`.
    pub trigger_kind: String,
    /// Cancel was asked.
    pub cancelled: bool,
    /// Who started it.
    pub created_by: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms.
    pub ended_at: Option<i64>,
    /// Its tasks, in the definition's order.
    pub tasks: Vec<TaskRun>,
}

/// A task of a workflow run.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaskRun {
    /// Task key.
    pub task_key: String,
    /// The job it runs.
    pub job_id: String,
    /// `WAITING`, `RUNNING`, `RETRY_WAIT`, `SUCCESS`, `FAILED`, `UPSTREAM_FAILED`, `CANCELED`.
    pub state: String,
    /// Attempts started (1 = the first).
    pub attempt: i64,
    /// The current or last attempt's instance.
    pub instance_id: Option<String>,
    /// A nested workflow task: the current or last attempt's child run.
    pub child_run_id: Option<String>,
    /// Epoch ms the current attempt started.
    pub started_at: Option<i64>,
    /// Epoch ms it ended.
    pub ended_at: Option<i64>,
    /// Epoch ms of the next attempt (`RETRY_WAIT`).
    pub next_attempt_at: Option<i64>,
    /// An attempt ran past its timeout.
    pub timed_out: bool,
    /// Why it failed, was skipped or timed out.
    pub reason: Option<String>,
}

/// A change of a task run, applied only if it is still in the expected state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskChange<'a> {
    /// New state.
    pub state: &'a str,
    /// New attempt count.
    pub attempt: Option<i64>,
    /// New instance.
    pub instance_id: Option<&'a str>,
    /// New child run (a nested workflow task).
    pub child_run_id: Option<&'a str>,
    /// Set `started_at` (and clear `ended_at`).
    pub started_at: Option<i64>,
    /// Set `ended_at`.
    pub ended_at: Option<i64>,
    /// Set `next_attempt_at`.
    pub next_attempt_at: Option<i64>,
    /// Mark timed out.
    pub timed_out: bool,
    /// Set the reason.
    pub reason: Option<&'a str>,
}

fn json(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(format!("{what}: {e}")))
}

fn workflow(r: &Row) -> Result<Workflow> {
    let d: String = r.try_get("definition")?;
    Ok(Workflow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        definition: json(&d, "workflow definition")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn task_run(r: &Row) -> Result<TaskRun> {
    let timed_out: i64 = r.try_get("timed_out")?;
    Ok(TaskRun {
        task_key: r.try_get("task_key")?,
        job_id: r.try_get("job_id")?,
        state: r.try_get("state")?,
        attempt: r.try_get("attempt")?,
        instance_id: r.try_get("instance_id")?,
        child_run_id: r.try_get("child_run_id")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        timed_out: timed_out != 0,
        reason: r.try_get("reason")?,
    })
}

impl Store {
    /// Creates a workflow; 409 when the name is taken in the project.
    pub async fn create_workflow(
        &self,
        project_id: &str,
        name: &str,
        definition: &serde_json::Value,
        user: &str,
    ) -> Result<Workflow> {
        let id = new_id();
        let now = now_ms();
        let r = sqlx::query("INSERT INTO workflows (id, project_id, name, definition, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(&id)
            .bind(project_id)
            .bind(name)
            .bind(definition.to_string())
            .bind(user)
            .bind(now)
            .execute(&self.write)
            .await;
        r.map_err(|e| {
            on_unique(e, || {
                format!("a workflow named '{name}' exists in this project")
            })
        })?;
        self.get_workflow(project_id, &id).await
    }

    /// Replaces a workflow's name and definition (runs keep their snapshot).
    pub async fn update_workflow(
        &self,
        project_id: &str,
        id: &str,
        name: &str,
        definition: &serde_json::Value,
    ) -> Result<Workflow> {
        let n = sqlx::query("UPDATE workflows SET name = $1, definition = $2, updated_at = $3 WHERE id = $4 AND project_id = $5")
            .bind(name)
            .bind(definition.to_string())
            .bind(now_ms())
            .bind(id)
            .bind(project_id)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("a workflow named '{name}' exists in this project")))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("workflow '{id}'")));
        }
        self.get_workflow(project_id, id).await
    }

    /// A workflow of the project.
    pub async fn get_workflow(&self, project_id: &str, id: &str) -> Result<Workflow> {
        let r = sqlx::query("SELECT * FROM workflows WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(workflow)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("workflow '{id}'")))
    }

    /// The project's workflows by name.
    pub async fn list_workflows(&self, project_id: &str) -> Result<Vec<Workflow>> {
        let rows = sqlx::query("SELECT * FROM workflows WHERE project_id = $1 ORDER BY name")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(workflow).collect()
    }

    /// Deletes a workflow and its runs.
    pub async fn delete_workflow(&self, project_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM task_runs WHERE run_id IN (SELECT id FROM workflow_runs WHERE workflow_id = $1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM workflow_runs WHERE workflow_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM workflows WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("workflow '{id}'")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Starts a run: the definition's snapshot and one `WAITING` task run per `(key, job)`.
    pub async fn create_workflow_run(
        &self,
        workflow_id: &str,
        bizdate: &str,
        definition: &serde_json::Value,
        tasks: &[(String, String)],
        trigger: &str,
        user: &str,
    ) -> Result<WorkflowRun> {
        let id = new_id();
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO workflow_runs (id, workflow_id, state, bizdate, definition, trigger_kind, cancelled, created_by, created_at) VALUES ($1, $2, 'RUNNING', $3, $4, $5, 0, $6, $7)")
            .bind(&id)
            .bind(workflow_id)
            .bind(bizdate)
            .bind(definition.to_string())
            .bind(trigger)
            .bind(user)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for (seq, (key, job)) in tasks.iter().enumerate() {
            sqlx::query("INSERT INTO task_runs (run_id, task_key, seq, job_id, state, attempt, timed_out) VALUES ($1, $2, $3, $4, 'WAITING', 0, 0)")
                .bind(&id)
                .bind(key)
                .bind(seq as i64)
                .bind(job)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_workflow_run(&id).await
    }

    /// A run with its tasks.
    pub async fn get_workflow_run(&self, id: &str) -> Result<WorkflowRun> {
        let r = sqlx::query("SELECT * FROM workflow_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("workflow run '{id}'")))?;
        let tasks = sqlx::query("SELECT * FROM task_runs WHERE run_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(task_run)
            .collect::<Result<Vec<_>>>()?;
        let d: String = r.try_get("definition")?;
        let cancelled: i64 = r.try_get("cancelled")?;
        Ok(WorkflowRun {
            id: r.try_get("id")?,
            workflow_id: r.try_get("workflow_id")?,
            state: r.try_get("state")?,
            bizdate: r.try_get("bizdate")?,
            definition: json(&d, "run definition")?,
            trigger_kind: r.try_get("trigger_kind")?,
            cancelled: cancelled != 0,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            ended_at: r.try_get("ended_at")?,
            tasks,
        })
    }

    /// A workflow's latest 100 runs, newest first.
    pub async fn list_workflow_runs(&self, workflow_id: &str) -> Result<Vec<WorkflowRun>> {
        let ids: Vec<String> = sqlx::query("SELECT id FROM workflow_runs WHERE workflow_id = $1 ORDER BY created_at DESC LIMIT 100")
            .bind(workflow_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get_workflow_run(&id).await?);
        }
        Ok(out)
    }

    /// Ids of the workflow's runs in state `RUNNING`.
    pub async fn running_runs_of(&self, workflow_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM workflow_runs WHERE workflow_id = $1 AND state = 'RUNNING' ORDER BY created_at")
            .bind(workflow_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Whether workflow `workflow_id` has a `SUCCESS` run for business date `bizdate`.
    pub async fn workflow_succeeded_on(&self, workflow_id: &str, bizdate: &str) -> Result<bool> {
        let r = sqlx::query("SELECT id FROM workflow_runs WHERE workflow_id = $1 AND bizdate = $2 AND state = 'SUCCESS' LIMIT 1")
            .bind(workflow_id)
            .bind(bizdate)
            .fetch_optional(&self.read)
            .await?;
        Ok(r.is_some())
    }

    /// A workflow by id, whatever its project.
    pub async fn workflow_by_id(&self, id: &str) -> Result<Workflow> {
        let r = sqlx::query("SELECT * FROM workflows WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(workflow)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("workflow '{id}'")))
    }

    /// Ids of runs in state `RUNNING`.
    pub async fn running_workflow_runs(&self) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT id FROM workflow_runs WHERE state = 'RUNNING' ORDER BY created_at")
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Applies `c` to task `key` of run `run_id` if it is in state `from`; false otherwise.
    pub async fn update_task_run(
        &self,
        run_id: &str,
        key: &str,
        from: &str,
        c: &TaskChange<'_>,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE task_runs SET state = $1, attempt = COALESCE($2, attempt),
               instance_id = COALESCE($3, instance_id),
               started_at = COALESCE($4, started_at),
               ended_at = CASE WHEN $12 = 1 THEN NULL ELSE COALESCE($5, ended_at) END,
               next_attempt_at = $6,
               timed_out = CASE WHEN $7 = 1 THEN 1 ELSE timed_out END,
               reason = COALESCE($8, reason),
               child_run_id = COALESCE($13, child_run_id)
             WHERE run_id = $9 AND task_key = $10 AND state = $11",
        )
        .bind(c.state)
        .bind(c.attempt)
        .bind(c.instance_id)
        .bind(c.started_at)
        .bind(c.ended_at)
        .bind(c.next_attempt_at)
        .bind(i64::from(c.timed_out))
        .bind(c.reason)
        .bind(run_id)
        .bind(key)
        .bind(from)
        .bind(i64::from(c.started_at.is_some()))
        .bind(c.child_run_id)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Sets a run's state (`ended_at` for an end state; cleared for `RUNNING`).
    pub async fn set_workflow_run_state(&self, id: &str, state: &str) -> Result<()> {
        let ended = (state != "RUNNING").then(now_ms);
        sqlx::query("UPDATE workflow_runs SET state = $1, ended_at = $2 WHERE id = $3")
            .bind(state)
            .bind(ended)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Marks a run cancelled (or not, for a rerun).
    pub async fn set_workflow_run_cancelled(&self, id: &str, cancelled: bool) -> Result<()> {
        sqlx::query("UPDATE workflow_runs SET cancelled = $1 WHERE id = $2")
            .bind(i64::from(cancelled))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
