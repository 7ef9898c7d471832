//! Spend against budgets and channel health, as the console shows them.

use super::health::{fingerprint, keys};
use super::now_ms;
use super::period::{self, budget, Period};
use crate::state::AppState;
use crate::store::limits::Limits;
use crate::store::Channel;
use serde::Serialize;

/// One budget period: what was spent in it so far and when it starts again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetUsage {
    /// `daily`, `weekly` or `monthly`.
    pub period: &'static str,
    /// Quota units per period (0: no budget; `spent` is then not tracked).
    pub budget: i64,
    pub spent: i64,
    /// Unix time (seconds) the period ends, in the `timezone` option.
    pub resets_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetReport {
    /// Whether the counters are shared by every replica (Redis) or this replica's own.
    pub shared: bool,
    pub budgets: Vec<BudgetUsage>,
}

/// `tag` is `k:{id}` or `u:{id}`; `limits` the effective ones.
pub async fn budgets(state: &AppState, tag: &str, limits: &Limits) -> BudgetReport {
    let tz = state.options.get().text("timezone");
    let now = now_ms();
    let c = &state.limits;
    let mut out = Vec::new();
    for p in Period::ALL {
        let limit = budget(limits, p);
        let (id, end) = period::current(p, &tz, now);
        let spent = if limit > 0 {
            c.spent(&c.key(&format!("budget:{tag}:{id}"))).await
        } else {
            0
        };
        out.push(BudgetUsage {
            period: p.name(),
            budget: limit,
            spent,
            resets_at: end,
        });
    }
    BudgetReport {
        shared: c.status() == Some("ok"),
        budgets: out,
    }
}

/// One upstream key of a channel: shown by position and its last four characters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyHealth {
    /// 1-based line of the key in the channel's key field.
    pub index: usize,
    /// The key's last four characters (`****` for short keys).
    pub preview: String,
    /// `ok`, `cooling` or `disabled` (refused with 401/403).
    pub state: &'static str,
    /// Unix time in milliseconds the cool-down ends.
    pub cooling_until: Option<i64>,
    /// Failures in a row behind the cool-down.
    pub strikes: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelHealthRow {
    pub id: i64,
    /// Unix time in milliseconds until which the whole channel cools down.
    pub cooling_until: Option<i64>,
    pub keys: Vec<KeyHealth>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelHealthReport {
    pub channels: Vec<ChannelHealthRow>,
}

fn preview(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "****".into();
    }
    chars[chars.len() - 4..].iter().collect()
}

/// The health of every channel as this replica knows it (cool-downs are shared).
pub fn channels(state: &AppState, all: &[std::sync::Arc<Channel>]) -> ChannelHealthReport {
    let h = &state.limits.health;
    let rows = all
        .iter()
        .map(|c| {
            // A key that cannot be decrypted is shown as no keys (the channel's own error).
            let plain = state.secret_box.open(&c.key_ciphertext).unwrap_or_default();
            let keys = keys(&plain)
                .into_iter()
                .enumerate()
                .map(|(i, k)| {
                    let fp = fingerprint(k);
                    let cooling = h.key_cooling(c.id, &fp);
                    let state = if super::health::is_disabled(&c.disabled_keys, &fp) {
                        "disabled"
                    } else if cooling.is_some() {
                        "cooling"
                    } else {
                        "ok"
                    };
                    KeyHealth {
                        index: i + 1,
                        preview: preview(k),
                        state,
                        cooling_until: cooling.map(|(u, _)| u),
                        strikes: cooling.map_or(0, |(_, s)| s),
                    }
                })
                .collect();
            ChannelHealthRow {
                id: c.id,
                cooling_until: h.cooling_until(c.id),
                keys,
            }
        })
        .collect();
    ChannelHealthReport { channels: rows }
}
