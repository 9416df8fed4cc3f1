//! The `scaleph` command line: local validate/run and the client subcommands against a real
//! server.

mod common;

use common::Server;
use std::process::Command;

fn scaleph(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scaleph"))
        .args(args)
        .output()
        .expect("run scaleph");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn sql_validate_and_run_locally() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.sql");
    std::fs::write(
        &bad,
        "CREATE TABLE t (a INT) WITH ('connector' = 'blackhole');\nINSERT INTO t SELEC 1;\n",
    )
    .unwrap();
    let (ok, _, err) = scaleph(&["sql", "validate", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("bad.sql:2:15: Expected: an SQL statement, found: SELEC"),
        "{err}"
    );

    let good = tmp.path().join("good.sql");
    let out = tmp.path().join("out");
    std::fs::write(
        &good,
        format!(
            "CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000');
CREATE TABLE o (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'parquet');
CREATE TABLE p (n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT id FROM g WHERE id % 10 = 0;
INSERT INTO p SELECT COUNT(*) FROM g;",
            out.display()
        ),
    )
    .unwrap();
    let (ok, stdout, err) = scaleph(&["sql", "validate", good.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(stdout.contains("sinks: [o, p]"), "{stdout}");
    let (ok, stdout, err) = scaleph(&["sql", "run", good.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(stdout.contains("+I[1000]"), "print sink output: {stdout}");
    assert!(stdout.contains("FINISHED in"), "{stdout}");
    assert!(
        stdout.contains("2000 rows read, 101 rows written"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        1,
        "one parquet file published"
    );
}

#[tokio::test]
async fn client_subcommands_drive_a_server() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let server = srv.base.clone();
    let run = move |args: Vec<String>| {
        let mut full = vec!["--server".to_string(), server.clone()];
        full.extend(args);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        scaleph(&refs)
    };
    let a = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();

    // The server is another process, so blocking on the CLI here is fine.
    let (ok, pid, err) = run(a("project create demo --description first"));
    assert!(ok, "{err}");
    let (ok, list, _) = run(a("project list"));
    assert!(
        ok && list.contains(pid.trim()) && list.contains("demo"),
        "{list}"
    );

    let (ok, _, err) = run(a(&format!(
        "datasource create --project demo --name files --type filesystem --prop path={}",
        tmp.path().display()
    )));
    assert!(ok, "{err}");
    let (ok, out, _) = run(a("datasource test --project demo files"));
    assert!(ok && out.starts_with("OK"), "{out}");

    let script = tmp.path().join("job.sql");
    std::fs::write(&script, "CREATE TABLE g (id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3', 'fields.id.min' = '1', 'fields.id.max' = '1');\nCREATE TABLE p (id INT) WITH ('connector' = 'print');\nINSERT INTO p SELECT id FROM g;").unwrap();
    let (ok, _, err) = run(a(&format!(
        "job create --project demo --name printer --file {}",
        script.display()
    )));
    assert!(ok, "{err}");
    let (ok, out, err) = run(a("job submit --project demo printer --wait"));
    assert!(ok, "{err}");
    let mut lines = out.lines();
    let iid = lines.next().unwrap().to_string();
    assert_eq!(lines.next(), Some("FINISHED"));
    let (ok, status, _) = run(a(&format!("job status {iid}")));
    assert!(
        ok && status.starts_with("state: FINISHED") && status.contains("RUNNING"),
        "{status}"
    );
    let sink = status
        .lines()
        .find(|l| l.trim_start().starts_with("sink"))
        .unwrap_or_default();
    assert!(
        sink.contains(" 3 rows") && sink.ends_with(" 18 bytes"),
        "three lines '+I[1]\\n' printed: {status}"
    );
    let (ok, logs, _) = run(a(&format!("job logs {iid}")));
    assert!(ok);
    assert_eq!(
        logs.lines()
            .filter(|l| l.starts_with("STDOUT") && l.ends_with("+I[1]"))
            .count(),
        3,
        "{logs}"
    );
    let (ok, _, err) = run(a(&format!("job cancel {iid}")));
    assert!(
        !ok && err.contains("409") && err.contains("FINISHED"),
        "{err}"
    );
}
