//! Per-replica counters: what holds without Redis, or while Redis is unreachable.

use super::{RateState, MINUTE_MS};
use moka::sync::Cache;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Local {
    /// GCRA "theoretical arrival time" (ms) per rate key.
    tats: Cache<String, Arc<Mutex<f64>>>,
    /// Spend per budget key and period.
    spent: Cache<String, Arc<Mutex<i64>>>,
    /// Requests in flight per concurrency key.
    slots: Mutex<HashMap<String, i64>>,
}

impl Default for Local {
    fn default() -> Self {
        Local {
            tats: Cache::builder()
                .max_capacity(500_000)
                .time_to_idle(Duration::from_secs(120))
                .build(),
            spent: Cache::builder()
                .max_capacity(500_000)
                .time_to_idle(Duration::from_secs(32 * 86_400))
                .build(),
            slots: Mutex::new(HashMap::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One GCRA step with burst = limit over one minute; `force` applies the cost even when
/// it is over (settlement corrections). Returns the new TAT and what to report.
pub fn gcra(tat: f64, now: f64, limit: i64, cost: i64, force: bool) -> (f64, RateState) {
    let period = MINUTE_MS as f64;
    let t = period / limit.max(1) as f64;
    let tat = tat.max(now);
    let new_tat = (tat + cost as f64 * t).max(now);
    let allowed = force || new_tat - period <= now;
    let kept = if allowed { new_tat } else { tat };
    let state = RateState {
        allowed,
        limit,
        remaining: (((now + period - kept) / t).floor() as i64).clamp(0, limit),
        reset_ms: (kept - now).ceil() as i64,
        retry_after_ms: if allowed {
            0
        } else {
            (new_tat - period - now).ceil() as i64
        },
    };
    (kept, state)
}

impl Local {
    pub fn rate(&self, key: &str, limit: i64, cost: i64, force: bool, now_ms: i64) -> RateState {
        let cell = self
            .tats
            .get_with(key.to_string(), || Arc::new(Mutex::new(0.0)));
        let mut tat = lock(&cell);
        let (kept, state) = gcra(*tat, now_ms as f64, limit, cost, force);
        *tat = kept;
        state
    }

    /// Adds `amount` to a budget unless that would pass `budget` (0: always add).
    /// Returns whether it was added and the spend before.
    pub fn spend(&self, key: &str, amount: i64, budget: i64) -> (bool, i64) {
        let cell = self
            .spent
            .get_with(key.to_string(), || Arc::new(Mutex::new(0)));
        let mut spent = lock(&cell);
        let before = *spent;
        if budget > 0 && amount > 0 && before.saturating_add(amount) > budget {
            return (false, before);
        }
        *spent = before.saturating_add(amount).max(0);
        (true, before)
    }

    /// What the budget key has counted so far (0 when nothing).
    pub fn spent(&self, key: &str) -> i64 {
        self.spent.get(key).map_or(0, |cell| *lock(&cell))
    }

    pub fn acquire(&self, key: &str, limit: i64) -> bool {
        let mut slots = lock(&self.slots);
        let n = slots.entry(key.to_string()).or_insert(0);
        if *n >= limit {
            return false;
        }
        *n += 1;
        true
    }

    pub fn release(&self, key: &str) {
        let mut slots = lock(&self.slots);
        if let Some(n) = slots.get_mut(key) {
            *n -= 1;
            if *n <= 0 {
                slots.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_of_the_limit_then_one_per_interval() {
        let l = Local::default();
        for i in 0..10 {
            let s = l.rate("k", 10, 1, false, 1000);
            assert!(s.allowed, "request {i}");
            assert_eq!(s.remaining, 9 - i);
        }
        let s = l.rate("k", 10, 1, false, 1000);
        assert!(!s.allowed);
        assert_eq!(s.retry_after_ms, 6000);
        assert!(l.rate("k", 10, 1, false, 7000).allowed);
        assert!(!l.rate("k", 10, 1, false, 7001).allowed);
    }

    #[test]
    fn budgets_and_slots() {
        let l = Local::default();
        assert_eq!(l.spend("b", 60, 100), (true, 0));
        assert_eq!(l.spend("b", 50, 100), (false, 60));
        assert_eq!(l.spend("b", -20, 0), (true, 60));
        assert_eq!(l.spend("b", 50, 100), (true, 40));
        assert!(l.acquire("c", 1));
        assert!(!l.acquire("c", 1));
        l.release("c");
        assert!(l.acquire("c", 1));
    }
}
