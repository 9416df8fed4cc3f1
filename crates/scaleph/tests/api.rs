//! REST API tests against a real `scaleph serve` on loopback (SQLite metadata).

mod common;

use common::{files_under, slow_script, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Instant;

fn csv_rows(dir: &std::path::Path) -> Vec<String> {
    let mut rows: Vec<String> = files_under(dir)
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn projects_datasources_jobs_versions_and_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));

    let (s, body) = srv.get("/healthz").await;
    assert_eq!((s, body), (200, Value::String("ok".into())));
    assert_eq!(srv.get("/readyz").await.0, 200);
    let (s, doc) = srv.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert!(
        doc["paths"]["/api/v1/projects/{project_id}/jobs/{job_id}/submit"]["post"].is_object(),
        "submit route documented"
    );
    let (s, _, ctype) = srv.call(Method::GET, "/swagger-ui/", None).await;
    assert_eq!(s, 200);
    assert!(ctype.starts_with("text/html"), "{ctype}");

    // Projects with pagination.
    for n in ["p-a", "p-b", "p-c"] {
        srv.project(n).await;
    }
    let (_, page) = srv.get("/api/v1/projects?page=2&page_size=2").await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["name"], "p-c");
    let pid = page["items"][0]["id"].as_str().unwrap().to_string();
    let (s, p) = srv
        .call(
            Method::PATCH,
            &format!("/api/v1/projects/{pid}"),
            Some(json!({"description": "third"})),
        )
        .await
        .into_pair();
    assert_eq!((s, p["description"].clone()), (200, json!("third")));

    // Filesystem datasource with a real connection test.
    let input = tmp.path().join("input");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("people.csv"),
        "1,alice,30\n2,bob,17\n3,carol,45\n",
    )
    .unwrap();
    let (s, ds) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources"),
            json!({"name": "files", "type": "filesystem", "properties": {"path": input}}),
        )
        .await;
    assert_eq!(s, 201, "{ds}");
    let dsid = ds["id"].as_str().unwrap();
    let (_, t) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources/{dsid}/test"),
            json!({}),
        )
        .await;
    assert_eq!(t["ok"], true, "{t}");
    assert!(t["message"].as_str().unwrap().contains("1 entries"), "{t}");

    // A job: two versions, diff, submit, results, metrics, logs.
    let out = tmp.path().join("adults");
    let v1 = format!(
        "CREATE TABLE people (id BIGINT, name STRING, age INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
CREATE TABLE adults (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
INSERT INTO adults SELECT id, name FROM people WHERE age >= 18;",
        input.display(),
        out.display()
    );
    let jid = srv.job(&pid, "adults", &v1).await;
    let v2 = v1.replace("SELECT id, name", "SELECT id, UPPER(name)");
    let (s, v) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs/{jid}/versions"),
            json!({"script": v2, "message": "shout"}),
        )
        .await;
    assert_eq!((s, v["version"].clone()), (201, json!(2)));
    let (_, versions) = srv
        .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/versions"))
        .await;
    assert_eq!(
        versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
    let (_, d) = srv
        .get(&format!(
            "/api/v1/projects/{pid}/jobs/{jid}/diff?from=1&to=2"
        ))
        .await;
    assert!(
        d["unified"]
            .as_str()
            .unwrap()
            .contains("+INSERT INTO adults SELECT id, UPPER(name)"),
        "{d}"
    );
    let changed: Vec<&Value> = d["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["tag"] != "equal")
        .collect();
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0]["old_line"], 3);
    let (_, job) = srv.get(&format!("/api/v1/projects/{pid}/jobs/{jid}")).await;
    assert_eq!(job["current_version"], 2);

    let (s, inst) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{inst}");
    assert_eq!(inst["version"], 2);
    let iid = inst["id"].as_str().unwrap();
    let d = srv.wait_terminal(iid).await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    let states: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["CREATED", "INITIALIZING", "RUNNING", "FINISHED"]);
    assert_eq!(csv_rows(&out), ["1,ALICE", "3,CAROL"]);
    let m = d["metrics"].as_array().unwrap();
    let source = m.iter().find(|x| x["role"] == "source").unwrap();
    let sink = m.iter().find(|x| x["role"] == "sink").unwrap();
    assert_eq!(
        (source["table"].clone(), source["rows"].clone()),
        (json!("people"), json!(3))
    );
    assert_eq!(
        (sink["table"].clone(), sink["rows"].clone()),
        (json!("adults"), json!(2))
    );
    assert_eq!(sink["bytes"], 16, "file bytes of '1,ALICE\\n3,CAROL\\n'");
    let (_, logs) = srv.get(&format!("/api/v1/instances/{iid}/logs")).await;
    assert!(
        logs.as_array().unwrap().iter().any(|l| l["line"]
            .as_str()
            .unwrap()
            .contains("INSERT INTO adults: 2 rows")),
        "{logs}"
    );
    let (_, list) = srv
        .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/instances"))
        .await;
    assert_eq!(list["total"], 1);

    // Preview and validate.
    let (s, pv) = srv.post("/api/v1/sql/preview", json!({"script": v1.replace("INSERT INTO adults SELECT id, name FROM people WHERE age >= 18", "SELECT name, age * 2 AS twice FROM people ORDER BY age DESC"), "limit": 2})).await;
    assert_eq!(s, 200, "{pv}");
    assert_eq!(
        pv["columns"],
        json!([{"name": "name", "type": "STRING", "nullable": true}, {"name": "twice", "type": "BIGINT", "nullable": true}])
    );
    assert_eq!(pv["rows"], json!([["carol", 90], ["alice", 60]]));
    assert_eq!(pv["truncated"], true);
    let (s, r) = srv
        .post("/api/v1/sql/validate", json!({"script": v1}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["sinks"], json!(["adults"]));
    assert_eq!(r["table_columns"]["people"][2]["type"], "INT");

    // Secrets: the password is stored but never returned.
    let (s, pg) = srv.post(&format!("/api/v1/projects/{pid}/datasources"), json!({"name": "pg", "type": "postgresql", "properties": {"host": "127.0.0.1", "port": 1, "database": "x", "username": "u", "password": "hunter2"}})).await;
    assert_eq!(s, 201, "{pg}");
    assert!(!pg.to_string().contains("hunter2"));
    assert_eq!(pg["secrets_set"], json!(["password"]));
    let (_, all) = srv
        .get(&format!("/api/v1/projects/{pid}/datasources"))
        .await;
    assert!(!all.to_string().contains("hunter2"));
    let (_, t) = srv
        .post(
            &format!(
                "/api/v1/projects/{pid}/datasources/{}/test",
                pg["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(t["ok"], false, "nothing listens on port 1: {t}");

    // Deleting the project removes its jobs.
    let (s, _, _) = srv
        .call(Method::DELETE, &format!("/api/v1/projects/{pid}"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        srv.get(&format!("/api/v1/projects/{pid}/jobs/{jid}"))
            .await
            .0,
        404
    );
}

trait IntoPair {
    fn into_pair(self) -> (u16, Value);
}
impl IntoPair for (u16, Value, String) {
    fn into_pair(self) -> (u16, Value) {
        (self.0, self.1)
    }
}

/// (name, script, text the error must contain, expected line and column).
type BadCase = (&'static str, String, &'static str, Option<(u64, u64)>);

/// Every bad input gets a problem document naming the problem, and nothing is persisted.
#[tokio::test]
async fn bad_input_is_rejected_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("bad").await;
    let missing = tmp.path().join("no-such-dir");
    let cases: Vec<BadCase> = vec![
        ("malformed", "CREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELEC 1;".into(), "found: SELEC", Some((2, 15))),
        ("unknown-connector", "CREATE TABLE t (a INT) WITH ('connector' = 'nope');\nINSERT INTO t SELECT 1;".into(), "unknown connector 'nope'", Some((1, 30))),
        ("missing-option", "CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'format' = 'csv');\nINSERT INTO t SELECT 1;".into(), "missing required option 'path'", Some((1, 14))),
        (
            "unknown-column",
            "CREATE TABLE g (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3');\nCREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT qty FROM g;".into(),
            "No field named qty",
            Some((3, 22)),
        ),
        (
            "nonexistent-path",
            format!("CREATE TABLE s (a INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');\nCREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT a FROM s;", missing.display()),
            "does not exist",
            Some((1, 58)),
        ),
        (
            "unsupported",
            "CREATE TABLE g (a INT, ts TIMESTAMP(3)) WITH ('connector' = 'datagen', 'number-of-rows' = '3');\nCREATE TABLE t (a BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELECT COUNT(*) FROM g GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE);".into(),
            "unsupported: TUMBLE()",
            Some((3, 47)),
        ),
    ];
    for (name, script, needle, pos) in cases {
        let jid = srv.job(&pid, name, &script).await;
        let (s, body, ctype) = srv
            .call(
                Method::POST,
                &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 422, "{name}: {body}");
        assert_eq!(ctype, "application/problem+json", "{name}");
        assert!(
            body["detail"].as_str().unwrap().contains(needle),
            "{name}: {body}"
        );
        if let Some((line, col)) = pos {
            assert_eq!(
                (body["line"].as_u64(), body["column"].as_u64()),
                (Some(line), Some(col)),
                "{name}: {body}"
            );
        }
        let (_, list) = srv
            .get(&format!("/api/v1/projects/{pid}/jobs/{jid}/instances"))
            .await;
        assert_eq!(list["total"], 0, "{name}: no instance may be created");
    }

    // Invalid JSON, wrong shape, oversized body.
    let r = srv
        .http
        .post(format!("{}/api/v1/projects", srv.base))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.text().await.unwrap().contains("malformed JSON"));
    let (s, b) = srv.post("/api/v1/projects", json!({"name": 5})).await;
    assert_eq!(s, 422);
    assert!(b["detail"].as_str().unwrap().contains("name"), "{b}");
    let (s, b) = srv
        .post("/api/v1/projects", json!({"name": "x", "colour": "red"}))
        .await;
    assert_eq!(s, 422);
    assert!(b["detail"].as_str().unwrap().contains("colour"), "{b}");
    let big = "x".repeat(2 * 1024 * 1024);
    // Its own connection: the server answers 413 and closes it while the body is still arriving.
    let r = common::client_with(&srv.token)
        .post(format!("{}/api/v1/projects/{pid}/jobs", srv.base))
        .json(&json!({"name": "big", "script": big}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let b = r.text().await.unwrap_or_default();
    assert_eq!(s, 413, "{b}");
    let (s, b) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources"),
            json!({"name": "d", "type": "oracle", "properties": {}}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("unknown datasource type 'oracle'"),
        "{b}"
    );
    let (s, b) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources"),
            json!({"name": "d", "type": "postgresql", "properties": {"host": "h"}}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("'database' is required"),
        "{b}"
    );

    // Conflicts and missing resources.
    let (s, b) = srv.post("/api/v1/projects", json!({"name": "bad"})).await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("already exists"));
    assert_eq!(srv.get("/api/v1/projects/nope").await.0, 404);
    assert_eq!(srv.get("/api/v1/instances/nope").await.0, 404);
    assert_eq!(srv.get("/api/v1/nowhere").await.0, 404);
    let (s, _) = srv.get("/api/v1/projects?page_size=0").await;
    assert_eq!(s, 422);

    // Nothing half-way: the failed creations left no rows behind.
    let (_, page) = srv.get(&format!("/api/v1/projects/{pid}/jobs")).await;
    assert_eq!(page["total"], 6, "only the six jobs created above");
    let (_, page) = srv
        .get(&format!("/api/v1/projects/{pid}/datasources"))
        .await;
    assert_eq!(page["total"], 0);
    let (_, page) = srv.get("/api/v1/projects").await;
    assert_eq!(page["total"], 1);
}

/// A run that fails part-way publishes nothing.
/// Without a Flink distribution, a script for Flink is checked for syntax and permissions only,
/// and the answer says so; what the embedded engine refuses is not refused for Flink.
#[tokio::test]
async fn flink_scripts_validate_structurally_without_flink() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let script = "CREATE TABLE g (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id, 3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '5');\nCREATE TABLE o (id BIGINT) WITH ('connector' = 'print');\nINSERT INTO o SELECT id FROM g /*+ OPTIONS('rows-per-second' = '5') */;";
    let (s, r) = srv
        .post(
            "/api/v1/sql/validate",
            json!({"script": script, "engine": "flink"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["validated_by"], "structure", "{r}");
    assert_eq!(r["sinks"], json!(["o"]));
    assert!(
        r["notes"][0].as_str().unwrap().contains("--flink-home"),
        "{r}"
    );
    // The same for the embedded engine: refused, positioned, saying where it runs.
    let (s, e) = srv
        .post("/api/v1/sql/validate", json!({"script": script}))
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("run it on a Flink cluster"),
        "{e}"
    );
    // Syntax errors are still found without Flink.
    let (s, e) = srv
        .post("/api/v1/sql/validate", json!({"script": "CREATE TABLE t (a INT,, b INT) WITH ('connector' = 'x');", "engine": "flink"}))
        .await;
    assert_eq!((s, e["line"].clone()), (422, json!(1)), "{e}");
}

#[tokio::test]
async fn failed_run_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("fail").await;
    let out = tmp.path().join("out");
    let script = format!(
        "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '50000');
CREATE TABLE o (v INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
INSERT INTO o SELECT CAST(CASE WHEN id = 40000 THEN 'oops' ELSE CAST(id AS STRING) END AS INT) FROM g;",
        out.display()
    );
    let jid = srv.job(&pid, "fails", &script).await;
    let (_, inst) = srv.submit(&pid, &jid).await;
    let d = srv.wait_terminal(inst["id"].as_str().unwrap()).await;
    assert_eq!(d["state"], "FAILED", "{d}");
    assert!(d["error"].as_str().unwrap().contains("oops"), "{d}");
    assert!(
        files_under(&out).is_empty(),
        "no partial output: {:?}",
        files_under(&out)
    );
    let staging: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("staging"))
        .collect();
    assert!(staging.is_empty(), "staging directory removed");
}

#[tokio::test]
async fn cancel_stops_a_running_job() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("cancel").await;
    let out = tmp.path().join("out");
    let jid = srv.job(&pid, "slow", &slow_script(&out, 60)).await;
    let (_, inst) = srv.submit(&pid, &jid).await;
    let iid = inst["id"].as_str().unwrap().to_string();
    srv.wait_for(&iid, std::time::Duration::from_secs(10), |d| {
        d["state"] == "RUNNING"
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let t0 = Instant::now();
    let (s, c) = srv
        .post(&format!("/api/v1/instances/{iid}/cancel"), json!({}))
        .await;
    assert_eq!(s, 202, "{c}");
    assert_eq!(c["state"], "CANCELLING");
    let d = srv
        .wait_for(&iid, std::time::Duration::from_secs(10), |d| {
            d["state"] == "CANCELED"
        })
        .await;
    println!("cancel → CANCELED in {:?}", t0.elapsed());
    let states: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "CREATED",
            "INITIALIZING",
            "RUNNING",
            "CANCELLING",
            "CANCELED"
        ]
    );
    assert!(
        files_under(&out).is_empty(),
        "a cancelled job publishes nothing"
    );
    let (s, b) = srv
        .post(&format!("/api/v1/instances/{iid}/cancel"), json!({}))
        .await;
    assert_eq!(s, 409, "cancelling an ended instance: {b}");
}

#[tokio::test]
async fn restart_fails_instances_left_running() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let pid = srv.project("restart").await;
    let jid = srv
        .job(
            &pid,
            "slow",
            // A batch job stages its output beside the target (a streaming one writes hidden
            // in-progress files: see tests/exactly_once.rs).
            &format!(
                "SET 'execution.runtime-mode' = 'batch';\n{}",
                slow_script(&tmp.path().join("out"), 120)
            ),
        )
        .await;
    let (_, inst) = srv.submit(&pid, &jid).await;
    let iid = inst["id"].as_str().unwrap().to_string();
    srv.wait_for(&iid, std::time::Duration::from_secs(10), |d| {
        d["state"] == "RUNNING"
    })
    .await;
    // The sink stages beside its target while it runs.
    let staging = || -> Vec<String> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.contains(".scaleph-staging-"))
            .collect()
    };
    // (Batches of 8,192 rows reach the sink; at 1,000 rows/s the first takes about 8 s.)
    let t0 = std::time::Instant::now();
    while staging().is_empty() && t0.elapsed() < std::time::Duration::from_secs(60) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(staging().len(), 1, "the running job stages its output");
    // SIGKILL: nothing of the process runs after this.
    srv.kill();
    assert_eq!(
        staging().len(),
        1,
        "a killed run leaves its staging directory"
    );

    let srv = Server::start(&data);
    assert_eq!(
        staging(),
        Vec::<String>::new(),
        "the next start removes staging left by the killed run"
    );
    assert!(!tmp.path().join("out").exists(), "nothing was published");
    let (_, d) = srv.get(&format!("/api/v1/instances/{iid}")).await;
    assert_eq!(d["state"], "FAILED", "{d}");
    assert_eq!(d["error"], "platform restarted");
    let last = d["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["state"].clone(), last["reason"].clone()),
        (json!("FAILED"), json!("platform restarted"))
    );
    // The job itself is intact and can run again.
    let (s, _) = srv.get(&format!("/api/v1/projects/{pid}/jobs/{jid}")).await;
    assert_eq!(s, 200);
}

/// The server on a PostgreSQL metadata store, and a PostgreSQL datasource whose connection test
/// logs in to that real server.
#[tokio::test]
async fn postgresql_metadata_and_datasource() {
    let tmp = tempfile::tempdir().unwrap();
    let db = common::fresh_postgres_db().await;
    let srv = Server::start_with(&tmp.path().join("data"), &["--database-url", &db]);
    assert!(
        !tmp.path().join("data/scaleph.db").exists(),
        "no SQLite file when PostgreSQL is configured"
    );
    let pid = srv.project("pg").await;

    let (props, password) = common::postgres_datasource_props();
    let password = password.as_str();
    let (s, ds) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources"),
            json!({"name": "warehouse", "type": "postgresql", "properties": props}),
        )
        .await;
    assert_eq!(s, 201, "{ds}");
    assert!(!ds.to_string().contains(password));
    let (_, t) = srv
        .post(
            &format!(
                "/api/v1/projects/{pid}/datasources/{}/test",
                ds["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(t["ok"], true, "{t}");
    assert!(
        t["message"].as_str().unwrap().starts_with("PostgreSQL"),
        "{t}"
    );

    // Updating without the password keeps it; a wrong password fails the test with the server's reason.
    let dsid = ds["id"].as_str().unwrap();
    let mut p2 = props.clone();
    p2.as_object_mut().unwrap().remove("password");
    let (s, _, _) = srv
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{pid}/datasources/{dsid}"),
            Some(json!({"name": "warehouse", "properties": p2})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, t) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources/{dsid}/test"),
            json!({}),
        )
        .await;
    assert_eq!(t["ok"], true, "password kept: {t}");
    let mut p3 = props.clone();
    p3["password"] = json!("wrong");
    srv.call(
        Method::PUT,
        &format!("/api/v1/projects/{pid}/datasources/{dsid}"),
        Some(json!({"name": "warehouse", "properties": p3})),
    )
    .await;
    let (_, t) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources/{dsid}/test"),
            json!({}),
        )
        .await;
    assert_eq!(t["ok"], false, "{t}");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("password authentication failed"),
        "{t}"
    );

    // A job runs and its record survives a restart on the same database.
    let out = tmp.path().join("out");
    let script = format!("CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10');
CREATE TABLE o (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
INSERT INTO o SELECT id * 10 FROM g WHERE id > 7;", out.display());
    let jid = srv.job(&pid, "gen", &script).await;
    let (_, inst) = srv.submit(&pid, &jid).await;
    let iid = inst["id"].as_str().unwrap().to_string();
    let d = srv.wait_terminal(&iid).await;
    assert_eq!(d["state"], "FINISHED", "{d}");
    assert_eq!(
        csv_rows(&out),
        ["{\"id\":100}", "{\"id\":80}", "{\"id\":90}"]
    );
    srv.kill();
    let srv = Server::start_with(&tmp.path().join("data"), &["--database-url", &db]);
    let (_, d) = srv.get(&format!("/api/v1/instances/{iid}")).await;
    assert_eq!(d["state"], "FINISHED");
}

/// A preview that runs past its time limit answers 408 without holding the server.
#[tokio::test]
async fn preview_times_out() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let script = "SET 'execution.runtime-mode' = 'batch';\nCREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '100000', 'rows-per-second' = '100');\nSELECT COUNT(*) FROM g;";
    // Streaming (the default): the changelog so far, marked truncated.
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": script.replace("SET 'execution.runtime-mode' = 'batch';\n", ""), "timeout_ms": 300}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["truncated"], true, "{b}");
    assert_eq!(b["rows"].as_array().map(Vec::len), Some(1), "{b}");
    let t0 = Instant::now();
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": script, "timeout_ms": 300}),
        )
        .await;
    assert_eq!(s, 408, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("timed out after 300 ms"),
        "{b}"
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": "CREATE TABLE t (a INT) WITH ('connector' = 'blackhole');"}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("preview needs a SELECT"),
        "{b}"
    );
}

/// Datasource passwords are sealed in the metadata store, still usable for connecting, and keep
/// working after `scaleph secrets rotate`.
#[tokio::test]
async fn secrets_are_sealed_at_rest_and_rotate() {
    use sqlx::Connection;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let pid = srv.project("sec").await;
    let (props, password) = common::postgres_datasource_props();
    let password = password.as_str();
    let (s, ds) = srv
        .post(
            &format!("/api/v1/projects/{pid}/datasources"),
            json!({"name": "pg", "type": "postgresql", "properties": props}),
        )
        .await;
    assert_eq!(s, 201, "{ds}");
    let test_path = format!(
        "/api/v1/projects/{pid}/datasources/{}/test",
        ds["id"].as_str().unwrap()
    );

    let stored = || async {
        let url = format!("sqlite://{}?mode=ro", data.join("scaleph.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let v: String = sqlx::query_scalar("SELECT properties FROM datasources")
            .fetch_one(&mut c)
            .await
            .unwrap();
        v
    };
    let before = stored().await;
    assert!(before.contains("\"password\":\"enc:v1:"), "{before}");
    assert!(
        !before.contains(password),
        "plaintext password in the metadata store"
    );
    let (_, t) = srv.post(&test_path, json!({})).await;
    assert_eq!(t["ok"], true, "{t}");
    let key_before = std::fs::read_to_string(data.join("secret.key")).unwrap();
    srv.kill();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scaleph"))
        .args(["secrets", "rotate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("re-sealed 1 datasources"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(data.join("secret.key.old")).unwrap(),
        key_before
    );
    assert_ne!(
        std::fs::read_to_string(data.join("secret.key")).unwrap(),
        key_before
    );
    let after = stored().await;
    assert_ne!(after, before, "re-sealed under the new key");
    assert!(!after.contains(password));

    let srv = Server::start(&data);
    let (_, t) = srv.post(&test_path, json!({})).await;
    assert_eq!(t["ok"], true, "usable after rotation: {t}");
}

/// Every response, success or problem, carries the security headers.
#[tokio::test]
async fn responses_carry_security_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    for path in [
        "/healthz",
        "/api/v1/projects",
        "/api/v1/projects/nope",
        "/api/v1/nowhere",
    ] {
        let r = srv
            .http
            .get(format!("{}{path}", srv.base))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
}

/// Reads a Server-Sent Events answer until its `end` or `error` event: `(name, data)` pairs.
async fn sse_events(resp: reqwest::Response) -> Vec<(String, Value)> {
    let mut resp = resp;
    let mut buf = String::new();
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("stream") {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(cut) = buf.find("\n\n") {
            let block: String = buf.drain(..cut + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if data.is_empty() {
                continue;
            }
            let last = name == "end" || name == "error";
            out.push((name, serde_json::from_str(&data).unwrap()));
            if last {
                return out;
            }
        }
    }
    out
}

#[tokio::test]
async fn live_preview_streams_changelog_rows_as_they_come() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let url = format!("{}/api/v1/sql/preview/stream", srv.base);
    // An unbounded datagen query: rows arrive while it runs; the row limit ends it.
    let t0 = Instant::now();
    let resp = srv
        .http
        .post(&url)
        .json(&json!({
            "script": "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000000', 'rows-per-second' = '20');
SELECT id, id * 2 AS twice FROM g;",
            "limit": 5,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = sse_events(resp).await;
    println!(
        "datagen preview: {} events in {:?}",
        events.len(),
        t0.elapsed()
    );
    assert_eq!(events[0].0, "columns", "{events:?}");
    assert_eq!(events[0].1["columns"][1]["name"], "twice");
    let rows: Vec<&Value> = events
        .iter()
        .filter(|e| e.0 == "rows")
        .flat_map(|e| e.1["rows"].as_array().unwrap())
        .collect();
    assert_eq!(rows.len(), 5, "the row limit: {events:?}");
    assert_eq!(rows[0], &json!([1, 2]));
    assert_eq!(rows[4], &json!([5, 10]));
    // At 20 rows/s (2 per batch) the five rows came in several events, not at the end.
    assert!(
        events.iter().filter(|e| e.0 == "rows").count() >= 2,
        "{events:?}"
    );
    assert_eq!(events.last().unwrap().0, "end");
    assert_eq!(events.last().unwrap().1["truncated"], true);

    // An updating query: the changelog's row kinds, in order.
    let resp = srv
        .http
        .post(&url)
        .json(&json!({
            "script": "SELECT k, COUNT(*) AS n FROM (VALUES ('a'), ('b'), ('a')) AS t(k) GROUP BY k;",
        }))
        .send()
        .await
        .unwrap();
    let events = sse_events(resp).await;
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e.0 == "rows")
        .flat_map(|e| e.1["kinds"].as_array().unwrap())
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["+I", "+I", "-U", "+U"], "{events:?}");
    assert_eq!(events.last().unwrap().1["truncated"], false);

    // An error in the script: an `error` event with its position.
    let resp = srv
        .http
        .post(&url)
        .json(&json!({ "script": "SELECT nope FROM (VALUES (1)) AS t(a);" }))
        .send()
        .await
        .unwrap();
    let events = sse_events(resp).await;
    let (name, problem) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert_eq!(
        (problem["status"].clone(), problem["line"].clone()),
        (json!(422), json!(1))
    );
    // Bad limits are refused before anything runs.
    let (s, _) = srv
        .post(
            "/api/v1/sql/preview/stream",
            json!({ "script": "SELECT 1;", "limit": 0 }),
        )
        .await;
    assert_eq!(s, 422);
}
