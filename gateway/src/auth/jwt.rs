//! HS256 session tokens. Only HS256 is accepted: `alg: none` and other algorithms fail.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Claims {
    /// The user id, as a string per RFC 7519.
    pub sub: String,
    pub role: i64,
    /// Session version: bumped on password change, logout and disable.
    pub sv: i64,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &str, lifetime_hours: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            lifetime_secs: i64::try_from(lifetime_hours.saturating_mul(3600)).unwrap_or(86_400),
        }
    }

    /// Returns the token and its expiry (unix seconds).
    pub fn issue(
        &self,
        user_id: i64,
        role: i64,
        sv: i64,
        now: i64,
    ) -> anyhow::Result<(String, i64)> {
        let exp = now + self.lifetime_secs;
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            sv,
            iat: now,
            exp,
        };
        Ok((
            encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?,
            exp,
        ))
    }

    /// The user id and claims of a valid token.
    pub fn verify(&self, token: &str) -> Option<(i64, Claims)> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        Some((claims.sub.parse().ok()?, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> JwtKeys {
        JwtKeys::new("0123456789abcdef0123456789abcdef", 1)
    }

    #[test]
    fn round_trip_and_tamper() {
        let now = crate::util::now();
        let (t, _) = keys().issue(7, 100, 1, now).unwrap();
        assert_eq!(keys().verify(&t).unwrap().0, 7);
        let mut bad = t.clone();
        bad.pop();
        bad.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert!(keys().verify(&bad).is_none());
        assert!(JwtKeys::new("another-secret-another-secret-xxxx", 1)
            .verify(&t)
            .is_none());
    }

    #[test]
    fn alg_none_and_expired_are_rejected() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = crate::util::now();
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(format!(
            r#"{{"sub":"1","role":100,"sv":1,"iat":{now},"exp":{}}}"#,
            now + 999
        ));
        assert!(keys().verify(&format!("{header}.{body}.")).is_none());
        let (expired, _) = keys().issue(1, 1, 1, now - 10_000).unwrap();
        assert!(keys().verify(&expired).is_none());
    }
}
