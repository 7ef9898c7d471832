//! AES-256-GCM for provider keys at rest. The stored form is base64(nonce || ciphertext).

use crate::util::Memo;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Values opened recently, by their sealed form: every upstream call needs its
    /// channel's key, and decrypting it each time was measurable per request.
    opened: Memo,
}

const NONCE_LEN: usize = 12;
/// Opened values remembered before the memo starts over.
const MEMO_ENTRIES: usize = 1024;

impl SecretBox {
    /// Derives the 256-bit key from any-length secret material.
    pub fn new(secret: &str) -> Self {
        let key = Sha256::digest(secret.as_bytes());
        SecretBox {
            cipher: Aes256Gcm::new(&key),
            opened: Memo::new(MEMO_ENTRIES),
        }
    }

    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<std::sync::Arc<str>> {
        self.opened.get_or_try(sealed, || self.decrypt(sealed))
    }

    fn decrypt(&self, sealed: &str) -> anyhow::Result<String> {
        let raw = base64::engine::general_purpose::STANDARD.decode(sealed)?;
        if raw.len() <= NONCE_LEN {
            anyhow::bail!("sealed value too short");
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into()?;
        let pt = self.cipher.decrypt(&Nonce::from(nonce), ct).map_err(|_| {
            anyhow::anyhow!("cannot decrypt a channel key (CHANNEL_KEY_SECRET changed?)")
        })?;
        Ok(String::from_utf8(pt)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_key_fails() {
        let b = SecretBox::new("secret-one");
        let sealed = b.seal("sk-provider-key").unwrap();
        assert!(!sealed.contains("provider"));
        assert_eq!(&*b.open(&sealed).unwrap(), "sk-provider-key");
        assert!(SecretBox::new("secret-two").open(&sealed).is_err());
    }
}
