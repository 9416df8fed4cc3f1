//! Authentication and authorization.
//!
//! Every API route goes through [`middleware::authorize`]: it authenticates the caller (a
//! personal access token in `Authorization: Bearer`, or the browser session cookie plus the
//! `X-CSRF-Token` header on unsafe methods), applies the permission matrix of
//! `scaleph_auth::matrix` to the matched route, and records mutating calls in the audit log.
//! Handlers receive the caller as a [`Principal`] and contain no permission checks.

pub mod credentials;
pub mod middleware;

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use scaleph_auth::{PlatformRole, ScopeSet};
use scaleph_meta::User;
use std::time::Duration;

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "scaleph_session";

/// Header carrying the anti-CSRF token on unsafe methods of cookie sessions.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Session settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lifetime of a browser session (default 12 hours).
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (set when serving over HTTPS, directly or behind a
    /// proxy). Off by default so that `http://127.0.0.1` works.
    pub secure_cookies: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            secure_cookies: false,
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// Browser session cookie.
    Session {
        /// SHA-256 of the session id (the stored key).
        id_digest: String,
        /// The session's anti-CSRF token.
        csrf_token: String,
        /// Expiry, epoch ms.
        expires_at: i64,
    },
    /// Personal access token.
    Token {
        /// Token id.
        id: String,
    },
}

/// The authenticated caller, put in the request by the middleware.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// Scopes the credential grants (sessions: all).
    pub scopes: ScopeSet,
    /// Credential kind.
    pub via: Via,
}

impl Principal {
    /// True for platform admins.
    pub fn is_admin(&self) -> bool {
        self.user.role == PlatformRole::Admin
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }
}

/// Response extension naming what a creating call created (its id), for the audit entry.
#[derive(Debug, Clone)]
pub struct Created(pub String);

/// Response extension naming the actor of a public call (the user name a login tried).
#[derive(Debug, Clone)]
pub struct AuditActor {
    /// User name given.
    pub name: String,
    /// User id, when the name is a user.
    pub id: Option<String>,
}

/// The client's address (from the connection; `0.0.0.0` when served without connect info).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip()),
        ))
    }
}
