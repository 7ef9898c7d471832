//! Channels (upstream providers) table.

use super::sql::{like_pattern, Query, Row};
use super::sql_store::{Page, SqlStore};
use super::{json_list, json_map, Channel, ChannelType, Paged, StoreResult};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// A complete channel definition as written on create and update.
#[derive(Debug, Clone)]
pub struct ChannelFields {
    pub channel_type: ChannelType,
    pub name: String,
    pub base_url: String,
    pub key_ciphertext: String,
    pub key_preview: String,
    pub models: Vec<String>,
    pub model_mapping: BTreeMap<String, String>,
    pub priority: i64,
    pub weight: i64,
    pub status: i64,
    pub group: String,
    pub use_relay: Option<bool>,
    pub api_version: String,
    pub responses_api: bool,
}

/// What a channel test found, as stored on the channel.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub success: bool,
    pub latency_ms: i64,
    pub error: String,
}

#[async_trait]
pub trait ChannelStore {
    async fn create_channel(&self, c: ChannelFields) -> StoreResult<Channel>;
    async fn channel_by_id(&self, id: i64) -> StoreResult<Option<Channel>>;
    async fn list_channels(&self, keyword: Option<&str>, page: Page)
        -> StoreResult<Paged<Channel>>;
    /// Every channel, for routing tables (the set is small).
    async fn all_channels(&self) -> StoreResult<Vec<Channel>>;
    async fn update_channel(&self, id: i64, c: ChannelFields) -> StoreResult<Option<Channel>>;
    async fn delete_channel(&self, id: i64) -> StoreResult<bool>;
    /// Sets status with a reason; `only_if_enabled` avoids overriding a manual disable.
    async fn set_channel_status(&self, id: i64, status: i64, reason: &str) -> StoreResult<bool>;
    /// Keeps a test's outcome; the response time only changes when the test passed.
    async fn record_channel_test(&self, id: i64, outcome: &TestOutcome) -> StoreResult<()>;
    /// Replaces the fingerprints of the channel's upstream keys refused with 401/403.
    async fn set_channel_disabled_keys(&self, id: i64, fingerprints: &[String]) -> StoreResult<()>;
}

/// `None` for a row whose type number this gateway does not know: only a hand edit of
/// the table can make one (the API refuses such numbers), and nothing could serve it.
pub(crate) fn channel_from_row(r: &Row) -> Option<Channel> {
    let number = r.i64("channel_type");
    let Some(channel_type) = ChannelType::from_number(number) else {
        log::warn!(
            "channel {} has type {number}, which this gateway does not know; it is left out",
            r.i64("id")
        );
        return None;
    };
    Some(Channel {
        id: r.i64("id"),
        channel_type,
        name: r.string("name"),
        base_url: r.string("base_url"),
        key_ciphertext: r.string("key_ciphertext"),
        key_preview: r.string("key_preview"),
        models: json_list(&r.string("models")),
        model_mapping: json_map(&r.string("model_mapping")),
        priority: r.i64("priority"),
        weight: r.i64("weight"),
        status: r.i64("status"),
        group: r.string("channel_group"),
        use_relay: r.opt_i64("use_relay").map(|v| v != 0),
        api_version: r.string("api_version"),
        responses_api: r.bool("responses_api"),
        response_time_ms: r.i64("response_time_ms"),
        used_quota: r.i64("used_quota"),
        test_at: r.opt_i64("test_at"),
        test_success: r.opt_i64("test_success").map(|v| v != 0),
        test_error: r.string("test_error"),
        disabled_reason: r.string("disabled_reason"),
        disabled_keys: json_list(&r.string("disabled_keys")),
        created_at: r.i64("created_at"),
        updated_at: r.i64("updated_at"),
    })
}

const CHANNEL_COLUMNS: &str = "id, channel_type, name, base_url, key_ciphertext, key_preview, \
    models, model_mapping, priority, weight, status, channel_group, use_relay, api_version, \
    responses_api, response_time_ms, used_quota, test_at, test_success, test_error, disabled_reason, \
    created_at, updated_at, disabled_keys";

fn json<T: serde::Serialize>(v: &T, empty: &str) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| empty.into())
}

#[async_trait]
impl ChannelStore for SqlStore {
    async fn create_channel(&self, c: ChannelFields) -> StoreResult<Channel> {
        let now = crate::util::now();
        let q = Query::new(&format!(
            "INSERT INTO channels (channel_type, name, base_url, key_ciphertext, key_preview, \
             models, model_mapping, priority, weight, status, channel_group, use_relay, \
             api_version, responses_api, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(c.channel_type.number())
        .bind(c.name)
        .bind(c.base_url)
        .bind(c.key_ciphertext)
        .bind(c.key_preview)
        .bind(json(&c.models, "[]"))
        .bind(json(&c.model_mapping, "{}"))
        .bind(c.priority)
        .bind(c.weight)
        .bind(c.status)
        .bind(c.group)
        .bind(c.use_relay)
        .bind(c.api_version)
        .bind(c.responses_api)
        .bind(now)
        .bind(now);
        self.db
            .fetch_optional(q)
            .await?
            .and_then(|r| channel_from_row(&r))
            .ok_or_else(|| super::DbError::Other("insert returned no row".into()))
    }

    async fn channel_by_id(&self, id: i64) -> StoreResult<Option<Channel>> {
        let q = Query::new(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?"
        ))
        .bind(id);
        Ok(self
            .db
            .fetch_optional(q)
            .await?
            .and_then(|r| channel_from_row(&r)))
    }

    async fn list_channels(
        &self,
        keyword: Option<&str>,
        page: Page,
    ) -> StoreResult<Paged<Channel>> {
        let mut filter = Query::new(" FROM channels");
        if let Some(k) = keyword.filter(|k| !k.is_empty()) {
            let pat = like_pattern(&k.to_lowercase());
            filter
                .push(" WHERE LOWER(name) LIKE ")
                .push_bind(pat.clone());
            filter
                .push(" ESCAPE '\\' OR LOWER(models) LIKE ")
                .push_bind(pat)
                .push(" ESCAPE '\\'");
        }
        let page = self
            .paged(
                CHANNEL_COLUMNS,
                filter,
                "priority DESC, id",
                page,
                channel_from_row,
            )
            .await?;
        Ok(Paged {
            items: page.items.into_iter().flatten().collect(),
            total: page.total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    async fn all_channels(&self) -> StoreResult<Vec<Channel>> {
        let q = Query::new(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY id"
        ));
        Ok(self
            .db
            .fetch_all(q)
            .await?
            .iter()
            .filter_map(channel_from_row)
            .collect())
    }

    async fn update_channel(&self, id: i64, c: ChannelFields) -> StoreResult<Option<Channel>> {
        let q = Query::new(&format!(
            "UPDATE channels SET channel_type = ?, name = ?, base_url = ?, key_ciphertext = ?, \
             key_preview = ?, models = ?, model_mapping = ?, priority = ?, weight = ?, \
             status = ?, channel_group = ?, use_relay = ?, api_version = ?, responses_api = ?, \
             updated_at = ?, disabled_keys = '[]', \
             disabled_reason = CASE WHEN ? = 1 THEN '' ELSE disabled_reason END \
             WHERE id = ? RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(c.channel_type.number())
        .bind(c.name)
        .bind(c.base_url)
        .bind(c.key_ciphertext)
        .bind(c.key_preview)
        .bind(json(&c.models, "[]"))
        .bind(json(&c.model_mapping, "{}"))
        .bind(c.priority)
        .bind(c.weight)
        .bind(c.status)
        .bind(c.group)
        .bind(c.use_relay)
        .bind(c.api_version)
        .bind(c.responses_api)
        .bind(crate::util::now())
        .bind(c.status)
        .bind(id);
        Ok(self
            .db
            .fetch_optional(q)
            .await?
            .and_then(|r| channel_from_row(&r)))
    }

    async fn delete_channel(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .db
            .execute(Query::new("DELETE FROM channels WHERE id = ?").bind(id))
            .await?
            > 0)
    }

    async fn set_channel_status(&self, id: i64, status: i64, reason: &str) -> StoreResult<bool> {
        let q = Query::new(
            "UPDATE channels SET status = ?, disabled_reason = ?, updated_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(reason)
        .bind(crate::util::now())
        .bind(id);
        Ok(self.db.execute(q).await? > 0)
    }

    async fn set_channel_disabled_keys(&self, id: i64, fingerprints: &[String]) -> StoreResult<()> {
        let q = Query::new("UPDATE channels SET disabled_keys = ? WHERE id = ?")
            .bind(json(&fingerprints, "[]"))
            .bind(id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn record_channel_test(&self, id: i64, outcome: &TestOutcome) -> StoreResult<()> {
        let q = Query::new(
            "UPDATE channels SET \
             response_time_ms = CASE WHEN ? = 1 THEN ? ELSE response_time_ms END, \
             test_at = ?, test_success = ?, test_error = ? WHERE id = ?",
        )
        .bind(outcome.success)
        .bind(outcome.latency_ms)
        .bind(crate::util::now())
        .bind(outcome.success)
        .bind(outcome.error.clone())
        .bind(id);
        self.db.execute(q).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::sql::Value;
    use super::*;

    fn row(channel_type: i64) -> Row {
        let mut r = Row::default();
        r.0.insert("id".into(), Value::Int(7));
        r.0.insert("channel_type".into(), Value::Int(channel_type));
        r.0.insert("models".into(), Value::Text("[\"m\"]".into()));
        r
    }

    #[test]
    fn rows_read_their_type_and_unknown_numbers_are_left_out() {
        let c = channel_from_row(&row(24)).expect("a known type");
        assert_eq!((c.id, c.channel_type), (7, ChannelType::Gemini));
        assert_eq!(c.models, ["m"]);
        assert!(channel_from_row(&row(2)).is_none());
    }
}
