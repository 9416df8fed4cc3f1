use super::PageParams;
use crate::auth::Created;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::service::diff::{diff, VersionDiff};
use crate::service::names::Name;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_engine::{EngineKind, JobSettings};
use scaleph_meta::{JarSpec, Job, JobInstance, JobVersion, Page, RestartPolicy, Savepoint};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs, create_job))
        .routes(routes!(get_job, update_job, delete_job))
        .routes(routes!(list_versions, save_version))
        .routes(routes!(get_version))
        .routes(routes!(diff_versions))
        .routes(routes!(submit_job))
        .routes(routes!(list_instances))
        .routes(routes!(list_savepoints))
        .routes(routes!(dispose_savepoint))
}

/// Body of `POST …/jobs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// Unique within the project.
    name: Name,
    /// Engine; `embedded` (default) or `flink` (needs `cluster_id`).
    #[serde(default = "embedded")]
    engine: EngineKind,
    /// Cluster for `engine: flink`.
    cluster_id: Option<String>,
    /// Parallelism and SET options.
    #[serde(default)]
    settings: JobSettings,
    /// The Flink SQL script (version 1); empty for jar jobs.
    #[serde(default)]
    script: String,
    /// Jar job (engine `flink`): the artifact, entry class and arguments.
    jar: Option<JarSpec>,
    /// Automatic restart after FAILED (engine `flink`).
    restart_policy: Option<RestartPolicy>,
    /// Message of version 1.
    #[serde(default)]
    message: String,
}

fn embedded() -> EngineKind {
    EngineKind::Embedded
}

/// A field that is present (possibly `null`) deserializes to `Some(…)`; absent stays `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Settings within the server's limits: parallelism (the field or the `parallelism.default`
/// option) from 1 to `--max-parallelism` (the embedded engine's rule, for every engine).
fn check_settings(s: &AppState, st: &JobSettings) -> Result<(), ApiError> {
    if let Some(p) = st.parallelism {
        s.limits
            .check_parallelism("settings.parallelism", &p.to_string())
            .map_err(ApiError::invalid)?;
    }
    if let Some(v) = st.options.get("parallelism.default") {
        s.limits
            .check_parallelism("settings.options 'parallelism.default'", v)
            .map_err(ApiError::invalid)?;
    }
    Ok(())
}

/// A restart policy (either engine) must be within bounds.
fn check_policy(p: Option<&RestartPolicy>) -> Result<(), ApiError> {
    let Some(p) = p else { return Ok(()) };
    if !(1..=100).contains(&p.max_attempts) || !(1..=10080).contains(&p.window_minutes) {
        return Err(ApiError::invalid(
            "'restart_policy': max_attempts must be within 1..100 and window_minutes within 1..10080",
        ));
    }
    Ok(())
}

/// Body of `PATCH …/jobs/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    /// New name.
    name: Option<Name>,
    /// New engine.
    engine: Option<EngineKind>,
    /// New cluster (`engine: flink`).
    cluster_id: Option<String>,
    /// New automatic restart policy; `null` turns it off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RestartPolicy>)]
    restart_policy: Option<Option<RestartPolicy>>,
    /// New settings.
    settings: Option<JobSettings>,
}

/// Body of `POST …/versions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// The new script.
    script: String,
    /// Save message.
    #[serde(default)]
    message: String,
}

/// `?from=&to=` of the diff endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// Old version.
    from: i64,
    /// New version.
    to: i64,
}

/// `flink` needs a registered cluster; `embedded` takes none.
async fn check_engine(s: &AppState, e: EngineKind, cluster: Option<&str>) -> Result<(), ApiError> {
    match (e, cluster) {
        (EngineKind::Embedded, None) => Ok(()),
        (EngineKind::Embedded, Some(_)) => {
            Err(ApiError::invalid("'cluster_id' is only for engine 'flink'"))
        }
        (EngineKind::Flink, None) => Err(ApiError::invalid(
            "engine 'flink' needs a 'cluster_id' (GET /api/v1/clusters lists them)",
        )),
        (EngineKind::Flink, Some(c)) => match s.store.get_cluster(c).await {
            Ok(_) => Ok(()),
            Err(scaleph_meta::StoreError::NotFound(_)) => {
                Err(ApiError::invalid(format!("no cluster '{c}'")))
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// Scripts within the server's `--max-script-bytes`.
fn check_script(s: &AppState, script: &str) -> Result<(), ApiError> {
    s.limits
        .check_script(script)
        .map_err(|e| ApiError::invalid(e.message))
}

/// Lists a project's jobs.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs", tag = "jobs", params(("project_id" = String, Path), PageParams),
    responses((status = 200, body = Page<Job>), (status = 404)))]
async fn list_jobs(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<Job>>, ApiError> {
    Ok(Json(s.store.list_jobs(&pid, p.get()?).await?))
}

/// Creates a SQL job with its first script version. The script is saved as written (drafts
/// are allowed); it is validated when submitted.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs", tag = "jobs", params(("project_id" = String, Path)), request_body = NewJob,
    responses((status = 201, body = Job), (status = 404), (status = 409), (status = 422)))]
async fn create_job(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiJson(b): ApiJson<NewJob>,
) -> Result<(StatusCode, Extension<Created>, Json<Job>), ApiError> {
    check_engine(&s, b.engine, b.cluster_id.as_deref()).await?;
    check_settings(&s, &b.settings)?;
    check_script(&s, &b.script)?;
    check_policy(b.restart_policy.as_ref())?;
    match &b.jar {
        Some(_) if b.engine != EngineKind::Flink => {
            return Err(ApiError::invalid("jar jobs run on engine 'flink'"))
        }
        Some(j) => {
            s.store
                .get_artifact(&pid, &j.artifact_id)
                .await
                .map_err(|_| {
                    ApiError::invalid(format!("no artifact '{}' in this project", j.artifact_id))
                })?;
        }
        None if b.script.trim().is_empty() => {
            return Err(ApiError::invalid(
                "'script' must not be empty (or give 'jar')",
            ))
        }
        None => {}
    }
    let job = s
        .store
        .create_job(
            &pid,
            scaleph_meta::NewJob {
                name: b.name.as_str(),
                engine: b.engine,
                cluster_id: b.cluster_id.as_deref(),
                settings: &b.settings,
                script: &b.script,
                message: &b.message,
                jar: b.jar.as_ref(),
                restart_policy: b.restart_policy,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(job.id.clone())),
        Json(job),
    ))
}

/// One job.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}", tag = "jobs", params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 200, body = Job), (status = 404)))]
async fn get_job(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(s.store.get_job(&pid, &id).await?))
}

/// Changes a job's name, engine or settings.
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}/jobs/{job_id}", tag = "jobs", params(("project_id" = String, Path), ("job_id" = String, Path)),
    request_body = JobPatch, responses((status = 200, body = Job), (status = 404), (status = 409), (status = 422)))]
async fn update_job(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<JobPatch>,
) -> Result<Json<Job>, ApiError> {
    let cur = s.store.get_job(&pid, &id).await?;
    let name = b.name.map_or(cur.name, |n| n.as_str().to_owned());
    let engine = b.engine.unwrap_or(cur.engine);
    let cluster = match engine {
        EngineKind::Embedded => None,
        EngineKind::Flink => b.cluster_id.or(cur.cluster_id),
    };
    check_engine(&s, engine, cluster.as_deref()).await?;
    if let Some(st) = &b.settings {
        check_settings(&s, st)?;
    }
    if let Some(p) = &b.restart_policy {
        check_policy(p.as_ref())?;
        s.store.set_restart_policy(&pid, &id, *p).await?;
    }
    Ok(Json(
        s.store
            .update_job(
                &pid,
                &id,
                &name,
                engine,
                cluster.as_deref(),
                &b.settings.unwrap_or(cur.settings),
            )
            .await?,
    ))
}

/// Deletes a job with its versions and instances.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/jobs/{job_id}", tag = "jobs", params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 204), (status = 404)))]
async fn delete_job(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.delete_job(&pid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A job's script versions, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/versions", tag = "jobs", params(("project_id" = String, Path), ("job_id" = String, Path)),
    responses((status = 200, body = Vec<JobVersion>), (status = 404)))]
async fn list_versions(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<JobVersion>>, ApiError> {
    Ok(Json(s.store.list_versions(&pid, &id).await?))
}

/// Saves a new immutable version and makes it current.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs/{job_id}/versions", tag = "jobs", params(("project_id" = String, Path), ("job_id" = String, Path)),
    request_body = NewVersion, responses((status = 201, body = JobVersion), (status = 404), (status = 422)))]
async fn save_version(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<NewVersion>,
) -> Result<(StatusCode, Extension<Created>, Json<JobVersion>), ApiError> {
    check_script(&s, &b.script)?;
    let v = s
        .store
        .save_version(&pid, &id, &b.script, &b.message)
        .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(v.version.to_string())),
        Json(v),
    ))
}

/// One version.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/versions/{version}", tag = "jobs",
    params(("project_id" = String, Path), ("job_id" = String, Path), ("version" = i64, Path)), responses((status = 200, body = JobVersion), (status = 404)))]
async fn get_version(
    State(s): State<AppState>,
    ApiPath((pid, id, v)): ApiPath<(String, String, i64)>,
) -> Result<Json<JobVersion>, ApiError> {
    s.store.get_job(&pid, &id).await?;
    Ok(Json(s.store.get_version(&id, v).await?))
}

/// Line diff between two versions.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/diff", tag = "jobs",
    params(("project_id" = String, Path), ("job_id" = String, Path), DiffParams), responses((status = 200, body = VersionDiff), (status = 404)))]
async fn diff_versions(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<DiffParams>,
) -> Result<Json<VersionDiff>, ApiError> {
    s.store.get_job(&pid, &id).await?;
    let a = s.store.get_version(&id, q.from).await?;
    let b = s.store.get_version(&id, q.to).await?;
    Ok(Json(diff(a.version, &a.script, b.version, &b.script)))
}

/// Body of `POST …/submit` (all optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// Restore from this savepoint of the job (`GET …/savepoints`).
    savepoint_id: Option<String>,
    /// Restore from the job's latest completed savepoint.
    #[serde(default)]
    from_latest_savepoint: bool,
    /// Skip savepoint state that maps to no operator of the new job (otherwise such a restore
    /// is refused, naming those operators).
    #[serde(default)]
    allow_non_restored_state: bool,
    /// Business date for `${bizdate}` and `$[…]` (`yyyy-MM-dd`; default: yesterday in the zone
    /// of the job's schedule, else UTC).
    #[serde(default)]
    bizdate: Option<String>,
    /// Parameters (`${name}`), over the schedule's.
    #[serde(default)]
    params: std::collections::BTreeMap<String, String>,
}

/// Validates the current version and starts a job instance. A script that does not validate is
/// answered 422 with `line` and `column`, and no instance is created. On `flink`, the instance
/// is submitted to the job's cluster (optionally restored from a savepoint); Flink's refusal is
/// answered 422 with Flink's root cause and the FAILED instance's id.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs/{job_id}/submit", tag = "jobs", params(("project_id" = String, Path), ("job_id" = String, Path)),
    request_body = SubmitRequest, responses((status = 202, body = JobInstance), (status = 404),
        (status = 409, description = "the savepoint to restore is missing or not COMPLETED"), (status = 422), (status = 502)))]
async fn submit_job(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<SubmitRequest>,
) -> Result<(StatusCode, Extension<Created>, Json<JobInstance>), ApiError> {
    let job = s.store.get_job(&pid, &id).await?;
    let v = s.store.get_version(&id, job.current_version).await?;
    let path = restore_path(&s, &job, &b).await?;
    let manual = crate::service::scheduler::manual_script(
        &s.store,
        &job,
        &v.script,
        b.bizdate.as_deref(),
        &b.params,
    )
    .await?;
    let (run_job, script) = manual
        .as_ref()
        .map_or((&job, v.script.as_str()), |(j, t, _)| (j, t.as_str()));
    let inst = s
        .lifecycle(job.engine)
        .submit(run_job, script, path.as_deref(), b.allow_non_restored_state)
        .await?;
    if let Some((_, _, mut rp)) = manual {
        rp.instance_id = inst.id.clone();
        s.store.record_run_params(&rp).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Extension(Created(inst.id.clone())),
        Json(inst),
    ))
}

/// The savepoint path a submit asks to restore from.
async fn restore_path(
    s: &AppState,
    job: &Job,
    b: &SubmitRequest,
) -> Result<Option<String>, ApiError> {
    let sp = match (&b.savepoint_id, b.from_latest_savepoint) {
        (Some(_), true) => {
            return Err(ApiError::invalid(
                "give 'savepoint_id' or 'from_latest_savepoint', not both",
            ))
        }
        (Some(sid), false) => s.store.get_savepoint(&job.id, sid).await?,
        (None, true) => s
            .store
            .list_savepoints(&job.id)
            .await?
            .into_iter()
            .find(|sp| sp.status == "COMPLETED")
            .ok_or_else(|| ApiError::conflict("the job has no completed savepoint"))?,
        (None, false) => return Ok(None),
    };
    match (sp.status.as_str(), sp.path) {
        ("COMPLETED", Some(p)) => Ok(Some(p)),
        (st, _) => Err(ApiError::conflict(format!(
            "savepoint '{}' is {st}; only COMPLETED savepoints can be restored",
            sp.id
        ))),
    }
}

/// A job's savepoints (path, time, trigger kind, status), newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/savepoints", tag = "jobs",
    params(("project_id" = String, Path), ("job_id" = String, Path)), responses((status = 200, body = Vec<Savepoint>), (status = 404)))]
async fn list_savepoints(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Savepoint>>, ApiError> {
    s.store.get_job(&pid, &id).await?;
    Ok(Json(s.store.list_savepoints(&id).await?))
}

/// Disposes a completed savepoint (Flink deletes its files); it stays listed as DISPOSED.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/jobs/{job_id}/savepoints/{savepoint_id}", tag = "jobs",
    params(("project_id" = String, Path), ("job_id" = String, Path), ("savepoint_id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "not COMPLETED"), (status = 502)))]
async fn dispose_savepoint(
    State(s): State<AppState>,
    ApiPath((pid, id, sid)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.get_job(&pid, &id).await?;
    let job = s.store.get_job(&pid, &id).await?;
    let sp = s.store.get_savepoint(&id, &sid).await?;
    s.lifecycle(job.engine).dispose(&sp).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A job's instances, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs/{job_id}/instances", tag = "jobs",
    params(("project_id" = String, Path), ("job_id" = String, Path), PageParams), responses((status = 200, body = Page<JobInstance>), (status = 404)))]
async fn list_instances(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<JobInstance>>, ApiError> {
    s.store.get_job(&pid, &id).await?;
    Ok(Json(s.store.list_instances(&id, p.get()?).await?))
}
