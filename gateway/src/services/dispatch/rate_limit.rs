//! Per-key requests-per-minute limit (fixed one-minute windows, per replica).

use moka::sync::Cache;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct RateLimiter {
    windows: Cache<(i64, i64), Arc<AtomicU32>>,
    /// Counts refusals for `/metrics`.
    refused: prometheus::IntCounter,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            windows: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(Duration::from_secs(120))
                .build(),
            refused: prometheus::IntCounter::new("unregistered", "-")
                .expect("valid metric definition"),
        }
    }
}

impl RateLimiter {
    /// A limiter whose refusals are counted in `refused`.
    pub fn counting(refused: prometheus::IntCounter) -> Self {
        RateLimiter {
            refused,
            ..Self::default()
        }
    }

    /// Counts one request for `token_id`; false when it is over `per_minute`.
    pub fn allow(&self, token_id: i64, per_minute: i64, now: i64) -> bool {
        if per_minute <= 0 {
            return true;
        }
        let counter = self
            .windows
            .get_with((token_id, now / 60), || Arc::new(AtomicU32::new(0)));
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let allowed = i64::from(n) < per_minute;
        if !allowed {
            self.refused.inc();
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_per_minute() {
        let r = RateLimiter::default();
        assert!(r.allow(1, 2, 60));
        assert!(r.allow(1, 2, 61));
        assert!(!r.allow(1, 2, 62));
        assert!(r.allow(1, 2, 120));
        assert!(r.allow(2, 0, 62));
    }
}
