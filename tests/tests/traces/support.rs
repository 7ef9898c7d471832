//! A gateway wired to an OTLP receiver, and W3C trace context helpers.

use integration_tests::mock_upstream::RecordedRequest;
use integration_tests::otlp_receiver::{OtlpReceiver, ReceivedSpan};
use integration_tests::v1_support::V1World;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// The span id the client's `traceparent` names as the parent.
pub const CLIENT_SPAN: &str = "b7ad6b7169203331";
pub const SERVICE_NAME: &str = "gateway-under-test";
/// Sent to the collector from `OTEL_EXPORTER_OTLP_HEADERS`.
pub const COLLECTOR_KEY: &str = "collector-key-123";

pub const SERVER: i32 = 2;
pub const CLIENT: i32 = 3;
pub const STATUS_ERROR: i32 = 2;

/// A fresh 32-hex-digit trace id per call, so each test finds its own spans.
pub fn trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn traceparent(trace: &str) -> String {
    format!("00-{trace}-{CLIENT_SPAN}-01")
}

/// A receiver and a gateway exporting to it (`extra` over the defaults).
pub async fn traced_world(extra: &[(&str, &str)]) -> (OtlpReceiver, V1World) {
    let rx = OtlpReceiver::start().await;
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url.as_str()),
        ("OTEL_SERVICE_NAME", SERVICE_NAME),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-collector-key=collector-key-123",
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ];
    env.extend_from_slice(extra);
    let w = V1World::with_env(&env).await;
    (rx, w)
}

/// A `/v1` call with the world's key and the client's `traceparent`.
pub fn traced_request(
    w: &V1World,
    path: &str,
    trace: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    w.gw.builder(Method::POST, path, None)
        .bearer_auth(&w.key)
        .header("traceparent", traceparent(trace))
        .header("tracestate", "vendor=client")
        .timeout(Duration::from_secs(60))
        .json(body)
}

/// The call's span and its attempt spans (in attempt order), once `1 + attempts` spans
/// of `trace` arrived.
pub async fn call_spans(
    rx: &OtlpReceiver,
    trace: &str,
    attempts: usize,
) -> (ReceivedSpan, Vec<ReceivedSpan>) {
    let spans: Vec<_> = rx
        .wait_for_trace(trace, 1 + attempts, Duration::from_secs(15))
        .await
        .into_iter()
        .filter(|s| s.service_name == SERVICE_NAME)
        .collect();
    assert_eq!(
        spans.len(),
        1 + attempts,
        "spans of trace {trace}: {spans:#?}; refused: {:?}",
        rx.refused()
    );
    let (calls, mut tries): (Vec<_>, Vec<_>) = spans.into_iter().partition(|s| s.kind() == SERVER);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = calls.into_iter().next().expect("one call span");
    tries.sort_by_key(|s| s.int("gateway.attempt"));
    for t in &tries {
        assert_eq!(t.kind(), CLIENT, "{t:#?}");
        assert_eq!(t.parent_span_id(), call.span_id(), "{t:#?}");
        assert_eq!(t.service_name, SERVICE_NAME);
    }
    assert_eq!(call.parent_span_id(), CLIENT_SPAN, "{call:#?}");
    assert_eq!(call.service_name, SERVICE_NAME);
    (call, tries)
}

/// The upstream saw the attempt's span as its parent, in the client's trace, with the
/// client's `tracestate`.
pub fn assert_upstream_parent(sent: &RecordedRequest, trace: &str, attempt: &ReceivedSpan) {
    assert_eq!(
        sent.header("traceparent"),
        Some(format!("00-{trace}-{}-01", attempt.span_id()).as_str()),
        "{:?}",
        sent.headers
    );
    assert_eq!(sent.header("tracestate"), Some("vendor=client"));
}

/// No export body holds any of `texts` (prompt and completion text never leave).
pub fn assert_not_exported(rx: &OtlpReceiver, texts: &[&str]) {
    let bodies = rx.bodies();
    assert!(!bodies.is_empty());
    for body in bodies {
        for text in texts {
            assert!(
                !body.windows(text.len()).any(|w| w == text.as_bytes()),
                "{text:?} was exported"
            );
        }
    }
}
