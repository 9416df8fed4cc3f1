//! Workflows against a real server: a DAG with a failing task and retries under both failure
//! strategies, a timeout, cancel, rerun from the failed tasks, and refused definitions.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A job reading `file` (CSV of one INT column) into a blackhole: it fails while the file
/// holds a non-number.
fn reader(file: &std::path::Path) -> String {
    format!(
        "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE src (n INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
CREATE TABLE out (n INT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT n FROM src;",
        file.display()
    )
}

const QUICK: &str = "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE out (d STRING) WITH ('connector' = 'blackhole');
INSERT INTO out VALUES ('${bizdate}');";

/// About 20 s of rows.
const SLOW: &str = "CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '100000', 'rows-per-second' = '5000');
CREATE TABLE out (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT id FROM slow;";

/// Starts a run of workflow `wid` and waits until it is no longer RUNNING.
async fn run_to_end(srv: &Server, pid: &str, wid: &str) -> Value {
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs"),
            json!({"bizdate": "2026-05-01"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    wait_run(srv, pid, wid, r["id"].as_str().unwrap(), |r| {
        r["state"] != "RUNNING"
    })
    .await
}

async fn wait_run(
    srv: &Server,
    pid: &str,
    wid: &str,
    rid: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let t0 = Instant::now();
    loop {
        let (s, r) = srv
            .get(&format!(
                "/api/v1/projects/{pid}/workflows/{wid}/runs/{rid}"
            ))
            .await;
        assert_eq!(s, 200, "{r}");
        if pred(&r) {
            return r;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "run: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn task<'a>(run: &'a Value, key: &str) -> &'a Value {
    run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_key"] == key)
        .unwrap_or_else(|| panic!("no task {key} in {run}"))
}

async fn workflow(srv: &Server, pid: &str, name: &str, def: Value) -> String {
    let (s, w) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows"),
            json!({"name": name, "definition": def}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    w["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn failing_task_retries_then_continue_and_rerun_from_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("wf").await;
    let bad = tmp.path().join("numbers.csv");
    std::fs::write(&bad, "1\nnot-a-number\n").unwrap();
    let a = srv.job(&pid, "a", QUICK).await;
    let b = srv.job(&pid, "b", &reader(&bad)).await;
    let c = srv.job(&pid, "c", QUICK).await;
    let d = srv.job(&pid, "d", QUICK).await;
    let def = json!({
        "failure_strategy": "continue",
        "tasks": [
            {"key": "a", "job_id": a},
            {"key": "b", "job_id": b, "upstream": ["a"], "retries": 2, "retry_interval_s": 1},
            {"key": "c", "job_id": c, "upstream": ["b"]},
            {"key": "d", "job_id": d, "upstream": ["a"]}
        ]
    });
    let wid = workflow(&srv, &pid, "daily", def).await;
    let run = run_to_end(&srv, &pid, &wid).await;
    assert_eq!(run["state"], "FAILED", "{run}");
    assert_eq!(task(&run, "a")["state"], "SUCCESS");
    assert_eq!(
        task(&run, "d")["state"],
        "SUCCESS",
        "the other branch went on"
    );
    let tb = task(&run, "b");
    assert_eq!(tb["state"], "FAILED", "{run}");
    assert_eq!(tb["attempt"], 3, "1 attempt + 2 retries: {run}");
    assert!(
        tb["reason"].as_str().unwrap().contains("attempt 3 FAILED"),
        "{tb}"
    );
    assert_eq!(task(&run, "c")["state"], "UPSTREAM_FAILED");
    // Every task ran with the run's business date.
    let ia = task(&run, "a")["instance_id"].as_str().unwrap().to_string();
    let (_, p) = srv.get(&format!("/api/v1/instances/{ia}/params")).await;
    assert_eq!(p["bizdate"], "2026-05-01", "{p}");
    assert!(
        p["script"]
            .as_str()
            .unwrap()
            .contains("VALUES ('20260501')"),
        "{p}"
    );

    // Fix the input and rerun from the failed tasks: a keeps its run, b and c run.
    std::fs::write(&bad, "1\n2\n").unwrap();
    let rid = run["id"].as_str().unwrap();
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs/{rid}/rerun"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let run = wait_run(&srv, &pid, &wid, rid, |r| r["state"] != "RUNNING").await;
    assert_eq!(run["state"], "SUCCESS", "{run}");
    assert_eq!(
        task(&run, "a")["instance_id"],
        ia.as_str(),
        "successes are kept"
    );
    assert_eq!(task(&run, "b")["attempt"], 1);
    assert_eq!(task(&run, "c")["state"], "SUCCESS");
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs/{rid}/rerun"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "a successful run does not rerun: {r}");
}

#[tokio::test]
async fn end_strategy_timeout_and_cancel_stop_running_branches() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("wf2").await;
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "x\n").unwrap();
    let fails = srv.job(&pid, "fails", &reader(&bad)).await;
    let slow = srv.job(&pid, "slow", SLOW).await;
    // `end`: the failure cancels the slow branch.
    let wid = workflow(
        &srv,
        &pid,
        "end",
        json!({"failure_strategy": "end", "tasks": [
            {"key": "slow", "job_id": slow},
            {"key": "fails", "job_id": fails}
        ]}),
    )
    .await;
    let run = run_to_end(&srv, &pid, &wid).await;
    assert_eq!(run["state"], "FAILED", "{run}");
    assert_eq!(task(&run, "fails")["state"], "FAILED");
    let ts = task(&run, "slow");
    assert_eq!(ts["state"], "CANCELED", "{run}");
    if let Some(i) = ts["instance_id"].as_str() {
        let d = srv.wait_terminal(i).await;
        assert_eq!(d["state"], "CANCELED", "{d}");
    }
    // A timeout that fails the attempt.
    let wid = workflow(
        &srv,
        &pid,
        "timeout",
        json!({"tasks": [{"key": "slow", "job_id": slow, "timeout_s": 1}]}),
    )
    .await;
    let run = run_to_end(&srv, &pid, &wid).await;
    let ts = task(&run, "slow");
    assert_eq!(ts["state"], "FAILED", "{run}");
    assert!(
        ts["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 1 s"),
        "{ts}"
    );
    // Cancel a run while its task runs.
    let wid = workflow(
        &srv,
        &pid,
        "cancel",
        json!({"tasks": [{"key": "slow", "job_id": slow}]}),
    )
    .await;
    let (_, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs"),
            json!({}),
        )
        .await;
    let rid = r["id"].as_str().unwrap().to_string();
    wait_run(&srv, &pid, &wid, &rid, |r| {
        task(r, "slow")["instance_id"].is_string()
    })
    .await;
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs/{rid}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["state"], "CANCELED", "{r}");
    let i = task(&r, "slow")["instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = srv.wait_terminal(&i).await;
    assert_eq!(d["state"], "CANCELED", "{d}");
}

#[tokio::test]
async fn invalid_definitions_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("wf3").await;
    let a = srv.job(&pid, "a", QUICK).await;
    let other = srv.project("other").await;
    let foreign = srv.job(&other, "x", QUICK).await;
    for (def, want) in [
        (
            json!({"tasks": [{"key": "a", "job_id": a, "upstream": ["b"]}, {"key": "b", "job_id": a, "upstream": ["a"]}]}),
            "cycle: a, b",
        ),
        (
            json!({"tasks": [{"key": "a", "job_id": a, "upstream": ["zz"]}]}),
            "unknown upstream task 'zz'",
        ),
        (
            json!({"tasks": [{"key": "a", "job_id": foreign}]}),
            "no job",
        ),
        (json!({"tasks": []}), "at least one task"),
    ] {
        let (s, v) = srv
            .post(
                &format!("/api/v1/projects/{pid}/workflows"),
                json!({"name": "bad", "definition": def}),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(v["detail"].as_str().unwrap().contains(want), "{v}");
    }
    workflow(
        &srv,
        &pid,
        "ok",
        json!({"tasks": [{"key": "a", "job_id": a}]}),
    )
    .await;
    let (s, v) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows"),
            json!({"name": "ok", "definition": {"tasks": [{"key": "a", "job_id": a}]}}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
}

/// A workflow schedule starts runs with their business dates; a workflow backfill runs one
/// date after another.
#[tokio::test]
async fn workflow_schedule_and_backfill() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("wf4").await;
    let a = srv.job(&pid, "a", QUICK).await;
    let b = srv.job(&pid, "b", QUICK).await;
    let wid = workflow(
        &srv,
        &pid,
        "nightly",
        json!({"tasks": [{"key": "a", "job_id": a}, {"key": "b", "job_id": b, "upstream": ["a"]}]}),
    )
    .await;
    let base = format!("/api/v1/projects/{pid}/workflows/{wid}");
    let (s, v, _) = srv
        .call(
            reqwest::Method::PUT,
            &format!("{base}/schedule"),
            Some(json!({"cron": "*/2 * * * * *", "timezone": "Asia/Shanghai", "overlap": "skip"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let t0 = Instant::now();
    let fired = loop {
        let (_, f) = srv.get(&format!("{base}/schedule/fires")).await;
        let done: Vec<Value> = f
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["state"] == "SUBMITTED")
            .cloned()
            .collect();
        if !done.is_empty() {
            break done[0].clone();
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{f}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (s, _, _) = srv
        .call(reqwest::Method::DELETE, &format!("{base}/schedule"), None)
        .await;
    assert_eq!(s, 204);
    let rid = fired["instance_id"].as_str().unwrap();
    let run = wait_run(&srv, &pid, &wid, rid, |r| r["state"] != "RUNNING").await;
    assert_eq!(run["state"], "SUCCESS", "{run}");
    assert_eq!(run["bizdate"], fired["bizdate"], "{run}");
    assert_eq!(run["trigger_kind"], "schedule");

    let (s, bf) = srv
        .post(
            &format!("{base}/backfills"),
            json!({"from": "2026-04-29", "to": "2026-05-01"}),
        )
        .await;
    assert_eq!(s, 201, "{bf}");
    let t0 = Instant::now();
    let runs = loop {
        let (_, list) = srv.get(&format!("{base}/backfills")).await;
        let b = list.as_array().unwrap()[0].clone();
        let runs = b["runs"].as_array().unwrap().clone();
        let mut ended = true;
        for r in &runs {
            match r["instance_id"].as_str() {
                Some(id) => {
                    let (_, wr) = srv.get(&format!("{base}/runs/{id}")).await;
                    ended &= wr["state"] == "SUCCESS";
                }
                None => ended = false,
            }
        }
        if ended {
            break runs;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut spans = Vec::new();
    for (r, want) in runs.iter().zip(["2026-04-29", "2026-04-30", "2026-05-01"]) {
        let (_, wr) = srv
            .get(&format!(
                "{base}/runs/{}",
                r["instance_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(wr["bizdate"], want, "{wr}");
        assert_eq!(wr["trigger_kind"], "backfill");
        spans.push((
            wr["created_at"].as_i64().unwrap(),
            wr["ended_at"].as_i64().unwrap(),
        ));
    }
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "one date after another: {spans:?}");
    }
}

/// A task that waits for another workflow's successful run for the same business date (and
/// the days before): met when it succeeds; past the wait limit it fails or is skipped.
#[tokio::test]
async fn cross_workflow_dependency_waits_then_fails_or_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("wf5").await;
    let a = srv.job(&pid, "a", QUICK).await;
    let b = srv.job(&pid, "b", QUICK).await;
    let up = workflow(
        &srv,
        &pid,
        "upstream",
        json!({"tasks": [{"key": "a", "job_id": a}]}),
    )
    .await;
    let down = workflow(
        &srv,
        &pid,
        "downstream",
        json!({"tasks": [
            {"key": "wait", "depends_on": {"workflow_id": up, "wait_limit_s": 60}},
            {"key": "b", "job_id": b, "upstream": ["wait"]}
        ]}),
    )
    .await;
    let start = |wid: String, date: &'static str| {
        let srv = &srv;
        let pid = pid.clone();
        async move {
            let (s, r) = srv
                .post(
                    &format!("/api/v1/projects/{pid}/workflows/{wid}/runs"),
                    json!({"bizdate": date}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            r["id"].as_str().unwrap().to_string()
        }
    };
    // The downstream run waits ...
    let d = start(down.clone(), "2026-05-02").await;
    wait_run(&srv, &pid, &down, &d, |r| {
        task(r, "wait")["state"] == "RUNNING"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, r) = srv
        .get(&format!("/api/v1/projects/{pid}/workflows/{down}/runs/{d}"))
        .await;
    assert_eq!(task(&r, "b")["state"], "WAITING", "{r}");
    // ... until the upstream workflow succeeds for the same date.
    let u = start(up.clone(), "2026-05-02").await;
    let ur = wait_run(&srv, &pid, &up, &u, |r| r["state"] != "RUNNING").await;
    assert_eq!(ur["state"], "SUCCESS", "{ur}");
    let r = wait_run(&srv, &pid, &down, &d, |r| r["state"] != "RUNNING").await;
    assert_eq!(r["state"], "SUCCESS", "{r}");
    assert_eq!(task(&r, "wait")["state"], "SUCCESS");
    // Two days back (2026-05-01 has no upstream run), 1 s limit: fail, or skip and go on.
    for (on_timeout, task_state, run_state) in
        [("fail", "FAILED", "FAILED"), ("skip", "SKIPPED", "SUCCESS")]
    {
        let w = workflow(
            &srv,
            &pid,
            &format!("two-days-{on_timeout}"),
            json!({"tasks": [
                {"key": "wait", "depends_on": {"workflow_id": up, "days": 2, "wait_limit_s": 1, "on_timeout": on_timeout}},
                {"key": "b", "job_id": b, "upstream": ["wait"]}
            ]}),
        )
        .await;
        let id = start(w.clone(), "2026-05-02").await;
        let r = wait_run(&srv, &pid, &w, &id, |r| r["state"] != "RUNNING").await;
        assert_eq!(r["state"], run_state, "{r}");
        let t = task(&r, "wait");
        assert_eq!(t["state"], task_state, "{r}");
        assert!(
            t["reason"]
                .as_str()
                .unwrap()
                .contains("no successful run for 2026-05-01"),
            "{t}"
        );
    }
}

#[tokio::test]
async fn kill_9_during_a_run_is_reconciled_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let pid = srv.project("crash").await;
    let a = srv.job(&pid, "a", QUICK).await;
    // About 8 s of rows: the kill lands while it runs.
    let b = srv
        .job(&pid, "b", &SLOW.replace("'100000'", "'40000'"))
        .await;
    let c = srv.job(&pid, "c", QUICK).await;
    let def = json!({
        "tasks": [
            {"key": "a", "job_id": a},
            {"key": "b", "job_id": b, "upstream": ["a"], "retries": 1, "retry_interval_s": 1},
            {"key": "c", "job_id": c, "upstream": ["b"]}
        ]
    });
    let wid = workflow(&srv, &pid, "crashy", def).await;
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs"),
            json!({"bizdate": "2026-06-01"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    let before = wait_run(&srv, &pid, &wid, &rid, |r| {
        task(r, "b")["state"] == "RUNNING" && task(r, "b")["instance_id"].is_string()
    })
    .await;
    let a_instance = task(&before, "a")["instance_id"].clone();
    let b_first = task(&before, "b")["instance_id"].clone();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    srv.kill();

    // At the next start the interrupted attempt is FAILED (the platform restarted), the
    // task's retry runs it again, and the run goes on to the end: never stuck RUNNING.
    let srv = Server::start(&data);
    let run = wait_run(&srv, &pid, &wid, &rid, |r| r["state"] != "RUNNING").await;
    assert_eq!(run["state"], "SUCCESS", "{run:#}");
    assert_eq!(
        task(&run, "a")["instance_id"],
        a_instance,
        "a is not run again"
    );
    let tb = task(&run, "b");
    assert_eq!(tb["attempt"], 2, "{tb}");
    assert_ne!(tb["instance_id"], b_first, "{tb}");
    let (_, first) = srv
        .get(&format!("/api/v1/instances/{}", b_first.as_str().unwrap()))
        .await;
    assert_eq!(first["state"], "FAILED", "{first}");
    assert_eq!(task(&run, "c")["state"], "SUCCESS");
    // One instance per attempt: a 1, b 2, c 1 — nothing started twice.
    for (job, n) in [(&a, 1), (&b, 2), (&c, 1)] {
        let (_, list) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{job}/instances"))
            .await;
        let items = list["items"].as_array().or(list.as_array()).unwrap().len();
        assert_eq!(items, n, "{list}");
    }
    let (_, runs) = srv
        .get(&format!("/api/v1/projects/{pid}/workflows/{wid}/runs"))
        .await;
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
}

#[tokio::test]
async fn nested_workflows_run_as_tasks_and_cycles_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("nested").await;
    let quick = srv.job(&pid, "quick", QUICK).await;
    let bad = tmp.path().join("numbers.csv");
    std::fs::write(&bad, "oops\n").unwrap();
    let failing = srv.job(&pid, "failing", &reader(&bad)).await;
    let child = workflow(
        &srv,
        &pid,
        "child",
        json!({"tasks": [{"key": "x", "job_id": quick}, {"key": "y", "job_id": quick, "upstream": ["x"]}]}),
    )
    .await;
    let parent = workflow(
        &srv,
        &pid,
        "parent",
        json!({"tasks": [
            {"key": "prep", "job_id": quick},
            {"key": "sub", "workflow_id": child, "upstream": ["prep"]},
            {"key": "after", "job_id": quick, "upstream": ["sub"]}
        ]}),
    )
    .await;
    let run = run_to_end(&srv, &pid, &parent).await;
    assert_eq!(run["state"], "SUCCESS", "{run:#}");
    let sub = task(&run, "sub");
    let crid = sub["child_run_id"]
        .as_str()
        .expect("a child run")
        .to_string();
    let c = wait_run(&srv, &pid, &child, &crid, |_| true).await;
    assert_eq!(c["state"], "SUCCESS", "{c}");
    assert_eq!(c["trigger_kind"], "parent");
    assert_eq!(c["bizdate"], "2026-05-01", "the parent's business date");
    // The child's tasks ended before the parent's next task started.
    let child_end = c["ended_at"].as_i64().unwrap();
    assert!(task(&run, "after")["started_at"].as_i64().unwrap() >= child_end);

    // A nested run that fails fails the task; its retry is a new child run.
    let broken = workflow(
        &srv,
        &pid,
        "broken",
        json!({"tasks": [{"key": "f", "job_id": failing}]}),
    )
    .await;
    let outer = workflow(
        &srv,
        &pid,
        "outer",
        json!({"tasks": [{"key": "sub", "workflow_id": broken, "retries": 1, "retry_interval_s": 1}]}),
    )
    .await;
    let run = run_to_end(&srv, &pid, &outer).await;
    assert_eq!(run["state"], "FAILED", "{run:#}");
    let sub = task(&run, "sub");
    assert_eq!(sub["attempt"], 2, "{sub}");
    assert!(
        sub["reason"].as_str().unwrap().contains("nested run"),
        "{sub}"
    );
    let (_, child_runs) = srv
        .get(&format!("/api/v1/projects/{pid}/workflows/{broken}/runs"))
        .await;
    assert_eq!(child_runs.as_array().unwrap().len(), 2, "{child_runs}");

    // Cycles of workflows are refused: itself, or through another.
    for (id, name, def) in [
        (
            &child,
            "child",
            json!({"tasks": [{"key": "me", "workflow_id": child}]}),
        ),
        (
            &child,
            "child",
            json!({"tasks": [{"key": "up", "workflow_id": parent}]}),
        ),
    ] {
        let (s, r, _) = srv
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/projects/{pid}/workflows/{id}"),
                Some(json!({"name": name, "definition": def})),
            )
            .await;
        assert_eq!(s, 422, "{r}");
        assert!(r["detail"].as_str().unwrap().contains("cycle"), "{r}");
    }
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows"),
            json!({"name": "two", "definition": {"tasks": [{"key": "t", "job_id": quick, "workflow_id": child}]}}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
}
