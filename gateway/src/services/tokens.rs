//! API-key management for their owners.

use crate::auth::api_key;
use crate::error::ApiError;
use crate::services::validate::{self, StringList};
use crate::state::AppState;
use crate::store::ledger::Holder;
use crate::store::limits::LimitsPatch;
use crate::store::tokens::{NewToken, TokenPatch};
use crate::store::{Token, TOKEN_DISABLED, TOKEN_ENABLED};
use serde::{Deserialize, Serialize};

const MAX_LIST_ITEMS: usize = 1000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Required on create.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*\S[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub remain_quota: Option<i64>,
    pub unlimited_quota: Option<bool>,
    /// Unix seconds; `null` or absent: never.
    #[serde(default, deserialize_with = "validate::opt_opt_int")]
    #[schema(value_type = Option<i64>)]
    pub expired_at: Option<Option<i64>>,
    /// Allowed models (empty: all); a comma-separated string is accepted too.
    #[schema(schema_with = crate::api_schema::name_list)]
    pub models: Option<StringList>,
    /// Allowed client IPs or CIDRs (empty: any); a comma-separated string is accepted too.
    #[schema(schema_with = crate::api_schema::name_list)]
    pub allow_ips: Option<StringList>,
    /// Requests per minute; 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000)]
    pub rate_limit_per_minute: Option<i64>,
    /// Tokens per minute (prompt estimate + capped output, corrected at settlement); 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub tokens_per_minute: Option<i64>,
    /// Requests in progress at once; 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub max_concurrency: Option<i64>,
    /// Spend per calendar day in quota units (`timezone` option); 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub daily_budget: Option<i64>,
    /// Spend per calendar week (Monday to Sunday); 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub weekly_budget: Option<i64>,
    /// Spend per calendar month; 0: unlimited.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub monthly_budget: Option<i64>,
    /// 1 (enabled) or 2 (disabled); not on create.
    #[serde(default, deserialize_with = "validate::opt_int")]
    #[schema(schema_with = crate::api_schema::token_status)]
    pub status: Option<i64>,
}

impl TokenBody {
    fn limits(&self) -> Result<LimitsPatch, ApiError> {
        let p = LimitsPatch {
            rate_limit_per_minute: self.rate_limit_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            max_concurrency: self.max_concurrency,
            daily_budget: self.daily_budget,
            weekly_budget: self.weekly_budget,
            monthly_budget: self.monthly_budget,
        };
        crate::services::limits::fields::check(&p)?;
        Ok(p)
    }
}

/// A freshly created token with its full key, returned exactly once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: Token,
    pub key: String,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::bad("name is required"));
    }
    validate::short_text("name", name, 64)
}

/// `null`, absent, `-1` and `0` all mean "never expires"; a past time is refused.
fn check_expiry(v: Option<i64>) -> Result<Option<i64>, ApiError> {
    match v {
        None | Some(-1) | Some(0) => Ok(None),
        Some(t) if t <= crate::util::now() => {
            Err(ApiError::bad("expired_at must be in the future"))
        }
        Some(t) if t > 253_402_300_799 => Err(ApiError::bad("expired_at is too far in the future")),
        Some(t) => Ok(Some(t)),
    }
}

fn check_models(list: StringList) -> Result<Vec<String>, ApiError> {
    if list.0.len() > MAX_LIST_ITEMS {
        return Err(ApiError::bad("too many models"));
    }
    for m in &list.0 {
        validate::short_text("model name", m, 128)?;
    }
    Ok(list.0)
}

fn check_ips(list: StringList) -> Result<Vec<String>, ApiError> {
    if list.0.len() > MAX_LIST_ITEMS {
        return Err(ApiError::bad("too many allow_ips entries"));
    }
    for ip in &list.0 {
        let valid = ip.parse::<std::net::IpAddr>().is_ok() || ip.parse::<ipnet::IpNet>().is_ok();
        if !valid {
            return Err(ApiError::bad(format!(
                "allow_ips: {ip:?} is not an IP address or CIDR"
            )));
        }
    }
    Ok(list.0)
}

pub async fn create(
    state: &AppState,
    user_id: i64,
    b: TokenBody,
) -> Result<CreatedToken, ApiError> {
    let limits = b.limits()?.to_limits();
    let name = b.name.unwrap_or_default();
    check_name(&name)?;
    if b.status.is_some() {
        return Err(ApiError::bad("status cannot be set on create"));
    }
    let remain_quota = b.remain_quota.unwrap_or(0);
    validate::quota("remain_quota", remain_quota)?;
    let unlimited_quota = b.unlimited_quota.unwrap_or(b.remain_quota.is_none());
    let expired_at = check_expiry(b.expired_at.flatten())?;
    let models = check_models(b.models.unwrap_or_default())?;
    let allow_ips = check_ips(b.allow_ips.unwrap_or_default())?;
    let key = api_key::generate();
    let token = state
        .store
        .create_token(NewToken {
            user_id,
            name,
            key_hash: api_key::hash(&key),
            key_prefix: api_key::display_prefix(&key),
            remain_quota,
            unlimited_quota,
            expired_at,
            models,
            allow_ips,
            limits,
        })
        .await?;
    Ok(CreatedToken { token, key })
}

pub async fn update(
    state: &AppState,
    user_id: i64,
    id: i64,
    b: TokenBody,
) -> Result<Token, ApiError> {
    let current = state
        .store
        .token_by_id(id)
        .await?
        .filter(|t| t.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("token"))?;
    let mut patch = TokenPatch {
        limits: b.limits()?,
        ..Default::default()
    };
    if let Some(n) = b.name {
        check_name(&n)?;
        patch.name = Some(n);
    }
    if let Some(q) = b.remain_quota {
        validate::quota("remain_quota", q)?;
        patch.remain_quota = Some(q);
    }
    // Setting the balance replaces what this replica holds of it too.
    let current = if patch.remain_quota.is_some() {
        state.quota.release(Holder::Token(id)).await;
        current
    } else {
        state.quota.show_token(current)
    };
    patch.unlimited_quota = b.unlimited_quota;
    if let Some(e) = b.expired_at {
        patch.expired_at = Some(check_expiry(e)?);
    }
    if let Some(m) = b.models {
        patch.models = Some(check_models(m)?);
    }
    if let Some(ips) = b.allow_ips {
        patch.allow_ips = Some(check_ips(ips)?);
    }
    if let Some(s) = b.status {
        // Owners switch between enabled and disabled; expired/exhausted are set by the
        // gateway, and re-enabling one only works once its cause is fixed.
        if s != TOKEN_ENABLED && s != TOKEN_DISABLED {
            return Err(ApiError::bad("status must be 1 (enabled) or 2 (disabled)"));
        }
        patch.status = Some(s);
    }
    let reenable = patch.status == Some(TOKEN_ENABLED) && current.status != TOKEN_ENABLED;
    if reenable {
        let expiry = patch.expired_at.unwrap_or(current.expired_at);
        if expiry.is_some_and(|t| t <= crate::util::now()) {
            return Err(ApiError::bad(
                "token has expired; set a new expired_at to enable it",
            ));
        }
        let unlimited = patch.unlimited_quota.unwrap_or(current.unlimited_quota);
        let remain = patch.remain_quota.unwrap_or(current.remain_quota);
        if !unlimited && remain <= 0 {
            return Err(ApiError::bad(
                "token quota is exhausted; raise remain_quota to enable it",
            ));
        }
    }
    let updated = state
        .store
        .update_token(id, user_id, patch)
        .await?
        .ok_or_else(|| ApiError::not_found("token"))?;
    Ok(updated)
}
