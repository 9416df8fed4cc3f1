//! Schemathesis (PyPI) against the live OpenAPI document of a real `scaleph serve`: every
//! operation, all checks, failing on any server error or answer that breaks the document.
//!
//! Schemathesis is found through `SCALEPH_SCHEMATHESIS`, then `~/.cache/scaleph-venv/bin/st`
//! (where `scripts/setup-test-deps.sh` installs it), then `st` on `PATH`; without it the test
//! fails, saying how to install it. The hooks in `tests/fuzz/hooks.py` keep every request the
//! server makes on 127.0.0.1 (closed port 1) and keep the fuzzer's admin and token alive.

mod common;

use common::Server;
use std::path::PathBuf;
use std::process::Command;

/// Test cases per operation and phase.
const MAX_EXAMPLES: &str = "10";
/// Time budget of the whole run, in seconds: schemathesis repeats fuzzing until it is spent.
/// `SCALEPH_FUZZ_SECONDS` overrides it (longer runs find more).
const MAX_TIME: &str = "60";

fn schemathesis() -> PathBuf {
    if let Some(p) = std::env::var_os("SCALEPH_SCHEMATHESIS") {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/scaleph-venv/bin/st"))
        .filter(|p| p.is_file());
    if let Some(p) = venv {
        return p;
    }
    let on_path = Command::new("st").arg("--version").output();
    match on_path {
        Ok(o)
            if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("chemathesis") =>
        {
            PathBuf::from("st")
        }
        _ => panic!(
            "schemathesis not found: run scripts/setup-test-deps.sh (it installs schemathesis into \
             ~/.cache/scaleph-venv), or set SCALEPH_SCHEMATHESIS to its `st` executable"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_or_schema_violation() {
    let st = schemathesis();
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let (s, me) = srv.get("/api/v1/me").await;
    assert_eq!(s, 200, "{me}");
    let (s, tokens) = srv.get("/api/v1/me/tokens").await;
    assert_eq!(s, 200, "{tokens}");
    let [token] = tokens.as_array().unwrap().as_slice() else {
        panic!("one token expected: {tokens}")
    };
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let report = tmp.path().join("report");
    let max_time = std::env::var("SCALEPH_FUZZ_SECONDS").unwrap_or_else(|_| MAX_TIME.into());
    // A crash inside schemathesis itself (a Python traceback with no finding to reproduce, e.g.
    // CPython's "AST constructor recursion depth mismatch" under its worker threads) is the
    // tool's failure, not the API's: such a run is repeated once. Findings always come with
    // "Reproduce with:".
    let mut attempt = 0;
    let out = loop {
        attempt += 1;
        let out = Command::new(&st)
            .current_dir(tmp.path())
            .env("SCHEMATHESIS_HOOKS", "hooks")
            .env("PYTHONPATH", &fuzz)
            .env("FUZZ_ADMIN_ID", me["user"]["id"].as_str().unwrap())
            .env("FUZZ_TOKEN_ID", token["id"].as_str().unwrap())
            .arg("--no-color")
            .arg("--config-file")
            .arg(fuzz.join("schemathesis.toml"))
            .arg("run")
            .arg(format!("{}/api/v1/openapi.json", srv.base))
            .args(["--checks", "all", "--max-examples", MAX_EXAMPLES])
            .args(["--max-time", &max_time, "--request-timeout", "10"])
            .args(["--workers", "2", "--max-failures", "50"])
            .args(["--header", &format!("Authorization: Bearer {}", srv.token)])
            .args(["--report", "ndjson", "--report-dir"])
            .arg(&report)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", st.display()));
        let text = String::from_utf8_lossy(&out.stdout);
        let tool_crash = !out.status.success()
            && text.contains("Traceback")
            && !text.contains("Reproduce with:");
        if tool_crash && attempt == 1 {
            eprintln!("schemathesis crashed internally; running it once more:\n{text}");
            continue;
        }
        break out;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The run reached the API (not only the document) and the server is still up.
    assert!(stdout.contains("passed"), "{stdout}");
    assert_eq!(srv.get("/healthz").await.0, 200);
}
