//! Wire types and code both the gateway and the relay need.

#[cfg(feature = "allocator")]
pub mod allocator;
pub mod anthropic;
pub mod error;
pub mod gemini;
#[cfg(feature = "connector")]
pub mod guarded_connector;
pub mod ip_guard;
pub mod json_splice;
pub mod openai;
#[cfg(feature = "otel")]
pub mod otel;
pub mod relay_protocol;
pub mod sse;
