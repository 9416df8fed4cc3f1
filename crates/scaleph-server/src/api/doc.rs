//! The error answers every operation shares, documented once for the whole OpenAPI document.

use crate::error::PROBLEM_JSON;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::Modify;

/// Completes every operation's error answers: each 4xx/5xx answer is a `Problem` document
/// (`application/problem+json`), and the answers the shared machinery gives are added where
/// they can happen:
/// - 400 for operations with parameters or a body (a parameter or JSON body that does not
///   parse),
/// - 401 and 403 for operations that need credentials (none or bad; scope, role or CSRF),
/// - 404 for operations with path parameters (unknown ids; projects the caller is not a member
///   of),
/// - 413 and 422 for operations with a body (too large; well-formed but invalid), 415 for
///   JSON bodies (another content type), 422 also for query parameters out of range.
pub(super) struct Problems;

impl Modify for Problems {
    fn modify(&self, api: &mut OpenApi) {
        for item in api.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                complete(op);
            }
        }
    }
}

fn complete(op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_in = |kind: ParameterIn| params.iter().any(|p| p.parameter_in == kind);
    let (path, query) = (has_in(ParameterIn::Path), has_in(ParameterIn::Query));
    let body = op.request_body.as_ref();
    let json_body = body.is_some_and(|b| b.content.contains_key("application/json"));
    // `security: [{}]` marks a public operation; absent means the document's default.
    let public = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter()
            .any(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
    });
    let shared: [(&str, bool, &str); 7] = [
        ("400", path || query || body.is_some(), "Malformed request: a path or query parameter, or a JSON body, that does not parse."),
        ("401", !public, "No credentials, or an unknown, expired or revoked one."),
        ("403", !public, "The credential lacks the token scope, platform role or project role this call needs, or (session) the X-CSRF-Token header."),
        ("404", path, "Not found (also answered for projects the caller is not a member of)."),
        ("413", body.is_some(), "The request body is larger than the limit."),
        ("415", json_body, "The body is not `Content-Type: application/json`."),
        ("422", body.is_some() || query, "Well-formed, but invalid: the problem names the field or parameter."),
    ];
    let responses = &mut op.responses.responses;
    for (status, applies, description) in shared {
        if applies && !responses.contains_key(status) {
            responses.insert(status.into(), RefOr::T(Response::new(description)));
        }
    }
    for (status, resp) in responses.iter_mut() {
        let error = status.starts_with('4') || status.starts_with('5');
        if let (true, RefOr::T(resp)) = (error, resp) {
            if resp.content.is_empty() {
                resp.content.insert(
                    PROBLEM_JSON.into(),
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                );
            }
        }
    }
}

/// The schema of one Server-Sent Event named `name` whose `data` is JSON matching `content`
/// (JSON Schema, as `contentSchema`): how schemathesis and OpenAPI 3.1 describe event streams.
pub(super) fn sse_event(name: &str, content: serde_json::Value) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::extensions::Extensions;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    let mut ext = Extensions::default();
    ext.insert("contentSchema".into(), content);
    let data = ObjectBuilder::new()
        .schema_type(Type::String)
        .content_media_type("application/json")
        .extensions(Some(ext))
        .build();
    let event = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "event",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([name])),
        )
        .property("data", data)
        .required("event")
        .required("data")
        .build();
    Schema::Object(event)
}
