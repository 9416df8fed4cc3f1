use super::PageParams;
use crate::error::{ApiError, ApiQuery};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use scaleph_meta::{AuditEntry, AuditFilter, Page, PageRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Outcome of an audited call (documentation of the `outcome` filter).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum Outcome {
    /// 2xx.
    Success,
    /// Refused: 401, 403, 429.
    Denied,
    /// Any other error.
    Failed,
}

/// Filters of `GET /audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    /// Exact actor user name (`anonymous` for calls without credentials).
    actor: Option<String>,
    /// Event name (`job.submit`), or a prefix ending in `.` (`datasource.`).
    action: Option<String>,
    /// Substring of the target path.
    target: Option<String>,
    /// `success`, `denied` or `failed`.
    #[param(value_type = Option<Outcome>)]
    outcome: Option<String>,
    /// From this time, epoch ms, inclusive.
    since: Option<i64>,
    /// Before this time, epoch ms, exclusive.
    until: Option<i64>,
    /// Page number, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<i64>,
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<i64>,
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams), responses((status = 200, body = Page<AuditEntry>), (status = 422)))]
async fn list_audit(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    if let Some(o) = &q.outcome {
        if !matches!(o.as_str(), "success" | "denied" | "failed") {
            return Err(ApiError::invalid(format!(
                "unknown outcome '{o}': use success, denied or failed"
            )));
        }
    }
    let page: PageRequest = PageParams {
        page: q.page,
        page_size: q.page_size,
    }
    .get()?;
    let f = AuditFilter {
        actor: q.actor,
        action: q.action,
        target: q.target,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
    };
    Ok(Json(s.store.list_audit(&f, page).await?))
}
