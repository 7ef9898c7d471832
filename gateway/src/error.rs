//! The management API's error type: `{"success":false,"message":…}` with the right status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 with `Retry-After`: too many wrong passwords (see `auth::throttle`).
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after_secs: u64,
    },
    /// 408: the request body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        ApiError::Forbidden(msg.into())
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
}

impl From<crate::store::DbError> for ApiError {
    fn from(e: crate::store::DbError) -> Self {
        crate::metrics::database_error("api");
        match e {
            crate::store::DbError::Unavailable(_) => {
                // Logged once per outage by the store's reachability guard.
                log::debug!("database unavailable on /api: {e}");
                ApiError::Unavailable("the database is unavailable; try again shortly".into())
            }
            e => ApiError::Internal(e.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests(_) | ApiError::Throttled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(e) = self {
            // The cause chain goes to the log only; clients get an opaque message.
            log::error!("internal error: {e:#}");
        }
        let mut res = HttpResponse::build(self.status_code());
        if let ApiError::Throttled {
            retry_after_secs, ..
        } = self
        {
            res.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_secs));
        }
        res.json(json!({"success": false, "message": self.to_string()}))
    }
}

/// `{"success":true,"message":"","data":…}` with 200.
pub fn ok<T: serde::Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(json!({"success": true, "message": "", "data": data}))
}

/// `{"success":true,…}` with 201 Created.
pub fn created<T: serde::Serialize>(data: T) -> HttpResponse {
    HttpResponse::Created().json(json!({"success": true, "message": "", "data": data}))
}

pub type ApiResult = Result<HttpResponse, ApiError>;
