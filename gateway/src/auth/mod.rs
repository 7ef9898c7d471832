//! Authentication: passwords, session JWTs, `sk-` API keys, login throttling and the
//! extractors that turn a request into an authenticated caller.

pub mod api_key;
pub mod jwt;
pub mod password;
pub mod secret_box;
pub mod session;
pub mod throttle;

use rand::distributions::Alphanumeric;
use rand::Rng;

/// A random base62 string from the OS-seeded CSPRNG.
pub fn random_string(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
