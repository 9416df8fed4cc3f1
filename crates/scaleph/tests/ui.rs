//! The web UI end to end in real Chromium (Playwright, `web/e2e/flow.mjs`) against a real
//! `scaleph serve`, five times in a row (fresh browser context and project each time), covering
//! the job-instance page of finished, running and failed runs right after Submit, opened by URL
//! and reloaded. Screenshots of the main pages are kept in `target/ui-screenshots/`.

mod common;

use common::Server;
use std::path::PathBuf;
use std::process::Command;

#[tokio::test]
async fn ui_flow_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    // Every request in the server's log (method, path, status, latency): a step of the flow
    // that waits in vain can then be matched with what the server saw.
    let srv = Server::start_env(
        &tmp.path().join("data"),
        &[],
        &[("SCALEPH_LOG", "warn,tower_http=debug")],
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The server serves the built UI, not the "how to build" page.
    let page = reqwest::get(&srv.base).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("<div id=\"root\">"),
        "the UI is not built (web/dist); the server answered: {page}"
    );
    // Under the server's default allowed file root, `<data-dir>/files/`.
    let input = srv.data_dir.join("files/input");
    std::fs::create_dir_all(input.join("people")).unwrap();
    std::fs::write(
        input.join("people/part-0.csv"),
        "1,alice,30\n2,bob,25\n3,carol,41\n",
    )
    .unwrap();
    // The webhook the flow's alert channel sends to (it checks the signature).
    let rx = common::Receivers::start(tmp.path());
    let shots = root.join("target/ui-screenshots");
    // No screenshot of an earlier run may stand in for one this run did not take.
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new("node")
        .arg(root.join("web/e2e/flow.mjs"))
        .current_dir(root.join("web"))
        .env("BASE", &srv.base)
        .env("PASSWORD", common::ADMIN_PASSWORD)
        .env("DATA", &input)
        .env("SHOTS", &shots)
        .env("HOOK_URL", rx.url("/hook"))
        .env("HOOK_SECRET", common::RECEIVER_SECRET)
        // The instance page once crashed depending on timing: the flow runs five times.
        .env("RUNS", "5")
        .output()
        .expect("run node web/e2e/flow.mjs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        let server = std::fs::read_to_string(srv.data_dir.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = server.lines().rev().take(150).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "UI flow failed:\n{log}\n--- server log, last 150 lines ---\n{}",
            tail.join("\n")
        );
    }
    assert!(log.contains("e2e: ok"), "{log}");
    // Every run's test message and failed-run alert reached the webhook, signed.
    let hooks: Vec<_> = rx
        .received()
        .into_iter()
        .filter(|r| r["path"] == "/hook")
        .collect();
    assert!(hooks.len() >= 10, "{hooks:?}");
    assert!(hooks.iter().all(|h| h["verified"] == true), "{hooks:?}");
    for shot in [
        "01-login",
        "03-studio-error",
        "04-studio-preview",
        "05-job-detail",
        "05b-job-running",
        "05c-job-failed",
        "08-projects-zh",
        "10-alerts",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
}
