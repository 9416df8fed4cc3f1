//! The one authorization middleware every API route goes through, and audit recording.

use super::credentials::authenticate;
use super::{AuditActor, Created, Principal, Via, CSRF_HEADER};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scaleph_auth::matrix::{self, Need, RouteRule};
use scaleph_auth::secret::ct_eq;
use scaleph_meta::AuditEntry;
use std::net::SocketAddr;

/// Authenticates, authorizes by the permission matrix, runs the handler, audits.
///
/// Unknown routes pass through (the fallback answers 404). Public routes run without
/// credentials; HEAD is checked as GET. A method the route does not declare is answered 405
/// with `Allow` before any credential check: axum's route layer also wraps a route's
/// method-not-allowed fallback, so such requests reach this middleware. A declared route
/// absent from `scaleph_auth::ROUTES` is refused with 500 — a programming error, caught by a
/// unit test before it ships.
pub async fn authorize(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    let method = match req.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    if route_less(&method, &path) {
        return method_not_allowed(req.method(), &path);
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let target = req.uri().path().to_owned();
    if matrix::is_public(method.as_str(), &path) {
        let resp = next.run(req).await;
        if method != Method::GET {
            let actor = resp.extensions().get::<AuditActor>().cloned();
            let (name, id) = actor.map_or(("anonymous".into(), None), |a| (a.name, a.id));
            let e = entry(&name, id, "auth.login", "Session", &target, &resp, &ip, "");
            record(&s, e).await;
        }
        return resp;
    }
    let Some(rule) = matrix::route(method.as_str(), &path) else {
        tracing::error!(%method, %path, "route has no permission rule; refusing");
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "route has no permission rule",
        )
        .into_response();
    };
    let (mut parts, body) = req.into_parts();
    let (principal, verdict) = check(&s, &mut parts, rule).await;
    let resp = match verdict {
        Ok(()) => {
            let mut req = Request::from_parts(parts, body);
            if let Some(p) = &principal {
                req.extensions_mut().insert(p.clone());
            }
            next.run(req).await
        }
        Err(e) => {
            let detail = e.detail().to_owned();
            let resp = e.into_response();
            if rule.audited() {
                let (name, id) = actor_of(&principal);
                let mut en = entry(&name, id, rule.event, "", &target, &resp, &ip, &detail);
                en.outcome = "denied".into();
                en.target_type = format!("{:?}", rule.resource);
                record(&s, en).await;
            }
            return resp;
        }
    };
    if rule.audited() {
        let (name, id) = actor_of(&principal);
        let target = match resp.extensions().get::<Created>() {
            Some(Created(new_id)) => format!("{target}/{new_id}"),
            None => target,
        };
        let mut en = entry(&name, id, rule.event, "", &target, &resp, &ip, "");
        en.target_type = format!("{:?}", rule.resource);
        record(&s, en).await;
    }
    resp
}

/// True when neither table has `method path` although the path is declared: the method is
/// not one of the route's.
fn route_less(method: &Method, path: &str) -> bool {
    !matrix::is_public(method.as_str(), path)
        && matrix::route(method.as_str(), path).is_none()
        && !matrix::methods(path).is_empty()
}

/// 405 with `Allow` listing the route's methods.
fn method_not_allowed(method: &Method, path: &str) -> Response {
    let allow = matrix::methods(path).join(", ");
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed here; allowed: {allow}"),
    )
    .with_header(axum::http::header::ALLOW, allow)
    .into_response()
}

fn actor_of(p: &Option<Principal>) -> (String, Option<String>) {
    p.as_ref().map_or(("anonymous".into(), None), |p| {
        (p.user.username.clone(), Some(p.user.id.clone()))
    })
}

/// Authentication, CSRF, scope and role checks for one rule. Returns the principal when
/// authentication succeeded, whatever the verdict, so denials are audited with their actor.
async fn check(
    s: &AppState,
    parts: &mut axum::http::request::Parts,
    rule: &RouteRule,
) -> (Option<Principal>, Result<(), ApiError>) {
    let p = match authenticate(&s.store, &parts.headers).await {
        Ok(p) => p,
        Err(e) => return (None, Err(e)),
    };
    let verdict = permit(s, parts, rule, &p).await;
    (Some(p), verdict)
}

async fn permit(
    s: &AppState,
    parts: &mut axum::http::request::Parts,
    rule: &RouteRule,
    p: &Principal,
) -> Result<(), ApiError> {
    if let Via::Session { csrf_token, .. } = &p.via {
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !safe && !ct_eq(sent, csrf_token) {
            return Err(ApiError::forbidden(
                "missing or wrong X-CSRF-Token header (its value is returned by login and GET /api/v1/me)",
            ));
        }
    }
    let Some(perm) = matrix::permission(rule.resource, rule.action) else {
        return Err(ApiError::forbidden("nobody may do this"));
    };
    if !p.scopes.contains(perm.scope) {
        return Err(ApiError::forbidden(format!(
            "the token lacks the '{}' scope this call needs",
            perm.scope
        )));
    }
    match perm.need {
        Need::Platform(role) if p.user.role < role => Err(ApiError::forbidden(format!(
            "this call needs the platform role '{role}'"
        ))),
        Need::Platform(_) => Ok(()),
        Need::Project(role) => {
            let params = RawPathParams::from_request_parts(parts, &())
                .await
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("invalid path parameter: {}", e.body_text()),
                    )
                })?;
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_owned())
            };
            // Non-members learn nothing: the answer is the 404 an unknown id gets.
            let (project, missing) = match (param("project_id"), param("instance_id")) {
                (Some(pid), _) => (pid.clone(), format!("project '{pid}' not found")),
                (None, Some(iid)) => {
                    let missing = format!("job instance '{iid}' not found");
                    match s.store.instance_project(&iid).await? {
                        Some(pid) => (pid, missing),
                        None => return Err(ApiError::not_found(missing)),
                    }
                }
                (None, None) => {
                    return Err(ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "project-scoped route without a project",
                    ))
                }
            };
            if p.is_admin() {
                return Ok(());
            }
            match s.store.member_role(&project, &p.user.id).await? {
                None => Err(ApiError::not_found(missing)),
                Some(have) if have < role => Err(ApiError::forbidden(format!(
                    "this call needs the project role '{role}' or higher; you are '{have}'"
                ))),
                Some(_) => Ok(()),
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    actor: &str,
    actor_id: Option<String>,
    action: &str,
    target_type: &str,
    target: &str,
    resp: &Response,
    ip: &str,
    detail: &str,
) -> AuditEntry {
    let status = resp.status();
    AuditEntry {
        id: String::new(),
        at: chrono::Utc::now().timestamp_millis(),
        actor_id,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target_type: target_type.to_owned(),
        target: target.to_owned(),
        outcome: if status.is_success() {
            "success"
        } else if matches!(status.as_u16(), 401 | 429) {
            "denied"
        } else {
            "failed"
        }
        .to_owned(),
        status: i64::from(status.as_u16()),
        source_ip: ip.to_owned(),
        detail: detail.to_owned(),
    }
}

async fn record(s: &AppState, e: AuditEntry) {
    if let Err(err) = s.store.record_audit(e).await {
        tracing::error!(error = %err, "cannot write the audit log");
    }
}
