//! Workflows: a DAG of tasks, each a job of the project, with retries, a timeout and upstream
//! dependencies; the task state machine; what a run does next ([`step`]).
//!
//! Semantics follow DolphinScheduler's: a task starts when all its upstream tasks succeeded;
//! a failed attempt is retried after `retry_interval_s` until `retries` are used; with the
//! `continue` failure strategy the other branches go on (downstream of a failed task is
//! `UPSTREAM_FAILED`), with `end` everything still running is cancelled.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use utoipa::ToSchema;

/// Most tasks in one workflow.
pub const MAX_TASKS: usize = 200;

/// What a workflow does when a task fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailureStrategy {
    /// Other branches go on; tasks downstream of the failure do not run.
    #[default]
    Continue,
    /// Cancel every running task and end the run.
    End,
}

/// What a task's timeout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutAction {
    /// Cancel the run of the task: the attempt fails (and may be retried).
    #[default]
    Fail,
    /// Record it on the task and let it run on.
    Alert,
}

/// What a dependency task does when its wait limit passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnDependencyTimeout {
    /// The task fails.
    #[default]
    Fail,
    /// The task is skipped: downstream tasks run.
    Skip,
}

/// A dependency on another workflow: its successful runs for the same business date and the
/// `days - 1` before it (DolphinScheduler's dependent task, "last N days").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The workflow (of the same project) that must have succeeded.
    pub workflow_id: String,
    /// Business dates to check, ending at the run's (1–31; 1: the same date only).
    #[serde(default = "one_day")]
    pub days: u32,
    /// Seconds to wait for them (1–604800).
    #[serde(default = "an_hour")]
    pub wait_limit_s: u64,
    /// After the wait limit.
    #[serde(default)]
    pub on_timeout: OnDependencyTimeout,
}

fn one_day() -> u32 {
    1
}

fn an_hour() -> u64 {
    3600
}

/// One task of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDef {
    /// Key, unique in the workflow (letters, digits, `_`, `-`).
    pub key: String,
    /// The job it runs (a job of the workflow's project, any engine); empty for a dependency
    /// task.
    #[serde(default)]
    pub job_id: String,
    /// Instead of a job: wait for another workflow's successful runs.
    #[serde(default)]
    pub depends_on: Option<Dependency>,
    /// Instead of a job: run this workflow of the project (a nested workflow) with the run's
    /// business date and parameters; the task succeeds when that run succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Keys of the tasks that must succeed first.
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Extra attempts after a failure (0–10).
    #[serde(default)]
    pub retries: u32,
    /// Seconds between a failure and the next attempt (0–86400).
    #[serde(default)]
    pub retry_interval_s: u64,
    /// Seconds an attempt may run (none: no limit).
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// What the timeout does.
    #[serde(default)]
    pub timeout_action: TimeoutAction,
}

/// A workflow's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The tasks.
    pub tasks: Vec<TaskDef>,
    /// When a task fails for good.
    #[serde(default)]
    pub failure_strategy: FailureStrategy,
    /// Parameters (`${name}` in the jobs' scripts).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Checks a definition: task keys, upstream keys that exist, no cycle; returns the tasks in a
/// topological order (Kahn's algorithm; ties by definition order).
///
/// # Errors
/// Every problem, one per line, naming the task.
pub fn validate(d: &Definition) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    if d.tasks.is_empty() {
        problems.push("a workflow needs at least one task".to_string());
    }
    if d.tasks.len() > MAX_TASKS {
        problems.push(format!("{} tasks: at most {MAX_TASKS}", d.tasks.len()));
    }
    let mut keys = BTreeSet::new();
    for t in &d.tasks {
        let ok = !t.key.is_empty()
            && t.key.len() <= 64
            && t.key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            problems.push(format!(
                "task key '{}': 1–64 letters, digits, '_' or '-'",
                t.key
            ));
        }
        if !keys.insert(t.key.as_str()) {
            problems.push(format!("task key '{}' is used twice", t.key));
        }
        if t.retries > 10 {
            problems.push(format!("task '{}': at most 10 retries", t.key));
        }
        if t.retry_interval_s > 86_400 {
            problems.push(format!("task '{}': retry interval at most 86400 s", t.key));
        }
        let nested = t.workflow_id.as_ref().is_some_and(|w| !w.is_empty());
        let kinds = [!t.job_id.is_empty(), nested, t.depends_on.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            problems.push(format!(
                "task '{}': give a 'job_id', a 'workflow_id' or a 'depends_on', one of them",
                t.key
            ));
        }
        if let Some(d) = &t.depends_on {
            if !(1..=31).contains(&d.days) {
                problems.push(format!("task '{}': a dependency spans 1 to 31 days", t.key));
            }
            if !(1..=604_800).contains(&d.wait_limit_s) {
                problems.push(format!("task '{}': wait limit 1 to 604800 s", t.key));
            }
        }
        if t.timeout_s == Some(0) {
            problems.push(format!("task '{}': a timeout must be at least 1 s", t.key));
        }
    }
    for t in &d.tasks {
        for u in &t.upstream {
            if !keys.contains(u.as_str()) {
                problems.push(format!("task '{}': unknown upstream task '{u}'", t.key));
            }
            if u == &t.key {
                problems.push(format!("task '{}' depends on itself", t.key));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    // Kahn: repeatedly take a task whose upstream tasks are all taken.
    let mut indegree: BTreeMap<&str, usize> = d
        .tasks
        .iter()
        .map(|t| {
            let ups: BTreeSet<&str> = t.upstream.iter().map(String::as_str).collect();
            (t.key.as_str(), ups.len())
        })
        .collect();
    let mut ready: VecDeque<&str> = d
        .tasks
        .iter()
        .filter(|t| indegree[t.key.as_str()] == 0)
        .map(|t| t.key.as_str())
        .collect();
    let mut order = Vec::with_capacity(d.tasks.len());
    while let Some(k) = ready.pop_front() {
        order.push(k.to_string());
        for t in &d.tasks {
            let ups: BTreeSet<&str> = t.upstream.iter().map(String::as_str).collect();
            if ups.contains(k) {
                let e = indegree.get_mut(t.key.as_str()).expect("known key");
                *e -= 1;
                if *e == 0 {
                    ready.push_back(t.key.as_str());
                }
            }
        }
    }
    if order.len() < d.tasks.len() {
        let cyclic: Vec<&str> = d
            .tasks
            .iter()
            .map(|t| t.key.as_str())
            .filter(|k| !order.iter().any(|o| o == k))
            .collect();
        return Err(format!(
            "the tasks form a cycle: {} (a workflow is a DAG)",
            cyclic.join(", ")
        ));
    }
    Ok(order)
}

/// A task run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    /// Waits for its upstream tasks.
    Waiting,
    /// An attempt runs (an instance of its job).
    Running,
    /// Failed; waits for the retry interval.
    RetryWait,
    /// Its job finished.
    Success,
    /// Failed with no retry left.
    Failed,
    /// An upstream task failed or was cancelled: it does not run.
    UpstreamFailed,
    /// A dependency not met in time with `on_timeout: skip`: counts as done for downstream.
    Skipped,
    /// Cancelled (the run was cancelled, or ended by the `end` strategy).
    Canceled,
}

impl TaskState {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Waiting => "WAITING",
            TaskState::Running => "RUNNING",
            TaskState::RetryWait => "RETRY_WAIT",
            TaskState::Success => "SUCCESS",
            TaskState::Failed => "FAILED",
            TaskState::UpstreamFailed => "UPSTREAM_FAILED",
            TaskState::Skipped => "SKIPPED",
            TaskState::Canceled => "CANCELED",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "WAITING" => TaskState::Waiting,
            "RUNNING" => TaskState::Running,
            "RETRY_WAIT" => TaskState::RetryWait,
            "SUCCESS" => TaskState::Success,
            "FAILED" => TaskState::Failed,
            "UPSTREAM_FAILED" => TaskState::UpstreamFailed,
            "SKIPPED" => TaskState::Skipped,
            "CANCELED" => TaskState::Canceled,
            _ => return None,
        })
    }

    /// Finished so that downstream tasks run (succeeded or skipped).
    pub fn done(self) -> bool {
        matches!(self, TaskState::Success | TaskState::Skipped)
    }

    /// No further change (until a rerun).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Success
                | TaskState::Skipped
                | TaskState::Failed
                | TaskState::UpstreamFailed
                | TaskState::Canceled
        )
    }

    /// The one transition function: the state after `e`, or `None` when `e` cannot happen
    /// in this state.
    pub fn on(self, e: TaskEvent) -> Option<TaskState> {
        use TaskEvent as E;
        use TaskState as S;
        Some(match (self, e) {
            (S::Waiting, E::Start) | (S::RetryWait, E::Start) => S::Running,
            (S::Waiting, E::UpstreamFailed) => S::UpstreamFailed,
            (S::Running, E::Succeeded) => S::Success,
            (S::Running, E::Skip) => S::Skipped,
            (S::Running, E::AttemptFailed { retry: true }) => S::RetryWait,
            (S::Running, E::AttemptFailed { retry: false }) => S::Failed,
            (S::Waiting | S::Running | S::RetryWait, E::Cancel) => S::Canceled,
            (S::Failed | S::UpstreamFailed | S::Canceled, E::Rerun) => S::Waiting,
            _ => return None,
        })
    }
}

/// What happens to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    /// An attempt starts.
    Start,
    /// Its instance finished.
    Succeeded,
    /// Its instance failed, was cancelled or timed out; `retry`: attempts are left.
    AttemptFailed {
        /// Another attempt follows.
        retry: bool,
    },
    /// An upstream task failed for good or was cancelled.
    UpstreamFailed,
    /// The run is cancelled or ended.
    Cancel,
    /// Rerun of a failed run: failed, skipped and cancelled tasks wait again.
    Rerun,
    /// A dependency was not met in time and is skipped.
    Skip,
}

/// The state of a whole run from its tasks' states: `RUNNING` while any task is not terminal,
/// then `SUCCESS` when all succeeded, `CANCELED` when the run was cancelled, else `FAILED`.
pub fn run_state(tasks: &[TaskState], cancelled: bool) -> &'static str {
    if tasks.iter().any(|t| !t.is_terminal()) {
        "RUNNING"
    } else if tasks.iter().all(|t| t.done()) {
        "SUCCESS"
    } else if cancelled {
        "CANCELED"
    } else {
        "FAILED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str, up: &[&str]) -> TaskDef {
        TaskDef {
            key: key.into(),
            job_id: format!("job-{key}"),
            depends_on: None,
            workflow_id: None,
            upstream: up.iter().map(|s| s.to_string()).collect(),
            retries: 0,
            retry_interval_s: 0,
            timeout_s: None,
            timeout_action: TimeoutAction::Fail,
        }
    }

    fn def(tasks: Vec<TaskDef>) -> Definition {
        Definition {
            tasks,
            failure_strategy: FailureStrategy::Continue,
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn topological_order_and_problems() {
        let d = def(vec![
            task("load", &["a", "b"]),
            task("a", &[]),
            task("b", &["a"]),
        ]);
        assert_eq!(validate(&d).unwrap(), ["a", "b", "load"]);
        let e = validate(&def(vec![
            task("a", &["c"]),
            task("b", &["a"]),
            task("c", &["b"]),
        ]))
        .unwrap_err();
        assert!(e.contains("cycle: a, b, c"), "{e}");
        let e = validate(&def(vec![
            task("a", &["x"]),
            task("a", &[]),
            task("b c", &["b c"]),
        ]))
        .unwrap_err();
        assert!(e.contains("unknown upstream task 'x'"), "{e}");
        assert!(e.contains("'a' is used twice"), "{e}");
        assert!(e.contains("task key 'b c'"), "{e}");
        assert!(e.contains("'b c' depends on itself"), "{e}");
        assert!(validate(&def(vec![])).is_err());
    }

    #[test]
    fn task_transitions() {
        use TaskEvent as E;
        use TaskState as S;
        assert_eq!(S::Waiting.on(E::Start), Some(S::Running));
        assert_eq!(
            S::Running.on(E::AttemptFailed { retry: true }),
            Some(S::RetryWait)
        );
        assert_eq!(S::RetryWait.on(E::Start), Some(S::Running));
        assert_eq!(
            S::Running.on(E::AttemptFailed { retry: false }),
            Some(S::Failed)
        );
        assert_eq!(S::Failed.on(E::Rerun), Some(S::Waiting));
        assert_eq!(S::Success.on(E::Rerun), None, "a success is kept on rerun");
        assert_eq!(S::Success.on(E::Cancel), None);
        assert_eq!(S::Waiting.on(E::Succeeded), None);
        for s in [
            S::Waiting,
            S::Running,
            S::RetryWait,
            S::Success,
            S::Skipped,
            S::Failed,
            S::UpstreamFailed,
            S::Canceled,
        ] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(run_state(&[S::Success, S::Running], false), "RUNNING");
        assert_eq!(run_state(&[S::Success, S::Success], false), "SUCCESS");
        assert_eq!(
            run_state(&[S::Success, S::UpstreamFailed, S::Failed], false),
            "FAILED"
        );
        assert_eq!(run_state(&[S::Success, S::Canceled], true), "CANCELED");
    }
}
