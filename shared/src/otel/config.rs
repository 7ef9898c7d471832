//! The exporter's settings, read from the standard OpenTelemetry variables (the OTLP
//! exporter specification) through the same lookup as every other setting, so a server
//! started in-process by a test is configured the same way as the binary.

use std::time::Duration;

/// Where and how spans are exported; `traces_endpoint: None` means tracing is off.
#[derive(Clone, Default)]
pub struct OtelConfig {
    /// The full URL spans are POSTed to (`…/v1/traces`).
    pub traces_endpoint: Option<String>,
    /// Extra request headers for the collector (often an API key: never logged).
    pub headers: Vec<(String, String)>,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Per export request.
    pub timeout: Duration,
    /// How long the batch processor waits before sending what it has.
    pub schedule_delay: Option<Duration>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A variable with a value that cannot be used.
#[derive(Debug)]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.var, self.reason)
    }
}

impl std::error::Error for ConfigError {}

fn bad(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

impl OtelConfig {
    /// Reads the variables through `lookup`; `service_name` is used when
    /// `OTEL_SERVICE_NAME` is unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        service_name: &str,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let traces_endpoint = match (
            get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            _ if disabled => None,
            // The signal-specific URL is used as given; the general one is a base.
            (Some(url), _) => Some(checked_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)?),
            (None, Some(base)) => Some(format!(
                "{}/v1/traces",
                checked_url("OTEL_EXPORTER_OTLP_ENDPOINT", base)?.trim_end_matches('/')
            )),
            (None, None) => None,
        };
        for var in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(p) = get(var).filter(|p| p != "http/protobuf") {
                log::warn!("{var}={p} is not supported; traces are sent as http/protobuf");
            }
        }
        let headers_var = if get("OTEL_EXPORTER_OTLP_TRACES_HEADERS").is_some() {
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
        } else {
            "OTEL_EXPORTER_OTLP_HEADERS"
        };
        let headers = match get(headers_var) {
            Some(raw) => parse_headers(&raw).ok_or_else(|| {
                bad(
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "expected key1=value1,key2=value2 (values percent-encoded)",
                )
            })?,
            None => Vec::new(),
        };
        let millis = |var: &'static str| -> Result<Option<Duration>, ConfigError> {
            get(var)
                .map(|v| {
                    v.parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| bad(var, format!("{v:?} is not a number of milliseconds")))
                })
                .transpose()
        };
        let timeout = match millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")? {
            Some(t) => t,
            None => millis("OTEL_EXPORTER_OTLP_TIMEOUT")?.unwrap_or(DEFAULT_TIMEOUT),
        };
        Ok(OtelConfig {
            traces_endpoint,
            headers,
            service_name: get("OTEL_SERVICE_NAME").unwrap_or_else(|| service_name.into()),
            timeout,
            schedule_delay: millis("OTEL_BSP_SCHEDULE_DELAY")?,
        })
    }
}

fn checked_url(var: &'static str, raw: String) -> Result<String, ConfigError> {
    match url::Url::parse(&raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(raw),
        _ => Err(bad(var, format!("{raw:?} is not an http(s) URL"))),
    }
}

/// `key1=value1,key2=value2` with percent-encoded values (W3C baggage format, as the
/// specification defines `OTEL_EXPORTER_OTLP_HEADERS`).
fn parse_headers(raw: &str) -> Option<Vec<(String, String)>> {
    raw.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let value = percent_decode(v.trim())?;
            let key = k.trim();
            (!key.is_empty()).then(|| (key.to_ascii_lowercase(), value))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_SERVICE_NAME: &str = "the-service";

    fn config(pairs: &[(&str, &str)]) -> Result<OtelConfig, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        };
        OtelConfig::from_lookup(lookup, DEFAULT_SERVICE_NAME)
    }

    #[test]
    fn nothing_set_means_tracing_off() {
        let c = config(&[]).unwrap();
        assert!(c.traces_endpoint.is_none());
        assert_eq!(c.service_name, DEFAULT_SERVICE_NAME);
    }

    #[test]
    fn the_general_endpoint_is_a_base_and_the_traces_one_is_used_as_given() {
        let c = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4318/")]).unwrap();
        assert_eq!(
            c.traces_endpoint.as_deref(),
            Some("http://col:4318/v1/traces")
        );
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://other/custom"),
        ])
        .unwrap();
        assert_eq!(c.traces_endpoint.as_deref(), Some("https://other/custom"));
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ])
        .unwrap();
        assert!(c.traces_endpoint.is_none());
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "col:4318")]).is_err());
    }

    #[test]
    fn headers_are_decoded_and_the_traces_variable_wins() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "Authorization=Bearer%20abc, x-tenant = t1",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.headers,
            [
                ("authorization".to_string(), "Bearer abc".to_string()),
                ("x-tenant".to_string(), "t1".to_string())
            ]
        );
        assert!(config(&[("OTEL_EXPORTER_OTLP_HEADERS", "novalue")]).is_err());
    }
}
