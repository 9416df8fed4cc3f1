use crate::auth::Created;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures::StreamExt;
use scaleph_engine::EngineKind;
use scaleph_meta::{InstanceDetail, Job, JobInstance, LogLine, Savepoint};
use serde::Deserialize;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_instance))
        .routes(routes!(cancel_instance))
        .routes(routes!(instance_logs))
        .routes(routes!(instance_events))
        .routes(routes!(stop_instance))
        .routes(routes!(trigger_savepoint))
        .routes(routes!(restart_instance))
        .routes(routes!(instance_exceptions))
        .routes(routes!(instance_vertices))
        .routes(routes!(instance_checkpoints))
}

/// The instance and its job, for Flink-only operations.
async fn flink_instance(s: &AppState, id: &str) -> Result<(JobInstance, Job), ApiError> {
    let (inst, job) = instance_job(s, id).await?;
    if inst.engine != EngineKind::Flink {
        return Err(ApiError::conflict(
            "this operation is for instances on a Flink cluster",
        ));
    }
    Ok((inst, job))
}

/// The instance and its job.
async fn instance_job(s: &AppState, id: &str) -> Result<(JobInstance, Job), ApiError> {
    let inst = s.store.get_instance(id).await?;
    let pid = s
        .store
        .instance_project(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job instance '{id}' not found")))?;
    let job = s.store.get_job(&pid, &inst.job_id).await?;
    Ok((inst, job))
}

/// Body of `POST …/stop`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopRequest {
    /// Drain: emit MAX_WATERMARK and flush event-time windows before stopping.
    #[serde(default)]
    drain: bool,
}

/// Stops an instance with a savepoint (Flink `POST /jobs/{id}/stop`), on either engine.
/// Answers the savepoint record (IN_PROGRESS); it completes in the background
/// (`GET …/jobs/{id}/savepoints`) and the instance becomes FINISHED.
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/stop", tag = "instances", params(("instance_id" = String, Path)), request_body = StopRequest,
    responses((status = 202, body = Savepoint), (status = 404), (status = 409), (status = 502)))]
async fn stop_instance(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<StopRequest>,
) -> Result<(StatusCode, Json<Savepoint>), ApiError> {
    let (inst, job) = instance_job(&s, &id).await?;
    let sp = s
        .lifecycle(inst.engine)
        .savepoint(&job, &inst, Some(b.drain))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(sp)))
}

/// Triggers a savepoint of a running instance (either engine); answers the record
/// (IN_PROGRESS).
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/savepoints", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 202, body = Savepoint), (status = 404), (status = 409), (status = 502)))]
async fn trigger_savepoint(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Savepoint>), ApiError> {
    let (inst, job) = instance_job(&s, &id).await?;
    let sp = s
        .lifecycle(inst.engine)
        .savepoint(&job, &inst, None)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(sp)))
}

/// Restarts an instance as one action (either engine): stop with savepoint, wait for it,
/// submit the job's current version from it. Answers the new instance.
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/restart", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 202, body = JobInstance), (status = 404), (status = 409), (status = 422), (status = 502)))]
async fn restart_instance(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Extension<Created>, Json<JobInstance>), ApiError> {
    let (inst, job) = instance_job(&s, &id).await?;
    let v = s.store.get_version(&job.id, job.current_version).await?;
    let new = s
        .lifecycle(inst.engine)
        .restart(&job, &v.script, &inst)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Extension(Created(new.id.clone())),
        Json(new),
    ))
}

/// Flink's exception history of the instance: root cause first (newest first).
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/exceptions", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404), (status = 502)))]
async fn instance_exceptions(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (inst, _) = flink_instance(&s, &id).await?;
    Ok(Json(s.flink.exceptions(&inst).await?))
}

/// Per-vertex metrics of a running instance: records and bytes in/out (`metrics`, Flink's
/// counters), `records_in_per_second` / `records_out_per_second` (summed over subtasks, while
/// running), the backpressure level where Flink reports it; on the embedded engine each
/// operator's watermark and lag, late rows dropped, state rows and bytes, and checkpoints.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/vertices", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404), (status = 409), (status = 502), (status = 504)))]
async fn instance_vertices(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (inst, _) = instance_job(&s, &id).await?;
    Ok(Json(s.lifecycle(inst.engine).vertices(&inst).await?))
}

/// Checkpoint statistics of an instance (counts, latest, history), in Flink's shape.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/checkpoints", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404), (status = 502)))]
async fn instance_checkpoints(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (inst, _) = instance_job(&s, &id).await?;
    Ok(Json(s.lifecycle(inst.engine).checkpoints(&inst).await?))
}

/// `?after=&limit=` of the logs endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// Return lines with a sequence number greater than this (default 0).
    after: Option<i64>,
    /// At most this many lines, 1..=5000 (default 1000).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<i64>,
}

/// An instance with its state history and per-table metrics.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 200, body = InstanceDetail), (status = 404)))]
async fn get_instance(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<InstanceDetail>, ApiError> {
    Ok(Json(s.store.instance_detail(&id).await?))
}

/// Cancels a running instance (CANCELLING now, CANCELED once stopped; no output is published).
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/cancel", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 202, body = JobInstance), (status = 404), (status = 409, description = "already ended")))]
async fn cancel_instance(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<JobInstance>), ApiError> {
    let inst = s.store.get_instance(&id).await?;
    let after = s.lifecycle(inst.engine).cancel(&inst).await?;
    Ok((StatusCode::ACCEPTED, Json(after)))
}

/// One event of `GET /instances/{id}/events` (documentation only): `event` names it, `data` is
/// JSON — the [`InstanceDetail`] for `instance`, an array of [`LogLine`]s for `logs`.
pub struct InstanceEvent;

impl PartialSchema for InstanceEvent {
    fn schema() -> RefOr<Schema> {
        let detail = serde_json::json!({ "$ref": "#/components/schemas/InstanceDetail" });
        let logs = serde_json::json!({
            "type": "array",
            "items": { "$ref": "#/components/schemas/LogLine" }
        });
        OneOfBuilder::new()
            .item(super::doc::sse_event("instance", detail))
            .item(super::doc::sse_event("logs", logs))
            .description(Some(
                "One server-sent event; `data` is JSON (`contentSchema`).",
            ))
            .into()
    }
}

impl ToSchema for InstanceEvent {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((InstanceDetail::name().into(), InstanceDetail::schema()));
        InstanceDetail::schemas(schemas);
        schemas.push((LogLine::name().into(), LogLine::schema()));
        LogLine::schemas(schemas);
    }
}

/// Live updates of an instance as Server-Sent Events: `instance` events carry the detail
/// (state, history, metrics) whenever it changes, `logs` events carry new log lines (JSON
/// arrays). The stream ends after the instance ends. Checked every 250 ms on the server.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/events", tag = "instances", params(("instance_id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", body = InstanceEvent), (status = 404)))]
async fn instance_events(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    s.store.get_instance(&id).await?;
    struct Cursor {
        last: String,
        after: i64,
        done: bool,
        first: bool,
    }
    let start = Cursor {
        last: String::new(),
        after: 0,
        done: false,
        first: true,
    };
    let stream = futures::stream::unfold((s, id, start), |(s, id, mut c)| async move {
        loop {
            if c.done {
                return None;
            }
            if !c.first {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            c.first = false;
            let mut events = Vec::new();
            if let Ok(lines) = s.store.logs(&id, c.after, 1000).await {
                if let Some(l) = lines.last() {
                    c.after = l.seq;
                    events.push(Event::default().event("logs").json_data(&lines).ok()?);
                }
            }
            let detail = s.store.instance_detail(&id).await.ok()?;
            let text = serde_json::to_string(&detail).ok()?;
            if text != c.last {
                c.done = detail.instance.state.is_terminal();
                events.push(Event::default().event("instance").data(text.clone()));
                c.last = text;
            }
            if !events.is_empty() {
                let batch = futures::stream::iter(events.into_iter().map(Ok));
                return Some((batch, (s, id, c)));
            }
        }
    })
    .flatten();
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Log lines of an instance, oldest first, for tailing with `after`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/logs", tag = "instances", params(("instance_id" = String, Path), LogParams),
    responses((status = 200, body = Vec<LogLine>), (status = 404)))]
async fn instance_logs(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LogParams>,
) -> Result<Json<Vec<LogLine>>, ApiError> {
    let limit = q.limit.unwrap_or(1000);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::invalid("limit must be within 1..5000"));
    }
    Ok(Json(s.store.logs(&id, q.after.unwrap_or(0), limit).await?))
}
