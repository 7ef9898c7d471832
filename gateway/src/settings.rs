//! Gateway configuration, read from the environment (and `.env` when present).
//!
//! | variable | default |
//! |---|---|
//! | `PORT`, `HOST` | 3000, 0.0.0.0 |
//! | `DATABASE_URL` | `sqlite://data/gateway.db` |
//! | `DATABASE_MAX_CONNECTIONS` | 16 |
//! | `CLOUDFLARE_API_TOKEN`, `D1_API_BASE` | unset, `https://api.cloudflare.com/client/v4` |
//! | `JWT_SECRET` | generated once into `<data dir>/jwt_secret` |
//! | `TOKEN_EXPIRY_HOURS` | 24 |
//! | `RELAY_PROXY_URL`, `RELAY_PROXY_KEY` | unset (a bare host in the URL means https) |
//! | `ALLOWED_ORIGINS` | `*` |
//! | `INITIAL_ADMIN_PASSWORD` | random, logged once at WARN, must be changed |
//! | `CHANNEL_KEY_SECRET` | derived from `JWT_SECRET` |
//! | `UPSTREAM_TIMEOUT_SECS` | 600 |
//! | `HTTP_WORKERS` | number of CPUs |
//! | `QUOTA_LEASE_REQUESTS` | 16 (0: every request reserves in the database) |
//! | `REPLICA_ID` | random per start (set: a stable id, unique per replica) |
//! | `REPLICA_STALE_SECS` | 30 (a replica silent this long is dead; its leases go back) |
//! | `IMAGE_FETCH_ALLOW_PRIVATE` | false (testing only) |
//! | `METRICS_TOKEN` | unset (`/metrics` open); set: `Authorization: Bearer <token>` required |
//! | `REQUEST_HEADER_TIMEOUT_SECS` | 10 (whole request head; 408 and close beyond) |
//! | `REQUEST_BODY_TIMEOUT_SECS` | 60 (whole request body after its head; 408 and close beyond) |
//! | `SHUTDOWN_GRACE_SECS` | 30 (on SIGTERM/SIGINT, how long in-flight requests may finish) |
//! | `SETTLEMENT_INTERVAL_MS` | 1000 (how long settlements gather before one transaction writes them) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other `OTEL_*` of `tracing_otel::OtelConfig`) | unset: no traces |
//! | `BUILTIN_PRICES` | true: first value of the `builtin_prices` option (seeded once) |

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A configuration problem; its message names the variable so start-up errors are one clear line.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn bad(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

#[derive(Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database_url: String,
    pub database_max_connections: u32,
    pub cloudflare_api_token: Option<String>,
    pub d1_api_base: String,
    pub jwt_secret: String,
    pub token_expiry_hours: u64,
    pub relay_proxy_url: Option<String>,
    pub relay_proxy_key: Option<String>,
    pub allowed_origins: Vec<String>,
    pub initial_admin_password: Option<String>,
    pub channel_key_secret: String,
    pub upstream_timeout_secs: u64,
    pub http_workers: Option<usize>,
    /// How many requests' worth of quota a replica takes from a balance at once.
    pub quota_lease_requests: i64,
    /// `REPLICA_ID`: this replica's stable id; a restart then returns what the previous
    /// incarnation held at once. `None`: a random id per start.
    pub replica_id: Option<String>,
    /// `REPLICA_STALE_SECS`: how long a replica may miss heartbeats before its leases are
    /// returned by another.
    pub replica_stale_secs: u64,
    /// `REDIS_URL`: limits, cool-downs and cache invalidation shared by every replica.
    pub redis_url: Option<String>,
    /// `REDIS_KEY_PREFIX` (default `gw`): keeps deployments (or tests) sharing a Redis apart.
    pub redis_key_prefix: String,
    /// Lets image URLs point at private addresses (local testing only).
    pub image_fetch_allow_private: bool,
    /// Bearer token `/metrics` requires; `None` leaves it open.
    pub metrics_token: Option<String>,
    /// Longest wait for a complete request head.
    pub request_header_timeout_secs: u64,
    /// Longest wait for a complete request body, counted from its head.
    pub request_body_timeout_secs: u64,
    /// How long a graceful stop lets in-flight requests and streams run on.
    pub shutdown_grace_secs: u64,
    /// How long settlements gather before the writer puts them in one transaction.
    pub settlement_interval_ms: u64,
    /// OpenTelemetry trace export (`OTEL_*`; off unless an OTLP endpoint is set).
    pub otel: crate::tracing_otel::OtelConfig,
    /// Seed of the `builtin_prices` option (only when the database has none yet).
    pub builtin_prices: bool,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/gateway.db";
const MIN_SECRET_LEN: usize = 32;

impl Settings {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars)
    }

    /// Builds settings from a variable map; the JWT secret is generated into the data
    /// directory when absent so sessions survive restarts.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let port = match get("PORT") {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| bad("PORT", format!("{p:?} is not a port number")))?,
            None => 3000,
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !["sqlite:", "postgres://", "postgresql://", "d1://"]
            .iter()
            .any(|s| database_url.starts_with(s))
        {
            return Err(bad(
                "DATABASE_URL",
                "must start with sqlite://, postgres:// or d1://",
            ));
        }
        let database_max_connections = parse_num(&get, "DATABASE_MAX_CONNECTIONS", 16u32, 1, 1000)?;
        let token_expiry_hours = parse_num(&get, "TOKEN_EXPIRY_HOURS", 24u64, 1, 24 * 365)?;
        let upstream_timeout_secs = parse_num(&get, "UPSTREAM_TIMEOUT_SECS", 600u64, 1, 86_400)?;
        let quota_lease_requests = parse_num(&get, "QUOTA_LEASE_REQUESTS", 16i64, 0, 1000)?;
        let request_header_timeout_secs =
            parse_num(&get, "REQUEST_HEADER_TIMEOUT_SECS", 10u64, 1, 3600)?;
        let request_body_timeout_secs =
            parse_num(&get, "REQUEST_BODY_TIMEOUT_SECS", 60u64, 1, 3600)?;
        let shutdown_grace_secs = parse_num(&get, "SHUTDOWN_GRACE_SECS", 30u64, 1, 3600)?;
        let replica_stale_secs = parse_num(&get, "REPLICA_STALE_SECS", 30u64, 2, 3600)?;
        let settlement_interval_ms = parse_num(&get, "SETTLEMENT_INTERVAL_MS", 1000u64, 1, 60_000)?;
        let replica_id = get("REPLICA_ID");
        if let Some(id) = &replica_id {
            if id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad(
                    "REPLICA_ID",
                    "must be 1 to 64 letters, digits, '-', '_' or '.'",
                ));
            }
        }
        let http_workers = match get("HTTP_WORKERS") {
            Some(_) => Some(parse_num(&get, "HTTP_WORKERS", 1usize, 1, 256)?),
            None => None,
        };
        let jwt_secret = match get("JWT_SECRET") {
            Some(s) if s.len() < MIN_SECRET_LEN => {
                return Err(bad("JWT_SECRET", "must be at least 32 bytes long"))
            }
            Some(s) => s,
            None => load_or_create_secret(&data_dir(&database_url))?,
        };
        let channel_key_secret = match get("CHANNEL_KEY_SECRET") {
            Some(s) if s.len() < MIN_SECRET_LEN => {
                return Err(bad("CHANNEL_KEY_SECRET", "must be at least 32 bytes long"))
            }
            Some(s) => s,
            None => format!("channel-key:{jwt_secret}"),
        };
        let relay_proxy_url = get("RELAY_PROXY_URL").map(|u| relay_url(&u));
        let relay_proxy_key = get("RELAY_PROXY_KEY");
        if let Some(u) = &relay_proxy_url {
            let parsed =
                url::Url::parse(u).map_err(|_| bad("RELAY_PROXY_URL", "is not an absolute URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(bad(
                    "RELAY_PROXY_URL",
                    "must be an http(s) URL or a bare host name",
                ));
            }
            if relay_proxy_key.is_none() {
                return Err(bad(
                    "RELAY_PROXY_KEY",
                    "is required when RELAY_PROXY_URL is set",
                ));
            }
        }
        if database_url.starts_with("d1://") && get("CLOUDFLARE_API_TOKEN").is_none() {
            return Err(bad(
                "CLOUDFLARE_API_TOKEN",
                "is required for a d1:// DATABASE_URL",
            ));
        }
        if let Some(p) = get("INITIAL_ADMIN_PASSWORD") {
            if p.len() < 8 || p.len() > 72 {
                return Err(bad("INITIAL_ADMIN_PASSWORD", "must be 8 to 72 bytes long"));
            }
        }
        let allowed_origins = get("ALLOWED_ORIGINS")
            .unwrap_or_else(|| "*".into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Settings {
            host: get("HOST").unwrap_or_else(|| "0.0.0.0".into()),
            port,
            database_url,
            database_max_connections,
            cloudflare_api_token: get("CLOUDFLARE_API_TOKEN"),
            d1_api_base: get("D1_API_BASE")
                .unwrap_or_else(|| "https://api.cloudflare.com/client/v4".into()),
            jwt_secret,
            token_expiry_hours,
            relay_proxy_url,
            relay_proxy_key,
            allowed_origins,
            initial_admin_password: get("INITIAL_ADMIN_PASSWORD"),
            channel_key_secret,
            upstream_timeout_secs,
            http_workers,
            quota_lease_requests,
            request_header_timeout_secs,
            request_body_timeout_secs,
            shutdown_grace_secs,
            settlement_interval_ms,
            replica_id,
            replica_stale_secs,
            metrics_token: get("METRICS_TOKEN"),
            otel: crate::tracing_otel::OtelConfig::from_lookup(
                |k| vars.get(k).cloned(),
                crate::tracing_otel::SERVICE_NAME,
            )
            .map_err(|e| bad(e.var, e.reason))?,
            redis_url: get("REDIS_URL").filter(|v| !v.is_empty()),
            redis_key_prefix: get("REDIS_KEY_PREFIX").unwrap_or_else(|| "gw".into()),
            image_fetch_allow_private: get("IMAGE_FETCH_ALLOW_PRIVATE")
                .is_some_and(|v| v == "true" || v == "1"),
            builtin_prices: get("BUILTIN_PRICES").is_none_or(|v| v != "false" && v != "0"),
        })
    }
}

/// A full URL is used as given; a bare host (what Render's `fromService … property: host`
/// provides) means https. A host without a dot is a Render service name, served publicly
/// at `<name>.onrender.com`.
fn relay_url(raw: &str) -> String {
    if raw.contains("://") {
        return raw.trim_end_matches('/').to_string();
    }
    let raw = raw.trim_end_matches('/');
    let host_part = raw.split(['/', ':']).next().unwrap_or(raw);
    if !host_part.contains('.') && host_part != "localhost" && !host_part.is_empty() {
        return format!(
            "https://{host_part}.onrender.com{}",
            &raw[host_part.len()..]
        );
    }
    format!("https://{raw}")
}

fn parse_num<T, F>(get: &F, var: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    F: Fn(&str) -> Option<String>,
{
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    let v: T = raw
        .parse()
        .map_err(|_| bad(var, format!("{raw:?} is not a number")))?;
    if v < min || v > max {
        return Err(bad(var, format!("must be between {min} and {max}")));
    }
    Ok(v)
}

/// The directory holding the SQLite file (or `data/` for other backends).
pub fn data_dir(database_url: &str) -> PathBuf {
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        if path != ":memory:" && !path.is_empty() {
            if let Some(parent) = Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    return parent.to_path_buf();
                }
            }
            return PathBuf::from(".");
        }
    }
    PathBuf::from("data")
}

fn load_or_create_secret(dir: &Path) -> Result<String, ConfigError> {
    let file = dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        let s = existing.trim().to_string();
        if s.len() >= MIN_SECRET_LEN {
            return Ok(s);
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        bad(
            "JWT_SECRET",
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let secret = crate::auth::random_string(64);
    std::fs::write(&file, &secret).map_err(|e| {
        bad(
            "JWT_SECRET",
            format!("cannot write {}: {e}", file.display()),
        )
    })?;
    restrict_permissions(&file);
    log::warn!(
        "JWT_SECRET is not set; generated one into {} (set JWT_SECRET for multi-replica deployments)",
        file.display()
    );
    Ok(secret)
}

#[cfg(unix)]
fn restrict_permissions(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600));
}
#[cfg(not(unix))]
fn restrict_permissions(_file: &Path) {}

// Hand-written so secrets can never reach a log line through `{:?}`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "database",
                &self.database_url.split(':').next().unwrap_or("?"),
            )
            .field("relay_configured", &self.relay_proxy_url.is_some())
            .field("token_expiry_hours", &self.token_expiry_hours)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_relay(url: &str) -> Result<Settings, ConfigError> {
        let vars = HashMap::from([
            ("JWT_SECRET".to_string(), "x".repeat(32)),
            ("RELAY_PROXY_URL".to_string(), url.to_string()),
            ("RELAY_PROXY_KEY".to_string(), "k".repeat(32)),
        ]);
        Settings::from_map(&vars)
    }

    fn relay(url: &str) -> String {
        with_relay(url)
            .expect("valid")
            .relay_proxy_url
            .expect("relay set")
    }

    #[test]
    fn relay_url_accepts_a_bare_host_and_uses_https() {
        assert_eq!(relay("relay.example.com"), "https://relay.example.com");
        assert_eq!(
            relay("relay.example.com:8443/"),
            "https://relay.example.com:8443"
        );
        // Render's `fromService … property: host` gives the service name.
        assert_eq!(
            relay("llm-relay-ab12"),
            "https://llm-relay-ab12.onrender.com"
        );
        assert_eq!(relay("localhost:8080"), "https://localhost:8080");
        // Full URLs are used as given.
        assert_eq!(relay("http://127.0.0.1:9000/"), "http://127.0.0.1:9000");
        assert_eq!(relay("https://r.example.com"), "https://r.example.com");
    }

    #[test]
    fn relay_url_refuses_other_schemes_and_garbage() {
        for bad_url in ["ftp://relay.example.com", "https://", "exa mple.com"] {
            let err = with_relay(bad_url).expect_err(bad_url);
            assert_eq!(err.var, "RELAY_PROXY_URL", "{bad_url}");
        }
    }

    fn with_replica(id: &str, stale: &str) -> Result<Settings, ConfigError> {
        let vars = HashMap::from([
            ("JWT_SECRET".to_string(), "x".repeat(32)),
            ("REPLICA_ID".to_string(), id.to_string()),
            ("REPLICA_STALE_SECS".to_string(), stale.to_string()),
        ]);
        Settings::from_map(&vars)
    }

    #[test]
    fn replica_id_and_stale_threshold_are_checked() {
        let s = with_replica("gw-eu.1_a", "45").expect("valid");
        assert_eq!(s.replica_id.as_deref(), Some("gw-eu.1_a"));
        assert_eq!(s.replica_stale_secs, 45);
        let s = with_replica("", "").expect("defaults");
        assert_eq!((s.replica_id, s.replica_stale_secs), (None, 30));
        for bad in ["a b", "ä", "x/y", &"r".repeat(65)] {
            assert_eq!(with_replica(bad, "").expect_err(bad).var, "REPLICA_ID");
        }
        for bad in ["1", "0", "x", "3601"] {
            assert_eq!(
                with_replica("", bad).expect_err(bad).var,
                "REPLICA_STALE_SECS"
            );
        }
    }
}
