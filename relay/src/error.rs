//! Errors the relay produces itself, each mapped to one status and `X-Relay-Error` code.
//!
//! Who failed decides the status: the caller (4xx), the upstream (502/504) or us (503/500).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use shared::ip_guard::TargetError;
use shared::relay_protocol::{error_body, RelayErrorCode, HEADER_RELAY_ERROR};

/// A failure answered by the relay instead of the upstream.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("missing or invalid X-Proxy-Key")]
    Unauthorized,
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    TargetNotAllowed(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("request body exceeds the limit of {0} bytes")]
    BodyTooLarge(u64),
    #[error("upstream unreachable: {0}")]
    UpstreamUnreachable(String),
    #[error("upstream timed out: {0}")]
    UpstreamTimeout(&'static str),
    #[error("too many concurrent streams, try again later")]
    Overloaded,
}

impl RelayError {
    /// The protocol code sent in `X-Relay-Error`.
    pub fn code(&self) -> RelayErrorCode {
        match self {
            Self::Unauthorized => RelayErrorCode::Unauthorized,
            Self::InvalidTarget(_) => RelayErrorCode::InvalidTarget,
            Self::TargetNotAllowed(_) => RelayErrorCode::TargetNotAllowed,
            Self::BadRequest(_) => RelayErrorCode::BadRequest,
            Self::BodyTooLarge(_) => RelayErrorCode::BodyTooLarge,
            Self::UpstreamUnreachable(_) => RelayErrorCode::UpstreamUnreachable,
            Self::UpstreamTimeout(_) => RelayErrorCode::UpstreamTimeout,
            Self::Overloaded => RelayErrorCode::Overloaded,
        }
    }
}

impl From<TargetError> for RelayError {
    fn from(err: TargetError) -> Self {
        match &err {
            TargetError::Invalid(_) => Self::InvalidTarget(err.to_string()),
            TargetError::NotAllowed(reason) => {
                Self::TargetNotAllowed(format!("{err}{}", setting_hint(reason)))
            }
        }
    }
}

/// Names the relay setting that would allow a refused target, so the operator who meant
/// it knows what to change (only the variable: the caller never learns its value).
fn setting_hint(reason: &str) -> &'static str {
    if reason == shared::ip_guard::ONLY_HTTPS {
        " (set RELAY_ALLOW_HTTP=true on the relay to allow plain http targets; testing only)"
    } else if reason == shared::ip_guard::NOT_PUBLIC {
        " (set RELAY_ALLOW_PRIVATE=true on the relay to allow loopback and private addresses; \
         testing only)"
    } else {
        ""
    }
}

impl ResponseError for RelayError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.code();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((HEADER_RELAY_ERROR, code.as_str()));
        if matches!(self, Self::Overloaded) {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        response.json(error_body(code, &self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn responses_carry_the_code_header_and_json_body() {
        let response = RelayError::BodyTooLarge(10).error_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let header = response.headers().get(HEADER_RELAY_ERROR).unwrap();
        assert_eq!(header, "body_too_large");
        let body = response.into_body().try_into_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["type"], "relay_error");
        assert_eq!(json["error"]["code"], "body_too_large");
    }

    #[test]
    fn refusals_name_the_setting_that_allows_them() {
        let http = RelayError::from(TargetError::NotAllowed(shared::ip_guard::ONLY_HTTPS.into()));
        assert!(http.to_string().contains("RELAY_ALLOW_HTTP=true"), "{http}");
        let private =
            RelayError::from(TargetError::NotAllowed(shared::ip_guard::NOT_PUBLIC.into()));
        assert!(
            private.to_string().contains("RELAY_ALLOW_PRIVATE=true"),
            "{private}"
        );
    }

    #[test]
    fn statuses_match_the_protocol() {
        let cases = [
            (RelayError::Unauthorized, 401),
            (RelayError::InvalidTarget(String::new()), 400),
            (RelayError::TargetNotAllowed(String::new()), 403),
            (RelayError::UpstreamUnreachable(String::new()), 502),
            (RelayError::UpstreamTimeout("connect"), 504),
            (RelayError::Overloaded, 503),
        ];
        for (err, status) in cases {
            assert_eq!(err.status_code().as_u16(), status, "{err}");
        }
    }
}
