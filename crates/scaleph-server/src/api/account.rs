use crate::auth::{ClientIp, Created, Principal, Via};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::service::accounts;
use crate::service::names::Name;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_auth::{Scope, ScopeSet};
use scaleph_meta::{ApiToken, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_my_tokens, create_token))
        .routes(routes!(revoke_my_token))
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user.
    user: User,
    /// `session` or `token`.
    via: &'static str,
    /// Scopes in effect.
    scopes: Vec<Scope>,
    /// For sessions: the token to send in `X-CSRF-Token`.
    csrf_token: Option<String>,
    /// For sessions: expiry, epoch ms.
    session_expires_at: Option<i64>,
}

/// Who is calling: user, credential kind, scopes (and the CSRF token for sessions).
#[utoipa::path(get, path = "/api/v1/me", tag = "account", responses((status = 200, body = Me)))]
async fn me(p: Principal) -> Json<Me> {
    let (via, csrf_token, session_expires_at) = match p.via {
        Via::Session {
            csrf_token,
            expires_at,
            ..
        } => ("session", Some(csrf_token), Some(expires_at)),
        Via::Token { .. } => ("token", None, None),
    };
    Json(Me {
        user: p.user,
        via,
        scopes: p.scopes.iter().collect(),
        csrf_token,
        session_expires_at,
    })
}

/// Body of `POST /me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    current_password: String,
    /// The new password (at least 8 characters).
    #[schema(min_length = 8)]
    new_password: String,
}

/// Changes the caller's password; ends all their browser sessions (sign in again).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "account", request_body = PasswordChange,
    responses((status = 204), (status = 401, description = "current password wrong"), (status = 422), (status = 429, description = "throttled: too many wrong passwords")))]
async fn change_password(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    ApiJson(b): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    // Same check and throttle as a login, so a stolen session cannot guess the password.
    accounts::check_password(
        &s.store,
        &s.throttle,
        &p.user.username,
        &b.current_password,
        ip,
    )
    .await?;
    accounts::set_password(&s.store, &p.user.id, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's personal access tokens (metadata only; revoked ones marked).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "account", responses((status = 200, body = Vec<ApiToken>)))]
async fn list_my_tokens(
    State(s): State<AppState>,
    p: Principal,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(s.store.list_tokens(&p.user.id).await?))
}

/// Body of `POST /me/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Label, e.g. `ci` or `cli@laptop`.
    name: Name,
    /// Scopes to grant; a token cannot grant scopes its creator's credential lacks.
    #[schema(min_items = 1)]
    scopes: Vec<Scope>,
    /// Lifetime in days (default 90, at most 3650).
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// A new token: `token` is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The secret (`sph_…`); send as `Authorization: Bearer <token>`.
    token: String,
    /// Its metadata.
    info: ApiToken,
}

/// Creates a personal access token for the caller.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "account", request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 403, description = "scopes beyond the caller's"), (status = 422)))]
async fn create_token(
    State(s): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewToken>,
) -> Result<(StatusCode, Extension<Created>, Json<IssuedToken>), ApiError> {
    let scopes: ScopeSet = b.scopes.iter().copied().collect();
    if let Some(extra) = scopes.iter().find(|sc| !p.scopes.contains(*sc)) {
        return Err(ApiError::forbidden(format!(
            "cannot grant the '{extra}' scope: the credential creating the token lacks it"
        )));
    }
    let (token, info) = accounts::issue_token(
        &s.store,
        &p.user.id,
        b.name.as_str(),
        scopes,
        b.expires_in_days,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(info.id.clone())),
        Json(IssuedToken { token, info }),
    ))
}

/// Revokes one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{token_id}", tag = "account", params(("token_id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 404)))]
async fn revoke_my_token(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiToken>, ApiError> {
    Ok(Json(s.store.revoke_token(&p.user.id, &id).await?))
}
