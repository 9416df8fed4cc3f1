use super::PageParams;
use crate::auth::{Created, Principal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::service::names::Name;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_meta::{Page, Project};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
}

/// Body of `POST /projects`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Unique name.
    name: Name,
    /// Free text.
    #[serde(default)]
    description: String,
}

/// Body of `PATCH /projects/{id}`: fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    /// New name.
    name: Option<Name>,
    /// New description.
    description: Option<String>,
}

/// Lists the projects the caller is a member of (admins: all projects).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(PageParams), responses((status = 200, body = Page<Project>)))]
async fn list_projects(
    State(s): State<AppState>,
    me: Principal,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<Project>>, ApiError> {
    let member = (!me.is_admin()).then_some(me.user.id.as_str());
    Ok(Json(s.store.list_projects(p.get()?, member).await?))
}

/// Creates a project; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = Project), (status = 409, description = "name taken"), (status = 422, description = "invalid")))]
async fn create_project(
    State(s): State<AppState>,
    me: Principal,
    ApiJson(b): ApiJson<NewProject>,
) -> Result<(StatusCode, Extension<Created>, Json<Project>), ApiError> {
    let p = s
        .store
        .create_project(b.name.as_str(), &b.description, Some(&me.user.id))
        .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(p.id.clone())),
        Json(p),
    ))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}", tag = "projects", params(("project_id" = String, Path)), responses((status = 200, body = Project), (status = 404)))]
async fn get_project(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(s.store.get_project(&id).await?))
}

/// Renames or re-describes a project.
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}", tag = "projects", params(("project_id" = String, Path)), request_body = ProjectPatch,
    responses((status = 200, body = Project), (status = 404), (status = 409)))]
async fn update_project(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<ProjectPatch>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(
        s.store
            .update_project(
                &id,
                b.name.as_ref().map(Name::as_str),
                b.description.as_deref(),
            )
            .await?,
    ))
}

/// Deletes a project with its datasources, jobs and instances.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}", tag = "projects", params(("project_id" = String, Path)), responses((status = 204), (status = 404)))]
async fn delete_project(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.store.delete_project(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
