//! Accounts: user creation and validation, password login with throttling, personal access
//! tokens, and the bootstrap `admin` user. Used by the API and by `scaleph user`.

use crate::error::ApiError;
use axum::http::StatusCode;
use scaleph_auth::secret::{self, TOKEN_PREFIX};
use scaleph_auth::throttle::LoginThrottle;
use scaleph_auth::{PlatformRole, ScopeSet};
use scaleph_meta::{ApiToken, NewUser, Store, User, UserPatch};
use std::net::IpAddr;

/// Name of the user created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// Default token lifetime when none is asked for, in days.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// Longest token lifetime, in days (10 years).
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// Checks a user name: 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
///
/// # Errors
/// 422 naming the rule broken.
pub fn validate_username(u: &str) -> Result<(), ApiError> {
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    let ok_start = u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if u.is_empty() || u.len() > 64 || !ok_chars || !ok_start {
        return Err(ApiError::invalid(format!(
            "invalid user name '{u}': use 1-64 characters a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        )));
    }
    Ok(())
}

fn password_hash(password: &str) -> Result<String, ApiError> {
    secret::hash_password(password).map_err(|e| match e {
        secret::SecretError::WeakPassword => ApiError::invalid(e.to_string()),
        secret::SecretError::BadHash(m) => {
            tracing::error!(error = %m, "password hashing failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    })
}

/// A random password for new accounts (32 URL-safe characters).
pub fn generate_password() -> String {
    secret::random_secret()
}

/// Creates a user; with no `password`, generates one and returns it (to be shown once).
///
/// # Errors
/// 422 on a bad name or weak password, 409 on a taken name.
pub async fn create_user(
    store: &Store,
    username: &str,
    display_name: &str,
    email: &str,
    role: PlatformRole,
    password: Option<&str>,
) -> Result<(User, Option<String>), ApiError> {
    validate_username(username)?;
    let generated = password.is_none().then(generate_password);
    let hash = password_hash(password.or(generated.as_deref()).unwrap_or_default())?;
    let u = store
        .create_user(NewUser {
            username,
            display_name,
            email,
            role,
            password_hash: &hash,
        })
        .await?;
    Ok((u, generated))
}

/// Sets a new password (ends the user's browser sessions).
///
/// # Errors
/// 422 on a weak password, 404 for an unknown user.
pub async fn set_password(store: &Store, user_id: &str, password: &str) -> Result<(), ApiError> {
    let hash = password_hash(password)?;
    Ok(store.set_password(user_id, &hash).await?)
}

/// Changes a user, refusing to leave the platform without an enabled admin.
///
/// # Errors
/// 404, or 409 when the change would disable or demote the last enabled admin.
pub async fn update_user(store: &Store, id: &str, patch: &UserPatch) -> Result<User, ApiError> {
    let cur = store.get_user(id).await?;
    let loses_admin = cur.role == PlatformRole::Admin
        && cur.enabled
        && (patch.enabled == Some(false) || patch.role == Some(PlatformRole::User));
    if loses_admin && store.count_enabled_admins().await? <= 1 {
        return Err(ApiError::conflict(
            "this is the last enabled admin: make another user admin first",
        ));
    }
    Ok(store.update_user(id, patch).await?)
}

/// Issues a personal access token for `user_id`. Returns the token (shown once) and its
/// metadata. `expires_in_days`: default [`DEFAULT_TOKEN_DAYS`], at most [`MAX_TOKEN_DAYS`].
///
/// # Errors
/// 422 on a bad name, empty scopes or lifetime; 404 for an unknown user.
pub async fn issue_token(
    store: &Store,
    user_id: &str,
    name: &str,
    scopes: ScopeSet,
    expires_in_days: Option<u32>,
) -> Result<(String, ApiToken), ApiError> {
    let name = super::names::check_field("name", name)?;
    if scopes.is_empty() {
        return Err(ApiError::invalid(
            "'scopes' must name at least one of read, write, operate, admin",
        ));
    }
    let days = expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ApiError::invalid(format!(
            "'expires_in_days' must be within 1..{MAX_TOKEN_DAYS}"
        )));
    }
    let expires = chrono::Utc::now().timestamp_millis() + i64::from(days) * 86_400_000;
    let (token, digest) = secret::new_token();
    let prefix = &token[..TOKEN_PREFIX.len() + 4];
    let t = store
        .create_token(user_id, name, &digest, prefix, scopes, Some(expires))
        .await?;
    Ok((token, t))
}

/// A successful password login.
pub struct Login {
    /// The user.
    pub user: User,
    /// Session id for the cookie (only its digest is stored).
    pub session_id: String,
    /// Anti-CSRF token of the session.
    pub csrf_token: String,
    /// Expiry, epoch ms.
    pub expires_at: i64,
}

/// Checks a user name and password, with throttling: throttled attempts are refused before
/// the password is checked; unknown names cost the same time as wrong passwords; failures
/// count towards the throttle, a success clears the user's count.
///
/// # Errors
/// 429 with `Retry-After` when throttled; 401 "invalid user name or password"; 401 for a
/// disabled user (only after a correct password).
pub async fn check_password(
    store: &Store,
    throttle: &LoginThrottle,
    username: &str,
    password: &str,
    ip: IpAddr,
) -> Result<User, ApiError> {
    throttle.check(username, ip).map_err(|t| {
        let secs = t.retry_after.as_secs().max(1);
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed sign-ins for this {}: try again in {secs} s",
                t.by
            ),
        )
        .with_header(axum::http::header::RETRY_AFTER, secs.to_string())
    })?;
    let found = store.user_for_login(username).await?;
    let ok = match &found {
        Some((_, hash)) => secret::verify_password(password, hash).unwrap_or_else(|e| {
            tracing::error!(error = %e, "stored password hash is invalid");
            false
        }),
        None => {
            secret::verify_nothing(password);
            false
        }
    };
    let Some((user, _)) = found.filter(|_| ok) else {
        throttle.failed(username, ip);
        return Err(ApiError::unauthorized("invalid user name or password"));
    };
    if !user.enabled {
        return Err(ApiError::unauthorized("user is disabled"));
    }
    throttle.succeeded(username);
    Ok(user)
}

/// A new browser session.
pub struct Session {
    /// The user.
    pub user: User,
    /// Session id for the cookie (only its digest is stored).
    pub session_id: String,
    /// Anti-CSRF token of the session.
    pub csrf_token: String,
    /// Expiry, epoch ms.
    pub expires_at: i64,
}

/// Opens a browser session of `ttl_ms` for `user`.
///
/// # Errors
/// Store errors (500).
pub async fn open_session(store: &Store, user: User, ttl_ms: i64) -> Result<Session, ApiError> {
    let session_id = secret::random_secret();
    let csrf_token = secret::random_secret();
    let expires_at = chrono::Utc::now().timestamp_millis() + ttl_ms;
    store
        .create_session(
            &secret::digest(&session_id),
            &user.id,
            &csrf_token,
            expires_at,
        )
        .await?;
    Ok(Session {
        user,
        session_id,
        csrf_token,
        expires_at,
    })
}

/// On a store without users, creates `admin` with `password`, or a generated password that
/// is returned so the caller can show it once. Returns `None` when users exist.
///
/// # Errors
/// Store errors; 422 when `password` is too weak.
pub async fn bootstrap_admin(
    store: &Store,
    password: Option<&str>,
) -> Result<Option<(User, Option<String>)>, ApiError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let r = create_user(
        store,
        BOOTSTRAP_ADMIN,
        "Administrator",
        "",
        PlatformRole::Admin,
        password,
    )
    .await?;
    Ok(Some(r))
}
