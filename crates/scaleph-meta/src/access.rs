//! Users, browser sessions, personal access tokens and project membership.
//!
//! Password hashes, session ids and tokens are stored only as given by `scaleph-auth` (argon2id
//! PHC strings, SHA-256 digests); nothing here sees a plaintext credential.

use crate::error::on_unique;
use crate::{new_id, now_ms, Page, PageRequest, Result, Row, Store, StoreError};
use scaleph_auth::{PlatformRole, ProjectRole, Scope, ScopeSet};
use serde::Serialize;
use sqlx::Row as _;
use utoipa::ToSchema;

/// A user account as the API shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    /// Id (UUIDv7).
    pub id: String,
    /// Unique login name.
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// E-mail address (free text, not verified).
    pub email: String,
    /// Platform role.
    pub role: PlatformRole,
    /// Disabled users cannot sign in; their sessions and tokens stop working.
    pub enabled: bool,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last update, epoch ms.
    pub updated_at: i64,
}

/// Fields of a new user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Unique login name.
    pub username: &'a str,
    /// Name shown in the UI.
    pub display_name: &'a str,
    /// E-mail address.
    pub email: &'a str,
    /// Platform role.
    pub role: PlatformRole,
    /// argon2id PHC string.
    pub password_hash: &'a str,
}

/// Changes to a user; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New platform role.
    pub role: Option<PlatformRole>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// A personal access token's metadata (the token itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiToken {
    /// Id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Label given at creation (e.g. `cli@laptop`).
    pub name: String,
    /// First characters of the token, to recognise it (`sph_AbCd`).
    pub prefix: String,
    /// Scopes it grants.
    pub scopes: Vec<Scope>,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Expiry, epoch ms; `None` = never.
    pub expires_at: Option<i64>,
    /// Last successful use, epoch ms.
    pub last_used_at: Option<i64>,
    /// Revocation time, epoch ms; revoked tokens are refused.
    pub revoked_at: Option<i64>,
}

/// A browser session found by its id digest.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The signed-in user.
    pub user: User,
    /// Anti-CSRF token the client must echo on unsafe methods.
    pub csrf_token: String,
    /// Expiry, epoch ms.
    pub expires_at: i64,
}

/// A member of a project.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Member {
    /// User id.
    pub user_id: String,
    /// User name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role in the project.
    pub role: ProjectRole,
    /// Since when, epoch ms.
    pub created_at: i64,
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Database(format!("unknown {what} '{v}' in store"))
}

fn user(r: &Row) -> Result<User> {
    let role: String = r.try_get("role")?;
    let enabled: i64 = r.try_get("enabled")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        role: PlatformRole::parse(&role).ok_or_else(|| corrupt("platform role", &role))?,
        enabled: enabled != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn token(r: &Row) -> Result<ApiToken> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiToken {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        scopes: ScopeSet::parse(&scopes)
            .map_err(StoreError::Database)?
            .iter()
            .collect(),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const USER_COLS: &str =
    "u.id, u.username, u.display_name, u.email, u.role, u.enabled, u.created_at, u.updated_at";

impl Store {
    /// Number of users (0 on a fresh database: the server then creates `admin`).
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?)
    }

    /// Number of enabled platform admins.
    pub async fn count_enabled_admins(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND enabled = 1")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Creates a user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    pub async fn create_user(&self, u: NewUser<'_>) -> Result<User> {
        let now = now_ms();
        let id = new_id();
        sqlx::query("INSERT INTO users (id, username, display_name, email, role, enabled, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)")
            .bind(&id)
            .bind(u.username)
            .bind(u.display_name)
            .bind(u.email)
            .bind(u.role.as_str())
            .bind(u.password_hash)
            .bind(now)
            .bind(now)
            .execute(&self.write)
            .await
            .map_err(|e| on_unique(e, || format!("a user named '{}' already exists", u.username)))?;
        self.get_user(&id).await
    }

    /// Users by name.
    pub async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users u ORDER BY u.username LIMIT $1 OFFSET $2"
        ))
        .bind(page.page_size)
        .bind(page.offset())
        .fetch_all(&self.read)
        .await?;
        Ok(Page {
            items: rows.iter().map(user).collect::<Result<_>>()?,
            total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    /// One user by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_user(&self, id: &str) -> Result<User> {
        let r = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(user)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("user '{id}'")))
    }

    /// A user by login name, with the stored password hash; `None` when unknown.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>> {
        let r = sqlx::query(&format!(
            "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.read)
        .await?;
        r.map(|r| Ok((user(&r)?, r.try_get("password_hash")?)))
            .transpose()
    }

    /// Changes profile, role or enabled flag. Disabling a user or changing the role ends the
    /// user's browser sessions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn update_user(&self, id: &str, p: &UserPatch) -> Result<User> {
        let cur = self.get_user(id).await?;
        let role = p.role.unwrap_or(cur.role);
        let enabled = p.enabled.unwrap_or(cur.enabled);
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET display_name = $1, email = $2, role = $3, enabled = $4, updated_at = $5 WHERE id = $6")
            .bind(p.display_name.as_deref().unwrap_or(&cur.display_name))
            .bind(p.email.as_deref().unwrap_or(&cur.email))
            .bind(role.as_str())
            .bind(i64::from(enabled))
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if !enabled || role != cur.role {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_user(id).await
    }

    /// Replaces the password hash and ends the user's browser sessions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn set_password(&self, id: &str, password_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{id}'")));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a browser session (by the digest of its id) until `expires_at` (epoch ms).
    pub async fn create_session(
        &self,
        id_digest: &str,
        user_id: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        sqlx::query("INSERT INTO sessions (id_digest, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_digest)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The unexpired session with this id digest.
    pub async fn session(&self, id_digest: &str) -> Result<Option<SessionRow>> {
        let r = sqlx::query(&format!(
            "SELECT {USER_COLS}, s.csrf_token, s.expires_at AS s_expires FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_digest = $1 AND s.expires_at > $2"
        ))
        .bind(id_digest)
        .bind(now_ms())
        .fetch_optional(&self.read)
        .await?;
        r.map(|r| {
            Ok(SessionRow {
                user: user(&r)?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("s_expires")?,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_digest = $1")
            .bind(id_digest)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Stores a new token (by digest) for `user_id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown user.
    pub async fn create_token(
        &self,
        user_id: &str,
        name: &str,
        digest: &str,
        prefix: &str,
        scopes: ScopeSet,
        expires_at: Option<i64>,
    ) -> Result<ApiToken> {
        self.get_user(user_id).await?;
        let id = new_id();
        sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_digest, prefix, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(user_id)
            .bind(name)
            .bind(digest)
            .bind(prefix)
            .bind(scopes.to_string())
            .bind(now_ms())
            .bind(expires_at)
            .execute(&self.write)
            .await?;
        self.get_token(user_id, &id).await
    }

    /// One of a user's tokens.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user has no such token.
    pub async fn get_token(&self, user_id: &str, id: &str) -> Result<ApiToken> {
        let r = sqlx::query("SELECT * FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref()
            .map(token)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("token '{id}'")))
    }

    /// A token by digest with its user, whatever its state (the caller checks expiry and
    /// revocation, to say which applies).
    pub async fn token_by_digest(&self, digest: &str) -> Result<Option<(ApiToken, User)>> {
        let r = sqlx::query("SELECT * FROM api_tokens WHERE token_digest = $1")
            .bind(digest)
            .fetch_optional(&self.read)
            .await?;
        let Some(r) = r else { return Ok(None) };
        let t = token(&r)?;
        let u = self.get_user(&t.user_id).await?;
        Ok(Some((t, u)))
    }

    /// Records a use of a token at `at` (epoch ms).
    pub async fn touch_token(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A user's tokens, newest first (revoked ones included, marked).
    pub async fn list_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(token).collect()
    }

    /// Revokes one of a user's tokens (idempotent: keeps the first revocation time).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user has no such token.
    pub async fn revoke_token(&self, user_id: &str, id: &str) -> Result<ApiToken> {
        let n = sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3")
            .bind(now_ms())
            .bind(id)
            .bind(user_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("token '{id}'")));
        }
        self.get_token(user_id, id).await
    }

    /// The user's role in the project; `None` when not a member (or no such project).
    pub async fn member_role(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<Option<ProjectRole>> {
        let r: Option<String> = sqlx::query_scalar(
            "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        r.map(|r| ProjectRole::parse(&r).ok_or_else(|| corrupt("project role", &r)))
            .transpose()
    }

    /// The project's members by user name.
    pub async fn list_members(&self, project_id: &str) -> Result<Vec<Member>> {
        self.get_project(project_id).await?;
        let rows = sqlx::query("SELECT m.user_id, u.username, u.display_name, m.role, m.created_at FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.username")
            .bind(project_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(Member {
                    user_id: r.try_get("user_id")?,
                    username: r.try_get("username")?,
                    display_name: r.try_get("display_name")?,
                    role: ProjectRole::parse(&role)
                        .ok_or_else(|| corrupt("project role", &role))?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Adds a member or changes their role. A project keeps at least one owner.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown project or user; [`StoreError::Conflict`] when
    /// this would demote the last owner.
    pub async fn set_member(
        &self,
        project_id: &str,
        user_id: &str,
        role: ProjectRole,
    ) -> Result<Member> {
        self.get_project(project_id).await?;
        self.get_user(user_id).await?;
        let mut tx = self.begin_write().await?;
        if role != ProjectRole::Owner {
            last_owner_guard(&mut tx, project_id, user_id).await?;
        }
        sqlx::query("INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role")
            .bind(project_id)
            .bind(user_id)
            .bind(role.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.list_members(project_id)
            .await?
            .into_iter()
            .find(|m| m.user_id == user_id)
            .ok_or_else(|| StoreError::NotFound(format!("member '{user_id}'")))
    }

    /// Removes a member. A project keeps at least one owner.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when not a member; [`StoreError::Conflict`] for the last owner.
    pub async fn remove_member(&self, project_id: &str, user_id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        last_owner_guard(&mut tx, project_id, user_id).await?;
        let n = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("member '{user_id}'")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The project an instance belongs to; `None` when there is no such instance.
    pub async fn instance_project(&self, instance_id: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT j.project_id FROM job_instances i JOIN jobs j ON j.id = i.job_id WHERE i.id = $1",
        )
        .bind(instance_id)
        .fetch_optional(&self.read)
        .await?)
    }
}

/// Refuses when `user_id` is the project's only owner.
async fn last_owner_guard(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    project_id: &str,
    user_id: &str,
) -> Result<()> {
    let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM project_members WHERE project_id = $1 AND role = 'owner' AND user_id <> $2")
        .bind(project_id)
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    let is_owner: Option<String> = sqlx::query_scalar(
        "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2 AND role = 'owner'",
    )
    .bind(project_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    if is_owner.is_some() && others == 0 {
        return Err(StoreError::Conflict(
            "a project needs at least one owner: add another owner first".into(),
        ));
    }
    Ok(())
}
