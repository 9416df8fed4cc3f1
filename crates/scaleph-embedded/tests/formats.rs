//! Flink's `csv` and `json` formats byte for byte: `tests/formats/script.sql` writes every type
//! and every writing option into filesystem sinks; Flink 2.3 ran the same script and its files
//! are recorded in `tests/formats/expected.json` (keyed by the script's SHA-256; re-record with
//! `tests/formats/record_flink.py`). Each sink's files here must equal Flink's.

use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{CancellationToken, Engine, JobSettings, JobSpec};
use serde_json::Value;
use sha2::{Digest, Sha256};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/formats");

/// The files of one sink directory, concatenated in name order (hidden files left out).
fn sink_text(dir: &std::path::Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if p.is_dir() {
                stack.push(p);
            } else if !hidden {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[tokio::test]
async fn csv_and_json_files_equal_flinks() {
    let script = std::fs::read_to_string(format!("{DIR}/script.sql")).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/expected.json")).unwrap())
            .unwrap();
    assert_eq!(
        expected["script_sha256"].as_str(),
        Some(format!("{:x}", Sha256::digest(script.as_bytes())).as_str()),
        "script.sql changed since Flink's files were recorded: run tests/formats/record_flink.py"
    );
    let out = tempfile::tempdir().unwrap();
    let spec = JobSpec {
        name: "formats".into(),
        script: script
            .replace("${OUT}", &out.path().to_string_lossy())
            .replace("${IN}", &format!("{DIR}/input")),
        settings: batch(),
        ..Default::default()
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    EmbeddedEngine::new()
        .run(spec, tx, CancellationToken::new())
        .await
        .expect("the script runs");
    let sinks = expected["sinks"].as_object().unwrap();
    assert!(sinks.len() >= 13, "{} sinks recorded", sinks.len());
    let mut wrong = Vec::new();
    for (name, want) in sinks {
        let got = sink_text(&out.path().join(name));
        if got != want.as_str().unwrap() {
            wrong.push(format!("{name}:\n  flink: {want}\n  ours:  {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The error a script that must be refused gives.
async fn refusal(script: String) -> String {
    let spec = JobSpec {
        name: "refused".into(),
        script,
        settings: batch(),
        ..Default::default()
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    EmbeddedEngine::new()
        .run(spec, tx, CancellationToken::new())
        .await
        .expect_err("refused")
        .to_string()
}

/// Flink 2.3 refuses these tables when it plans the scan or the sink (`CsvRowSchemaConverter`:
/// "Unsupported type 'MAP<STRING, INT>' for field 'm'." and "Only simple types are supported in
/// the second level nesting of fields 'r' but was: MAP<STRING, INT>"); so does the embedded
/// engine, at the column, before anything runs.
#[tokio::test]
async fn csv_refuses_the_types_flink_refuses() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy();
    for (column, message) in [
        ("m MAP<STRING, INT>", "2:25: Unsupported type 'MAP<STRING, INT>' for field 'm'"),
        (
            "r ROW<a INT, m MAP<STRING, INT>>",
            "2:25: Only simple types are supported in the second level nesting of fields 'r' but was: MAP<STRING, INT>",
        ),
        (
            "r ARRAY<ARRAY<INT>>",
            "2:25: Only simple types are supported in the second level nesting of fields 'r' but was: ARRAY<INT>",
        ),
    ] {
        let script = format!(
            "SET 'execution.runtime-mode' = 'batch';\nCREATE TABLE t (id INT, {column}) WITH ('connector' = 'filesystem', 'path' = '{dir}/t', 'format' = 'csv');\nINSERT INTO t SELECT * FROM t;"
        );
        let err = refusal(script).await;
        assert!(err.contains(message), "{column}: {err}");
    }
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

/// Reading CSV with `csv.escape-character` fails where Flink 2.3 fails (messages checked with
/// PyFlink), naming the file's line: too many fields, too few, text after a closing quote.
#[tokio::test]
async fn escaped_csv_fails_as_flink_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, message) in [
        ("a,b,1\ne,f,7,extra\n", "line 2: Too many entries: expected at most 3"),
        ("a,b,1\n\nc,d,2\n", "line 2: Row length mismatch. 3 fields expected but was 1."),
        (
            "\"r\"s,t,8\n",
            "line 1: Unexpected character ('s' (code 115)): Expected column separator character (',' (code 44)) or end-of-line",
        ),
    ] {
        std::fs::write(dir.path().join("a.csv"), text).unwrap();
        let path = dir.path().to_string_lossy();
        let script = format!(
            "SET 'execution.runtime-mode' = 'batch';\nCREATE TABLE t (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv', 'csv.escape-character' = '\\');\nCREATE TABLE o (s1 STRING, s2 STRING, n INT) WITH ('connector' = 'blackhole');\nINSERT INTO o SELECT * FROM t;"
        );
        let err = refusal(script).await;
        assert!(err.contains(message), "{text:?}: {err}");
    }
}

/// Batch execution (as `-Dexecution.runtime-mode=batch` on Flink): these scripts are batch jobs.
fn batch() -> JobSettings {
    JobSettings {
        options: [("execution.runtime-mode".to_string(), "batch".to_string())].into(),
        ..Default::default()
    }
}
