//! TPC-H on the embedded engine and on DuckDB, side by side in one run.
//!
//! Both read the same parquet files with the same number of threads (DuckDB `threads` =
//! DataFusion partitions = cores); each query runs `--repeat` times per engine, the engines
//! taking turns run by run, and the best time counts. Embedded times include parsing and planning the Flink SQL script; results go to a
//! `blackhole` sink. DuckDB times are `execute().fetchall()` in its Python client. Ratio =
//! embedded / DuckDB (below 1: the embedded engine is faster). The harness uses the allocator
//! the `scaleph` binary ships with (`EngineAllocator`), so the embedded figures are the product's.

use anyhow::{bail, Context};
use clap::Parser;
use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{CancellationToken, Engine, JobSettings, JobSpec};
use scaleph_tpch::{blackhole_script, generate, GenFormat, QUERIES};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `scaleph` binary's allocator, so jobs here allocate as they do in the product.
#[global_allocator]
static GLOBAL: scaleph_embedded::allocator::EngineAllocator =
    scaleph_embedded::allocator::EngineAllocator;

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

    // DuckDB in the same run, as a server process: both engines run each query in turn, so a
    // slow stretch of a shared machine hits both rather than one.
    let qfile = data.join("queries.json");
    std::fs::write(&qfile, serde_json::to_string(&queries)?)?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/tpch_duckdb.py");
    let mut duck = Command::new("python3")
        .arg(script)
        .arg(&data)
        .arg(&qfile)
        .args(["--serve", "--threads", &cores.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("python3 with duckdb (pip install duckdb)")?;
    let mut to_duck = duck.stdin.take().context("duckdb stdin")?;
    let mut from_duck = BufReader::new(duck.stdout.take().context("duckdb stdout")?).lines();
    let mut duck_run = |name: &str| -> anyhow::Result<f64> {
        writeln!(to_duck, "{name}")?;
        to_duck.flush()?;
        let line = from_duck
            .next()
            .context("DuckDB exited (see its error above)")??;
        Ok(line.trim().parse::<f64>()? * 1000.0)
    };

    let engine = EmbeddedEngine::new();
    println!("TPC-H SF {} — embedded engine (DataFusion 54) vs DuckDB {} — {cores} threads each, best of {}", o.scale, duckdb_version(), o.repeat);
    println!(
        "{:<5} {:>12} {:>12} {:>8}",
        "query", "embedded ms", "duckdb ms", "ratio"
    );
    let (mut log_sum, mut tot_e, mut tot_d) = (0.0f64, 0.0f64, 0.0f64);
    for q in queries.iter().copied() {
        let script = blackhole_script(q, &data.to_string_lossy());
        let (mut best, mut d) = (f64::MAX, f64::MAX);
        for _ in 0..o.repeat {
            d = d.min(duck_run(q.name)?);
            let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
            let spec = JobSpec {
                name: q.name.into(),
                script: script.clone(),
                settings: JobSettings::default(),
                ..Default::default()
            };
            let s = engine
                .run(spec, tx, CancellationToken::new())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", q.name))?;
            best = best.min(s.elapsed.as_secs_f64() * 1000.0);
        }
        let ratio = best / d;
        log_sum += ratio.ln();
        tot_e += best;
        tot_d += d;
        println!("{:<5} {:>12.1} {:>12.1} {:>8.2}", q.name, best, d, ratio);
    }
    drop(to_duck);
    duck.wait()?;
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
