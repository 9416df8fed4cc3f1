//! Engine clusters (Flink session clusters) and savepoints of Flink jobs.

use crate::error::on_unique;
use crate::{new_id, now_ms, Result, Row, Store, StoreError};
use serde::Serialize;
use sqlx::Row as _;
use utoipa::ToSchema;

/// A registered cluster. `auth_header` is stored sealed and never shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cluster {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `flink-session`.
    pub kind: String,
    /// JobManager REST URL, e.g. `http://jm:8081`.
    pub rest_url: String,
    /// Default savepoint directory (`file:///…`, `s3://…`); `None` = the cluster's default.
    pub savepoint_dir: Option<String>,
    /// Whether an Authorization header is configured (the value is never shown).
    pub has_auth_header: bool,
    /// Flink version read from the cluster.
    pub flink_version: Option<String>,
    /// `UP`, `UNREACHABLE` or `UNKNOWN` (not checked yet).
    pub health: String,
    /// Why it is unreachable.
    pub health_reason: Option<String>,
    /// Since when the health has been what it is, epoch ms.
    pub health_since: Option<i64>,
    /// Last check, epoch ms.
    pub checked_at: Option<i64>,
    /// Creation time, epoch ms.
    pub created_at: i64,
}

/// What the store keeps of a cluster beyond [`Cluster`].
#[derive(Debug, Clone)]
pub struct ClusterSecrets {
    /// Sealed Authorization header value.
    pub auth_header: Option<String>,
    /// Flink jar id of the uploaded SQL runner.
    pub runner_jar_id: Option<String>,
    /// SHA-256 of the runner jar uploaded.
    pub runner_digest: Option<String>,
}

/// A savepoint (or a stop-with-savepoint) of a job instance.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Savepoint {
    /// Id.
    pub id: String,
    /// Job.
    pub job_id: String,
    /// Instance it was taken from.
    pub instance_id: String,
    /// Cluster.
    pub cluster_id: String,
    /// `savepoint` (triggered), `stop` (stop with savepoint), `restart`.
    pub trigger_kind: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, `DISPOSED`.
    pub status: String,
    /// Location once completed.
    pub path: Option<String>,
    /// Flink's error when failed.
    pub error: Option<String>,
    /// Trigger time, epoch ms.
    pub created_at: i64,
    /// Completion time, epoch ms.
    pub completed_at: Option<i64>,
}

fn cluster(r: &Row) -> Result<Cluster> {
    let auth: Option<String> = r.try_get("auth_header")?;
    Ok(Cluster {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        rest_url: r.try_get("rest_url")?,
        savepoint_dir: r.try_get("savepoint_dir")?,
        has_auth_header: auth.is_some(),
        flink_version: r.try_get("flink_version")?,
        health: r.try_get("health")?,
        health_reason: r.try_get("health_reason")?,
        health_since: r.try_get("health_since")?,
        checked_at: r.try_get("checked_at")?,
        created_at: r.try_get("created_at")?,
    })
}

fn savepoint(r: &Row) -> Result<Savepoint> {
    Ok(Savepoint {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        instance_id: r.try_get("instance_id")?,
        cluster_id: r.try_get("cluster_id")?,
        trigger_kind: r.try_get("trigger_kind")?,
        status: r.try_get("status")?,
        path: r.try_get("path")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

impl Store {
    /// Registers a cluster.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_cluster(
        &self,
        name: &str,
        kind: &str,
        rest_url: &str,
        savepoint_dir: Option<&str>,
        sealed_auth_header: Option<&str>,
    ) -> Result<Cluster> {
        let id = new_id();
        let now = now_ms();
        sqlx::query("INSERT INTO clusters (id, name, kind, rest_url, savepoint_dir, auth_header, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(name)
            .bind(kind)
            .bind(rest_url)
            .bind(savepoint_dir)
            .bind(sealed_auth_header)
            .bind(now)
            .bind(now)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("a cluster named '{name}' already exists")))?;
        self.get_cluster(&id).await
    }

    /// All clusters by name.
    pub async fn list_clusters(&self) -> Result<Vec<Cluster>> {
        let rows = sqlx::query("SELECT * FROM clusters ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(cluster).collect()
    }

    /// One cluster.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_cluster(&self, id: &str) -> Result<Cluster> {
        let r = sqlx::query("SELECT * FROM clusters WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(cluster)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("cluster '{id}'")))
    }

    /// The sealed header and runner upload state of a cluster.
    pub async fn cluster_secrets(&self, id: &str) -> Result<ClusterSecrets> {
        let r = sqlx::query(
            "SELECT auth_header, runner_jar_id, runner_digest FROM clusters WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("cluster '{id}'")))?;
        Ok(ClusterSecrets {
            auth_header: r.try_get("auth_header")?,
            runner_jar_id: r.try_get("runner_jar_id")?,
            runner_digest: r.try_get("runner_digest")?,
        })
    }

    /// Deletes a cluster no job uses.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] while jobs use it.
    pub async fn delete_cluster(&self, id: &str) -> Result<()> {
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE cluster_id = $1")
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        if users > 0 {
            return Err(StoreError::Conflict(format!(
                "{users} job(s) use this cluster: move or delete them first"
            )));
        }
        let n = sqlx::query("DELETE FROM clusters WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("cluster '{id}'")));
        }
        Ok(())
    }

    /// Records a health check: `health` (`UP` / `UNREACHABLE`), why, and the version seen.
    /// `health_since` changes only when the health does.
    pub async fn set_cluster_health(
        &self,
        id: &str,
        health: &str,
        reason: Option<&str>,
        version: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query("UPDATE clusters SET health_since = CASE WHEN health = $1 AND health_since IS NOT NULL THEN health_since ELSE $2 END, health = $1, health_reason = $3, checked_at = $2, flink_version = COALESCE($4, flink_version) WHERE id = $5")
            .bind(health)
            .bind(now)
            .bind(reason)
            .bind(version)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records the SQL runner jar uploaded to a cluster.
    pub async fn set_runner_jar(&self, id: &str, jar_id: &str, digest: &str) -> Result<()> {
        sqlx::query("UPDATE clusters SET runner_jar_id = $1, runner_digest = $2 WHERE id = $3")
            .bind(jar_id)
            .bind(digest)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Starts a savepoint record in `IN_PROGRESS`.
    pub async fn create_savepoint(
        &self,
        job_id: &str,
        instance_id: &str,
        cluster_id: &str,
        kind: &str,
    ) -> Result<Savepoint> {
        let id = new_id();
        sqlx::query("INSERT INTO savepoints (id, job_id, instance_id, cluster_id, trigger_kind, status, created_at) VALUES ($1, $2, $3, $4, $5, 'IN_PROGRESS', $6)")
            .bind(&id)
            .bind(job_id)
            .bind(instance_id)
            .bind(cluster_id)
            .bind(kind)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        self.get_savepoint(job_id, &id).await
    }

    /// Ends a savepoint record: `COMPLETED` with `path`, `FAILED` with `error`, or `DISPOSED`.
    pub async fn finish_savepoint(
        &self,
        id: &str,
        status: &str,
        path: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE savepoints SET status = $1, path = COALESCE($2, path), error = $3, completed_at = COALESCE(completed_at, $4) WHERE id = $5")
            .bind(status)
            .bind(path)
            .bind(error)
            .bind(now_ms())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A job's savepoints, newest first.
    pub async fn list_savepoints(&self, job_id: &str) -> Result<Vec<Savepoint>> {
        let rows = sqlx::query(
            "SELECT * FROM savepoints WHERE job_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(job_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(savepoint).collect()
    }

    /// One savepoint of a job.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_savepoint(&self, job_id: &str, id: &str) -> Result<Savepoint> {
        let r = sqlx::query("SELECT * FROM savepoints WHERE id = $1 AND job_id = $2")
            .bind(id)
            .bind(job_id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(savepoint)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("savepoint '{id}'")))
    }
}
