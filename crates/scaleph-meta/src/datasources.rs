use crate::error::on_unique;
use crate::{
    new_id, now_ms, Datasource, Page, PageRequest, ProjectTable, Result, Row, Store, StoreError,
};
use serde_json::{Map, Value};
use sqlx::Row as _;

fn datasource(r: &Row) -> Result<Datasource> {
    let props: String = r.try_get("properties")?;
    Ok(Datasource {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        properties: serde_json::from_str(&props)
            .map_err(|e| StoreError::Database(e.to_string()))?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Creates a datasource in a project.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown project, [`StoreError::Conflict`] for a taken name.
    pub async fn create_datasource(
        &self,
        project_id: &str,
        name: &str,
        kind: &str,
        properties: &Map<String, Value>,
    ) -> Result<Datasource> {
        self.get_project(project_id).await?;
        let now = now_ms();
        let d = Datasource {
            id: new_id(),
            project_id: project_id.into(),
            name: name.into(),
            kind: kind.into(),
            properties: properties.clone(),
            created_at: now,
            updated_at: now,
        };
        sqlx::query("INSERT INTO datasources (id, project_id, name, kind, properties, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&d.id)
            .bind(project_id)
            .bind(name)
            .bind(kind)
            .bind(Value::Object(properties.clone()).to_string())
            .bind(now)
            .bind(now)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("a datasource named '{name}' already exists in this project")))?;
        Ok(d)
    }

    /// Lists a project's datasources by name.
    pub async fn list_datasources(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> Result<Page<Datasource>> {
        self.list_in_project(ProjectTable::Datasources, project_id, page, datasource)
            .await
    }

    /// One datasource of a project.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_datasource(&self, project_id: &str, id: &str) -> Result<Datasource> {
        self.get_in_project(ProjectTable::Datasources, project_id, id, datasource)
            .await
    }

    /// Replaces name and properties.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Conflict`].
    pub async fn update_datasource(
        &self,
        project_id: &str,
        id: &str,
        name: &str,
        properties: &Map<String, Value>,
    ) -> Result<Datasource> {
        let n = sqlx::query("UPDATE datasources SET name = $1, properties = $2, updated_at = $3 WHERE id = $4 AND project_id = $5")
            .bind(name)
            .bind(Value::Object(properties.clone()).to_string())
            .bind(now_ms())
            .bind(id)
            .bind(project_id)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("a datasource named '{name}' already exists in this project")))?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("datasource '{id}'")));
        }
        self.get_datasource(project_id, id).await
    }

    /// Deletes a datasource.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_datasource(&self, project_id: &str, id: &str) -> Result<()> {
        self.delete_in_project(ProjectTable::Datasources, project_id, id)
            .await
    }

    /// Rewrites the properties of every datasource in one transaction: `f` returns the new
    /// properties, or `None` to leave a datasource alone. Returns how many changed.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] with `f`'s message (nothing is changed then); database errors.
    pub async fn rewrite_datasource_properties<F>(&self, mut f: F) -> Result<usize>
    where
        F: FnMut(&Datasource) -> Result<Option<Map<String, Value>>, String>,
    {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query("SELECT * FROM datasources ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        let mut changed = 0;
        for r in &rows {
            let d = datasource(r)?;
            let new = f(&d).map_err(|m| {
                StoreError::Invalid(format!("datasource '{}' ({}): {m}", d.name, d.id))
            })?;
            if let Some(props) = new {
                sqlx::query(
                    "UPDATE datasources SET properties = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(Value::Object(props).to_string())
                .bind(now_ms())
                .bind(&d.id)
                .execute(&mut *tx)
                .await?;
                changed += 1;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }
}
