//! The permission matrix, as data.
//!
//! [`MATRIX`] says, for each (resource, action), what the caller needs: a platform role, or a
//! role in the project the route names (platform admins count as owners everywhere), and the
//! token scope. [`ROUTES`] maps every authenticated API route (method + path template, as in
//! the OpenAPI document) to a (resource, action) and the name its audit entries carry.
//! [`PUBLIC_ROUTES`] are the only routes served without credentials. The server's one
//! authorization middleware reads these tables; [`markdown`] renders them for the docs.

use crate::roles::{PlatformRole, ProjectRole, Scope};
use std::fmt::Write as _;

/// What a permission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Projects.
    Project,
    /// Project membership (who has which project role).
    Member,
    /// Datasources of a project.
    Datasource,
    /// Alert channels, rules and history of a project.
    Alert,
    /// Jobs of a project (SQL scripts and their versions).
    Job,
    /// Job instances (runs) of a project's jobs.
    Instance,
    /// Engine clusters (Flink).
    Cluster,
    /// Logs and stdout of a cluster's JobManager and TaskManagers (they hold every
    /// project's output, so administrators only).
    ClusterLogs,
    /// Ad-hoc SQL: validation and preview.
    Sql,
    /// User accounts (administration).
    User,
    /// Other users' personal access tokens (administration).
    Token,
    /// The caller's own account: profile, password, personal access tokens.
    Account,
    /// The audit log.
    Audit,
    /// The caller's browser session.
    Session,
}

/// What is done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// List the ones visible to the caller (projects: those they are a member of; admins: all).
    List,
    /// See it.
    Read,
    /// Make a new one.
    Create,
    /// Change it.
    Edit,
    /// Remove it.
    Delete,
    /// Execute it: submit a job, preview SQL, test a connection.
    Run,
    /// Act on something running: cancel (later: savepoints, restart).
    Operate,
}

/// Who may do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// At least this platform role (`User` = anyone signed in).
    Platform(PlatformRole),
    /// At least this role in the project the route names; non-members get 404 so that a
    /// project's existence does not leak.
    Project(ProjectRole),
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    /// Resource.
    pub resource: Resource,
    /// Action.
    pub action: Action,
    /// Role needed.
    pub need: Need,
    /// Token scope needed.
    pub scope: Scope,
}

/// An authenticated API route.
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template as in the OpenAPI document (`/api/v1/projects/{project_id}`).
    pub path: &'static str,
    /// Resource.
    pub resource: Resource,
    /// Action.
    pub action: Action,
    /// Audit event name (`datasource.create`).
    pub event: &'static str,
}

use Action::*;
use Need::{Platform, Project as InProject};
use PlatformRole::{Admin as PAdmin, User as PUser};
use ProjectRole::*;
use Resource as R;

const fn p(resource: Resource, action: Action, need: Need, scope: Scope) -> Permission {
    Permission {
        resource,
        action,
        need,
        scope,
    }
}

/// The permission matrix. A (resource, action) missing here is denied to everyone.
#[rustfmt::skip]
pub const MATRIX: &[Permission] = &[
    p(R::Project, List, Platform(PUser), Scope::Read),
    p(R::Project, Read, InProject(Viewer), Scope::Read),
    p(R::Project, Create, Platform(PUser), Scope::Write),
    p(R::Project, Edit, InProject(Owner), Scope::Write),
    p(R::Project, Delete, InProject(Owner), Scope::Write),
    p(R::Member, Read, InProject(Viewer), Scope::Read),
    p(R::Member, Edit, InProject(Owner), Scope::Write),
    p(R::Member, Delete, InProject(Owner), Scope::Write),
    p(R::Datasource, Read, InProject(Viewer), Scope::Read),
    p(R::Datasource, Create, InProject(Developer), Scope::Write),
    p(R::Datasource, Edit, InProject(Developer), Scope::Write),
    p(R::Datasource, Delete, InProject(Developer), Scope::Write),
    p(R::Datasource, Run, InProject(Developer), Scope::Operate),
    p(R::Alert, Read, InProject(Viewer), Scope::Read),
    p(R::Alert, Create, InProject(Developer), Scope::Write),
    p(R::Alert, Edit, InProject(Developer), Scope::Write),
    p(R::Alert, Delete, InProject(Developer), Scope::Write),
    p(R::Alert, Run, InProject(Developer), Scope::Operate),
    p(R::Job, Read, InProject(Viewer), Scope::Read),
    p(R::Job, Create, InProject(Developer), Scope::Write),
    p(R::Job, Edit, InProject(Developer), Scope::Write),
    p(R::Job, Delete, InProject(Developer), Scope::Write),
    p(R::Job, Run, InProject(Developer), Scope::Operate),
    p(R::Job, Operate, InProject(Developer), Scope::Operate),
    p(R::Instance, Read, InProject(Viewer), Scope::Read),
    p(R::Instance, Operate, InProject(Developer), Scope::Operate),
    p(R::Cluster, Read, Platform(PUser), Scope::Read),
    p(R::Cluster, Create, Platform(PAdmin), Scope::Admin),
    p(R::Cluster, Edit, Platform(PAdmin), Scope::Admin),
    p(R::Cluster, Delete, Platform(PAdmin), Scope::Admin),
    p(R::ClusterLogs, Read, Platform(PAdmin), Scope::Admin),
    p(R::Sql, Read, Platform(PUser), Scope::Read),
    p(R::Sql, Run, Platform(PUser), Scope::Operate),
    p(R::User, Read, Platform(PAdmin), Scope::Admin),
    p(R::User, Create, Platform(PAdmin), Scope::Admin),
    p(R::User, Edit, Platform(PAdmin), Scope::Admin),
    p(R::Token, Read, Platform(PAdmin), Scope::Admin),
    p(R::Token, Delete, Platform(PAdmin), Scope::Admin),
    p(R::Account, Read, Platform(PUser), Scope::Read),
    p(R::Account, Edit, Platform(PUser), Scope::Admin),
    p(R::Audit, Read, Platform(PAdmin), Scope::Admin),
    p(R::Session, Delete, Platform(PUser), Scope::Read),
];

/// Routes served without credentials: health checks and login.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/login"),
];

const fn r(
    method: &'static str,
    path: &'static str,
    resource: Resource,
    action: Action,
    event: &'static str,
) -> RouteRule {
    RouteRule {
        method,
        path,
        resource,
        action,
        event,
    }
}

/// Every authenticated API route. A route missing here is refused (500 in the server, and a
/// unit test fails) — nothing is reachable by accident.
#[rustfmt::skip]
pub const ROUTES: &[RouteRule] = &[
    r(
        "POST",
        "/api/v1/auth/logout",
        R::Session,
        Delete,
        "auth.logout",
    ),
    r("GET", "/api/v1/me", R::Account, Read, "account.read"),
    r(
        "POST",
        "/api/v1/me/password",
        R::Account,
        Edit,
        "account.password",
    ),
    r("GET", "/api/v1/me/tokens", R::Account, Read, "token.list"),
    r(
        "POST",
        "/api/v1/me/tokens",
        R::Account,
        Edit,
        "token.create",
    ),
    r(
        "DELETE",
        "/api/v1/me/tokens/{token_id}",
        R::Account,
        Edit,
        "token.revoke",
    ),
    r("GET", "/api/v1/users", R::User, Read, "user.list"),
    r("POST", "/api/v1/users", R::User, Create, "user.create"),
    r("GET", "/api/v1/users/{user_id}", R::User, Read, "user.read"),
    r(
        "PATCH",
        "/api/v1/users/{user_id}",
        R::User,
        Edit,
        "user.update",
    ),
    r(
        "POST",
        "/api/v1/users/{user_id}/password",
        R::User,
        Edit,
        "user.password",
    ),
    r(
        "GET",
        "/api/v1/users/{user_id}/tokens",
        R::Token,
        Read,
        "user.token.list",
    ),
    r(
        "DELETE",
        "/api/v1/users/{user_id}/tokens/{token_id}",
        R::Token,
        Delete,
        "user.token.revoke",
    ),
    r("GET", "/api/v1/audit", R::Audit, Read, "audit.list"),
    r("GET", "/api/v1/projects", R::Project, List, "project.list"),
    r(
        "POST",
        "/api/v1/projects",
        R::Project,
        Create,
        "project.create",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}",
        R::Project,
        Read,
        "project.read",
    ),
    r(
        "PATCH",
        "/api/v1/projects/{project_id}",
        R::Project,
        Edit,
        "project.update",
    ),
    r(
        "DELETE",
        "/api/v1/projects/{project_id}",
        R::Project,
        Delete,
        "project.delete",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/members",
        R::Member,
        Read,
        "member.list",
    ),
    r(
        "PUT",
        "/api/v1/projects/{project_id}/members/{user_id}",
        R::Member,
        Edit,
        "member.set",
    ),
    r(
        "DELETE",
        "/api/v1/projects/{project_id}/members/{user_id}",
        R::Member,
        Delete,
        "member.remove",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/datasources",
        R::Datasource,
        Read,
        "datasource.list",
    ),
    r(
        "POST",
        "/api/v1/projects/{project_id}/datasources",
        R::Datasource,
        Create,
        "datasource.create",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/datasources/{datasource_id}",
        R::Datasource,
        Read,
        "datasource.read",
    ),
    r(
        "PUT",
        "/api/v1/projects/{project_id}/datasources/{datasource_id}",
        R::Datasource,
        Edit,
        "datasource.update",
    ),
    r(
        "DELETE",
        "/api/v1/projects/{project_id}/datasources/{datasource_id}",
        R::Datasource,
        Delete,
        "datasource.delete",
    ),
    r(
        "POST",
        "/api/v1/projects/{project_id}/datasources/{datasource_id}/test",
        R::Datasource,
        Run,
        "datasource.test",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/jobs",
        R::Job,
        Read,
        "job.list",
    ),
    r(
        "POST",
        "/api/v1/projects/{project_id}/jobs",
        R::Job,
        Create,
        "job.create",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/jobs/{job_id}",
        R::Job,
        Read,
        "job.read",
    ),
    r(
        "PATCH",
        "/api/v1/projects/{project_id}/jobs/{job_id}",
        R::Job,
        Edit,
        "job.update",
    ),
    r(
        "DELETE",
        "/api/v1/projects/{project_id}/jobs/{job_id}",
        R::Job,
        Delete,
        "job.delete",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/jobs/{job_id}/versions",
        R::Job,
        Read,
        "job.version.list",
    ),
    r(
        "POST",
        "/api/v1/projects/{project_id}/jobs/{job_id}/versions",
        R::Job,
        Edit,
        "job.version.create",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/jobs/{job_id}/versions/{version}",
        R::Job,
        Read,
        "job.version.read",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/jobs/{job_id}/diff",
        R::Job,
        Read,
        "job.diff",
    ),
    r(
        "POST",
        "/api/v1/projects/{project_id}/jobs/{job_id}/submit",
        R::Job,
        Run,
        "job.submit",
    ),
    r(
        "GET",
        "/api/v1/projects/{project_id}/jobs/{job_id}/instances",
        R::Instance,
        Read,
        "instance.list",
    ),
    r(
        "GET",
        "/api/v1/instances/{instance_id}",
        R::Instance,
        Read,
        "instance.read",
    ),
    r(
        "POST",
        "/api/v1/instances/{instance_id}/cancel",
        R::Instance,
        Operate,
        "instance.cancel",
    ),
    r(
        "GET",
        "/api/v1/instances/{instance_id}/logs",
        R::Instance,
        Read,
        "instance.logs",
    ),
    r("GET", "/api/v1/projects/{project_id}/artifacts", R::Job, Read, "artifact.list"),
    r("POST", "/api/v1/projects/{project_id}/artifacts", R::Job, Create, "artifact.upload"),
    r("GET", "/api/v1/projects/{project_id}/datasources/{datasource_id}/tables", R::Datasource, Read, "datasource.tables"),
    r("GET", "/api/v1/projects/{project_id}/jobs/{job_id}/savepoints", R::Job, Read, "savepoint.list"),
    r("DELETE", "/api/v1/projects/{project_id}/jobs/{job_id}/savepoints/{savepoint_id}", R::Job, Operate, "savepoint.dispose"),
    r("GET", "/api/v1/instances/{instance_id}/events", R::Instance, Read, "instance.events"),
    r("POST", "/api/v1/instances/{instance_id}/stop", R::Instance, Operate, "instance.stop"),
    r("POST", "/api/v1/instances/{instance_id}/savepoints", R::Instance, Operate, "instance.savepoint"),
    r("POST", "/api/v1/instances/{instance_id}/restart", R::Instance, Operate, "instance.restart"),
    r("GET", "/api/v1/instances/{instance_id}/exceptions", R::Instance, Read, "instance.exceptions"),
    r("GET", "/api/v1/instances/{instance_id}/vertices", R::Instance, Read, "instance.vertices"),
    r("GET", "/api/v1/instances/{instance_id}/checkpoints", R::Instance, Read, "instance.checkpoints"),
    r("GET", "/api/v1/clusters", R::Cluster, Read, "cluster.list"),
    r("POST", "/api/v1/clusters", R::Cluster, Create, "cluster.register"),
    r("GET", "/api/v1/clusters/{cluster_id}", R::Cluster, Read, "cluster.read"),
    r("DELETE", "/api/v1/clusters/{cluster_id}", R::Cluster, Delete, "cluster.delete"),
    r("GET", "/api/v1/clusters/{cluster_id}/taskmanagers", R::Cluster, Read, "cluster.taskmanagers"),
    r("GET", "/api/v1/clusters/{cluster_id}/taskmanagers/{taskmanager_id}/stdout", R::ClusterLogs, Read, "cluster.taskmanager.stdout"),
    r("GET", "/api/v1/clusters/{cluster_id}/taskmanagers/{taskmanager_id}/log", R::ClusterLogs, Read, "cluster.taskmanager.log"),
    r("GET", "/api/v1/clusters/{cluster_id}/jobmanager/log", R::ClusterLogs, Read, "cluster.jobmanager.log"),
    r("POST", "/api/v1/sql/validate", R::Sql, Read, "sql.validate"),
    r("POST", "/api/v1/sql/preview", R::Sql, Run, "sql.preview"),
    r("POST", "/api/v1/sql/preview/stream", R::Sql, Run, "sql.preview"),
    r("GET", "/api/v1/projects/{project_id}/jobs/{job_id}/schedule", R::Job, Read, "schedule.read"),
    r("PUT", "/api/v1/projects/{project_id}/jobs/{job_id}/schedule", R::Job, Edit, "schedule.put"),
    r("DELETE", "/api/v1/projects/{project_id}/jobs/{job_id}/schedule", R::Job, Edit, "schedule.delete"),
    r("GET", "/api/v1/projects/{project_id}/jobs/{job_id}/schedule/fires", R::Job, Read, "schedule.fires"),
    r("POST", "/api/v1/schedules/preview", R::Sql, Read, "schedule.preview"),
    r("GET", "/api/v1/instances/{instance_id}/params", R::Instance, Read, "instance.params"),
    r("GET", "/api/v1/projects/{project_id}/jobs/{job_id}/backfills", R::Job, Read, "backfill.list"),
    r("POST", "/api/v1/projects/{project_id}/jobs/{job_id}/backfills", R::Job, Run, "backfill.create"),
    r("GET", "/api/v1/projects/{project_id}/alert-channels", R::Alert, Read, "alert.channel.list"),
    r("POST", "/api/v1/projects/{project_id}/alert-channels", R::Alert, Create, "alert.channel.create"),
    r("GET", "/api/v1/projects/{project_id}/alert-channels/{channel_id}", R::Alert, Read, "alert.channel.read"),
    r("PUT", "/api/v1/projects/{project_id}/alert-channels/{channel_id}", R::Alert, Edit, "alert.channel.update"),
    r("DELETE", "/api/v1/projects/{project_id}/alert-channels/{channel_id}", R::Alert, Delete, "alert.channel.delete"),
    r("POST", "/api/v1/projects/{project_id}/alert-channels/{channel_id}/test", R::Alert, Run, "alert.channel.test"),
    r("GET", "/api/v1/projects/{project_id}/alert-rules", R::Alert, Read, "alert.rule.list"),
    r("POST", "/api/v1/projects/{project_id}/alert-rules", R::Alert, Create, "alert.rule.create"),
    r("GET", "/api/v1/projects/{project_id}/alert-rules/{rule_id}", R::Alert, Read, "alert.rule.read"),
    r("PUT", "/api/v1/projects/{project_id}/alert-rules/{rule_id}", R::Alert, Edit, "alert.rule.update"),
    r("DELETE", "/api/v1/projects/{project_id}/alert-rules/{rule_id}", R::Alert, Delete, "alert.rule.delete"),
    r("GET", "/api/v1/projects/{project_id}/alerts", R::Alert, Read, "alert.list"),
    r("POST", "/api/v1/projects/{project_id}/alerts/{alert_id}/retry", R::Alert, Run, "alert.retry"),
    r("GET", "/api/v1/projects/{project_id}/workflows", R::Job, Read, "workflow.list"),
    r("POST", "/api/v1/projects/{project_id}/workflows", R::Job, Create, "workflow.create"),
    r("GET", "/api/v1/projects/{project_id}/workflows/{workflow_id}", R::Job, Read, "workflow.read"),
    r("PUT", "/api/v1/projects/{project_id}/workflows/{workflow_id}", R::Job, Edit, "workflow.update"),
    r("DELETE", "/api/v1/projects/{project_id}/workflows/{workflow_id}", R::Job, Delete, "workflow.delete"),
    r("GET", "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs", R::Job, Read, "workflow.runs"),
    r("POST", "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs", R::Job, Run, "workflow.run"),
    r("GET", "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}", R::Job, Read, "workflow.run.read"),
    r("POST", "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}/cancel", R::Job, Operate, "workflow.run.cancel"),
    r("POST", "/api/v1/projects/{project_id}/workflows/{workflow_id}/runs/{run_id}/rerun", R::Job, Run, "workflow.run.rerun"),
    r("GET", "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule", R::Job, Read, "workflow.schedule.read"),
    r("PUT", "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule", R::Job, Edit, "workflow.schedule.put"),
    r("DELETE", "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule", R::Job, Edit, "workflow.schedule.delete"),
    r("GET", "/api/v1/projects/{project_id}/workflows/{workflow_id}/schedule/fires", R::Job, Read, "workflow.schedule.fires"),
    r("GET", "/api/v1/projects/{project_id}/workflows/{workflow_id}/backfills", R::Job, Read, "workflow.backfill.list"),
    r("POST", "/api/v1/projects/{project_id}/workflows/{workflow_id}/backfills", R::Job, Run, "workflow.backfill.create"),
];

impl RouteRule {
    /// True when calls are recorded in the audit log: every method but GET, except reads
    /// (SQL validation).
    pub fn audited(&self) -> bool {
        self.method != "GET" && self.action != Action::Read
    }
}

/// The rule for `method` on the path template `path`, if any.
pub fn route(method: &str, path: &str) -> Option<&'static RouteRule> {
    ROUTES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
}

/// True when `method path` is served without credentials.
pub fn is_public(method: &str, path: &str) -> bool {
    PUBLIC_ROUTES
        .iter()
        .any(|(m, p)| m.eq_ignore_ascii_case(method) && *p == path)
}

/// The methods declared on the path template `path`, upper case, in table order, with `HEAD`
/// after `GET` (HTTP answers HEAD like GET); empty for an unknown path. This is the `Allow`
/// header of a 405 answer.
pub fn methods(path: &str) -> Vec<&'static str> {
    let declared = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method)
        .chain(
            PUBLIC_ROUTES
                .iter()
                .filter(|(_, p)| *p == path)
                .map(|(m, _)| *m),
        );
    let mut out = Vec::new();
    for m in declared {
        if !out.contains(&m) {
            out.push(m);
            if m == "GET" {
                out.push("HEAD");
            }
        }
    }
    out
}

/// The matrix cell for (`resource`, `action`); `None` means nobody may.
pub fn permission(resource: Resource, action: Action) -> Option<&'static Permission> {
    MATRIX
        .iter()
        .find(|p| p.resource == resource && p.action == action)
}

fn need_text(n: Need) -> String {
    match n {
        Need::Platform(PlatformRole::User) => "any signed-in user".into(),
        Need::Platform(PlatformRole::Admin) => "platform admin".into(),
        Need::Project(r) => format!("project {r}+"),
    }
}

/// The matrix and the route table as Markdown (the content of `docs/permissions.md`).
pub fn markdown() -> String {
    let mut s = String::from(
        "# Permissions\n\n\
         Generated from `crates/scaleph-auth/src/matrix.rs` (`scaleph permissions` prints it; a \
         test keeps this file equal to it).\n\n\
         Platform roles: `user`, `admin` (an admin counts as owner of every project). Project \
         roles, each including the one before: `viewer`, `developer`, `owner`. A personal access \
         token passes only when its user's roles allow the action **and** it holds the scope; \
         browser sessions hold every scope. A caller who is not a member of a project gets 404 \
         for everything in it, so that its existence does not leak; a member whose role is too \
         low gets 403.\n\n\
         ## Matrix\n\n\
         | resource | action | who | token scope |\n|---|---|---|---|\n",
    );
    for p in MATRIX {
        let _ = writeln!(
            s,
            "| {:?} | {:?} | {} | `{}` |",
            p.resource,
            p.action,
            need_text(p.need),
            p.scope
        );
    }
    s.push_str("\n## Routes\n\n| method | path | resource | action | audit event |\n|---|---|---|---|---|\n");
    for (m, path) in PUBLIC_ROUTES {
        let _ = writeln!(
            s,
            "| {m} | `{path}` | public | — | {} |",
            if *m == "POST" { "`auth.login`" } else { "—" }
        );
    }
    for r in ROUTES {
        let _ = writeln!(
            s,
            "| {} | `{}` | {:?} | {:?} | {} |",
            r.method,
            r.path,
            r.resource,
            r.action,
            if !r.audited() {
                "—".to_string()
            } else {
                format!("`{}`", r.event)
            }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_lists_the_declared_ones_with_head_after_get() {
        assert_eq!(methods("/healthz"), ["GET", "HEAD"]);
        assert_eq!(methods("/api/v1/auth/login"), ["POST"]);
        let m = methods("/api/v1/projects/{project_id}");
        for want in ["GET", "HEAD", "PATCH", "DELETE"] {
            assert!(m.contains(&want), "{m:?} lacks {want}");
        }
        assert!(methods("/api/v1/no-such-route").is_empty());
    }

    #[test]
    fn every_route_has_a_matrix_cell_and_routes_are_unique() {
        for r in ROUTES {
            assert!(
                permission(r.resource, r.action).is_some(),
                "{} {} has no matrix cell",
                r.method,
                r.path
            );
            let project_scoped =
                r.path.contains("{project_id}") || r.path.contains("{instance_id}");
            let need = permission(r.resource, r.action).unwrap().need;
            assert_eq!(
                matches!(need, Need::Project(_)),
                project_scoped,
                "{} {}: project roles apply exactly to routes that name a project",
                r.method,
                r.path
            );
            assert_eq!(
                ROUTES
                    .iter()
                    .filter(|o| o.method == r.method && o.path == r.path)
                    .count(),
                1
            );
        }
        let list = route("GET", "/api/v1/projects").unwrap();
        assert_eq!(list.resource, Resource::Project);
    }

    #[test]
    fn docs_are_generated_from_the_tables() {
        let md = markdown();
        assert!(md.contains("| Datasource | Create | project developer+ | `write` |"));
        assert!(md.contains("| POST | `/api/v1/instances/{instance_id}/cancel` | Instance | Operate | `instance.cancel` |"));
        let committed = include_str!("../../../docs/permissions.md");
        assert_eq!(
            committed, md,
            "docs/permissions.md is stale: run `cargo run -- permissions > docs/permissions.md`"
        );
    }
}
