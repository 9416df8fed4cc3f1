use crate::auth::Created;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::service::names::Name;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_meta::Artifact;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Largest jar accepted, in bytes (256 MiB).
pub const MAX_JAR: usize = 256 * 1024 * 1024;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_artifacts, upload_artifact))
        .layer(DefaultBodyLimit::max(MAX_JAR))
}

/// `?name=` of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadParams {
    /// Artifact name; each upload under a name is its next version.
    #[param(value_type = Name)]
    name: String,
}

/// A jar file: the raw bytes of the request body (documentation only).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub(crate) struct JarFile(Vec<u8>);

/// A project's jar artifacts, by name, newest version first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/artifacts", tag = "jobs", params(("project_id" = String, Path)),
    responses((status = 200, body = Vec<Artifact>), (status = 404)))]
async fn list_artifacts(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Json<Vec<Artifact>>, ApiError> {
    Ok(Json(s.store.list_artifacts(&pid).await?))
}

/// Uploads a jar (the raw request body, up to 256 MiB) as the next version of `name`; the
/// file is kept under the data dir and its SHA-256 recorded.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/artifacts", tag = "jobs", params(("project_id" = String, Path), UploadParams),
    request_body(content = JarFile, content_type = "application/java-archive"),
    responses((status = 201, body = Artifact), (status = 404), (status = 413), (status = 422)))]
async fn upload_artifact(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadParams>,
    body: Bytes,
) -> Result<(StatusCode, Extension<Created>, Json<Artifact>), ApiError> {
    let a = s.flink.store_artifact(&pid, &q.name, &body).await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(a.id.clone())),
        Json(a),
    ))
}
