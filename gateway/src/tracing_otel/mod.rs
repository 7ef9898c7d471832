//! OpenTelemetry traces (issue 18): one span per `/v1` call with a child per upstream
//! attempt, GenAI semantic-convention attributes, W3C trace context in and out, exported
//! over OTLP/HTTP with protobuf when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set (the exporter itself is `shared::otel`,
//! which the relay uses too). Unset, nothing is built and the dispatch's hooks are single
//! branches. Prompt and completion text are never recorded.

mod call;
pub mod semconv;

pub use call::{CallStart, CallTrace};
pub use shared::otel::{OtelConfig, Tracing};

/// `service.name` when `OTEL_SERVICE_NAME` is unset, and the instrumentation scope.
pub const SERVICE_NAME: &str = "llm-gateway";
