//! Alerts (`/api/v1/projects/{project_id}/alert-channels`, `…/alert-rules`, `…/alerts`):
//! channels with a "send test" action, rules, and the history of raised alerts with their
//! deliveries. Rules live in `service::alerts`.

use crate::auth::{Created, Principal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::service::alerts::{self, ChannelSpec, ChannelView, RuleSpec, SendResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_meta::{AlertEvent, AlertRule};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(get_channel, update_channel, delete_channel))
        .routes(routes!(test_channel))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, update_rule, delete_rule))
        .routes(routes!(list_alerts))
        .routes(routes!(retry_alert))
}

/// The project's alert channels (secrets never included).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/alert-channels", tag = "alerts",
    params(("project_id" = String, Path)), responses((status = 200, body = Vec<ChannelView>), (status = 404)))]
async fn list_channels(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    s.store.get_project(&pid).await?;
    let list = s.store.list_alert_channels(&pid).await?;
    Ok(Json(list.into_iter().map(ChannelView::from).collect()))
}

/// Creates a channel: `webhook`, `email`, `dingtalk`, `feishu` or `wecom` with its
/// configuration; secrets are sealed at rest. Its host must be one the admin allows.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/alert-channels", tag = "alerts",
    params(("project_id" = String, Path)), request_body = ChannelSpec,
    responses((status = 201, body = ChannelView), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn create_channel(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(pid): ApiPath<String>,
    ApiJson(b): ApiJson<ChannelSpec>,
) -> Result<(StatusCode, Extension<Created>, Json<ChannelView>), ApiError> {
    s.store.get_project(&pid).await?;
    let c = alerts::save_channel(&s, &pid, None, b, &p.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(c.id.clone())),
        Json(c.into()),
    ))
}

/// A channel (secrets never included).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/alert-channels/{channel_id}", tag = "alerts",
    params(("project_id" = String, Path), ("channel_id" = String, Path)),
    responses((status = 200, body = ChannelView), (status = 404)))]
async fn get_channel(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(s.store.get_alert_channel(&pid, &id).await?.into()))
}

/// Replaces a channel; secret keys left out keep their stored values.
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/alert-channels/{channel_id}", tag = "alerts",
    params(("project_id" = String, Path), ("channel_id" = String, Path)), request_body = ChannelSpec,
    responses((status = 200, body = ChannelView), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn update_channel(
    State(s): State<AppState>,
    p: Principal,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<ChannelSpec>,
) -> Result<Json<ChannelView>, ApiError> {
    let old = s.store.get_alert_channel(&pid, &id).await?;
    let c = alerts::save_channel(&s, &pid, Some(&old), b, &p.user.id).await?;
    Ok(Json(c.into()))
}

/// Deletes a channel; 409 while a rule sends to it.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/alert-channels/{channel_id}", tag = "alerts",
    params(("project_id" = String, Path), ("channel_id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409)))]
async fn delete_channel(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.delete_alert_channel(&pid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message on the channel now and answers what the receiver said.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/alert-channels/{channel_id}/test", tag = "alerts",
    params(("project_id" = String, Path), ("channel_id" = String, Path)),
    responses((status = 200, body = SendResult), (status = 403), (status = 404)))]
async fn test_channel(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<SendResult>, ApiError> {
    let c = s.store.get_alert_channel(&pid, &id).await?;
    Ok(Json(alerts::send_test(&s, &c).await?))
}

/// The project's alert rules.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/alert-rules", tag = "alerts",
    params(("project_id" = String, Path)), responses((status = 200, body = Vec<AlertRule>), (status = 404)))]
async fn list_rules(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
) -> Result<Json<Vec<AlertRule>>, ApiError> {
    s.store.get_project(&pid).await?;
    Ok(Json(s.store.list_alert_rules(&pid).await?))
}

/// Creates a rule: what it watches (job instance states, restarts, lost instances,
/// checkpoint failures, workflow failures and timeouts, missed schedules), its scope and
/// thresholds, and the channels it sends to. Only what happens after it is created alerts.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/alert-rules", tag = "alerts",
    params(("project_id" = String, Path)), request_body = RuleSpec,
    responses((status = 201, body = AlertRule), (status = 404), (status = 409), (status = 422)))]
async fn create_rule(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(pid): ApiPath<String>,
    ApiJson(b): ApiJson<RuleSpec>,
) -> Result<(StatusCode, Extension<Created>, Json<AlertRule>), ApiError> {
    s.store.get_project(&pid).await?;
    let f = alerts::rule_fields(&s.store, &pid, b).await?;
    let r = s.store.create_alert_rule(&pid, &f, &p.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(r.id.clone())),
        Json(r),
    ))
}

/// A rule.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/alert-rules/{rule_id}", tag = "alerts",
    params(("project_id" = String, Path), ("rule_id" = String, Path)),
    responses((status = 200, body = AlertRule), (status = 404)))]
async fn get_rule(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<AlertRule>, ApiError> {
    Ok(Json(s.store.get_alert_rule(&pid, &id).await?))
}

/// Replaces a rule.
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/alert-rules/{rule_id}", tag = "alerts",
    params(("project_id" = String, Path), ("rule_id" = String, Path)), request_body = RuleSpec,
    responses((status = 200, body = AlertRule), (status = 404), (status = 409), (status = 422)))]
async fn update_rule(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<RuleSpec>,
) -> Result<Json<AlertRule>, ApiError> {
    s.store.get_alert_rule(&pid, &id).await?;
    let f = alerts::rule_fields(&s.store, &pid, b).await?;
    Ok(Json(s.store.update_alert_rule(&pid, &id, &f).await?))
}

/// Deletes a rule and the alerts it raised.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/alert-rules/{rule_id}", tag = "alerts",
    params(("project_id" = String, Path), ("rule_id" = String, Path)),
    responses((status = 204), (status = 404)))]
async fn delete_rule(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.delete_alert_rule(&pid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?limit=` of the alert history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryParams {
    /// Most alerts, 1..=500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The project's latest alerts, newest first, each with its deliveries (state, attempts,
/// the receiver's answer or the last error).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/alerts", tag = "alerts",
    params(("project_id" = String, Path), HistoryParams),
    responses((status = 200, body = Vec<AlertEvent>), (status = 404), (status = 422)))]
async fn list_alerts(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Json<Vec<AlertEvent>>, ApiError> {
    s.store.get_project(&pid).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit is 1–500"));
    }
    Ok(Json(s.store.list_alerts(&pid, limit).await?))
}

/// How many deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
struct Retried {
    /// Deliveries queued.
    queued: u64,
}

/// Sends an alert's failed deliveries again.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/alerts/{alert_id}/retry", tag = "alerts",
    params(("project_id" = String, Path), ("alert_id" = String, Path)),
    responses((status = 200, body = Retried), (status = 404)))]
async fn retry_alert(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Retried>, ApiError> {
    Ok(Json(Retried {
        queued: s.store.retry_alert(&pid, &id).await?,
    }))
}
