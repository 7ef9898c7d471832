//! Password-guess throttling with an exponential backoff, counted per account (whatever
//! address the guesses come from) and per address (whatever account they aim at).
//!
//! A few failures are free; after that every further attempt on the account (or from the
//! address) must wait a delay that doubles with each failure, up to `MAX_DELAY`. The
//! right password is refused only while such a delay runs, never for longer, so an
//! attacker cannot lock the owner out for good, and a guesser gets at most one try per
//! `MAX_DELAY`. An attempt is counted *before* the password is checked and given back when
//! it succeeds, so a burst of concurrent guesses cannot all pass while the first ones are
//! still hashing. Every password check goes through here: logins and the
//! `current_password` of a password change.

use moka::sync::Cache;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an account may collect (from any address) before the backoff starts.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures one address may collect (over all accounts; many people share a NAT).
pub const ADDRESS_FREE_FAILURES: u32 = 30;
/// The wait after the first failure beyond the free ones; it doubles with each further one.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);

#[derive(Clone, Copy, Default)]
struct Entry {
    failures: u32,
    /// No attempt before this moment (the backoff).
    not_before: Option<Instant>,
}

impl Entry {
    fn wait(&self, now: Instant) -> Option<Duration> {
        self.not_before
            .filter(|t| *t > now)
            .map(|t| t.saturating_duration_since(now))
    }

    fn failed(self, free: u32, now: Instant) -> Entry {
        let failures = self.failures.saturating_add(1);
        let not_before = (failures >= free).then(|| now + delay(failures - free));
        Entry {
            failures,
            not_before,
        }
    }
}

/// An IPv6 client usually holds a whole /64, so that is what counts as one address.
fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_string(),
    }
}

/// `FIRST_DELAY · 2^beyond`, capped at `MAX_DELAY`.
fn delay(beyond: u32) -> Duration {
    let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

/// An attempt that was let through and counted; hand it back on success.
pub struct Attempt {
    account: String,
    address: String,
}

pub struct LoginThrottle {
    entries: Cache<String, Entry>,
    /// Makes check-and-count one step; held only for a few map operations.
    lock: Mutex<()>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            entries: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(FORGET_AFTER)
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
            format!("u:{}", name.to_lowercase()),
            format!("ip:{}", address_key(ip)),
        )
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, key: &str) -> Entry {
        self.entries.get(key).unwrap_or_default()
    }

    /// Lets one password check through and counts it as a failure up front, or says how
    /// long the caller must wait (nothing counted then).
    pub fn try_begin(&self, username: &str, ip: &str) -> Result<Attempt, Duration> {
        let (account, address) = Self::keys(username, ip);
        let now = Instant::now();
        let _g = self.guard();
        let (a, b) = (self.get(&account), self.get(&address));
        if let Some(wait) = a.wait(now).max(b.wait(now)) {
            return Err(wait);
        }
        self.entries
            .insert(account.clone(), a.failed(ACCOUNT_FREE_FAILURES, now));
        self.entries
            .insert(address.clone(), b.failed(ADDRESS_FREE_FAILURES, now));
        Ok(Attempt { account, address })
    }

    /// The password was right: the account's failures are forgotten and the attempt is
    /// given back to the address.
    pub fn succeeded(&self, attempt: Attempt) {
        let _g = self.guard();
        self.entries.invalidate(&attempt.account);
        let mut e = self.get(&attempt.address);
        e.failures = e.failures.saturating_sub(1);
        if e.failures < ADDRESS_FREE_FAILURES {
            e.not_before = None;
        }
        self.entries.insert(attempt.address, e);
    }
}

/// Whole seconds to announce in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_one_second_up_to_the_cap() {
        assert_eq!(delay(0), Duration::from_secs(1));
        assert_eq!(delay(3), Duration::from_secs(8));
        assert_eq!(delay(20), MAX_DELAY);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn an_ipv6_client_counts_as_its_slash_64() {
        assert_eq!(address_key("2001:db8:1:2:aa::1"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:bb::9"), "2001:db8:1:2::/64");
        assert_eq!(address_key("10.0.0.1"), "10.0.0.1");
        assert_eq!(address_key("unknown"), "unknown");
    }

    #[test]
    fn free_failures_then_a_wait_and_success_resets_the_account() {
        let t = LoginThrottle::default();
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert!(t.try_begin("Ann", "1.2.3.4").is_ok());
        }
        // The account waits, from any address; other accounts do not.
        let wait = t.try_begin("ann", "5.6.7.8").err().expect("backoff");
        assert!(wait <= FIRST_DELAY, "{wait:?}");
        assert!(t.try_begin("bob", "1.2.3.4").is_ok());
        std::thread::sleep(wait);
        let a = t.try_begin("ANN", "9.9.9.9").expect("after the wait");
        t.succeeded(a);
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert!(
                t.try_begin("ann", "1.2.3.4").is_ok(),
                "forgotten on success"
            );
        }
    }
}
