//! Phase 3: which headers cross the relay in each direction.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use shared::relay_protocol::{
    HEADER_RELAY_ERROR, HEADER_REQUEST_ID, HEADER_TARGET_URL, HEADER_UPSTREAM_REQUEST_ID,
};

/// Hop-by-hop headers (RFC 9110 §7.6.1 plus the common non-standard ones).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers naming the client or the relay hop; the upstream must not see them.
const REQUEST_ONLY: &[&str] = &[
    "host",
    "content-length", // re-derived from the body we send
    "expect",         // actix already answered any 100-continue
    "forwarded",
    "x-real-ip",
    HEADER_TARGET_URL,
];

/// Headers the upstream may not set on our response.
const RESPONSE_ONLY: &[&str] = &["content-length", HEADER_RELAY_ERROR];

fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn filtered(headers: &HeaderMap, drop: impl Fn(&str) -> bool) -> HeaderMap {
    let nominated = connection_tokens(headers);
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers.iter() {
        let lower = name.as_str(); // HeaderName is always lower case
        if HOP_BY_HOP.contains(&lower) || nominated.iter().any(|t| t == lower) || drop(lower) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Headers to send upstream: everything except hop-by-hop, `Host`, `X-Target-URL`,
/// `X-Proxy-*` (the key included), `X-Forwarded-*` and `Forwarded`.
pub fn upstream_request_headers(incoming: &HeaderMap) -> HeaderMap {
    filtered(incoming, |name| {
        REQUEST_ONLY.contains(&name)
            || name.starts_with("x-proxy-")
            || name.starts_with("x-forwarded-")
    })
}

/// Headers to return to the caller: the upstream's, minus hop-by-hop and framing, with
/// `X-Request-Id` set to ours (the upstream's own id moves to `X-Upstream-Request-Id`).
pub fn client_response_headers(upstream: &HeaderMap, request_id: &str) -> HeaderMap {
    let mut out = filtered(upstream, |name| RESPONSE_ONLY.contains(&name));
    let ours = HeaderValue::from_str(request_id).ok();
    if let Some(theirs) = out.remove(HEADER_REQUEST_ID).next() {
        if ours.as_ref() != Some(&theirs) {
            out.insert(HeaderName::from_static(HEADER_UPSTREAM_REQUEST_ID), theirs);
        }
    }
    if let Some(ours) = ours {
        out.insert(HeaderName::from_static(HEADER_REQUEST_ID), ours);
    }
    out
}

/// The caller's request id when it is short and printable, else a fresh one.
pub fn request_id(incoming: &HeaderMap) -> String {
    incoming
        .get(HEADER_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn request_headers_lose_hop_and_proxy_headers_only() {
        let incoming = map(&[
            ("host", "relay"),
            ("connection", "keep-alive, X-Custom-Hop"),
            ("x-custom-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("x-proxy-key", "secret"),
            ("x-proxy-anything", "1"),
            ("x-target-url", "https://a/"),
            ("x-forwarded-for", "1.2.3.4"),
            ("forwarded", "for=1.2.3.4"),
            ("content-length", "3"),
            ("authorization", "Bearer sk-up"),
            ("accept-encoding", "gzip"),
            ("x-request-id", "abc"),
        ]);
        let out = upstream_request_headers(&incoming);
        let names: Vec<_> = out.keys().map(|k| k.as_str()).collect();
        let mut names = names;
        names.sort_unstable();
        assert_eq!(names, ["accept-encoding", "authorization", "x-request-id"]);
    }

    #[test]
    fn response_headers_keep_encoding_and_move_upstream_request_id() {
        let upstream = map(&[
            ("content-encoding", "gzip"),
            ("content-length", "10"),
            ("transfer-encoding", "chunked"),
            ("x-relay-error", "spoofed"),
            ("x-request-id", "req_upstream"),
            ("x-ratelimit-remaining", "9"),
        ]);
        let out = client_response_headers(&upstream, "ours");
        assert_eq!(out.get("content-encoding").unwrap(), "gzip");
        assert_eq!(out.get("x-request-id").unwrap(), "ours");
        assert_eq!(out.get("x-upstream-request-id").unwrap(), "req_upstream");
        assert_eq!(out.get("x-ratelimit-remaining").unwrap(), "9");
        assert!(out.get("content-length").is_none());
        assert!(out.get("transfer-encoding").is_none());
        assert!(out.get("x-relay-error").is_none());
    }

    #[test]
    fn request_id_is_echoed_when_sane_and_generated_otherwise() {
        assert_eq!(request_id(&map(&[("x-request-id", "abc-1")])), "abc-1");
        let generated = request_id(&map(&[("x-request-id", "bad id with spaces")]));
        assert_eq!(generated.len(), 32);
        assert_eq!(request_id(&HeaderMap::new()).len(), 32);
    }
}
