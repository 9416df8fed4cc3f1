//! Turning request headers into a [`Principal`]: bearer tokens and session cookies.

use super::{AuthConfig, Principal, Via, SESSION_COOKIE};
use crate::error::ApiError;
use axum::http::{header, HeaderMap};
use scaleph_auth::secret::{digest, TOKEN_PREFIX};
use scaleph_auth::ScopeSet;
use scaleph_meta::Store;

/// Token uses closer together than this (ms) do not rewrite `last_used_at`.
const TOUCH_EVERY_MS: i64 = 10_000;

/// Authenticates the request: `Authorization: Bearer <token>` first, else the session cookie.
///
/// # Errors
/// 401 naming what is wrong: nothing given, unknown/expired/revoked token, expired session,
/// disabled user. 500 on store errors.
pub async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let h = h.to_str().unwrap_or("");
        let token = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("unsupported Authorization scheme: use 'Bearer <token>'")
            })?
            .trim();
        return token_principal(store, token).await;
    }
    if let Some(sid) = cookie(headers, SESSION_COOKIE) {
        let row = store.session(&digest(sid)).await?.ok_or_else(|| {
            ApiError::unauthorized("session expired or signed out: sign in again")
        })?;
        if !row.user.enabled {
            return Err(ApiError::unauthorized("user is disabled"));
        }
        return Ok(Principal {
            user: row.user,
            scopes: ScopeSet::all(),
            via: Via::Session {
                id_digest: digest(sid),
                csrf_token: row.csrf_token,
                expires_at: row.expires_at,
            },
        });
    }
    Err(ApiError::unauthorized(
        "authentication required: send 'Authorization: Bearer <token>' (see `scaleph login`) or sign in",
    ))
}

async fn token_principal(store: &Store, token: &str) -> Result<Principal, ApiError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(ApiError::unauthorized("invalid token"));
    }
    // Tokens are random 192-bit values: looking one up by its SHA-256 digest leaks nothing
    // useful through timing, so no constant-time scan is needed.
    let (t, user) = store
        .token_by_digest(&digest(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid token"))?;
    let now = chrono::Utc::now().timestamp_millis();
    if t.revoked_at.is_some() {
        return Err(ApiError::unauthorized("token revoked"));
    }
    if t.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::unauthorized("token expired"));
    }
    if !user.enabled {
        return Err(ApiError::unauthorized("user is disabled"));
    }
    if t.last_used_at.is_none_or(|l| now - l >= TOUCH_EVERY_MS) {
        if let Err(e) = store.touch_token(&t.id, now).await {
            tracing::warn!(error = %e, "cannot record token use");
        }
    }
    Ok(Principal {
        user,
        scopes: t.scopes.iter().copied().collect(),
        via: Via::Token { id: t.id },
    })
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` value for a new session: HttpOnly, SameSite=Strict, Path=/, Max-Age (RFC 6265).
pub fn session_cookie(sid: &str, cfg: &AuthConfig) -> String {
    format!(
        "{SESSION_COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        cfg.session_ttl.as_secs(),
        if cfg.secure_cookies { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(cfg: &AuthConfig) -> String {
    format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if cfg.secure_cookies { "; Secure" } else { "" }
    )
}
