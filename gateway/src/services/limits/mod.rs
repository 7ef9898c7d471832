//! Operator limits on keys and users: requests and tokens per minute, concurrent requests,
//! daily/weekly/monthly spend budgets. Counted in Redis when `REDIS_URL` is set (exact
//! across replicas), per replica otherwise (see `counters`).

pub mod admission;
pub mod channel_events;
pub mod counters;
pub mod fields;
pub mod headers;
pub mod health;
pub mod invalidate;
pub mod local;
pub mod period;
pub mod redis_store;
pub mod usage;

pub use admission::{admit, Admission, Want};

use crate::store::limits::Limits;

pub const MINUTE_MS: i64 = 60_000;

/// One rate check's outcome, for refusals and headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub allowed: bool,
    pub limit: i64,
    pub remaining: i64,
    /// Until the window is full again.
    pub reset_ms: i64,
    /// Until this request would have been allowed (refusals only).
    pub retry_after_ms: i64,
}

/// Admits the request and remembers its limit state for the answer's headers.
pub async fn admit_request(
    state: &crate::state::AppState,
    caller: &crate::services::dispatch::key_auth::Caller,
    req: &actix_web::HttpRequest,
    want: Want,
) -> Result<Admission, crate::v1_core::error::V1Error> {
    use actix_web::HttpMessage;
    let adm = admit(state, caller, want).await?;
    req.extensions_mut().insert(adm.snapshot);
    Ok(adm)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A key's effective own limit: never above its user's (0 means "none").
pub fn clamp(key: i64, user: i64) -> i64 {
    match (key, user) {
        (0, u) => u,
        (k, 0) => k,
        (k, u) => k.min(u),
    }
}

/// A key's budgets: its own, never above its user's.
pub fn key_limits(key: &Limits, user: &Limits) -> Limits {
    Limits {
        rate_limit_per_minute: clamp(key.rate_limit_per_minute, user.rate_limit_per_minute),
        tokens_per_minute: clamp(key.tokens_per_minute, user.tokens_per_minute),
        max_concurrency: clamp(key.max_concurrency, user.max_concurrency),
        daily_budget: clamp(key.daily_budget, user.daily_budget),
        weekly_budget: clamp(key.weekly_budget, user.weekly_budget),
        monthly_budget: clamp(key.monthly_budget, user.monthly_budget),
    }
}
