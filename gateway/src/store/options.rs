//! Options table: key → JSON text.

use super::sql::Query;
use super::sql_store::SqlStore;
use super::StoreResult;
use async_trait::async_trait;
use std::collections::HashMap;

#[async_trait]
pub trait OptionStore {
    async fn all_options(&self) -> StoreResult<HashMap<String, String>>;
    /// Writes every pair atomically (all or none).
    async fn set_options(&self, pairs: Vec<(String, String)>) -> StoreResult<()>;
    /// Inserts defaults without overwriting what an operator already set.
    async fn seed_options(&self, pairs: Vec<(String, String)>) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
impl OptionStore for SqlStore {
    async fn all_options(&self) -> StoreResult<HashMap<String, String>> {
        let rows = self
            .db
            .fetch_all(Query::new("SELECT key, value FROM options"))
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.string("key"), r.string("value")))
            .collect())
    }

    async fn set_options(&self, pairs: Vec<(String, String)>) -> StoreResult<()> {
        let qs = pairs
            .into_iter()
            .map(|(k, v)| {
                Query::new(
                    "INSERT INTO options (key, value) VALUES (?, ?) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(k)
                .bind(v)
            })
            .collect();
        self.db.batch(qs).await
    }

    async fn seed_options(&self, pairs: Vec<(String, String)>) -> StoreResult<()> {
        let qs = pairs
            .into_iter()
            .map(|(k, v)| {
                Query::new(
                    "INSERT INTO options (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                )
                .bind(k)
                .bind(v)
            })
            .collect();
        self.db.batch(qs).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db
            .fetch_all(Query::new("SELECT 1 AS ok"))
            .await
            .map(|_| ())
    }
}
