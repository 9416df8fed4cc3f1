//! Job schedules against a real server: fires with parameters substituted into the script,
//! overlap policies, and `kill -9` of the server between fires — no fire lost or doubled, none
//! left claimed. (Fire-time arithmetic across DST changes and misfire policies at chosen
//! instants: the unit tests of `scaleph-schedule`.)

mod common;

use common::Server;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

async fn put(srv: &Server, path: &str, body: Value) -> (u16, Value) {
    let (s, v, _) = srv.call(reqwest::Method::PUT, path, Some(body)).await;
    (s, v)
}

/// Fires of the schedule at `path` until `pred` holds (or 60 s pass).
async fn fires_until(srv: &Server, path: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let t0 = Instant::now();
    loop {
        let (s, v) = srv.get(&format!("{path}/fires")).await;
        assert_eq!(s, 200, "{v}");
        let f = v.as_array().cloned().unwrap_or_default();
        if pred(&f) {
            return f;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "fires: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn with_state<'a>(f: &'a [Value], state: &str) -> Vec<&'a Value> {
    f.iter().filter(|x| x["state"] == state).collect()
}

/// A job whose run writes its business date to a blackhole, scheduled every second with
/// `overlap` allowed (and `extra` fields); returns (project, job, schedule path).
async fn every_second(srv: &Server, name: &str, extra: Value) -> (String, String, String) {
    let pid = srv.project(name).await;
    let script = "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE out (d STRING) WITH ('connector' = 'blackhole');
INSERT INTO out VALUES ('${bizdate}');";
    let jid = srv.job(&pid, "tick", script).await;
    let path = format!("/api/v1/projects/{pid}/jobs/{jid}/schedule");
    let mut body = json!({"cron": "* * * * * *", "overlap": "allow"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let (s, v) = put(srv, &path, body).await;
    assert_eq!(s, 200, "{v}");
    (pid, jid, path)
}

#[tokio::test]
async fn fires_substitute_parameters_and_record_the_effective_script() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("sched").await;
    let script = "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE out (d STRING, r STRING, w STRING) WITH ('connector' = 'print');
INSERT INTO out VALUES ('${bizdate}', '${region}', '$[yyyy-MM-dd HH:mm:ss]');";
    let jid = srv.job(&pid, "daily", script).await;
    let path = format!("/api/v1/projects/{pid}/jobs/{jid}/schedule");
    // Refusals first: a bad pattern, zone and parameter name.
    for (body, want) in [
        (json!({"cron": "61 * * * *"}), "invalid cron pattern"),
        (
            json!({"cron": "* * * * *", "timezone": "Mars/Base"}),
            "unknown time zone",
        ),
        (
            json!({"cron": "* * * * *", "params": {"bizdate": "x"}}),
            "parameter name 'bizdate'",
        ),
    ] {
        let (s, v) = put(&srv, &path, body).await;
        assert_eq!(s, 422, "{v}");
        assert!(v["detail"].as_str().unwrap().contains(want), "{v}");
    }
    let (s, v) = put(
        &srv,
        &path,
        json!({"cron": "*/2 * * * * *", "timezone": "Asia/Shanghai", "overlap": "allow",
               "params": {"region": "eu"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["next_fires"].as_array().unwrap().len(), 5, "{v}");
    let fires = fires_until(&srv, &path, |f| with_state(f, "SUBMITTED").len() >= 2).await;
    let submitted = with_state(&fires, "SUBMITTED");
    let (a, b) = (
        submitted[1]["fire_at"].as_i64().unwrap(),
        submitted[0]["fire_at"].as_i64().unwrap(),
    );
    assert_eq!(b - a, 2000, "two consecutive fires 2 s apart: {fires:?}");
    for f in &submitted {
        let iid = f["instance_id"].as_str().unwrap();
        let d = srv.wait_terminal(iid).await;
        assert_eq!(d["state"], "FINISHED", "{d}");
        let (s, p) = srv.get(&format!("/api/v1/instances/{iid}/params")).await;
        assert_eq!(s, 200, "{p}");
        // Business date: the day before the fire's date in Shanghai.
        let at = chrono::DateTime::from_timestamp_millis(f["fire_at"].as_i64().unwrap()).unwrap();
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        let local = at.with_timezone(&tz);
        let biz = local.date_naive().pred_opt().unwrap();
        assert_eq!(p["bizdate"], biz.format("%Y-%m-%d").to_string(), "{p}");
        let run = p["script"].as_str().unwrap();
        let want = format!(
            "VALUES ('{}', 'eu', '{}')",
            biz.format("%Y%m%d"),
            local.format("%Y-%m-%d %H:%M:%S")
        );
        assert!(run.contains(&want), "{run}\nwant {want}");
        assert_eq!(f["bizdate"], p["bizdate"]);
    }
    // Pause: no new fires; delete: gone.
    let cur = srv.get(&path).await.1;
    let (s, v) = put(
        &srv,
        &path,
        json!({"cron": cur["cron"], "timezone": cur["timezone"], "paused": true}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["next_fires"], json!([]));
    let n = srv
        .get(&format!("{path}/fires"))
        .await
        .1
        .as_array()
        .unwrap()
        .len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let m = srv
        .get(&format!("{path}/fires"))
        .await
        .1
        .as_array()
        .unwrap()
        .len();
    assert!(m <= n + 1, "paused, yet {n} → {m} fires");
    let (s, _, _) = srv.call(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(s, 204);
    assert_eq!(srv.get(&path).await.0, 404);
}

#[tokio::test]
async fn overlap_skip_and_queue_while_the_previous_run_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("overlap").await;
    // Each run takes about 2.5 s; fires come every second.
    let script = "CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '500', 'rows-per-second' = '200');
CREATE TABLE out (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT id FROM slow;";
    for (overlap, want) in [("skip", "SKIPPED"), ("queue", "QUEUED")] {
        let jid = srv.job(&pid, &format!("slow-{overlap}"), script).await;
        let path = format!("/api/v1/projects/{pid}/jobs/{jid}/schedule");
        let (s, v) = put(
            &srv,
            &path,
            json!({"cron": "* * * * * *", "overlap": overlap}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let fires = fires_until(&srv, &path, |f| !with_state(f, want).is_empty()).await;
        let held = with_state(&fires, want)[0];
        assert!(
            held["reason"].as_str().unwrap().contains("is still"),
            "{held}"
        );
        if overlap == "queue" {
            // A queued fire starts once the run before it ended.
            let at = held["fire_at"].as_i64().unwrap();
            let fires = fires_until(&srv, &path, |f| {
                f.iter()
                    .any(|x| x["fire_at"] == at && x["state"] == "SUBMITTED")
            })
            .await;
            let runs: Vec<&Value> = with_state(&fires, "SUBMITTED");
            assert!(runs.len() >= 2, "{fires:?}");
        }
        // At most one run at a time under both policies.
        let (_, list) = srv
            .get(&format!(
                "/api/v1/projects/{pid}/jobs/{jid}/instances?page_size=100"
            ))
            .await;
        let mut spans: Vec<(i64, i64)> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["created_at"].as_i64().unwrap(),
                    i["ended_at"].as_i64().unwrap_or(i64::MAX),
                )
            })
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[1].0 >= w[0].1, "runs overlap: {spans:?}");
        }
        let (s, _, _) = srv.call(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(s, 204);
    }
}

#[tokio::test]
async fn kill_9_between_fires_loses_and_doubles_none() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut srv = Server::start(&data);
    let (pid, jid, path) = every_second(&srv, "crash", json!({"misfire": "fire_once"})).await;
    for k in 0..4u64 {
        tokio::time::sleep(Duration::from_millis(1300 + 450 * k)).await;
        srv.kill();
        // Down for 2–3 s: a few fires pass while nothing runs.
        tokio::time::sleep(Duration::from_millis(2000 + 300 * k)).await;
        srv = Server::start(&data);
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, v) = put(&srv, &path, json!({"cron": "* * * * * *", "paused": true})).await;
    assert_eq!(v["paused"], true, "{v}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, fires) = srv.get(&format!("{path}/fires")).await;
    let fires = fires.as_array().unwrap().clone();
    // Every second from the first fire to the last has exactly one record (the key makes a
    // second impossible; a gap would be a lost fire) ...
    let times: BTreeSet<i64> = fires
        .iter()
        .map(|f| f["fire_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times.len(), fires.len(), "a fire recorded twice: {fires:?}");
    let (first, last) = (*times.first().unwrap(), *times.last().unwrap());
    let expected: BTreeSet<i64> = (0..=(last - first) / 1000)
        .map(|i| first + i * 1000)
        .collect();
    assert_eq!(times, expected, "fires lost: {fires:?}");
    // ... none is left claimed, and each started once: fires passed during a few seconds of
    // downtime are late by less than the misfire threshold (60 s), so each runs (late).
    assert!(with_state(&fires, "CLAIMED").is_empty(), "{fires:?}");
    let runs = with_state(&fires, "SUBMITTED");
    assert_eq!(runs.len(), fires.len(), "{fires:?}");
    let ids: BTreeSet<&str> = runs
        .iter()
        .map(|f| f["instance_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), runs.len(), "{fires:?}");
    assert!(runs.len() >= 15, "{fires:?}");
    let (_, list) = srv
        .get(&format!(
            "/api/v1/projects/{pid}/jobs/{jid}/instances?page_size=500"
        ))
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        runs.len(),
        "one instance per run fire: {list}"
    );
}

#[tokio::test]
async fn backfill_runs_each_business_date_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("backfill").await;
    let script = "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE out (d STRING, prev STRING) WITH ('connector' = 'print');
INSERT INTO out VALUES ('${bizdate:yyyy-MM-dd}', '$[yyyyMMdd-2]');";
    let jid = srv.job(&pid, "daily", script).await;
    let path = format!("/api/v1/projects/{pid}/jobs/{jid}/backfills");
    let (s, v) = srv
        .post(&path, json!({"from": "2026-05-03", "to": "2026-05-01"}))
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = srv
        .post(
            &path,
            json!({"from": "2026-05-01", "to": "2026-05-03", "timezone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let done = loop {
        let (_, list) = srv.get(&path).await;
        let b = list
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id.as_str())
            .cloned()
            .unwrap();
        let runs = b["runs"].as_array().unwrap().clone();
        let mut all = true;
        for r in &runs {
            match r["instance_id"].as_str() {
                Some(i) => {
                    let (_, d) = srv.get(&format!("/api/v1/instances/{i}")).await;
                    all &= d["state"] == "FINISHED";
                }
                None => all = false,
            }
        }
        if all {
            break runs;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut spans = Vec::new();
    for (r, want) in done.iter().zip(["2026-05-01", "2026-05-02", "2026-05-03"]) {
        assert_eq!(r["bizdate"], want, "{done:?}");
        let i = r["instance_id"].as_str().unwrap();
        let (_, p) = srv.get(&format!("/api/v1/instances/{i}/params")).await;
        assert_eq!(p["bizdate"], want);
        // `$[yyyyMMdd-2]`: the logical time (midnight after the date) minus two days.
        let prev = (chrono::NaiveDate::parse_from_str(want, "%Y-%m-%d").unwrap()
            - chrono::Duration::days(1))
        .format("%Y%m%d")
        .to_string();
        let want_values = format!("VALUES ('{want}', '{prev}')");
        assert!(p["script"].as_str().unwrap().contains(&want_values), "{p}");
        let (_, d) = srv.get(&format!("/api/v1/instances/{i}")).await;
        spans.push((
            d["created_at"].as_i64().unwrap(),
            d["ended_at"].as_i64().unwrap(),
        ));
    }
    for w in spans.windows(2) {
        assert!(
            w[1].0 >= w[0].1,
            "serial: each run starts after the one before ended: {spans:?}"
        );
    }
}

/// Two servers on one PostgreSQL metadata store run the same schedule: every fire is claimed
/// by one of them and started once.
#[tokio::test]
async fn two_servers_on_one_postgresql_claim_each_fire_once() {
    let tmp = tempfile::tempdir().unwrap();
    let db = common::fresh_postgres_db().await;
    let a = Server::start_with(&tmp.path().join("a"), &["--database-url", &db]);
    let b = Server::start_with(&tmp.path().join("b"), &["--database-url", &db]);
    let (pid, jid, path) = every_second(&a, "ha", json!({})).await;
    let fires = fires_until(&b, &path, |f| with_state(f, "SUBMITTED").len() >= 8).await;
    let (_, v) = put(&b, &path, json!({"cron": "* * * * * *", "paused": true})).await;
    assert_eq!(v["paused"], true, "{v}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fires = {
        let (_, f) = a.get(&format!("{path}/fires")).await;
        let f = f.as_array().unwrap().clone();
        assert!(f.len() >= fires.len());
        f
    };
    let times: BTreeSet<i64> = fires
        .iter()
        .map(|f| f["fire_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times.len(), fires.len(), "{fires:?}");
    let runs = with_state(&fires, "SUBMITTED");
    assert_eq!(runs.len(), fires.len(), "{fires:?}");
    let (_, list) = a
        .get(&format!(
            "/api/v1/projects/{pid}/jobs/{jid}/instances?page_size=500"
        ))
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        runs.len(),
        "{list}"
    );
}

#[tokio::test]
async fn manual_submits_substitute_parameters_and_record_them() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("manual-params").await;
    let job = srv
        .job(
            &pid,
            "daily",
            "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE out (d STRING, prev STRING, r STRING) WITH ('connector' = 'blackhole');
INSERT INTO out VALUES ('${bizdate}', '$[yyyy-MM-dd-1]', '${region}');",
        )
        .await;
    let (s, inst) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs/{job}/submit"),
            json!({"bizdate": "2026-03-01", "params": {"region": "eu"}}),
        )
        .await;
    assert_eq!(s, 202, "{inst}");
    let iid = inst["id"].as_str().unwrap();
    assert_eq!(srv.wait_terminal(iid).await["state"], "FINISHED");
    let (_, p) = srv.get(&format!("/api/v1/instances/{iid}/params")).await;
    assert_eq!(p["bizdate"], "2026-03-01", "{p}");
    let script = p["script"].as_str().unwrap();
    // $[…] is relative to the logical time (the day after the business date).
    assert!(
        script.contains("VALUES ('20260301', '2026-03-01', 'eu')"),
        "{script}"
    );
    // Without a date: yesterday (UTC, the job has no schedule); an unknown parameter is
    // refused by name and starts nothing.
    let (s, r) = srv.submit(&pid, &job).await;
    assert_eq!(s, 422, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("region"), "{r}");
    let (_, list) = srv
        .get(&format!("/api/v1/projects/{pid}/jobs/{job}/instances"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (s, inst) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs/{job}/submit"),
            json!({"params": {"region": "us"}}),
        )
        .await;
    assert_eq!(s, 202, "{inst}");
    let (_, p) = srv
        .get(&format!(
            "/api/v1/instances/{}/params",
            inst["id"].as_str().unwrap()
        ))
        .await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(p["bizdate"], yesterday.as_str(), "{p}");
}
