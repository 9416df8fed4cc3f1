//! Differential corpus: batch queries over TPC-H SF 0.01 and a table of NULLs, answered by
//! Flink 2.3 (recorded in `tests/corpus/flink_results.json`, keyed by the SHA-256 of the
//! corpus: `ddl.sql`, `queries.sql`, `gen_data.py`) and by the embedded engine here.
//!
//! Rows are compared as multisets; numbers to 1e-9 relative, decimals by value (`12.30` =
//! `12.3`), timestamps by instant text (`T` or space, trailing zeros). Each query's status —
//! `equal`, `refused` (`unsupported: …` at validation), `differs`, `error` — is recorded in
//! `tests/corpus/status.tsv` and the test fails when one changes (`SCALEPH_BLESS=1` rewrites
//! it). The data is generated at test time by `gen_data.py` (DuckDB's TPC-H generator,
//! deterministic), which the README's test command installs.

use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{Engine, JobSettings, PreviewRequest};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `(name, sql)` of every `-- name: …` query.
fn queries(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name: Option<String> = None;
    let mut sql = String::new();
    for line in text.lines() {
        if let Some(n) = line.trim().strip_prefix("-- name:") {
            if let Some(prev) = name.take() {
                out.push((prev, sql.trim().trim_end_matches(';').trim().to_string()));
            }
            name = Some(n.trim().to_string());
            sql.clear();
        } else if name.is_some() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    if let Some(prev) = name {
        out.push((prev, sql.trim().trim_end_matches(';').trim().to_string()));
    }
    out
}

/// A cell in comparable form.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
}

fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) && f.bytes().all(|b| b.is_ascii_digit())
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => Cell::Num(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) if is_decimal(s) => Cell::Num(s.parse().unwrap_or(f64::NAN)),
        Value::String(s) => {
            // `2024-01-01T10:00:00.500` and `2024-01-01 10:00:00.5` are the same instant.
            let b = s.as_bytes();
            if b.len() >= 16 && b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b' ') {
                let mut t = s.replacen('T', " ", 1);
                if t.contains('.') {
                    t = t.trim_end_matches('0').trim_end_matches('.').to_string();
                }
                if t.len() == 16 {
                    t.push_str(":00");
                }
                return Cell::Text(t);
            }
            Cell::Text(s.clone())
        }
        other => Cell::Text(other.to_string()),
    }
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Null, Cell::Null) => true,
        (Cell::Bool(x), Cell::Bool(y)) => x == y,
        (Cell::Num(x), Cell::Num(y)) => {
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) || (x - y).abs() < 1e-12
        }
        (Cell::Text(x), Cell::Text(y)) => x == y,
        _ => false,
    }
}

/// Sort key: numbers to 9 significant digits, so that equal-within-tolerance rows line up.
fn key(row: &[Cell]) -> String {
    let mut k = String::new();
    for c in row {
        let _ = match c {
            Cell::Null => write!(k, "\u{0}N|"),
            Cell::Bool(b) => write!(k, "B{b}|"),
            Cell::Num(x) => write!(k, "#{x:.8e}|"),
            Cell::Text(t) => write!(k, "T{t}|"),
        };
    }
    k
}

fn multiset_equal(flink: &[Vec<Value>], ours: &[Vec<Value>]) -> bool {
    if flink.len() != ours.len() {
        return false;
    }
    let prep = |rows: &[Vec<Value>]| {
        let mut r: Vec<Vec<Cell>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
        r.sort_by_key(|r| key(r));
        r
    };
    let (a, b) = (prep(flink), prep(ours));
    a.iter()
        .zip(&b)
        .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)))
}

#[tokio::test]
async fn corpus_matches_flink() {
    let ddl = read("ddl.sql");
    let text = read("queries.sql");
    let gen = read("gen_data.py");
    let hash = format!(
        "{:x}",
        Sha256::digest(format!("{ddl}\u{0}{text}\u{0}{gen}").as_bytes())
    );
    let recorded: Value = serde_json::from_str(&read("flink_results.json")).unwrap();
    assert_eq!(
        recorded["corpus_sha256"].as_str(),
        Some(hash.as_str()),
        "the corpus changed since Flink's answers were recorded: re-run tests/corpus/run_flink.py, then stamp.py"
    );
    let data = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("python3")
        .arg(format!("{DIR}/gen_data.py"))
        .arg(data.path())
        .status()
        .expect("python3 with duckdb (installed by scripts/setup-test-deps.sh)");
    assert!(st.success(), "gen_data.py failed");
    let ddl = ddl.replace("${DATA}", &data.path().to_string_lossy());
    let engine = EmbeddedEngine::new();
    let mut statuses = BTreeMap::new();
    let qs = queries(&text);
    assert!(qs.len() >= 200, "at least 200 queries: {}", qs.len());
    for (name, sql) in &qs {
        let flink = &recorded["results"][name];
        let req = PreviewRequest {
            script: format!("SET 'execution.runtime-mode' = 'batch';\n{ddl}\n{sql};"),
            settings: batch(),
            limit: 100_000,
            timeout: Duration::from_secs(120),
        };
        let status = match engine.preview(req).await {
            Err(e) if e.to_string().contains("unsupported") => "refused".to_string(),
            Err(e) => format!("error\t{}", e.to_string().replace(['\t', '\n'], " ")),
            Ok(p) => {
                let want: Vec<Vec<Value>> = flink["rows"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .map(|row| row.as_array().cloned().unwrap_or_default())
                            .collect()
                    })
                    .unwrap_or_default();
                if flink.get("error").is_some() {
                    "flink-error".to_string()
                } else if multiset_equal(&want, &p.rows) {
                    "equal".to_string()
                } else {
                    let got = serde_json::to_string(&p.rows).unwrap_or_default();
                    let got: String = got.chars().take(200).collect();
                    format!("differs\t{got}")
                }
            }
        };
        statuses.insert(name.clone(), status);
    }
    let count = |s: &str| {
        statuses
            .values()
            .filter(|v| v.split('\t').next() == Some(s))
            .count()
    };
    let summary = format!(
        "{} queries: {} equal, {} refused, {} differ, {} error",
        statuses.len(),
        count("equal"),
        count("refused"),
        count("differs"),
        count("error")
    );
    eprintln!("{summary}");
    let table: String = statuses
        .iter()
        .map(|(n, s)| format!("{n}\t{s}\n"))
        .collect();
    let path = format!("{DIR}/status.tsv");
    if std::env::var("SCALEPH_BLESS").is_ok() {
        std::fs::write(&path, &table).unwrap();
        return;
    }
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    let old: BTreeMap<&str, &str> = before
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, s)| (n, s.split('\t').next().unwrap_or(s)))
        .collect();
    let changed: Vec<String> = statuses
        .iter()
        .filter(|(n, s)| old.get(n.as_str()) != Some(&s.split('\t').next().unwrap_or(s)))
        .map(|(n, s)| format!("{n}: recorded {:?}, now {s}", old.get(n.as_str())))
        .collect();
    assert!(
        changed.is_empty(),
        "{summary}; {} statuses changed (SCALEPH_BLESS=1 records them):\n{}",
        changed.len(),
        changed.join("\n")
    );
}

#[test]
fn cells_compare_by_value() {
    let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    assert!(same(&cell(&v("\"12.30\"")), &cell(&v("12.3"))));
    assert!(same(
        &cell(&v("\"2024-01-01 10:00:00.5\"")),
        &cell(&v("\"2024-01-01T10:00:00.500\""))
    ));
    assert!(!same(&cell(&v("2")), &cell(&v("2.3333333333333335"))));
    assert!(same(&cell(&v("0.1")), &cell(&v("0.10000000000000001"))));
    assert!(multiset_equal(
        &[vec![v("1")], vec![v("2")]],
        &[vec![v("2")], vec![v("1.0")]]
    ));
}

/// Batch execution (as `-Dexecution.runtime-mode=batch` on Flink): these scripts are batch jobs.
fn batch() -> JobSettings {
    JobSettings {
        options: [("execution.runtime-mode".to_string(), "batch".to_string())].into(),
        ..Default::default()
    }
}
