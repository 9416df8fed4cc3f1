//! `scaleph schedule …`: a job's cron schedule over the REST API.

use crate::client::Client;
use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{json, Value};

/// Schedules of jobs on the server.
#[derive(Subcommand)]
pub enum Cmd {
    /// Create or replace a job's schedule; prints its next fire times.
    Set {
        #[arg(long)]
        project: String,
        /// Job name or id.
        job: String,
        /// Cron pattern, e.g. '30 2 * * *' or Quartz '0 0 9 ? * 2-6'.
        #[arg(long)]
        cron: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// After downtime: fire_once or skip.
        #[arg(long, default_value = "fire_once")]
        misfire: String,
        /// While the previous run runs: skip, allow or queue.
        #[arg(long, default_value = "skip")]
        overlap: String,
        /// Parameters as name=value (repeatable), `${name}` in the script.
        #[arg(long = "param", value_parser = crate::client::parse_kv)]
        params: Vec<(String, String)>,
        /// Create it paused.
        #[arg(long)]
        paused: bool,
    },
    /// Show a job's schedule and its next fire times.
    Show {
        #[arg(long)]
        project: String,
        job: String,
    },
    /// Pause a job's schedule.
    Pause {
        #[arg(long)]
        project: String,
        job: String,
    },
    /// Resume a paused schedule (fires due while paused count as missed).
    Resume {
        #[arg(long)]
        project: String,
        job: String,
    },
    /// Delete a job's schedule.
    Delete {
        #[arg(long)]
        project: String,
        job: String,
    },
    /// A schedule's fires: time, business date, state, instance, reason.
    Fires {
        #[arg(long)]
        project: String,
        job: String,
    },
    /// Run a job once per business date from --from to --to (yyyy-MM-dd); prints each run.
    Backfill {
        #[arg(long)]
        project: String,
        job: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Runs at a time (1: one after another).
        #[arg(long, default_value_t = 1)]
        parallelism: u32,
        /// Parameters as name=value (repeatable).
        #[arg(long = "param", value_parser = crate::client::parse_kv)]
        params: Vec<(String, String)>,
    },
    /// The next 5 fire times of a pattern.
    Preview {
        #[arg(long)]
        cron: String,
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
}

fn print_view(v: &Value) {
    println!(
        "{}  {}  ({})  {}{}",
        v["cron"].as_str().unwrap_or(""),
        v["timezone"].as_str().unwrap_or(""),
        v["description"].as_str().unwrap_or(""),
        if v["paused"] == true { "PAUSED  " } else { "" },
        format_args!(
            "misfire={} overlap={}",
            v["misfire"].as_str().unwrap_or(""),
            v["overlap"].as_str().unwrap_or("")
        )
    );
    for f in v["next_fires"].as_array().into_iter().flatten() {
        println!(
            "  next: {}  bizdate {}",
            f["local"].as_str().unwrap_or(""),
            f["bizdate"].as_str().unwrap_or("")
        );
    }
}

impl Client {
    async fn schedule_path(&self, project: &str, job: &str) -> anyhow::Result<String> {
        let pid = self.project_id(project).await?;
        let j = self
            .find_job(&pid, job)
            .await?
            .with_context(|| format!("no job '{job}' in project '{project}'"))?;
        Ok(format!(
            "/api/v1/projects/{pid}/jobs/{}/schedule",
            j["id"].as_str().unwrap_or_default()
        ))
    }

    /// Runs a `schedule` subcommand.
    pub async fn schedule(&self, c: Cmd) -> anyhow::Result<()> {
        match c {
            Cmd::Set {
                project,
                job,
                cron,
                tz,
                misfire,
                overlap,
                params,
                paused,
            } => {
                let path = self.schedule_path(&project, &job).await?;
                let params: serde_json::Map<String, Value> =
                    params.into_iter().map(|(k, v)| (k, json!(v))).collect();
                let body = json!({"cron": cron, "timezone": tz, "misfire": misfire,
                    "overlap": overlap, "params": params, "paused": paused});
                print_view(&self.put(&path, &body).await?);
            }
            Cmd::Show { project, job } => {
                let path = self.schedule_path(&project, &job).await?;
                print_view(&self.get(&path).await?);
            }
            Cmd::Pause { project, job } => self.set_paused(&project, &job, true).await?,
            Cmd::Resume { project, job } => self.set_paused(&project, &job, false).await?,
            Cmd::Delete { project, job } => {
                let path = self.schedule_path(&project, &job).await?;
                self.delete(&path).await?;
                println!("deleted");
            }
            Cmd::Fires { project, job } => {
                let path = self.schedule_path(&project, &job).await?;
                for f in self
                    .get(&format!("{path}/fires"))
                    .await?
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let at = f["fire_at"].as_i64().unwrap_or(0);
                    let at = chrono::DateTime::from_timestamp_millis(at)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    println!(
                        "{at}  {}  {:<9}  {}  {}",
                        f["bizdate"].as_str().unwrap_or(""),
                        f["state"].as_str().unwrap_or(""),
                        f["instance_id"].as_str().unwrap_or("-"),
                        f["reason"].as_str().unwrap_or("")
                    );
                }
            }
            Cmd::Backfill {
                project,
                job,
                from,
                to,
                parallelism,
                params,
            } => {
                let path = self.schedule_path(&project, &job).await?;
                let path = path.trim_end_matches("/schedule").to_string() + "/backfills";
                let params: serde_json::Map<String, Value> =
                    params.into_iter().map(|(k, v)| (k, json!(v))).collect();
                let b = self
                    .post(
                        &path,
                        &json!({"from": from, "to": to, "parallelism": parallelism, "params": params}),
                    )
                    .await?;
                println!(
                    "backfill {}: {} dates",
                    b["id"].as_str().unwrap_or(""),
                    b["runs"].as_array().map_or(0, Vec::len)
                );
            }
            Cmd::Preview { cron, tz } => {
                let v = self
                    .post(
                        "/api/v1/schedules/preview",
                        &json!({"cron": cron, "timezone": tz}),
                    )
                    .await?;
                println!("{}", v["description"].as_str().unwrap_or(""));
                for f in v["next_fires"].as_array().into_iter().flatten() {
                    println!(
                        "  {}  bizdate {}",
                        f["local"].as_str().unwrap_or(""),
                        f["bizdate"].as_str().unwrap_or("")
                    );
                }
            }
        }
        Ok(())
    }

    async fn set_paused(&self, project: &str, job: &str, paused: bool) -> anyhow::Result<()> {
        let path = self.schedule_path(project, job).await?;
        let cur = self.get(&path).await?;
        let body = json!({"cron": cur["cron"], "timezone": cur["timezone"],
            "start_at": cur["start_at"], "end_at": cur["end_at"], "paused": paused,
            "misfire": cur["misfire"], "overlap": cur["overlap"], "params": cur["params"]});
        print_view(&self.put(&path, &body).await?);
        Ok(())
    }
}
