//! Jar artifacts of a project (the files live under the data dir; rows hold name, version and
//! checksum).

use crate::{new_id, now_ms, Artifact, Result, Row, Store, StoreError};
use sqlx::Row as _;

fn artifact(r: &Row) -> Result<Artifact> {
    Ok(Artifact {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Records a new version of artifact `name` (1 + the latest), atomically.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown project.
    pub async fn create_artifact(
        &self,
        project_id: &str,
        name: &str,
        sha256: &str,
        size: i64,
    ) -> Result<Artifact> {
        self.get_project(project_id).await?;
        let id = new_id();
        let mut tx = self.begin_write().await?;
        let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO artifacts (id, project_id, name, version, sha256, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(project_id)
            .bind(name)
            .bind(version)
            .bind(sha256)
            .bind(size)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_artifact(project_id, &id).await
    }

    /// A project's artifacts by name, newest version first.
    pub async fn list_artifacts(&self, project_id: &str) -> Result<Vec<Artifact>> {
        self.get_project(project_id).await?;
        let rows = sqlx::query(
            "SELECT * FROM artifacts WHERE project_id = $1 ORDER BY name, version DESC",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(artifact).collect()
    }

    /// One artifact of a project.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_artifact(&self, project_id: &str, id: &str) -> Result<Artifact> {
        let r = sqlx::query("SELECT * FROM artifacts WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(artifact)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("artifact '{id}'")))
    }

    /// Sets or clears a job's automatic restart policy.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn set_restart_policy(
        &self,
        project_id: &str,
        job_id: &str,
        policy: Option<crate::RestartPolicy>,
    ) -> Result<()> {
        let n =
            sqlx::query("UPDATE jobs SET restart_policy = $1 WHERE id = $2 AND project_id = $3")
                .bind(policy.map(|p| serde_json::to_string(&p).expect("serializable")))
                .bind(job_id)
                .bind(project_id)
                .execute(&self.write)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("job '{job_id}'")));
        }
        Ok(())
    }
}
