//! Login throttling: failures counted per (username, ip) and per ip in a sliding window.

use moka::sync::Cache;
use std::time::Duration;

const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_FAILURES_PER_USER_IP: u32 = 10;
const MAX_FAILURES_PER_IP: u32 = 50;

pub struct LoginThrottle {
    failures: Cache<String, u32>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            failures: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
        }
    }
}

impl LoginThrottle {
    fn keys(username: &str, ip: &str) -> (String, String) {
        (format!("u:{}|{ip}", username.to_lowercase()), format!("ip:{ip}"))
    }

    pub fn is_blocked(&self, username: &str, ip: &str) -> bool {
        let (user_key, ip_key) = Self::keys(username, ip);
        self.failures.get(&user_key).unwrap_or(0) >= MAX_FAILURES_PER_USER_IP
            || self.failures.get(&ip_key).unwrap_or(0) >= MAX_FAILURES_PER_IP
    }

    pub fn record_failure(&self, username: &str, ip: &str) {
        let (user_key, ip_key) = Self::keys(username, ip);
        for k in [user_key, ip_key] {
            let n = self.failures.get(&k).unwrap_or(0);
            self.failures.insert(k, n.saturating_add(1));
        }
    }

    pub fn record_success(&self, username: &str, ip: &str) {
        let (user_key, _) = Self::keys(username, ip);
        self.failures.invalidate(&user_key);
    }
}
