use super::PageParams;
use crate::auth::Created;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::service::accounts;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_auth::PlatformRole;
use scaleph_meta::{ApiToken, Page, User, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(reset_password))
        .routes(routes!(list_user_tokens))
        .routes(routes!(revoke_user_token))
}

/// Body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// Login name: 1-64 of `a-z 0-9 . _ -`.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    username: String,
    /// Name shown in the UI.
    #[serde(default)]
    display_name: String,
    /// E-mail.
    #[serde(default)]
    email: String,
    /// Platform role (default `user`).
    role: Option<PlatformRole>,
    /// Initial password (at least 8 characters); generated and returned once when omitted.
    #[schema(min_length = 8)]
    password: Option<String>,
}

/// A created user, with the generated password when none was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    user: User,
    /// Generated password, shown this once.
    generated_password: Option<String>,
}

/// Lists users (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageParams), responses((status = 200, body = Page<User>)))]
async fn list_users(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<User>>, ApiError> {
    Ok(Json(s.store.list_users(p.get()?).await?))
}

/// Creates a user (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = CreatedUser), (status = 409), (status = 422)))]
async fn create_user(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Extension<Created>, Json<CreatedUser>), ApiError> {
    let (user, generated_password) = accounts::create_user(
        &s.store,
        &b.username,
        &b.display_name,
        &b.email,
        b.role.unwrap_or(PlatformRole::User),
        b.password.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(user.id.clone())),
        Json(CreatedUser {
            user,
            generated_password,
        }),
    ))
}

/// One user (admins).
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path)), responses((status = 200, body = User), (status = 404)))]
async fn get_user(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.store.get_user(&id).await?))
}

/// Body of `PATCH /users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    /// New display name.
    display_name: Option<String>,
    /// New e-mail.
    email: Option<String>,
    /// New platform role.
    role: Option<PlatformRole>,
    /// Enable or disable (disabling ends sessions; tokens stop working).
    enabled: Option<bool>,
}

/// Changes a user's profile, role or enabled flag (admins). The last enabled admin cannot be
/// disabled or demoted (409).
#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path)), request_body = UserPatchBody,
    responses((status = 200, body = User), (status = 404), (status = 409)))]
async fn update_user(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<UserPatchBody>,
) -> Result<Json<User>, ApiError> {
    let patch = UserPatch {
        display_name: b.display_name,
        email: b.email,
        role: b.role,
        enabled: b.enabled,
    };
    Ok(Json(accounts::update_user(&s.store, &id, &patch).await?))
}

/// Body of `POST /users/{id}/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// The new password (at least 8 characters).
    #[schema(min_length = 8)]
    password: String,
}

/// Sets a user's password (admins); ends the user's browser sessions.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/password", tag = "users", params(("user_id" = String, Path)), request_body = PasswordReset,
    responses((status = 204), (status = 404), (status = 422)))]
async fn reset_password(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    accounts::set_password(&s.store, &id, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's tokens (admins).
#[utoipa::path(get, path = "/api/v1/users/{user_id}/tokens", tag = "users", params(("user_id" = String, Path)), responses((status = 200, body = Vec<ApiToken>), (status = 404)))]
async fn list_user_tokens(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    s.store.get_user(&id).await?;
    Ok(Json(s.store.list_tokens(&id).await?))
}

/// Revokes a user's token (admins).
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/tokens/{token_id}", tag = "users", params(("user_id" = String, Path), ("token_id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 404)))]
async fn revoke_user_token(
    State(s): State<AppState>,
    ApiPath((uid, tid)): ApiPath<(String, String)>,
) -> Result<Json<ApiToken>, ApiError> {
    Ok(Json(s.store.revoke_token(&uid, &tid).await?))
}
