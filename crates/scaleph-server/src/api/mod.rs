//! HTTP handlers, one module per resource; thin over the store and services.

mod datasources;
mod health;
mod instances;
mod jobs;
mod projects;
mod sql;

use crate::error::ApiError;
use crate::AppState;
use scaleph_meta::PageRequest;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "scaleph", description = "scaleph open data platform REST API"),
    tags(
        (name = "projects"), (name = "datasources"), (name = "jobs"), (name = "instances"), (name = "sql"), (name = "health")
    )
)]
struct ApiDoc;

/// All routes with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(projects::router())
        .merge(datasources::router())
        .merge(jobs::router())
        .merge(instances::router())
        .merge(sql::router())
}

/// `?page=&page_size=` on list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    /// Page number, from 1 (default 1).
    page: Option<i64>,
    /// Items per page, 1..=500 (default 50).
    page_size: Option<i64>,
}

impl PageParams {
    pub(crate) fn get(&self) -> Result<PageRequest, ApiError> {
        let page = self.page.unwrap_or(1);
        let page_size = self.page_size.unwrap_or(50);
        if page < 1 {
            return Err(ApiError::invalid("page must be 1 or more"));
        }
        if !(1..=500).contains(&page_size) {
            return Err(ApiError::invalid("page_size must be within 1..500"));
        }
        Ok(PageRequest { page, page_size })
    }
}

pub(crate) fn non_empty(field: &str, v: &str) -> Result<(), ApiError> {
    if v.trim().is_empty() {
        return Err(ApiError::invalid(format!("'{field}' must not be empty")));
    }
    if v.len() > 200 {
        return Err(ApiError::invalid(format!(
            "'{field}' is longer than 200 characters"
        )));
    }
    Ok(())
}
