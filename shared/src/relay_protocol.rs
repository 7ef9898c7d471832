//! Wire protocol between the gateway and the relay (compatible with llm-proxy-relay).
//!
//! The gateway sends `<METHOD> {RELAY_PROXY_URL}/proxy` with [`HEADER_PROXY_KEY`] and
//! [`HEADER_TARGET_URL`]; everything else is forwarded to the upstream. Errors the relay
//! produces itself carry [`HEADER_RELAY_ERROR`] and the body built by [`error_body`], so the
//! gateway can tell a relay failure from an upstream answer.

use serde_json::{json, Value};

/// Path of the proxy endpoint on the relay.
pub const PROXY_PATH: &str = "/proxy";
/// Shared secret between gateway and relay (required).
pub const HEADER_PROXY_KEY: &str = "x-proxy-key";
/// Absolute upstream URL, query included (required).
pub const HEADER_TARGET_URL: &str = "x-target-url";
/// Optional request id; the relay echoes it back (or generates one).
pub const HEADER_REQUEST_ID: &str = "x-request-id";
/// The upstream's own `x-request-id`, kept when the relay echoes the caller's id instead.
pub const HEADER_UPSTREAM_REQUEST_ID: &str = "x-upstream-request-id";
/// Present only on responses the relay produced itself; the value is a [`RelayErrorCode`].
pub const HEADER_RELAY_ERROR: &str = "x-relay-error";
/// `error.type` of every relay-produced error body.
pub const ERROR_TYPE: &str = "relay_error";

/// Why the relay refused or failed a request; each code maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayErrorCode {
    /// 401: `X-Proxy-Key` missing or wrong.
    Unauthorized,
    /// 400: `X-Target-URL` missing, malformed, or using tricks (userinfo, fragment, ...).
    InvalidTarget,
    /// 400: the client's request itself is unusable (bad Content-Length, broken body).
    BadRequest,
    /// 403: scheme, host or resolved address not allowed.
    TargetNotAllowed,
    /// 413: request body larger than the relay accepts.
    BodyTooLarge,
    /// 502: DNS, TCP or TLS failure, or an unparseable upstream response.
    UpstreamUnreachable,
    /// 504: connect, first-byte or idle timeout.
    UpstreamTimeout,
    /// 503: concurrent-stream limit reached.
    Overloaded,
    /// 500: a bug in the relay.
    Internal,
}

impl RelayErrorCode {
    /// Every code, for exhaustive tests and lookups.
    pub const ALL: [RelayErrorCode; 9] = [
        Self::Unauthorized,
        Self::InvalidTarget,
        Self::BadRequest,
        Self::TargetNotAllowed,
        Self::BodyTooLarge,
        Self::UpstreamUnreachable,
        Self::UpstreamTimeout,
        Self::Overloaded,
        Self::Internal,
    ];

    /// The value sent in `X-Relay-Error` and `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidTarget => "invalid_target",
            Self::BadRequest => "bad_request",
            Self::TargetNotAllowed => "target_not_allowed",
            Self::BodyTooLarge => "body_too_large",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::Overloaded => "overloaded",
            Self::Internal => "internal_error",
        }
    }

    /// HTTP status the relay answers with for this code.
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::InvalidTarget | Self::BadRequest => 400,
            Self::TargetNotAllowed => 403,
            Self::BodyTooLarge => 413,
            Self::UpstreamUnreachable => 502,
            Self::UpstreamTimeout => 504,
            Self::Overloaded => 503,
            Self::Internal => 500,
        }
    }

    /// Parses an `X-Relay-Error` header value; unknown values give `None`.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == value.trim())
    }

    /// Whether the gateway may retry the call on another channel.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::UpstreamUnreachable | Self::UpstreamTimeout | Self::Overloaded
        )
    }
}

impl std::fmt::Display for RelayErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"error":{"message":…,"type":"relay_error","code":…}}`
pub fn error_body(code: RelayErrorCode, message: &str) -> Value {
    json!({
        "error": {
            "message": message,
            "type": ERROR_TYPE,
            "code": code.as_str(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_have_distinct_names() {
        for code in RelayErrorCode::ALL {
            assert_eq!(RelayErrorCode::parse(code.as_str()), Some(code));
        }
        let mut names: Vec<_> = RelayErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RelayErrorCode::ALL.len());
        assert_eq!(RelayErrorCode::parse("nope"), None);
    }

    #[test]
    fn statuses_follow_the_design() {
        use RelayErrorCode::*;
        let expected = [
            (Unauthorized, 401),
            (InvalidTarget, 400),
            (TargetNotAllowed, 403),
            (BodyTooLarge, 413),
            (UpstreamUnreachable, 502),
            (UpstreamTimeout, 504),
            (Overloaded, 503),
        ];
        for (code, status) in expected {
            assert_eq!(code.status(), status, "{code}");
        }
    }

    #[test]
    fn error_body_has_the_openai_like_shape() {
        let body = error_body(RelayErrorCode::Overloaded, "busy");
        assert_eq!(body["error"]["message"], "busy");
        assert_eq!(body["error"]["type"], "relay_error");
        assert_eq!(body["error"]["code"], "overloaded");
    }
}
