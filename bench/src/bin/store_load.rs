//! Metadata store under load: a read-heavy mix at a fixed rate (open loop) plus concurrent
//! writers against a real `scaleph serve` with 10,000 jobs in its store; p50/p99 per endpoint.
//!
//! Runs the server once per `--read-connections` value on a fresh data dir (SQLite) or a fresh
//! database (`--postgres`, a server URL whose user may create databases): `8` is the default
//! setting (SQLite in WAL mode, 8 readers beside one writer), `0` the setting before it (one
//! connection for everything, rollback journal) — the peer the figures are compared with.
//! Seeding goes through the store (`scaleph_meta`) before the server starts; the load goes
//! through the HTTP API on loopback with a personal access token. Run from the repository root:
//! `cargo run -p scaleph-bench --bin store-load` (builds `target/debug/scaleph` first:
//! `cargo build -p scaleph`).

use anyhow::{bail, Context};
use clap::Parser;
use scaleph_auth::{secret, PlatformRole, ScopeSet};
use scaleph_engine::{EngineKind, JobSettings, JobState};
use scaleph_meta::{NewJob, NewUser, Store};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Opts {
    /// The scaleph binary.
    #[arg(long, default_value = "target/debug/scaleph")]
    scaleph: PathBuf,
    /// Jobs seeded in the store (spread over `--projects` projects).
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Projects seeded.
    #[arg(long, default_value_t = 10)]
    projects: usize,
    /// Every n-th seeded job gets two finished instances.
    #[arg(long, default_value_t = 5)]
    instances_every: usize,
    /// Read requests per second (open loop: sent on schedule whatever the answers take).
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Concurrent writers, each looping create job → submit → save version (closed loop).
    #[arg(long, default_value_t = 20)]
    writers: usize,
    /// Measured duration, seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Server settings to compare (`--db-read-connections`), one run each.
    #[arg(long, value_delimiter = ',', default_value = "8,0")]
    read_connections: Vec<u32>,
    /// PostgreSQL server URL (`postgres://user:pw@127.0.0.1:5432/postgres`); each run creates a
    /// fresh database there. Default: SQLite under a fresh data dir.
    #[arg(long)]
    postgres: Option<String>,
}

const PASSWORD: &str = "bench-admin-password";
const SCRIPT: &str = "CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '100');\nCREATE TABLE b (id BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id FROM s;";

/// What the seeding left in the store.
struct Seeded {
    token: String,
    /// (project id, job ids)
    projects: Vec<(String, Vec<String>)>,
    /// (project id, job id, instance id)
    instances: Vec<(String, String, String)>,
    writer_project: String,
}

/// Latencies (ms) and failures per endpoint.
#[derive(Default)]
struct Samples {
    ok: BTreeMap<&'static str, Vec<f64>>,
    failed: BTreeMap<&'static str, usize>,
    first_failure: Option<String>,
}

impl Samples {
    fn record(&mut self, name: &'static str, ms: f64, r: anyhow::Result<()>) {
        match r {
            Ok(()) => self.ok.entry(name).or_default().push(ms),
            Err(e) => {
                *self.failed.entry(name).or_default() += 1;
                self.first_failure
                    .get_or_insert_with(|| format!("{name}: {e:#}"));
            }
        }
    }
}

/// p50, p99, max of `v` (sorted in place), ms.
fn percentiles(v: &mut [f64]) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.50), at(0.99), v[v.len() - 1])
}

/// A small deterministic generator (SplitMix64), so every run sends the same mix.
struct Mix(u64);

impl Mix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Opts::parse();
    if o.jobs < o.projects || o.projects == 0 || o.rate == 0 || o.seconds == 0 {
        bail!("need projects ≥ 1, jobs ≥ projects, rate ≥ 1, seconds ≥ 1");
    }
    let mut results = Vec::new();
    for &rc in &o.read_connections {
        eprintln!("== run with --db-read-connections {rc}");
        let work = tempfile::tempdir()?;
        let url = match &o.postgres {
            Some(admin) => fresh_postgres(admin).await?,
            None => format!(
                "sqlite://{}?mode=rwc",
                work.path().join("scaleph.db").display()
            ),
        };
        let t0 = Instant::now();
        let seeded = seed(&o, &url).await?;
        eprintln!("   seeded in {:.1} s", t0.elapsed().as_secs_f64());
        let samples = run_server(&o, work.path(), &url, rc, &seeded).await?;
        results.push((rc, samples));
    }
    report(&o, &mut results);
    Ok(())
}

/// A new empty database on the PostgreSQL server at `admin`; returns its URL.
async fn fresh_postgres(admin: &str) -> anyhow::Result<String> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let name = format!("scaleph_bench_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::AnyConnection::connect(admin)
        .await
        .context("connect to --postgres")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await?;
    let (base, _) = admin
        .rsplit_once('/')
        .context("--postgres needs a URL with a database")?;
    Ok(format!("{base}/{name}"))
}

/// Users, projects, jobs and finished instances, straight through the store.
async fn seed(o: &Opts, url: &str) -> anyhow::Result<Seeded> {
    let store = Store::connect(url).await?;
    let hash = secret::hash_password(PASSWORD)?;
    let admin = store
        .create_user(NewUser {
            username: "admin",
            display_name: "admin",
            email: "",
            role: PlatformRole::Admin,
            password_hash: &hash,
        })
        .await?;
    let (token, digest) = secret::new_token();
    store
        .create_token(
            &admin.id,
            "bench",
            &digest,
            &token[..8],
            ScopeSet::all(),
            None,
        )
        .await?;
    let settings = JobSettings::default();
    let mut projects = Vec::new();
    let mut instances = Vec::new();
    let per = o.jobs / o.projects;
    let mut n = 0;
    for p in 0..o.projects {
        let project = store
            .create_project(&format!("seed-{p:02}"), "", Some(&admin.id))
            .await?;
        let count = if p + 1 == o.projects {
            o.jobs - per * p
        } else {
            per
        };
        let mut jobs = Vec::with_capacity(count);
        for j in 0..count {
            let job = store
                .create_job(
                    &project.id,
                    NewJob {
                        name: &format!("job-{j:05}"),
                        engine: EngineKind::Embedded,
                        cluster_id: None,
                        settings: &settings,
                        script: SCRIPT,
                        message: "seed",
                        jar: None,
                        restart_policy: None,
                    },
                )
                .await?;
            if n % o.instances_every == 0 {
                for _ in 0..2 {
                    let i = store
                        .create_instance(&job.id, 1, EngineKind::Embedded, None, None)
                        .await?;
                    for s in [
                        JobState::Initializing,
                        JobState::Running,
                        JobState::Finished,
                    ] {
                        store.transition(&i.id, s, None, None).await?;
                    }
                    instances.push((project.id.clone(), job.id.clone(), i.id));
                }
            }
            n += 1;
            jobs.push(job.id);
        }
        projects.push((project.id, jobs));
    }
    let writer_project = store
        .create_project("writers", "", Some(&admin.id))
        .await?
        .id;
    store.close().await;
    Ok(Seeded {
        token,
        projects,
        instances,
        writer_project,
    })
}

/// Starts `scaleph serve` on the seeded store, runs the load, stops the server.
async fn run_server(
    o: &Opts,
    work: &std::path::Path,
    url: &str,
    read_connections: u32,
    seeded: &Seeded,
) -> anyhow::Result<Samples> {
    let mut cmd = Command::new(&o.scaleph);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(work.join("data"))
        .args(["--db-read-connections", &read_connections.to_string()])
        .env("SCALEPH_LOG", "warn")
        .args(["--database-url", url])
        .stdout(Stdio::piped());
    let mut server = cmd
        .spawn()
        .with_context(|| format!("start {}", o.scaleph.display()))?;
    let mut reader = BufReader::new(server.stdout.take().context("stdout")?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    std::thread::spawn(move || for _ in reader.lines() {});
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .with_context(|| format!("no listen line from the server: {line:?}"))?
        .to_string();
    let r = load(o, &base, seeded).await;
    let _ = server.kill();
    let _ = server.wait();
    r
}

/// One GET; fails on a non-2xx answer.
async fn get(http: &reqwest::Client, url: String, token: &str) -> anyhow::Result<()> {
    let r = http.get(&url).bearer_auth(token).send().await?;
    let status = r.status();
    let body = r.bytes().await?;
    if !status.is_success() {
        bail!("GET {url}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// One POST with a JSON body; returns the answer's JSON; fails on a non-2xx answer.
async fn post(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let r = http
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url}: {status} {v}");
    }
    Ok(v)
}

const READS: [&str; 6] = [
    "GET projects",
    "GET jobs (page)",
    "GET job",
    "GET versions",
    "GET job instances",
    "GET instance",
];

async fn load(o: &Opts, base: &str, seeded: &Seeded) -> anyhow::Result<Samples> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let token = seeded.token.as_str();
    // Warm-up: the connections and the server's caches, off the record.
    for _ in 0..20 {
        get(&http, format!("{base}/api/v1/projects"), token).await?;
    }
    let samples = Arc::new(Mutex::new(Samples::default()));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let api = format!("{base}/api/v1");

    let mut writers = Vec::new();
    for w in 0..o.writers {
        let (http, api, token) = (http.clone(), api.clone(), token.to_string());
        let (pid, samples) = (seeded.writer_project.clone(), samples.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = post(
                    &http,
                    format!("{api}/projects/{pid}/jobs"),
                    &token,
                    json!({"name": format!("w{w:02}-{i:06}"), "script": SCRIPT}),
                )
                .await;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                let jid = r
                    .as_ref()
                    .ok()
                    .and_then(|v| v["id"].as_str())
                    .map(str::to_string);
                samples
                    .lock()
                    .unwrap()
                    .record("POST job", ms, r.map(|_| ()));
                i += 1;
                let Some(jid) = jid else { continue };
                let t = Instant::now();
                let r = post(
                    &http,
                    format!("{api}/projects/{pid}/jobs/{jid}/submit"),
                    &token,
                    json!({}),
                )
                .await;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                samples
                    .lock()
                    .unwrap()
                    .record("POST submit", ms, r.map(|_| ()));
                let t = Instant::now();
                let r = post(
                    &http,
                    format!("{api}/projects/{pid}/jobs/{jid}/versions"),
                    &token,
                    json!({"script": SCRIPT, "message": "v2"}),
                )
                .await;
                let ms = t.elapsed().as_secs_f64() * 1e3;
                samples
                    .lock()
                    .unwrap()
                    .record("POST version", ms, r.map(|_| ()));
            }
        }));
    }

    // Reads: open loop at `rate`, a fixed pseudo-random mix over the seeded rows.
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(o.rate)));
    let total = u64::from(o.rate) * o.seconds;
    let mut mix = Mix(42);
    let mut readers = Vec::with_capacity(total as usize);
    let started = Instant::now();
    for k in 0..total {
        tick.tick().await;
        let kind = READS[k as usize % READS.len()];
        let (pid, jobs) = &seeded.projects[mix.below(seeded.projects.len())];
        let jid = &jobs[mix.below(jobs.len())];
        let (ipid, ijid, iid) = &seeded.instances[mix.below(seeded.instances.len().max(1))];
        let url = match kind {
            "GET projects" => format!("{api}/projects"),
            "GET jobs (page)" => format!(
                "{api}/projects/{pid}/jobs?page={}&page_size=50",
                1 + mix.below(jobs.len().div_ceil(50))
            ),
            "GET job" => format!("{api}/projects/{pid}/jobs/{jid}"),
            "GET versions" => format!("{api}/projects/{pid}/jobs/{jid}/versions"),
            "GET job instances" => format!("{api}/projects/{ipid}/jobs/{ijid}/instances"),
            _ => format!("{api}/instances/{iid}"),
        };
        let (http, token, samples) = (http.clone(), token.to_string(), samples.clone());
        readers.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = get(&http, url, &token).await;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            samples.lock().unwrap().record(kind, ms, r);
        }));
    }
    let sent_in = started.elapsed().as_secs_f64();
    for h in readers.into_iter().chain(writers) {
        h.await?;
    }
    eprintln!(
        "   {total} reads sent in {sent_in:.1} s ({:.0}/s), all answered after {:.1} s",
        total as f64 / sent_in,
        started.elapsed().as_secs_f64()
    );
    let s = std::mem::take(&mut *samples.lock().unwrap());
    Ok(s)
}

fn report(o: &Opts, results: &mut [(u32, Samples)]) {
    let backend = if o.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "{backend}, {} jobs in {} projects ({} finished instances), reads {}/s open loop + {} writers (create → submit → save version), {} s, loopback",
        o.jobs,
        o.projects,
        2 * o.jobs.div_ceil(o.instances_every),
        o.rate,
        o.writers,
        o.seconds
    );
    let mut names: Vec<&'static str> = READS.to_vec();
    names.extend(["POST job", "POST submit", "POST version"]);
    let mut p99s: Vec<BTreeMap<&str, f64>> = Vec::new();
    for (rc, s) in results.iter_mut() {
        println!();
        println!("--db-read-connections {rc}");
        println!(
            "{:<20} {:>8} {:>7} {:>9} {:>9} {:>9}",
            "endpoint", "ok", "failed", "p50 ms", "p99 ms", "max ms"
        );
        let mut p99 = BTreeMap::new();
        for name in &names {
            let mut v = s.ok.remove(name).unwrap_or_default();
            let (p50, p, max) = percentiles(&mut v);
            p99.insert(*name, p);
            println!(
                "{:<20} {:>8} {:>7} {:>9.1} {:>9.1} {:>9.1}",
                name,
                v.len(),
                s.failed.get(name).copied().unwrap_or(0),
                p50,
                p,
                max
            );
        }
        if let Some(f) = &s.first_failure {
            println!("first failure: {f}");
        }
        p99s.push(p99);
    }
    if p99s.len() >= 2 {
        println!();
        println!(
            "p99 ratio --db-read-connections {} / {} (peer = the old single connection; < 1 is faster):",
            results[0].0, results[1].0
        );
        for name in &names {
            println!("  {:<20} {:>6.2}", name, p99s[0][name] / p99s[1][name]);
        }
    }
}
