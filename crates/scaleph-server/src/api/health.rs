use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, description = "alive", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the metadata store answers.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()), responses((status = 200, body = String), (status = 503)))]
async fn readyz(State(s): State<AppState>) -> Result<&'static str, ApiError> {
    if s.store.ping().await {
        Ok("ready")
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metadata store unavailable",
        ))
    }
}
