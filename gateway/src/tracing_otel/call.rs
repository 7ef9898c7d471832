//! The spans of one `/v1` call: the call's own (a child of the client's `traceparent`
//! when it sent one) and one child per upstream attempt. Inert (`None`) when tracing is
//! off, so every hook the dispatch calls is a single branch then.

use super::{semconv, Tracing};
use crate::providers::Endpoint;
use crate::store::logs::NewLog;
use crate::store::Channel;
use crate::v1_core::error::{Dialect, V1Error};
use actix_web::HttpRequest;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use shared::openai::Usage;

/// The trace of one call; settled with the call's meter (`CallTrace::end`).
#[derive(Default)]
pub struct CallTrace(Option<Box<Active>>);

struct Active {
    tracer: SdkTracer,
    operation: &'static str,
    /// The context holding the call's span.
    call: Context,
    /// The open attempt's span (the last one, once it answered).
    attempt: Option<Context>,
    provider: Option<&'static str>,
    attempts: i64,
    error_type: Option<String>,
    /// The model a non-streamed answer names; else the channel's upstream model is used.
    response_model: Option<String>,
}

/// What the caller's request says, to start a call's span.
pub struct CallStart<'a> {
    pub req: &'a HttpRequest,
    pub ep: Endpoint,
    pub dialect: Dialect,
    pub request_id: &'a str,
}

impl CallTrace {
    /// The call's span, a child of the client's trace context when it sent one; inert
    /// when tracing is off.
    pub fn start(tracing: &Tracing, call: CallStart<'_>) -> Self {
        let Some(tracer) = tracing.tracer() else {
            return CallTrace(None);
        };
        let parent = shared::otel::extract(call.req.headers());
        let operation = semconv::operation(call.ep, call.dialect);
        let span = tracer
            .span_builder(operation)
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new(semconv::OPERATION, operation),
                KeyValue::new(semconv::REQUEST_ID, call.request_id.to_string()),
                KeyValue::new("http.request.method", call.req.method().to_string()),
                // The path only: a Gemini client may put its key in the query.
                KeyValue::new("url.path", call.req.path().to_string()),
            ])
            .start_with_context(tracer, &parent);
        CallTrace(Some(Box::new(Active {
            tracer: tracer.clone(),
            operation,
            call: parent.with_span(span),
            attempt: None,
            provider: None,
            attempts: 0,
            error_type: None,
            response_model: None,
        })))
    }

    /// A child span for a try on `channel`.
    pub fn attempt_started(&mut self, channel: &Channel, upstream_model: &str) {
        let Some(a) = self.0.as_deref_mut() else {
            return;
        };
        if let Some(open) = a.attempt.take() {
            // A try that ended without a verdict being recorded.
            open.span().end();
        }
        a.attempts += 1;
        let provider = semconv::provider(channel);
        a.provider = Some(provider);
        let span = a
            .tracer
            .span_builder(format!("{} {upstream_model}", a.operation))
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new(semconv::OPERATION, a.operation),
                KeyValue::new(semconv::PROVIDER, provider),
                KeyValue::new(semconv::REQUEST_MODEL, upstream_model.to_string()),
                KeyValue::new(semconv::CHANNEL_ID, channel.id),
                KeyValue::new(semconv::CHANNEL_NAME, channel.name.clone()),
                KeyValue::new(semconv::ATTEMPT, a.attempts),
            ])
            .start_with_context(&a.tracer, &a.call);
        a.attempt = Some(a.call.with_span(span));
    }

    /// The open attempt failed with `error` (the next one, if any, follows).
    pub fn attempt_failed(&mut self, error: &V1Error) {
        let Some(a) = self.0.as_deref_mut() else {
            return;
        };
        if let Some(cx) = a.attempt.take() {
            let span = cx.span();
            let kind = error_type(error);
            span.set_attributes([
                KeyValue::new(semconv::ERROR_TYPE, kind.clone()),
                KeyValue::new(semconv::HTTP_STATUS, i64::from(error.status().as_u16())),
            ]);
            span.set_status(Status::error(kind));
            span.end();
        }
    }

    /// Reads the model the upstream says answered (`model`, or Gemini's `modelVersion`)
    /// from a non-streamed answer; only when tracing is on.
    pub fn response_body(&mut self, raw: &[u8]) {
        #[derive(serde::Deserialize)]
        struct Head {
            model: Option<String>,
            #[serde(rename = "modelVersion")]
            model_version: Option<String>,
        }
        let Some(a) = self.0.as_deref_mut() else {
            return;
        };
        if let Ok(head) = serde_json::from_slice::<Head>(raw) {
            a.response_model = head.model.or(head.model_version).filter(|m| !m.is_empty());
        }
    }

    /// The error the client gets (its type becomes the call's `error.type`).
    pub fn call_failed(&mut self, error: &V1Error) {
        if let Some(a) = self.0.as_deref_mut() {
            a.error_type = Some(error_type(error));
        }
    }

    /// Replaces the client's `traceparent`/`tracestate` among the headers going upstream
    /// with the open attempt's context (tracing off: the client's go as they came).
    pub fn propagate(&self, headers: &mut Vec<(&'static str, String)>) {
        let Some(cx) = self.0.as_deref().and_then(|a| a.attempt.as_ref()) else {
            return;
        };
        headers.retain(|(name, _)| !matches!(*name, "traceparent" | "tracestate"));
        headers.extend(shared::otel::inject(cx));
    }

    /// Ends the open attempt and the call's span with the call's outcome, from the log
    /// row the meter settles (one place every call passes, streams included).
    pub fn end(&mut self, log: &NewLog, usage: &Usage) {
        let Some(a) = self.0.take() else {
            return;
        };
        let status = log.status_code;
        let failed = status >= 400;
        let error_type = a.error_type.clone().unwrap_or_else(|| match status {
            499 => "client_closed".into(),
            s => s.to_string(),
        });
        let answered = if failed {
            Vec::new()
        } else {
            semconv::usage(usage)
        };
        let routed = log.channel_id > 0 && !log.upstream_model.is_empty();
        let response_model = a
            .response_model
            .clone()
            .unwrap_or_else(|| log.upstream_model.clone());
        if let Some(cx) = &a.attempt {
            let span = cx.span();
            span.set_attributes(answered.iter().cloned());
            if routed && !failed {
                span.set_attribute(KeyValue::new(
                    semconv::RESPONSE_MODEL,
                    response_model.clone(),
                ));
            }
            if failed {
                span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type.clone()));
                span.set_status(Status::error(error_type.clone()));
            }
            span.end();
        }
        let span = a.call.span();
        if !log.model_name.is_empty() {
            span.update_name(format!("{} {}", a.operation, log.model_name));
            span.set_attribute(KeyValue::new(
                semconv::REQUEST_MODEL,
                log.model_name.clone(),
            ));
        }
        span.set_attributes(answered);
        span.set_attributes([
            KeyValue::new(semconv::HTTP_STATUS, status),
            KeyValue::new(semconv::ENDPOINT, log.endpoint.to_string()),
            KeyValue::new(semconv::STREAM, log.is_stream),
            KeyValue::new(semconv::ATTEMPTS, a.attempts),
        ]);
        if let Some(p) = a.provider {
            span.set_attribute(KeyValue::new(semconv::PROVIDER, p));
        }
        if routed {
            span.set_attribute(KeyValue::new(semconv::CHANNEL_ID, log.channel_id));
            if !failed {
                span.set_attribute(KeyValue::new(
                    semconv::RESPONSE_MODEL,
                    response_model.clone(),
                ));
            }
        }
        if failed {
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type.clone()));
            // A client's mistake (4xx) is not the server's error (HTTP server spans).
            if status >= 500 {
                span.set_status(Status::error(error_type));
            }
        }
        span.end();
    }
}

/// The error's code when it has one (`model_not_found`, `upstream_rate_limited`, …),
/// else its type.
fn error_type(error: &V1Error) -> String {
    error
        .code
        .clone()
        .unwrap_or_else(|| error.kind.openai_type().to_string())
}
