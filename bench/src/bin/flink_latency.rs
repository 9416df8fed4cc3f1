//! Flink latency benchmark: submit → RUNNING through the platform versus the Flink CLI
//! (`flink run -d`, the peer, same jar and script, same cluster, in the same run), and
//! failure → platform FAILED lag (the instance's recorded end versus Flink's own job
//! end-time; goal: under 1 s with the default 1 s reconcile interval).
//!
//! Starts its own Flink 2.3 session cluster (`scripts/flink-cluster.sh`) and `scaleph serve`
//! (`--scaleph`, default `target/debug/scaleph`). Run from the repository root:
//! `cargo run -p scaleph-bench --bin flink-latency -- --runs 5`.

use anyhow::{bail, Context};
use base64::Engine as _;
use clap::Parser;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Opts {
    /// Measured submissions per path.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The scaleph binary.
    #[arg(long, default_value = "target/debug/scaleph")]
    scaleph: PathBuf,
    /// Reconcile interval of the platform, ms.
    #[arg(long, default_value_t = 1000)]
    reconcile_ms: u64,
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        m: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {v}");
        }
        Ok(v)
    }
}

async fn flink_state(flink: &str, jid: &str) -> Option<String> {
    let v: Value = reqwest::get(format!("{flink}/jobs/{jid}"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["state"].as_str().map(str::to_string)
}

fn stats(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v[0], v[v.len() / 2], mean)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Opts::parse();
    let work = tempfile::tempdir()?;
    let out = Command::new("scripts/flink-cluster.sh")
        .arg("start")
        .arg(work.path().join("flink"))
        .stderr(Stdio::inherit())
        .output()
        .context("run scripts/flink-cluster.sh from the repository root")?;
    if !out.status.success() {
        bail!("Flink did not start");
    }
    let env: Vec<(String, String)> = String::from_utf8(out.stdout)?
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let get = |k: &str| {
        env.iter()
            .find(|e| e.0 == k)
            .map(|e| e.1.clone())
            .unwrap_or_default()
    };
    let flink = get("SCALEPH_TEST_FLINK_URL");
    let runner = get("SCALEPH_FLINK_SQL_RUNNER");
    let result = run(&o, work.path(), &flink, &runner, &env).await;
    let _ = Command::new("scripts/flink-cluster.sh")
        .arg("stop")
        .arg(work.path().join("flink"))
        .status();
    result
}

async fn run(
    o: &Opts,
    work: &std::path::Path,
    flink: &str,
    runner: &str,
    env: &[(String, String)],
) -> anyhow::Result<()> {
    let data = work.join("data");
    let mut server = Command::new(&o.scaleph)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .args([
            "--flink-sql-runner",
            runner,
            "--reconcile-ms",
            &o.reconcile_ms.to_string(),
        ])
        .env("SCALEPH_ADMIN_PASSWORD", "bench-admin-password")
        .env("SCALEPH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("start {}", o.scaleph.display()))?;
    let mut line = String::new();
    let mut reader = BufReader::new(server.stdout.take().context("stdout")?);
    reader.read_line(&mut line)?;
    std::thread::spawn(move || for _ in reader.lines() {});
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .context("listen line")?
        .to_string();
    let token = String::from_utf8(
        Command::new(&o.scaleph)
            .args([
                "user",
                "token",
                "admin",
                "--scope",
                "read",
                "--scope",
                "write",
                "--scope",
                "operate",
                "--scope",
                "admin",
                "--data-dir",
            ])
            .arg(&data)
            .output()?
            .stdout,
    )?
    .trim()
    .to_string();
    let api = Api {
        base,
        token,
        http: reqwest::Client::new(),
    };
    let r = measure(o, &api, flink, runner, env).await;
    let _ = server.kill();
    r
}

async fn measure(
    o: &Opts,
    api: &Api,
    flink: &str,
    runner: &str,
    env: &[(String, String)],
) -> anyhow::Result<()> {
    use reqwest::Method;
    let c = api
        .call(
            Method::POST,
            "/api/v1/clusters",
            Some(json!({"name": "bench", "rest_url": flink})),
        )
        .await?;
    let cid = c["id"].as_str().context("cluster id")?.to_string();
    let p = api
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(json!({"name": "bench"})),
        )
        .await?;
    let pid = p["id"].as_str().context("project id")?.to_string();
    let long = "CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10');\nCREATE TABLE b (id BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id FROM s;";
    let failing = "SET 'restart-strategy.type' = 'none';\nCREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000', 'rows-per-second' = '1000');\nCREATE TABLE b (x BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id / (id - 1500) FROM s;";
    let mk = |name: &str, script: &str| json!({"name": name, "script": script, "engine": "flink", "cluster_id": cid});
    let j = api
        .call(
            Method::POST,
            &format!("/api/v1/projects/{pid}/jobs"),
            Some(mk("long", long)),
        )
        .await?;
    let jid = j["id"].as_str().context("job")?.to_string();
    let f = api
        .call(
            Method::POST,
            &format!("/api/v1/projects/{pid}/jobs"),
            Some(mk("failing", failing)),
        )
        .await?;
    let fjid = f["id"].as_str().context("job")?.to_string();
    // Warm-up: uploads the runner once.
    let w = api
        .call(
            Method::POST,
            &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
            Some(json!({})),
        )
        .await?;
    let wid = w["id"].as_str().unwrap_or_default().to_string();
    wait(api, &wid, "RUNNING").await?;
    api.call(
        Method::POST,
        &format!("/api/v1/instances/{wid}/cancel"),
        Some(json!({})),
    )
    .await?;

    let mut platform = Vec::new();
    let mut cli = Vec::new();
    let mut lag = Vec::new();
    let flink_bin = env
        .iter()
        .find(|e| e.0 == "FLINK_HOME")
        .map(|e| format!("{}/bin/flink", e.1))
        .unwrap_or_default();
    for _ in 0..o.runs {
        // Platform: POST submit → the platform reports RUNNING.
        let t0 = Instant::now();
        let i = api
            .call(
                Method::POST,
                &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
                Some(json!({})),
            )
            .await?;
        let iid = i["id"].as_str().unwrap_or_default().to_string();
        wait(api, &iid, "RUNNING").await?;
        platform.push(t0.elapsed().as_secs_f64() * 1000.0);
        api.call(
            Method::POST,
            &format!("/api/v1/instances/{iid}/cancel"),
            Some(json!({})),
        )
        .await?;
        wait(api, &iid, "CANCELED").await?;

        // Peer: the Flink CLI submits the same jar and script, detached; Flink reports RUNNING.
        let t0 = Instant::now();
        let mut cmd = Command::new(&flink_bin);
        cmd.args([
            "run",
            "-d",
            "-c",
            "io.scaleph.runner.SqlRunner",
            runner,
            "--script-base64",
        ])
        .arg(base64::engine::general_purpose::STANDARD.encode(long));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let fid = text
            .split_whitespace()
            .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .with_context(|| {
                format!(
                    "no job id in flink run output: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })?
            .to_string();
        while flink_state(flink, &fid).await.as_deref() != Some("RUNNING") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cli.push(t0.elapsed().as_secs_f64() * 1000.0);
        let _ = reqwest::Client::new()
            .patch(format!("{flink}/jobs/{fid}?mode=cancel"))
            .send()
            .await;

        // Failure: Flink's end-time of the failed job versus the platform's FAILED time.
        let i = api
            .call(
                Method::POST,
                &format!("/api/v1/projects/{pid}/jobs/{fjid}/submit"),
                Some(json!({})),
            )
            .await?;
        let iid = i["id"].as_str().unwrap_or_default().to_string();
        let d = wait(api, &iid, "FAILED").await?;
        let fj: Value = reqwest::get(format!("{flink}/jobs/{}", iid.replace('-', "")))
            .await?
            .json()
            .await?;
        let flink_end = fj["end-time"].as_i64().context("end-time")?;
        let platform_end = d["ended_at"].as_i64().context("ended_at")?;
        lag.push((platform_end - flink_end) as f64);
    }
    let (pmin, pmed, pmean) = stats(&platform);
    let (cmin, cmed, cmean) = stats(&cli);
    let (lmin, lmed, lmean) = stats(&lag);
    println!(
        "Flink 2.3 session cluster on loopback, {} runs, reconcile interval {} ms",
        o.runs, o.reconcile_ms
    );
    println!("{:<44} {:>9} {:>9} {:>9}", "", "min ms", "median", "mean");
    println!(
        "{:<44} {:>9.0} {:>9.0} {:>9.0}",
        "submit → RUNNING, platform (REST submit)", pmin, pmed, pmean
    );
    println!(
        "{:<44} {:>9.0} {:>9.0} {:>9.0}",
        "submit → RUNNING, peer (flink run -d)", cmin, cmed, cmean
    );
    println!("ratio platform / flink CLI (median): {:.2}", pmed / cmed);
    println!(
        "{:<44} {:>9.0} {:>9.0} {:>9.0}",
        "Flink job end → platform FAILED", lmin, lmed, lmean
    );
    Ok(())
}

async fn wait(api: &Api, iid: &str, state: &str) -> anyhow::Result<Value> {
    let t0 = Instant::now();
    loop {
        let d = api
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/instances/{iid}"),
                None,
            )
            .await?;
        if d["state"] == state {
            return Ok(d);
        }
        if d["state"]
            .as_str()
            .is_some_and(|s| ["FAILED", "CANCELED", "FINISHED", "LOST"].contains(&s))
            && d["state"] != state
        {
            bail!(
                "instance ended {} while waiting for {state}: {d}",
                d["state"]
            );
        }
        if t0.elapsed() > Duration::from_secs(120) {
            bail!("timeout waiting for {state}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
