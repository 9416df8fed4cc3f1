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

/// Checks `spec` against the project: the DAG's rules and that every task's job is in it.
async fn check(store: &Store, project_id: &str, spec: &WorkflowSpec) -> Result<(), ApiError> {
    dag::validate(&spec.definition).map_err(ApiError::invalid)?;
    for t in &spec.definition.tasks {
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
    check(store, project_id, &spec).await?;
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
    check(store, project_id, &spec).await?;
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
        if let Some(i) = &t.instance_id {
            if let Ok(inst) = state.store.get_instance(i).await {
                if !inst.state.is_terminal() {
                    let _ = state.lifecycle(inst.engine).cancel(&inst).await;
                }
            }
        }
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
        let Some(iid) = &t.instance_id else {
            // Claimed but never started: the process died in between (a start takes ms).
            if t.started_at.is_some_and(|at| now_ms - at > 60_000) {
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
                            reason: Some("the attempt did not start: the platform restarted"),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
            continue;
        };
        let inst = store.get_instance(iid).await?;
        let failed = |reason: String| async move {
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
                        next_attempt_at: retry.then(|| now_ms + 1000 * d.retry_interval_s as i64),
                        reason: Some(&reason),
                        ..Default::default()
                    },
                )
                .await
        };
        match inst.state {
            JobState::Finished => {
                store
                    .update_task_run(
                        run_id,
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
            JobState::Failed | JobState::Canceled => {
                let why = format!(
                    "attempt {} {}: {}",
                    t.attempt,
                    inst.state,
                    inst.error.clone().unwrap_or_default()
                );
                failed(why).await?;
            }
            _ => {
                let over = d
                    .timeout_s
                    .zip(t.started_at)
                    .is_some_and(|(s, at)| now_ms - at > 1000 * s as i64);
                if over {
                    let why = format!(
                        "attempt {} timed out after {} s",
                        t.attempt,
                        d.timeout_s.unwrap_or(0)
                    );
                    match d.timeout_action {
                        TimeoutAction::Fail => {
                            let _ = state.lifecycle(inst.engine).cancel(&inst).await;
                            failed(why).await?;
                        }
                        TimeoutAction::Alert if !t.timed_out => {
                            store
                                .update_task_run(
                                    run_id,
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
        }
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
    let at = RunAt {
        logical: scaleph_schedule::logical_time_of(bizdate, chrono_tz::UTC),
        tz: chrono_tz::UTC,
        bizdate,
    };
    match run_job(state, &t.job_id, at, &def.params, None).await {
        Ok(iid) => {
            store
                .update_task_run(
                    &run.id,
                    &t.task_key,
                    TaskState::Running.as_str(),
                    &TaskChange {
                        state: TaskState::Running.as_str(),
                        instance_id: Some(&iid),
                        ..Default::default()
                    },
                )
                .await?;
        }
        Err(e) => {
            let d = def.tasks.iter().find(|d| d.key == t.task_key);
            let retry = d.is_some_and(|d| attempt <= i64::from(d.retries));
            let to = TaskState::Running
                .on(TaskEvent::AttemptFailed { retry })
                .expect("running fails");
            let interval = d.map_or(0, |d| d.retry_interval_s as i64);
            store
                .update_task_run(
                    &run.id,
                    &t.task_key,
                    TaskState::Running.as_str(),
                    &TaskChange {
                        state: to.as_str(),
                        ended_at: Some(now()),
                        next_attempt_at: retry.then(|| now() + 1000 * interval),
                        reason: Some(&format!("attempt {attempt} did not start: {}", e.detail())),
                        ..Default::default()
                    },
                )
                .await?;
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
