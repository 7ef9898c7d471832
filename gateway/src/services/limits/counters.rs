//! Where counters live: Redis when `REDIS_URL` is set and reachable, this replica's memory
//! otherwise. A failed Redis call switches to local counters at once ("degraded"); a probe
//! every second switches back when Redis answers again.

use super::local::Local;
use super::redis_store::Shared;
use super::RateState;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// A concurrency slot in Redis expires unless refreshed, so a dead replica frees its slots.
pub const SLOT_TTL_MS: i64 = 30_000;

pub struct Counters {
    pub(crate) prefix: String,
    client: Option<redis::Client>,
    shared: RwLock<Option<Arc<Shared>>>,
    degraded: AtomicBool,
    pub(crate) local: Local,
    /// Channel and upstream-key cool-downs.
    pub health: super::health::ChannelHealth,
    /// Slots this replica holds in Redis (key, id), refreshed by the probe.
    held: Mutex<HashSet<(String, String)>>,
}

impl Counters {
    pub fn new(url: Option<&str>, prefix: &str) -> anyhow::Result<Self> {
        let client = url
            .map(redis::Client::open)
            .transpose()
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        Ok(Counters {
            prefix: prefix.to_string(),
            degraded: AtomicBool::new(client.is_some()),
            client,
            shared: RwLock::new(None),
            local: Local::default(),
            health: Default::default(),
            held: Mutex::new(HashSet::new()),
        })
    }

    pub fn key(&self, parts: &str) -> String {
        format!("{}:{parts}", self.prefix)
    }

    /// `None` without Redis; "ok" or "degraded" with it.
    pub fn status(&self) -> Option<&'static str> {
        self.client.as_ref()?;
        Some(if self.degraded.load(Ordering::Relaxed) {
            "degraded"
        } else {
            "ok"
        })
    }

    pub(crate) fn client(&self) -> Option<&redis::Client> {
        self.client.as_ref()
    }

    pub(crate) fn shared(&self) -> Option<Arc<Shared>> {
        if self.degraded.load(Ordering::Relaxed) {
            return None;
        }
        match self.shared.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The pub/sub channel on which replicas tell each other what changed.
    pub(crate) fn invalidation_channel(&self) -> String {
        format!("{}:invalidate", self.prefix)
    }

    /// Tells the other replicas (best effort: without Redis their caches expire in 5 s).
    /// Here rather than in `invalidate` because the state publishes too, and `invalidate`
    /// (the listener) reads the state.
    pub fn publish(&self, message: String) {
        let Some(shared) = self.shared() else {
            return;
        };
        let name = self.invalidation_channel();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = shared.publish(&name, &message).await {
                    log::warn!("redis publish failed: {e}");
                }
            });
        }
    }

    fn fail(&self, e: &str) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            log::error!("redis unreachable ({e}): limits now count per replica until it is back");
        }
    }

    pub async fn rate(&self, key: &str, limit: i64, cost: i64, force: bool) -> RateState {
        if let Some(s) = self.shared() {
            match s.rate(key, limit, cost, force).await {
                Ok(v) => return v,
                Err(e) => self.fail(&e),
            }
        }
        self.local.rate(key, limit, cost, force, super::now_ms())
    }

    pub async fn spend(&self, key: &str, amount: i64, budget: i64, ttl_ms: i64) -> (bool, i64) {
        self.spend_or_missing(key, amount, budget, ttl_ms, false)
            .await
            .unwrap_or((true, 0))
    }

    /// Like `spend`, but `None` (nothing counted) when `seed_missing` and the Redis
    /// counter does not exist: the caller seeds it from the database first.
    pub async fn spend_or_missing(
        &self,
        key: &str,
        amount: i64,
        budget: i64,
        ttl_ms: i64,
        seed_missing: bool,
    ) -> Option<(bool, i64)> {
        if let Some(s) = self.shared() {
            match s.spend(key, amount, budget, ttl_ms, seed_missing).await {
                Ok(v) => return v,
                Err(e) => self.fail(&e),
            }
        }
        Some(self.local.spend(key, amount, budget))
    }

    /// Seeds a missing Redis budget counter (no-op without Redis or when it exists).
    pub async fn seed(&self, key: &str, value: i64, ttl_ms: i64) {
        if let Some(s) = self.shared() {
            if let Err(e) = s.seed(key, value, ttl_ms).await {
                self.fail(&e);
            }
        }
    }

    /// What a budget key has counted so far, for the console (no side effects).
    pub async fn spent(&self, key: &str) -> i64 {
        if let Some(s) = self.shared() {
            match s.spent(key).await {
                Ok(v) => return v,
                Err(e) => self.fail(&e),
            }
        }
        self.local.spent(key)
    }

    /// Takes a slot; `Some(shared)` says where it was taken, `None` when full.
    pub async fn acquire(&self, key: &str, limit: i64, id: &str) -> Option<bool> {
        if let Some(s) = self.shared() {
            match s.acquire(key, limit, id, SLOT_TTL_MS).await {
                Ok(true) => {
                    lock(&self.held).insert((key.to_string(), id.to_string()));
                    return Some(true);
                }
                Ok(false) => return None,
                Err(e) => self.fail(&e),
            }
        }
        self.local.acquire(key, limit).then_some(false)
    }

    pub async fn release(&self, key: &str, id: &str, shared: bool) {
        if !shared {
            self.local.release(key);
            return;
        }
        lock(&self.held).remove(&(key.to_string(), id.to_string()));
        if let Some(s) = self.shared() {
            if let Err(e) = s.release(key, id).await {
                // The slot expires by itself.
                self.fail(&e);
            }
        }
    }

    /// Connects, checks and refreshes: run every second while the gateway runs.
    pub async fn probe(&self, tick: u64) {
        let Some(client) = &self.client else { return };
        let current = match self.shared.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let shared = match current {
            Some(s) => s,
            None => {
                let connect = redis::aio::ConnectionManager::new(client.clone());
                match tokio::time::timeout(Duration::from_secs(2), connect).await {
                    Ok(Ok(c)) => {
                        let s = Arc::new(Shared::new(c));
                        match self.shared.write() {
                            Ok(mut w) => *w = Some(s.clone()),
                            Err(p) => *p.into_inner() = Some(s.clone()),
                        }
                        s
                    }
                    Ok(Err(e)) => return self.fail(&e.to_string()),
                    Err(_) => return self.fail("connect timed out"),
                }
            }
        };
        match shared.ping().await {
            Ok(()) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    log::warn!("redis is reachable: limits are shared by every replica again");
                }
            }
            Err(e) => return self.fail(&e),
        }
        if tick.is_multiple_of(10) {
            let held: Vec<_> = lock(&self.held).iter().cloned().collect();
            for (key, id) in held {
                if let Err(e) = shared.refresh(&key, &id, SLOT_TTL_MS).await {
                    return self.fail(&e);
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
