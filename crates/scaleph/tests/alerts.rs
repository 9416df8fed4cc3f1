//! Alerts against a real server and real receivers (`tests/alerts/receivers.py`: an HTTP server
//! that checks signatures with Python's own `hmac`, and an `aiosmtpd` SMTP server): a failed
//! job instance and a failed workflow run alerted by webhook (signature verified) and email
//! (received), once each across a restart; DingTalk / Feishu / WeCom robots' signatures;
//! retries; secrets never returned; hosts the admin did not allow refused.

mod common;

use common::{Receivers, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SECRET: &str = common::RECEIVER_SECRET;

async fn channel(srv: &Server, pid: &str, name: &str, kind: &str, config: Value) -> String {
    let (s, c) = srv
        .post(
            &format!("/api/v1/projects/{pid}/alert-channels"),
            json!({"name": name, "kind": kind, "config": config}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn rule(srv: &Server, pid: &str, body: Value) -> String {
    let (s, r) = srv
        .post(&format!("/api/v1/projects/{pid}/alert-rules"), body)
        .await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_str().unwrap().to_string()
}

/// Polls the alert history until `pred` holds (60 s at most).
async fn wait_alerts(srv: &Server, pid: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let t0 = Instant::now();
    loop {
        let (s, a) = srv.get(&format!("/api/v1/projects/{pid}/alerts")).await;
        assert_eq!(s, 200, "{a}");
        let list = a.as_array().unwrap().clone();
        if pred(&list) {
            return list;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "alerts: {a:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn all_sent(a: &Value) -> bool {
    let d = a["deliveries"].as_array().unwrap();
    !d.is_empty() && d.iter().all(|d| d["state"] == "SENT")
}

const BAD_NUMBERS: &str = "SET 'execution.runtime-mode' = 'batch';
CREATE TABLE src (n INT) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv');
CREATE TABLE out (n INT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT n FROM src;";

#[tokio::test]
async fn failed_instance_and_workflow_alert_by_webhook_and_email_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receivers::start(tmp.path());
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let pid = srv.project("alerts").await;
    let hook = channel(
        &srv,
        &pid,
        "ops-webhook",
        "webhook",
        json!({"url": rx.url("/hook"), "secret": SECRET}),
    )
    .await;
    let mail = channel(
        &srv,
        &pid,
        "ops-mail",
        "email",
        json!({"host": "127.0.0.1", "port": rx.smtp, "security": "none",
               "from": "scaleph <alerts@scaleph.test>", "to": ["oncall@example.org", "lead@example.org"]}),
    )
    .await;
    // The secret is sealed and never shown.
    let (_, c) = srv
        .get(&format!("/api/v1/projects/{pid}/alert-channels/{hook}"))
        .await;
    assert_eq!(c["secrets_set"], json!(["secret"]), "{c}");
    assert!(!c.to_string().contains(SECRET), "{c}");
    let store = std::fs::read(data.join("scaleph.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&store).contains(SECRET),
        "the secret is stored in clear"
    );

    let bad = tmp.path().join("numbers.csv");
    std::fs::write(&bad, "1\nnot-a-number\n").unwrap();
    let job = srv
        .job(
            &pid,
            "orders_hourly",
            &BAD_NUMBERS.replace("{path}", &bad.display().to_string()),
        )
        .await;
    rule(
        &srv,
        &pid,
        json!({"name": "job failures", "kind": "instance_failed", "channels": [hook, mail]}),
    )
    .await;
    let (s, w) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows"),
            json!({"name": "nightly", "definition": {"tasks": [{"key": "load", "job_id": job}]}}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    let wid = w["id"].as_str().unwrap().to_string();
    rule(
        &srv,
        &pid,
        json!({"name": "nightly fails", "kind": "workflow_failed", "workflow_id": wid, "channels": [hook]}),
    )
    .await;

    // A failing instance: one alert on both channels.
    let (s, inst) = srv.submit(&pid, &job).await;
    assert_eq!(s, 202, "{inst}");
    let iid = inst["id"].as_str().unwrap().to_string();
    assert_eq!(srv.wait_terminal(&iid).await["state"], "FAILED");
    let alerts = wait_alerts(&srv, &pid, |a| a.len() == 1 && all_sent(&a[0])).await;
    let a = &alerts[0];
    assert_eq!(a["kind"], "instance_failed", "{a}");
    assert_eq!(a["subject"]["instance_id"], iid.as_str(), "{a}");
    assert!(
        a["title"].as_str().unwrap().contains("orders_hourly"),
        "{a}"
    );
    assert_eq!(a["deliveries"].as_array().unwrap().len(), 2, "{a}");

    let got = rx.received();
    let hooks: Vec<&Value> = got.iter().filter(|r| r["path"] == "/hook").collect();
    assert_eq!(hooks.len(), 1, "{got:?}");
    let h = hooks[0];
    assert_eq!(
        h["verified"], true,
        "signature checked by Python's hmac: {h}"
    );
    assert_eq!(h["body"]["event_id"], a["id"], "{h}");
    assert_eq!(h["body"]["kind"], "instance_failed");
    assert_eq!(h["body"]["project"], "alerts");
    assert_eq!(h["body"]["rule"], "job failures");
    assert_eq!(h["body"]["subject"]["instance_id"], iid.as_str());
    assert!(
        h["body"]["text"].as_str().unwrap().contains("Reason:"),
        "the failure's reason is in the alert: {h}"
    );
    assert_eq!(h["headers"]["x-scaleph-event"], "instance_failed");
    let mails: Vec<&Value> = got.iter().filter(|r| r["smtp"] == true).collect();
    assert_eq!(mails.len(), 1, "{got:?}");
    let m = mails[0];
    assert_eq!(m["from"], "alerts@scaleph.test");
    assert_eq!(m["to"], json!(["oncall@example.org", "lead@example.org"]));
    let content = m["content"].as_str().unwrap();
    assert!(
        content.contains("Subject: [scaleph] Job instance FAILED: orders_hourly"),
        "{content}"
    );
    assert!(content.contains(&iid), "{content}");

    // A failing workflow run: its own alert (and the task's instance failure one more).
    let (s, run) = srv
        .post(
            &format!("/api/v1/projects/{pid}/workflows/{wid}/runs"),
            json!({"bizdate": "2026-05-01"}),
        )
        .await;
    assert_eq!(s, 201, "{run}");
    let rid = run["id"].as_str().unwrap().to_string();
    let alerts = wait_alerts(&srv, &pid, |a| {
        a.iter()
            .any(|e| e["kind"] == "workflow_failed" && all_sent(e))
            && a.iter().filter(|e| e["kind"] == "instance_failed").count() == 2
            && a.iter().all(all_sent)
    })
    .await;
    let wf = alerts
        .iter()
        .find(|e| e["kind"] == "workflow_failed")
        .unwrap();
    assert_eq!(wf["subject"]["workflow_run_id"], rid.as_str(), "{wf}");
    assert_eq!(wf["subject"]["bizdate"], "2026-05-01", "{wf}");

    // A restart neither loses nor repeats an alert.
    let before = alerts.len();
    drop(srv);
    let srv = Server::start(&data);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, after) = srv.get(&format!("/api/v1/projects/{pid}/alerts")).await;
    assert_eq!(after.as_array().unwrap().len(), before, "{after:#}");
    let got = rx.received();
    assert_eq!(
        got.iter().filter(|r| r["path"] == "/hook").count(),
        3,
        "2 instance failures + 1 workflow failure, each once: {got:?}"
    );
    assert_eq!(got.iter().filter(|r| r["smtp"] == true).count(), 2);
}

#[tokio::test]
async fn robots_are_signed_as_their_vendors_document_and_test_sends_report() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receivers::start(tmp.path());
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("robots").await;
    let sink = channel(
        &srv,
        &pid,
        "sink",
        "webhook",
        json!({"url": rx.url("/hook")}),
    )
    .await;
    every_kind(&srv, &pid, &sink).await;
    let cases = [
        (
            "dingtalk",
            json!({"url": rx.url("/dingtalk?access_token=tok"), "secret": SECRET}),
        ),
        (
            "feishu",
            json!({"url": rx.url("/feishu"), "secret": SECRET}),
        ),
        ("wecom", json!({"url": rx.url("/wecom?key=k1")})),
    ];
    for (kind, config) in cases {
        let id = channel(&srv, &pid, kind, kind, config).await;
        let (s, r) = srv
            .post(
                &format!("/api/v1/projects/{pid}/alert-channels/{id}/test"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["ok"], true, "{kind}: {r}");
        let (_, c) = srv
            .get(&format!("/api/v1/projects/{pid}/alert-channels/{id}"))
            .await;
        assert!(
            c["config"].get("url").is_none(),
            "a robot's URL holds its token: never shown: {c}"
        );
    }
    let got = rx.received();
    for path in ["/dingtalk", "/feishu", "/wecom"] {
        let r = got.iter().find(|r| r["path"] == path).unwrap();
        assert_eq!(r["verified"], true, "{r}");
    }
    let ding = got.iter().find(|r| r["path"] == "/dingtalk").unwrap();
    assert_eq!(ding["body"]["msgtype"], "markdown");
    assert!(ding["body"]["markdown"]["title"]
        .as_str()
        .unwrap()
        .contains("Test message"));

    // A wrong secret: the robot's refusal (code and message) is the answer, not a success.
    let wrong = channel(
        &srv,
        &pid,
        "ding-wrong",
        "dingtalk",
        json!({"url": rx.url("/dingtalk?access_token=tok"), "secret": "not-it"}),
    )
    .await;
    let (_, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/alert-channels/{wrong}/test"),
            json!({}),
        )
        .await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("310000"), "{r}");
    // Updating without the secret keeps it; with the right one it passes.
    let (s, c, _) = srv
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/projects/{pid}/alert-channels/{wrong}"),
            Some(json!({"name": "ding-fixed", "kind": "dingtalk", "config": {"secret": SECRET}})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["secrets_set"], json!(["url", "secret"]), "{c}");
    let (_, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/alert-channels/{wrong}/test"),
            json!({}),
        )
        .await;
    assert_eq!(r["ok"], true, "the stored URL was kept: {r}");
    // A tick of the alert loop ran every rule's fact query.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !srv.log_text().contains("cannot read its facts"),
        "{}",
        srv.log_text()
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_refused_input_is_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receivers::start(tmp.path());
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("retries").await;
    // The receiver answers 500 to the first request, then accepts.
    let flaky = channel(
        &srv,
        &pid,
        "flaky",
        "webhook",
        json!({"url": rx.url("/flaky?fail=1"), "secret": SECRET}),
    )
    .await;
    let bad = tmp.path().join("numbers.csv");
    std::fs::write(&bad, "x\n").unwrap();
    let job = srv
        .job(
            &pid,
            "broken",
            &BAD_NUMBERS.replace("{path}", &bad.display().to_string()),
        )
        .await;
    rule(
        &srv,
        &pid,
        json!({"name": "broken job", "kind": "instance_failed", "job_id": job, "channels": [flaky]}),
    )
    .await;
    let (s, inst) = srv.submit(&pid, &job).await;
    assert_eq!(s, 202, "{inst}");
    let iid = inst["id"].as_str().unwrap().to_string();
    srv.wait_terminal(&iid).await;
    let first = wait_alerts(&srv, &pid, |a| {
        a.len() == 1 && a[0]["deliveries"][0]["attempts"] == 1
    })
    .await;
    let d = &first[0]["deliveries"][0];
    assert_eq!(d["state"], "PENDING", "retried later: {d}");
    assert!(d["detail"].as_str().unwrap().contains("HTTP 500"), "{d}");
    let done = wait_alerts(&srv, &pid, |a| all_sent(&a[0])).await;
    let d = &done[0]["deliveries"][0];
    assert_eq!(d["attempts"], 2, "{d}");
    let got = rx.received();
    let tries: Vec<&Value> = got.iter().filter(|r| r["path"] == "/flaky").collect();
    assert_eq!(tries.len(), 2, "{got:?}");
    assert_eq!(
        tries[0]["body"]["event_id"], tries[1]["body"]["event_id"],
        "a retry is the same event"
    );

    // Refused: hosts the admin did not allow, bad configurations, rules out of the project.
    let (s, r) = srv
        .post(
            &format!("/api/v1/projects/{pid}/alert-channels"),
            json!({"name": "x", "kind": "webhook", "config": {"url": "http://169.254.169.254/latest"}}),
        )
        .await;
    assert_eq!(s, 403, "{r}");
    assert!(r["detail"].as_str().unwrap().contains("not allowed"), "{r}");
    for (config, kind, needle) in [
        (json!({"url": "file:///etc/passwd"}), "webhook", "http"),
        (
            json!({"url": "http://127.0.0.1/x", "token": "t"}),
            "webhook",
            "unknown key 'token'",
        ),
        (
            json!({"host": "127.0.0.1", "from": "a@b.c", "to": []}),
            "email",
            "'to'",
        ),
        (
            json!({"host": "127.0.0.1", "from": "nobody", "to": ["a@b.c"]}),
            "email",
            "'from'",
        ),
    ] {
        let (s, r) = srv
            .post(
                &format!("/api/v1/projects/{pid}/alert-channels"),
                json!({"name": "bad", "kind": kind, "config": config}),
            )
            .await;
        assert_eq!(s, 422, "{config}: {r}");
        assert!(r["detail"].as_str().unwrap().contains(needle), "{r}");
    }
    for (body, needle) in [
        (
            json!({"name": "r", "kind": "instance_failed", "channels": []}),
            "1–20 channels",
        ),
        (
            json!({"name": "r", "kind": "instance_failed", "channels": ["nope"]}),
            "not a channel",
        ),
        (
            json!({"name": "r", "kind": "instance_failed", "job_id": "nope", "channels": [flaky]}),
            "not a job",
        ),
        (
            json!({"name": "r", "kind": "workflow_failed", "job_id": job, "channels": [flaky]}),
            "takes no job_id",
        ),
        (
            json!({"name": "r", "kind": "instance_lost", "minutes": 0, "channels": [flaky]}),
            "1–10080",
        ),
    ] {
        let (s, r) = srv
            .post(&format!("/api/v1/projects/{pid}/alert-rules"), body.clone())
            .await;
        assert_eq!(s, 422, "{body}: {r}");
        assert!(r["detail"].as_str().unwrap().contains(needle), "{r}");
    }
    // A channel in use cannot be deleted.
    let (s, r, _) = srv
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/projects/{pid}/alert-channels/{flaky}"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{r}");
}

/// Creates one rule of every kind on `channel` (each fact query then runs every tick).
async fn every_kind(srv: &Server, pid: &str, channel: &str) {
    for kind in [
        "instance_failed",
        "instance_restarts",
        "instance_lost",
        "checkpoint_failed",
        "workflow_failed",
        "workflow_timeout",
        "schedule_missed",
    ] {
        rule(
            srv,
            pid,
            json!({"name": format!("every {kind}"), "kind": kind, "channels": [channel]}),
        )
        .await;
    }
}

#[tokio::test]
async fn two_servers_on_one_postgres_alert_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rx = Receivers::start(tmp.path());
    let db = common::fresh_postgres_db().await;
    let a = Server::start_with(&tmp.path().join("a"), &["--database-url", &db]);
    let b = Server::start_with(&tmp.path().join("b"), &["--database-url", &db]);
    let pid = a.project("pg-alerts").await;
    let hook = channel(
        &a,
        &pid,
        "hook",
        "webhook",
        json!({"url": rx.url("/hook"), "secret": SECRET}),
    )
    .await;
    every_kind(&a, &pid, &hook).await;
    let bad = tmp.path().join("numbers.csv");
    std::fs::write(&bad, "x\n").unwrap();
    let job = a
        .job(
            &pid,
            "broken",
            &BAD_NUMBERS.replace("{path}", &bad.display().to_string()),
        )
        .await;
    for _ in 0..3 {
        let (s, inst) = a.submit(&pid, &job).await;
        assert_eq!(s, 202, "{inst}");
        a.wait_terminal(inst["id"].as_str().unwrap()).await;
    }
    let alerts = wait_alerts(&b, &pid, |l| {
        l.iter().filter(|e| e["kind"] == "instance_failed").count() == 3 && l.iter().all(all_sent)
    })
    .await;
    // Both servers evaluate and deliver: still once each.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = rx.received();
    assert_eq!(
        got.iter().filter(|r| r["path"] == "/hook").count(),
        alerts.len(),
        "{got:?}"
    );
    let (_, again) = b.get(&format!("/api/v1/projects/{pid}/alerts")).await;
    assert_eq!(again.as_array().unwrap().len(), alerts.len());
    for srv in [&a, &b] {
        assert!(
            !srv.log_text().contains("cannot read its facts"),
            "{}",
            srv.log_text()
        );
    }
}
