//! TPC-H on the embedded engine and on DuckDB, side by side in one run.
//!
//! Both read the same parquet files with the same number of threads (DuckDB `threads` =
//! DataFusion partitions = cores); each query runs `--repeat` times per engine and the best time
//! counts. Embedded times include parsing and planning the Flink SQL script; results go to a
//! `blackhole` sink. DuckDB times are `execute().fetchall()` in its Python client. Ratio =
//! embedded / DuckDB (below 1: the embedded engine is faster).

use anyhow::{bail, Context};
use clap::Parser;
use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{CancellationToken, Engine, JobSettings, JobSpec};
use scaleph_tpch::{blackhole_script, generate, GenFormat, QUERIES};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

#[derive(Parser)]
struct Opts {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Data directory (generated if missing).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Runs per query per engine; the best counts.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Only these queries (e.g. `q1,q17`); default all 22.
    #[arg(long, value_delimiter = ',')]
    queries: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Opts::parse();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let data = o
        .data
        .unwrap_or_else(|| PathBuf::from(format!("bench-data/tpch-sf{}", o.scale)));
    if !data.join("lineitem").exists() {
        eprintln!("generating TPC-H SF {} into {} …", o.scale, data.display());
        let s = generate(o.scale, &data, GenFormat::Parquet)?;
        eprintln!("generated in {:.1}s", s.elapsed.as_secs_f64());
    }
    let data = std::fs::canonicalize(&data)?;
    let queries: Vec<_> = QUERIES
        .iter()
        .filter(|q| o.queries.is_empty() || o.queries.iter().any(|n| n == q.name))
        .collect();
    if queries.is_empty() {
        bail!("no TPC-H query named {:?}", o.queries);
    }

    // DuckDB, in the same run.
    let qfile = data.join("queries.json");
    std::fs::write(&qfile, serde_json::to_string(&queries)?)?;
    let out = data.join("duckdb-times.json");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/tpch_duckdb.py");
    let st = Command::new("python3")
        .arg(script)
        .arg(&data)
        .arg(&qfile)
        .arg(&out)
        .args([
            "--repeat",
            &o.repeat.to_string(),
            "--threads",
            &cores.to_string(),
        ])
        .status()
        .context("python3 with duckdb (pip install duckdb)")?;
    if !st.success() {
        bail!("DuckDB run failed");
    }
    let duck: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;

    let engine = EmbeddedEngine::new();
    println!("TPC-H SF {} — embedded engine (DataFusion 54) vs DuckDB {} — {cores} threads each, best of {}", o.scale, duckdb_version(), o.repeat);
    println!(
        "{:<5} {:>12} {:>12} {:>8}",
        "query", "embedded ms", "duckdb ms", "ratio"
    );
    let (mut log_sum, mut tot_e, mut tot_d) = (0.0f64, 0.0f64, 0.0f64);
    for q in queries.iter().copied() {
        let script = blackhole_script(q, &data.to_string_lossy());
        let mut best = f64::MAX;
        for _ in 0..o.repeat {
            let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
            let spec = JobSpec {
                name: q.name.into(),
                script: script.clone(),
                settings: JobSettings::default(),
            };
            let s = engine
                .run(spec, tx, CancellationToken::new())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", q.name))?;
            best = best.min(s.elapsed.as_secs_f64() * 1000.0);
        }
        let d = duck[q.name]["seconds"]
            .as_array()
            .context("duckdb times")?
            .iter()
            .filter_map(Value::as_f64)
            .fold(f64::MAX, f64::min)
            * 1000.0;
        let ratio = best / d;
        log_sum += ratio.ln();
        tot_e += best;
        tot_d += d;
        println!("{:<5} {:>12.1} {:>12.1} {:>8.2}", q.name, best, d, ratio);
    }
    println!(
        "{:<5} {:>12.1} {:>12.1} {:>8.2}",
        "total",
        tot_e,
        tot_d,
        tot_e / tot_d
    );
    println!(
        "geometric mean of ratios: {:.2}",
        (log_sum / queries.len() as f64).exp()
    );
    Ok(())
}

fn duckdb_version() -> String {
    Command::new("python3")
        .args(["-c", "import duckdb; print(duckdb.__version__)"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
