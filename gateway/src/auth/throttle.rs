//! Login throttling: attempts counted per (username, ip) and per ip in a sliding window.
//!
//! An attempt is counted *before* the password is checked and given back when it
//! succeeds, so a burst of concurrent guesses cannot all pass the check while the first
//! ones are still hashing.

use moka::sync::Cache;
use std::sync::Mutex;
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_FAILURES_PER_USER_IP: u32 = 10;
const MAX_FAILURES_PER_IP: u32 = 50;

pub struct LoginThrottle {
    failures: Cache<String, u32>,
    /// Makes check-and-count one step; held only for a few map operations.
    lock: Mutex<()>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            failures: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
            lock: Mutex::new(()),
        }
    }
}

impl LoginThrottle {
    fn keys(username: &str, ip: &str) -> (String, String) {
        // Real usernames are at most 32 characters; a cap keeps huge ones from bloating the map.
        let name: String = username.chars().take(64).collect();
        (
            format!("u:{}|{ip}", name.to_lowercase()),
            format!("ip:{ip}"),
        )
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn over_limit(&self, user_key: &str, ip_key: &str) -> bool {
        self.failures.get(user_key).unwrap_or(0) >= MAX_FAILURES_PER_USER_IP
            || self.failures.get(ip_key).unwrap_or(0) >= MAX_FAILURES_PER_IP
    }

    pub fn is_blocked(&self, username: &str, ip: &str) -> bool {
        let (user_key, ip_key) = Self::keys(username, ip);
        self.over_limit(&user_key, &ip_key)
    }

    /// Counts one attempt as a failure up front; `false` (nothing counted) when the
    /// caller is already over a limit. Call `record_success` if the password was right.
    pub fn try_begin(&self, username: &str, ip: &str) -> bool {
        let (user_key, ip_key) = Self::keys(username, ip);
        let _g = self.guard();
        if self.over_limit(&user_key, &ip_key) {
            return false;
        }
        for k in [user_key, ip_key] {
            let n = self.failures.get(&k).unwrap_or(0);
            self.failures.insert(k, n.saturating_add(1));
        }
        true
    }

    /// A right password: the username's failures are forgotten and the attempt counted by
    /// `try_begin` is given back to the address.
    pub fn record_success(&self, username: &str, ip: &str) {
        let (user_key, ip_key) = Self::keys(username, ip);
        let _g = self.guard();
        self.failures.invalidate(&user_key);
        if let Some(n) = self.failures.get(&ip_key) {
            self.failures.insert(ip_key, n.saturating_sub(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_attempts_per_user_then_blocked_and_success_resets() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES_PER_USER_IP {
            assert!(t.try_begin("Ann", "1.2.3.4"));
        }
        assert!(!t.try_begin("ann", "1.2.3.4"));
        assert!(t.is_blocked("ANN", "1.2.3.4"));
        assert!(
            t.try_begin("ann", "5.6.7.8"),
            "another address is not affected"
        );
        t.record_success("ann", "5.6.7.8");
        assert!(t.try_begin("bob", "1.2.3.4"));
        t.record_success("bob", "1.2.3.4");
        assert!(!t.is_blocked("bob", "1.2.3.4"));
    }
}
