//! Log retention: expired rows move into `usage_daily` and out of `logs` in small
//! batches, each one atomic (rollup and delete in one transaction or D1 batch).

use super::sql::Query;
use super::sql_store::SqlStore;
use super::StoreResult;
use async_trait::async_trait;

#[async_trait]
pub trait RetentionStore {
    /// Moves up to `limit` log rows older than `cutoff` (unix seconds) into the daily
    /// rollups; returns how many were moved.
    async fn expire_logs(&self, cutoff: i64, limit: i64, now: i64) -> StoreResult<u64>;
}

const ROLLUP: &str = "INSERT INTO usage_daily (day, user_id, username, token_id, token_name, \
    model_name, channel_id, requests, prompt_tokens, completion_tokens, quota) \
    SELECT (created_at / 86400) * 86400, user_id, MAX(username), token_id, MAX(token_name), \
    model_name, channel_id, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(quota) \
    FROM logs WHERE created_at < ? AND id <= ? \
    GROUP BY (created_at / 86400) * 86400, user_id, token_id, model_name, channel_id \
    ON CONFLICT (day, user_id, token_id, model_name, channel_id) DO UPDATE SET \
    requests = usage_daily.requests + excluded.requests, \
    prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens, \
    completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens, \
    quota = usage_daily.quota + excluded.quota";

#[async_trait]
impl RetentionStore for SqlStore {
    async fn expire_logs(&self, cutoff: i64, limit: i64, now: i64) -> StoreResult<u64> {
        // The batch's upper id: every row at or below it that is older than the cutoff
        // is one of these `limit` rows.
        let ids = self
            .db
            .fetch_all(
                Query::new("SELECT id FROM logs WHERE created_at < ? ORDER BY id LIMIT ?")
                    .bind(cutoff)
                    .bind(limit),
            )
            .await?;
        let Some(last) = ids.last().map(|r| r.i64("id")) else {
            return Ok(0);
        };
        self.db
            .batch(vec![
                // Taken first: a concurrent batch (another replica) waits here, and its
                // later statements then see this one's deletions.
                Query::new("UPDATE retention_state SET last_run = ? WHERE id = 1").bind(now),
                Query::new(ROLLUP).bind(cutoff).bind(last),
                Query::new("DELETE FROM logs WHERE created_at < ? AND id <= ?")
                    .bind(cutoff)
                    .bind(last),
            ])
            .await?;
        Ok(ids.len() as u64)
    }
}
