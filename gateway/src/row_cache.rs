//! The users and API keys a replica remembers for the `/v1` hot path.
//!
//! Each entry is a row and when it was read. Callers decide what is fresh enough (a few
//! seconds for serving, longer while the database is unreachable); entries older than
//! `keep` count as absent. A read-locked map lookup costs a small fraction of a
//! general-purpose concurrent cache's (moka recorded every read for its eviction policy,
//! ~1.5k instructions a lookup, two lookups a request), and these caches need no policy
//! beyond a bound: when full, stale entries go, and if that is not enough, all of them.

use crate::util::FastMap;
use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub struct RowCache<K, T> {
    map: RwLock<FastMap<K, Cached<T>>>,
    limit: usize,
    keep: Duration,
}

/// A row and when it was read.
pub struct Cached<T> {
    pub at: Instant,
    /// Shared: a read clones the entry, so the row itself is copied once per request (by
    /// `fresh`), not twice.
    pub value: Arc<T>,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Cached {
            at: self.at,
            value: self.value.clone(),
        }
    }
}

impl<T> Cached<T> {
    pub fn new(value: Arc<T>) -> Self {
        Cached {
            at: Instant::now(),
            value,
        }
    }

    /// The row, shared, if it was read less than `ttl` before `now`.
    pub fn fresh(&self, ttl: Duration, now: Instant) -> Option<Arc<T>> {
        (now.saturating_duration_since(self.at) < ttl).then(|| Arc::clone(&self.value))
    }
}

impl<K: Hash + Eq, T> RowCache<K, T> {
    /// At most `limit` rows, each kept for `keep` after it was read.
    pub fn new(limit: usize, keep: Duration) -> Self {
        RowCache {
            map: RwLock::new(FastMap::default()),
            limit,
            keep,
        }
    }

    /// The entry for `key` unless it was read `keep` or longer before `now` (the caller's
    /// one clock reading, which its freshness check reuses).
    pub fn get<Q>(&self, key: &Q, now: Instant) -> Option<Cached<T>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|c| now.saturating_duration_since(c.at) < self.keep)
            .cloned()
    }

    pub fn insert(&self, key: K, value: Cached<T>) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.limit && !map.contains_key(&key) {
            let keep = self.keep;
            map.retain(|_, c| c.at.elapsed() < keep);
            if map.len() >= self.limit {
                map.clear();
            }
        }
        map.insert(key, value);
    }

    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_expire_and_the_bound_holds() {
        let cache: RowCache<String, i64> = RowCache::new(2, Duration::from_secs(60));
        let now = Instant::now;
        cache.insert("a".into(), Cached::new(Arc::new(1)));
        cache.insert("b".into(), Cached::new(Arc::new(2)));
        assert_eq!(
            cache
                .get("a", now())
                .and_then(|c| c.fresh(Duration::from_secs(5), now()))
                .as_deref(),
            Some(&1)
        );
        cache.insert("c".into(), Cached::new(Arc::new(3)));
        assert!(cache.map.read().unwrap().len() <= 2);
        assert_eq!(cache.get("c", now()).map(|c| *c.value), Some(3));
        cache.invalidate("c");
        assert!(cache.get("c", now()).is_none());
        let old = Cached {
            at: Instant::now() - Duration::from_secs(61),
            value: Arc::new(9),
        };
        cache.insert("old".into(), old);
        assert!(cache.get("old", now()).is_none());
        assert_eq!(
            cache
                .get("c", now())
                .and_then(|c| c.fresh(Duration::ZERO, now())),
            None,
            "absent after invalidate"
        );
    }
}
