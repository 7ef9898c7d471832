//! Phase 2: read `X-Target-URL`, validate it, and turn it into the URI awc will use.

use actix_web::http::header::HeaderMap;
use awc::http::Uri;
use shared::ip_guard::{parse_target_url, HostAllowList, TargetUrl, UrlPolicy};
use shared::relay_protocol::HEADER_TARGET_URL;

use crate::error::RelayError;

/// A validated upstream: the parsed URL (for policy and logs) and the URI sent.
#[derive(Debug)]
pub struct Target {
    pub url: TargetUrl,
    pub uri: Uri,
}

impl Target {
    /// Host only: the path and query may carry provider keys (`?key=` for Gemini).
    pub fn host(&self) -> &str {
        self.url.host_str()
    }
}

/// Validates the target header against the policy and the host allow-list.
///
/// Literal addresses are refused here; names are checked again by the connector on the
/// addresses it actually connects to.
pub fn resolve_target(
    headers: &HeaderMap,
    policy: UrlPolicy,
    allowed_hosts: &HostAllowList,
) -> Result<Target, RelayError> {
    let mut values = headers.get_all(HEADER_TARGET_URL);
    let raw = match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .map_err(|_| RelayError::InvalidTarget("X-Target-URL is not valid ASCII".into()))?,
        (None, _) => return Err(RelayError::InvalidTarget("X-Target-URL is required".into())),
        (Some(_), Some(_)) => {
            return Err(RelayError::InvalidTarget(
                "X-Target-URL must be sent once".into(),
            ))
        }
    };
    let url = parse_target_url(raw, policy)?;
    if !allowed_hosts.allows(url.host_str()) {
        return Err(RelayError::TargetNotAllowed(format!(
            "target host {} is not in RELAY_ALLOWED_HOSTS (add it to that comma-separated list on the relay)",
            url.host_str()
        )));
    }
    // Send the normalised serialisation, then make sure the HTTP client's own parser
    // sees the same host: a parser differential here would bypass every check above.
    let uri: Uri = url
        .url
        .as_str()
        .parse()
        .map_err(|_| RelayError::InvalidTarget("target URL cannot be sent".into()))?;
    let same_host = uri
        .host()
        .is_some_and(|host| host.eq_ignore_ascii_case(url.host_str()));
    if !same_host || uri.port_u16().unwrap_or(url.port) != url.port {
        return Err(RelayError::InvalidTarget("ambiguous target URL".into()));
    }
    Ok(Target { url, uri })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(target: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static(HEADER_TARGET_URL),
            HeaderValue::from_str(target).unwrap(),
        );
        map
    }

    const LOCAL: UrlPolicy = UrlPolicy {
        allow_http: true,
        allow_private: true,
    };

    #[test]
    fn normalised_uri_keeps_host_port_and_query() {
        let target = resolve_target(
            &headers("http://LOCALHOST:8080/a?b=c"),
            LOCAL,
            &HostAllowList::default(),
        )
        .unwrap();
        assert_eq!(target.uri.to_string(), "http://localhost:8080/a?b=c");
        assert_eq!(target.host(), "localhost");
        let target = resolve_target(
            &headers("http://[::1]:9/"),
            LOCAL,
            &HostAllowList::default(),
        )
        .unwrap();
        assert_eq!(target.uri.host(), Some("[::1]"));
    }

    #[test]
    fn allow_list_is_applied() {
        let list = HostAllowList::parse("*.openai.azure.com").unwrap();
        let err = resolve_target(&headers("http://127.0.0.1/"), LOCAL, &list).unwrap_err();
        assert!(matches!(err, RelayError::TargetNotAllowed(_)));
        assert!(resolve_target(&headers("https://x.openai.azure.com/"), LOCAL, &list).is_ok());
    }

    #[test]
    fn missing_target_is_a_bad_request() {
        let err = resolve_target(&HeaderMap::new(), LOCAL, &HostAllowList::default());
        assert!(matches!(err, Err(RelayError::InvalidTarget(_))));
    }
}
