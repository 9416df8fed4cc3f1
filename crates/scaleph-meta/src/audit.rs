//! The audit log: one row per mutating API call, written by the server's authorization
//! middleware. Rows never hold request bodies, so secrets cannot reach them.

use crate::{new_id, Page, PageRequest, Result, Row, Store};
use serde::Serialize;
use sqlx::Row as _;
use utoipa::ToSchema;

/// One audited call.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Id (UUIDv7, so ids sort by time).
    pub id: String,
    /// When, epoch ms.
    pub at: i64,
    /// Acting user's id; `None` for anonymous calls and failed logins.
    pub actor_id: Option<String>,
    /// Acting user's name (`anonymous` when no credentials were given).
    pub actor: String,
    /// Event name from the route table, e.g. `datasource.create`.
    pub action: String,
    /// Resource kind, e.g. `Datasource`.
    pub target_type: String,
    /// The request path naming the target, plus the created id for creations.
    pub target: String,
    /// `success`, `denied` (401/403/404 from authorization, 429), or `failed`.
    pub outcome: String,
    /// HTTP status answered.
    pub status: i64,
    /// Client address.
    pub source_ip: String,
    /// Short detail, e.g. the error title; never a request body.
    pub detail: String,
}

/// Filters of [`Store::list_audit`]; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor name.
    pub actor: Option<String>,
    /// Action name, or prefix ending in `.` (`datasource.` matches all datasource events).
    pub action: Option<String>,
    /// Substring of the target.
    pub target: Option<String>,
    /// Exact outcome.
    pub outcome: Option<String>,
    /// From this time, epoch ms, inclusive.
    pub since: Option<i64>,
    /// Before this time, epoch ms, exclusive.
    pub until: Option<i64>,
}

fn entry(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor_id: r.try_get("actor_id")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target_type: r.try_get("target_type")?,
        target: r.try_get("target")?,
        outcome: r.try_get("outcome")?,
        status: r.try_get("status")?,
        source_ip: r.try_get("source_ip")?,
        detail: r.try_get("detail")?,
    })
}

impl Store {
    /// Appends an entry; `id` is assigned here.
    pub async fn record_audit(&self, mut e: AuditEntry) -> Result<AuditEntry> {
        e.id = new_id();
        sqlx::query("INSERT INTO audit_log (id, at, actor_id, actor, action, target_type, target, outcome, status, source_ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&e.id)
            .bind(e.at)
            .bind(&e.actor_id)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target_type)
            .bind(&e.target)
            .bind(&e.outcome)
            .bind(e.status)
            .bind(&e.source_ip)
            .bind(&e.detail)
            .execute(&self.write)
            .await?;
        Ok(e)
    }

    /// Entries matching `f`, newest first.
    pub async fn list_audit(&self, f: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>> {
        // Every filter is always present in the SQL and disabled by a NULL parameter, so the
        // statement text is fixed and all values are bound.
        let action_like = f.action.as_ref().map(|a| {
            if a.ends_with('.') {
                format!("{}%", escape_like(a))
            } else {
                escape_like(a)
            }
        });
        let target_like = f.target.as_ref().map(|t| format!("%{}%", escape_like(t)));
        let cond = "($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\') \
                    AND ($3 IS NULL OR target LIKE $3 ESCAPE '\\') AND ($4 IS NULL OR outcome = $4) \
                    AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6)";
        macro_rules! bind_filters {
            ($q:expr) => {
                $q.bind(&f.actor)
                    .bind(&action_like)
                    .bind(&target_like)
                    .bind(&f.outcome)
                    .bind(f.since)
                    .bind(f.until)
            };
        }
        let total: i64 = bind_filters!(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE {cond}"
        )))
        .fetch_one(&self.read)
        .await?;
        let rows = bind_filters!(sqlx::query(&format!(
            "SELECT * FROM audit_log WHERE {cond} ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8"
        )))
        .bind(page.page_size)
        .bind(page.offset())
        .fetch_all(&self.read)
        .await?;
        Ok(Page {
            items: rows.iter().map(entry).collect::<Result<_>>()?,
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
