//! Authentication, authorization, tokens, sessions, audit, throttling and secret hygiene,
//! against a real server over loopback HTTP.

mod common;

use common::{client_with, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const GET: Method = Method::GET;
const POST: Method = Method::POST;

/// Every operation of the OpenAPI document, taken from the running server: (METHOD, path,
/// public?). Public = the operation declares `security: [{}]`.
async fn documented_operations(srv: &Server) -> Vec<(String, String, bool)> {
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", srv.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let public = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            ops.push((method.to_uppercase(), path.clone(), public));
        }
    }
    ops
}

fn fill(path: &str) -> String {
    // Path parameters get ids that exist nowhere; authentication comes first anyway.
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "0190a0a0-0000-7000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Generated from the OpenAPI document: a route added later is covered without anyone
/// remembering to add it here.
#[tokio::test]
async fn every_documented_route_refuses_calls_without_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let ops = documented_operations(&srv).await;
    assert!(ops.len() > 40, "{} operations", ops.len());
    let public: BTreeSet<String> = ops
        .iter()
        .filter(|o| o.2)
        .map(|o| format!("{} {}", o.0, o.1))
        .collect();
    assert_eq!(
        public,
        ["GET /healthz", "GET /readyz", "POST /api/v1/auth/login"]
            .map(String::from)
            .into(),
        "only health checks and login are public"
    );
    let http = reqwest::Client::new();
    let mut checked = 0;
    for (method, path, is_public) in &ops {
        if *is_public {
            continue;
        }
        let url = format!("{}{}", srv.base, fill(path));
        let m: Method = method.parse().unwrap();
        for (how, req) in [
            ("no credentials", http.request(m.clone(), &url)),
            (
                "unknown token",
                http.request(m.clone(), &url)
                    .bearer_auth("sph_notarealtoken00000000000000000"),
            ),
            (
                "forged session",
                http.request(m.clone(), &url)
                    .header("cookie", "scaleph_session=forged"),
            ),
            (
                "basic auth",
                http.request(m.clone(), &url)
                    .basic_auth("admin", Some(common::ADMIN_PASSWORD)),
            ),
        ] {
            let r = req.json(&json!({})).send().await.unwrap();
            assert_eq!(r.status(), 401, "{method} {path} with {how}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            assert!(r.headers().contains_key("www-authenticate"));
        }
        checked += 1;
    }
    assert_eq!(checked, ops.len() - 3);
}

/// Creates a user through the API (as admin) and returns (id, token with `scopes`).
async fn user(srv: &Server, name: &str, scopes: &[&str]) -> (String, String) {
    let (s, b) = srv
        .post(
            "/api/v1/users",
            json!({"username": name, "password": format!("{name}-password")}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(b["generated_password"].is_null());
    (
        b["user"]["id"].as_str().unwrap().to_string(),
        srv.issue_token(name, scopes),
    )
}

const ALL: &[&str] = &["read", "write", "operate", "admin"];

#[tokio::test]
async fn project_roles_and_isolation() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let (_, alice) = user(&srv, "alice", ALL).await;
    let (bob_id, bob) = user(&srv, "bob", ALL).await;
    let (carol_id, carol) = user(&srv, "carol", ALL).await;
    let (dave_id, dave) = user(&srv, "dave", ALL).await;
    let call = |t: &str, m: Method, p: String, b: Option<Value>| {
        let t = t.to_string();
        let srv = &srv;
        async move { srv.call_as(Some(&t), m, &p, b).await }
    };

    // alice creates project A and owns it; bob creates B.
    let (s, a) = call(
        &alice,
        POST,
        "/api/v1/projects".into(),
        Some(json!({"name": "A"})),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let a = a["id"].as_str().unwrap().to_string();
    let (_, b) = call(
        &bob,
        POST,
        "/api/v1/projects".into(),
        Some(json!({"name": "B"})),
    )
    .await;
    let b = b["id"].as_str().unwrap().to_string();
    let (_, m) = call(&alice, GET, format!("/api/v1/projects/{a}/members"), None).await;
    assert_eq!(m[0]["username"], "alice");
    assert_eq!(m[0]["role"], "owner");
    for (uid, role) in [(&carol_id, "viewer"), (&dave_id, "developer")] {
        let (s, m) = call(
            &alice,
            Method::PUT,
            format!("/api/v1/projects/{a}/members/{uid}"),
            Some(json!({"role": role})),
        )
        .await;
        assert_eq!((s, m["role"].as_str()), (200, Some(role)), "{m}");
    }

    // A job in A, run once by the developer.
    let script = "CREATE TABLE g (id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '2');\nCREATE TABLE b (id INT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id FROM g;";
    let (s, j) = call(
        &dave,
        POST,
        format!("/api/v1/projects/{a}/jobs"),
        Some(json!({"name": "j", "script": script})),
    )
    .await;
    assert_eq!(s, 201, "developer creates jobs: {j}");
    let jid = j["id"].as_str().unwrap().to_string();
    let (s, i) = call(
        &dave,
        POST,
        format!("/api/v1/projects/{a}/jobs/{jid}/submit"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 202, "developer submits: {i}");
    let iid = i["id"].as_str().unwrap().to_string();
    srv.wait_terminal(&iid).await;

    // The viewer reads everything in A and changes nothing.
    for p in [
        format!("/api/v1/projects/{a}"),
        format!("/api/v1/projects/{a}/jobs"),
        format!("/api/v1/projects/{a}/jobs/{jid}/versions/1"),
        format!("/api/v1/projects/{a}/datasources"),
        format!("/api/v1/projects/{a}/members"),
        format!("/api/v1/instances/{iid}"),
        format!("/api/v1/instances/{iid}/logs"),
    ] {
        let (s, body) = call(&carol, GET, p.clone(), None).await;
        assert_eq!(s, 200, "viewer reads {p}: {body}");
    }
    let viewer_denied = [
        (
            Method::PATCH,
            format!("/api/v1/projects/{a}"),
            json!({"description": "x"}),
        ),
        (Method::DELETE, format!("/api/v1/projects/{a}"), json!({})),
        (
            POST,
            format!("/api/v1/projects/{a}/jobs"),
            json!({"name": "k", "script": script}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/projects/{a}/jobs/{jid}"),
            json!({"name": "k"}),
        ),
        (
            POST,
            format!("/api/v1/projects/{a}/jobs/{jid}/versions"),
            json!({"script": script}),
        ),
        (
            POST,
            format!("/api/v1/projects/{a}/jobs/{jid}/submit"),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/projects/{a}/jobs/{jid}"),
            json!({}),
        ),
        (
            POST,
            format!("/api/v1/projects/{a}/datasources"),
            json!({"name": "f", "type": "filesystem", "properties": {"path": "."}}),
        ),
        (POST, format!("/api/v1/instances/{iid}/cancel"), json!({})),
        (
            Method::PUT,
            format!("/api/v1/projects/{a}/members/{carol_id}"),
            json!({"role": "owner"}),
        ),
    ];
    for (m, p, body) in &viewer_denied {
        let (s, e) = call(&carol, m.clone(), p.clone(), Some(body.clone())).await;
        assert_eq!(s, 403, "viewer {m} {p}: {e}");
        assert!(
            e["detail"].as_str().unwrap().contains("you are 'viewer'"),
            "{e}"
        );
    }
    // The developer edits and runs but does not administer the project.
    for (m, p, body) in [
        (Method::DELETE, format!("/api/v1/projects/{a}"), json!({})),
        (
            Method::PUT,
            format!("/api/v1/projects/{a}/members/{dave_id}"),
            json!({"role": "owner"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/projects/{a}"),
            json!({"name": "A2"}),
        ),
    ] {
        let (s, e) = call(&dave, m.clone(), p.clone(), Some(body)).await;
        assert_eq!(s, 403, "developer {m} {p}: {e}");
    }
    let (_, j) = call(&dave, GET, format!("/api/v1/projects/{a}/jobs/{jid}"), None).await;
    assert_eq!(j["name"], "j", "nothing the viewer tried changed the job");

    // bob is not a member of A: A does not exist for him (404, like an unknown id).
    let (_, list) = call(&bob, GET, "/api/v1/projects".into(), None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["B"]);
    for (m, p) in [
        (GET, format!("/api/v1/projects/{a}")),
        (GET, format!("/api/v1/projects/{a}/jobs/{jid}")),
        (GET, format!("/api/v1/instances/{iid}")),
        (POST, format!("/api/v1/instances/{iid}/cancel")),
        (POST, format!("/api/v1/projects/{a}/jobs/{jid}/submit")),
        (Method::DELETE, format!("/api/v1/projects/{a}")),
    ] {
        let (s, e) = call(&bob, m.clone(), p.clone(), Some(json!({}))).await;
        assert_eq!(s, 404, "outsider {m} {p}: {e}");
    }
    let (s, _) = call(&bob, GET, format!("/api/v1/projects/{b}"), None).await;
    assert_eq!(s, 200, "bob reads his own project");
    let (_, a_for_alice) = call(&alice, GET, "/api/v1/projects".into(), None).await;
    assert_eq!(a_for_alice["total"], 1, "alice sees only A");
    // Platform administration is for admins only; the admin sees every project.
    for p in [
        "/api/v1/users",
        "/api/v1/audit",
        &format!("/api/v1/users/{bob_id}/tokens"),
    ] {
        let (s, e) = call(&alice, GET, p.to_string(), None).await;
        assert_eq!(s, 403, "{p}: {e}");
        assert!(e["detail"].as_str().unwrap().contains("'admin'"));
    }
    let (_, all) = srv.get("/api/v1/projects").await;
    assert_eq!(all["total"], 2);
    let (s, _) = srv.get(&format!("/api/v1/projects/{a}/jobs/{jid}")).await;
    assert_eq!(s, 200);

    // The last owner stays.
    let alice_id = m[0]["user_id"].as_str().unwrap().to_string();
    let (s, e) = call(
        &alice,
        Method::DELETE,
        format!("/api/v1/projects/{a}/members/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(s, 409, "{e}");
    // Removing carol takes A away from her.
    let (s, _) = call(
        &alice,
        Method::DELETE,
        format!("/api/v1/projects/{a}/members/{carol_id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(&carol, GET, format!("/api/v1/projects/{a}"), None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn token_scopes_revocation_and_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(&data);
    let (erin_id, full) = user(&srv, "erin", ALL).await;
    let pid = {
        let (s, p) = srv
            .call_as(
                Some(&full),
                POST,
                "/api/v1/projects",
                Some(json!({"name": "scoped"})),
            )
            .await;
        assert_eq!(s, 201);
        p["id"].as_str().unwrap().to_string()
    };
    let script = "CREATE TABLE g (id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');\nCREATE TABLE b (id INT) WITH ('connector' = 'blackhole');\nINSERT INTO b SELECT id FROM g;";
    let read = srv.issue_token("erin", &["read"]);
    let write = srv.issue_token("erin", &["read", "write"]);
    let jobs = format!("/api/v1/projects/{pid}/jobs");

    let (s, _) = srv.call_as(Some(&read), GET, &jobs, None).await;
    assert_eq!(s, 200);
    let (s, e) = srv
        .call_as(
            Some(&read),
            POST,
            &jobs,
            Some(json!({"name": "j", "script": script})),
        )
        .await;
    assert_eq!(s, 403);
    assert!(
        e["detail"].as_str().unwrap().contains("'write' scope"),
        "{e}"
    );
    let (s, j) = srv
        .call_as(
            Some(&write),
            POST,
            &jobs,
            Some(json!({"name": "j", "script": script})),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    let submit = format!("{jobs}/{}/submit", j["id"].as_str().unwrap());
    let (s, e) = srv
        .call_as(Some(&write), POST, &submit, Some(json!({})))
        .await;
    assert_eq!(s, 403, "submitting needs 'operate': {e}");
    let (s, _) = srv
        .call_as(Some(&full), POST, &submit, Some(json!({})))
        .await;
    assert_eq!(s, 202);
    // Account changes need 'admin'; a token cannot mint scopes it lacks.
    let (s, _) = srv
        .call_as(
            Some(&write),
            POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(s, 403);
    let narrow = srv.issue_token("erin", &["read", "admin"]);
    let (s, e) = srv
        .call_as(
            Some(&narrow),
            POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "scopes": ["read", "write"]})),
        )
        .await;
    assert_eq!(s, 403);
    assert!(e["detail"].as_str().unwrap().contains("'write'"), "{e}");
    // Bad token requests name the problem.
    let (s, e) = srv
        .call_as(
            Some(&full),
            POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "scopes": ["sudo"]})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = srv
        .call_as(
            Some(&full),
            POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "scopes": []})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = srv
        .call_as(
            Some(&full),
            POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "scopes": ["read"], "expires_in_days": 0})),
        )
        .await;
    assert_eq!(s, 422, "{e}");

    // A token made through the API: shown once, listed without its secret, last use recorded.
    let (s, t) = srv
        .call_as(
            Some(&full),
            POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "ci", "scopes": ["read"], "expires_in_days": 7})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let ci = t["token"].as_str().unwrap().to_string();
    let ci_id = t["info"]["id"].as_str().unwrap().to_string();
    assert!(t["info"]["last_used_at"].is_null());
    let (s, me) = srv.call_as(Some(&ci), GET, "/api/v1/me", None).await;
    assert_eq!((s, me["via"].as_str()), (200, Some("token")));
    let (_, list) = srv
        .call_as(Some(&full), GET, "/api/v1/me/tokens", None)
        .await;
    assert!(
        !list.to_string().contains(&ci),
        "the secret is never listed"
    );
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == ci_id.as_str())
        .unwrap()
        .clone();
    assert!(listed["last_used_at"].as_i64().is_some(), "{listed}");
    assert!(ci.starts_with(listed["prefix"].as_str().unwrap()));

    // Revoked: refused at once.
    let (s, r) = srv
        .call_as(
            Some(&full),
            Method::DELETE,
            &format!("/api/v1/me/tokens/{ci_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(r["revoked_at"].as_i64().is_some());
    let (s, e) = srv.call_as(Some(&ci), GET, "/api/v1/me", None).await;
    assert_eq!((s, e["detail"].as_str()), (401, Some("token revoked")));
    // An admin revokes another user's token.
    let (_, toks) = srv.get(&format!("/api/v1/users/{erin_id}/tokens")).await;
    let read_id = toks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| read.starts_with(t["prefix"].as_str().unwrap()) && t["revoked_at"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = srv
        .call_as(
            Some(&srv.token),
            Method::DELETE,
            &format!("/api/v1/users/{erin_id}/tokens/{read_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = srv.call_as(Some(&read), GET, "/api/v1/me", None).await;
    assert_eq!(s, 401);

    // Expired: move the expiry into the past in the store, as time passing would.
    {
        use sqlx::Connection;
        let url = format!("sqlite://{}?mode=rw", data.join("scaleph.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE prefix = ?")
            .bind(&write[..8])
            .execute(&mut c)
            .await
            .unwrap();
    }
    let (s, e) = srv.call_as(Some(&write), GET, "/api/v1/me", None).await;
    assert_eq!((s, e["detail"].as_str()), (401, Some("token expired")));

    // Disabling the user stops all their tokens; enabling restores them.
    let (s, _) = srv
        .call_as(
            Some(&srv.token),
            Method::PATCH,
            &format!("/api/v1/users/{erin_id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = srv.call_as(Some(&full), GET, "/api/v1/me", None).await;
    assert_eq!((s, e["detail"].as_str()), (401, Some("user is disabled")));
    let (s, _) = srv
        .call_as(
            Some(&srv.token),
            Method::PATCH,
            &format!("/api/v1/users/{erin_id}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = srv.call_as(Some(&full), GET, "/api/v1/me", None).await;
    assert_eq!(s, 200);
    // The last admin cannot lock the platform.
    let (_, me) = srv.get("/api/v1/me").await;
    let admin_id = me["user"]["id"].as_str().unwrap();
    let (s, e) = srv
        .call_as(
            Some(&srv.token),
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(s, 409, "{e}");
}

/// Logs in with a password; returns (session cookie pair, csrf token, raw Set-Cookie).
async fn login(srv: &Server, user: &str, password: &str) -> (String, String, String) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", srv.base))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().to_string();
    let b: Value = r.json().await.unwrap();
    (pair, b["csrf_token"].as_str().unwrap().to_string(), set)
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let (cookie, csrf, set) = login(&srv, "admin", common::ADMIN_PASSWORD).await;
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{set}");
    }
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", srv.base);
    let me: Value = http
        .get(url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["via"].as_str(), me["csrf_token"].as_str()),
        (Some("session"), Some(csrf.as_str()))
    );
    let create = |token: Option<&str>| {
        let mut r = http
            .post(url("/api/v1/projects"))
            .header("cookie", &cookie)
            .json(&json!({"name": "cookie-made"}));
        if let Some(t) = token {
            r = r.header("x-csrf-token", t);
        }
        r.send()
    };
    let r = create(None).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("X-CSRF-Token"));
    assert_eq!(create(Some("wrong")).await.unwrap().status(), 403);
    assert_eq!(
        create(Some(&csrf[..csrf.len() - 1]))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(create(Some(&csrf)).await.unwrap().status(), 201);
    // Sign out: the cookie stops working and is cleared.
    let r = http
        .post(url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = http
        .get(url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A password change ends every session of the user; the old password stops working.
    let (cookie2, csrf2, _) = login(&srv, "admin", common::ADMIN_PASSWORD).await;
    let change = |current: &str| {
        http.post(url("/api/v1/me/password"))
            .header("cookie", &cookie2)
            .header("x-csrf-token", &csrf2)
            .json(&json!({"current_password": current, "new_password": "a-new-admin-password"}))
            .send()
    };
    assert_eq!(change("not-it").await.unwrap().status(), 401);
    assert_eq!(change(common::ADMIN_PASSWORD).await.unwrap().status(), 204);
    assert_eq!(
        http.get(url("/api/v1/me"))
            .header("cookie", &cookie2)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    login(&srv, "admin", "a-new-admin-password").await;
    let (s, _) = srv
        .call_as(
            None,
            POST,
            "/api/v1/auth/login",
            Some(json!({"username": "admin", "password": common::ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_user_and_per_address() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    user(&srv, "frank", ALL).await;
    let attempt = |u: &str, p: &str| {
        let srv = &srv;
        let (u, p) = (u.to_string(), p.to_string());
        async move {
            let r = reqwest::Client::new()
                .post(format!("{}/api/v1/auth/login", srv.base))
                .json(&json!({"username": u, "password": p}))
                .send()
                .await
                .unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry, r.text().await.unwrap())
        }
    };
    // Default limit: 5 failures per user name within 15 minutes.
    for _ in 0..5 {
        assert_eq!(attempt("frank", "wrong-password").await.0, 401);
    }
    let (s, retry, body) = attempt("frank", "frank-password").await;
    assert_eq!(
        s, 429,
        "even the right password is refused while throttled: {body}"
    );
    assert!(
        body.contains("too many failed sign-ins for this user"),
        "{body}"
    );
    let secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((800..=900).contains(&secs), "{secs}");
    // Other users are not affected by frank's lock…
    assert_eq!(attempt("admin", common::ADMIN_PASSWORD).await.0, 200);
    // …until the address itself passes its limit (4 × 5 = 20 failures; 5 so far).
    for i in 0..15 {
        let (s, _, b) = attempt(&format!("nobody{i}"), "wrong-password").await;
        assert_eq!(s, 401, "{i}: {b}");
    }
    let (s, _, body) = attempt("admin", common::ADMIN_PASSWORD).await;
    assert_eq!(s, 429, "{body}");
    assert!(body.contains("for this address"), "{body}");
    // Throttled and failed logins are audited as denied.
    let (_, log) = srv.get("/api/v1/audit?action=auth.login&actor=frank").await;
    let outcomes: Vec<(&str, i64)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap(),
                e["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes[0], ("denied", 429));
    assert_eq!(
        outcomes.iter().filter(|o| **o == ("denied", 401)).count(),
        5
    );
}

#[tokio::test]
async fn audit_log_records_every_mutation_with_its_actor() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let t0 = chrono::Utc::now().timestamp_millis();
    let (gina_id, gina) = user(&srv, "gina", ALL).await;
    let (_, hank) = user(&srv, "hank", ALL).await;
    // (actor token, method, path, body, expected status, expected action)
    let (_, p) = srv
        .call_as(
            Some(&gina),
            POST,
            "/api/v1/projects",
            Some(json!({"name": "audited"})),
        )
        .await;
    let pid = p["id"].as_str().unwrap().to_string();
    let mut expected: Vec<(&str, &str, String, &str, i64)> = vec![
        (
            "admin",
            "user.create",
            format!("/api/v1/users/{gina_id}"),
            "success",
            201,
        ),
        (
            "gina",
            "project.create",
            format!("/api/v1/projects/{pid}"),
            "success",
            201,
        ),
    ];
    let none = String::new();
    // (actor, token, method, path, body, audit action, outcome, status)
    type Call<'a> = (
        &'a str,
        &'a String,
        Method,
        String,
        Value,
        &'a str,
        &'a str,
        i64,
    );
    let calls: Vec<Call> = vec![
        (
            "gina",
            &gina,
            POST,
            format!("/api/v1/projects/{pid}/datasources"),
            json!({"name": "f", "type": "filesystem", "properties": {"path": "."}}),
            "datasource.create",
            "success",
            201,
        ),
        (
            "gina",
            &gina,
            Method::PATCH,
            format!("/api/v1/projects/{pid}"),
            json!({"description": "d"}),
            "project.update",
            "success",
            200,
        ),
        (
            "gina",
            &gina,
            POST,
            format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": "x", "script": "SELECT 1;"}),
            "job.create",
            "success",
            201,
        ),
        (
            "gina",
            &gina,
            POST,
            format!("/api/v1/projects/{pid}/jobs"),
            json!({"name": ""}),
            "job.create",
            "failed",
            422,
        ),
        (
            "hank",
            &hank,
            Method::DELETE,
            format!("/api/v1/projects/{pid}"),
            json!({}),
            "project.delete",
            "denied",
            404,
        ),
        (
            "gina",
            &gina,
            POST,
            "/api/v1/me/tokens".to_string(),
            json!({"name": "t", "scopes": ["read"]}),
            "token.create",
            "success",
            201,
        ),
        (
            "anonymous",
            &none,
            POST,
            format!("/api/v1/projects/{pid}/jobs"),
            json!({}),
            "job.create",
            "denied",
            401,
        ),
    ];
    for (actor, token, m, path, body, action, outcome, status) in &calls {
        let t = (!token.is_empty()).then_some(token.as_str());
        let (s, b) = srv.call_as(t, m.clone(), path, Some(body.clone())).await;
        assert_eq!(i64::from(s), *status, "{actor} {m} {path}: {b}");
        let target = match b["id"].as_str().or(b["info"]["id"].as_str()) {
            Some(id) if s == 201 => format!("{path}/{id}"),
            _ => path.clone(),
        };
        expected.push((actor, action, target, outcome, *status));
    }
    let (s, page) = srv
        .get(&format!("/api/v1/audit?since={t0}&page_size=500"))
        .await;
    assert_eq!(s, 200);
    let entries = page["items"].as_array().unwrap();
    for (actor, action, target, outcome, status) in &expected {
        let hit = entries.iter().any(|e| {
            e["actor"] == *actor
                && e["action"] == *action
                && e["target"] == target.as_str()
                && e["outcome"] == *outcome
                && e["status"] == *status
                && e["source_ip"] == "127.0.0.1"
        });
        assert!(
            hit,
            "no audit entry {actor} {action} {target} {outcome} {status} in {page:#}"
        );
    }
    // Reads are not audited; entries carry the actor's id.
    assert!(entries
        .iter()
        .all(|e| !e["action"].as_str().unwrap().ends_with(".list")));
    assert!(entries
        .iter()
        .any(|e| e["actor"] == "gina" && e["actor_id"] == gina_id.as_str()));
    // Filters and paging.
    let (_, g) = srv.get("/api/v1/audit?actor=gina&action=project.").await;
    assert_eq!(g["total"], 2, "{g:#}");
    let (_, d) = srv.get("/api/v1/audit?outcome=denied").await;
    assert!(d["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["outcome"] == "denied"));
    let (_, p1) = srv.get("/api/v1/audit?page=1&page_size=2").await;
    let (_, p2) = srv.get("/api/v1/audit?page=2&page_size=2").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    let (s, e) = srv.get("/api/v1/audit?outcome=maybe").await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = srv.call_as(Some(&gina), GET, "/api/v1/audit", None).await;
    assert_eq!(s, 403);
}

/// A datasource password is used for real connections, yet never appears in any API response
/// nor anywhere in the server's log (run at debug level).
#[tokio::test]
async fn secrets_never_reach_responses_or_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start_env(
        &tmp.path().join("data"),
        &[],
        &[("SCALEPH_LOG", "debug,sqlx=debug,tower_http=trace")],
    );
    let (props, password) = common::postgres_datasource_props();
    let http = client_with(&srv.token);
    let bodies = std::sync::Mutex::new(Vec::new());
    let send = |req: reqwest::RequestBuilder| {
        let bodies = &bodies;
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            let t = r.text().await.unwrap();
            bodies.lock().unwrap().push(t.clone());
            (s, serde_json::from_str::<Value>(&t).unwrap_or(Value::Null))
        }
    };
    let url = |p: &str| format!("{}{p}", srv.base);
    let (_, p) = send(
        http.post(url("/api/v1/projects"))
            .json(&json!({"name": "secret"})),
    )
    .await;
    let pid = p["id"].as_str().unwrap().to_string();
    let ds = format!("/api/v1/projects/{pid}/datasources");
    let (s, d) = send(
        http.post(url(&ds))
            .json(&json!({"name": "pg", "type": "postgresql", "properties": props})),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    let did = d["id"].as_str().unwrap().to_string();
    let (_, t) = send(http.post(url(&format!("{ds}/{did}/test"))).json(&json!({}))).await;
    assert_eq!(t["ok"], true, "the sealed password really logs in: {t}");
    // A wrong password: the failure message must not echo it either.
    let mut wrong = props.clone();
    let wrong_pw = format!("{password}-wrong");
    wrong["password"] = json!(wrong_pw);
    let (s, w) = send(
        http.post(url(&ds))
            .json(&json!({"name": "pg-wrong", "type": "postgresql", "properties": wrong})),
    )
    .await;
    assert_eq!(s, 201);
    let wid = w["id"].as_str().unwrap().to_string();
    let (_, t) = send(http.post(url(&format!("{ds}/{wid}/test"))).json(&json!({}))).await;
    assert_eq!(t["ok"], false, "{t}");
    // Reads, an update that keeps the secret, the audit log.
    let mut keep = props.clone();
    keep.as_object_mut().unwrap().remove("password");
    send(http.get(url(&ds))).await;
    send(http.get(url(&format!("{ds}/{did}")))).await;
    let (s, _) = send(
        http.put(url(&format!("{ds}/{did}")))
            .json(&json!({"name": "pg2", "properties": keep})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, t) = send(http.post(url(&format!("{ds}/{did}/test"))).json(&json!({}))).await;
    assert_eq!(t["ok"], true, "the update kept the password: {t}");
    // Its tables, read with the sealed password (for the studio's completion).
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&common::postgres_admin_url())
            .await
            .unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS scaleph_tables_probe (id INT)")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let (s, tables) = send(http.get(url(&format!("{ds}/{did}/tables")))).await;
    assert_eq!(s, 200, "{tables}");
    assert!(
        tables
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "scaleph_tables_probe"),
        "{tables}"
    );
    let (s, e) = send(http.get(url(&format!("{ds}/{wid}/tables")))).await;
    assert_eq!(s, 502, "wrong password: {e}");
    send(http.get(url("/api/v1/audit?page_size=500"))).await;
    send(http.get(url("/api/v1/me"))).await;
    let bodies = bodies.into_inner().unwrap();
    assert!(bodies.len() >= 10);
    for b in &bodies {
        assert!(
            !b.contains(&password),
            "a response contains the password: {b}"
        );
        assert!(
            !b.contains(&wrong_pw),
            "a response contains the wrong password: {b}"
        );
    }
    // The whole log of this server, at debug level (requests, SQL, connection tests).
    let log = srv.log_text();
    assert!(log.lines().count() > 20, "debug logging was on: {log}");
    assert!(log.contains("/datasources"), "requests were logged");
    assert!(
        !log.contains(&password),
        "the server log contains the password"
    );
    assert!(
        !log.contains(&wrong_pw),
        "the server log contains the wrong password"
    );
    assert!(!log.contains(&srv.token), "the server log contains a token");
    assert!(
        !log.contains(common::ADMIN_PASSWORD),
        "the server log contains the admin password"
    );
}
