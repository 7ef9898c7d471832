//! The relay's span per proxied request (when `OTEL_EXPORTER_OTLP_ENDPOINT` is set): a
//! child of the caller's `traceparent` (the gateway's attempt), passed on upstream as the
//! upstream's parent. Without tracing the caller's `traceparent` goes through unchanged.

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

/// `service.name` when `OTEL_SERVICE_NAME` is unset, and the instrumentation scope.
pub const SERVICE_NAME: &str = "llm-relay";

/// Inert (`None`) when tracing is off.
#[derive(Default)]
pub struct RelayTrace(Option<Context>);

impl RelayTrace {
    pub fn start(tracing: &shared::otel::Tracing, req: &HttpRequest, request_id: &str) -> Self {
        let Some(tracer) = tracing.tracer() else {
            return RelayTrace(None);
        };
        let parent = shared::otel::extract(req.headers());
        let span = tracer
            .span_builder(format!("proxy {}", req.method()))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", req.method().to_string()),
                KeyValue::new("relay.request_id", request_id.to_string()),
            ])
            .start_with_context(tracer, &parent);
        RelayTrace(Some(parent.with_span(span)))
    }

    /// Makes this span the upstream's parent.
    pub fn propagate(&self, headers: &mut HeaderMap) {
        if let Some(cx) = &self.0 {
            shared::otel::inject_into(cx, headers);
        }
    }

    /// Ends the span with what the access log line says. Names the target host only
    /// (never the URL, which may carry a key in its query).
    pub fn end(&mut self, host: &str, status: Option<u16>, bytes: u64, outcome: &'static str) {
        let Some(cx) = self.0.take() else {
            return;
        };
        let span = cx.span();
        span.set_attributes([
            KeyValue::new("server.address", host.to_string()),
            KeyValue::new("relay.bytes", i64::try_from(bytes).unwrap_or(i64::MAX)),
            KeyValue::new("relay.outcome", outcome),
        ]);
        if let Some(s) = status {
            span.set_attribute(KeyValue::new("http.response.status_code", i64::from(s)));
        }
        if outcome != "complete" || status.is_some_and(|s| s >= 500) {
            span.set_attribute(KeyValue::new("error.type", outcome));
            span.set_status(Status::error(outcome));
        }
        span.end();
    }
}
