//! Stored Responses API objects: which channel created a response id and which user owns
//! it. Only responses an upstream keeps (`store` not false, on a pass-through channel)
//! are recorded; the response itself stays with the upstream.

use super::sql::Query;
use super::sql_store::SqlStore;
use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseOwner {
    pub channel_id: i64,
    pub user_id: i64,
}

#[async_trait]
pub trait ResponseStore {
    /// Records a new id; an id seen before keeps its first owner.
    async fn record_response(&self, id: &str, owner: ResponseOwner) -> StoreResult<()>;
    async fn response_owner(&self, id: &str) -> StoreResult<Option<ResponseOwner>>;
    async fn forget_response(&self, id: &str) -> StoreResult<()>;
}

#[async_trait]
impl ResponseStore for SqlStore {
    async fn record_response(&self, id: &str, owner: ResponseOwner) -> StoreResult<()> {
        let q = Query::new(
            "INSERT INTO response_owners (response_id, channel_id, user_id, created_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (response_id) DO NOTHING",
        )
        .bind(id)
        .bind(owner.channel_id)
        .bind(owner.user_id)
        .bind(crate::util::now());
        self.db.execute(q).await?;
        Ok(())
    }

    async fn response_owner(&self, id: &str) -> StoreResult<Option<ResponseOwner>> {
        let q = Query::new("SELECT channel_id, user_id FROM response_owners WHERE response_id = ?")
            .bind(id);
        Ok(self.db.fetch_optional(q).await?.map(|r| ResponseOwner {
            channel_id: r.i64("channel_id"),
            user_id: r.i64("user_id"),
        }))
    }

    async fn forget_response(&self, id: &str) -> StoreResult<()> {
        let q = Query::new("DELETE FROM response_owners WHERE response_id = ?").bind(id);
        self.db.execute(q).await?;
        Ok(())
    }
}
