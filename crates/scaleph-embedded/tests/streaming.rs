//! Streaming execution against Flink 2.3 (`tests/streaming/`).
//!
//! `events.csv` holds 60 events whose timestamps run out of order (within the 2 s watermark
//! bound) and late (5–12 s behind); `orders.csv` 40 more, joined with them; `dims.csv` a small
//! bounded table with duplicate, missing and NULL keys. (Outer interval joins leave the late
//! rows out: which rows of two sources a late row meets depends on how the sources interleave,
//! on Flink as here.) Every query of `queries.sql` runs in streaming mode after
//! `ddl.sql` (per-row watermarks: `pipeline.auto-watermark-interval` = 0, so which rows are late
//! is deterministic on both engines). The changelog the job prints (`+I`, `-U`, `+U`, `-D`) is
//! materialised and compared, as a sorted multiset of rows, with what Flink 2.3 produced for the
//! same script (`flink_results.json`, recorded by `record_flink.py` running Flink in streaming
//! mode).

use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{CancellationToken, Engine, JobSettings, JobSpec, LogLevel, RunEvent};
use std::collections::BTreeMap;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/streaming");

fn queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{DIR}/queries.sql")).expect("queries.sql");
    text.split("-- name: ")
        .skip(1)
        .map(|b| {
            let (name, sql) = b.split_once('\n').expect("a query after its name");
            (name.trim().to_string(), sql.trim().to_string())
        })
        .collect()
}

/// Runs `script` in streaming mode (the default); returns its printed changelog.
async fn run(script: String) -> Result<Vec<String>, String> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = JobSpec {
        name: "streaming".into(),
        script,
        settings: streaming(),
        ..Default::default()
    };
    EmbeddedEngine::new()
        .run(spec, tx, CancellationToken::new())
        .await
        .map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let RunEvent::Log(LogLevel::Stdout, l) = ev {
            lines.push(l);
        }
    }
    Ok(lines)
}

type Job = tokio::task::JoinHandle<Result<scaleph_engine::RunSummary, scaleph_engine::EngineError>>;

/// Starts `script` as an unbounded streaming job; its events arrive on the receiver.
fn spawn(
    name: &str,
    script: String,
) -> (
    Job,
    tokio::sync::mpsc::UnboundedReceiver<RunEvent>,
    CancellationToken,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let spec = JobSpec {
        name: name.into(),
        script,
        settings: streaming(),
        ..Default::default()
    };
    let job = tokio::spawn({
        let cancel = cancel.clone();
        async move { EmbeddedEngine::new().run(spec, tx, cancel).await }
    });
    (job, rx, cancel)
}

/// Cancels a job started by [`spawn`] and waits for it to end.
async fn stop(job: Job, cancel: CancellationToken) {
    cancel.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), job)
        .await
        .expect("cancelled in time");
}

/// The final rows of a printed changelog: `+I`/`+U` add a row, `-U`/`-D` remove one.
fn materialise(lines: &[String]) -> Result<Vec<Vec<String>>, String> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for l in lines {
        let (kind, rest) = l.split_at(2);
        let cells: Vec<String> = rest
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| format!("not a changelog row: {l}"))?
            .split(", ")
            .map(str::to_string)
            .collect();
        match kind {
            "+I" | "+U" => rows.push(cells),
            "-U" | "-D" => {
                let i = rows
                    .iter()
                    .position(|r| *r == cells)
                    .ok_or_else(|| format!("{l} retracts a row that is not there"))?;
                rows.remove(i);
            }
            _ => return Err(format!("unknown row kind in {l}")),
        }
    }
    rows.sort();
    Ok(rows)
}

#[tokio::test]
async fn streaming_queries_equal_flink() {
    let ddl = std::fs::read_to_string(format!("{DIR}/ddl.sql"))
        .expect("ddl.sql")
        .replace("{dir}", DIR);
    let flink: BTreeMap<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(format!("{DIR}/flink_results.json")).expect("recorded results"),
    )
    .expect("json");
    let mut failures = Vec::new();
    let all = queries();
    assert!(all.len() >= 25, "the corpus has {} queries", all.len());
    for (name, sql) in &all {
        let want: Vec<Vec<String>> = match flink.get(name) {
            Some(serde_json::Value::Array(rows)) => rows
                .iter()
                .map(|r| {
                    r.as_array()
                        .expect("a row")
                        .iter()
                        .map(|v| v.as_str().map_or("NULL".to_string(), str::to_string))
                        .collect()
                })
                .collect(),
            other => panic!("{name}: no Flink result recorded ({other:?})"),
        };
        let mut want = want;
        want.sort();
        let got = match run(format!("{ddl}\n{sql}")).await {
            // A job logs the first 1,000 rows of a bare SELECT: a longer changelog cannot be
            // compared.
            Ok(lines) if lines.len() >= 1000 => Err(format!(
                "{} changelog rows: beyond what the job log shows",
                lines.len()
            )),
            Ok(lines) => materialise(&lines),
            Err(e) => Err(e),
        };
        match got {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{name}: {} rows, Flink {}\n  first differences: {:?}",
                got.len(),
                want.len(),
                got.iter()
                    .filter(|r| !want.contains(r))
                    .chain(want.iter().filter(|r| !got.contains(r)))
                    .take(4)
                    .collect::<Vec<_>>()
            )),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} streaming queries differ from Flink:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn unsupported_streaming_constructs_are_refused_with_position() {
    let ddl = "CREATE TABLE ev (id INT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)\n  WITH ('connector' = 'datagen');\n";
    let cases = [
        (
            "SELECT k FROM ev\nORDER BY k;",
            "4:1: unsupported: ORDER BY without LIMIT",
        ),
        (
            "SELECT k,\n  SUM(id) OVER (PARTITION BY k ORDER BY id) FROM ev;",
            "4:11: unsupported: an OVER window not ordered by the time attribute ascending",
        ),
        (
            "SELECT k FROM ev\nWHERE id NOT IN (SELECT id FROM ev);",
            "4:10: unsupported: NOT IN over a subquery",
        ),
        (
            // Arithmetic on the rowtime makes a plain TIMESTAMP (as in Flink).
            "CREATE VIEW v AS SELECT id, ts + INTERVAL '1' SECOND AS t2 FROM ev;\nSELECT window_start FROM TABLE(TUMBLE(TABLE v, DESCRIPTOR(t2), INTERVAL '1' SECOND)) GROUP BY window_start, window_end;",
            "4:48: unsupported: a window over a column that is not a time attribute",
        ),
        (
            // Each grouping set runs as an aggregate of its own: a bound on how many.
            "CREATE VIEW w AS SELECT id, k, id + 1 AS a, id + 2 AS b, id + 3 AS c, id + 4 AS d, id + 5 AS e, id + 6 AS f, id + 7 AS g FROM ev;\nSELECT COUNT(*) FROM w GROUP BY CUBE (id, k, a, b, c, d, e, f, g);",
            "4:33: unsupported: a CUBE of more than 8 expressions",
        ),
    ];
    for (q, want) in cases {
        let err = EmbeddedEngine::new()
            .validate(&format!("{ddl}{q}"), &streaming())
            .await
            .expect_err(q)
            .to_string();
        assert!(err.starts_with(want), "{q}: {err}");
        assert!(err.ends_with("— run it on a Flink cluster"), "{err}");
    }
    // An updating query into an insert-only sink: Flink's message, at the sink's name.
    let script = format!(
        "{ddl}CREATE TABLE out (k STRING, c BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv');\nINSERT INTO out SELECT k, COUNT(*) FROM ev GROUP BY k;"
    );
    let err = refusal(&script, "updating into filesystem").await;
    assert!(
        err.starts_with("4:13: Table sink 'default_catalog.default_database.out' doesn't support consuming update changes which is produced by node GroupAggregate(groupBy=[k]"),
        "{err}"
    );
    // An outer join's changelog (null-padded rows retracted) is refused the same way.
    let script = format!(
        "{ddl}CREATE TABLE out (k STRING, c STRING) WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv');\nINSERT INTO out SELECT a.k, b.k FROM ev a LEFT JOIN ev b ON a.id = b.id;"
    );
    let err = refusal(&script, "outer join into filesystem").await;
    assert!(
        err.contains("produced by node Join(joinType=[LeftOuterJoin]"),
        "{err}"
    );
    // A filter between a SESSION window TVF and its aggregation makes it a group aggregation
    // (Flink 2.3 plans `GroupAggregate` over `Calc(where)`), updating, so refused likewise.
    let script = format!(
        "{ddl}CREATE TABLE out (ws TIMESTAMP(3), c BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x', 'format' = 'csv');\nINSERT INTO out SELECT window_start, COUNT(*) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' SECOND)) WHERE id > 0 GROUP BY window_start, window_end;"
    );
    let err = refusal(&script, "filtered session aggregation into filesystem").await;
    assert!(err.contains("produced by node GroupAggregate("), "{err}");
    // Without the filter it is a window aggregation, insert-only, and accepted.
    let script = script.replace(" WHERE id > 0", "");
    EmbeddedEngine::new()
        .validate(&script, &streaming())
        .await
        .expect("session window aggregation into filesystem");
}

#[tokio::test]
async fn unbounded_datagen_streams_until_cancelled() {
    let script = "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000');\nSELECT COUNT(*) FROM g;".to_string();
    let (job, mut rx, cancel) = spawn("unbounded", script);
    // Updates of the running count arrive while the job runs.
    let mut updates = 0;
    while updates < 5 {
        match tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv()).await {
            Ok(Some(RunEvent::Log(LogLevel::Stdout, l))) if l.starts_with("+U[") => updates += 1,
            Ok(Some(_)) => {}
            other => panic!("the job stopped producing rows: {other:?}"),
        }
    }
    assert!(
        !job.is_finished(),
        "an unbounded job does not finish by itself"
    );
    stop(job, cancel).await;
}

/// `execution.runtime-mode` = `streaming`.
/// The validation error of a streaming `script` (`what` names the case when it validates).
async fn refusal(script: &str, what: &str) -> String {
    EmbeddedEngine::new()
        .validate(script, &streaming())
        .await
        .expect_err(what)
        .to_string()
}

fn streaming() -> JobSettings {
    JobSettings {
        options: [(
            "execution.runtime-mode".to_string(),
            "streaming".to_string(),
        )]
        .into(),
        ..Default::default()
    }
}

/// Operator state is charged to the query's memory pool: an unbounded job grouping by an
/// ever-growing key fails with a clear error instead of exhausting the process.
#[tokio::test]
async fn unbounded_state_fails_at_the_memory_limit() {
    let mut cfg = scaleph_embedded::EmbeddedConfig::default();
    cfg.limits.query_memory_bytes = 8 << 20;
    let script = "CREATE TABLE g (id BIGINT, s STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '200000');\nCREATE TABLE b (id BIGINT, c BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id, COUNT(*) FROM g GROUP BY id;".to_string();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = JobSpec {
        name: "growing".into(),
        script,
        settings: streaming(),
        ..Default::default()
    };
    let engine = EmbeddedEngine::with_config(cfg);
    let run = engine.run(spec, tx, CancellationToken::new());
    let err = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("fails before the timeout")
        .expect_err("state beyond the limit")
        .to_string();
    assert!(
        err.contains("operator state") && err.contains("exceeds the query memory limit"),
        "{err}"
    );
}

/// A processing-time interval join (Flink's `ProcTimeIntervalJoin`): rows of both sides meet
/// when their `PROCTIME()` values lie within the bounds; every id of two bounded sequences read
/// within seconds of each other joins exactly once, and a bound of zero width around rows read
/// an hour apart joins nothing.
#[tokio::test]
async fn proctime_interval_join() {
    let ddl = "CREATE TABLE l (id BIGINT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '300', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '300');\nCREATE TABLE r (id BIGINT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '300', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '300');\n";
    let joined = format!("{ddl}SELECT COUNT(*), COUNT(DISTINCT l.id), SUM(l.id) FROM l JOIN r ON l.id = r.id AND r.pt BETWEEN l.pt - INTERVAL '1' HOUR AND l.pt + INTERVAL '1' HOUR;");
    let rows =
        materialise(&run(joined).await.expect("proctime interval join")).expect("a changelog");
    assert_eq!(
        rows,
        vec![vec!["300".to_string(), "300".into(), "45150".into()]]
    );
    let none = format!("{ddl}SELECT COUNT(*) FROM l JOIN r ON l.id = r.id AND r.pt BETWEEN l.pt + INTERVAL '1' HOUR AND l.pt + INTERVAL '2' HOUR;");
    let rows = materialise(&run(none).await.expect("proctime interval join")).expect("a changelog");
    assert!(
        rows.is_empty() || rows == vec![vec!["0".to_string()]],
        "{rows:?}"
    );
}

/// The first two windows a processing-time job prints (`+I[…]` lines, 20 s at most each);
/// they differ.
async fn two_windows(rx: &mut tokio::sync::mpsc::UnboundedReceiver<RunEvent>) -> Vec<String> {
    let mut windows = Vec::new();
    while windows.len() < 2 {
        match tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv()).await {
            Ok(Some(RunEvent::Log(LogLevel::Stdout, l))) if l.starts_with("+I[") => windows.push(l),
            Ok(Some(_)) => {}
            other => panic!("no processing-time window closed: {other:?}"),
        }
    }
    assert_ne!(windows[0], windows[1], "two different windows closed");
    windows
}

/// `PROCTIME()` as the time attribute: a bounded source's processing-time windows all close
/// when it ends (every row counted once); an unbounded source's close on the wall clock.
#[tokio::test]
async fn proctime_windows_close_on_the_clock() {
    let bounded = "CREATE TABLE g (id BIGINT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '500');\nSELECT COUNT(*), SUM(c) FROM (SELECT window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE g, DESCRIPTOR(pt), INTERVAL '1' SECOND)) GROUP BY window_start, window_end);".to_string();
    let rows =
        materialise(&run(bounded).await.expect("bounded proctime job")).expect("a changelog");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0][1], "500",
        "every row in exactly one window: {rows:?}"
    );

    let script = "CREATE TABLE g (id BIGINT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'rows-per-second' = '2000');\nSELECT CAST(window_end AS STRING), COUNT(*) FROM TABLE(TUMBLE(TABLE g, DESCRIPTOR(pt), INTERVAL '1' SECOND)) GROUP BY window_start, window_end;".to_string();
    let (job, mut rx, cancel) = spawn("proctime", script);
    two_windows(&mut rx).await;
    assert!(!job.is_finished(), "an unbounded job keeps running");
    stop(job, cancel).await;
}

/// `PROCTIME()` added by a view (Nexmark q12's form) over a table whose event time stands
/// still: windows over the view's processing time close on the wall clock all the same, and
/// a bounded source's all close when it ends.
#[tokio::test]
async fn proctime_of_a_view_windows_on_the_clock() {
    let ddl = "CREATE TABLE g (id BIGINT, ts AS TIMESTAMP '2000-01-01 00:00:00', WATERMARK FOR ts AS ts) WITH ('connector' = 'datagen', ROWS);\nCREATE VIEW gp AS SELECT *, PROCTIME() AS p FROM g;\n";
    let query = "SELECT CAST(window_end AS STRING), COUNT(*) AS c FROM TABLE(TUMBLE(TABLE gp, DESCRIPTOR(p), INTERVAL '1' SECOND)) GROUP BY window_start, window_end";
    let bounded = format!(
        "{}SELECT COUNT(*), SUM(c) FROM ({query});",
        ddl.replace("ROWS", "'number-of-rows' = '500'")
    );
    let rows =
        materialise(&run(bounded).await.expect("bounded proctime job")).expect("a changelog");
    assert_eq!(
        rows[0][1], "500",
        "every row in exactly one window: {rows:?}"
    );

    let script = format!(
        "{}{query};",
        ddl.replace("ROWS", "'rows-per-second' = '2000'")
    );
    let (job, mut rx, cancel) = spawn("view-proctime", script);
    let year = chrono::Utc::now().format("%Y").to_string();
    let windows = two_windows(&mut rx).await;
    assert!(
        windows
            .iter()
            .all(|w| w.starts_with(&format!("+I[{year}-"))),
        "windows of the wall clock: {windows:?}"
    );
    stop(job, cancel).await;
}

/// `table.exec.state.ttl`: a group not updated for longer than the TTL is forgotten, and its
/// key's next row starts it anew (`+I`), as Flink drops expired state.
#[tokio::test]
async fn state_ttl_forgets_idle_groups() {
    let script = "SET 'table.exec.state.ttl' = '100 ms';\nCREATE TABLE g (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '4', 'fields.k.min' = '1', 'fields.k.max' = '1');\nSELECT k, COUNT(*) FROM g GROUP BY k;".to_string();
    let (job, mut rx, cancel) = spawn("ttl", script);
    // Rows come every 250 ms: each finds its group expired and starts it again.
    let mut fresh = 0;
    while fresh < 3 {
        match tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv()).await {
            Ok(Some(RunEvent::Log(LogLevel::Stdout, l))) if l == "+I[1, 1]" => fresh += 1,
            Ok(Some(_)) => {}
            other => panic!("the group was not forgotten: {other:?}"),
        }
    }
    stop(job, cancel).await;
}

/// `table.exec.state.ttl` in a regular join: a stored row not written for the TTL no longer
/// matches (Flink drops it). One left row read at the start meets every right row without a
/// TTL, and only those within 100 ms of it with one.
#[tokio::test]
async fn state_ttl_expires_join_rows() {
    let body = "CREATE TABLE l (k INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1', 'fields.k.min' = '1', 'fields.k.max' = '1');\nCREATE TABLE r (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '5', 'fields.k.min' = '1', 'fields.k.max' = '1');\nSELECT l.k, r.k FROM l JOIN r ON l.k = r.k;";
    // Joined rows printed in the job's first 2 s.
    async fn joined(script: String) -> usize {
        let (job, mut rx, cancel) = spawn("join-ttl", script);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut n = 0;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(RunEvent::Log(LogLevel::Stdout, l))) if l.starts_with("+I[") => n += 1,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        stop(job, cancel).await;
        n
    }
    let without = joined(body.to_string()).await;
    assert!(
        without >= 4,
        "without a TTL every right row joins: {without}"
    );
    let with = joined(format!("SET 'table.exec.state.ttl' = '100 ms';\n{body}")).await;
    assert!(
        with <= 2,
        "with a 100 ms TTL the left row expires: {with} joined"
    );
}

/// `source.monitor-interval`: files that appear in the directory while the job runs are read,
/// each once; hidden (`.`-prefixed) files are not.
#[tokio::test]
async fn filesystem_monitor_reads_new_files_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.csv"), "1,x\n2,y\n").expect("write");
    let script = format!(
        "CREATE TABLE f (id INT, s STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'source.monitor-interval' = '50 ms');\nSELECT id, s FROM f;",
        dir.path().display()
    );
    let (job, mut rx, cancel) = spawn("monitor", script);
    let mut rows = lines(&mut rx, 2).await;
    // A file being written stays hidden until it is renamed into place.
    std::fs::write(dir.path().join(".b.csv.inprogress"), "3,z\n").expect("write");
    std::fs::rename(
        dir.path().join(".b.csv.inprogress"),
        dir.path().join("b.csv"),
    )
    .expect("rename");
    rows.extend(lines(&mut rx, 1).await);
    std::fs::write(dir.path().join("c.csv"), "4,w\n").expect("write");
    rows.extend(lines(&mut rx, 1).await);
    rows.sort();
    assert_eq!(rows, ["+I[1, x]", "+I[2, y]", "+I[3, z]", "+I[4, w]"]);
    assert!(!job.is_finished(), "a monitored source does not end");
    stop(job, cancel).await;
}

/// `source.monitor-interval` on a partitioned table: files of new `k=v` directories are read
/// with their partition values (the default partition name is NULL), also when the CSV is
/// read with an escape character.
#[tokio::test]
async fn filesystem_monitor_discovers_new_partitions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let part = |d: &str, name: &str, text: &str| {
        let p = dir.path().join(d);
        std::fs::create_dir_all(&p).expect("dir");
        std::fs::write(p.join(format!(".{name}.tmp")), text).expect("write");
        std::fs::rename(p.join(format!(".{name}.tmp")), p.join(name)).expect("rename");
    };
    part("dt=2024-01-01", "a.csv", "1,x\\,y\n");
    let script = format!(
        "CREATE TABLE f (id INT, s STRING, dt DATE) PARTITIONED BY (dt) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'csv.escape-character' = '\\', 'source.monitor-interval' = '50 ms');\nSELECT id, s, dt FROM f;",
        dir.path().display()
    );
    let (job, mut rx, cancel) = spawn("monitor-partitions", script);
    let mut rows = lines(&mut rx, 1).await;
    part("dt=2024-01-02", "b.csv", "2,z\n3,w\n");
    rows.extend(lines(&mut rx, 2).await);
    part("dt=__DEFAULT_PARTITION__", "c.csv", "4,v\n");
    rows.extend(lines(&mut rx, 1).await);
    rows.sort();
    assert_eq!(
        rows,
        [
            "+I[1, x,y, 2024-01-01]",
            "+I[2, z, 2024-01-02]",
            "+I[3, w, 2024-01-02]",
            "+I[4, v, NULL]"
        ]
    );
    stop(job, cancel).await;
}

/// Stdout lines of a running job until `want` arrived (panics after 20 s in all).
async fn lines(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<RunEvent>,
    want: usize,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < want {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(RunEvent::Log(LogLevel::Stdout, l))) => got.push(l),
            Ok(Some(_)) => {}
            other => panic!("{} of {want} rows: {got:?} ({other:?})", got.len()),
        }
    }
    got
}

/// `table.exec.source.idle-timeout`: a source that stops sending rows stops holding back the
/// watermark (Flink's idle watermark status) while another keeps going; without the timeout,
/// windows wait for it.
#[tokio::test]
async fn idle_sources_stop_holding_back_the_watermark() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).expect("dir");
    std::fs::create_dir_all(&b).expect("dir");
    std::fs::write(b.join("1.csv"), "0,2024-01-01 00:00:00.000\n").expect("write");
    // `a` keeps getting a file of one second's rows every 50 ms.
    let feeder = tokio::spawn({
        let a = a.clone();
        async move {
            for s in 1..=40 {
                let row = format!("{s},2024-01-01 00:00:{s:02}.000\n");
                let tmp = a.join(format!(".{s}.tmp"));
                std::fs::write(&tmp, row).expect("write");
                std::fs::rename(&tmp, a.join(format!("{s:03}.csv"))).expect("rename");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    });
    let script = |idle: &str| {
        format!(
            "{idle}CREATE TABLE a (id INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'source.monitor-interval' = '20 ms');\nCREATE TABLE b (id INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv', 'source.monitor-interval' = '20 ms');\nCREATE VIEW u AS SELECT * FROM a UNION ALL SELECT * FROM b;\nSELECT CAST(window_start AS STRING), COUNT(*) FROM TABLE(TUMBLE(TABLE u, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;",
            a.display(),
            b.display()
        )
    };
    // Idle after 300 ms: `b` no longer holds the watermark at 00:00:00.
    let (job, mut rx, cancel) = spawn(
        "idle",
        script("SET 'table.exec.source.idle-timeout' = '300 ms';\n"),
    );
    let mut windows = lines(&mut rx, 2).await;
    windows.sort();
    assert_eq!(
        windows,
        [
            "+I[2024-01-01 00:00:00.000, 10]",
            "+I[2024-01-01 00:00:10.000, 10]"
        ]
    );
    stop(job, cancel).await;
    feeder.await.expect("feeder");
    // Without the timeout the idle source holds every window back.
    let (job, mut rx, cancel) = spawn("held", script(""));
    let held = tokio::time::timeout(std::time::Duration::from_secs(1), lines(&mut rx, 1)).await;
    assert!(held.is_err(), "a window fired: {held:?}");
    stop(job, cancel).await;
}

/// The Nexmark table and views of the benchmark over the `nexmark` connector with `options`.
fn nexmark_ddl(options: &str) -> String {
    include_str!("../../../bench/nexmark/ddl.sql").replace(
        "${CONNECTOR}",
        &format!("'connector' = 'nexmark', {options}"),
    )
}

#[tokio::test]
async fn nexmark_source_generates_the_standard_event_mix() {
    let ddl = nexmark_ddl("'events.num' = '10000'");
    // Bounded (`events.num`), so batch mode reads it too: final counts without the changelog.
    let batch = "SET 'execution.runtime-mode' = 'batch';";
    // Proportions 1 : 3 : 46 (person : auction : bid) of every 50 events.
    let lines = run(format!(
        "{batch}\n{ddl}\nSELECT event_type, COUNT(*) FROM nexmark GROUP BY event_type;"
    ))
    .await
    .unwrap();
    assert_eq!(
        materialise(&lines).unwrap(),
        [["0", "200"], ["1", "600"], ["2", "9200"]]
    );
    // The views name ROW fields as Flink does (`bid.price` is `price`); ids start at 1000;
    // event time advances at `first-event.rate` (10,000 events/s: 10,000 events in 1 s).
    let lines = run(format!(
        "{batch}\n{ddl}\nSELECT COUNT(*) AS n, MIN(price) > 0 AS priced, MIN(auction) >= 1000 AS ids,
           TIMESTAMPDIFF(SECOND, MIN(dateTime), MAX(dateTime)) <= 1 AS span FROM bid;"
    ))
    .await
    .unwrap();
    assert_eq!(
        materialise(&lines).unwrap().last().unwrap(),
        &["9200", "true", "true", "true"]
    );
    // Windows over event time: every bid lands in one 100 ms window (the second spans 10 or
    // 11 of them), none is late.
    let lines = run(format!(
        "{ddl}\nSELECT COUNT(*) BETWEEN 10 AND 11 AS windows, SUM(n) AS bids FROM (
           SELECT window_start, COUNT(*) AS n
           FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '0.1' SECOND))
           GROUP BY window_start, window_end);"
    ))
    .await
    .unwrap();
    assert_eq!(
        materialise(&lines).unwrap().last().unwrap(),
        &["true", "9200"]
    );
    // A wrong schema is refused at the table.
    let e = run(
        "CREATE TABLE n (event_type INT, x STRING) WITH ('connector' = 'nexmark');
         SELECT * FROM n;"
            .into(),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("1:14") && e.contains("nexmark-flink's schema"),
        "{e}"
    );
}

/// The streaming filesystem sink: files are published by checkpoints (never half-written),
/// partitions get `_SUCCESS` when the watermark passes their time plus the delay
/// (`partition-time`), the rest at the end of the input.
#[tokio::test]
async fn filesystem_sink_commits_files_and_partitions_on_checkpoints() {
    let out = tempfile::tempdir().expect("temp dir");
    // Event time = id seconds: ids 1..=7199 span hours 00 and 01 (id 3600 opens hour 01).
    let script = format!(
        "SET 'execution.checkpointing.interval' = '100 ms';
CREATE TABLE src (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 1000, 3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'datagen', 'number-of-rows' = '7199', 'rows-per-second' = '3000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '7199');
CREATE TABLE out (id BIGINT, h STRING) PARTITIONED BY (h) WITH ('connector' = 'filesystem',
  'path' = '{}', 'format' = 'csv', 'sink.rolling-policy.rollover-interval' = '200 ms',
  'sink.partition-commit.trigger' = 'partition-time',
  'partition.time-extractor.timestamp-pattern' = '1970-01-01 $h:00:00',
  'sink.partition-commit.delay' = '1 h',
  'sink.partition-commit.policy.kind' = 'success-file');
INSERT INTO out SELECT id, DATE_FORMAT(ts, 'HH') FROM src;",
        out.path().display()
    );
    let (job, _rx, cancel) = spawn("partitions", script);
    let p0 = out.path().join("h=00");
    let p1 = out.path().join("h=01");
    let ids_in = |d: &std::path::Path| -> Vec<i64> {
        let mut ids = Vec::new();
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(['.', '_']) {
                continue;
            }
            for l in std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
            {
                ids.push(l.parse().unwrap());
            }
        }
        ids.sort_unstable();
        ids
    };
    // Hour 00 (ids 1..=3599) is committed once the watermark passes 00:00 + the 1 h delay
    // (id 3600), after its files are published; hour 01 only at the end of the input (its
    // time + delay, 02:00, is never reached).
    let t0 = std::time::Instant::now();
    while !p0.join("_SUCCESS").exists() {
        assert!(t0.elapsed().as_secs() < 20, "hour 00 was never committed");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let running = !job.is_finished();
    let hour0 = ids_in(&p0);
    // Flink 2.3's names: `part-<uuid>-0-<n>`, no extension, one writer's counter.
    for e in std::fs::read_dir(&p0).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with(['.', '_']) {
            continue;
        }
        let (prefix, n) = name.rsplit_once("-0-").expect("part-<uuid>-0-<n>");
        assert!(prefix.starts_with("part-") && prefix.len() == 41, "{name}");
        assert!(n.parse::<u64>().is_ok(), "{name}");
    }
    if running {
        assert!(!p1.join("_SUCCESS").exists(), "hour 01 is not complete yet");
    }
    assert_eq!(
        hour0,
        (1..=3599).collect::<Vec<_>>(),
        "a committed partition has all its rows visible"
    );
    let r = tokio::time::timeout(std::time::Duration::from_secs(30), job)
        .await
        .expect("finishes")
        .expect("joins");
    r.expect("the job succeeds");
    drop(cancel);
    assert!(
        p1.join("_SUCCESS").exists(),
        "the end of the input commits the rest"
    );
    assert_eq!(ids_in(&p1), (3600..=7199).collect::<Vec<_>>());
    for d in [&p0, &p1] {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(!name.ends_with(".inprogress"), "left in progress: {name}");
        }
    }
    println!("hour 00 committed while the job ran: {running}");
}

/// Stop with a savepoint in the middle of a stream, restore a new run from it: the printed
/// changelogs of both runs together materialise to what one uninterrupted run gives — for
/// `OVER` aggregates (bounded and unbounded frames: sliding and running accumulators), a group
/// aggregation, `MIN`/`MAX` of numbers and strings and `COUNT(DISTINCT)` of strings over its
/// changelog (retracting), a window aggregation, regular
/// joins (over changelogs, and insert-only with a non-equi condition), Top-1 and keep-last
/// deduplication.
#[tokio::test]
async fn savepoint_and_restore_continue_stateful_operators() {
    use scaleph_engine::Control;
    let ddl = "CREATE TABLE s (id BIGINT, k AS id % 3, v AS id % 7, ts AS TO_TIMESTAMP_LTZ(id * 250, 3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)\n  WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2400', 'rows-per-second' = '1500');\n";
    // (the printed columns, the query): a print sink prints every row (a bare SELECT's log
    // keeps the first 1,000).
    let queries = [
        ("id BIGINT, k BIGINT, s BIGINT, m BIGINT", "SELECT id, k, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), MAX(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) FROM s"),
        ("id BIGINT, s BIGINT, c BIGINT", "SELECT id, SUM(v) OVER w, COUNT(*) OVER w FROM s WINDOW w AS (PARTITION BY k ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"),
        ("id BIGINT, a DOUBLE, m BIGINT", "SELECT id, AVG(CAST(v AS DOUBLE)) OVER w, MIN(v) OVER w FROM s WINDOW w AS (ORDER BY ts RANGE BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW)"),
        ("k BIGINT, c BIGINT, s BIGINT", "SELECT k, COUNT(*), SUM(v) FROM s GROUP BY k"),
        ("p BIGINT, mx BIGINT, mn DOUBLE", "SELECT k % 2, MAX(c), MIN(CAST(c AS DOUBLE) / 2) FROM (SELECT k, COUNT(*) AS c FROM s GROUP BY k) GROUP BY k % 2"),
        ("p BIGINT, d BIGINT, mn STRING, mx STRING", "SELECT k % 2, COUNT(DISTINCT CAST(c AS STRING)), MIN(CAST(c AS STRING)), MAX(CAST(k AS STRING)) FROM (SELECT k, COUNT(*) AS c FROM s GROUP BY k) GROUP BY k % 2"),
        ("w TIMESTAMP_LTZ(3), k BIGINT, c BIGINT, m BIGINT", "SELECT window_start, k, COUNT(*), MAX(v) FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY window_start, window_end, k"),
        ("k BIGINT, c BIGINT, s BIGINT", "SELECT a.k, a.c, b.s FROM (SELECT k, COUNT(*) AS c FROM s GROUP BY k) a LEFT JOIN (SELECT v, SUM(id) AS s FROM s GROUP BY v) b ON a.k = b.v"),
        ("a BIGINT, b BIGINT, t STRING", "SELECT x.id, y.id, CAST(y.ts AS STRING) FROM s x JOIN s y ON x.k = y.v AND x.id BETWEEN y.id AND y.id + 2"),
        ("id BIGINT, k BIGINT, v BIGINT, rn BIGINT", "SELECT * FROM (SELECT id, k, v, ROW_NUMBER() OVER (PARTITION BY v ORDER BY id * 7 % 50 DESC, ts DESC) AS rn FROM s) WHERE rn = 1"),
        ("id BIGINT, k BIGINT, v BIGINT", "SELECT id, k, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k, v ORDER BY ts DESC) AS rn FROM s) WHERE rn = 1"),
    ];
    let printed = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<RunEvent>| {
        let mut lines = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            if let RunEvent::Log(LogLevel::Stdout, l) = ev {
                lines.push(l);
            }
        }
        lines
    };
    for (cols, q) in queries {
        let script = format!(
            "{ddl}CREATE TABLE out ({cols}) WITH ('connector' = 'print');\nINSERT INTO out {q};"
        );
        let whole = materialise(&run(script.clone()).await.expect(q)).expect(q);
        let dir = tempfile::tempdir().unwrap();
        let sp = dir.path().join("sp");
        // Under a loaded machine the job may end before the savepoint request is served; then
        // the phase is run again (at most 3 times), reporting the job's own result otherwise.
        let mut attempt = 0;
        let mut lines = loop {
            attempt += 1;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let (ctl, ctl_rx) = tokio::sync::mpsc::unbounded_channel();
            let spec = JobSpec {
                name: "first".into(),
                script: script.clone(),
                settings: streaming(),
                ..Default::default()
            };
            let job = tokio::spawn(async move {
                EmbeddedEngine::new()
                    .run_controlled(spec, tx, CancellationToken::new(), ctl_rx)
                    .await
            });
            // The savepoint is taken once rows flow (a loaded machine may start the job late).
            let mut lines = lines(&mut rx, 1).await;
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            let (reply, answer) = tokio::sync::oneshot::channel();
            ctl.send(Control::Savepoint {
                dir: sp.clone(),
                stop: Some(false),
                reply,
            })
            .unwrap();
            match answer.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if !e.contains("ended before") => panic!("savepoint: {e}"),
                _ if attempt < 3 => {
                    eprintln!("attempt {attempt}: the job ended before the savepoint, again");
                    let _ = job.await;
                    let _ = std::fs::remove_dir_all(&sp);
                    continue;
                }
                _ => panic!(
                    "the job ended before taking the savepoint: {:?}",
                    job.await.unwrap()
                ),
            };
            job.await.unwrap().expect("stopped");
            lines.extend(printed(&mut rx));
            break lines;
        };
        let before = lines.len();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let spec = JobSpec {
            name: "restored".into(),
            script,
            settings: streaming(),
            restore_from: Some(sp),
            ..Default::default()
        };
        EmbeddedEngine::new()
            .run(spec, tx, CancellationToken::new())
            .await
            .expect(q);
        lines.extend(printed(&mut rx));
        assert!(
            before > 0 && lines.len() > before,
            "{q}: {before} rows before the savepoint, {} in all",
            lines.len()
        );
        let got = materialise(&lines).expect(q);
        if got != whole {
            let extra: Vec<_> = got.iter().filter(|r| !whole.contains(r)).take(3).collect();
            let missing: Vec<_> = whole.iter().filter(|r| !got.contains(r)).take(3).collect();
            panic!(
                "{q}: {} rows after the restore ({before} before the savepoint), {} uninterrupted; extra {extra:?}, missing {missing:?}",
                got.len(),
                whole.len()
            );
        }
    }
}
