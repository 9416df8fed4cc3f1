use super::PageParams;
use crate::auth::Created;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::service::datasources::{self as ds, ConnectionTest, DatasourceView};
use crate::service::names::Name;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use scaleph_meta::Page;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_datasources, create_datasource))
        .routes(routes!(
            get_datasource,
            update_datasource,
            delete_datasource
        ))
        .routes(routes!(test_datasource))
        .routes(routes!(datasource_tables))
}

/// Body of `POST …/datasources`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDatasource {
    /// Unique within the project.
    name: Name,
    /// `filesystem` (`path`), `postgresql` / `mysql` (`host`, `port`, `database`, `username`,
    /// `password`).
    #[serde(rename = "type")]
    kind: String,
    /// Type-specific properties.
    #[schema(value_type = Object)]
    properties: Map<String, Value>,
}

/// Body of `PUT …/datasources/{id}`; secrets left out are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasourceUpdate {
    /// New name.
    name: Name,
    /// New properties; omit `password` to keep the stored one.
    #[schema(value_type = Object)]
    properties: Map<String, Value>,
}

/// Lists a project's datasources (secrets never included).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/datasources", tag = "datasources",
    params(("project_id" = String, Path), PageParams), responses((status = 200, body = Page<DatasourceView>), (status = 404)))]
async fn list_datasources(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<DatasourceView>>, ApiError> {
    let page = s.store.list_datasources(&pid, p.get()?).await?;
    Ok(Json(Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
        page: page.page,
        page_size: page.page_size,
    }))
}

/// Creates a datasource.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/datasources", tag = "datasources", params(("project_id" = String, Path)), request_body = NewDatasource,
    responses((status = 201, body = DatasourceView), (status = 404), (status = 409), (status = 422)))]
async fn create_datasource(
    State(s): State<AppState>,
    ApiPath(pid): ApiPath<String>,
    ApiJson(b): ApiJson<NewDatasource>,
) -> Result<(StatusCode, Extension<Created>, Json<DatasourceView>), ApiError> {
    ds::validate(&b.kind, &b.properties, &s.access)?;
    let mut props = b.properties;
    ds::seal_secrets(&mut props, &s.keyring);
    let d = s
        .store
        .create_datasource(&pid, b.name.as_str(), &b.kind, &props)
        .await?;
    Ok((
        StatusCode::CREATED,
        Extension(Created(d.id.clone())),
        Json(d.into()),
    ))
}

/// One datasource.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/datasources/{datasource_id}", tag = "datasources",
    params(("project_id" = String, Path), ("datasource_id" = String, Path)), responses((status = 200, body = DatasourceView), (status = 404)))]
async fn get_datasource(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<DatasourceView>, ApiError> {
    Ok(Json(s.store.get_datasource(&pid, &id).await?.into()))
}

/// Replaces a datasource's name and properties.
#[utoipa::path(put, path = "/api/v1/projects/{project_id}/datasources/{datasource_id}", tag = "datasources",
    params(("project_id" = String, Path), ("datasource_id" = String, Path)), request_body = DatasourceUpdate,
    responses((status = 200, body = DatasourceView), (status = 404), (status = 409), (status = 422)))]
async fn update_datasource(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<DatasourceUpdate>,
) -> Result<Json<DatasourceView>, ApiError> {
    let cur = s.store.get_datasource(&pid, &id).await?;
    let mut props = b.properties;
    ds::seal_secrets(&mut props, &s.keyring);
    for k in ds::SECRET_KEYS {
        if !props.contains_key(k) {
            if let Some(v) = cur.properties.get(k) {
                props.insert(k.to_string(), v.clone());
            }
        }
    }
    ds::validate(&cur.kind, &props, &s.access)?;
    Ok(Json(
        s.store
            .update_datasource(&pid, &id, b.name.as_str(), &props)
            .await?
            .into(),
    ))
}

/// Deletes a datasource.
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}/datasources/{datasource_id}", tag = "datasources",
    params(("project_id" = String, Path), ("datasource_id" = String, Path)), responses((status = 204), (status = 404)))]
async fn delete_datasource(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.store.delete_datasource(&pid, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Connects to the datasource for real (lists the directory; logs in and queries the database).
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/datasources/{datasource_id}/test", tag = "datasources",
    params(("project_id" = String, Path), ("datasource_id" = String, Path)), responses((status = 200, body = ConnectionTest), (status = 404)))]
async fn test_datasource(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<ConnectionTest>, ApiError> {
    let d = s.store.get_datasource(&pid, &id).await?;
    Ok(Json(ds::test_connection(&d, &s.keyring, &s.access).await?))
}

/// The tables a datasource offers (directory entries of a filesystem datasource, a database's
/// tables), for completion in the SQL studio.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/datasources/{datasource_id}/tables", tag = "datasources",
    params(("project_id" = String, Path), ("datasource_id" = String, Path)), responses((status = 200, body = Vec<String>), (status = 404), (status = 502)))]
async fn datasource_tables(
    State(s): State<AppState>,
    ApiPath((pid, id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<String>>, ApiError> {
    let d = s.store.get_datasource(&pid, &id).await?;
    Ok(Json(ds::list_tables(&d, &s.keyring, &s.access).await?))
}
