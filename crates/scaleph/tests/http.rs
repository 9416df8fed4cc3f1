//! HTTP correctness against a real `scaleph serve`: undeclared methods, names with control
//! characters, problem documents for every error, and the OpenAPI document's shape.

mod common;

use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

/// Sends `method path` with no credentials; returns status, `Allow`, content type and body.
async fn bare(srv: &Server, method: &str, path: &str) -> (u16, String, String, Value) {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let r = reqwest::Client::new()
        .request(m, format!("{}{path}", srv.base))
        .send()
        .await
        .unwrap();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (allow, ctype) = (header("allow"), header("content-type"));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        allow,
        ctype,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn undeclared_methods_answer_405_with_allow_and_no_credentials_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("p").await;
    let cases = [
        ("TRACE", "/healthz".to_string(), "GET, HEAD"),
        ("OPTIONS", "/healthz".to_string(), "GET, HEAD"),
        ("PUT", "/api/v1/projects".to_string(), "GET, HEAD, POST"),
        (
            "FOO",
            format!("/api/v1/projects/{pid}"),
            "GET, HEAD, PATCH, DELETE",
        ),
        ("GET", "/api/v1/auth/login".to_string(), "POST"),
        ("PATCH", "/api/v1/users".to_string(), "GET, HEAD, POST"),
    ];
    for (method, path, allow) in cases {
        let (s, got_allow, ctype, body) = bare(&srv, method, &path).await;
        assert_eq!(s, 405, "{method} {path}: {body}");
        let mut got: Vec<&str> = got_allow.split(", ").collect();
        let mut want: Vec<&str> = allow.split(", ").collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{method} {path}");
        assert_eq!(ctype, "application/problem+json", "{method} {path}");
        assert_eq!(body["status"], 405, "{body}");
    }
    // HEAD is GET without the body, for public and authenticated routes alike.
    assert_eq!(bare(&srv, "HEAD", "/healthz").await.0, 200);
    assert_eq!(bare(&srv, "HEAD", "/api/v1/projects").await.0, 401);
    let r = srv
        .http
        .head(format!("{}/api/v1/projects", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Routes outside the API (the document) answer the same way.
    let (s, allow, ctype, _) = bare(&srv, "DELETE", "/api/v1/openapi.json").await;
    assert_eq!((s, ctype.as_str()), (405, "application/problem+json"));
    assert!(allow.contains("GET"), "{allow}");
}

#[tokio::test]
async fn names_with_control_characters_are_refused_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("p").await;
    let jid = srv.job(&pid, "j", "SELECT 1;").await;
    for bad in [
        "a\0b",
        "line\nbreak",
        "tab\there",
        "bell\u{7}",
        "c1\u{85}",
        "  ",
    ] {
        let creates = [
            ("/api/v1/projects".to_string(), json!({"name": bad})),
            (
                format!("/api/v1/projects/{pid}/jobs"),
                json!({"name": bad, "script": "SELECT 1;"}),
            ),
            (
                format!("/api/v1/projects/{pid}/datasources"),
                json!({"name": bad, "type": "filesystem", "properties": {"path": "."}}),
            ),
            (
                "/api/v1/clusters".to_string(),
                json!({"name": bad, "rest_url": "http://127.0.0.1:1"}),
            ),
            (
                "/api/v1/me/tokens".to_string(),
                json!({"name": bad, "scopes": ["read"]}),
            ),
        ];
        for (path, body) in creates {
            let (s, b) = srv.post(&path, body).await;
            assert_eq!(s, 422, "POST {path} {bad:?}: {b}");
            assert!(
                b["detail"].as_str().unwrap().contains("name"),
                "POST {path}: {b}"
            );
        }
        let (s, b, ctype) = srv
            .call(
                Method::PATCH,
                &format!("/api/v1/projects/{pid}/jobs/{jid}"),
                Some(json!({"name": bad})),
            )
            .await;
        assert_eq!(
            (s, ctype.as_str()),
            (422, "application/problem+json"),
            "{b}"
        );
        // Artifact names come in the query string.
        let r = srv
            .http
            .post(format!("{}/api/v1/projects/{pid}/artifacts", srv.base))
            .query(&[("name", bad)])
            .header("content-type", "application/java-archive")
            .body(b"PK\x03\x04 not really a jar".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let b: Value = r.json().await.unwrap();
        assert!(b["detail"].as_str().unwrap().contains("'name'"), "{b}");
    }
    // Nothing was stored; an emoji name is fine.
    assert_eq!(srv.get("/api/v1/projects").await.1["total"], 1);
    assert_eq!(srv.get("/api/v1/clusters").await.1, json!([]));
    let (s, p) = srv
        .post("/api/v1/projects", json!({"name": " Sales 📈 "}))
        .await;
    assert_eq!((s, p["name"].as_str()), (201, Some("Sales 📈")), "{p}");
}

#[tokio::test]
async fn every_client_error_is_a_problem_document() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let pid = srv.project("p").await;
    let jid = srv.job(&pid, "j", "SELECT 1;").await;
    let cases = [
        (
            Method::GET,
            format!("/api/v1/projects/{pid}/jobs/{jid}/versions/abc"),
            None,
            400,
            "version",
        ),
        (
            Method::GET,
            "/api/v1/projects?page=x".to_string(),
            None,
            400,
            "page",
        ),
        (
            Method::GET,
            "/api/v1/projects?colour=red".to_string(),
            None,
            400,
            "colour",
        ),
        (
            Method::GET,
            format!("/api/v1/projects/{pid}/jobs/{jid}/diff?from=1"),
            None,
            400,
            "to",
        ),
        (
            Method::GET,
            "/api/v1/projects/%FF".to_string(),
            None,
            400,
            "UTF-8",
        ),
        (
            Method::GET,
            "/api/v1/nowhere".to_string(),
            None,
            404,
            "no such route",
        ),
        (
            Method::POST,
            "/api/v1/projects".to_string(),
            Some("name=x"),
            415,
            "Content-Type",
        ),
    ];
    for (method, path, body, status, needle) in cases {
        let mut req = srv
            .http
            .request(method.clone(), format!("{}{path}", srv.base));
        if let Some(b) = body {
            req = req.body(b);
        }
        let r = req.send().await.unwrap();
        let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        assert_eq!(ctype, "application/problem+json", "{method} {path}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["status"], status);
        assert!(
            v["detail"].as_str().unwrap().contains(needle),
            "{method} {path}: {v}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_declares_query_parameters_problems_and_streams() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(&tmp.path().join("data"));
    let (s, doc) = srv.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    let mut query = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str().unwrap() {
                    "path" => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: '{name}' is declared in: path"
                    ),
                    "query" => query += 1,
                    other => panic!("{method} {path}: '{name}' in {other}"),
                }
            }
            // Every error answer is a problem document.
            for (status, resp) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        resp["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status}: {resp}"
                    );
                }
            }
            let responses = &op["responses"];
            if op["requestBody"].is_object() {
                for status in ["400", "413", "422"] {
                    assert!(responses[status].is_object(), "{method} {path}: {status}");
                }
            }
            if op["security"] != json!([{}]) {
                assert!(responses["401"].is_object(), "{method} {path}: 401");
            }
        }
    }
    assert!(query >= 23, "{query} query parameters");
    assert!(
        doc["components"]["schemas"]["Outcome"].is_object(),
        "audit outcome filter"
    );
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    assert!(login["429"].is_object() && login["415"].is_object());
    let events = &doc["paths"]["/api/v1/instances/{instance_id}/events"]["get"]["responses"]["200"]
        ["content"]["text/event-stream"]["schema"];
    let event = &doc["components"]["schemas"][events["$ref"]
        .as_str()
        .unwrap()
        .trim_start_matches("#/components/schemas/")];
    let kinds: Vec<&Value> = event["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["properties"]["event"]["enum"][0])
        .collect();
    assert_eq!(kinds, [&json!("instance"), &json!("logs")], "{event}");
    assert_eq!(
        event["oneOf"][0]["properties"]["data"]["contentSchema"]["$ref"],
        "#/components/schemas/InstanceDetail"
    );
    let jar = &doc["paths"]["/api/v1/projects/{project_id}/artifacts"]["post"]["requestBody"]
        ["content"]["application/java-archive"]["schema"];
    let jar = match jar["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => jar,
    };
    assert_eq!(
        (&jar["type"], &jar["format"]),
        (&json!("string"), &json!("binary")),
        "{jar}"
    );
}
