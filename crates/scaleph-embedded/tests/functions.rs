//! Flink built-in function coverage of the embedded engine, kept true by running it.
//!
//! `tests/functions/coverage.tsv` lists every Flink 2.x built-in function with an example
//! query, Flink 2.3's answer (recorded by running the query on Flink in batch mode, UTC) and the
//! status on the embedded engine: `equal` (same value), `differs` (runs, another value — a
//! known difference), `refused` (`unsupported: … — run it on a Flink cluster` at validation) or
//! `error`. This test runs every query on the embedded engine, recomputes the status and fails
//! when it is not the recorded one; it also keeps `docs/functions.md` equal to the table
//! (`SCALEPH_BLESS=1` rewrites both files from what it observed).

use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{CancellationToken, Engine, JobSettings, JobSpec, LogLevel, RunEvent};
use std::fmt::Write;

const TSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/functions/coverage.tsv");
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/functions.md");

struct Row {
    category: String,
    function: String,
    query: String,
    flink: String,
    embedded: String,
    status: String,
}

/// The single output row of `query` on the embedded engine (inside `+I[…]`), or `!ERROR: …`.
async fn embedded(query: &str) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = JobSpec {
        name: "fn".into(),
        script: format!("{query};"),
        settings: batch(),
        ..Default::default()
    };
    let result = EmbeddedEngine::new()
        .run(spec, tx, CancellationToken::new())
        .await;
    if let Err(e) = result {
        // DataFusion's "Did you mean …" picks among equally close names in hash order.
        let e = e.to_string();
        let e = e.split("Did you mean").next().unwrap_or(&e).trim_end();
        return format!("!ERROR: {e}");
    }
    let mut rows = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let RunEvent::Log(LogLevel::Stdout, l) = ev {
            rows.push(l);
        }
    }
    match rows.as_slice() {
        [one] => one
            .strip_prefix("+I[")
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(one)
            .to_string(),
        _ => format!("!ROWS: {}", rows.join(" | ")),
    }
}

/// Flink's rendering and ours differ in spelling only for booleans, NULL and timestamps
/// (`2024-05-17 00:00:00.000` vs `2024-05-17T00:00`); values are compared after that.
fn normalize(v: &str) -> String {
    let v = v
        .replace("<NULL>", "NULL")
        .replace("TRUE", "true")
        .replace("FALSE", "false");
    let re = regex_lite(&v);
    re.trim().to_string()
}

/// Rewrites each `YYYY-MM-DD[ T]HH:MM[:SS[.f…]][Z]` to `YYYY-MM-DD HH:MM:SS[.f]` without
/// trailing zeros.
fn regex_lite(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let digits =
        |at: usize, n: usize| b.len() >= at + n && b[at..at + n].iter().all(u8::is_ascii_digit);
    while i < b.len() {
        let is_ts = digits(i, 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8, 2)
            && matches!(b.get(i + 10), Some(b' ' | b'T'))
            && digits(i + 11, 2)
            && b.get(i + 13) == Some(&b':')
            && digits(i + 14, 2);
        if !is_ts {
            out.push(s[i..].chars().next().expect("in bounds"));
            i += s[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let mut j = i + 16;
        let mut secs = "00".to_string();
        let mut frac = String::new();
        if b.get(j) == Some(&b':') && digits(j + 1, 2) {
            secs = s[j + 1..j + 3].to_string();
            j += 3;
            if b.get(j) == Some(&b'.') {
                let start = j + 1;
                j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                frac = s[start..j].trim_end_matches('0').to_string();
            }
        }
        if b.get(j) == Some(&b'Z') {
            j += 1;
        }
        let _ = write!(out, "{} {}:{secs}", &s[i..i + 10], &s[i + 11..i + 16]);
        if !frac.is_empty() {
            let _ = write!(out, ".{frac}");
        }
        i = j;
    }
    out
}

fn status(flink: &str, embedded: &str) -> &'static str {
    if embedded.contains("unsupported") {
        "refused"
    } else if embedded.starts_with('!') && flink.starts_with('!') {
        // Both refuse the example (e.g. a streaming-only function in batch mode).
        "equal"
    } else if embedded.starts_with('!') {
        "error"
    } else if normalize(flink) == normalize(embedded) {
        "equal"
    } else {
        "differs"
    }
}

fn parse(tsv: &str) -> Vec<Row> {
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "six fields: {l}");
            Row {
                category: f[0].into(),
                function: f[1].into(),
                query: f[2].into(),
                flink: f[3].into(),
                embedded: f[4].into(),
                status: f[5].into(),
            }
        })
        .collect()
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "# Flink built-in functions on the embedded engine\n\n\
         Generated by `crates/scaleph-embedded/tests/functions.rs` from\n\
         `crates/scaleph-embedded/tests/functions/coverage.tsv`; the test runs every example on\n\
         the embedded engine and fails when a status below is no longer true. Flink's values were\n\
         recorded by running the same query on Flink 2.3 (batch mode, `table.local-time-zone` =\n\
         UTC).\n\n\
         - **equal**: same value as Flink (or both refuse the example).\n\
         - **differs**: runs, with another value (a known difference; both values shown).\n\
         - **refused**: validation answers `unsupported: … — run it on a Flink cluster`.\n\
         - **error**: not understood by the embedded engine yet (a planning error).\n\n",
    );
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "Totals: {} functions — {} equal, {} differ, {} refused, {} error.\n",
        rows.len(),
        count("equal"),
        count("differs"),
        count("refused"),
        count("error")
    );
    let mut category = "";
    for r in rows {
        if r.category != category {
            category = &r.category;
            let _ = writeln!(
                out,
                "\n## {category}\n\n| function | status | example | Flink | embedded |\n|---|---|---|---|---|"
            );
        }
        let cell = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            cell(&r.function),
            r.status,
            cell(&r.query),
            cell(&r.flink),
            cell(&r.embedded)
        );
    }
    out
}

#[tokio::test]
async fn function_coverage_is_true() {
    let tsv = std::fs::read_to_string(TSV).expect("coverage.tsv");
    let header = tsv.lines().next().unwrap_or_default().to_string();
    let mut rows = parse(&tsv);
    assert!(rows.len() >= 150, "the whole function list: {}", rows.len());
    let mut wrong = Vec::new();
    for r in &mut rows {
        let got = embedded(&r.query).await;
        let s = status(&r.flink, &got);
        if s != r.status {
            wrong.push(format!(
                "{} `{}`: recorded {}, now {s} (Flink {}, embedded {got})",
                r.category, r.function, r.status, r.flink
            ));
        }
        r.embedded = got.replace(['\t', '\n'], " ");
        r.status = s.to_string();
    }
    let doc = markdown(&rows);
    if std::env::var("SCALEPH_BLESS").is_ok() {
        let mut out = header + "\n";
        for r in &rows {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                r.category, r.function, r.query, r.flink, r.embedded, r.status
            );
        }
        std::fs::write(TSV, out).unwrap();
        std::fs::write(DOC, &doc).unwrap();
        return;
    }
    assert!(
        wrong.is_empty(),
        "{} statuses changed (SCALEPH_BLESS=1 rewrites the table):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let current = std::fs::read_to_string(DOC).unwrap_or_default();
    assert!(
        current == doc,
        "docs/functions.md is out of date (SCALEPH_BLESS=1 cargo test --test functions)"
    );
}

#[test]
fn timestamps_compare_by_value() {
    assert_eq!(
        normalize("2024-05-17 00:00:00.000, TRUE"),
        normalize("2024-05-17T00:00, true")
    );
    assert_ne!(
        normalize("2024-05-17 00:00:01"),
        normalize("2024-05-17T00:00")
    );
    assert_ne!(normalize("3"), normalize("3.0"));
}

/// `CAST(x AS STRING)` byte for byte: the coverage table compares timestamps and booleans
/// loosely, as Flink prints them differently from how it casts them. Expected strings are
/// what Flink 2.3 returned for the same expressions (batch mode, `table.local-time-zone` UTC).
#[tokio::test]
async fn cast_to_string_is_flinks_text() {
    let cases = [
        (
            "CAST(TIMESTAMP '2024-01-02 03:04:05' AS STRING)",
            "2024-01-02 03:04:05",
        ),
        (
            "CAST(TIMESTAMP '2024-01-02 03:04:05.120' AS STRING)",
            "2024-01-02 03:04:05.120",
        ),
        (
            "CAST(CAST(TIMESTAMP '2024-01-02 03:04:05' AS TIMESTAMP(3)) AS STRING)",
            "2024-01-02 03:04:05.000",
        ),
        (
            "CAST(CAST(TIMESTAMP '2024-01-02 03:04:05.1' AS TIMESTAMP(6)) AS STRING)",
            "2024-01-02 03:04:05.100000",
        ),
        (
            "CAST(TO_TIMESTAMP_LTZ(1700000000123, 3) AS STRING)",
            "2023-11-14 22:13:20.123",
        ),
        ("CAST(TRUE AS STRING)", "TRUE"),
        ("CAST(TIME '01:02:03.456' AS STRING)", "01:02:03.456"),
        ("CAST(DATE '2024-01-02' AS STRING)", "2024-01-02"),
        ("CAST(CAST('héllo' AS BYTES) AS STRING)", "héllo"),
        ("CAST(CAST(1.5 AS FLOAT) AS STRING)", "1.5"),
        ("CAST(ARRAY[1,2,3] AS STRING)", "[1, 2, 3]"),
        (
            "CAST(ARRAY['a', CAST(NULL AS STRING)] AS STRING)",
            "[a, NULL]",
        ),
        ("CAST(ARRAY[1.5, 2.25] AS STRING)", "[1.50, 2.25]"),
        ("CAST(ARRAY[TRUE, FALSE] AS STRING)", "[TRUE, FALSE]"),
        (
            "CAST(ARRAY[TIMESTAMP '2024-01-02 03:04:05.120'] AS STRING)",
            "[2024-01-02 03:04:05.120]",
        ),
        ("CAST(MAP['a',1,'b',2] AS STRING)", "{a=1, b=2}"),
        ("CAST(ROW(1,'x') AS STRING)", "(1, x)"),
        ("CAST(ROW(1, ROW('y', 2.5)) AS STRING)", "(1, (y, 2.5))"),
        (
            "CAST(ROW(DATE '2024-01-02', 1.5e0) AS STRING)",
            "(2024-01-02, 1.5)",
        ),
    ];
    let mut wrong = Vec::new();
    for (expr, flink) in cases {
        let got = embedded(&format!("SELECT {expr}")).await;
        if got != flink {
            wrong.push(format!("{expr}: Flink {flink:?}, embedded {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Batch execution (as `-Dexecution.runtime-mode=batch` on Flink): these scripts are batch jobs.
fn batch() -> JobSettings {
    JobSettings {
        options: [("execution.runtime-mode".to_string(), "batch".to_string())].into(),
        ..Default::default()
    }
}

/// `CAST(<TIMESTAMP_LTZ> AS STRING)` writes the wall clock in `table.local-time-zone`; a
/// TIMESTAMP is not shifted. Expected: Flink 2.3's answer to the same query (PyFlink, batch).
#[tokio::test]
async fn timestamp_ltz_casts_in_the_session_time_zone() {
    let got = embedded(
        "SET 'table.local-time-zone' = 'Asia/Shanghai';
SELECT CAST(TO_TIMESTAMP_LTZ(0, 3) AS STRING), CAST(TO_TIMESTAMP_LTZ(1700000000123, 3) AS STRING), CAST(TIMESTAMP '2024-01-01 00:00:00' AS STRING)",
    )
    .await;
    assert_eq!(
        got,
        "1970-01-01 08:00:00.000, 2023-11-15 06:13:20.123, 2024-01-01 00:00:00"
    );
}
