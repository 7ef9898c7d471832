//! What an upstream answer means for the channel's health, shared with the other replicas.

use super::health::{fingerprint, keys};
use super::invalidate::publish;
use crate::state::AppState;
use crate::store::Channel;

/// A 2xx: the key is healthy again.
pub fn succeeded(state: &AppState, channel: i64, fp: &str) {
    if state.limits.health.ok(channel, fp) {
        publish(state, format!("ok:{channel}:{fp}"));
    }
}

/// A 429, 5xx or timeout: the key cools down (and the channel, when all keys are).
pub fn failed(state: &AppState, c: &Channel, plain: &str, fp: &str, retry_after_ms: Option<i64>) {
    let fps: Vec<String> = keys(plain).into_iter().map(fingerprint).collect();
    let (until, strikes, channel_until) = state.limits.health.cool(c, &fps, fp, retry_after_ms);
    log::warn!(
        "channel {} key {fp} cools down for {} ms (strike {strikes})",
        c.id,
        until - super::now_ms()
    );
    publish(
        state,
        format!("cool:{}:{fp}:{until}:{strikes}:{channel_until}", c.id),
    );
}

/// A 401/403: the key is disabled for good (until the channel is edited). True when the
/// channel has no usable key left (the caller disables the channel then).
pub async fn rejected(state: &AppState, c: &Channel, plain: &str, fp: &str) -> bool {
    let mut disabled = c.disabled_keys.clone();
    if !disabled.iter().any(|d| d == fp) {
        disabled.push(fp.to_string());
    }
    let left = keys(plain)
        .into_iter()
        .filter(|k| !disabled.contains(&fingerprint(k)))
        .count();
    if left > 0 {
        if let Err(e) = state.store.set_channel_disabled_keys(c.id, &disabled).await {
            log::error!("could not disable key {fp} of channel {}: {e}", c.id);
        }
        log::warn!(
            "channel {} key {fp} disabled after 401/403; {left} left",
            c.id
        );
        state.channels_changed();
    }
    left == 0
}

/// Applies a message from another replica (`cool:…` or `ok:…`).
pub fn apply(state: &AppState, message: &str) {
    let parts: Vec<&str> = message.split(':').collect();
    let num = |i: usize| parts.get(i).and_then(|v| v.parse::<i64>().ok());
    match parts.first() {
        Some(&"cool") => {
            if let (Some(ch), Some(fp), Some(until), Some(strikes), Some(cu)) =
                (num(1), parts.get(2), num(3), num(4), num(5))
            {
                let strikes = u32::try_from(strikes).unwrap_or(u32::MAX);
                state.limits.health.apply(ch, fp, until, strikes, cu);
            }
        }
        Some(&"ok") => {
            if let (Some(ch), Some(fp)) = (num(1), parts.get(2)) {
                state.limits.health.ok(ch, fp);
            }
        }
        _ => {}
    }
}
