use crate::error::{ApiError, ApiQuery};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use scaleph_meta::{InstanceDetail, JobInstance, LogLine};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_instance))
        .routes(routes!(cancel_instance))
        .routes(routes!(instance_logs))
}

/// `?after=&limit=` of the logs endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// Return lines with a sequence number greater than this (default 0).
    after: Option<i64>,
    /// At most this many lines, 1..=5000 (default 1000).
    limit: Option<i64>,
}

/// An instance with its state history and per-table metrics.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 200, body = InstanceDetail), (status = 404)))]
async fn get_instance(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<InstanceDetail>, ApiError> {
    Ok(Json(s.store.instance_detail(&id).await?))
}

/// Cancels a running instance (CANCELLING now, CANCELED once stopped; no output is published).
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/cancel", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 202, body = JobInstance), (status = 404), (status = 409, description = "already ended")))]
async fn cancel_instance(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobInstance>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(s.runner.cancel(&id).await?)))
}

/// Log lines of an instance, oldest first, for tailing with `after`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/logs", tag = "instances", params(("instance_id" = String, Path), LogParams),
    responses((status = 200, body = Vec<LogLine>), (status = 404)))]
async fn instance_logs(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LogParams>,
) -> Result<Json<Vec<LogLine>>, ApiError> {
    let limit = q.limit.unwrap_or(1000);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::invalid("limit must be within 1..5000"));
    }
    Ok(Json(s.store.logs(&id, q.after.unwrap_or(0), limit).await?))
}
