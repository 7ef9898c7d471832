//! `sk-` API keys: only the SHA-256 is stored, plus a display prefix.

use sha2::{Digest, Sha256};

const KEY_BODY_LEN: usize = 48;

/// A freshly generated key (shown to the user exactly once).
pub fn generate() -> String {
    format!("sk-{}", super::random_string(KEY_BODY_LEN))
}

/// Lowercase hex SHA-256 of the full key; the lookup column.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Keys remembered by [`hash_of_presented`] before the memo starts over.
const MEMO_KEYS: usize = 4096;

/// [`hash`] of a key a client presents, remembered for keys seen recently: every `/v1`
/// call hashes its key, and SHA-256 without CPU support for it was a sizeable part of
/// the gateway's own work per request. The memo lives only in this process's memory,
/// like the cached token rows it leads to.
pub fn hash_of_presented(key: &str) -> std::sync::Arc<str> {
    use std::sync::LazyLock;
    static MEMO: LazyLock<crate::util::Memo> = LazyLock::new(|| crate::util::Memo::new(MEMO_KEYS));
    MEMO.get_or_compute(key, || hash(key))
}

/// `sk-abcd…wxyz`: enough to recognise a key, useless to an attacker.
pub fn display_prefix(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 11 {
        return "sk-…".into();
    }
    let head: String = chars[..7].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Whether a presented string has the shape of one of our keys (cheap pre-check before hashing).
pub fn looks_valid(key: &str) -> bool {
    key.len() == 3 + KEY_BODY_LEN
        && key.starts_with("sk-")
        && key[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let k = generate();
        assert!(looks_valid(&k));
        assert_eq!(hash(&k).len(), 64);
        let p = display_prefix(&k);
        assert!(p.starts_with(&k[..7]) && p.ends_with(&k[k.len() - 4..]));
        assert!(!p.contains(&k[7..k.len() - 4]));
    }
}
