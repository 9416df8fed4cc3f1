use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures::StreamExt;
use scaleph_engine::{
    EngineKind, JobSettings, Preview, PreviewEvent, PreviewRequest, ValidationReport,
};
use serde::Deserialize;
use std::time::Duration;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate))
        .routes(routes!(preview))
        .routes(routes!(preview_stream))
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

/// One event of `POST /sql/preview/stream` (documentation only): `event` names it, `data` is
/// the JSON of a [`PreviewEvent`] of that kind.
pub struct PreviewStreamEvent;

impl PartialSchema for PreviewStreamEvent {
    fn schema() -> RefOr<Schema> {
        let data = serde_json::json!({ "$ref": "#/components/schemas/PreviewEvent" });
        let mut one = OneOfBuilder::new();
        for name in ["columns", "rows", "end", "error"] {
            one = one.item(super::doc::sse_event(name, data.clone()));
        }
        one.description(Some(
            "One server-sent event; `data` is JSON (`contentSchema`).",
        ))
        .into()
    }
}

impl ToSchema for PreviewStreamEvent {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((PreviewEvent::name().into(), PreviewEvent::schema()));
        PreviewEvent::schemas(schemas);
    }
}

/// The limits of a preview request, checked.
fn preview_request(b: PreviewBody) -> Result<PreviewRequest, ApiError> {
    let limit = b.limit.unwrap_or(100);
    let timeout = b.timeout_ms.unwrap_or(10_000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit must be within 1..10000"));
    }
    if !(1..=60_000).contains(&timeout) {
        return Err(ApiError::invalid("timeout_ms must be within 1..60000"));
    }
    Ok(PreviewRequest {
        script: b.script,
        settings: b.settings,
        limit,
        timeout: Duration::from_millis(timeout),
    })
}

/// A live preview: the script's final SELECT on the embedded engine, its rows streamed as
/// Server-Sent Events while they come — `columns` (first), `rows` (`{kinds, rows}`: Flink row
/// kinds `+I`/`-U`/`+U`/`-D` and values; apply in order), `end` (`{truncated}`), or `error`
/// (a problem document with `line` and `column` for SQL errors). Stops at the row limit of an
/// insert-only result, the time limit, the end of the input, or when the client disconnects.
#[utoipa::path(post, path = "/api/v1/sql/preview/stream", tag = "sql", request_body = PreviewBody,
    responses((status = 200, content_type = "text/event-stream", body = PreviewStreamEvent), (status = 422)))]
async fn preview_stream(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<PreviewBody>,
) -> Result<Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    let req = preview_request(b)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<PreviewEvent>(16);
    let (err_tx, err_rx) = tokio::sync::oneshot::channel::<ApiError>();
    let engine = s.engine.clone();
    tokio::spawn(async move {
        if let Err(e) = engine.preview_stream(req, tx).await {
            let _ = err_tx.send(e.into());
        }
    });
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let ev = rx.recv().await?;
        let name = match &ev {
            PreviewEvent::Columns { .. } => "columns",
            PreviewEvent::Rows { .. } => "rows",
            PreviewEvent::End { .. } => "end",
            PreviewEvent::Error { .. } => "error",
        };
        let e = Event::default()
            .event(name)
            .json_data(&ev)
            .unwrap_or_else(|_| Event::default().event(name));
        Some((Ok(e), rx))
    });
    // After the engine's events: its error, if it failed.
    let error = futures::stream::once(async move {
        let e = err_rx.await.ok()?;
        let p = e.problem();
        let ev = PreviewEvent::Error {
            status: e.status().as_u16(),
            detail: e.detail().to_string(),
            line: p["line"].as_u64(),
            column: p["column"].as_u64(),
        };
        Some(Ok(Event::default()
            .event("error")
            .json_data(&ev)
            .unwrap_or_else(|_| Event::default().event("error"))))
    })
    .filter_map(|e| async move { e });
    Ok(Sse::new(events.chain(error)).keep_alive(KeepAlive::default()))
}

/// Runs the script's final SELECT on the embedded engine with a row limit and a timeout.
#[utoipa::path(post, path = "/api/v1/sql/preview", tag = "sql", request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 408, description = "timed out"), (status = 422)))]
async fn preview(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<PreviewBody>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(s.engine.preview(preview_request(b)?).await?))
}
