//! Turns an `sk-` key into the token and user behind it, enforcing status, expiry,
//! allowed IPs (rate limits are `services::limits`).

use crate::auth::api_key;
use crate::state::AppState;
use crate::store::{
    Token, User, TOKEN_DISABLED, TOKEN_ENABLED, TOKEN_EXHAUSTED, TOKEN_EXPIRED, USER_ENABLED,
};
use crate::v1_core::error::V1Error;
use actix_web::http::header::{self, HeaderName};
use actix_web::HttpRequest;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

/// The authenticated caller of a `/v1` request.
#[derive(Clone)]
pub struct Caller {
    pub token: Arc<Token>,
    pub user: Arc<User>,
}

/// The key from `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`.
pub fn presented_key(req: &HttpRequest) -> Option<Cow<'_, str>> {
    let h = req.headers();
    // Read as bytes and borrowed: `HeaderValue::to_str` checks every byte one by one, and
    // the key is checked for its own alphabet anyway (`api_key::looks_valid`).
    if let Some(v) = h.get(header::AUTHORIZATION) {
        let v = v.as_bytes();
        if let Some(space) = v.iter().position(|&b| b == b' ') {
            if let Some(key) = v[..space]
                .eq_ignore_ascii_case(b"bearer")
                .then(|| text(&v[space + 1..]))
                .flatten()
            {
                return Some(key);
            }
        }
    }
    const OTHER_KEY_HEADERS: [HeaderName; 2] = [
        HeaderName::from_static("x-api-key"),
        HeaderName::from_static("x-goog-api-key"),
    ];
    for name in &OTHER_KEY_HEADERS {
        if let Some(key) = h.get(name).and_then(|v| text(v.as_bytes())) {
            return Some(key);
        }
    }
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "key")
        .map(|(_, v)| Cow::Owned(v.into_owned()))
}

/// A header's value as text without the spaces around it; `None` when it is not UTF-8.
fn text(v: &[u8]) -> Option<Cow<'_, str>> {
    std::str::from_utf8(v.trim_ascii()).ok().map(Cow::Borrowed)
}

/// Identifies and admits the caller (for endpoints that keep no usage log).
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Caller, V1Error> {
    let caller = identify(state, req).await?;
    admit(state, req, &caller).await?;
    Ok(caller)
}

/// Finds the key's token and user; an unknown key is refused here.
pub async fn identify(state: &AppState, req: &HttpRequest) -> Result<Caller, V1Error> {
    let key = presented_key(req).ok_or_else(|| {
        V1Error::unauthorized("missing API key: send it as 'Authorization: Bearer sk-...'")
    })?;
    // A malformed key is refused before hashing or touching the database.
    if !api_key::looks_valid(&key) {
        return Err(V1Error::unauthorized("invalid API key"));
    }
    let hash = api_key::hash_of_presented(&key);
    let token = state
        .token_by_hash(&hash)
        .await?
        .ok_or_else(|| V1Error::unauthorized("invalid API key"))?;
    let user = state
        .user(token.user_id)
        .await?
        .ok_or_else(|| V1Error::unauthorized("invalid API key"))?;
    Ok(Caller { token, user })
}

/// Whether an identified caller may make requests now: key status and expiry, user
/// status, allowed IPs. Separate from `identify` so the relay flow can log refusals.
pub async fn admit(state: &AppState, req: &HttpRequest, caller: &Caller) -> Result<(), V1Error> {
    check_token(state, &caller.token).await?;
    if caller.user.status != USER_ENABLED {
        return Err(V1Error::forbidden("user is disabled", "user_disabled"));
    }
    check_ip(&caller.token, req)
}

/// The error for a key that is not enabled.
pub fn status_error(t: &Token) -> Result<(), V1Error> {
    match t.status {
        TOKEN_ENABLED => Ok(()),
        TOKEN_DISABLED => {
            Err(V1Error::unauthorized("this API key is disabled").code("token_disabled"))
        }
        TOKEN_EXPIRED => {
            Err(V1Error::unauthorized("this API key has expired").code("token_expired"))
        }
        TOKEN_EXHAUSTED => Err(V1Error::insufficient_quota(
            "this API key has used up its quota",
        )),
        _ => Err(V1Error::unauthorized("invalid API key")),
    }
}

async fn check_token(state: &AppState, t: &Token) -> Result<(), V1Error> {
    status_error(t)?;
    if t.expired_at.is_some_and(|e| e <= crate::util::now()) {
        let patch = crate::store::tokens::TokenPatch {
            status: Some(TOKEN_EXPIRED),
            ..Default::default()
        };
        state.store.update_token(t.id, t.user_id, patch).await?;
        state.forget_token(&t.key_hash).await;
        return Err(V1Error::unauthorized("this API key has expired").code("token_expired"));
    }
    Ok(())
}

fn check_ip(t: &Token, req: &HttpRequest) -> Result<(), V1Error> {
    if t.allow_ips.is_empty() {
        return Ok(());
    }
    let ip: Option<IpAddr> = req.peer_addr().map(|a| a.ip());
    let allowed = ip.is_some_and(|ip| {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        t.allow_ips.iter().any(|rule| {
            rule.parse::<IpAddr>().is_ok_and(|r| r == ip)
                || rule.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip))
        })
    });
    if allowed {
        Ok(())
    } else {
        Err(V1Error::forbidden(
            "this API key may not be used from your IP address",
            "ip_not_allowed",
        ))
    }
}
