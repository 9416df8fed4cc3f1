use crate::error::on_unique;
use crate::{new_id, now_ms, Page, PageRequest, Project, Result, Row, Store, StoreError};
use sqlx::Row as _;

fn project(r: &Row) -> Result<Project> {
    Ok(Project {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Creates a project.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_project(&self, name: &str, description: &str) -> Result<Project> {
        let now = now_ms();
        let p = Project {
            id: new_id(),
            name: name.into(),
            description: description.into(),
            created_at: now,
            updated_at: now,
        };
        sqlx::query("INSERT INTO projects (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(&p.description)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| on_unique(e, || format!("a project named '{name}' already exists")))?;
        Ok(p)
    }

    /// Lists projects by name.
    pub async fn list_projects(&self, page: PageRequest) -> Result<Page<Project>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects")
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query("SELECT * FROM projects ORDER BY name LIMIT $1 OFFSET $2")
            .bind(page.page_size)
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        Ok(Page {
            items: rows.iter().map(project).collect::<Result<_>>()?,
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One project.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_project(&self, id: &str) -> Result<Project> {
        let r = sqlx::query("SELECT * FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref()
            .map(project)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("project '{id}'")))
    }

    /// Changes name and/or description.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Conflict`] on a taken name.
    pub async fn update_project(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Project> {
        let cur = self.get_project(id).await?;
        let name = name.unwrap_or(&cur.name);
        let description = description.unwrap_or(&cur.description);
        sqlx::query(
            "UPDATE projects SET name = $1, description = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(name)
        .bind(description)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| on_unique(e, || format!("a project named '{name}' already exists")))?;
        self.get_project(id).await
    }

    /// Deletes a project and everything in it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_project(&self, id: &str) -> Result<()> {
        let n = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("project '{id}'")));
        }
        Ok(())
    }
}
