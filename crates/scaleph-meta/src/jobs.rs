use crate::error::on_unique;
use crate::{
    new_id, now_ms, JarSpec, Job, JobVersion, Page, PageRequest, ProjectTable, RestartPolicy,
    Result, Row, Store, StoreError,
};
use scaleph_engine::{EngineKind, JobSettings};
use sqlx::Row as _;

fn job(r: &Row) -> Result<Job> {
    let engine: String = r.try_get("engine")?;
    let settings: String = r.try_get("settings")?;
    Ok(Job {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        engine: EngineKind::parse(&engine)
            .ok_or_else(|| StoreError::Database(format!("unknown engine '{engine}'")))?,
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Database(e.to_string()))?,
        current_version: r.try_get("current_version")?,
        cluster_id: r.try_get("cluster_id")?,
        jar: json_col(r, "jar_spec")?,
        restart_policy: json_col(r, "restart_policy")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn version(r: &Row) -> Result<JobVersion> {
    Ok(JobVersion {
        job_id: r.try_get("job_id")?,
        version: r.try_get("version")?,
        script: r.try_get("script")?,
        message: r.try_get("message")?,
        created_at: r.try_get("created_at")?,
    })
}

fn json_col<T: serde::de::DeserializeOwned>(r: &Row, col: &str) -> Result<Option<T>> {
    let v: Option<String> = r.try_get(col)?;
    v.map(|v| serde_json::from_str(&v).map_err(|e| StoreError::Database(format!("{col}: {e}"))))
        .transpose()
}

fn opt_json<T: serde::Serialize>(v: Option<&T>) -> Option<String> {
    v.map(|v| serde_json::to_string(v).expect("serializable"))
}

fn settings_json(s: &JobSettings) -> String {
    serde_json::to_string(s).expect("settings serialize")
}

/// Fields of a new job.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    /// Unique within the project.
    pub name: &'a str,
    /// Engine.
    pub engine: EngineKind,
    /// Cluster (engine `flink`).
    pub cluster_id: Option<&'a str>,
    /// Settings.
    pub settings: &'a JobSettings,
    /// Script of version 1.
    pub script: &'a str,
    /// Message of version 1.
    pub message: &'a str,
    /// Jar jobs: what to run.
    pub jar: Option<&'a JarSpec>,
    /// Automatic restart.
    pub restart_policy: Option<RestartPolicy>,
}

impl Store {
    /// Creates a job with its first script version (version 1), atomically.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown project, [`StoreError::Conflict`] for a taken name.
    pub async fn create_job(&self, project_id: &str, new: NewJob<'_>) -> Result<Job> {
        let NewJob {
            name,
            engine,
            cluster_id,
            settings,
            script,
            message,
            jar,
            restart_policy,
        } = new;
        self.get_project(project_id).await?;
        let now = now_ms();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO jobs (id, project_id, name, engine, settings, current_version, created_at, updated_at, cluster_id, jar_spec, restart_policy) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10)")
            .bind(&id)
            .bind(project_id)
            .bind(name)
            .bind(engine.as_str())
            .bind(settings_json(settings))
            .bind(now)
            .bind(now)
            .bind(cluster_id)
            .bind(opt_json(jar))
            .bind(opt_json(restart_policy.as_ref()))
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || format!("a job named '{name}' already exists in this project")))?;
        sqlx::query("INSERT INTO job_versions (job_id, version, script, message, created_at) VALUES ($1, 1, $2, $3, $4)")
            .bind(&id)
            .bind(script)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_job(project_id, &id).await
    }

    /// Lists a project's jobs by name.
    pub async fn list_jobs(&self, project_id: &str, page: PageRequest) -> Result<Page<Job>> {
        self.list_in_project(ProjectTable::Jobs, project_id, page, job)
            .await
    }

    /// One job of a project.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_job(&self, project_id: &str, id: &str) -> Result<Job> {
        self.get_in_project(ProjectTable::Jobs, project_id, id, job)
            .await
    }

    /// The job an instance ran, whatever its project (recovery at start-up).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn job_by_id(&self, id: &str) -> Result<Job> {
        let r = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(job)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("job '{id}'")))
    }

    /// Changes name, engine and settings (not the script: see [`Store::save_version`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Conflict`].
    pub async fn update_job(
        &self,
        project_id: &str,
        id: &str,
        name: &str,
        engine: EngineKind,
        cluster_id: Option<&str>,
        settings: &JobSettings,
    ) -> Result<Job> {
        let n = sqlx::query("UPDATE jobs SET name = $1, engine = $2, settings = $3, updated_at = $4, cluster_id = $7 WHERE id = $5 AND project_id = $6")
            .bind(name)
            .bind(engine.as_str())
            .bind(settings_json(settings))
            .bind(now_ms())
            .bind(id)
            .bind(project_id)
            .bind(cluster_id)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("a job named '{name}' already exists in this project")))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("job '{id}'")));
        }
        self.get_job(project_id, id).await
    }

    /// Deletes a job with its versions and instances.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_job(&self, project_id: &str, id: &str) -> Result<()> {
        self.delete_in_project(ProjectTable::Jobs, project_id, id)
            .await
    }

    /// Saves a new immutable script version and makes it current, atomically.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] if another save raced this one.
    pub async fn save_version(
        &self,
        project_id: &str,
        job_id: &str,
        script: &str,
        message: &str,
    ) -> Result<JobVersion> {
        let mut tx = self.begin_write().await?;
        let cur: Option<i64> = sqlx::query_scalar(
            "SELECT current_version FROM jobs WHERE id = $1 AND project_id = $2",
        )
        .bind(job_id)
        .bind(project_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(cur) = cur else {
            return Err(StoreError::NotFound(format!("job '{job_id}'")));
        };
        let max: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM job_versions WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_one(&mut *tx)
        .await?;
        let v = JobVersion {
            job_id: job_id.into(),
            version: max.max(cur) + 1,
            script: script.into(),
            message: message.into(),
            created_at: now_ms(),
        };
        sqlx::query("INSERT INTO job_versions (job_id, version, script, message, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(job_id)
            .bind(v.version)
            .bind(script)
            .bind(message)
            .bind(v.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || "the job was saved concurrently; retry".into()))?;
        sqlx::query("UPDATE jobs SET current_version = $1, updated_at = $2 WHERE id = $3")
            .bind(v.version)
            .bind(v.created_at)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// All versions of a job, newest first.
    pub async fn list_versions(&self, project_id: &str, job_id: &str) -> Result<Vec<JobVersion>> {
        self.get_job(project_id, job_id).await?;
        let rows =
            sqlx::query("SELECT * FROM job_versions WHERE job_id = $1 ORDER BY version DESC")
                .bind(job_id)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(version).collect()
    }

    /// One version.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_version(&self, job_id: &str, v: i64) -> Result<JobVersion> {
        let r = sqlx::query("SELECT * FROM job_versions WHERE job_id = $1 AND version = $2")
            .bind(job_id)
            .bind(v)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(version)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("version {v} of job '{job_id}'")))
    }
}
