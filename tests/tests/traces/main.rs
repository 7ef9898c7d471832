//! OpenTelemetry traces (issue 18): a real gateway exports to an OTLP/HTTP receiver in
//! the test, which decodes the protobuf. One span per `/v1` call under the client's
//! `traceparent`, one child per upstream attempt whose context the upstream receives,
//! GenAI attributes, and no prompt or completion text.

mod calls;
mod dialects;
mod support;
