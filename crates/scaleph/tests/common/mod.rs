//! Test harness: a real `scaleph serve` process on loopback and a small HTTP client.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Password of the `admin` user the server creates on first start (via
/// `SCALEPH_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// The server's stderr (its log), appended across restarts on the same data dir.
    pub log: PathBuf,
    /// Client that sends the admin's token (issued by `scaleph user token`).
    pub http: reqwest::Client,
    /// The admin's personal access token (all scopes).
    pub token: String,
    /// `--database-url …` when given, for CLI calls against the same store.
    store_args: Vec<String>,
}

impl Server {
    /// Starts `scaleph serve` on a free loopback port with `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// Starts `scaleph serve` with extra arguments (e.g. `--database-url`).
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_env(data_dir, extra, &[("SCALEPH_LOG", "warn")])
    }

    /// Starts `scaleph serve` with the default allowed path (`<data-dir>/files`).
    pub fn start_default_paths(data_dir: &Path) -> Server {
        Self::start_env(
            data_dir,
            &["--allowed-path", ""],
            &[("SCALEPH_LOG", "warn")],
        )
    }

    /// Starts `scaleph serve` with extra arguments and environment; stderr goes to `log`.
    /// Unless `extra` sets `--allowed-path`, the data dir's parent (the test's scratch
    /// directory, where tests put their input and output files) is the allowed path; unless it
    /// sets `--allowed-host`, `127.0.0.1` (the local PostgreSQL) is the allowed host. An empty
    /// value (`--allowed-path ""`) keeps the server's default.
    pub fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        std::fs::create_dir_all(data_dir).unwrap();
        let scratch = data_dir
            .parent()
            .expect("data dir has a parent")
            .to_path_buf();
        let mut extra: Vec<&str> = extra.to_vec();
        for (flag, default) in [
            ("--allowed-path", scratch.to_str().expect("utf-8 path")),
            ("--allowed-host", "127.0.0.1"),
        ] {
            match extra.iter().position(|a| *a == flag) {
                Some(i) if extra.get(i + 1) == Some(&"") => {
                    extra.drain(i..i + 2);
                }
                Some(_) => {}
                None => extra.extend([flag, default]),
            }
        }
        let extra = &extra[..];
        let log = data_dir.join("server.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scaleph"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("SCALEPH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("SCALEPH_TOKEN")
            .stdout(Stdio::piped())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start scaleph serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read listen line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let store_args: Vec<String> = extra
            .windows(2)
            .filter(|w| w[0] == "--database-url")
            .flat_map(|w| [w[0].to_string(), w[1].to_string()])
            .collect();
        let mut srv = Server {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            log,
            http: reqwest::Client::new(),
            token: String::new(),
            store_args,
        };
        srv.token = srv.issue_token("admin", &["read", "write", "operate", "admin"]);
        srv.http = client_with(&srv.token);
        srv
    }

    /// Issues a token for `user` with `scopes` through `scaleph user token` (the store, not
    /// the API).
    pub fn issue_token(&self, user: &str, scopes: &[&str]) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scaleph"));
        cmd.args(["user", "token", user, "--name", "test", "--data-dir"])
            .arg(&self.data_dir)
            .args(&self.store_args);
        for s in scopes {
            cmd.args(["--scope", s]);
        }
        let out = cmd.output().expect("run scaleph user token");
        assert!(
            out.status.success(),
            "scaleph user token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Every server of every test checks, when it stops, that its whole log holds none of the
    /// secrets the tests use: the datasource password (the test PostgreSQL's), the admin
    /// password, the admin token.
    fn assert_log_holds_no_secret(&self) {
        let log = self.log_text();
        let mut secrets = vec![ADMIN_PASSWORD.to_string(), self.token.clone()];
        if std::env::var("SCALEPH_TEST_POSTGRES_URL").is_ok() {
            secrets.push(postgres_datasource_props().1);
        }
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(
                !log.contains(s.as_str()),
                "the server log {} contains a secret",
                self.log.display()
            );
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Calls with `token` (`None`: no credentials).
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new().request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Kills the process without letting it clean up (SIGKILL).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, String) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v, ctype)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, v, _) = self.call(reqwest::Method::GET, path, None).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.call(reqwest::Method::POST, path, Some(body)).await;
        (s, v)
    }

    /// Creates a project and returns its id.
    pub async fn project(&self, name: &str) -> String {
        let (s, p) = self.post("/api/v1/projects", json!({ "name": name })).await;
        assert_eq!(s, 201, "{p}");
        p["id"].as_str().unwrap().to_string()
    }

    /// Creates a job and returns its id.
    pub async fn job(&self, pid: &str, name: &str, script: &str) -> String {
        let (s, j) = self
            .post(
                &format!("/api/v1/projects/{pid}/jobs"),
                json!({ "name": name, "script": script }),
            )
            .await;
        assert_eq!(s, 201, "{j}");
        j["id"].as_str().unwrap().to_string()
    }

    /// Submits a job; returns (status, body).
    pub async fn submit(&self, pid: &str, jid: &str) -> (u16, Value) {
        self.post(
            &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
            json!({}),
        )
        .await
    }

    /// Polls an instance until `pred` holds or `limit` passes; returns its detail.
    pub async fn wait_for(
        &self,
        iid: &str,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let t0 = Instant::now();
        loop {
            let (_, d) = self.get(&format!("/api/v1/instances/{iid}")).await;
            if pred(&d) {
                return d;
            }
            assert!(
                t0.elapsed() < limit,
                "instance did not reach the expected state in {limit:?}: {d}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_terminal(&self, iid: &str) -> Value {
        self.wait_for(iid, Duration::from_secs(300), |d| {
            matches!(
                d["state"].as_str(),
                Some("FINISHED" | "FAILED" | "CANCELED")
            )
        })
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            self.assert_log_holds_no_secret();
        } else {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- server log tail ({}) ---", self.log.display());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A client whose every request carries `Authorization: Bearer <token>`.
pub fn client_with(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// Files (not directories) under `dir`, recursively; hidden names excluded.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A datagen → sink script that runs for about `seconds` (1000 rows per second).
pub fn slow_script(sink_path: &Path, seconds: u64) -> String {
    format!(
        "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{}', 'rows-per-second' = '1000');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
INSERT INTO snk SELECT id FROM src;",
        seconds * 1000,
        sink_path.display()
    )
}

/// Admin URL of the test PostgreSQL server (`scripts/test.sh` starts it).
pub fn postgres_admin_url() -> String {
    std::env::var("SCALEPH_TEST_POSTGRES_URL").expect("SCALEPH_TEST_POSTGRES_URL must point at a PostgreSQL server; run the tests with scripts/test.sh")
}

/// Creates a fresh database on the test server; returns its URL.
pub async fn fresh_postgres_db() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let name = format!("scaleph_it_{}", std::process::id())
        + &format!(
            "_{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Datasource properties that log in to the test PostgreSQL server, and its password.
pub fn postgres_datasource_props() -> (serde_json::Value, String) {
    let admin = postgres_admin_url();
    let rest = admin.strip_prefix("postgres://").expect("postgres:// URL");
    let (cred, hostdb) = rest.split_once('@').expect("credentials in URL");
    let (user, password) = cred.split_once(':').expect("user:password");
    let (hostport, database) = hostdb.split_once('/').expect("database in URL");
    let (host, port) = hostport.split_once(':').expect("host:port");
    (
        json!({"host": host, "port": port, "database": database, "username": user, "password": password}),
        password.to_string(),
    )
}

/// The secret the alert receivers check webhook and robot signatures with.
pub const RECEIVER_SECRET: &str = "whsec-test-7f3a";

/// The alert receivers of `tests/alerts/receivers.py` (HTTP webhook and robot endpoints that
/// check signatures with Python's `hmac`, and an aiosmtpd SMTP server); killed on drop.
pub struct Receivers {
    child: Child,
    /// HTTP port.
    pub http: u16,
    /// SMTP port.
    pub smtp: u16,
    record: PathBuf,
}

impl Drop for Receivers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_python() -> PathBuf {
    let home = std::env::var("HOME").expect("HOME");
    Path::new(&home).join(".cache/scaleph-venv/bin/python")
}

impl Receivers {
    /// Starts them; what they receive is recorded under `dir`.
    pub fn start(dir: &Path) -> Receivers {
        let record = dir.join("received.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alerts/receivers.py");
        let mut child = Command::new(venv_python())
            .arg(script)
            .arg(&record)
            .arg(RECEIVER_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python with aiosmtpd (scripts/setup-test-deps.sh installs it)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Value = serde_json::from_str(&line).expect("receiver ports");
        Receivers {
            child,
            http: ports["http"].as_u64().unwrap() as u16,
            smtp: ports["smtp"].as_u64().unwrap() as u16,
            record,
        }
    }

    /// Everything received so far, one JSON object each.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }
}
