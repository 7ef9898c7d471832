//! Rows as the rest of the gateway sees them.

use serde::Serialize;
use std::collections::BTreeMap;

pub const ROLE_USER: i64 = 1;
pub const ROLE_ADMIN: i64 = 10;
pub const ROLE_ROOT: i64 = 100;

pub const USER_ENABLED: i64 = 1;
pub const USER_DISABLED: i64 = 2;

pub const TOKEN_ENABLED: i64 = 1;
pub const TOKEN_DISABLED: i64 = 2;
pub const TOKEN_EXPIRED: i64 = 3;
pub const TOKEN_EXHAUSTED: i64 = 4;

pub const CHANNEL_ENABLED: i64 = 1;
pub const CHANNEL_MANUALLY_DISABLED: i64 = 2;
pub const CHANNEL_AUTO_DISABLED: i64 = 3;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub display_name: String,
    pub email: String,
    pub role: i64,
    pub status: i64,
    pub group: String,
    pub quota: i64,
    pub used_quota: i64,
    pub request_count: i64,
    pub must_change_password: bool,
    #[serde(skip)]
    pub session_version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(flatten)]
    pub limits: super::limits::Limits,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[serde(skip)]
    pub key_hash: String,
    pub key_prefix: String,
    pub status: i64,
    pub remain_quota: i64,
    pub used_quota: i64,
    pub unlimited_quota: bool,
    pub expired_at: Option<i64>,
    pub models: Vec<String>,
    pub allow_ips: Vec<String>,
    #[serde(flatten)]
    pub limits: super::limits::Limits,
    pub request_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Channel {
    pub id: i64,
    #[serde(rename = "type")]
    #[schema(value_type = i64)]
    pub channel_type: super::ChannelType,
    pub name: String,
    pub base_url: String,
    #[serde(skip)]
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
    /// OpenAI-compatible (type 99) channels only: the upstream serves `/v1/responses`,
    /// so Responses API calls pass through instead of being converted to chat.
    pub responses_api: bool,
    pub response_time_ms: i64,
    pub used_quota: i64,
    pub test_at: Option<i64>,
    /// The last test's outcome: `None` until the channel is first tested.
    pub test_success: Option<bool>,
    /// Why the last test failed (empty when it passed).
    pub test_error: String,
    pub disabled_reason: String,
    /// Fingerprints of upstream keys refused with 401/403 (cleared when the channel is edited).
    pub disabled_keys: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A list page as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

impl<T> Paged<T> {
    /// The same page with each item passed through `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            page_size: self.page_size,
        }
    }
}

pub(crate) fn json_list(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

pub(crate) fn json_map(raw: &str) -> BTreeMap<String, String> {
    serde_json::from_str(raw).unwrap_or_default()
}

impl super::sql::Named for User {
    fn name(&self) -> &str {
        &self.username
    }
}

impl super::sql::Named for Token {
    fn name(&self) -> &str {
        &self.name
    }
}

impl super::sql::Named for Channel {
    fn name(&self) -> &str {
        &self.name
    }
}
