//! Exactly-once output of an embedded streaming job across `kill -9` of the server: a
//! checkpointing job writes a sequence into a filesystem table; the server is killed at random
//! moments and started again, resuming the job from its latest checkpoint each time.

mod common;

use common::Server;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Lines of the committed (visible) files of a table.
fn committed_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for f in common::files_under(dir) {
        let hidden = f
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(['.', '_']));
        if !hidden {
            let text = std::fs::read_to_string(&f).unwrap();
            lines.extend(text.lines().map(str::to_string));
        }
    }
    lines
}

/// Ids in the committed files of a CSV table.
fn committed_ids(dir: &Path) -> Vec<i64> {
    committed_lines(dir)
        .iter()
        .map(|l| l.trim().parse().unwrap_or_else(|_| panic!("{l:?}")))
        .collect()
}

/// A small pseudo-random sequence (xorshift), seeded from the clock and printed, so a failing
/// run can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_twenty_times_every_id_exactly_once() {
    const ROWS: i64 = 24_000;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let script = format!(
        "SET 'execution.checkpointing.interval' = '250 ms';
CREATE TABLE seq (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '{ROWS}',
  'rows-per-second' = '2000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1',
  'fields.id.end' = '{ROWS}');
CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv',
  'sink.rolling-policy.rollover-interval' = '1 s');
INSERT INTO out SELECT id FROM seq;",
        out.display()
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let mut srv = Server::start(&data);
    let pid = srv.project("eo").await;
    let jid = srv.job(&pid, "sequence", &script).await;
    let (s, inst) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{inst}");
    let iid = inst["id"].as_str().unwrap().to_string();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(200 + rng.below(900))).await;
        srv.kill();
        srv = Server::start(&data);
    }
    let d = srv
        .wait_for(&iid, Duration::from_secs(120), |d| {
            matches!(
                d["state"].as_str(),
                Some("FINISHED" | "FAILED" | "CANCELED")
            )
        })
        .await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    let resumed = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["state"] == "RESTARTING")
        .count();
    assert!(resumed >= 15, "resumed {resumed} times: {}", d["history"]);
    let reasons: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h: &Value| h["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("resuming from checkpoint chk-")),
        "{reasons:?}"
    );
    let mut ids = committed_ids(&out);
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(n, ids.len(), "{} ids written more than once", n - ids.len());
    assert_eq!(ids, (1..=ROWS).collect::<Vec<_>>(), "every id exactly once");
    assert!(
        !data.join("checkpoints").join(&iid).exists(),
        "a finished instance's checkpoints are removed"
    );
}

/// The script of a tumbling-window count over a sequence whose event time is `id × 100 ms`;
/// `agg` is the second aggregate, `filter` an extra predicate.
fn window_script(out: &Path, agg: &str, filter: &str) -> String {
    format!(
        "CREATE TABLE ev (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 100, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen',
  'number-of-rows' = '6000', 'rows-per-second' = '1000', 'fields.id.kind' = 'sequence',
  'fields.id.start' = '1', 'fields.id.end' = '6000');
CREATE TABLE out (w_end STRING, n BIGINT, a BIGINT) WITH ('connector' = 'filesystem',
  'path' = '{}', 'format' = 'csv', 'sink.rolling-policy.rollover-interval' = '1 s');
INSERT INTO out SELECT CAST(window_end AS STRING), COUNT(*), {agg}
FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) WHERE {filter}
GROUP BY window_start, window_end;",
        out.display()
    )
}

/// Committed rows of the window table: `(window end, count, aggregate)`.
fn committed_rows(dir: &Path) -> Vec<(String, i64, i64)> {
    let mut rows: Vec<(String, i64, i64)> = committed_lines(dir)
        .iter()
        .map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            // Flink's CSV quotes a string with a space.
            let end = v[0].trim_matches('"').to_string();
            (end, v[1].parse().unwrap(), v[2].parse().unwrap())
        })
        .collect();
    rows.sort_unstable();
    rows
}

async fn set_script(srv: &Server, pid: &str, jid: &str, script: &str) {
    let (s, v) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs/{jid}/versions"),
            serde_json::json!({ "script": script }),
        )
        .await;
    assert!(s == 201 || s == 200, "{s} {v}");
}

async fn wait_savepoint(srv: &Server, pid: &str, jid: &str, sid: &str) -> Value {
    for _ in 0..500 {
        let (_, list) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/savepoints"))
            .await;
        let sp = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == sid)
            .cloned()
            .unwrap();
        if sp["status"] != "IN_PROGRESS" {
            return sp;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("savepoint {sid} did not complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_savepoint_change_compatibly_restore_every_window_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let srv = Server::start(&data);
    let pid = srv.project("sp").await;
    let jid = srv
        .job(&pid, "windows", &window_script(&out, "SUM(id)", "id > 0"))
        .await;
    let (s, inst) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{inst}");
    let iid = inst["id"].as_str().unwrap().to_string();
    srv.wait_for(&iid, Duration::from_secs(30), |d| d["state"] == "RUNNING")
        .await;
    // A savepoint while running, then stop with one after about a third of the input.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Live operator metrics: the source, the window aggregate, their counts and watermarks.
    let (s, v) = srv.get(&format!("/api/v1/instances/{iid}/vertices")).await;
    assert_eq!(s, 200, "{v}");
    let ops = v["vertices"].as_array().unwrap();
    let find = |name: &str| {
        ops.iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {v}"))
    };
    let src = find("TableSourceScan");
    assert!(src["metrics"]["write-records"].as_u64().unwrap() > 0, "{v}");
    let agg = find("WindowAggregate");
    assert!(agg["metrics"]["read-records"].as_u64().unwrap() > 0, "{v}");
    assert!(agg["watermark"].as_i64().unwrap() > 0, "{v}");
    assert!(
        agg["state_rows"].as_u64().unwrap() >= 1,
        "an open window: {v}"
    );
    let (s, sp) = srv
        .post(
            &format!("/api/v1/instances/{iid}/savepoints"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, 202, "{sp}");
    let sp = wait_savepoint(&srv, &pid, &jid, sp["id"].as_str().unwrap()).await;
    assert_eq!(sp["status"], "COMPLETED", "{sp}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, stop) = srv
        .post(
            &format!("/api/v1/instances/{iid}/stop"),
            serde_json::json!({ "drain": false }),
        )
        .await;
    assert_eq!(s, 202, "{stop}");
    let stop = wait_savepoint(&srv, &pid, &jid, stop["id"].as_str().unwrap()).await;
    assert_eq!(stop["status"], "COMPLETED", "{stop}");
    assert_eq!(stop["trigger_kind"], "stop");
    let d = srv.wait_terminal(&iid).await;
    assert_eq!(d["state"], "FINISHED", "stop with savepoint finishes: {d}");
    let before = committed_rows(&out).len();
    assert!(before < 60, "stopped early: {before} windows committed");

    // An incompatible change (another aggregate) is refused, naming the operator.
    set_script(&srv, &pid, &jid, &window_script(&out, "MAX(id)", "id > 0")).await;
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
            serde_json::json!({ "savepoint_id": stop["id"] }),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    let msg = r.to_string();
    assert!(
        msg.contains("WindowAggregate") && msg.contains("allow_non_restored_state"),
        "{msg}"
    );

    // A compatible change (another stateless filter) restores; every window exactly once.
    set_script(
        &srv,
        &pid,
        &jid,
        &window_script(&out, "SUM(id)", "id < 100000"),
    )
    .await;
    let (s, inst) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
            serde_json::json!({ "savepoint_id": stop["id"] }),
        )
        .await;
    assert_eq!(s, 202, "{inst}");
    assert_eq!(inst["restored_from"], stop["path"]);
    let d = srv.wait_terminal(inst["id"].as_str().unwrap()).await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    let got = committed_rows(&out);
    // Event time id × 100 ms: window [e − 10 s, e) holds the ids with e − 10000 ≤ 100·id < e.
    let mut want = Vec::new();
    for k in 1..=61i64 {
        let end = k * 10_000;
        let ids: Vec<i64> = (1..=6000)
            .filter(|i| i * 100 < end && i * 100 >= end - 10_000)
            .collect();
        if !ids.is_empty() {
            let text = chrono::DateTime::from_timestamp_millis(end)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            want.push((text, ids.len() as i64, ids.iter().sum()));
        }
    }
    want.sort_unstable();
    assert_eq!(got, want, "every window exactly once, with all its rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_restart_policy_restores_the_failed_runs_latest_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let srv = Server::start(&data);
    let pid = srv.project("flaky").await;
    // Row 2500 divides by zero: every run fails there, after some checkpoints.
    let script = format!(
        "SET 'execution.checkpointing.interval' = '200 ms';
CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence',
  'fields.id.start' = '1', 'fields.id.end' = '100000', 'rows-per-second' = '2500');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv',
  'sink.rolling-policy.rollover-interval' = '100 ms');
INSERT INTO snk SELECT id FROM src WHERE id / (id - 2500) > -100000000;",
        out.display()
    );
    let (s, j) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs"),
            serde_json::json!({"name": "flaky", "script": script,
                "restart_policy": {"max_attempts": 2, "window_minutes": 10}}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    let jid = j["id"].as_str().unwrap().to_string();
    let (s, first) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{first}");
    // Three runs: the first and two automatic restarts, each FAILED.
    let t0 = std::time::Instant::now();
    let runs = loop {
        let (_, l) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/instances"))
            .await;
        let items = l["items"].as_array().unwrap().clone();
        if items.len() == 3 && items.iter().all(|i| i["state"] == "FAILED") {
            break items;
        }
        assert!(t0.elapsed().as_secs() < 60, "{l}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Newest first: each restart names the run it restarts and restores that run's
    // checkpoints — or, when that run failed before completing one, the state it started from.
    for k in 0..2 {
        let (newer, older) = (&runs[k], &runs[k + 1]);
        assert_eq!(newer["restart_of"], older["id"], "{runs:?}");
        let from = newer["restored_from"].as_str().unwrap_or_default();
        assert!(
            from.ends_with(older["id"].as_str().unwrap()) || older["restored_from"] == from,
            "restored from the failed run's checkpoints: {from}; {runs:?}"
        );
    }
    assert!(
        runs[1]["restored_from"]
            .as_str()
            .unwrap_or_default()
            .ends_with(runs[2]["id"].as_str().unwrap()),
        "the first restart restores the first run's checkpoint: {runs:?}"
    );
    let first_id = runs[2]["id"].as_str().unwrap();
    let (_, logs) = srv.get(&format!("/api/v1/instances/{first_id}/logs")).await;
    assert!(
        logs.to_string().contains("auto-restart attempt 1 of 2"),
        "{logs}"
    );
    let last_id = runs[0]["id"].as_str().unwrap();
    let (_, logs) = srv.get(&format!("/api/v1/instances/{last_id}/logs")).await;
    let text = logs.to_string();
    assert!(text.contains("restoring checkpoint"), "{text}");
    assert!(text.contains("2 of 2 attempts used"), "{text}");
    // Published output: a prefix of the ids before the failing row, none twice.
    let mut ids = committed_ids(&out);
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(n, ids.len(), "ids written twice");
    assert!(!ids.is_empty() && ids.len() < 2500, "{} ids", ids.len());
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
}
