//! The TPC-H example: generate data, create the `tpch` project with 22 SQL jobs through the REST
//! API, submit them one by one and print each result.

use crate::client::Client;
use anyhow::Context;
use scaleph_tpch::{generate, job_script, GenFormat, QUERIES};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

pub async fn run_tpch(
    server: &str,
    files_root: &Path,
    scale: f64,
    token: &str,
) -> anyhow::Result<()> {
    // Under the first allowed path, so the jobs may read and write there.
    let base = std::fs::canonicalize(files_root)?.join("examples");
    let data = base.join(format!("tpch-sf{scale}"));
    let out = base.join("tpch-results");
    if !data.join("lineitem").exists() {
        println!(
            "TPC-H example: generating SF {scale} into {} …",
            data.display()
        );
        let d = data.clone();
        let s =
            tokio::task::spawn_blocking(move || generate(scale, &d, GenFormat::Parquet)).await??;
        println!(
            "TPC-H example: generated {} rows in {:.1}s",
            s.tables.iter().map(|t| t.1).sum::<u64>(),
            s.elapsed.as_secs_f64()
        );
    }
    let c = Client::new(server, Some(token.to_string()));
    let project = match c.find_project("tpch").await? {
        Some(p) => p,
        None => c.post("/api/v1/projects", &json!({"name": "tpch", "description": "TPC-H example: the 22 queries as Flink SQL jobs"})).await?,
    };
    let pid = project["id"].as_str().context("project id")?.to_string();
    println!(
        "TPC-H example: project 'tpch' ({pid}); results under {}",
        out.display()
    );
    let t0 = Instant::now();
    let mut finished = 0;
    for q in QUERIES.iter() {
        let script = job_script(q, &data.to_string_lossy(), &out.to_string_lossy());
        let job = match c.find_job(&pid, q.name).await? {
            Some(j) => j,
            None => {
                c.post(
                    &format!("/api/v1/projects/{pid}/jobs"),
                    &json!({"name": q.name, "script": script, "message": "TPC-H example"}),
                )
                .await?
            }
        };
        let jid = job["id"].as_str().context("job id")?;
        let inst: Value = c
            .post(
                &format!("/api/v1/projects/{pid}/jobs/{jid}/submit"),
                &json!({}),
            )
            .await?;
        let iid = inst["id"].as_str().context("instance id")?.to_string();
        let detail = c.wait(&iid).await?;
        let state = detail["state"].as_str().unwrap_or("?");
        let ms =
            detail["ended_at"].as_i64().unwrap_or(0) - detail["started_at"].as_i64().unwrap_or(0);
        let rows: u64 = detail["metrics"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter(|x| x["role"] == "sink")
                    .filter_map(|x| x["rows"].as_u64())
                    .sum()
            })
            .unwrap_or(0);
        if state == "FINISHED" {
            finished += 1;
        }
        println!(
            "  {:<4} {:<9} {:>6} ms  {:>5} result rows   {}",
            q.name,
            state,
            ms,
            rows,
            detail["error"].as_str().unwrap_or("")
        );
    }
    println!(
        "TPC-H example: {finished}/22 FINISHED in {:.1}s. Browse them: scaleph login --server {server}, then scaleph job list --project tpch",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
