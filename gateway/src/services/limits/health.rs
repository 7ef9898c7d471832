//! Channel and upstream-key health: a key answering 429, 5xx or timing out cools down
//! with exponential backoff (at least the upstream's `Retry-After`); a channel whose keys
//! are all cooling is skipped by routing unless nothing else is left. Cool-downs reach
//! the other replicas over Redis pub/sub (see `invalidate`).

use super::now_ms;
use crate::store::Channel;
use crate::util::FastMap;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

const BASE_MS: i64 = 1_000;
const MAX_MS: i64 = 300_000;

#[derive(Default)]
pub struct ChannelHealth {
    /// (channel, key fingerprint) → (cooling until, strikes).
    keys: Mutex<FastMap<(i64, String), (i64, u32)>>,
    /// Channel → cooling until (all its keys cooling).
    channels: Mutex<FastMap<i64, i64>>,
    /// Round-robin position per channel.
    turn: Mutex<FastMap<i64, usize>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The channel's upstream keys: one per line.
pub fn keys(plain: &str) -> Vec<&str> {
    plain
        .lines()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect()
}

/// The key when `plain` holds exactly one ([`keys`] would list only it), found without
/// making the list: most channels have one key, and every call picks one.
fn only_key(plain: &str) -> Option<&str> {
    let mut listed = plain.lines().map(str::trim).filter(|k| !k.is_empty());
    let first = listed.next()?;
    listed.next().is_none().then_some(first)
}

/// Whether the key with this fingerprint is in `disabled` (a channel's disabled keys).
pub fn is_disabled(disabled: &[String], fp: &str) -> bool {
    disabled.iter().any(|d| d == fp)
}

/// A short, non-reversible name for a key (never the key itself in rows or logs).
pub fn fingerprint(key: &str) -> Arc<str> {
    use std::sync::LazyLock;
    // Every upstream call fingerprints its key; the digest is worth remembering.
    static MEMO: LazyLock<crate::util::Memo> = LazyLock::new(|| crate::util::Memo::new(4096));
    MEMO.get_or_compute(key, || hex::encode(&Sha256::digest(key.as_bytes())[..8]))
}

/// Backoff for the n-th strike in a row, at least what the upstream asked for.
pub fn backoff_ms(strikes: u32, retry_after_ms: Option<i64>) -> i64 {
    let exp = BASE_MS.saturating_mul(1_i64 << strikes.saturating_sub(1).min(20));
    exp.min(MAX_MS).max(retry_after_ms.unwrap_or(0))
}

impl ChannelHealth {
    /// The candidates not cooling down; all of them when every one is.
    pub fn prefer_ready(&self, cands: Vec<Arc<Channel>>) -> Vec<Arc<Channel>> {
        let cooling = lock(&self.channels);
        if cooling.is_empty() {
            return cands;
        }
        let now = now_ms();
        let ready: Vec<Arc<Channel>> = cands
            .iter()
            .filter(|c| cooling.get(&c.id).is_none_or(|until| *until <= now))
            .cloned()
            .collect();
        if ready.is_empty() {
            cands
        } else {
            ready
        }
    }

    /// The usable key to send with next (rotating), and its fingerprint; a cooling key
    /// only when all are cooling. `None` when every key is disabled.
    pub fn pick_key<'a>(&self, c: &Channel, plain: &'a str) -> Option<(&'a str, Arc<str>)> {
        // One key is sent whether it is cooling or not: nothing to rotate or compare.
        if let Some(only) = only_key(plain) {
            let fp = fingerprint(only);
            return (!is_disabled(&c.disabled_keys, &fp)).then_some((only, fp));
        }
        let all = keys(plain);
        let usable: Vec<(&str, Arc<str>)> = all
            .into_iter()
            .map(|k| (k, fingerprint(k)))
            .filter(|(_, fp)| !is_disabled(&c.disabled_keys, fp))
            .collect();
        if usable.is_empty() {
            return None;
        }
        let now = now_ms();
        let until = |fp: &str| {
            lock(&self.keys)
                .get(&(c.id, fp.to_string()))
                .map_or(0, |(u, _)| *u)
        };
        let ready: Vec<&(&str, Arc<str>)> =
            usable.iter().filter(|(_, fp)| until(fp) <= now).collect();
        let chosen = if ready.is_empty() {
            usable.iter().min_by_key(|(_, fp)| until(fp))
        } else {
            let mut turn = lock(&self.turn);
            let t = turn.entry(c.id).or_insert(0);
            *t = t.wrapping_add(1);
            ready.get(*t % ready.len()).copied()
        };
        chosen.map(|(k, fp)| (*k, fp.clone()))
    }

    /// Records a failure; returns (key until, strikes, channel until or 0) to share.
    pub fn cool(
        &self,
        c: &Channel,
        fingerprints: &[String],
        fp: &str,
        retry_after_ms: Option<i64>,
    ) -> (i64, u32, i64) {
        let now = now_ms();
        let mut keys = lock(&self.keys);
        let strikes = keys.get(&(c.id, fp.to_string())).map_or(0, |(_, s)| *s) + 1;
        let until = now + backoff_ms(strikes, retry_after_ms);
        keys.insert((c.id, fp.to_string()), (until, strikes));
        // The channel cools when no usable key is ready.
        let soonest = fingerprints
            .iter()
            .filter(|k| !c.disabled_keys.contains(k))
            .map(|k| keys.get(&(c.id, k.clone())).map_or(0, |(u, _)| *u))
            .min()
            .unwrap_or(until);
        drop(keys);
        let channel_until = if soonest > now { soonest } else { 0 };
        if channel_until > 0 {
            lock(&self.channels).insert(c.id, channel_until);
        }
        (until, strikes, channel_until)
    }

    /// Applies a cool-down another replica shared.
    pub fn apply(&self, channel: i64, fp: &str, until: i64, strikes: u32, channel_until: i64) {
        lock(&self.keys).insert((channel, fp.to_string()), (until, strikes));
        if channel_until > 0 {
            lock(&self.channels).insert(channel, channel_until);
        }
    }

    /// A success: the key's strikes and the channel's cool-down end. True when there was
    /// something to clear (worth telling the other replicas).
    pub fn ok(&self, channel: i64, fp: &str) -> bool {
        // Nothing cools on a healthy gateway: no lookup key is made for an empty map.
        let a = {
            let mut keys = lock(&self.keys);
            !keys.is_empty() && keys.remove(&(channel, fp.to_string())).is_some()
        };
        let b = {
            let mut channels = lock(&self.channels);
            !channels.is_empty() && channels.remove(&channel).is_some()
        };
        a || b
    }

    /// When one of the channel's keys cools down until, and its strikes, if it does.
    pub fn key_cooling(&self, channel: i64, fp: &str) -> Option<(i64, u32)> {
        let now = now_ms();
        lock(&self.keys)
            .get(&(channel, fp.to_string()))
            .copied()
            .filter(|(u, _)| *u > now)
    }

    /// When the channel cools down until (for the console), if it does.
    pub fn cooling_until(&self, channel: i64) -> Option<i64> {
        let now = now_ms();
        lock(&self.channels)
            .get(&channel)
            .copied()
            .filter(|u| *u > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_respects_retry_after() {
        assert_eq!(backoff_ms(1, None), 1_000);
        assert_eq!(backoff_ms(3, None), 4_000);
        assert_eq!(backoff_ms(30, None), MAX_MS);
        assert_eq!(backoff_ms(1, Some(30_000)), 30_000);
    }

    #[test]
    fn keys_are_lines_and_fingerprints_hide_them() {
        assert_eq!(keys("a\n\n b \r\nc"), vec!["a", "b", "c"]);
        let fp = fingerprint("sk-secret");
        assert_eq!(fp.len(), 16);
        assert!(!fp.contains("secret"));
    }

    #[test]
    fn a_single_key_is_picked_as_the_list_would_pick_it() {
        let health = ChannelHealth::default();
        let mut c = crate::providers::anthropic::testkit::channel("http://127.0.0.1:1");
        for plain in [" sk-one \r", "sk-one", "\nsk-one\n", "  ", ""] {
            let listed = keys(plain);
            let want = listed.first().map(|k| (*k, fingerprint(k)));
            assert_eq!(health.pick_key(&c, plain), want, "{plain:?}");
        }
        for plain in ["a\nb", " a \r\n\n b", "a\n\na\n", "a", "\n a \n", ""] {
            let listed = keys(plain);
            let want = (listed.len() == 1).then(|| listed[0]);
            assert_eq!(only_key(plain), want, "{plain:?}");
        }
        c.disabled_keys = vec![fingerprint("sk-one").to_string()];
        assert_eq!(health.pick_key(&c, " sk-one "), None);
        assert_eq!(
            health.pick_key(&c, "sk-one\nsk-two"),
            Some(("sk-two", fingerprint("sk-two")))
        );
    }
}
