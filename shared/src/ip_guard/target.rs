//! Validation of a caller-supplied upstream URL before anything is connected to.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::address::{is_public_ip, parse_host_ip, parse_ipv4_lenient};

/// What a caller may target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Allow plain `http://` (local testing only).
    pub allow_http: bool,
    /// Allow loopback, private and other non-public addresses (local testing only).
    pub allow_private: bool,
}

/// The host part of a validated URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHost {
    /// A literal address (already checked against the policy).
    Ip(IpAddr),
    /// A lower-case DNS name; its resolved addresses still need [`super::check_resolved`].
    Domain(String),
}

/// A parsed upstream URL that passed every syntactic and literal-address check.
#[derive(Debug, Clone)]
pub struct TargetUrl {
    /// The normalised URL; send exactly this (its serialisation), not the caller's text.
    pub url: Url,
    pub host: TargetHost,
    pub port: u16,
}

impl TargetUrl {
    /// Host for logs and allow-list checks (no userinfo, path or query, which may hold keys).
    pub fn host_str(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }
}

/// The `NotAllowed` reason for a plain `http://` target under a https-only policy.
pub const ONLY_HTTPS: &str = "only https targets are allowed";
/// The `NotAllowed` reason for a loopback, private or otherwise non-public address.
pub const NOT_PUBLIC: &str = "target address is not a public address";

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Malformed, or uses a trick (userinfo, fragment, backslash, control characters).
    Invalid(&'static str),
    /// Well-formed but forbidden by policy (scheme, host list, address class).
    NotAllowed(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(reason) => write!(f, "invalid target URL: {reason}"),
            Self::NotAllowed(reason) => write!(f, "target not allowed: {reason}"),
        }
    }
}

impl std::error::Error for TargetError {}

/// Parses and checks an absolute `http(s)` URL. Literal IP hosts (in any spelling) are
/// checked here; names must be checked again after resolution, on the addresses connected to.
pub fn parse_target_url(raw: &str, policy: UrlPolicy) -> Result<TargetUrl, TargetError> {
    // The URL parser silently strips tabs/newlines and treats `\` as `/`; refuse such
    // input instead of guessing what the caller meant.
    if raw.is_empty() {
        return Err(TargetError::Invalid("empty"));
    }
    if raw
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(TargetError::Invalid(
            "contains whitespace, control or backslash",
        ));
    }
    if raw.contains('#') {
        return Err(TargetError::Invalid("fragments are not allowed"));
    }
    if !has_canonical_prefix(raw) {
        return Err(TargetError::Invalid(
            "must be an absolute http(s) URL with a host",
        ));
    }
    let url = Url::parse(raw).map_err(|_| TargetError::Invalid("not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(TargetError::NotAllowed(ONLY_HTTPS.into())),
        _ => return Err(TargetError::Invalid("scheme must be http or https")),
    }
    if !url.username().is_empty() || url.password().is_some() || authority_has_at(raw) {
        return Err(TargetError::Invalid("userinfo is not allowed"));
    }
    let host = match url.host() {
        Some(Host::Ipv4(v4)) => TargetHost::Ip(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => TargetHost::Ip(IpAddr::V6(v6)),
        Some(Host::Domain("")) => return Err(TargetError::Invalid("missing host")),
        Some(Host::Domain(name)) => match parse_ipv4_lenient(name) {
            // The URL parser already folds numeric spellings; this is a second net.
            Some(v4) => TargetHost::Ip(IpAddr::V4(v4)),
            None => TargetHost::Domain(name.to_ascii_lowercase()),
        },
        None => return Err(TargetError::Invalid("missing host")),
    };
    let port = url
        .port_or_known_default()
        .ok_or(TargetError::Invalid("missing port"))?;
    if let TargetHost::Ip(ip) = host {
        check_address(ip, policy)?;
    }
    Ok(TargetUrl { url, host, port })
}

/// Refuses a non-public address unless the policy allows private targets.
pub fn check_address(ip: IpAddr, policy: UrlPolicy) -> Result<(), TargetError> {
    if policy.allow_private || is_public_ip(ip) {
        Ok(())
    } else {
        Err(TargetError::NotAllowed(NOT_PUBLIC.into()))
    }
}

/// Checks every address a name resolved to: one bad address refuses the whole name, so a
/// resolver answer mixing public and private addresses cannot steer the connection.
pub fn check_resolved(addrs: &[IpAddr], policy: UrlPolicy) -> Result<(), TargetError> {
    if addrs.is_empty() {
        return Err(TargetError::NotAllowed(
            "target host has no addresses".into(),
        ));
    }
    addrs.iter().try_for_each(|ip| check_address(*ip, policy))
}

/// Requires `http://host` or `https://host` literally: the URL parser would also accept
/// `https:host` or `https:///host`, which other parsers read differently.
fn has_canonical_prefix(raw: &str) -> bool {
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &raw[8..]
    } else if lower.starts_with("http://") {
        &raw[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/')
}

/// True when the authority (between `//` and the next `/`, `?` or end) contains `@`,
/// even percent-encoded: belt and braces over the URL parser's userinfo handling.
fn authority_has_at(raw: &str) -> bool {
    let Some((_, rest)) = raw.split_once("//") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority.contains('@') || authority.to_ascii_lowercase().contains("%40")
}

/// Whether `host` is a literal IP in any spelling (used by callers that must not resolve).
pub fn is_ip_literal(host: &str) -> bool {
    parse_host_ip(host).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_http: false,
        allow_private: false,
    };
    const LOCAL_HTTP: UrlPolicy = UrlPolicy {
        allow_http: true,
        allow_private: false,
    };

    fn refused(raw: &str, policy: UrlPolicy) -> TargetError {
        match parse_target_url(raw, policy) {
            Ok(target) => panic!("{raw} was accepted as {:?}", target.url.as_str()),
            Err(err) => err,
        }
    }

    #[test]
    fn accepts_public_https_names_and_addresses() {
        let target = parse_target_url("https://API.openai.com/v1/chat?x=1", STRICT).unwrap();
        assert_eq!(target.host, TargetHost::Domain("api.openai.com".into()));
        assert_eq!(target.port, 443);
        assert_eq!(target.url.as_str(), "https://api.openai.com/v1/chat?x=1");
        let target = parse_target_url("https://8.8.8.8:8443/", STRICT).unwrap();
        assert_eq!(target.host, TargetHost::Ip("8.8.8.8".parse().unwrap()));
        assert_eq!(target.port, 8443);
    }

    #[test]
    fn plain_http_needs_the_policy() {
        assert!(matches!(
            refused("http://api.openai.com/", STRICT),
            TargetError::NotAllowed(_)
        ));
        assert!(parse_target_url("http://api.openai.com/", LOCAL_HTTP).is_ok());
    }

    #[test]
    fn refuses_loopback_in_every_spelling() {
        for raw in [
            "http://127.0.0.1/",
            "http://127.0.0.2:8080/",
            "http://2130706433/",
            "http://2130706434/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://017700000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://127.0.0.1./",
            "http://%31%32%37.0.0.1/",
            "http://0/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://192.168.0.1/",
            "http://10.1.2.3/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
        ] {
            assert!(
                matches!(refused(raw, LOCAL_HTTP), TargetError::NotAllowed(_)),
                "{raw}"
            );
        }
    }

    #[test]
    fn refuses_url_tricks_as_invalid() {
        for raw in [
            "",
            "/relative",
            "api.openai.com/v1",
            "https://user@api.openai.com/",
            "https://user:pw@api.openai.com/",
            "https://evil@127.0.0.1/",
            "https://api.openai.com@127.0.0.1/",
            "https://api.openai.com%40127.0.0.1/",
            "https://api.openai.com#@127.0.0.1/",
            "https://127.0.0.1#@api.openai.com/",
            "https://api.openai.com/#frag",
            "https://api.openai.com\\@127.0.0.1/",
            "https://api.openai.com /",
            "https://api.open\tai.com/",
            "ftp://api.openai.com/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:6379/_",
            "https:///path-only",
            "https:api.openai.com/",
            "https:/api.openai.com/",
            "https://",
        ] {
            assert!(
                matches!(refused(raw, STRICT), TargetError::Invalid(_)),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn allow_private_lifts_the_address_check_only() {
        let open = UrlPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(parse_target_url("http://127.0.0.1:9/", open).is_ok());
        assert!(parse_target_url("http://u@127.0.0.1:9/", open).is_err());
    }

    #[test]
    fn resolved_addresses_are_all_checked() {
        let public: IpAddr = "1.1.1.1".parse().unwrap();
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(check_resolved(&[public], STRICT).is_ok());
        assert!(check_resolved(&[public, private], STRICT).is_err());
        assert!(check_resolved(&[], STRICT).is_err());
        let open = UrlPolicy {
            allow_http: false,
            allow_private: true,
        };
        assert!(check_resolved(&[private], open).is_ok());
    }

    #[test]
    fn ip_literal_detection() {
        assert!(is_ip_literal("0x7f.1"));
        assert!(is_ip_literal("[::1]"));
        assert!(!is_ip_literal("localhost"));
    }
}
