use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use scaleph_engine::{EngineKind, JobSettings, Preview, PreviewRequest, ValidationReport};
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate))
        .routes(routes!(preview))
}

/// Body of `POST /sql/validate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// Flink SQL script.
    script: String,
    /// Settings applied before the script.
    #[serde(default)]
    settings: JobSettings,
    /// The engine to validate for (default `embedded`). `flink`: Flink's own planner when the
    /// server has a Flink distribution (`--flink-home`), else the platform's structural checks
    /// (`validated_by` says which).
    #[serde(default)]
    engine: Option<EngineKind>,
}

/// Body of `POST /sql/preview`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// Flink SQL script ending in a SELECT.
    script: String,
    /// Settings applied before the script.
    #[serde(default)]
    settings: JobSettings,
    /// Maximum rows, 1..=10000 (default 100).
    limit: Option<usize>,
    /// Time limit in milliseconds, 1..=60000 (default 10000).
    timeout_ms: Option<u64>,
}

/// Parses and plans a script without running it. 422 problems carry `line` and `column`.
#[utoipa::path(post, path = "/api/v1/sql/validate", tag = "sql", request_body = ValidateRequest,
    responses((status = 200, body = ValidationReport), (status = 422, description = "problem with line and column")))]
async fn validate(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<ValidateRequest>,
) -> Result<Json<ValidationReport>, ApiError> {
    let engine = b.engine.unwrap_or(EngineKind::Embedded);
    Ok(Json(
        crate::service::validation::validate(&s, engine, &b.script, &b.settings).await?,
    ))
}

/// Runs the script's final SELECT on the embedded engine with a row limit and a timeout.
#[utoipa::path(post, path = "/api/v1/sql/preview", tag = "sql", request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 408, description = "timed out"), (status = 422)))]
async fn preview(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<PreviewBody>,
) -> Result<Json<Preview>, ApiError> {
    let limit = b.limit.unwrap_or(100);
    let timeout = b.timeout_ms.unwrap_or(10_000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit must be within 1..10000"));
    }
    if !(1..=60_000).contains(&timeout) {
        return Err(ApiError::invalid("timeout_ms must be within 1..60000"));
    }
    let req = PreviewRequest {
        script: b.script,
        settings: b.settings,
        limit,
        timeout: Duration::from_millis(timeout),
    };
    Ok(Json(s.engine.preview(req).await?))
}
