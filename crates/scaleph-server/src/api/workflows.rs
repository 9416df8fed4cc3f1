//! Workflows (`/api/v1/projects/{project_id}/workflows`): DAGs of the project's jobs, their
//! runs with task states, cancel and rerun. Rules live in `service::workflows`.

use crate::auth::{Created, Principal};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::service::workflows::{self, StartRun, WorkflowSpec};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_meta::{Workflow, WorkflowRun};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workflows, create_workflow))
        .routes(routes!(get_workflow, update_workflow, delete_workflow))
        .routes(routes!(list_runs, start_run))
        .routes(routes!(get_run))
        .routes(routes!(cancel_run))
        .routes(routes!(rerun_run))
}

/// The project's workflows.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows", tag = "workflows",
    params(("project_id" = String, Path)), responses((status = 200, body = Vec<Workflow>), (status = 404)))]
async fn list_workflows(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Json<Vec<Workflow>>, ApiError> {
    s.store.get_project(&pid).await?;
    Ok(Json(s.store.list_workflows(&pid).await?))
}

/// Creates a workflow: tasks (each a job of the project, with upstream tasks, retries, retry
/// interval, timeout and its action), failure strategy (`continue` / `end`) and parameters.
/// Cycles, unknown upstream tasks and jobs outside the project are refused.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/workflows", tag = "workflows",
    params(("project_id" = String, Path)), request_body = WorkflowSpec,
    responses((status = 201, body = Workflow), (status = 404), (status = 409), (status = 422)))]
async fn create_workflow(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(pid): ApiPath<String>,
    ApiJson(b): ApiJson<WorkflowSpec>,
) -> Result<(StatusCode, Extension<Created>, Json<Workflow>), ApiError> {
    s.store.get_project(&pid).await?;
    let w = workflows::create(&s.store, &pid, b, &p.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(w.id.clone())),
        Json(w),
    ))
}

/// A workflow.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 200, body = Workflow), (status = 404)))]
async fn get_workflow(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Workflow>, ApiError> {
    Ok(Json(s.store.get_workflow(&pid, &id).await?))
}

/// Replaces a workflow's name and definition (running runs keep theirs).
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)), request_body = WorkflowSpec,
    responses((status = 200, body = Workflow), (status = 404), (status = 409), (status = 422)))]
async fn update_workflow(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<WorkflowSpec>,
) -> Result<Json<Workflow>, ApiError> {
    s.store.get_workflow(&pid, &id).await?;
    Ok(Json(workflows::update(&s.store, &pid, &id, b).await?))
}

/// Deletes a workflow and its run history.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 204), (status = 404)))]
async fn delete_workflow(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.delete_workflow(&pid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workflow's latest 100 runs with their tasks, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)),
    responses((status = 200, body = Vec<WorkflowRun>), (status = 404)))]
async fn list_runs(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<WorkflowRun>>, ApiError> {
    s.store.get_workflow(&pid, &id).await?;
    Ok(Json(s.store.list_workflow_runs(&id).await?))
}

/// Starts a run for a business date (default: yesterday) with extra parameters.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path)), request_body = StartRun,
    responses((status = 201, body = WorkflowRun), (status = 404), (status = 422)))]
async fn start_run(
    State(s): State<AppState>,
    p: Principal,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<StartRun>,
) -> Result<(StatusCode, Extension<Created>, Json<WorkflowRun>), ApiError> {
    let r = workflows::start(&s.store, &pid, &id, b, &p.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(r.id.clone())),
        Json(r),
    ))
}

/// The run of this workflow named `run_id`, checked to belong to it.
async fn run_of(s: &AppState, pid: &str, wid: &str, run_id: &str) -> Result<WorkflowRun, ApiError> {
    s.store.get_workflow(pid, wid).await?;
    let r = s.store.get_workflow_run(run_id).await?;
    if r.workflow_id != wid {
        return Err(ApiError::not_found(format!("workflow run '{run_id}'")));
    }
    Ok(r)
}

/// A run with its tasks (state, attempt, instance, times, reason).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = WorkflowRun), (status = 404)))]
async fn get_run(
    State(s): State<AppState>,
    ApiPath((pid, wid, rid)): ApiPath<(String, String, String)>,
) -> Result<Json<WorkflowRun>, ApiError> {
    Ok(Json(run_of(&s, &pid, &wid, &rid).await?))
}

/// Cancels a running run: its running job instances are cancelled, waiting tasks too.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}/cancel", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = WorkflowRun), (status = 404), (status = 409)))]
async fn cancel_run(
    State(s): State<AppState>,
    ApiPath((pid, wid, rid)): ApiPath<(String, String, String)>,
) -> Result<Json<WorkflowRun>, ApiError> {
    run_of(&s, &pid, &wid, &rid).await?;
    Ok(Json(workflows::cancel(&s, &rid).await?))
}

/// Reruns a failed or cancelled run from its failed tasks (successes are kept).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}/rerun", tag = "workflows",
    params(("project_id" = String, Path), ("workflow_id" = String, Path), ("run_id" = String, Path)),
    responses((status = 200, body = WorkflowRun), (status = 404), (status = 409)))]
async fn rerun_run(
    State(s): State<AppState>,
    ApiPath((pid, wid, rid)): ApiPath<(String, String, String)>,
) -> Result<Json<WorkflowRun>, ApiError> {
    run_of(&s, &pid, &wid, &rid).await?;
    Ok(Json(workflows::rerun(&s.store, &rid).await?))
}
