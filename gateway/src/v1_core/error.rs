//! `/v1` errors in OpenAI's shape (or Anthropic's, for `/v1/messages` clients, or
//! Google's, for Gemini-native clients).

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

#[derive(Debug, Clone)]
pub struct V1Error {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub code: Option<String>,
    pub param: Option<String>,
    pub dialect: Dialect,
    /// Extra response headers (rate-limit state, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Display for V1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status.as_u16())
    }
}

impl V1Error {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        V1Error {
            status,
            message: message.into(),
            kind,
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

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
            .code("invalid_api_key")
    }
    pub fn forbidden(message: impl Into<String>, code: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_error", message).code(code)
    }
    pub fn not_found(message: impl Into<String>, code: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message).code(code)
    }
    pub fn insufficient_quota(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "insufficient_quota", message)
            .code("insufficient_quota")
    }
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message)
            .code("rate_limit_exceeded")
    }
    pub fn upstream(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "upstream_error", message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal error",
        )
    }

    pub fn body(&self) -> serde_json::Value {
        match self.dialect {
            Dialect::OpenAi | Dialect::Responses => json!({"error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }}),
            Dialect::Anthropic => json!({"type": "error", "error": {
                "type": anthropic_type(self.status),
                "message": self.message,
            }}),
            Dialect::Gemini => json!({"error": {
                "code": self.status.as_u16(),
                "message": self.message,
                "status": google_status(self.status),
            }}),
        }
    }
}

/// Anthropic's error `type` for a status, as its SDKs map them.
fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 | 503 => "overloaded_error",
        _ => "api_error",
    }
}

/// Google's canonical status name for an HTTP status, as its SDKs expect.
pub fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        502 | 503 | 529 => "UNAVAILABLE",
        _ => "INTERNAL",
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
            crate::store::DbError::Unavailable(_) => V1Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "the gateway's database is unavailable; try again shortly",
            )
            .code("database_unavailable"),
            _ => V1Error::internal(),
        }
    }
}

impl ResponseError for V1Error {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        for (name, value) in &self.headers {
            res.insert_header((*name, value.as_str()));
        }
        res.json(self.body())
    }
}
