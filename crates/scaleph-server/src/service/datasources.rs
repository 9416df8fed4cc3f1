//! Datasource types: property rules, secret redaction and connection tests.

use crate::error::ApiError;
use axum::http::StatusCode;
use scaleph_connectors::access::Use;
use scaleph_connectors::hosts::Endpoint;
use scaleph_connectors::{ConnectorContext, FileAccess};
use scaleph_meta::Datasource;
use scaleph_secrets::Keyring;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Connection;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Property keys holding secrets: stored, never returned.
pub const SECRET_KEYS: [&str; 1] = ["password"];

/// Datasource types and their (required, optional) properties.
fn rules(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match kind {
        "filesystem" => Some((&["path"], &[])),
        "postgresql" | "mysql" => Some((&["host", "database", "username"], &["port", "password"])),
        _ => None,
    }
}

/// Datasource types the platform knows.
pub const TYPES: [&str; 3] = ["filesystem", "postgresql", "mysql"];

/// Checks a type's properties: known keys only, required ones present, all strings (`port` may
/// be a number); a filesystem path must lie inside the allowed paths, a database's host and
/// port must be an allowed endpoint (`access`).
///
/// # Errors
/// 422 naming the type or property; for a refused path or host, it and the rule.
pub fn validate(
    kind: &str,
    props: &Map<String, Value>,
    access: &ConnectorContext,
) -> Result<(), ApiError> {
    let Some((required, optional)) = rules(kind) else {
        return Err(ApiError::invalid(format!(
            "unknown datasource type '{kind}'; available: {}",
            TYPES.join(", ")
        )));
    };
    for k in props.keys() {
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            return Err(ApiError::invalid(format!(
                "unknown property '{k}' for datasource type '{kind}'"
            )));
        }
    }
    for r in required {
        match props.get(*r) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "property '{r}' is required for datasource type '{kind}'"
                )))
            }
        }
    }
    for (k, v) in props {
        let ok = match (k.as_str(), v) {
            ("port", Value::Number(n)) => n.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
            ("port", Value::String(s)) => s.parse::<u16>().is_ok_and(|p| p > 0),
            (_, Value::String(_)) => true,
            _ => false,
        };
        if !ok {
            return Err(ApiError::invalid(format!(
                "property '{k}' has an invalid value"
            )));
        }
    }
    if kind == "filesystem" {
        if let Some(Value::String(p)) = props.get("path") {
            access
                .files
                .check(p, Use::Read)
                .map_err(|e| ApiError::invalid(format!("property 'path': {e}")))?;
        }
    }
    if let Some(ep) = db_endpoint(kind, props) {
        access
            .hosts
            .check(&ep)
            .map_err(|e| ApiError::invalid(format!("property 'host': {e}")))?;
    }
    Ok(())
}

/// A database datasource's host and port (default 5432 / 3306); `None` for other types.
fn db_endpoint(kind: &str, props: &Map<String, Value>) -> Option<Endpoint> {
    let default = match kind {
        "postgresql" => 5432,
        "mysql" => 3306,
        _ => return None,
    };
    let port = match props.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(Value::String(s)) => s.parse().ok(),
        _ => Some(default),
    };
    Some(Endpoint {
        host: props
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        port,
    })
}

/// A database datasource's endpoint checked now (the allowed hosts may have changed since it
/// was stored).
fn check_db_host(d: &Datasource, access: &ConnectorContext) -> Result<(), ApiError> {
    match db_endpoint(&d.kind, &d.properties) {
        Some(ep) => access
            .hosts
            .check(&ep)
            .map_err(|e| ApiError::forbidden(e.to_string())),
        None => Ok(()),
    }
}

/// A filesystem datasource's directory, resolved and checked now (the allowed paths or the
/// file system may have changed since it was stored).
fn fs_dir(d: &Datasource, files: &FileAccess) -> Result<std::path::PathBuf, ApiError> {
    files
        .check(prop(d, "path"), Use::Read)
        .map_err(|e| ApiError::forbidden(e.to_string()))
}

/// A datasource as the API shows it: secrets removed, their presence listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasourceView {
    /// Id.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// `filesystem`, `postgresql`, `mysql`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Properties without secrets.
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// Secret properties that are set (their values are never returned).
    pub secrets_set: Vec<String>,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last update, epoch ms.
    pub updated_at: i64,
}

impl From<Datasource> for DatasourceView {
    fn from(d: Datasource) -> Self {
        let mut properties = d.properties;
        let secrets_set = SECRET_KEYS
            .iter()
            .filter(|k| properties.remove(**k).is_some())
            .map(|k| k.to_string())
            .collect();
        Self {
            id: d.id,
            project_id: d.project_id,
            name: d.name,
            kind: d.kind,
            properties,
            secrets_set,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// Outcome of a connection test.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTest {
    /// True when the datasource answered.
    pub ok: bool,
    /// What was found (server version, directory entries) or what failed.
    pub message: String,
    /// Time taken, ms.
    pub elapsed_ms: u64,
}

fn prop<'a>(d: &'a Datasource, k: &str) -> &'a str {
    d.properties.get(k).and_then(Value::as_str).unwrap_or("")
}

fn port(d: &Datasource, default: u16) -> u16 {
    match d.properties.get("port") {
        Some(Value::Number(n)) => n.as_u64().map(|p| p as u16).unwrap_or(default),
        Some(Value::String(s)) => s.parse().unwrap_or(default),
        _ => default,
    }
}

/// Seals the secret properties given in a request (whatever they look like).
pub fn seal_secrets(props: &mut Map<String, Value>, keyring: &Keyring) {
    for k in SECRET_KEYS {
        if let Some(Value::String(v)) = props.get(k) {
            let sealed = keyring.seal(v);
            props.insert(k.to_string(), Value::String(sealed));
        }
    }
}

/// The datasource with its secrets opened, for connecting.
///
/// # Errors
/// The property and the reason when a stored secret cannot be opened (e.g. another key).
pub fn open_secrets(d: &Datasource, keyring: &Keyring) -> Result<Datasource, String> {
    let mut d = d.clone();
    for k in SECRET_KEYS {
        if let Some(Value::String(v)) = d.properties.get(k) {
            let plain = keyring.open(v).map_err(|e| format!("stored '{k}': {e}"))?;
            d.properties.insert(k.to_string(), Value::String(plain));
        }
    }
    Ok(d)
}

/// Really connects with the datasource's (opened) secrets: lists the directory, or logs in to
/// the database and runs a query.
///
/// # Errors
/// 403 when the path or host is no longer allowed (nothing is touched then).
pub async fn test_connection(
    sealed: &Datasource,
    keyring: &Keyring,
    access: &ConnectorContext,
) -> Result<ConnectionTest, ApiError> {
    let files = &access.files;
    check_db_host(sealed, access)?;
    let t0 = Instant::now();
    let d = match open_secrets(sealed, keyring) {
        Ok(d) => d,
        Err(message) => {
            return Ok(ConnectionTest {
                ok: false,
                message,
                elapsed_ms: 0,
            })
        }
    };
    let d = &d;
    let result: Result<String, String> = match d.kind.as_str() {
        "filesystem" => match fs_dir(d, files).map(std::fs::read_dir) {
            Ok(Ok(rd)) => Ok(format!("directory readable, {} entries", rd.count())),
            Ok(Err(e)) => Err(format!("cannot read directory '{}': {e}", prop(d, "path"))),
            Err(e) => Err(e.detail().to_string()),
        },
        "postgresql" | "mysql" => {
            db_strings(d, "SELECT version()", "SELECT CONCAT('MySQL ', VERSION())")
                .await
                .map(|v| v.into_iter().next().unwrap_or_default())
        }
        other => Err(format!("unknown datasource type '{other}'")),
    };
    let elapsed_ms = t0.elapsed().as_millis() as u64;
    Ok(match result {
        Ok(message) => ConnectionTest {
            ok: true,
            message,
            elapsed_ms,
        },
        Err(message) => ConnectionTest {
            ok: false,
            message,
            elapsed_ms,
        },
    })
}

/// Logs in to a PostgreSQL or MySQL datasource (5 s limit) and runs `pg_sql` or `mysql_sql`,
/// a query of one text column.
async fn db_strings(d: &Datasource, pg_sql: &str, mysql_sql: &str) -> Result<Vec<String>, String> {
    let err = |e: sqlx::Error| e.to_string();
    with_timeout(async {
        if d.kind == "postgresql" {
            let opts = sqlx::postgres::PgConnectOptions::new()
                .host(prop(d, "host"))
                .port(port(d, 5432))
                .database(prop(d, "database"))
                .username(prop(d, "username"))
                .password(prop(d, "password"));
            let mut c = sqlx::PgConnection::connect_with(&opts).await.map_err(err)?;
            let v = sqlx::query_scalar(pg_sql)
                .fetch_all(&mut c)
                .await
                .map_err(err)?;
            let _ = c.close().await;
            Ok(v)
        } else {
            let opts = sqlx::mysql::MySqlConnectOptions::new()
                .host(prop(d, "host"))
                .port(port(d, 3306))
                .database(prop(d, "database"))
                .username(prop(d, "username"))
                .password(prop(d, "password"));
            let mut c = sqlx::MySqlConnection::connect_with(&opts)
                .await
                .map_err(err)?;
            let v = sqlx::query_scalar(mysql_sql)
                .fetch_all(&mut c)
                .await
                .map_err(err)?;
            let _ = c.close().await;
            Ok(v)
        }
    })
    .await
}

async fn with_timeout<T>(
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .unwrap_or_else(|_| Err("timed out after 5 s".into()))
}

/// The tables a datasource offers, for editors' completion: a filesystem datasource's
/// directory entries (each a table path), a database's tables (`schema.table` outside
/// `public`).
///
/// # Errors
/// 403 when a filesystem path or a host is no longer allowed; 502 naming the reason when the
/// datasource cannot be read.
pub async fn list_tables(
    sealed: &Datasource,
    keyring: &Keyring,
    access: &ConnectorContext,
) -> Result<Vec<String>, ApiError> {
    let files = &access.files;
    check_db_host(sealed, access)?;
    let d = open_secrets(sealed, keyring).map_err(|m| ApiError::new(StatusCode::BAD_GATEWAY, m))?;
    let d = &d;
    let r: Result<Vec<String>, String> = match d.kind.as_str() {
        "filesystem" => std::fs::read_dir(fs_dir(d, files)?)
            .map(|rd| {
                let mut v: Vec<String> = rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| !n.starts_with('.'))
                    .collect();
                v.sort();
                v
            })
            .map_err(|e| format!("cannot read directory '{}': {e}", prop(d, "path"))),
        "postgresql" | "mysql" => {
            db_strings(
                d,
                "SELECT CASE WHEN table_schema = 'public' THEN table_name ELSE table_schema || '.' || table_name END FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
            )
            .await
        }
        other => Err(format!("unknown datasource type '{other}'")),
    };
    r.map_err(|m| ApiError::new(StatusCode::BAD_GATEWAY, format!("cannot list tables: {m}")))
}
