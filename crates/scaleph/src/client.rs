//! Client subcommands: talk to a running server over its REST API.

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum ProjectCmd {
    /// Create a project.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects.
    List,
}

#[derive(Subcommand)]
pub enum DatasourceCmd {
    /// Create a datasource: --prop key=value (repeatable).
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        /// filesystem | postgresql | mysql
        #[arg(long = "type")]
        kind: String,
        #[arg(long = "prop", value_parser = parse_kv)]
        props: Vec<(String, String)>,
    },
    /// List a project's datasources.
    List {
        #[arg(long)]
        project: String,
    },
    /// Test a datasource's connection.
    Test {
        #[arg(long)]
        project: String,
        /// Datasource name or id.
        datasource: String,
    },
}

#[derive(Subcommand)]
pub enum JobCmd {
    /// Create a SQL job from a script file.
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// List a project's jobs.
    List {
        #[arg(long)]
        project: String,
    },
    /// Submit a job's current version; prints the instance id.
    Submit {
        #[arg(long)]
        project: String,
        /// Job name or id.
        job: String,
        /// Wait until the instance ends.
        #[arg(long)]
        wait: bool,
    },
    /// Show an instance's state, history and metrics.
    Status { instance: String },
    /// Cancel an instance.
    Cancel { instance: String },
    /// Show a running instance's operators (records in/out and rates, watermark and lag, late
    /// rows, state) and checkpoints.
    Metrics { instance: String },
    /// Trigger a savepoint of a running instance; prints its path when done.
    Savepoint { instance: String },
    /// Stop a running instance with a savepoint; prints its path when done.
    Stop {
        instance: String,
        /// Fire every event-time window before stopping (Flink's `--drain`).
        #[arg(long)]
        drain: bool,
    },
    /// Print an instance's log.
    Logs { instance: String },
}

pub(crate) fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, got '{s}'"))
}

impl Client {
    /// Waits for savepoint record `sp` of `instance`'s job to end; prints its path.
    async fn print_savepoint(&self, instance: &str, sp: &Value) -> anyhow::Result<()> {
        let d = self.get(&format!("/api/v1/instances/{instance}")).await?;
        let job = d["job_id"].as_str().unwrap_or_default().to_string();
        let project = d["project_id"].as_str().map(str::to_string);
        let id = sp["id"].as_str().unwrap_or_default();
        for _ in 0..600 {
            let list = match &project {
                Some(p) => {
                    self.get(&format!("/api/v1/projects/{p}/jobs/{job}/savepoints"))
                        .await?
                }
                None => Value::Null,
            };
            let now = list
                .as_array()
                .and_then(|l| l.iter().find(|s| s["id"] == id).cloned())
                .unwrap_or_else(|| sp.clone());
            match now["status"].as_str() {
                Some("COMPLETED") => {
                    println!("{}", now["path"].as_str().unwrap_or(""));
                    return Ok(());
                }
                Some("FAILED") => {
                    bail!("savepoint failed: {}", now["error"].as_str().unwrap_or(""))
                }
                _ if project.is_none() => {
                    println!("savepoint {id} triggered");
                    return Ok(());
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        bail!("savepoint {id} did not complete in 60 s")
    }
}

/// A thin REST client; sends `token` as `Authorization: Bearer`.
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    /// A client of `base`; the token is `token`, else the one `scaleph login` stored for it.
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            token: token.or_else(|| crate::login::stored_token(base)),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach scaleph at {}", self.base))?;
        let status = resp.status();
        let body = resp.text().await?;
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .unwrap_or(body);
            if status == reqwest::StatusCode::UNAUTHORIZED && self.token.is_none() {
                bail!(
                    "{status}: {detail}\nsign in first: scaleph login --server {}",
                    self.base
                );
            }
            bail!("{status}: {detail}");
        }
        Ok(if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body)?
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.put(format!("{}{path}", self.base)).json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    pub async fn find_project(&self, name_or_id: &str) -> anyhow::Result<Option<Value>> {
        let page = self.get("/api/v1/projects?page_size=500").await?;
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name_or_id || p["id"] == name_or_id)
            .cloned())
    }

    pub(crate) async fn project_id(&self, name_or_id: &str) -> anyhow::Result<String> {
        let p = self
            .find_project(name_or_id)
            .await?
            .with_context(|| format!("no project '{name_or_id}'"))?;
        Ok(p["id"].as_str().unwrap_or_default().to_string())
    }

    pub async fn find_job(&self, pid: &str, name_or_id: &str) -> anyhow::Result<Option<Value>> {
        let page = self
            .get(&format!("/api/v1/projects/{pid}/jobs?page_size=500"))
            .await?;
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|j| j["name"] == name_or_id || j["id"] == name_or_id)
            .cloned())
    }

    /// Polls an instance until it reaches a terminal state; returns its detail.
    pub async fn wait(&self, iid: &str) -> anyhow::Result<Value> {
        loop {
            let d = self.get(&format!("/api/v1/instances/{iid}")).await?;
            if matches!(
                d["state"].as_str(),
                Some("FINISHED" | "FAILED" | "CANCELED")
            ) {
                return Ok(d);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn project(&self, c: ProjectCmd) -> anyhow::Result<()> {
        match c {
            ProjectCmd::Create { name, description } => {
                let p = self
                    .post(
                        "/api/v1/projects",
                        &json!({"name": name, "description": description}),
                    )
                    .await?;
                println!("{}", p["id"].as_str().unwrap_or_default());
            }
            ProjectCmd::List => {
                for p in self.get("/api/v1/projects?page_size=500").await?["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    println!(
                        "{}  {}  {}",
                        p["id"].as_str().unwrap_or(""),
                        p["name"].as_str().unwrap_or(""),
                        p["description"].as_str().unwrap_or("")
                    );
                }
            }
        }
        Ok(())
    }

    pub async fn datasource(&self, c: DatasourceCmd) -> anyhow::Result<()> {
        match c {
            DatasourceCmd::Create {
                project,
                name,
                kind,
                props,
            } => {
                let pid = self.project_id(&project).await?;
                let props: Map<String, Value> = props
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                let d = self
                    .post(
                        &format!("/api/v1/projects/{pid}/datasources"),
                        &json!({"name": name, "type": kind, "properties": props}),
                    )
                    .await?;
                println!("{}", d["id"].as_str().unwrap_or_default());
            }
            DatasourceCmd::List { project } => {
                let pid = self.project_id(&project).await?;
                for d in self
                    .get(&format!("/api/v1/projects/{pid}/datasources?page_size=500"))
                    .await?["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    println!(
                        "{}  {}  {}  {}",
                        d["id"].as_str().unwrap_or(""),
                        d["name"].as_str().unwrap_or(""),
                        d["type"].as_str().unwrap_or(""),
                        d["properties"]
                    );
                }
            }
            DatasourceCmd::Test {
                project,
                datasource,
            } => {
                let pid = self.project_id(&project).await?;
                let list = self
                    .get(&format!("/api/v1/projects/{pid}/datasources?page_size=500"))
                    .await?;
                let d = list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|d| d["name"] == datasource.as_str() || d["id"] == datasource.as_str())
                    .cloned()
                    .with_context(|| format!("no datasource '{datasource}'"))?;
                let r = self
                    .post(
                        &format!(
                            "/api/v1/projects/{pid}/datasources/{}/test",
                            d["id"].as_str().unwrap_or("")
                        ),
                        &json!({}),
                    )
                    .await?;
                println!(
                    "{} ({} ms): {}",
                    if r["ok"] == true { "OK" } else { "FAILED" },
                    r["elapsed_ms"],
                    r["message"].as_str().unwrap_or("")
                );
                if r["ok"] != true {
                    bail!("connection test failed");
                }
            }
        }
        Ok(())
    }

    pub async fn job(&self, c: JobCmd) -> anyhow::Result<()> {
        match c {
            JobCmd::Create {
                project,
                name,
                file,
            } => {
                let pid = self.project_id(&project).await?;
                let script = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let j = self
                    .post(
                        &format!("/api/v1/projects/{pid}/jobs"),
                        &json!({"name": name, "script": script}),
                    )
                    .await?;
                println!("{}", j["id"].as_str().unwrap_or_default());
            }
            JobCmd::List { project } => {
                let pid = self.project_id(&project).await?;
                for j in self
                    .get(&format!("/api/v1/projects/{pid}/jobs?page_size=500"))
                    .await?["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    println!(
                        "{}  {}  {}  v{}",
                        j["id"].as_str().unwrap_or(""),
                        j["name"].as_str().unwrap_or(""),
                        j["engine"].as_str().unwrap_or(""),
                        j["current_version"]
                    );
                }
            }
            JobCmd::Submit { project, job, wait } => {
                let pid = self.project_id(&project).await?;
                let j = self
                    .find_job(&pid, &job)
                    .await?
                    .with_context(|| format!("no job '{job}'"))?;
                let i = self
                    .post(
                        &format!(
                            "/api/v1/projects/{pid}/jobs/{}/submit",
                            j["id"].as_str().unwrap_or("")
                        ),
                        &json!({}),
                    )
                    .await?;
                let iid = i["id"].as_str().unwrap_or_default().to_string();
                println!("{iid}");
                if wait {
                    let d = self.wait(&iid).await?;
                    println!(
                        "{}{}",
                        d["state"].as_str().unwrap_or(""),
                        d["error"]
                            .as_str()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                    if d["state"] != "FINISHED" {
                        bail!("job did not finish");
                    }
                }
            }
            JobCmd::Status { instance } => {
                let d = self.get(&format!("/api/v1/instances/{instance}")).await?;
                println!("state: {}", d["state"].as_str().unwrap_or(""));
                if let Some(e) = d["error"].as_str() {
                    println!("error: {e}");
                }
                for h in d["history"].as_array().into_iter().flatten() {
                    let at = chrono::DateTime::from_timestamp_millis(h["at"].as_i64().unwrap_or(0))
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    println!(
                        "  {at}  {}  {}",
                        h["state"].as_str().unwrap_or(""),
                        h["reason"].as_str().unwrap_or("")
                    );
                }
                for m in d["metrics"].as_array().into_iter().flatten() {
                    println!(
                        "  {:<6} {:<24} {:>12} rows {:>14} bytes",
                        m["role"].as_str().unwrap_or(""),
                        m["table"].as_str().unwrap_or(""),
                        m["rows"],
                        m["bytes"]
                    );
                }
            }
            JobCmd::Metrics { instance } => {
                let v = self
                    .get(&format!("/api/v1/instances/{instance}/vertices"))
                    .await?;
                println!(
                    "{:<5} {:<26} {:>12} {:>12} {:>10} {:>10} {:>24} {:>8} {:>10}",
                    "op",
                    "name",
                    "rows in",
                    "rows out",
                    "in/s",
                    "out/s",
                    "watermark",
                    "late",
                    "state"
                );
                for o in v["vertices"].as_array().into_iter().flatten() {
                    let wm = o["watermark"]
                        .as_i64()
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "{:<5} {:<26} {:>12} {:>12} {:>10.1} {:>10.1} {:>24} {:>8} {:>10}",
                        o["id"].as_str().unwrap_or(""),
                        o["name"].as_str().unwrap_or(""),
                        o["metrics"]["read-records"],
                        o["metrics"]["write-records"],
                        o["records_in_per_second"].as_f64().unwrap_or(0.0),
                        o["records_out_per_second"].as_f64().unwrap_or(0.0),
                        wm,
                        o["late_records_dropped"],
                        o["state_rows"],
                    );
                }
                for c in v["checkpoints"].as_array().into_iter().flatten() {
                    println!(
                        "checkpoints (statement {}): {} completed, last {} in {} ms, {} bytes",
                        c["statement"],
                        c["completed"],
                        c["last_id"],
                        c["last_duration_ms"],
                        c["last_size_bytes"]
                    );
                }
            }
            JobCmd::Savepoint { instance } => {
                let sp = self
                    .post(
                        &format!("/api/v1/instances/{instance}/savepoints"),
                        &json!({}),
                    )
                    .await?;
                self.print_savepoint(&instance, &sp).await?;
            }
            JobCmd::Stop { instance, drain } => {
                let sp = self
                    .post(
                        &format!("/api/v1/instances/{instance}/stop"),
                        &json!({ "drain": drain }),
                    )
                    .await?;
                self.print_savepoint(&instance, &sp).await?;
            }
            JobCmd::Cancel { instance } => {
                let d = self
                    .post(&format!("/api/v1/instances/{instance}/cancel"), &json!({}))
                    .await?;
                println!("{}", d["state"].as_str().unwrap_or(""));
            }
            JobCmd::Logs { instance } => {
                let mut after = 0;
                loop {
                    let lines = self
                        .get(&format!(
                            "/api/v1/instances/{instance}/logs?after={after}&limit=5000"
                        ))
                        .await?;
                    let lines = lines.as_array().cloned().unwrap_or_default();
                    if lines.is_empty() {
                        break;
                    }
                    for l in &lines {
                        println!(
                            "{:<6} {}",
                            l["level"].as_str().unwrap_or(""),
                            l["line"].as_str().unwrap_or("")
                        );
                        after = l["seq"].as_i64().unwrap_or(after);
                    }
                }
            }
        }
        Ok(())
    }
}
