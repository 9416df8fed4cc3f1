//! Job schedules: `/api/v1/projects/{project_id}/jobs/{job_id}/schedule`, its fire history,
//! a pattern's next fire times (`/api/v1/schedules/preview`), and what a run was started with
//! (`/api/v1/instances/{instance_id}/params`). Rules live in `service::scheduler`.

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::service::scheduler::{
    self, BackfillRequest, CronPreview, CronPreviewRequest, ScheduleSpec, ScheduleView,
};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use scaleph_meta::{Backfill, RunParams, ScheduleFire, Target};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_schedule, put_schedule, delete_schedule))
        .routes(routes!(list_fires))
        .routes(routes!(preview_cron))
        .routes(routes!(run_params))
        .routes(routes!(list_backfills, create_backfill))
        .routes(routes!(
            get_wf_schedule,
            put_wf_schedule,
            delete_wf_schedule
        ))
        .routes(routes!(list_wf_fires))
        .routes(routes!(list_wf_backfills, create_wf_backfill))
}

/// The workflow's schedule with its next 5 fire times (404 when it has none).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule", tag = "schedules",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 200, body = ScheduleView), (status = 404)))]
async fn get_wf_schedule(
    State(s): State<AppState>,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<Json<ScheduleView>, ApiError> {
    s.store.get_workflow(&pid, &wid).await?;
    let sch = s
        .store
        .schedule_of(Target::Workflow(&wid))
        .await?
        .ok_or_else(|| ApiError::not_found("this workflow has no schedule"))?;
    Ok(Json(scheduler::view(sch)?))
}

/// Creates or replaces the workflow's schedule (as a job's: each fire starts a run with its
/// business date).
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule", tag = "schedules",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)), request_body = ScheduleSpec,
    responses((status = 200, body = ScheduleView), (status = 404), (status = 422)))]
async fn put_wf_schedule(
    State(s): State<AppState>,
    p: Principal,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ScheduleSpec>,
) -> Result<Json<ScheduleView>, ApiError> {
    s.store.get_workflow(&pid, &wid).await?;
    Ok(Json(
        scheduler::put(&s.store, &pid, Target::Workflow(&wid), b, &p.user.id).await?,
    ))
}

/// Removes the workflow's schedule and its fire history.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule", tag = "schedules",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 204), (status = 404)))]
async fn delete_wf_schedule(
    State(s): State<AppState>,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.get_workflow(&pid, &wid).await?;
    if s.store.delete_schedule(Target::Workflow(&wid)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("this workflow has no schedule"))
    }
}

/// The workflow schedule's latest 200 fires, newest first (`instance_id`: the run started).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule/fires", tag = "schedules",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 200, body = Vec<ScheduleFire>), (status = 404)))]
async fn list_wf_fires(
    State(s): State<AppState>,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<Json<Vec<ScheduleFire>>, ApiError> {
    s.store.get_workflow(&pid, &wid).await?;
    let sch = s
        .store
        .schedule_of(Target::Workflow(&wid))
        .await?
        .ok_or_else(|| ApiError::not_found("this workflow has no schedule"))?;
    Ok(Json(s.store.list_fires(&sch.id, 200).await?))
}

/// Runs the workflow once per business date from `from` to `to`, at most `parallelism` runs
/// at a time.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/backfills", tag = "schedules",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)), request_body = BackfillRequest,
    responses((status = 201, body = Backfill), (status = 404), (status = 422)))]
async fn create_wf_backfill(
    State(s): State<AppState>,
    p: Principal,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<BackfillRequest>,
) -> Result<(StatusCode, Json<Backfill>), ApiError> {
    s.store.get_workflow(&pid, &wid).await?;
    let bf = scheduler::backfill(&s.store, &pid, Target::Workflow(&wid), b, &p.user.id).await?;
    Ok((StatusCode::CREATED, Json(bf)))
}

/// The workflow's latest 50 backfills (`instance_id` of a date: its workflow run).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/backfills", tag = "schedules",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 200, body = Vec<Backfill>), (status = 404)))]
async fn list_wf_backfills(
    State(s): State<AppState>,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Backfill>>, ApiError> {
    s.store.get_workflow(&pid, &wid).await?;
    Ok(Json(s.store.list_backfills(Target::Workflow(&wid)).await?))
}

/// Runs the job once per business date from `from` to `to`, each with its own `${bizdate}`
/// (logical time: midnight after the date in the zone), at most `parallelism` at a time.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs/{job_id}/backfills", tag = "schedules",
    params(("project_id" = String, Path), ("job_id" = String, Path)), request_body = BackfillRequest,
    responses((status = 201, body = Backfill), (status = 404), (status = 422)))]
async fn create_backfill(
    State(s): State<AppState>,
    p: Principal,
    ApiPath((pid, jid)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<BackfillRequest>,
) -> Result<(StatusCode, Json<Backfill>), ApiError> {
    s.store.get_job(&pid, &jid).await?;
    let bf = scheduler::backfill(&s.store, &pid, Target::Job(&jid), b, &p.user.id).await?;
    Ok((StatusCode::CREATED, Json(bf)))
}

/// The job's latest 50 backfills with the state of each date's run, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/backfills", tag = "schedules",
    params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 200, body = Vec<Backfill>), (status = 404)))]
async fn list_backfills(
    State(s): State<AppState>,
    ApiPath((pid, jid)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Backfill>>, ApiError> {
    s.store.get_job(&pid, &jid).await?;
    Ok(Json(s.store.list_backfills(Target::Job(&jid)).await?))
}

/// The job's schedule with its next 5 fire times (404 when it has none).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/schedule", tag = "schedules",
    params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 200, body = ScheduleView), (status = 404)))]
async fn get_schedule(
    State(s): State<AppState>,
    ApiPath((pid, jid)): ApiPath<(String, String)>,
) -> Result<Json<ScheduleView>, ApiError> {
    s.store.get_job(&pid, &jid).await?;
    let sch = s
        .store
        .job_schedule(&jid)
        .await?
        .ok_or_else(|| ApiError::not_found("this job has no schedule"))?;
    Ok(Json(scheduler::view(sch)?))
}

/// Creates or replaces the job's schedule (cron in a time zone, window, paused flag, misfire
/// and overlap policies, parameters). The first fire is the first after now.
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/jobs/{job_id}/schedule", tag = "schedules",
    params(("project_id" = String, Path), ("job_id" = String, Path)), request_body = ScheduleSpec,
    responses((status = 200, body = ScheduleView), (status = 404), (status = 422)))]
async fn put_schedule(
    State(s): State<AppState>,
    p: Principal,
    ApiPath((pid, jid)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ScheduleSpec>,
) -> Result<Json<ScheduleView>, ApiError> {
    s.store.get_job(&pid, &jid).await?;
    Ok(Json(
        scheduler::put(&s.store, &pid, Target::Job(&jid), b, &p.user.id).await?,
    ))
}

/// Removes the job's schedule and its fire history.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/jobs/{job_id}/schedule", tag = "schedules",
    params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 204), (status = 404)))]
async fn delete_schedule(
    State(s): State<AppState>,
    ApiPath((pid, jid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.get_job(&pid, &jid).await?;
    if s.store.delete_schedule(Target::Job(&jid)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("this job has no schedule"))
    }
}

/// The schedule's latest 200 fires, newest first: each with its business date, state
/// (`SUBMITTED`, `QUEUED`, `SKIPPED`, `MISSED`, `FAILED`, `CLAIMED`), instance and reason.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/schedule/fires", tag = "schedules",
    params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 200, body = Vec<ScheduleFire>), (status = 404)))]
async fn list_fires(
    State(s): State<AppState>,
    ApiPath((pid, jid)): ApiPath<(String, String)>,
) -> Result<Json<Vec<ScheduleFire>>, ApiError> {
    s.store.get_job(&pid, &jid).await?;
    let sch = s
        .store
        .job_schedule(&jid)
        .await?
        .ok_or_else(|| ApiError::not_found("this job has no schedule"))?;
    Ok(Json(s.store.list_fires(&sch.id, 200).await?))
}

/// The next 5 fire times of a cron pattern in a time zone (the schedule form's preview).
#[utoipa::path(post, path = "/api/v1/schedules/preview", tag = "schedules", request_body = CronPreviewRequest,
    responses((status = 200, body = CronPreview), (status = 422)))]
async fn preview_cron(
    ApiJson(b): ApiJson<CronPreviewRequest>,
) -> Result<Json<CronPreview>, ApiError> {
    Ok(Json(scheduler::preview(&b)?))
}

/// What the instance was started with: business date, parameters and the script as run
/// (404 for a run started without parameters).
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/params", tag = "schedules",
    params(("instance_id" = String, Path)),
    responses((status = 200, body = RunParams), (status = 404)))]
async fn run_params(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RunParams>, ApiError> {
    s.store.get_instance(&id).await?;
    Ok(Json(s.store.run_params(&id).await?.ok_or_else(|| {
        ApiError::not_found("this run was started without parameters")
    })?))
}
