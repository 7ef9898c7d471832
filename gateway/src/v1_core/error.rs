//! `/v1` errors in OpenAI's shape (or Anthropic's, for `/v1/messages` clients, or
//! Google's, for Gemini-native clients). `ErrorKind` is the one place that decides an
//! error's HTTP status and its type in each shape.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Which wire format the client speaks, so errors come back in a shape its SDK parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    OpenAi,
    Anthropic,
    /// Gemini's native API (`/v1beta/models/…`): Google's error shape.
    Gemini,
    /// OpenAI's Responses API (`/v1/responses`): errors in OpenAI's shape.
    Responses,
}

/// What went wrong. The kind alone decides the HTTP status and the error's type in each
/// dialect (OpenAI `type`, Anthropic `error.type`, Google `status`): a call site names what
/// happened and cannot pair a status with a type that contradicts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or asks for what cannot be done (400).
    InvalidRequest,
    /// The body is larger than the gateway accepts (413).
    PayloadTooLarge,
    /// The client did not finish sending its body in time (408).
    RequestTimeout,
    /// No key, an unknown key, or a disabled or expired one (401).
    Unauthorized,
    /// The key or its user may not do this (403).
    PermissionDenied,
    /// No such model, route or stored response (404).
    NotFound,
    /// A rate, concurrency or budget limit: the gateway's own or the upstream's (429).
    RateLimited,
    /// The key's or the account's quota is spent (429).
    InsufficientQuota,
    /// A failure inside the gateway the client can do nothing about (500).
    Internal,
    /// The gateway cannot serve the call right now: its database, no channel (503).
    Unavailable,
    /// The upstream failed, answered nonsense or could not be reached (502).
    BadGateway,
    /// The upstream, or the relay on the way to it, did not answer in time (504).
    GatewayTimeout,
    /// The upstream refused the request itself (a 4xx that is not about the channel's
    /// credentials, limits or time): relayed with the upstream's own status, since the
    /// client has to fix its request.
    UpstreamRejected(StatusCode),
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::RateLimited | ErrorKind::InsufficientQuota => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::UpstreamRejected(status) => status,
        }
    }

    /// OpenAI's `error.type` (also the Responses API's).
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::PayloadTooLarge
            | ErrorKind::RequestTimeout
            | ErrorKind::Unauthorized
            | ErrorKind::NotFound
            | ErrorKind::UpstreamRejected(_) => "invalid_request_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::InsufficientQuota => "insufficient_quota",
            ErrorKind::Internal | ErrorKind::Unavailable => "server_error",
            ErrorKind::BadGateway | ErrorKind::GatewayTimeout => "upstream_error",
        }
    }

    /// Anthropic's `error.type`, as its SDKs map statuses to exceptions.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            // Anthropic's own type for 413 (its SDKs map the status, not the type).
            ErrorKind::PayloadTooLarge => "request_too_large",
            ErrorKind::Unauthorized => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RateLimited | ErrorKind::InsufficientQuota => "rate_limit_error",
            ErrorKind::Unavailable => "overloaded_error",
            ErrorKind::RequestTimeout
            | ErrorKind::Internal
            | ErrorKind::BadGateway
            | ErrorKind::GatewayTimeout => "api_error",
            // Only the upstream's status says what it refused.
            ErrorKind::UpstreamRejected(status) => match status.as_u16() {
                400 => "invalid_request_error",
                413 => "request_too_large",
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                _ => "api_error",
            },
        }
    }

    /// Google's canonical status name (`error.status`), as its SDKs expect.
    pub fn google_status(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge => "INVALID_ARGUMENT",
            ErrorKind::Unauthorized => "UNAUTHENTICATED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::RequestTimeout | ErrorKind::GatewayTimeout => "DEADLINE_EXCEEDED",
            ErrorKind::RateLimited | ErrorKind::InsufficientQuota => "RESOURCE_EXHAUSTED",
            ErrorKind::Unavailable | ErrorKind::BadGateway => "UNAVAILABLE",
            ErrorKind::Internal => "INTERNAL",
            ErrorKind::UpstreamRejected(status) => match status.as_u16() {
                400 | 413 => "INVALID_ARGUMENT",
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                408 => "DEADLINE_EXCEEDED",
                409 => "ABORTED",
                429 => "RESOURCE_EXHAUSTED",
                _ => "INTERNAL",
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct V1Error {
    pub kind: ErrorKind,
    pub message: String,
    pub code: Option<String>,
    pub param: Option<String>,
    pub dialect: Dialect,
    /// Extra response headers (rate-limit state, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Display for V1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status().as_u16())
    }
}

impl V1Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        V1Error {
            kind,
            message: message.into(),
            code: None,
            param: None,
            dialect: Dialect::OpenAi,
            headers: Vec::new(),
        }
    }
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }
    pub fn dialect(mut self, d: Dialect) -> Self {
        self.dialect = d;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PayloadTooLarge, message)
    }
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RequestTimeout, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message).code("invalid_api_key")
    }
    pub fn forbidden(message: impl Into<String>, code: &str) -> Self {
        Self::new(ErrorKind::PermissionDenied, message).code(code)
    }
    pub fn not_found(message: impl Into<String>, code: &str) -> Self {
        Self::new(ErrorKind::NotFound, message).code(code)
    }
    pub fn insufficient_quota(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InsufficientQuota, message).code("insufficient_quota")
    }
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited, message).code("rate_limit_exceeded")
    }
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal error")
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadGateway, message)
    }
    pub fn gateway_timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::GatewayTimeout, message)
    }
    /// The upstream's refusal of the request, relayed with the upstream's `status`.
    pub fn upstream_rejected(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UpstreamRejected(status), message)
    }

    pub fn body(&self) -> serde_json::Value {
        match self.dialect {
            Dialect::OpenAi | Dialect::Responses => json!({"error": {
                "message": self.message,
                "type": self.kind.openai_type(),
                "param": self.param,
                "code": self.code,
            }}),
            Dialect::Anthropic => json!({"type": "error", "error": {
                "type": self.kind.anthropic_type(),
                "message": self.message,
            }}),
            Dialect::Gemini => json!({"error": {
                "code": self.status().as_u16(),
                "message": self.message,
                "status": self.kind.google_status(),
            }}),
        }
    }
}

impl From<crate::store::DbError> for V1Error {
    fn from(e: crate::store::DbError) -> Self {
        crate::metrics::database_error("request");
        // An outage's start and end are logged once by the store's reachability guard;
        // one line per refused request would flood the log while it lasts.
        if matches!(e, crate::store::DbError::Unavailable(_)) {
            log::debug!("database unavailable on /v1: {e}");
        } else {
            log::error!("database error on /v1: {e}");
        }
        match e {
            crate::store::DbError::Unavailable(_) => {
                V1Error::unavailable("the gateway's database is unavailable; try again shortly")
                    .code("database_unavailable")
            }
            _ => V1Error::internal(),
        }
    }
}

impl ResponseError for V1Error {
    fn status_code(&self) -> StatusCode {
        self.status()
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status());
        for (name, value) in &self.headers {
            res.insert_header((*name, value.as_str()));
        }
        res.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_refusal_keeps_its_status_in_every_dialect() {
        let e = V1Error::upstream_rejected(StatusCode::UNPROCESSABLE_ENTITY, "bad schema")
            .code("invalid_schema")
            .param("response_format");
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            e.body(),
            json!({"error": {"message": "bad schema", "type": "invalid_request_error",
                             "param": "response_format", "code": "invalid_schema"}})
        );
        let anthropic = e.clone().dialect(Dialect::Anthropic).body();
        assert_eq!(anthropic["error"]["type"], "api_error");
        let google = e.dialect(Dialect::Gemini).body();
        assert_eq!(google["error"]["code"], 422);
        assert_eq!(google["error"]["status"], "INTERNAL");
    }

    #[test]
    fn a_body_too_large_is_anthropics_request_too_large() {
        let ours = V1Error::payload_too_large("too big").dialect(Dialect::Anthropic);
        assert_eq!(ours.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ours.body()["error"]["type"], "request_too_large");
        let theirs = V1Error::upstream_rejected(StatusCode::PAYLOAD_TOO_LARGE, "too big")
            .dialect(Dialect::Anthropic);
        assert_eq!(theirs.body()["error"]["type"], "request_too_large");
        let openai = V1Error::payload_too_large("too big").body();
        assert_eq!(openai["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn quota_and_rate_limits_share_a_status_but_not_an_openai_type() {
        let quota = V1Error::insufficient_quota("spent");
        let limit = V1Error::rate_limited("slow down");
        assert_eq!(quota.status(), limit.status());
        assert_eq!(quota.body()["error"]["type"], "insufficient_quota");
        assert_eq!(limit.body()["error"]["type"], "rate_limit_error");
        let quota = quota.dialect(Dialect::Anthropic).body();
        assert_eq!(quota["error"]["type"], "rate_limit_error");
    }
}
