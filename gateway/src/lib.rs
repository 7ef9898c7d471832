//! The LLM API gateway: OpenAI-compatible relay API plus the management API.

pub mod api_schema;
pub mod auth;
pub mod body_deadline;
pub mod conn_watch;
pub mod cors;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub mod providers;
pub mod routes;
pub mod row_cache;
pub mod services;
pub mod settings;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod store;
pub mod tracing_otel;
pub mod upstream;
pub mod util;
pub mod v1_core;
