//! bcrypt hashing, run on the blocking pool so it never stalls the async workers.

use std::sync::OnceLock;

const COST: u32 = 10;

/// Password length rules (bcrypt only reads 72 bytes).
pub fn validate(password: &str) -> Result<(), &'static str> {
    // bcrypt reads at most 72 bytes; the minimum counts characters, as people do.
    if password.chars().count() < 8 {
        Err("password must be at least 8 characters")
    } else if password.len() > 72 {
        Err("password must be at most 72 bytes")
    } else {
        Ok(())
    }
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    Ok(tokio::task::spawn_blocking(move || bcrypt::hash(password, COST)).await??)
}

/// Verifies against `hash`, or against a dummy hash when the user does not exist so both
/// paths take the same time.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let result = tokio::task::spawn_blocking(move || {
        let h = hash.unwrap_or_else(|| dummy_hash().to_string());
        bcrypt::verify(password, &h).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && result
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        bcrypt::hash(super::random_string(24), COST).unwrap_or_else(|_| {
            "$2b$10$abcdefghijklmnopqrstuu5NqLZVm1j0n5x0oYjS1F8xhnZ/1R1Q2".into()
        })
    })
}
