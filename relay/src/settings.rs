//! Relay configuration, read from the environment (a `.env` file is loaded first if present).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `3001` | listen port (Render sets it) |
//! | `HOST` | `0.0.0.0` | listen address |
//! | `PROXY_SECRET_KEY` | required | shared key the gateway sends in `X-Proxy-Key`; at least 32 characters |
//! | `RELAY_ALLOWED_HOSTS` | empty (any public host) | comma list of allowed target hosts; `*.openai.azure.com` matches every subdomain |
//! | `RELAY_ALLOW_PRIVATE` | `false` | allow loopback/private/link-local targets (local testing only; warns at start) |
//! | `RELAY_ALLOW_HTTP` | `false` | allow plain `http://` targets (local testing only; warns at start) |
//! | `RELAY_CONNECT_TIMEOUT_SECS` | `10` | DNS + TCP connect, and separately the TLS handshake |
//! | `RELAY_FIRST_BYTE_TIMEOUT_SECS` | `300` | from sending the request until the upstream's response headers |
//! | `RELAY_IDLE_TIMEOUT_SECS` | `300` | longest silence between two body chunks, either direction |
//! | `RELAY_MAX_BODY_BYTES` | `33554432` (32 MiB) | largest request body accepted (413 beyond it) |
//! | `RELAY_MAX_CONCURRENT_STREAMS` | `2048` | proxied requests in flight at once (503 beyond it) |
//! | `RELAY_SHUTDOWN_GRACE_SECS` | `25` | on SIGTERM, how long in-flight streams may keep running |
//! | `METRICS_TOKEN` | unset (`/metrics` disabled) | bearer token that `GET /metrics` requires |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other `OTEL_*` of `shared::otel::OtelConfig`) | unset (no traces) | export a span per proxied request over OTLP/HTTP (README, "Traces") |
//! | `RUST_LOG` | `info` | env_logger filter |

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use shared::ip_guard::{HostAllowList, UrlPolicy};

/// Minimum length of `PROXY_SECRET_KEY`.
pub const MIN_KEY_LEN: usize = 32;

/// Validated relay configuration.
#[derive(Clone)]
pub struct Settings {
    pub host: IpAddr,
    pub port: u16,
    pub proxy_key: String,
    pub allowed_hosts: HostAllowList,
    pub allow_private: bool,
    pub allow_http: bool,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_body_bytes: u64,
    pub max_concurrent_streams: usize,
    pub shutdown_grace: Duration,
    /// `GET /metrics` exists only when set, and requires it as a bearer token.
    pub metrics_token: Option<String>,
    /// OpenTelemetry trace export (`OTEL_*`; off unless an OTLP endpoint is set).
    pub otel: shared::otel::OtelConfig,
}

// Hand-written so the key can never end up in a log line through `{:?}`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("proxy_key", &"<redacted>")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allow_private", &self.allow_private)
            .field("allow_http", &self.allow_http)
            .field("max_concurrent_streams", &self.max_concurrent_streams)
            .finish_non_exhaustive()
    }
}

/// A configuration problem; the message names the variable and never echoes a secret.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var} {problem}")]
pub struct SettingsError {
    pub var: &'static str,
    pub problem: String,
}

fn invalid(var: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        var,
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map instead of the environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let proxy_key = match get("PROXY_SECRET_KEY") {
            None => return Err(invalid("PROXY_SECRET_KEY", "is required")),
            Some(key) if key.chars().count() < MIN_KEY_LEN => {
                return Err(invalid(
                    "PROXY_SECRET_KEY",
                    format!("must be at least {MIN_KEY_LEN} characters"),
                ))
            }
            Some(key) => key,
        };
        let allowed_hosts = HostAllowList::parse(&get("RELAY_ALLOWED_HOSTS").unwrap_or_default())
            .map_err(|e| invalid("RELAY_ALLOWED_HOSTS", format!("has an {e}")))?;
        Ok(Self {
            host: parse_or(&get, "HOST", IpAddr::V4(Ipv4Addr::UNSPECIFIED))?,
            port: parse_or(&get, "PORT", 3001)?,
            proxy_key,
            allowed_hosts,
            allow_private: parse_bool(&get, "RELAY_ALLOW_PRIVATE")?,
            allow_http: parse_bool(&get, "RELAY_ALLOW_HTTP")?,
            connect_timeout: secs(&get, "RELAY_CONNECT_TIMEOUT_SECS", 10)?,
            first_byte_timeout: secs(&get, "RELAY_FIRST_BYTE_TIMEOUT_SECS", 300)?,
            idle_timeout: secs(&get, "RELAY_IDLE_TIMEOUT_SECS", 300)?,
            max_body_bytes: positive(&get, "RELAY_MAX_BODY_BYTES", 32 * 1024 * 1024)?,
            max_concurrent_streams: positive(&get, "RELAY_MAX_CONCURRENT_STREAMS", 2048)?,
            shutdown_grace: Duration::from_secs(parse_or(&get, "RELAY_SHUTDOWN_GRACE_SECS", 25)?),
            metrics_token: get("METRICS_TOKEN"),
            otel: shared::otel::OtelConfig::from_lookup(&lookup, crate::proxy::trace::SERVICE_NAME)
                .map_err(|e| invalid(e.var, e.reason))?,
        })
    }

    /// The target policy these settings imply.
    pub fn url_policy(&self) -> UrlPolicy {
        UrlPolicy {
            allow_http: self.allow_http,
            allow_private: self.allow_private,
        }
    }
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    match get(var) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| invalid(var, format!("has an unusable value {:?}", text.trim()))),
    }
}

fn positive<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, SettingsError>
where
    T: std::str::FromStr + PartialEq + From<u8>,
{
    let value = parse_or(get, var, default)?;
    if value == T::from(0) {
        return Err(invalid(var, "must be greater than zero"));
    }
    Ok(value)
}

fn secs(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, SettingsError> {
    positive(get, var, default).map(Duration::from_secs)
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<bool, SettingsError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(invalid(
            var,
            format!("must be true or false, not {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_when_only_the_key_is_set() {
        let s = settings(&[("PROXY_SECRET_KEY", KEY)]).unwrap();
        assert_eq!(s.port, 3001);
        assert_eq!(s.host.to_string(), "0.0.0.0");
        assert!(!s.allow_http && !s.allow_private);
        assert!(s.allowed_hosts.is_empty());
        assert_eq!(s.first_byte_timeout, Duration::from_secs(300));
    }

    #[test]
    fn missing_or_short_key_names_the_variable_without_echoing_it() {
        let err = settings(&[]).err().unwrap().to_string();
        assert!(err.contains("PROXY_SECRET_KEY"), "{err}");
        let err = settings(&[("PROXY_SECRET_KEY", "short-secret")])
            .err()
            .unwrap();
        assert!(err.to_string().contains("PROXY_SECRET_KEY"));
        assert!(!err.to_string().contains("short-secret"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("PORT", "70000"),
            ("HOST", "nowhere"),
            ("RELAY_ALLOW_HTTP", "maybe"),
            ("RELAY_MAX_CONCURRENT_STREAMS", "0"),
            ("RELAY_IDLE_TIMEOUT_SECS", "-1"),
            ("RELAY_ALLOWED_HOSTS", "*"),
        ] {
            let err = settings(&[("PROXY_SECRET_KEY", KEY), (var, value)]).err();
            let err = err.unwrap_or_else(|| panic!("{var}={value} accepted"));
            assert_eq!(err.var, var);
        }
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let s = settings(&[("PROXY_SECRET_KEY", KEY)]).unwrap();
        assert!(!format!("{s:?}").contains(KEY));
    }
}
