//! The `scaleph` command line: local validate/run and the client subcommands against a real
//! server.

mod common;

use common::Server;
use std::process::Command;

fn scaleph(args: &[&str]) -> (bool, String, String) {
    scaleph_env(args, &[], "")
}

/// Runs `scaleph` with extra environment and `stdin`.
fn scaleph_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaleph"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SCALEPH_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run scaleph");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("run scaleph");
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
            "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000');
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
    let config = tmp.path().join("config");
    let config_env = config.to_str().unwrap().to_string();
    let run_in = move |args: Vec<String>, stdin: &str| {
        let mut full = vec!["--server".to_string(), server.clone()];
        full.extend(args);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        scaleph_env(&refs, &[("SCALEPH_CONFIG_DIR", &config_env)], stdin)
    };
    let run = |args: Vec<String>| run_in(args, "");
    let a = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();

    // Not signed in: refused, with the way to sign in.
    let (ok, _, err) = run(a("project list"));
    assert!(
        !ok && err.contains("401") && err.contains("scaleph login"),
        "{err}"
    );
    // A wrong password is refused and stores nothing.
    let (ok, _, err) = run_in(
        a("login --username admin --password-stdin"),
        "wrong-password\n",
    );
    assert!(
        !ok && err.contains("invalid user name or password"),
        "{err}"
    );
    assert!(!config.join("credentials.json").exists());
    // `scaleph login` stores a token, readable by the owner only.
    let (ok, out, err) = run_in(
        a("login --username admin --password-stdin"),
        &format!("{}\n", common::ADMIN_PASSWORD),
    );
    assert!(ok && out.contains("signed in"), "{out}{err}");
    let creds = config.join("credentials.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    let token = stored["servers"][&srv.base]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(token.starts_with("sph_"));

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

    // `scaleph logout` revokes the token on the server and forgets it.
    let (ok, out, err) = run(a("logout"));
    assert!(ok && out.contains("token revoked"), "{out}{err}");
    let (s, b) = srv
        .call_as(Some(&token), reqwest::Method::GET, "/api/v1/projects", None)
        .await;
    assert_eq!((s, b["detail"].as_str()), (401, Some("token revoked")));
    let (ok, _, _) = run(a("project list"));
    assert!(!ok);
}

/// `scaleph user` works on the store directly: create, reset a password, issue a token.
#[tokio::test]
async fn user_subcommands_manage_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let srv = Server::start(&data);
    let (ok, out, err) = scaleph(&[
        "user",
        "create",
        "carol",
        "--data-dir",
        d,
        "--display-name",
        "Carol",
    ]);
    assert!(ok, "{err}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("generated password printed")
        .to_string();
    let (ok, _, err) = scaleph(&["user", "create", "carol", "--data-dir", d]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = scaleph(&["user", "create", "Bad Name", "--data-dir", d]);
    assert!(!ok && err.contains("invalid user name"), "{err}");
    let login = |pw: String| {
        let http = reqwest::Client::new();
        let url = format!("{}/api/v1/auth/login", srv.base);
        async move {
            http.post(url)
                .json(&serde_json::json!({"username": "carol", "password": pw}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login(password.clone()).await, 200);
    let (ok, _, err) = scaleph_env(
        &[
            "user",
            "reset-password",
            "carol",
            "--password-stdin",
            "--data-dir",
            d,
        ],
        &[],
        "new-password-1\n",
    );
    assert!(ok, "{err}");
    assert_eq!(login(password).await, 401);
    assert_eq!(login("new-password-1".into()).await, 200);
    let (ok, token, err) = scaleph(&["user", "token", "carol", "--scope", "read", "--data-dir", d]);
    assert!(ok, "{err}");
    let (s, me) = srv
        .call_as(Some(token.trim()), reqwest::Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!((s, me["user"]["username"].as_str()), (200, Some("carol")));
    assert_eq!(me["scopes"], serde_json::json!(["read"]));
    let (ok, list, _) = scaleph(&["user", "list", "--data-dir", d]);
    assert!(
        ok && list.contains("carol") && list.contains("admin"),
        "{list}"
    );
}
