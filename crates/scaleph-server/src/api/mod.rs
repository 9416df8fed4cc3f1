//! HTTP handlers, one module per resource; thin over the store and services.

mod account;
mod alerts;
mod artifacts;
mod audit;
mod auth;
mod clusters;
mod datasources;
mod doc;
mod health;
mod instances;
mod jobs;
mod members;
mod projects;
mod schedules;
mod sql;
mod users;
mod workflows;

use crate::error::ApiError;
use crate::AppState;
use scaleph_meta::PageRequest;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "scaleph", description = "scaleph open data platform REST API. Authenticate with a personal access token (`Authorization: Bearer sph_…`, see `scaleph login`) or the browser session cookie from `POST /api/v1/auth/login` (then send `X-CSRF-Token` on POST/PUT/PATCH/DELETE). Permissions: docs/permissions.md."),
    modifiers(&Security),
    components(schemas(crate::error::Problem, audit::Outcome)),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "auth"), (name = "account"), (name = "users"), (name = "audit"), (name = "projects"), (name = "members"), (name = "clusters"),
        (name = "datasources"), (name = "jobs"), (name = "instances"), (name = "schedules"), (name = "workflows"), (name = "alerts"), (name = "sql"), (name = "health")
    )
)]
struct ApiDoc;

/// Declares the two credential kinds; public operations override with `security(())`.
struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sph_ token")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// All routes with their OpenAPI descriptions; every operation's shared error answers are
/// documented by [`doc::Problems`].
pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(auth::router())
        .merge(account::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(members::router())
        .merge(clusters::router())
        .merge(artifacts::router())
        .merge(projects::router())
        .merge(datasources::router())
        .merge(jobs::router())
        .merge(instances::router())
        .merge(schedules::router())
        .merge(workflows::router())
        .merge(alerts::router())
        .merge(sql::router());
    doc::Problems.modify(router.get_openapi_mut());
    router
}

/// `?page=&page_size=` on list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageParams {
    /// Page number, from 1 (default 1).
    #[param(minimum = 1)]
    pub(crate) page: Option<i64>,
    /// Items per page, 1..=500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub(crate) page_size: Option<i64>,
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

#[cfg(test)]
mod tests {
    use scaleph_auth::matrix;

    /// The permission tables and the OpenAPI document name the same operations.
    #[test]
    fn every_documented_operation_has_exactly_one_permission_rule() {
        let (_, doc) = super::router().split_for_parts();
        let doc = serde_json::to_value(&doc).unwrap();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        for (m, p) in &documented {
            let public = matrix::is_public(m, p);
            assert!(
                public != matrix::route(m, p).is_some(),
                "{m} {p}: needs exactly one of a ROUTES rule or a PUBLIC_ROUTES entry"
            );
        }
        for r in matrix::ROUTES {
            assert!(
                documented.contains(&(r.method.to_string(), r.path.to_string())),
                "stale rule {} {}",
                r.method,
                r.path
            );
        }
        assert_eq!(
            documented.len(),
            matrix::ROUTES.len() + matrix::PUBLIC_ROUTES.len()
        );
    }
}
