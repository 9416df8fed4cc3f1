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
    /// Creates a project; `owner` (a user id) becomes its first owner, in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_project(
        &self,
        name: &str,
        description: &str,
        owner: Option<&str>,
    ) -> Result<Project> {
        let now = now_ms();
        let p = Project {
            id: new_id(),
            name: name.into(),
            description: description.into(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO projects (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(&p.description)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || format!("a project named '{name}' already exists")))?;
        if let Some(owner) = owner {
            sqlx::query("INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                .bind(&p.id)
                .bind(owner)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(p)
    }

    /// Lists projects by name: all of them, or with `member` (a user id) those the user is a
    /// member of.
    pub async fn list_projects(
        &self,
        page: PageRequest,
        member: Option<&str>,
    ) -> Result<Page<Project>> {
        const VISIBLE: &str =
            "($1 IS NULL OR id IN (SELECT project_id FROM project_members WHERE user_id = $1))";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM projects WHERE {VISIBLE}"))
                .bind(member)
                .fetch_one(&self.read)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM projects WHERE {VISIBLE} ORDER BY name LIMIT $2 OFFSET $3"
        ))
        .bind(member)
        .bind(page.page_size)
        .bind(page.offset())
        .fetch_all(&self.read)
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
            .fetch_optional(&self.read)
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
        .execute(&self.write)
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
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("project '{id}'")));
        }
        Ok(())
    }
}
