//! Tokens (`sk-` API keys) table.

use super::limits::{limits_from_row, Limits, LimitsPatch, LIMIT_COLUMNS};
use super::sql::{like_pattern, Query, Row};
use super::sql_store::{Page, SqlStore};
use super::{json_list, Paged, StoreResult, Token};
use async_trait::async_trait;

pub struct NewToken {
    pub user_id: i64,
    pub name: String,
    pub key_hash: String,
    pub key_prefix: String,
    pub remain_quota: i64,
    pub unlimited_quota: bool,
    pub expired_at: Option<i64>,
    pub models: Vec<String>,
    pub allow_ips: Vec<String>,
    pub limits: Limits,
}

#[derive(Default)]
pub struct TokenPatch {
    pub name: Option<String>,
    pub status: Option<i64>,
    pub remain_quota: Option<i64>,
    pub unlimited_quota: Option<bool>,
    /// `Some(None)` clears the expiry.
    pub expired_at: Option<Option<i64>>,
    pub models: Option<Vec<String>>,
    pub allow_ips: Option<Vec<String>>,
    pub limits: LimitsPatch,
}

#[async_trait]
pub trait TokenStore {
    async fn create_token(&self, t: NewToken) -> StoreResult<Token>;
    async fn token_by_id(&self, id: i64) -> StoreResult<Option<Token>>;
    async fn token_by_hash(&self, key_hash: &str) -> StoreResult<Option<Token>>;
    async fn list_tokens(
        &self,
        user_id: i64,
        keyword: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<Token>>;
    /// Updates a token only when it belongs to `user_id`.
    async fn update_token(
        &self,
        id: i64,
        user_id: i64,
        patch: TokenPatch,
    ) -> StoreResult<Option<Token>>;
    async fn delete_token(&self, id: i64, user_id: i64) -> StoreResult<bool>;
}

pub(crate) fn token_from_row(r: &Row) -> Token {
    Token {
        id: r.i64("id"),
        user_id: r.i64("user_id"),
        name: r.string("name"),
        key_hash: r.string("key_hash"),
        key_prefix: r.string("key_prefix"),
        status: r.i64("status"),
        remain_quota: r.i64("remain_quota"),
        used_quota: r.i64("used_quota"),
        unlimited_quota: r.bool("unlimited_quota"),
        expired_at: r.opt_i64("expired_at"),
        models: json_list(&r.string("models")),
        allow_ips: json_list(&r.string("allow_ips")),
        limits: limits_from_row(r),
        request_count: r.i64("request_count"),
        created_at: r.i64("created_at"),
        last_used_at: r.opt_i64("last_used_at"),
    }
}

fn token_columns() -> String {
    format!(
        "id, user_id, name, key_hash, key_prefix, status, remain_quota, used_quota, \
         unlimited_quota, expired_at, models, allow_ips, {LIMIT_COLUMNS}, request_count, \
         created_at, last_used_at"
    )
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, t: NewToken) -> StoreResult<Token> {
        let q = Query::new(&format!(
            "INSERT INTO tokens (user_id, name, key_hash, key_prefix, status, remain_quota, \
             unlimited_quota, expired_at, models, allow_ips, created_at, {LIMIT_COLUMNS}) \
             VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {}",
            token_columns()
        ))
        .bind(t.user_id)
        .bind(t.name)
        .bind(t.key_hash)
        .bind(t.key_prefix)
        .bind(t.remain_quota)
        .bind(t.unlimited_quota)
        .bind(t.expired_at)
        .bind(to_json(&t.models))
        .bind(to_json(&t.allow_ips))
        .bind(crate::util::now());
        let q = t.limits.bind_all(q);
        self.db
            .fetch_optional(q)
            .await?
            .map(|r| token_from_row(&r))
            .ok_or_else(|| super::DbError::Other("insert returned no row".into()))
    }

    async fn token_by_id(&self, id: i64) -> StoreResult<Option<Token>> {
        let q = Query::new(&format!(
            "SELECT {} FROM tokens WHERE id = ?",
            token_columns()
        ))
        .bind(id);
        Ok(self.db.fetch_optional(q).await?.map(|r| token_from_row(&r)))
    }

    async fn token_by_hash(&self, key_hash: &str) -> StoreResult<Option<Token>> {
        let q = Query::new(&format!(
            "SELECT {} FROM tokens WHERE key_hash = ?",
            token_columns()
        ))
        .bind(key_hash);
        Ok(self.db.fetch_optional(q).await?.map(|r| token_from_row(&r)))
    }

    async fn list_tokens(
        &self,
        user_id: i64,
        keyword: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<Token>> {
        let mut filter = Query::new(" FROM tokens WHERE user_id = ");
        filter.push_bind(user_id);
        if let Some(k) = keyword.filter(|k| !k.is_empty()) {
            filter
                .push(" AND LOWER(name) LIKE ")
                .push_bind(like_pattern(&k.to_lowercase()));
            filter.push(" ESCAPE '\\'");
        }
        self.paged(&token_columns(), filter, "id DESC", page, token_from_row)
            .await
    }

    async fn update_token(
        &self,
        id: i64,
        user_id: i64,
        p: TokenPatch,
    ) -> StoreResult<Option<Token>> {
        let mut q = Query::new("UPDATE tokens SET id = id");
        if let Some(v) = p.name {
            q.push(", name = ").push_bind(v);
        }
        if let Some(v) = p.status {
            q.push(", status = ").push_bind(v);
        }
        if let Some(v) = p.remain_quota {
            q.push(", remain_quota = ").push_bind(v);
        }
        if let Some(v) = p.unlimited_quota {
            q.push(", unlimited_quota = ").push_bind(v);
        }
        if let Some(v) = p.expired_at {
            q.push(", expired_at = ").push_bind(v);
        }
        if let Some(v) = p.models {
            q.push(", models = ").push_bind(to_json(&v));
        }
        if let Some(v) = p.allow_ips {
            q.push(", allow_ips = ").push_bind(to_json(&v));
        }
        p.limits.push_sets(&mut q);
        q.push(" WHERE id = ")
            .push_bind(id)
            .push(" AND user_id = ")
            .push_bind(user_id);
        q.push(&format!(" RETURNING {}", token_columns()));
        Ok(self.db.fetch_optional(q).await?.map(|r| token_from_row(&r)))
    }

    async fn delete_token(&self, id: i64, user_id: i64) -> StoreResult<bool> {
        let q = Query::new("DELETE FROM tokens WHERE id = ? AND user_id = ?")
            .bind(id)
            .bind(user_id);
        Ok(self.db.execute(q).await? > 0)
    }
}
