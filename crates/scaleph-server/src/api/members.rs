use crate::error::{ApiError, ApiJson, ApiPath};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use scaleph_auth::ProjectRole;
use scaleph_meta::Member;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(set_member, remove_member))
}

/// Body of `PUT …/members/{user_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRole {
    /// `owner`, `developer` or `viewer`.
    role: ProjectRole,
}

/// The project's members and their roles.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/members", tag = "members", params(("project_id" = String, Path)),
    responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_members(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(s.store.list_members(&pid).await?))
}

/// Adds a member or changes their role (owners). A project keeps at least one owner (409).
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/members/{user_id}", tag = "members",
    params(("project_id" = String, Path), ("user_id" = String, Path)), request_body = MemberRole,
    responses((status = 200, body = Member), (status = 404), (status = 409)))]
async fn set_member(
    State(s): State<AppState>,
    ApiPath((pid, uid)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<MemberRole>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(s.store.set_member(&pid, &uid, b.role).await?))
}

/// Removes a member (owners). A project keeps at least one owner (409).
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/members/{user_id}", tag = "members",
    params(("project_id" = String, Path), ("user_id" = String, Path)), responses((status = 204), (status = 404), (status = 409)))]
async fn remove_member(
    State(s): State<AppState>,
    ApiPath((pid, uid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.remove_member(&pid, &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}
