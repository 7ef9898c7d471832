//! Phase 1: the caller must present the shared key in `X-Proxy-Key`.

use actix_web::http::header::HeaderMap;
use sha2::{Digest, Sha256};
use shared::relay_protocol::HEADER_PROXY_KEY;
use subtle::ConstantTimeEq;

use crate::error::RelayError;

/// The configured key, kept only as a digest.
#[derive(Clone)]
pub struct ProxyKey {
    digest: [u8; 32],
}

impl ProxyKey {
    pub fn new(secret: &str) -> Self {
        Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// Constant-time check. Hashing first makes the comparison independent of the
    /// presented key's length as well as of its content.
    pub fn verify(&self, presented: &[u8]) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented).into();
        bool::from(self.digest.ct_eq(&presented))
    }
}

/// Accepts the request only when exactly one `X-Proxy-Key` header holds the right key.
pub fn authorize(headers: &HeaderMap, key: &ProxyKey) -> Result<(), RelayError> {
    let mut values = headers.get_all(HEADER_PROXY_KEY);
    match (values.next(), values.next()) {
        (Some(value), None) if key.verify(value.as_bytes()) => Ok(()),
        _ => Err(RelayError::Unauthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                HeaderName::from_static(HEADER_PROXY_KEY),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_the_exact_key_passes() {
        let key = ProxyKey::new("k".repeat(32).as_str());
        assert!(authorize(&headers(&[&"k".repeat(32)]), &key).is_ok());
        assert!(authorize(&headers(&[]), &key).is_err());
        assert!(authorize(&headers(&[&"k".repeat(31)]), &key).is_err());
        assert!(authorize(&headers(&[&"k".repeat(33)]), &key).is_err());
        assert!(authorize(&headers(&[""]), &key).is_err());
    }

    #[test]
    fn duplicate_key_headers_are_refused() {
        let key = ProxyKey::new("k".repeat(32).as_str());
        let right = "k".repeat(32);
        assert!(authorize(&headers(&[&right, &right]), &key).is_err());
    }
}
