//! Error vocabulary shared by the gateway and the relay.

pub use crate::openai::{ErrorBody, ErrorDetail};
pub use crate::sse::SseError;

/// Values of OpenAI's `error.type`, so both binaries spell them the same way.
pub mod kind {
    /// Malformed or semantically invalid request (400, 404, 413).
    pub const INVALID_REQUEST: &str = "invalid_request_error";
    /// Missing or wrong API key (401).
    pub const AUTHENTICATION: &str = "authentication_error";
    /// Key valid but not allowed to do this (403).
    pub const PERMISSION: &str = "permission_error";
    /// Rate limit hit (429).
    pub const RATE_LIMIT: &str = "rate_limit_error";
    /// Quota exhausted (429, with code `insufficient_quota`).
    pub const INSUFFICIENT_QUOTA: &str = "insufficient_quota";
    /// Upstream failed or could not be reached (502/503/504).
    pub const UPSTREAM: &str = "upstream_error";
    /// Something failed on our side (500).
    pub const SERVER: &str = "server_error";
    /// Produced by the relay itself (see the relay protocol).
    pub const RELAY: &str = "relay_error";
}
