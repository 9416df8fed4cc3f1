//! `scaleph sql validate|run FILE`: the embedded engine without a server.

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{
    CancellationToken, Engine, JobSettings, JobSpec, LogLevel, RunEvent, TableRole,
};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum Cmd {
    /// Parse and plan a script; print its sinks or the first error with line:column.
    Validate {
        /// Flink SQL script.
        file: PathBuf,
        /// Print the whole report as JSON (tables with their columns, the final query's
        /// columns and Flink types).
        #[arg(long)]
        json: bool,
    },
    /// Run a script on the embedded engine with a progress bar and a summary.
    Run {
        /// Flink SQL script.
        file: PathBuf,
        /// Parallelism (default: number of cores).
        #[arg(long)]
        parallelism: Option<u32>,
    },
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

pub async fn cmd(c: Cmd) -> anyhow::Result<()> {
    let engine = EmbeddedEngine::new();
    match c {
        Cmd::Validate { file, json } => {
            let script = read(&file)?;
            let r = engine
                .validate(&script, &JobSettings::default())
                .await
                .map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "{}: OK — {} statements, tables: [{}], sinks: [{}]",
                file.display(),
                r.statements,
                r.tables.join(", "),
                r.sinks.join(", ")
            );
            Ok(())
        }
        Cmd::Run { file, parallelism } => {
            let script = read(&file)?;
            let spec = JobSpec {
                name: file
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                script,
                settings: JobSettings {
                    parallelism,
                    ..Default::default()
                },
                ..Default::default()
            };
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .expect("template"),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let cancel = CancellationToken::new();
            let c2 = cancel.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                c2.cancel();
            });
            let run = tokio::spawn(async move { engine.run(spec, tx, cancel).await });
            while let Some(ev) = rx.recv().await {
                match ev {
                    RunEvent::Running => bar.set_message("running"),
                    RunEvent::Log(LogLevel::Stdout, l) => say(&bar, l),
                    RunEvent::Log(LogLevel::Warn | LogLevel::Error, l) => {
                        say(&bar, format!("WARN {l}"))
                    }
                    RunEvent::Log(_, _) => {}
                    RunEvent::Metrics(m) => {
                        let read: u64 = m
                            .iter()
                            .filter(|x| x.role == TableRole::Source)
                            .map(|x| x.rows)
                            .sum();
                        let written: u64 = m
                            .iter()
                            .filter(|x| x.role == TableRole::Sink)
                            .map(|x| x.rows)
                            .sum();
                        bar.set_message(format!("rows read {read}, written {written}"));
                    }
                }
            }
            bar.finish_and_clear();
            let summary = run
                .await?
                .map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
            let secs = summary.elapsed.as_secs_f64();
            let read: u64 = summary
                .metrics
                .iter()
                .filter(|x| x.role == TableRole::Source)
                .map(|x| x.rows)
                .sum();
            let written: u64 = summary
                .metrics
                .iter()
                .filter(|x| x.role == TableRole::Sink)
                .map(|x| x.rows)
                .sum();
            for m in &summary.metrics {
                println!(
                    "  {:<6} {:<24} {:>12} rows {:>14} bytes",
                    m.role.as_str(),
                    m.table,
                    m.rows,
                    m.bytes
                );
            }
            println!(
                "FINISHED in {secs:.3}s: {read} rows read, {written} rows written, {:.0} rows/s",
                read as f64 / secs.max(1e-9)
            );
            Ok(())
        }
    }
}

/// Prints above the progress bar, or plainly when there is no terminal.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}
