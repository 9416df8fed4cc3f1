//! Hostile input against a real server: file access outside the allowed paths, requests that
//! used to crash or starve the process, and resource limits.

mod common;

use common::Server;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;

/// A user with no project and a token with every scope but `admin` — the attacker of the
/// hardening report.
async fn outsider(srv: &Server) -> String {
    let (s, b) = srv
        .post(
            "/api/v1/users",
            json!({"username": "mallory", "password": "mallory-password-1"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    srv.issue_token("mallory", &["read", "write", "operate"])
}

/// `POST /api/v1/sql/{endpoint}` with `script`, as the holder of `token`.
async fn sql_as(srv: &Server, token: &str, endpoint: &str, script: String) -> (u16, Value) {
    srv.call_as(
        Some(token),
        Method::POST,
        &format!("/api/v1/sql/{endpoint}"),
        Some(json!({ "script": script })),
    )
    .await
}

/// `POST /api/v1/sql/preview` with `script`, as the admin.
async fn preview(srv: &Server, script: String) -> (u16, Value) {
    srv.post("/api/v1/sql/preview", json!({ "script": script }))
        .await
}

fn table(name: &str, path: &Path) -> String {
    format!(
        "CREATE TABLE {name} (line STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'csv.field-delimiter' = '|');",
        path.display()
    )
}

/// Asserts a 422 problem whose detail names `needle` (the path) and the rule, at a position.
fn refused(status: u16, body: &Value, needle: &str, rule: &str) {
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(needle), "detail names {needle}: {body}");
    assert!(
        detail.contains(rule),
        "detail names the rule '{rule}': {body}"
    );
    assert!(body["line"].as_u64().is_some(), "positioned: {body}");
}

#[tokio::test]
async fn sql_and_datasources_reach_only_allowed_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("allowed");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(root.join("in")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("in/a.csv"), "hello\nworld\n").unwrap();
    std::fs::write(outside.join("secret.csv"), "top secret\n").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start_with(&data, &["--allowed-path", root.to_str().unwrap()]);
    let mallory = outsider(&srv).await;
    let preview = |script: String| sql_as(&srv, &mallory, "preview", script);

    // Allowed: a file under the root, by absolute and by relative path.
    for p in [root.join("in/a.csv"), "in/a.csv".into()] {
        let (s, b) = preview(format!("{}\nSELECT line FROM t;", table("t", &p))).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["rows"], json!([["hello"], ["world"]]));
    }

    let key = data.join("secret.key");
    assert!(key.exists(), "the server created its key");
    let attacks = [
        (key.clone(), "keeps for its own files"),
        (data.join("scaleph.db"), "keeps for its own files"),
        ("/etc/passwd".into(), "outside the allowed paths"),
        ("../data/secret.key".into(), "keeps for its own files"),
        (root.join("link/secret.csv"), "outside the allowed paths"),
        (
            root.join("in/../../outside/secret.csv"),
            "outside the allowed paths",
        ),
    ];
    for (p, rule) in &attacks {
        let script = format!("{}\nSELECT line FROM t;", table("t", p));
        let (s, b) = preview(script.clone()).await;
        refused(s, &b, &p.display().to_string(), rule);
        assert!(!b.to_string().contains("top secret"), "{b}");
        let (s, b) = sql_as(&srv, &mallory, "validate", script).await;
        refused(s, &b, &p.display().to_string(), rule);
    }

    // A sink outside the roots: refused at submit, no instance, nothing written.
    let admin_pid = srv.project("files").await;
    let escape = outside.join("written");
    let script = format!(
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '5');\n{}\nINSERT INTO t SELECT CAST(id AS STRING) FROM src;",
        table("t", &escape)
    );
    let jid = srv.job(&admin_pid, "escape", &script).await;
    let (s, b) = srv.submit(&admin_pid, &jid).await;
    refused(
        s,
        &b,
        &escape.display().to_string(),
        "outside the allowed paths",
    );
    let (_, list) = srv
        .get(&format!(
            "/api/v1/projects/{admin_pid}/jobs/{jid}/instances"
        ))
        .await;
    assert_eq!(list["total"], 0, "no instance: {list}");
    assert!(!escape.exists());
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing staged beside the refused sink"
    );
    // The same on a Flink cluster: checked before anything is sent to it (this cluster's
    // port is closed; the refusal comes first).
    let (s, c) = srv
        .post(
            "/api/v1/clusters",
            json!({"name": "closed", "rest_url": "http://127.0.0.1:1"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (s, j) = srv
        .post(
            &format!("/api/v1/projects/{admin_pid}/jobs"),
            json!({"name": "escape-flink", "engine": "flink", "cluster_id": c["id"], "script": script}),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    let (s, b) = srv.submit(&admin_pid, j["id"].as_str().unwrap()).await;
    refused(
        s,
        &b,
        &escape.display().to_string(),
        "outside the allowed paths",
    );
    // The root itself cannot be a sink (it would be replaced).
    let script = format!(
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '5');\n{}\nINSERT INTO t SELECT CAST(id AS STRING) FROM src;",
        table("t", &root)
    );
    let (s, b) = srv
        .post("/api/v1/sql/validate", json!({ "script": script }))
        .await;
    refused(
        s,
        &b,
        &root.display().to_string(),
        "a sink must write to a directory inside it",
    );

    // Filesystem datasources: paths must lie inside the roots.
    for p in ["/etc", "../../../../../../etc", "../data"] {
        let (s, b) = srv
            .post(
                &format!("/api/v1/projects/{admin_pid}/datasources"),
                json!({"name": "ds", "type": "filesystem", "properties": {"path": p}}),
            )
            .await;
        assert_eq!(s, 422, "{p}: {b}");
        assert!(b["detail"].as_str().unwrap().contains("path"), "{p}: {b}");
    }
    let (s, b) = srv
        .post(
            &format!("/api/v1/projects/{admin_pid}/datasources"),
            json!({"name": "ok", "type": "filesystem", "properties": {"path": "in"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let dsid = b["id"].as_str().unwrap();
    let (s, b) = srv
        .get(&format!(
            "/api/v1/projects/{admin_pid}/datasources/{dsid}/tables"
        ))
        .await;
    assert_eq!((s, b.clone()), (200, json!(["a.csv"])), "{b}");
}

/// The default allowed path is `<data-dir>/files`; the data dir's other files are not.
#[tokio::test]
async fn default_allowed_path_is_the_data_dirs_files() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start_default_paths(&data);
    std::fs::write(data.join("files/x.csv"), "ok\n").unwrap();
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": format!("{}\nSELECT line FROM t;", table("t", Path::new("x.csv")))}),
        )
        .await;
    assert_eq!((s, b["rows"].clone()), (200, json!([["ok"]])), "{b}");
    for p in [data.join("scaleph.db"), tmp.path().join("elsewhere.csv")] {
        let (s, b) = srv
            .post(
                "/api/v1/sql/preview",
                json!({"script": format!("{}\nSELECT line FROM t;", table("t", &p))}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
    }
}

fn chain(op: &str, n: usize) -> String {
    let mut s = String::with_capacity(n * (op.len() + 1));
    s.push('1');
    for _ in 1..n {
        s.push_str(op);
        s.push('1');
    }
    s
}

/// Deep and long expressions, nested queries and pathological scripts answer 422 with a
/// position or succeed; the server stays up (it used to abort at 800 terms).
/// Hosts are a permission: database datasources and Flink jobs' connector options may name
/// only endpoints an admin allows (`--allowed-host`); none by default.
#[tokio::test]
async fn datasources_and_flink_jobs_reach_only_allowed_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (pg, _) = common::postgres_datasource_props();
    let pg_port = pg["port"].as_str().unwrap().to_string();
    let rule = format!("127.0.0.1:{pg_port}");
    let srv = Server::start_with(
        &data,
        &[
            "--allowed-host",
            &rule,
            "--allowed-host",
            "*.db.internal:5432",
        ],
    );
    let pid = srv.project("hosts").await;
    let ds = format!("/api/v1/projects/{pid}/datasources");
    let n = std::sync::atomic::AtomicUsize::new(0);
    let with = |host: &str, port: &str| {
        let mut p = pg.clone();
        p["host"] = json!(host);
        p["port"] = json!(port);
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        json!({"name": format!("ds-{i}"), "type": "postgresql", "properties": p})
    };
    // Refused at create: other addresses, names for an allowed address, metadata endpoints,
    // other ports, odd spellings of loopback.
    for (host, port) in [
        ("10.0.0.5", pg_port.as_str()),
        ("localhost", pg_port.as_str()),
        ("169.254.169.254", "80"),
        ("127.0.0.1", "22"),
        ("2130706433", pg_port.as_str()),
        ("127.1", pg_port.as_str()),
        ("x.db.internal", "5433"),
        ("db.internal", "5432"),
        ("a/b@c", "5432"),
    ] {
        let (s, b) = srv.post(&ds, with(host, port)).await;
        assert_eq!(s, 422, "{host}:{port}: {b}");
        let detail = b["detail"].as_str().unwrap();
        assert!(
            detail.contains("property 'host'") && detail.contains(host),
            "{b}"
        );
    }
    // Allowed: the rule's address and port (and it really connects), a suffix rule's name.
    let (s, ok) = srv.post(&ds, with("127.0.0.1", &pg_port)).await;
    assert_eq!(s, 201, "{ok}");
    let okid = ok["id"].as_str().unwrap().to_string();
    let (s, t) = srv.post(&format!("{ds}/{okid}/test"), json!({})).await;
    assert_eq!((s, t["ok"].clone()), (200, json!(true)), "{t}");
    let (s, b) = srv.post(&ds, with("pg.db.internal", "5432")).await;
    assert_eq!(s, 201, "{b}");
    // Moving an allowed datasource elsewhere is refused the same way.
    let mut moved = pg.clone();
    moved["host"] = json!("10.9.9.9");
    let (s, b, _) = srv
        .call(
            Method::PUT,
            &format!("{ds}/{okid}"),
            Some(json!({"name": "moved", "properties": moved})),
        )
        .await;
    assert_eq!(s, 422, "{b}");

    // A Flink job's connector options: checked before anything reaches the cluster (whose
    // port is closed; the refusal comes first), positioned at the option.
    let (s, c) = srv
        .post(
            "/api/v1/clusters",
            json!({"name": "closed", "rest_url": "http://127.0.0.1:1"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    for (opt, line) in [
        ("'url' = 'jdbc:mysql://10.0.0.7:3306/shop'", 2),
        (
            "'properties.bootstrap.servers' = 'broker.db.internal:5432,evil.example:9092'",
            2,
        ),
        ("'hostname' = '169.254.169.254', 'port' = '80'", 2),
        ("'path' = 'hdfs://namenode:8020/warehouse'", 2),
    ] {
        let script = format!(
            "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen');\nCREATE TABLE snk (id BIGINT) WITH ('connector' = 'x', {opt});\nINSERT INTO snk SELECT id FROM src;"
        );
        let (s, j) = srv
            .post(
                &format!("/api/v1/projects/{pid}/jobs"),
                json!({"name": format!("j{line}-{}", opt.len() + opt.find('=').unwrap_or(0)), "engine": "flink", "cluster_id": c["id"], "script": script}),
            )
            .await;
        assert_eq!(s, 201, "{j}");
        let (s, b) = srv.submit(&pid, j["id"].as_str().unwrap()).await;
        assert_eq!(s, 422, "{opt}: {b}");
        let detail = b["detail"].as_str().unwrap();
        assert!(detail.contains("is not allowed"), "{opt}: {b}");
        assert_eq!(b["line"], json!(line), "{b}");
    }
    drop(srv);

    // Restarted with no allowed hosts: stored datasources are refused (403) before connecting.
    let srv = Server::start_with(&data, &["--allowed-host", ""]);
    for what in ["test", "tables"] {
        let (m, body) = match what {
            "test" => (Method::POST, Some(json!({}))),
            _ => (Method::GET, None),
        };
        let (s, b, _) = srv.call(m, &format!("{ds}/{okid}/{what}"), body).await;
        assert_eq!(s, 403, "{what}: {b}");
        assert!(
            b["detail"].as_str().unwrap().contains("allows no hosts"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn pathological_scripts_never_crash_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let reader = srv.issue_token("admin", &["read"]);
    let validate = |script: String| sql_as(&srv, &reader, "validate", script);
    // 100,000 terms: refused with a position, for every operator shape.
    // (80,000 for AND, to stay under the 512 KiB script limit.)
    for (op, n) in [
        ("+", 100_000),
        ("*", 100_000),
        ("||", 100_000),
        (" AND ", 80_000),
    ] {
        let (s, b) = validate(format!("SELECT {};", chain(op, n))).await;
        assert_eq!(s, 422, "{op}: {b}");
        assert_eq!(
            (b["line"].clone(), b["column"].clone()),
            (json!(1), json!(1))
        );
        assert!(b["detail"].as_str().unwrap().contains("levels deep"), "{b}");
    }
    // 1,000 terms are fine, and right.
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": format!("SELECT {} AS n;", chain("+", 1000))}),
        )
        .await;
    assert_eq!((s, b["rows"].clone()), (200, json!([[1000]])), "{b}");
    // Nesting: parentheses, unary minus, subqueries, CASE.
    let deep_parens = format!("SELECT {}1{};", "(".repeat(10_000), ")".repeat(10_000));
    let deep_neg = format!("SELECT {}1;", "- ".repeat(10_000));
    let deep_sub = format!(
        "SELECT * FROM {}(SELECT 1 AS x){};",
        "(SELECT * FROM ".repeat(5_000),
        ") AS q".repeat(5_000)
    );
    let deep_case = format!(
        "SELECT {}1{};",
        "CASE WHEN 1 = 1 THEN ".repeat(5_000),
        " END".repeat(5_000)
    );
    for script in [deep_parens, deep_neg, deep_sub, deep_case] {
        let (s, b) = validate(script).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["line"].as_u64().is_some(), "positioned: {b}");
    }
    // Long but flat: a 20,000-branch CASE and a 50,000-item IN list succeed.
    let mut case = String::from("SELECT CASE");
    for i in 0..20_000 {
        case.push_str(&format!(" WHEN {i} = 7 THEN {i}"));
    }
    case.push_str(" END AS c;");
    let (s, b) = srv
        .post("/api/v1/sql/preview", json!({ "script": case }))
        .await;
    assert_eq!((s, b["rows"].clone()), (200, json!([[7]])), "{b}");
    let list: Vec<String> = (0..50_000).map(|i| i.to_string()).collect();
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": format!("SELECT 49999 IN ({}) AS hit;", list.join(","))}),
        )
        .await;
    assert_eq!((s, b["rows"].clone()), (200, json!([[true]])), "{b}");
    // A chain of 300 views, each over the one before.
    let mut views = String::from("CREATE VIEW v0 AS SELECT 0 AS n;\n");
    for i in 1..300 {
        views.push_str(&format!(
            "CREATE VIEW v{i} AS SELECT n + 1 AS n FROM v{};\n",
            i - 1
        ));
    }
    views.push_str("SELECT n FROM v299;");
    let (s, b) = srv
        .post("/api/v1/sql/preview", json!({ "script": views }))
        .await;
    assert_eq!((s, b["rows"].clone()), (200, json!([[299]])), "{b}");
    // Still alive and answering.
    let (s, _) = srv.get("/healthz").await;
    assert_eq!(s, 200);
}

/// Parallelism, script size and concurrent runs are bounded by server settings.
#[tokio::test]
async fn resource_limits_answer_422_or_429() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start_with(
        &tmp.path().join("data"),
        &[
            "--max-parallelism",
            "8",
            "--max-script-bytes",
            "4096",
            "--max-running-jobs-per-project",
            "1",
            "--query-memory-mb",
            "64",
        ],
    );
    let src =
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');";
    // Functions whose output grows with an argument are bounded by the query memory limit
    // before they allocate (these used to take gigabytes, or abort the process).
    let seq = "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10');";
    for q in [
        "SELECT REPEAT('x', 2000000000)",
        "SELECT CHAR_LENGTH(REPEAT('abc', CAST(id AS INT) * 10000000)) FROM src",
        "SELECT LPAD('x', 2000000000, 'y')",
        "SELECT RPAD(CAST(id AS STRING), CAST(id AS INT) * 100000000) FROM src",
        "SELECT CARDINALITY(ARRAY_REPEAT(1, 2000000000))",
        "SELECT CARDINALITY(RANGE(0, 10000000000))",
        "SELECT CARDINALITY(GENERATE_SERIES(id, 9000000000000000000)) FROM src",
    ] {
        let (s, b) = preview(&srv, format!("{seq}\n{q};")).await;
        assert_eq!(s, 422, "{q}: {b}");
        assert!(
            b["detail"].as_str().unwrap().contains("--query-memory-mb"),
            "{q}: {b}"
        );
    }
    // Within the limit they work.
    let (s, b) = preview(&srv, format!("{seq}\nSELECT CHAR_LENGTH(REPEAT('ab', 1000000)), CARDINALITY(RANGE(0, 1000)), LPAD('x', 3, 'y') FROM src WHERE id = 1;")).await;
    assert_eq!(
        (s, b["rows"].clone()),
        (200, json!([[2000000, 1000, "yyx"]])),
        "{b}"
    );
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": format!("SET 'parallelism.default' = '4294458';\n{src}\nSELECT id FROM src;")}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(
        (b["line"].clone(), b["column"].clone()),
        (json!(1), json!(1)),
        "{b}"
    );
    assert!(
        b["detail"].as_str().unwrap().contains("--max-parallelism"),
        "{b}"
    );
    let (s, b) = srv
        .post(
            "/api/v1/sql/preview",
            json!({"script": format!("SET 'parallelism.default' = '8';\n{src}\nSELECT id FROM src;")}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Job settings, at creation and by PATCH.
    let pid = srv.project("limits").await;
    let (s, b) = srv
        .post(
            &format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": "big", "script": format!("{src}\nSELECT id FROM src;"), "settings": {"parallelism": 4294458}}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let jid = srv
        .job(
            &pid,
            "slow",
            &common::slow_script(&tmp.path().join("out"), 60),
        )
        .await;
    let (s, b, _) = srv
        .call(
            Method::PATCH,
            &format!("/api/v1/projects/{pid}/jobs/{jid}"),
            Some(json!({"settings": {"parallelism": 9}})),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    // Script size.
    let (s, b) = srv
        .post(
            "/api/v1/sql/validate",
            json!({"script": format!("SELECT '{}';", "x".repeat(5000))}),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("--max-script-bytes"),
        "{b}"
    );
    // One run per project: the second submit is refused while the first runs.
    let (s, first) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{first}");
    let (s, b) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 429, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .contains("--max-running-jobs-per-project"),
        "{b}"
    );
    let iid = first["id"].as_str().unwrap();
    let (s, _) = srv
        .post(&format!("/api/v1/instances/{iid}/cancel"), json!({}))
        .await;
    assert_eq!(s, 202);
    srv.wait_terminal(iid).await;
    // The slot is free again.
    let (s, b) = srv.submit(&pid, &jid).await;
    assert_eq!(s, 202, "{b}");
}

/// `/healthz` and the API answer while CPU-bound jobs keep every core busy: jobs do not run on
/// the threads that serve requests. The jobs are still RUNNING after the answers came.
#[tokio::test]
async fn api_answers_while_heavy_jobs_run() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("heavy").await;
    // CPU-bound for minutes: a cross join of 100,000 × 100,000 rows, aggregated.
    let script = "CREATE TABLE a (x BIGINT) WITH ('connector' = 'datagen', 'fields.x.kind' = 'sequence', 'fields.x.start' = '1', 'fields.x.end' = '100000');
CREATE TABLE b (y BIGINT) WITH ('connector' = 'datagen', 'fields.y.kind' = 'sequence', 'fields.y.start' = '1', 'fields.y.end' = '100000');
CREATE TABLE s (n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO s SELECT SUM(x * y) FROM a, b;";
    let mut ids = Vec::new();
    for i in 0..2 {
        let jid = srv.job(&pid, &format!("heavy{i}"), script).await;
        let (s, b) = srv.submit(&pid, &jid).await;
        assert_eq!(s, 202, "{b}");
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    for iid in &ids {
        srv.wait_for(iid, std::time::Duration::from_secs(30), |d| {
            d["state"] == "RUNNING"
        })
        .await;
    }
    for _ in 0..5 {
        let (s, _) = srv.get("/healthz").await;
        assert_eq!(s, 200);
        let (s, _) = srv.get(&format!("/api/v1/projects/{pid}/jobs")).await;
        assert_eq!(s, 200);
    }
    // The jobs were still running when the API answered.
    for iid in &ids {
        let (_, d) = srv.get(&format!("/api/v1/instances/{iid}")).await;
        assert_eq!(d["state"], "RUNNING", "{d}");
    }
    for iid in &ids {
        let _ = srv
            .post(&format!("/api/v1/instances/{iid}/cancel"), json!({}))
            .await;
    }
}
