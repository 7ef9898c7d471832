//! Users table.

use super::limits::{limits_from_row, LimitsPatch, LIMIT_COLUMNS};
use super::sql::{like_pattern, Query, Row};
use super::sql_store::{Page, SqlStore};
use super::{Paged, StoreResult, User};
use async_trait::async_trait;

pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub email: String,
    pub role: i64,
    pub group: String,
    pub quota: i64,
    pub must_change_password: bool,
}

/// Fields to change; `None` leaves a field alone. A new password hash also bumps the
/// session version (old JWTs stop working) and sets `must_change_password` (default: clear).
#[derive(Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<i64>,
    pub status: Option<i64>,
    pub group: Option<String>,
    pub quota: Option<i64>,
    pub limits: LimitsPatch,
    pub bump_session: bool,
    /// With `password_hash`: whether the user must choose another at the next login.
    pub must_change_password: Option<bool>,
}

#[async_trait]
pub trait UserStore {
    async fn create_user(&self, u: NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, keyword: Option<&str>, page: Page) -> StoreResult<Paged<User>>;
    async fn update_user(&self, id: i64, patch: UserPatch) -> StoreResult<Option<User>>;
    async fn delete_user(&self, id: i64) -> StoreResult<bool>;
    async fn count_users(&self) -> StoreResult<i64>;
}

pub(crate) fn user_from_row(r: &Row) -> User {
    User {
        id: r.i64("id"),
        username: r.string("username"),
        password_hash: r.string("password_hash"),
        display_name: r.string("display_name"),
        email: r.string("email"),
        role: r.i64("role"),
        status: r.i64("status"),
        group: r.string("user_group"),
        quota: r.i64("quota"),
        used_quota: r.i64("used_quota"),
        request_count: r.i64("request_count"),
        must_change_password: r.bool("must_change_password"),
        session_version: r.i64("session_version"),
        created_at: r.i64("created_at"),
        updated_at: r.i64("updated_at"),
        limits: limits_from_row(r),
    }
}

fn user_columns() -> String {
    format!(
        "id, username, password_hash, display_name, email, role, status, user_group, quota, \
         used_quota, request_count, must_change_password, session_version, created_at, \
         updated_at, {LIMIT_COLUMNS}"
    )
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, u: NewUser) -> StoreResult<User> {
        let now = crate::util::now();
        let q = Query::new(&format!(
            "INSERT INTO users (username, password_hash, display_name, email, role, status, \
             user_group, quota, must_change_password, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) RETURNING {}",
            user_columns()
        ))
        .bind(u.username)
        .bind(u.password_hash)
        .bind(u.display_name)
        .bind(u.email)
        .bind(u.role)
        .bind(u.group)
        .bind(u.quota)
        .bind(u.must_change_password)
        .bind(now)
        .bind(now);
        let row = self.db.fetch_optional(q).await?;
        row.map(|r| user_from_row(&r))
            .ok_or_else(|| super::DbError::Other("insert returned no row".into()))
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let q = Query::new(&format!(
            "SELECT {} FROM users WHERE id = ?",
            user_columns()
        ))
        .bind(id);
        Ok(self.db.fetch_optional(q).await?.map(|r| user_from_row(&r)))
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let q = Query::new(&format!(
            "SELECT {} FROM users WHERE username = ?",
            user_columns()
        ))
        .bind(username);
        Ok(self.db.fetch_optional(q).await?.map(|r| user_from_row(&r)))
    }

    async fn list_users(&self, keyword: Option<&str>, page: Page) -> StoreResult<Paged<User>> {
        let mut filter = Query::new(" FROM users");
        if let Some(k) = keyword.filter(|k| !k.is_empty()) {
            let pat = like_pattern(&k.to_lowercase());
            filter.push(" WHERE LOWER(username) LIKE ");
            filter
                .push_bind(pat.clone())
                .push(" ESCAPE '\\' OR LOWER(display_name) LIKE ");
            filter
                .push_bind(pat.clone())
                .push(" ESCAPE '\\' OR LOWER(email) LIKE ");
            filter.push_bind(pat).push(" ESCAPE '\\'");
        }
        self.paged(&user_columns(), filter, "id", page, user_from_row)
            .await
    }

    async fn update_user(&self, id: i64, p: UserPatch) -> StoreResult<Option<User>> {
        let mut q = Query::new("UPDATE users SET updated_at = ");
        q.push_bind(crate::util::now());
        let bump =
            p.bump_session || p.password_hash.is_some() || p.status == Some(super::USER_DISABLED);
        if let Some(v) = p.display_name {
            q.push(", display_name = ").push_bind(v);
        }
        if let Some(v) = p.email {
            q.push(", email = ").push_bind(v);
        }
        if let Some(v) = p.password_hash {
            q.push(", password_hash = ")
                .push_bind(v)
                .push(", must_change_password = ")
                .push_bind(p.must_change_password.unwrap_or(false));
        }
        if let Some(v) = p.role {
            q.push(", role = ").push_bind(v);
        }
        if let Some(v) = p.status {
            q.push(", status = ").push_bind(v);
        }
        if let Some(v) = p.group {
            q.push(", user_group = ").push_bind(v);
        }
        if let Some(v) = p.quota {
            q.push(", quota = ").push_bind(v);
        }
        p.limits.push_sets(&mut q);
        if bump {
            q.push(", session_version = session_version + 1");
        }
        q.push(" WHERE id = ").push_bind(id);
        q.push(&format!(" RETURNING {}", user_columns()));
        Ok(self.db.fetch_optional(q).await?.map(|r| user_from_row(&r)))
    }

    async fn delete_user(&self, id: i64) -> StoreResult<bool> {
        // Tokens go with their user; logs stay for accounting.
        self.db
            .batch(vec![
                Query::new("DELETE FROM tokens WHERE user_id = ?").bind(id),
                Query::new("DELETE FROM users WHERE id = ?").bind(id),
            ])
            .await?;
        Ok(self.user_by_id(id).await?.is_none())
    }

    async fn count_users(&self) -> StoreResult<i64> {
        let r = self
            .db
            .fetch_optional(Query::new("SELECT COUNT(*) AS n FROM users"))
            .await?;
        Ok(r.map_or(0, |r| r.i64("n")))
    }
}
