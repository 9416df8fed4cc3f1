use crate::auth::Created;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::service::flink::flink_err;
use crate::service::names::Name;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_meta::Cluster;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clusters, register_cluster))
        .routes(routes!(get_cluster, delete_cluster))
        .routes(routes!(taskmanagers))
        .routes(routes!(taskmanager_stdout))
        .routes(routes!(taskmanager_log))
        .routes(routes!(jobmanager_log))
}

/// Body of `POST /clusters`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCluster {
    /// Unique name.
    name: Name,
    /// `flink-session` (the only kind today).
    #[serde(default = "session")]
    #[schema(pattern = "^flink-session$")]
    kind: String,
    /// JobManager REST URL, e.g. `http://jm:8081`.
    rest_url: String,
    /// Default savepoint directory (`file:///…`, `s3://…`); default: the cluster's
    /// `execution.checkpointing.savepoint-dir`.
    savepoint_dir: Option<String>,
    /// `Authorization` header value for a JobManager behind an authenticating proxy; stored
    /// sealed, never returned.
    auth_header: Option<String>,
}

fn session() -> String {
    "flink-session".into()
}

/// Registered clusters with their health (UP / UNREACHABLE with reason and since-when).
#[utoipa::path(get, path = "/api/v1/clusters", tag = "clusters", responses((status = 200, body = Vec<Cluster>)))]
async fn list_clusters(State(s): State<AppState>) -> Result<Json<Vec<Cluster>>, ApiError> {
    Ok(Json(s.store.list_clusters().await?))
}

/// Registers a Flink session cluster (admins): checks it once (version, health) and starts
/// reconciling its jobs. An unreachable cluster is registered UNREACHABLE.
#[utoipa::path(post, path = "/api/v1/clusters", tag = "clusters", request_body = NewCluster,
    responses((status = 201, body = Cluster), (status = 409), (status = 422)))]
async fn register_cluster(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<NewCluster>,
) -> Result<(StatusCode, Extension<Created>, Json<Cluster>), ApiError> {
    if b.kind != "flink-session" {
        return Err(ApiError::invalid(format!(
            "unknown cluster kind '{}': use flink-session",
            b.kind
        )));
    }
    let c = s
        .flink
        .register(
            b.name.as_str(),
            &b.rest_url,
            b.savepoint_dir.as_deref(),
            b.auth_header.as_deref(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(c.id.clone())),
        Json(c),
    ))
}

/// One cluster.
#[utoipa::path(get, path = "/api/v1/clusters/{cluster_id}", tag = "clusters", params(("cluster_id" = String, Path)),
    responses((status = 200, body = Cluster), (status = 404)))]
async fn get_cluster(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Cluster>, ApiError> {
    Ok(Json(s.store.get_cluster(&id).await?))
}

/// Unregisters a cluster no job uses (admins).
#[utoipa::path(delete, path = "/api/v1/clusters/{cluster_id}", tag = "clusters", params(("cluster_id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409)))]
async fn delete_cluster(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.flink.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cluster's TaskManagers (id, slots).
#[utoipa::path(get, path = "/api/v1/clusters/{cluster_id}/taskmanagers", tag = "clusters", params(("cluster_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404), (status = 502)))]
async fn taskmanagers(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<scaleph_flink::TaskManager>>, ApiError> {
    let (_, c) = s.flink.client(&id).await?;
    Ok(Json(c.taskmanagers().await.map_err(flink_err)?))
}

/// A TaskManager's stdout (what `print` sinks wrote), as text.
#[utoipa::path(get, path = "/api/v1/clusters/{cluster_id}/taskmanagers/{taskmanager_id}/stdout", tag = "clusters",
    params(("cluster_id" = String, Path), ("taskmanager_id" = String, Path)), responses((status = 200, body = String), (status = 404), (status = 502)))]
async fn taskmanager_stdout(
    State(s): State<AppState>,
    ApiPath((id, tm)): ApiPath<(String, String)>,
) -> Result<String, ApiError> {
    let (_, c) = s.flink.client(&id).await?;
    c.taskmanager_stdout(&tm).await.map_err(flink_err)
}

/// A TaskManager's log, as text.
#[utoipa::path(get, path = "/api/v1/clusters/{cluster_id}/taskmanagers/{taskmanager_id}/log", tag = "clusters",
    params(("cluster_id" = String, Path), ("taskmanager_id" = String, Path)), responses((status = 200, body = String), (status = 404), (status = 502)))]
async fn taskmanager_log(
    State(s): State<AppState>,
    ApiPath((id, tm)): ApiPath<(String, String)>,
) -> Result<String, ApiError> {
    let (_, c) = s.flink.client(&id).await?;
    c.taskmanager_log(&tm).await.map_err(flink_err)
}

/// The JobManager's log, as text.
#[utoipa::path(get, path = "/api/v1/clusters/{cluster_id}/jobmanager/log", tag = "clusters",
    params(("cluster_id" = String, Path)), responses((status = 200, body = String), (status = 404), (status = 502)))]
async fn jobmanager_log(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<String, ApiError> {
    let (_, c) = s.flink.client(&id).await?;
    c.jobmanager_log().await.map_err(flink_err)
}
