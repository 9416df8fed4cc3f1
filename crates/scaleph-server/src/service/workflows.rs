//! Workflows: definitions checked against the project's jobs, runs advanced by the scheduler's
//! loop ([`tick`]) through the task state machine of `scaleph-schedule::dag`, cancel and rerun.
//!
//! A task's attempt is a job instance started with the run's business date and parameters
//! ([`super::scheduler::run_job`]); the loop observes it, applies retries, timeouts and the
//! failure strategy, and starts tasks whose upstream tasks all succeeded. Every change is a
//! compare-and-set on the task's state, so two loops (two servers) never start a task twice.

use super::scheduler::{run_job, RunAt};
use crate::error::ApiError;
use crate::AppState;
use chrono::{NaiveDate, Utc};
use scaleph_engine::JobState;
use scaleph_meta::{Store, TaskChange, TaskRun, Workflow, WorkflowRun};
use scaleph_schedule::dag::{
    self, Definition, FailureStrategy, TaskEvent, TaskState, TimeoutAction,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A workflow as the API takes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// Name, unique in the project.
    pub name: crate::service::names::Name,
    /// Tasks, failure strategy, parameters.
    pub definition: Definition,
}

/// Starting a run.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// Business date (`yyyy-MM-dd`; default: yesterday, UTC).
    #[serde(default)]
    pub bizdate: Option<String>,
    /// Parameters over the workflow's.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Deepest nesting of workflows in workflows.
const MAX_NESTING: usize = 5;

/// The workflows `def` runs as nested tasks.
fn nested_of(def: &serde_json::Value) -> Vec<String> {
    def["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["workflow_id"].as_str().map(str::to_string))
        .collect()
}

/// Refuses nesting that leads back to workflow `id` (a cycle of workflows) or deeper than
/// [`MAX_NESTING`].
async fn check_nesting(
    store: &Store,
    project_id: &str,
    id: Option<&str>,
    first: Vec<String>,
) -> Result<(), ApiError> {
    let mut level = first;
    for depth in 1..=MAX_NESTING + 1 {
        if level.is_empty() {
            return Ok(());
        }
        if depth > MAX_NESTING {
            return Err(ApiError::invalid(format!(
                "workflows nest at most {MAX_NESTING} deep"
            )));
        }
        let mut next = Vec::new();
        for w in level {
            if Some(w.as_str()) == id {
                return Err(ApiError::invalid(format!(
                    "nested workflow '{w}' runs this workflow again: a cycle of workflows"
                )));
            }
            let wf = store.get_workflow(project_id, &w).await.map_err(|_| {
                ApiError::invalid(format!("nested workflow '{w}' is not in this project"))
            })?;
            next.extend(nested_of(&wf.definition));
        }
        level = next;
    }
    Ok(())
}

/// Checks `spec` against the project: the DAG's rules, that every task's job or nested
/// workflow is in it, and no cycle of nested workflows (`id`: the workflow being replaced).
async fn check(
    store: &Store,
    project_id: &str,
    id: Option<&str>,
    spec: &WorkflowSpec,
) -> Result<(), ApiError> {
    dag::validate(&spec.definition).map_err(ApiError::invalid)?;
    let nested: Vec<String> = spec
        .definition
        .tasks
        .iter()
        .filter_map(|t| t.workflow_id.clone())
        .collect();
    check_nesting(store, project_id, id, nested).await?;
    for t in &spec.definition.tasks {
        if t.workflow_id.is_some() {
            continue;
        }
        if let Some(d) = &t.depends_on {
            if store
                .get_workflow(project_id, &d.workflow_id)
                .await
                .is_err()
            {
                return Err(ApiError::invalid(format!(
                    "task '{}': no workflow '{}' in this project",
                    t.key, d.workflow_id
                )));
            }
        } else if store.get_job(project_id, &t.job_id).await.is_err() {
            return Err(ApiError::invalid(format!(
                "task '{}': no job '{}' in this project",
                t.key, t.job_id
            )));
        }
    }
    Ok(())
}

/// Creates a workflow.
///
/// # Errors
/// 422 for an invalid definition (cycles, unknown tasks or jobs); 409 for a taken name.
pub async fn create(
    store: &Store,
    project_id: &str,
    spec: WorkflowSpec,
    user: &str,
) -> Result<Workflow, ApiError> {
    check(store, project_id, None, &spec).await?;
    let def = serde_json::to_value(&spec.definition).expect("a definition serializes");
    Ok(store
        .create_workflow(project_id, spec.name.as_str(), &def, user)
        .await?)
}

/// Replaces a workflow (running runs keep their definition).
///
/// # Errors
/// As [`create`]; 404.
pub async fn update(
    store: &Store,
    project_id: &str,
    id: &str,
    spec: WorkflowSpec,
) -> Result<Workflow, ApiError> {
    check(store, project_id, Some(id), &spec).await?;
    let def = serde_json::to_value(&spec.definition).expect("a definition serializes");
    Ok(store
        .update_workflow(project_id, id, spec.name.as_str(), &def)
        .await?)
}

/// Starts a run of a workflow; the loop starts its first tasks.
///
/// # Errors
/// 422 for a bad date; 404.
pub async fn start(
    store: &Store,
    project_id: &str,
    id: &str,
    req: StartRun,
    user: &str,
) -> Result<WorkflowRun, ApiError> {
    let wf = store.get_workflow(project_id, id).await?;
    let bizdate = match &req.bizdate {
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::invalid(format!("bizdate '{d}' is not a date (yyyy-MM-dd)")))?,
        None => Utc::now()
            .date_naive()
            .pred_opt()
            .expect("a day before today"),
    };
    start_run(store, &wf.id, bizdate, req.params, "manual", user).await
}

/// Starts a run of workflow `id` for `bizdate` with `params` over the workflow's, recorded as
/// started by `trigger` (`manual`, `schedule`, `backfill`).
///
/// # Errors
/// 404; a stored definition that no longer parses.
pub async fn start_run(
    store: &Store,
    id: &str,
    bizdate: NaiveDate,
    params: BTreeMap<String, String>,
    trigger: &str,
    user: &str,
) -> Result<WorkflowRun, ApiError> {
    let wf = store.workflow_by_id(id).await?;
    let mut def: Definition = serde_json::from_value(wf.definition.clone())
        .map_err(|e| ApiError::invalid(format!("stored definition: {e}")))?;
    def.params.extend(params);
    let tasks: Vec<(String, String)> = def
        .tasks
        .iter()
        .map(|t| (t.key.clone(), t.job_id.clone()))
        .collect();
    let snapshot = serde_json::to_value(&def).expect("a definition serializes");
    Ok(store
        .create_workflow_run(
            &wf.id,
            &bizdate.format("%Y-%m-%d").to_string(),
            &snapshot,
            &tasks,
            trigger,
            user,
        )
        .await?)
}

/// Cancels a run: running attempts are cancelled, tasks not ended become `CANCELED`.
///
/// # Errors
/// 409 when the run already ended.
pub async fn cancel(state: &AppState, run_id: &str) -> Result<WorkflowRun, ApiError> {
    let store = &state.store;
    let run = store.get_workflow_run(run_id).await?;
    if run.state != "RUNNING" {
        return Err(ApiError::conflict(format!("the run is {}", run.state)));
    }
    store.set_workflow_run_cancelled(run_id, true).await?;
    for t in &run.tasks {
        end_task(state, &run, t, "cancelled with the run").await?;
    }
    settle(store, run_id).await?;
    Ok(store.get_workflow_run(run_id).await?)
}

/// Reruns a failed or cancelled run from its failed tasks: failed, skipped and cancelled
/// tasks wait again (successes are kept) and the run is `RUNNING`.
///
/// # Errors
/// 409 unless the run is `FAILED` or `CANCELED`.
pub async fn rerun(store: &Store, run_id: &str) -> Result<WorkflowRun, ApiError> {
    let run = store.get_workflow_run(run_id).await?;
    if !matches!(run.state.as_str(), "FAILED" | "CANCELED") {
        return Err(ApiError::conflict(format!(
            "the run is {}; only FAILED or CANCELED runs rerun",
            run.state
        )));
    }
    store.set_workflow_run_cancelled(run_id, false).await?;
    for t in &run.tasks {
        let s = state_of(t);
        if let Some(to) = s.on(TaskEvent::Rerun) {
            store
                .update_task_run(
                    run_id,
                    &t.task_key,
                    s.as_str(),
                    &TaskChange {
                        state: to.as_str(),
                        attempt: Some(0),
                        ..Default::default()
                    },
                )
                .await?;
        }
    }
    store.set_workflow_run_state(run_id, "RUNNING").await?;
    Ok(store.get_workflow_run(run_id).await?)
}

fn state_of(t: &TaskRun) -> TaskState {
    TaskState::parse(&t.state).unwrap_or(TaskState::Failed)
}

/// Cancels `t`'s running attempt (if any) and moves it to `CANCELED`.
async fn end_task(
    state: &AppState,
    run: &WorkflowRun,
    t: &TaskRun,
    why: &str,
) -> Result<(), ApiError> {
    let s = state_of(t);
    let Some(to) = s.on(TaskEvent::Cancel) else {
        return Ok(());
    };
    if s == TaskState::Running {
        cancel_attempt(state, t).await;
    }
    state
        .store
        .update_task_run(
            &run.id,
            &t.task_key,
            s.as_str(),
            &TaskChange {
                state: to.as_str(),
                ended_at: Some(now()),
                reason: Some(why),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

fn now() -> i64 {
    Utc::now().timestamp_millis()
}

/// Sets the run's state from its tasks' states.
async fn settle(store: &Store, run_id: &str) -> Result<(), ApiError> {
    let run = store.get_workflow_run(run_id).await?;
    let states: Vec<TaskState> = run.tasks.iter().map(state_of).collect();
    let st = dag::run_state(&states, run.cancelled);
    if st != run.state {
        store.set_workflow_run_state(run_id, st).await?;
    }
    Ok(())
}

/// Advances every running workflow run once.
///
/// # Errors
/// Store errors.
pub async fn tick(state: &AppState) -> Result<(), ApiError> {
    for id in state.store.running_workflow_runs().await? {
        if let Err(e) = advance(state, &id).await {
            tracing::warn!(run = %id, error = %e.detail(), "workflow run step failed");
        }
    }
    Ok(())
}

async fn advance(state: &AppState, run_id: &str) -> Result<(), ApiError> {
    let store = &state.store;
    let run = store.get_workflow_run(run_id).await?;
    let def: Definition = serde_json::from_value(run.definition.clone())
        .map_err(|e| ApiError::invalid(format!("run definition: {e}")))?;
    let defs: BTreeMap<&str, &dag::TaskDef> =
        def.tasks.iter().map(|t| (t.key.as_str(), t)).collect();
    let now_ms = now();
    // 1. Observe running attempts: success, failure (retry?), timeout.
    for t in run
        .tasks
        .iter()
        .filter(|t| state_of(t) == TaskState::Running)
    {
        let Some(d) = defs.get(t.task_key.as_str()) else {
            continue;
        };
        let retry = t.attempt <= i64::from(d.retries);
        if let Some(dep) = &d.depends_on {
            check_dependency(store, &run, t, dep, now_ms).await?;
            continue;
        }
        observe(state, &run, t, d, retry, now_ms).await?;
    }
    let run = store.get_workflow_run(run_id).await?;
    let states: BTreeMap<&str, TaskState> = run
        .tasks
        .iter()
        .map(|t| (t.task_key.as_str(), state_of(t)))
        .collect();
    // 2. The `end` strategy: a task failed for good ends the run.
    if def.failure_strategy == FailureStrategy::End
        && states.values().any(|s| *s == TaskState::Failed)
    {
        for t in &run.tasks {
            end_task(
                state,
                &run,
                t,
                "ended: another task failed (failure strategy 'end')",
            )
            .await?;
        }
        return settle(store, run_id).await;
    }
    // 3. Waiting tasks: skip below a failure; start when every upstream task succeeded.
    for t in &run.tasks {
        let s = states[t.task_key.as_str()];
        let Some(d) = defs.get(t.task_key.as_str()) else {
            continue;
        };
        let ups: Vec<TaskState> = d
            .upstream
            .iter()
            .filter_map(|u| states.get(u.as_str()).copied())
            .collect();
        let start = match s {
            TaskState::Waiting => {
                if ups.iter().any(|u| {
                    matches!(
                        u,
                        TaskState::Failed | TaskState::UpstreamFailed | TaskState::Canceled
                    )
                }) {
                    store
                        .update_task_run(
                            run_id,
                            &t.task_key,
                            s.as_str(),
                            &TaskChange {
                                state: TaskState::UpstreamFailed.as_str(),
                                reason: Some("an upstream task did not succeed"),
                                ..Default::default()
                            },
                        )
                        .await?;
                    false
                } else {
                    ups.iter().all(|u| u.done())
                }
            }
            TaskState::RetryWait => t.next_attempt_at.is_none_or(|at| at <= now_ms),
            _ => false,
        };
        if start && d.depends_on.is_some() {
            // A dependency check "runs" from now until met or past its wait limit.
            store
                .update_task_run(
                    run_id,
                    &t.task_key,
                    s.as_str(),
                    &TaskChange {
                        state: TaskState::Running.as_str(),
                        attempt: Some(t.attempt + 1),
                        started_at: Some(now_ms),
                        ..Default::default()
                    },
                )
                .await?;
        } else if start {
            start_task(state, &run, &def, t, s).await?;
        }
    }
    settle(store, run_id).await
}

/// Starts the next attempt of `t` (now in state `s`): a job instance with the run's date and
/// parameters.
async fn start_task(
    state: &AppState,
    run: &WorkflowRun,
    def: &Definition,
    t: &TaskRun,
    s: TaskState,
) -> Result<(), ApiError> {
    let store = &state.store;
    let attempt = t.attempt + 1;
    // Claim the start first: another loop that read the same state loses here.
    if !store
        .update_task_run(
            &run.id,
            &t.task_key,
            s.as_str(),
            &TaskChange {
                state: TaskState::Running.as_str(),
                attempt: Some(attempt),
                started_at: Some(now()),
                ..Default::default()
            },
        )
        .await?
    {
        return Ok(());
    }
    let bizdate = NaiveDate::parse_from_str(&run.bizdate, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid("a stored business date"))?;
    let task_def = def.tasks.iter().find(|d| d.key == t.task_key);
    let started = match task_def.and_then(|d| d.workflow_id.as_deref()) {
        // A nested workflow: a run of it for the same business date and parameters.
        Some(child) => start_run(
            store,
            child,
            bizdate,
            def.params.clone(),
            "parent",
            &run.created_by,
        )
        .await
        .map(|r| (None, Some(r.id))),
        None => {
            // Dates are local to the workflow's schedule's zone (UTC without one), as for
            // its scheduled runs.
            let tz: chrono_tz::Tz = store
                .schedule_of(scaleph_meta::Target::Workflow(&run.workflow_id))
                .await?
                .and_then(|s| s.timezone.parse().ok())
                .unwrap_or(chrono_tz::UTC);
            let at = RunAt {
                logical: scaleph_schedule::logical_time_of(bizdate, tz),
                tz,
                bizdate,
            };
            run_job(state, &t.job_id, at, &def.params, None)
                .await
                .map(|iid| (Some(iid), None))
        }
    };
    match started {
        Ok((instance, child)) => {
            store
                .update_task_run(
                    &run.id,
                    &t.task_key,
                    TaskState::Running.as_str(),
                    &TaskChange {
                        state: TaskState::Running.as_str(),
                        instance_id: instance.as_deref(),
                        child_run_id: child.as_deref(),
                        ..Default::default()
                    },
                )
                .await?;
        }
        Err(e) => {
            let retry = task_def.is_some_and(|d| attempt <= i64::from(d.retries));
            let interval = task_def.map_or(0, |d| d.retry_interval_s);
            let why = format!("attempt {attempt} did not start: {}", e.detail());
            fail_attempt(store, &run.id, t, retry, interval, &why).await?;
        }
    }
    Ok(())
}

/// What a running attempt's job instance or child run says.
enum Outcome {
    /// Claimed, but its instance or child run is not recorded yet.
    Pending,
    /// Still going.
    Running,
    /// Ended successfully.
    Succeeded,
    /// Ended otherwise: why.
    Failed(String),
}

async fn outcome(store: &Store, t: &TaskRun, nested: bool) -> Result<Outcome, ApiError> {
    Ok(if nested {
        let Some(child) = &t.child_run_id else {
            return Ok(Outcome::Pending);
        };
        let c = store.get_workflow_run(child).await?;
        match c.state.as_str() {
            "SUCCESS" => Outcome::Succeeded,
            "RUNNING" => Outcome::Running,
            other => {
                let failed: Vec<&str> = c
                    .tasks
                    .iter()
                    .filter(|x| matches!(x.state.as_str(), "FAILED" | "CANCELED"))
                    .map(|x| x.task_key.as_str())
                    .collect();
                Outcome::Failed(format!(
                    "attempt {}: nested run {child} {other} (tasks {})",
                    t.attempt,
                    failed.join(", ")
                ))
            }
        }
    } else {
        let Some(iid) = &t.instance_id else {
            return Ok(Outcome::Pending);
        };
        let inst = store.get_instance(iid).await?;
        match inst.state {
            JobState::Finished => Outcome::Succeeded,
            JobState::Failed | JobState::Canceled => Outcome::Failed(format!(
                "attempt {} {}: {}",
                t.attempt,
                inst.state,
                inst.error.clone().unwrap_or_default()
            )),
            _ => Outcome::Running,
        }
    })
}

/// Cancels `t`'s running attempt: its child run (with that run's tasks) or its instance.
async fn cancel_attempt(state: &AppState, t: &TaskRun) {
    if let Some(child) = &t.child_run_id {
        let _ = Box::pin(cancel(state, child)).await;
    }
    if let Some(i) = &t.instance_id {
        if let Ok(inst) = state.store.get_instance(i).await {
            if !inst.state.is_terminal() {
                let _ = state.lifecycle(inst.engine).cancel(&inst).await;
            }
        }
    }
}

/// Ends `t`'s running attempt as failed: `RETRY_WAIT` for `interval_s` when `retry`, else
/// `FAILED`.
async fn fail_attempt(
    store: &Store,
    run_id: &str,
    t: &TaskRun,
    retry: bool,
    interval_s: u64,
    reason: &str,
) -> Result<(), ApiError> {
    let now_ms = now();
    let to = TaskState::Running
        .on(TaskEvent::AttemptFailed { retry })
        .expect("running fails");
    store
        .update_task_run(
            run_id,
            &t.task_key,
            TaskState::Running.as_str(),
            &TaskChange {
                state: to.as_str(),
                ended_at: Some(now_ms),
                next_attempt_at: retry.then(|| now_ms + 1000 * interval_s as i64),
                reason: Some(reason),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// Observes a running task's attempt (a job instance or a nested workflow's run): success,
/// failure (retry?), timeout (`fail` cancels the attempt, `alert` marks the task timed out).
async fn observe(
    state: &AppState,
    run: &WorkflowRun,
    t: &TaskRun,
    d: &dag::TaskDef,
    retry: bool,
    now_ms: i64,
) -> Result<(), ApiError> {
    let store = &state.store;
    match outcome(store, t, d.workflow_id.is_some()).await? {
        Outcome::Pending => {
            // Claimed but never started: the process died in between (a start takes ms).
            if t.started_at.is_some_and(|at| now_ms - at > 60_000) {
                let why = "the attempt did not start: the platform restarted";
                fail_attempt(store, &run.id, t, retry, d.retry_interval_s, why).await?;
            }
        }
        Outcome::Succeeded => {
            store
                .update_task_run(
                    &run.id,
                    &t.task_key,
                    TaskState::Running.as_str(),
                    &TaskChange {
                        state: TaskState::Success.as_str(),
                        ended_at: Some(now_ms),
                        ..Default::default()
                    },
                )
                .await?;
        }
        Outcome::Failed(why) => {
            fail_attempt(store, &run.id, t, retry, d.retry_interval_s, &why).await?;
        }
        Outcome::Running => {
            let over = d
                .timeout_s
                .zip(t.started_at)
                .is_some_and(|(s, at)| now_ms - at > 1000 * s as i64);
            if !over {
                return Ok(());
            }
            let why = format!(
                "attempt {} timed out after {} s",
                t.attempt,
                d.timeout_s.unwrap_or(0)
            );
            match d.timeout_action {
                TimeoutAction::Fail => {
                    cancel_attempt(state, t).await;
                    fail_attempt(store, &run.id, t, retry, d.retry_interval_s, &why).await?;
                }
                TimeoutAction::Alert if !t.timed_out => {
                    store
                        .update_task_run(
                            &run.id,
                            &t.task_key,
                            TaskState::Running.as_str(),
                            &TaskChange {
                                state: TaskState::Running.as_str(),
                                timed_out: true,
                                reason: Some(&why),
                                ..Default::default()
                            },
                        )
                        .await?;
                }
                TimeoutAction::Alert => {}
            }
        }
    }
    Ok(())
}

/// A running dependency task: succeeds when the workflow it waits for has a successful run for
/// every date of its span; past the wait limit it fails or is skipped.
async fn check_dependency(
    store: &Store,
    run: &WorkflowRun,
    t: &TaskRun,
    dep: &dag::Dependency,
    now_ms: i64,
) -> Result<(), ApiError> {
    let bizdate = NaiveDate::parse_from_str(&run.bizdate, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid("a stored business date"))?;
    let mut missing = Vec::new();
    for back in 0..dep.days {
        let d = bizdate - chrono::Duration::days(i64::from(back));
        let d = d.format("%Y-%m-%d").to_string();
        if !store.workflow_succeeded_on(&dep.workflow_id, &d).await? {
            missing.push(d);
        }
    }
    let (to, why) = if missing.is_empty() {
        (TaskEvent::Succeeded, None)
    } else if t
        .started_at
        .is_some_and(|at| now_ms - at > 1000 * dep.wait_limit_s as i64)
    {
        let why = format!(
            "workflow {} has no successful run for {} after {} s",
            dep.workflow_id,
            missing.join(", "),
            dep.wait_limit_s
        );
        match dep.on_timeout {
            dag::OnDependencyTimeout::Fail => {
                (TaskEvent::AttemptFailed { retry: false }, Some(why))
            }
            dag::OnDependencyTimeout::Skip => (TaskEvent::Skip, Some(why)),
        }
    } else {
        return Ok(()); // still waiting
    };
    let to = TaskState::Running.on(to).expect("a running task ends");
    store
        .update_task_run(
            &run.id,
            &t.task_key,
            TaskState::Running.as_str(),
            &TaskChange {
                state: to.as_str(),
                ended_at: Some(now_ms),
                reason: why.as_deref(),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}
