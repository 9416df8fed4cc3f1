//! Flink as the distributed engine, against the real Flink 2.3 session cluster that
//! `scripts/test.sh` starts (`SCALEPH_TEST_FLINK_URL`, `SCALEPH_FLINK_SQL_RUNNER`, `FLINK_*`).
//! These tests run one at a time (`.config/nextest.toml`): some stop the JobManager.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn flink_url() -> String {
    std::env::var("SCALEPH_TEST_FLINK_URL").expect(
        "SCALEPH_TEST_FLINK_URL must point at a Flink cluster; run the tests with scripts/test.sh",
    )
}

/// A server with the SQL runner, reconciling every 300 ms, with the test cluster registered.
/// Returns (server, project id, cluster id).
async fn setup(tmp: &Path) -> (Server, String, String) {
    let runner = std::env::var("SCALEPH_FLINK_SQL_RUNNER").expect("SCALEPH_FLINK_SQL_RUNNER");
    let home = flink_env("FLINK_HOME");
    let srv = Server::start_with(
        &tmp.join("data"),
        &[
            "--flink-sql-runner",
            &runner,
            "--flink-home",
            &home,
            "--reconcile-ms",
            "300",
        ],
    );
    let (s, c) = srv
        .post(
            "/api/v1/clusters",
            json!({"name": "local", "rest_url": flink_url(), "savepoint_dir": format!("file://{}", tmp.join("savepoints").display())}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["health"], "UP", "{c}");
    assert_eq!(c["flink_version"], "2.3.0", "{c}");
    let pid = srv.project("flink").await;
    (srv, pid, c["id"].as_str().unwrap().to_string())
}

/// Creates a Flink SQL job; returns its id.
async fn flink_job(srv: &Server, pid: &str, cid: &str, name: &str, script: &str) -> String {
    let (s, j) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": name, "script": script, "engine": "flink", "cluster_id": cid}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    j["id"].as_str().unwrap().to_string()
}

async fn submit(srv: &Server, pid: &str, jid: &str, body: Value) -> (u16, Value) {
    srv.post(&format!("/api/v1/projects/{pid}/jobs/{jid}/submit"), body)
        .await
}

/// Waits until every vertex of a Flink instance runs (savepoints need running tasks).
async fn wait_tasks_running(srv: &Server, iid: &str) {
    let t0 = Instant::now();
    loop {
        let (s, v) = srv.get(&format!("/api/v1/instances/{iid}/vertices")).await;
        if s == 200
            && v["vertices"]
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["status"] == "RUNNING"))
        {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "tasks not running: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_state(srv: &Server, iid: &str, states: &[&str], limit: u64) -> Value {
    srv.wait_for(iid, Duration::from_secs(limit), |d| {
        states.contains(&d["state"].as_str().unwrap_or(""))
    })
    .await
}

/// Committed output files under `dir` (Flink's in-progress files are hidden, `.part-…`).
fn output_lines(dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = common::files_under(dir)
        .into_iter()
        .filter(|p| {
            !p.strip_prefix(dir).unwrap().components().any(|c| {
                let s = c.as_os_str().to_string_lossy();
                s.starts_with('.') || s.starts_with('_')
            })
        })
        .flat_map(|p| {
            std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

/// (a) Stop with savepoint, restore from it, run to the end: every id exactly once.
#[tokio::test]
async fn stop_with_savepoint_and_restore_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let out = tmp.path().join("out");
    let n = 4000;
    let script = format!(
        "SET 'execution.checkpointing.interval' = '1s';
CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{n}', 'rows-per-second' = '500');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
INSERT INTO snk SELECT id FROM src;",
        out.display()
    );
    let jid = flink_job(&srv, &pid, &cid, "seq", &script).await;
    let t0 = Instant::now();
    let (s, i) = submit(&srv, &pid, &jid, json!({})).await;
    assert_eq!(s, 202, "{i}");
    let iid = i["id"].as_str().unwrap().to_string();
    assert_eq!(i["flink_job_id"].as_str().unwrap(), iid.replace('-', ""));
    wait_state(&srv, &iid, &["RUNNING"], 60).await;
    eprintln!("submit → RUNNING: {:?}", t0.elapsed());
    wait_tasks_running(&srv, &iid).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (s, sp) = srv
        .post(
            &format!("/api/v1/instances/{iid}/stop"),
            json!({"drain": false}),
        )
        .await;
    assert_eq!(s, 202, "{sp}");
    assert_eq!(sp["status"], "IN_PROGRESS");
    let d = wait_state(&srv, &iid, &["FINISHED", "FAILED", "CANCELED"], 120).await;
    assert_eq!(
        d["state"], "FINISHED",
        "stop with savepoint finishes the job: {d}"
    );
    let savepoints = loop {
        let (_, l) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/savepoints"))
            .await;
        if l[0]["status"] != "IN_PROGRESS" {
            break l;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let sp = &savepoints[0];
    assert_eq!(sp["status"], "COMPLETED", "{savepoints}");
    assert_eq!(sp["trigger_kind"], "stop");
    assert!(sp["path"].as_str().unwrap().contains("savepoints"), "{sp}");
    let (s, cp) = srv
        .get(&format!("/api/v1/instances/{iid}/checkpoints"))
        .await;
    assert_eq!(s, 200, "{cp}");
    assert!(
        cp["counts"]["completed"].as_i64() >= Some(1),
        "checkpoint stats: {cp}"
    );
    let before = output_lines(&out).len();
    assert!(before > 0 && before < n, "stopped midway: {before} rows");

    // Restore from that savepoint and run to the end.
    let (s, i2) = submit(&srv, &pid, &jid, json!({"savepoint_id": sp["id"]})).await;
    assert_eq!(s, 202, "{i2}");
    assert_eq!(i2["restored_from"], sp["path"]);
    let iid2 = i2["id"].as_str().unwrap().to_string();
    let d2 = wait_state(&srv, &iid2, &["FINISHED", "FAILED", "CANCELED"], 120).await;
    assert_eq!(d2["state"], "FINISHED", "{d2}");
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for l in output_lines(&out) {
        *counts.entry(l.trim().parse().unwrap()).or_default() += 1;
    }
    let dup: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dup.is_empty(),
        "duplicated ids: {:?}",
        &dup[..dup.len().min(10)]
    );
    assert_eq!(counts.len(), n, "every id 1..={n} once");
    assert_eq!(*counts.keys().next().unwrap(), 1);
    assert_eq!(*counts.keys().last().unwrap(), n as i64);
    // The history shows what happened, in order.
    let states: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.first(), Some(&"CREATED"));
    assert!(states.contains(&"RUNNING"), "{states:?}");
    assert_eq!(states.last(), Some(&"FINISHED"));
}

fn long_script(out: &Path) -> String {
    format!(
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000', 'rows-per-second' = '100');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
INSERT INTO snk SELECT id FROM src;",
        out.display()
    )
}

/// (b) Cancel; trigger savepoint; restart as one action; dispose.
#[tokio::test]
async fn cancel_savepoint_restart_and_dispose() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let jid = flink_job(
        &srv,
        &pid,
        &cid,
        "long",
        &long_script(&tmp.path().join("out")),
    )
    .await;
    let (_, i) = submit(&srv, &pid, &jid, json!({})).await;
    let iid = i["id"].as_str().unwrap().to_string();
    wait_state(&srv, &iid, &["RUNNING"], 60).await;
    wait_tasks_running(&srv, &iid).await;
    // Record rates per running vertex: a keyed aggregation puts a network edge between two
    // vertices (chained operators exchange no counted records).
    let agg = flink_job(&srv, &pid, &cid, "rates", "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '200');\nCREATE TABLE b (k BIGINT, n BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT MOD(id, 10), COUNT(*) FROM src GROUP BY MOD(id, 10);").await;
    let (_, ai) = submit(&srv, &pid, &agg, json!({})).await;
    let aid = ai["id"].as_str().unwrap().to_string();
    wait_state(&srv, &aid, &["RUNNING"], 60).await;
    wait_tasks_running(&srv, &aid).await;
    let t0 = Instant::now();
    loop {
        let (_, v) = srv.get(&format!("/api/v1/instances/{aid}/vertices")).await;
        let vs = v["vertices"].as_array().unwrap();
        let out = vs[0]["records_out_per_second"].as_f64().unwrap_or(0.0);
        let inp = vs[1]["records_in_per_second"].as_f64().unwrap_or(0.0);
        if vs.len() == 2 && out > 50.0 && inp > 50.0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no record rates: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    srv.post(&format!("/api/v1/instances/{aid}/cancel"), json!({}))
        .await;

    // A savepoint while running: listed, COMPLETED, the job keeps running.
    let (s, sp) = srv
        .post(&format!("/api/v1/instances/{iid}/savepoints"), json!({}))
        .await;
    assert_eq!(s, 202, "{sp}");
    let completed = srv_wait_savepoint(&srv, &pid, &jid, sp["id"].as_str().unwrap()).await;
    assert_eq!(completed["status"], "COMPLETED", "{completed}");
    assert_eq!(completed["trigger_kind"], "savepoint");
    let (_, d) = srv.get(&format!("/api/v1/instances/{iid}")).await;
    assert_eq!(d["state"], "RUNNING");

    // Restart: stop with savepoint + resubmit from it, one call.
    let (s, r) = srv
        .post(&format!("/api/v1/instances/{iid}/restart"), json!({}))
        .await;
    assert_eq!(s, 202, "{r}");
    let iid2 = r["id"].as_str().unwrap().to_string();
    assert!(r["restored_from"].as_str().is_some(), "{r}");
    wait_state(&srv, &iid, &["FINISHED"], 60).await;
    wait_state(&srv, &iid2, &["RUNNING"], 60).await;

    // Cancel: CANCELLING at once, CANCELED when Flink says so.
    let (s, c) = srv
        .post(&format!("/api/v1/instances/{iid2}/cancel"), json!({}))
        .await;
    assert_eq!((s, c["state"].as_str()), (202, Some("CANCELLING")), "{c}");
    let d = wait_state(&srv, &iid2, &["CANCELED", "FAILED", "FINISHED"], 60).await;
    assert_eq!(d["state"], "CANCELED", "{d}");
    let (s, _) = srv
        .post(&format!("/api/v1/instances/{iid2}/cancel"), json!({}))
        .await;
    assert_eq!(s, 409, "cancelling an ended instance");

    // Dispose the first savepoint: Flink deletes its files; it stays listed as DISPOSED.
    let path = completed["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("file:")
        .to_string();
    assert!(Path::new(&path).exists(), "{path}");
    let (s, e) = srv
        .call_as(
            Some(&srv.token),
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/projects/{pid}/jobs/{jid}/savepoints/{}",
                completed["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 204, "{e}");
    assert!(
        !Path::new(&path).exists(),
        "disposed savepoint files remain: {path}"
    );
    let (_, l) = srv
        .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/savepoints"))
        .await;
    assert!(l
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == completed["id"] && x["status"] == "DISPOSED"));
}

async fn srv_wait_savepoint(srv: &Server, pid: &str, jid: &str, sid: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let (_, l) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/savepoints"))
            .await;
        let sp = l
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == sid)
            .cloned()
            .unwrap();
        if sp["status"] != "IN_PROGRESS" {
            return sp;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "savepoint still in progress"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// (c) A job that fails at run time ends FAILED with Flink's root cause; the exception
/// history is served.
#[tokio::test]
async fn runtime_failure_reports_flinks_root_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let script = "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100');
CREATE TABLE snk (x BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO snk SELECT id / (id - id) FROM src;";
    let jid = flink_job(&srv, &pid, &cid, "divide", script).await;
    let (s, i) = submit(&srv, &pid, &jid, json!({})).await;
    assert_eq!(s, 202, "{i}");
    let iid = i["id"].as_str().unwrap().to_string();
    let d = wait_state(&srv, &iid, &["FAILED", "FINISHED", "CANCELED"], 120).await;
    assert_eq!(d["state"], "FAILED", "{d}");
    let err = d["error"].as_str().unwrap();
    assert!(
        err.contains("ArithmeticException") && err.contains("by zero"),
        "{err}"
    );
    let (s, x) = srv
        .get(&format!("/api/v1/instances/{iid}/exceptions"))
        .await;
    assert_eq!(s, 200, "{x}");
    assert!(x["root_cause"].as_str().unwrap().contains("by zero"), "{x}");
    assert!(!x["history"].as_array().unwrap().is_empty());
    // The fixed-delay restart strategy (2 attempts) made Flink restart before failing.
    let states: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"RUNNING") || states.contains(&"RESTARTING"),
        "{states:?}"
    );
}

/// (d) Bad SQL: a syntax error at line:column before anything reaches Flink; a planning error
/// with Flink's own message and a FAILED instance.
#[tokio::test]
async fn bad_sql_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let jid = flink_job(&srv, &pid, &cid, "syntax", "CREATE TABLE s (a INT) WITH ('connector' = 'datagen');\nCREATE TABLE t (a INT,, b INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT a, a FROM s;").await;
    let (s, e) = submit(&srv, &pid, &jid, json!({})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64().is_some()),
        (Some(2), true),
        "{e}"
    );
    let (_, l) = srv
        .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/instances"))
        .await;
    assert_eq!(l["total"], 0, "a syntax error creates no instance");

    let jid = flink_job(&srv, &pid, &cid, "column", "CREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT nope FROM t;").await;
    let (s, e) = submit(&srv, &pid, &jid, json!({})).await;
    assert_eq!(s, 422, "{e}");
    let detail = e["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Flink refused the job:") && detail.contains("nope"),
        "{detail}"
    );
    let iid = e["instance_id"].as_str().unwrap();
    let (_, d) = srv.get(&format!("/api/v1/instances/{iid}")).await;
    assert_eq!(d["state"], "FAILED");
    assert!(d["error"].as_str().unwrap().contains("nope"), "{d}");
    // Restoring from a savepoint the job does not have.
    let (s, e) = submit(&srv, &pid, &jid, json!({"from_latest_savepoint": true})).await;
    assert_eq!(s, 409, "{e}");
}

/// What the embedded engine refuses (computed event time, watermarks it does not run, `OPTIONS`
/// hints) runs on Flink: the platform's own checks do not block it.
#[tokio::test]
async fn flink_runs_what_the_embedded_engine_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let out = tmp.path().join("out");
    let script = format!(
        "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE g (
  id BIGINT,
  ts AS TO_TIMESTAMP_LTZ(id, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100', 'number-of-rows' = '100');
CREATE TABLE sink_t (id BIGINT, ts TIMESTAMP_LTZ(3)) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
INSERT INTO sink_t SELECT id, ts FROM g /*+ OPTIONS('rows-per-second' = '10000') */ WHERE id <= 50;",
        out.display()
    );
    let jid = flink_job(&srv, &pid, &cid, "event-time", &script).await;
    let (s, i) = submit(&srv, &pid, &jid, json!({})).await;
    assert_eq!(s, 202, "{i}");
    let d = wait_state(
        &srv,
        i["id"].as_str().unwrap(),
        &["FINISHED", "FAILED"],
        120,
    )
    .await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    assert_eq!(output_lines(&out).len(), 50);
    // The same script on the embedded engine: refused at validation, positioned, saying where
    // it runs.
    let (s, e) = srv
        .post("/api/v1/sql/validate", json!({ "script": script }))
        .await;
    assert_eq!(s, 422, "{e}");
    let detail = e["detail"].as_str().unwrap();
    assert!(
        detail.contains("unsupported:") && detail.contains("run it on a Flink cluster"),
        "{e}"
    );
    assert_eq!(e["line"], json!(8), "{e}");
    // Validated for Flink by Flink's planner: accepted, with Flink's EXPLAIN.
    let (s, r) = srv
        .post(
            "/api/v1/sql/validate",
            json!({ "script": script, "engine": "flink" }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["validated_by"], "flink", "{r}");
    assert!(
        r["explain"].as_str().unwrap().contains("LogicalSink"),
        "{r}"
    );
    // Flink's validation error, at the script's line:column.
    let bad = "CREATE TABLE t (a INT) WITH ('connector' = 'datagen');\nCREATE TABLE o (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO o\nSELECT nope FROM t;";
    let (s, e) = srv
        .post(
            "/api/v1/sql/validate",
            json!({ "script": bad, "engine": "flink" }),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(
        (e["line"].clone(), e["column"].clone()),
        (json!(4), json!(8)),
        "{e}"
    );
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("Column 'nope' not found"),
        "{e}"
    );
}

fn flink_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} must be set by scripts/test.sh"))
}

fn flink_daemon(script: &str, action: &str) {
    let home = flink_env("FLINK_HOME");
    let st = Command::new(format!("{home}/bin/{script}"))
        .arg(action)
        .env("FLINK_CONF_DIR", flink_env("FLINK_CONF_DIR"))
        .env("FLINK_LOG_DIR", flink_env("FLINK_LOG_DIR"))
        .env("FLINK_PID_DIR", flink_env("FLINK_PID_DIR"))
        .status()
        .unwrap();
    assert!(st.success(), "{script} {action}");
}

async fn wait_taskmanagers(n: u32) {
    let t0 = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{}/overview", flink_url())).await {
            if let Ok(v) = r.json::<Value>().await {
                if v["taskmanagers"].as_u64() >= Some(n as u64)
                    && v["slots-available"].as_u64() > Some(0)
                {
                    return;
                }
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "TaskManager did not register"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// (f) JobManager down → instances UNKNOWN with the reason (not FAILED), cluster UNREACHABLE;
/// JobManager back → reconciled: without high availability the job is gone, so LOST.
#[tokio::test]
async fn jobmanager_outage_shows_unknown_then_reconciles() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let jid = flink_job(
        &srv,
        &pid,
        &cid,
        "outage",
        &long_script(&tmp.path().join("out")),
    )
    .await;
    let (_, i) = submit(&srv, &pid, &jid, json!({})).await;
    let iid = i["id"].as_str().unwrap().to_string();
    wait_state(&srv, &iid, &["RUNNING"], 60).await;
    flink_daemon("jobmanager.sh", "stop");
    let d = wait_state(&srv, &iid, &["UNKNOWN", "FAILED", "LOST"], 60).await;
    let restart = || {
        flink_daemon("jobmanager.sh", "start");
    };
    if d["state"] != "UNKNOWN" {
        restart();
        panic!("expected UNKNOWN while the JobManager is down: {d}");
    }
    let reason = d["history"].as_array().unwrap().last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("unreachable"), "{reason}");
    let (_, c) = srv.get(&format!("/api/v1/clusters/{cid}")).await;
    assert_eq!(c["health"], "UNREACHABLE", "{c}");
    assert!(
        c["health_reason"].as_str().is_some() && c["health_since"].as_i64().is_some(),
        "{c}"
    );
    restart();
    wait_taskmanagers(1).await;
    let d = wait_state(&srv, &iid, &["LOST", "RUNNING", "FAILED"], 120).await;
    assert_eq!(d["state"], "LOST", "{d}");
    assert!(
        d["error"].as_str().unwrap().contains("not on the cluster"),
        "{d}"
    );
    let (_, c) = srv.get(&format!("/api/v1/clusters/{cid}")).await;
    assert_eq!(c["health"], "UP", "{c}");
    let states: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert!(
        states.ends_with(&["RUNNING", "UNKNOWN", "LOST"]),
        "{states:?}"
    );
}

/// (g) The same scripts on the embedded engine and on Flink give equal output.
#[tokio::test]
async fn embedded_and_flink_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("orders")).unwrap();
    std::fs::create_dir_all(input.join("customers")).unwrap();
    std::fs::write(
        input.join("orders/part-0.csv"),
        (1..=60)
            .map(|i| format!("{i},{},{}\n", i % 7, i * 3 % 50))
            .collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        input.join("customers/part-0.csv"),
        (0..7)
            .map(|c| {
                format!(
                    "{c},name{c},{}\n",
                    if c % 2 == 0 { "north" } else { "south" }
                )
            })
            .collect::<String>(),
    )
    .unwrap();
    std::fs::create_dir_all(input.join("scores")).unwrap();
    std::fs::write(
        input.join("scores/part-0.csv"),
        "1,alice,NA\n2,NA,7\n3,carol,12\n4,NA,NA\n",
    )
    .unwrap();
    let scores = format!("CREATE TABLE scores (id BIGINT, name STRING, pts INT, bonus AS pts * 2) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'csv.null-literal' = 'NA');", input.join("scores").display());
    let orders = format!("CREATE TABLE orders (id BIGINT, customer BIGINT, amount BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');", input.join("orders").display());
    let customers = format!("CREATE TABLE customers (id BIGINT, name STRING, region STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');", input.join("customers").display());
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("projection_filter", orders.clone(), "id BIGINT, amount BIGINT", "SELECT id, amount * 2 FROM orders WHERE amount > 20 AND customer <> 3"),
        ("group_aggregation", orders.clone(), "customer BIGINT, n BIGINT, total BIGINT, biggest BIGINT", "SELECT customer, COUNT(*), SUM(amount), MAX(amount) FROM orders GROUP BY customer"),
        ("join", format!("{orders}\n{customers}"), "region STRING, total BIGINT", "SELECT c.region, SUM(o.amount) FROM orders o JOIN customers c ON o.customer = c.id GROUP BY c.region"),
        ("datagen", "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '500', 'number-of-rows' = '500');".to_string(), "id BIGINT, sq BIGINT", "SELECT id, id * id FROM g WHERE MOD(id, 3) = 0"),
        ("json", customers.clone(), "id BIGINT, name STRING, region STRING", "SELECT id, UPPER(name), region FROM customers WHERE region = 'north'"),
        // DOUBLE written and cast to STRING as Java writes it (1.0E19, 0.3333333333333333).
        ("doubles", orders.clone(), "id BIGINT, big DOUBLE, third DOUBLE, s STRING, small DOUBLE", "SELECT id, CAST(id AS DOUBLE) * 1e18, CAST(id AS DOUBLE) / 3, CAST(CAST(id AS DOUBLE) / 7 AS STRING), CAST(id AS DOUBLE) / 100000 FROM orders WHERE id <= 12"),
        // A computed column, and 'NA' read as NULL in a string and a numeric column.
        ("computed_null_literal", scores, "id BIGINT, name STRING, pts INT, bonus INT, unnamed BOOLEAN", "SELECT id, name, pts, bonus, name IS NULL FROM scores WHERE pts IS NOT NULL OR name IS NULL"),
    ];
    for (name, ddl, cols, query) in cases {
        let format = if name == "json" { "json" } else { "csv" };
        let mut outputs = Vec::new();
        for engine in ["embedded", "flink"] {
            let out = tmp.path().join(format!("out-{name}-{engine}"));
            let script = format!(
                "SET 'execution.runtime-mode' = 'batch';\n{ddl}\nCREATE TABLE sink ({cols}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = '{format}');\nINSERT INTO sink {query};",
                out.display()
            );
            let body = if engine == "flink" {
                json!({"name": format!("{name}-{engine}"), "script": script, "engine": "flink", "cluster_id": cid})
            } else {
                json!({"name": format!("{name}-{engine}"), "script": script})
            };
            let (s, j) = srv
                .post(&format!("/api/v1/projects/{pid}/jobs"), body)
                .await;
            assert_eq!(s, 201, "{j}");
            let (s, i) = submit(&srv, &pid, j["id"].as_str().unwrap(), json!({})).await;
            assert_eq!(s, 202, "{name} on {engine}: {i}");
            let d = wait_state(
                &srv,
                i["id"].as_str().unwrap(),
                &["FINISHED", "FAILED", "CANCELED"],
                120,
            )
            .await;
            assert_eq!(d["state"], "FINISHED", "{name} on {engine}: {d}");
            let mut lines = output_lines(&out);
            if format == "json" {
                lines = lines
                    .iter()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap().to_string())
                    .collect();
                lines.sort();
            }
            outputs.push(lines);
        }
        assert!(!outputs[0].is_empty(), "{name}: no output");
        assert_eq!(
            outputs[0], outputs[1],
            "{name}: embedded (left) and Flink (right) differ"
        );
    }
}

/// Kills the TaskManager (SIGKILL) and returns once it is gone.
fn kill_taskmanager() {
    let dir = flink_env("FLINK_PID_DIR");
    let pid_file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("taskexecutor.pid"))
        .expect("taskexecutor pid file");
    for pid in std::fs::read_to_string(&pid_file)
        .unwrap()
        .split_whitespace()
    {
        let _ = Command::new("kill").args(["-9", pid]).status();
    }
    std::fs::write(&pid_file, "").unwrap();
}

/// (e) TaskManager killed mid-job: the platform follows Flink — RESTARTING, RUNNING again when
/// a TaskManager is back, and FAILED (with Flink's cause) once the restart attempts are spent.
#[tokio::test]
async fn taskmanager_loss_is_followed_faithfully() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let script = format!(
        "SET 'restart-strategy.type' = 'fixed-delay';
SET 'restart-strategy.fixed-delay.attempts' = '1';
SET 'restart-strategy.fixed-delay.delay' = '4 s';
{}",
        long_script(&tmp.path().join("out"))
    );
    let jid = flink_job(&srv, &pid, &cid, "tm-loss", &script).await;
    let (_, i) = submit(&srv, &pid, &jid, json!({})).await;
    let iid = i["id"].as_str().unwrap().to_string();
    wait_state(&srv, &iid, &["RUNNING"], 60).await;
    wait_tasks_running(&srv, &iid).await;

    kill_taskmanager();
    let d = wait_state(&srv, &iid, &["RESTARTING", "FAILED"], 90).await;
    if d["state"] != "RESTARTING" {
        flink_daemon("taskmanager.sh", "start");
        panic!("expected RESTARTING after losing the TaskManager: {d}");
    }
    flink_daemon("taskmanager.sh", "start");
    wait_taskmanagers(1).await;
    wait_state(&srv, &iid, &["RUNNING"], 90).await;
    wait_tasks_running(&srv, &iid).await;

    // The only restart attempt is spent: a second loss fails the job.
    kill_taskmanager();
    let d = wait_state(&srv, &iid, &["FAILED"], 120).await;
    flink_daemon("taskmanager.sh", "start");
    let err = d["error"].as_str().unwrap_or_default().to_string();
    assert!(!err.is_empty(), "{d}");
    let flink_state: Value = reqwest::get(format!("{}/jobs/{}", flink_url(), iid.replace('-', "")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(flink_state["state"], "FAILED", "Flink agrees");
    let states: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    let restarting = states.iter().position(|s| *s == "RESTARTING").unwrap();
    assert!(
        states[restarting..].contains(&"RUNNING") && states.last() == Some(&"FAILED"),
        "{states:?}"
    );
    wait_taskmanagers(1).await;
}

/// Jar jobs: a jar uploaded as a versioned artifact (checksum recorded), run with an entry
/// class and arguments. The jar here is a real Flink program: the SQL runner itself, run as a
/// user jar. Its print sink's rows are read back from the TaskManager's stdout, and per-vertex
/// metrics are served.
#[tokio::test]
async fn jar_jobs_run_uploaded_artifacts() {
    use base64::Engine as _;
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let jar = std::fs::read(std::env::var("SCALEPH_FLINK_SQL_RUNNER").unwrap()).unwrap();
    let upload = |bytes: Vec<u8>, name: &str| {
        let url = format!("{}/api/v1/projects/{pid}/artifacts?name={name}", srv.base);
        let http = srv.http.clone();
        async move {
            let r = http
                .post(url)
                .header("content-type", "application/java-archive")
                .body(bytes)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, e) = upload(b"not a jar".to_vec(), "bad").await;
    assert_eq!(s, 422, "{e}");
    let (s, a1) = upload(jar.clone(), "runner").await;
    assert_eq!(s, 201, "{a1}");
    let (_, a2) = upload(jar.clone(), "runner").await;
    assert_eq!(
        (a1["version"].as_i64(), a2["version"].as_i64()),
        (Some(1), Some(2))
    );
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&jar)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(a2["sha256"], sha.as_str());
    assert_eq!(a2["size"], jar.len());

    let tag = format!("jarjob-{}", std::process::id());
    let script = format!(
        "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5', 'number-of-rows' = '5');
CREATE TABLE p (tag STRING, id BIGINT) WITH ('connector' = 'print');
INSERT INTO p SELECT '{tag}', id FROM g GROUP BY id;"
    );
    // Program arguments take run parameters like scripts do.
    let args = json!([
        "--script-base64",
        base64::engine::general_purpose::STANDARD.encode(script),
        "--pipeline-name",
        "jar-${bizdate}"
    ]);
    let (s, j) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": "jar", "engine": "flink", "cluster_id": cid,
                   "jar": {"artifact_id": a2["id"], "entry_class": "io.scaleph.runner.SqlRunner", "args": args}}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    let (s, e) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": "jar2", "engine": "flink", "cluster_id": cid, "jar": {"artifact_id": "nope"}}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    // The cluster loses every uploaded jar: the next submission uploads the artifact again.
    let http = reqwest::Client::new();
    let jars: Value = http
        .get(format!("{}/jars", flink_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for f in jars["files"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        http.delete(format!("{}/jars/{id}", flink_url()))
            .send()
            .await
            .unwrap();
    }
    let (s, i) = submit(
        &srv,
        &pid,
        j["id"].as_str().unwrap(),
        json!({"bizdate": "2026-04-02"}),
    )
    .await;
    assert_eq!(s, 202, "{i}");
    let iid = i["id"].as_str().unwrap().to_string();
    let d = wait_state(&srv, &iid, &["FINISHED", "FAILED", "CANCELED"], 120).await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    let (_, p) = srv.get(&format!("/api/v1/instances/{iid}/params")).await;
    assert!(
        p["script"].as_str().unwrap().contains("\"jar-20260402\""),
        "the effective arguments are recorded: {p}"
    );
    let fj: Value = http
        .get(format!(
            "{}/jobs/{}",
            flink_url(),
            d["flink_job_id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        fj["name"], "jar-20260402",
        "Flink ran the substituted arguments"
    );
    // …and the SQL runner too.
    let sql = flink_job(&srv, &pid, &cid, "after-loss", "SET 'execution.runtime-mode' = 'batch';\nCREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '3');\nCREATE TABLE b (id BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id FROM g;").await;
    let (s, i2) = submit(&srv, &pid, &sql, json!({})).await;
    assert_eq!(s, 202, "the runner is uploaded again: {i2}");
    let d2 = wait_state(
        &srv,
        i2["id"].as_str().unwrap(),
        &["FINISHED", "FAILED"],
        120,
    )
    .await;
    assert_eq!(d2["state"], "FINISHED", "{d2}");
    let (s, v) = srv.get(&format!("/api/v1/instances/{iid}/vertices")).await;
    assert_eq!(s, 200, "{v}");
    let sum = |key: &str| -> i64 {
        v["vertices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["metrics"][key].as_i64().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        v["vertices"].as_array().unwrap().len(),
        2,
        "source and aggregation: {v}"
    );
    assert!(
        sum("write-records") >= 5 && sum("read-records") >= 5,
        "records in/out per vertex: {v}"
    );
    let (_, tms) = srv
        .get(&format!("/api/v1/clusters/{cid}/taskmanagers"))
        .await;
    let mut stdout = String::new();
    for tm in tms.as_array().unwrap() {
        let (_, out) = srv
            .get(&format!(
                "/api/v1/clusters/{cid}/taskmanagers/{}/stdout",
                tm["id"].as_str().unwrap()
            ))
            .await;
        stdout.push_str(out.as_str().unwrap_or_default());
    }
    for id in 1..=5 {
        assert!(
            stdout.contains(&format!("+I[{tag}, {id}]")),
            "print sink row {id} in stdout"
        );
    }
}

/// Auto-restart: a job failing at run time is resubmitted from its latest retained checkpoint,
/// at most `max_attempts` times; each attempt is a new instance linked to the failed one.
#[tokio::test]
async fn auto_restart_policy_resubmits_from_the_latest_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, pid, cid) = setup(tmp.path()).await;
    let script = "SET 'restart-strategy.type' = 'none';
SET 'execution.checkpointing.interval' = '500ms';
CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000', 'rows-per-second' = '1000');
CREATE TABLE snk (x BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO snk SELECT id / (id - 2500) FROM src;";
    let (s, j) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": "flaky", "script": script, "engine": "flink", "cluster_id": cid,
                   "restart_policy": {"max_attempts": 2, "window_minutes": 10}}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    let jid = j["id"].as_str().unwrap();
    let (_, first) = submit(&srv, &pid, jid, json!({})).await;
    let first = first["id"].as_str().unwrap().to_string();
    // Three runs in all: the first and two automatic restarts, each FAILED.
    let t0 = Instant::now();
    let runs = loop {
        let (_, l) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/instances"))
            .await;
        let items = l["items"].as_array().unwrap().clone();
        if items.len() >= 3 && items.iter().all(|i| i["state"] == "FAILED") {
            break items;
        }
        assert!(t0.elapsed() < Duration::from_secs(180), "{l:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, l) = srv
        .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/instances"))
        .await;
    assert_eq!(l["total"], 3, "no third restart: {l:#}");
    // Newest first: restart 2 ← restart 1 ← first, restarts restored from checkpoints.
    assert_eq!(runs[2]["id"], first.as_str());
    assert_eq!(runs[1]["restart_of"], runs[2]["id"]);
    assert_eq!(runs[0]["restart_of"], runs[1]["id"]);
    for r in &runs[..2] {
        let from = r["restored_from"].as_str().unwrap_or_default();
        assert!(
            from.contains("chk-"),
            "restored from a retained checkpoint: {r}"
        );
    }
    let (_, logs) = srv
        .get(&format!(
            "/api/v1/instances/{}/logs",
            runs[0]["id"].as_str().unwrap()
        ))
        .await;
    assert!(logs.to_string().contains("not restarting"), "{logs}");
    let (_, logs) = srv.get(&format!("/api/v1/instances/{first}/logs")).await;
    assert!(
        logs.to_string().contains("auto-restart attempt 1 of 2"),
        "{logs}"
    );
}
