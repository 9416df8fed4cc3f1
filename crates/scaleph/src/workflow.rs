//! `scaleph workflow …`: workflows (DAGs of jobs) and their runs over the REST API.

use crate::client::Client;
use anyhow::{bail, Context as _};
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Workflows on the server.
#[derive(Subcommand)]
pub enum Cmd {
    /// Create a workflow from a definition file (JSON: tasks, failure_strategy, params; a
    /// task's `job` may name a job of the project instead of `job_id`).
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// List a project's workflows.
    List {
        #[arg(long)]
        project: String,
    },
    /// Start a run; prints its id (with --wait, its tasks when it ends).
    Run {
        #[arg(long)]
        project: String,
        /// Workflow name or id.
        workflow: String,
        /// Business date, yyyy-MM-dd (default: yesterday).
        #[arg(long)]
        bizdate: Option<String>,
        #[arg(long)]
        wait: bool,
    },
    /// A workflow's runs with their task states.
    Runs {
        #[arg(long)]
        project: String,
        workflow: String,
    },
    /// Cancel a run.
    Cancel {
        #[arg(long)]
        project: String,
        workflow: String,
        run: String,
    },
    /// Rerun a failed run from its failed tasks.
    Rerun {
        #[arg(long)]
        project: String,
        workflow: String,
        run: String,
    },
}

fn print_run(r: &Value) {
    println!(
        "{}  {}  bizdate {}",
        r["id"].as_str().unwrap_or(""),
        r["state"].as_str().unwrap_or(""),
        r["bizdate"].as_str().unwrap_or("")
    );
    for t in r["tasks"].as_array().into_iter().flatten() {
        println!(
            "  {:<20} {:<16} attempt {}  {}  {}",
            t["task_key"].as_str().unwrap_or(""),
            t["state"].as_str().unwrap_or(""),
            t["attempt"],
            t["instance_id"].as_str().unwrap_or("-"),
            t["reason"].as_str().unwrap_or("")
        );
    }
}

impl Client {
    async fn workflow_path(&self, project: &str, workflow: &str) -> anyhow::Result<String> {
        let pid = self.project_id(project).await?;
        let list = self
            .get(&format!("/api/v1/projects/{pid}/workflows"))
            .await?;
        let w = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|w| w["name"] == workflow || w["id"] == workflow)
            .with_context(|| format!("no workflow '{workflow}' in project '{project}'"))?;
        Ok(format!(
            "/api/v1/projects/{pid}/workflows/{}",
            w["id"].as_str().unwrap_or_default()
        ))
    }

    /// Runs a `workflow` subcommand.
    pub async fn workflow(&self, c: Cmd) -> anyhow::Result<()> {
        match c {
            Cmd::Create {
                project,
                name,
                file,
            } => {
                let pid = self.project_id(&project).await?;
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let mut def: Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", file.display()))?;
                for t in def["tasks"].as_array_mut().into_iter().flatten() {
                    if let Some(name) = t.get("job").and_then(Value::as_str).map(str::to_string) {
                        let j = self
                            .find_job(&pid, &name)
                            .await?
                            .with_context(|| format!("no job '{name}' in project '{project}'"))?;
                        let obj = t.as_object_mut().expect("a task is an object");
                        obj.remove("job");
                        obj.insert("job_id".into(), j["id"].clone());
                    }
                }
                let w = self
                    .post(
                        &format!("/api/v1/projects/{pid}/workflows"),
                        &json!({"name": name, "definition": def}),
                    )
                    .await?;
                println!("{}", w["id"].as_str().unwrap_or_default());
            }
            Cmd::List { project } => {
                let pid = self.project_id(&project).await?;
                for w in self
                    .get(&format!("/api/v1/projects/{pid}/workflows"))
                    .await?
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    println!(
                        "{}  {}  {} tasks",
                        w["id"].as_str().unwrap_or(""),
                        w["name"].as_str().unwrap_or(""),
                        w["definition"]["tasks"].as_array().map_or(0, Vec::len)
                    );
                }
            }
            Cmd::Run {
                project,
                workflow,
                bizdate,
                wait,
            } => {
                let path = self.workflow_path(&project, &workflow).await?;
                let r = self
                    .post(&format!("{path}/runs"), &json!({"bizdate": bizdate}))
                    .await?;
                let id = r["id"].as_str().unwrap_or_default().to_string();
                if !wait {
                    println!("{id}");
                    return Ok(());
                }
                loop {
                    let r = self.get(&format!("{path}/runs/{id}")).await?;
                    if r["state"] != "RUNNING" {
                        print_run(&r);
                        if r["state"] != "SUCCESS" {
                            bail!("the run ended {}", r["state"]);
                        }
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
            Cmd::Runs { project, workflow } => {
                let path = self.workflow_path(&project, &workflow).await?;
                for r in self
                    .get(&format!("{path}/runs"))
                    .await?
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    print_run(r);
                }
            }
            Cmd::Cancel {
                project,
                workflow,
                run,
            } => {
                let path = self.workflow_path(&project, &workflow).await?;
                print_run(
                    &self
                        .post(&format!("{path}/runs/{run}/cancel"), &json!({}))
                        .await?,
                );
            }
            Cmd::Rerun {
                project,
                workflow,
                run,
            } => {
                let path = self.workflow_path(&project, &workflow).await?;
                print_run(
                    &self
                        .post(&format!("{path}/runs/{run}/rerun"), &json!({}))
                        .await?,
                );
            }
        }
        Ok(())
    }
}
