use crate::auth::credentials::{clear_cookie, session_cookie};
use crate::auth::{AuditActor, ClientIp, Principal, Via};
use crate::error::{ApiError, ApiJson};
use crate::service::accounts;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::{Extension, Json};
use scaleph_meta::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    username: String,
    /// Password.
    password: String,
}

/// A new browser session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The signed-in user.
    user: User,
    /// Send this in `X-CSRF-Token` on every POST/PUT/PATCH/DELETE of this session.
    csrf_token: String,
    /// Session expiry, epoch ms.
    expires_at: i64,
}

/// Signs in with a password; sets the `scaleph_session` cookie (HttpOnly, SameSite=Strict).
/// Failed attempts are throttled per user name and per client address (429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong credentials"), (status = 429, description = "throttled")))]
async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<LoginRequest>,
) -> Response {
    let ttl = i64::try_from(s.auth.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let r =
        match accounts::check_password(&s.store, &s.throttle, &b.username, &b.password, ip).await {
            Ok(user) => accounts::open_session(&s.store, user, ttl).await,
            Err(e) => Err(e),
        };
    let mut actor = AuditActor {
        name: b.username.chars().take(64).collect(),
        id: None,
    };
    match r {
        Ok(l) => {
            actor.id = Some(l.user.id.clone());
            (
                AppendHeaders([(header::SET_COOKIE, session_cookie(&l.session_id, &s.auth))]),
                Extension(actor),
                Json(LoginResponse {
                    user: l.user,
                    csrf_token: l.csrf_token,
                    expires_at: l.expires_at,
                }),
            )
                .into_response()
        }
        Err(e) => (Extension(actor), e).into_response(),
    }
}

/// Ends the browser session and clears its cookie (no effect for token callers).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(State(s): State<AppState>, p: Principal) -> Result<impl IntoResponse, ApiError> {
    if let Via::Session { id_digest, .. } = &p.via {
        s.store.delete_session(id_digest).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, clear_cookie(&s.auth))]),
    ))
}
