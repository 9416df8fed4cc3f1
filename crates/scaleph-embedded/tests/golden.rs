//! Golden-file tests of the embedded engine (in the spirit of DataFusion's sqllogictest).
//!
//! Each `golden/*.sql` is a script followed by `-- ---- expected ----` and the expected output,
//! each line prefixed with `-- `: the run's STDOUT lines (print sinks, bare SELECTs) in order,
//! or a single `error: <line:column: message>` line when the script must fail. `${TMP}` is a
//! fresh directory per file; `${DATA}` is `tests/data`.

use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{CancellationToken, Engine, JobSettings, JobSpec, LogLevel, RunEvent};
use std::path::Path;

const MARK: &str = "-- ---- expected ----";

async fn run_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).unwrap();
    let (script, expected) = text.split_once(MARK).ok_or("no expected section")?;
    let tmp = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let script = script
        .replace("${TMP}", &tmp.path().to_string_lossy())
        .replace("${DATA}", data);
    let expected: Vec<String> = expected
        .lines()
        .filter_map(|l| {
            l.strip_prefix("-- ")
                .or(l.strip_prefix("--"))
                .map(str::to_string)
        })
        .filter(|l| !l.is_empty())
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = JobSpec {
        name: "golden".into(),
        script,
        settings: JobSettings {
            parallelism: Some(2),
            // Golden scripts are batch jobs (as `-Dexecution.runtime-mode=batch` on Flink).
            options: [("execution.runtime-mode".to_string(), "batch".to_string())].into(),
        },
        ..Default::default()
    };
    let result = EmbeddedEngine::new()
        .run(spec, tx, CancellationToken::new())
        .await;
    let mut got = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let RunEvent::Log(LogLevel::Stdout, l) = ev {
            got.push(l);
        }
    }
    if let Err(e) = result {
        got = vec![format!("error: {e}")];
    }
    if got != expected {
        return Err(format!(
            "expected:\n  {}\ngot:\n  {}",
            expected.join("\n  "),
            got.join("\n  ")
        ));
    }
    Ok(())
}

#[tokio::test]
async fn golden_scripts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "golden files present");
    let mut failures = Vec::new();
    for f in &files {
        if let Err(e) = run_file(f).await {
            failures.push(format!(
                "{}:\n{e}",
                f.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden files failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
