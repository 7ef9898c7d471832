//! What an upstream answer means for the channel's health, shared with the other replicas.

use super::health::{fingerprint, is_disabled, keys};
use crate::state::AppState;
use crate::store::Channel;

/// The Redis key holding one upstream key's cool-down, so a replica started later sees
/// it (it expires when the cool-down ends).
fn cool_key(state: &AppState, channel: i64, fp: &str) -> String {
    state.limits.key(&format!("cool:{channel}:{fp}"))
}

/// Stores (or deletes) a cool-down in Redis, best effort: without Redis cool-downs are
/// per replica.
fn persist(state: &AppState, key: String, value: Option<(String, i64)>) {
    let Some(shared) = state.limits.shared() else {
        return;
    };
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            let v = value.as_ref().map(|(v, ttl)| (v.as_str(), *ttl));
            if let Err(e) = shared.put(&key, v).await {
                log::warn!("redis: could not store a channel cool-down: {e}");
            }
        });
    }
}

/// A 2xx: the key is healthy again.
pub fn succeeded(state: &AppState, channel: i64, fp: &str) {
    if state.limits.health.ok(channel, fp) {
        persist(state, cool_key(state, channel, fp), None);
        state.limits.publish(format!("ok:{channel}:{fp}"));
    }
}

/// Reads the cool-downs stored in Redis (at start and after reconnecting).
pub async fn load(state: &AppState, conn: &mut redis::aio::MultiplexedConnection) {
    let prefix = state.limits.key("");
    let pattern = format!("{prefix}cool:*");
    let mut cursor: u64 = 0;
    loop {
        let page: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await;
        let Ok((next, keys)) = page else { return };
        for key in keys {
            let value: redis::RedisResult<Option<String>> =
                redis::cmd("GET").arg(&key).query_async(conn).await;
            if let (Ok(Some(v)), Some(rest)) = (value, key.strip_prefix(&prefix)) {
                apply(state, &format!("{rest}:{v}"));
            }
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// A 429, 5xx or timeout: the key cools down (and the channel, when all keys are).
pub fn failed(state: &AppState, c: &Channel, plain: &str, fp: &str, retry_after_ms: Option<i64>) {
    let fps: Vec<String> = keys(plain)
        .into_iter()
        .map(|k| fingerprint(k).to_string())
        .collect();
    let (until, strikes, channel_until) = state.limits.health.cool(c, &fps, fp, retry_after_ms);
    log::warn!(
        "channel {} key {fp} cools down for {} ms (strike {strikes})",
        c.id,
        until - super::now_ms()
    );
    persist(
        state,
        cool_key(state, c.id, fp),
        Some((
            format!("{until}:{strikes}:{channel_until}"),
            until - super::now_ms(),
        )),
    );
    state.limits.publish(format!(
        "cool:{}:{fp}:{until}:{strikes}:{channel_until}",
        c.id
    ));
}

/// A 401/403: the key is disabled for good (until the channel is edited). True when the
/// channel has no usable key left (the caller disables the channel then).
pub async fn rejected(state: &AppState, c: &Channel, plain: &str, fp: &str) -> bool {
    let mut disabled = c.disabled_keys.clone();
    if !is_disabled(&disabled, fp) {
        disabled.push(fp.to_string());
    }
    let left = keys(plain)
        .into_iter()
        .filter(|k| !is_disabled(&disabled, &fingerprint(k)))
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
