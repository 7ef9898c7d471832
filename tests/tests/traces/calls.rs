//! Chat calls: non-streaming, streaming, failover, and the flush at a graceful stop.

use crate::support::*;
use integration_tests::mock_upstream::{MockUpstream, Reply};
use integration_tests::relay_support::{spawn_relay, TEST_PROXY_KEY};
use integration_tests::v1_support::{chat_body, stream_body, SseReader, MODEL};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_call_is_one_span_under_the_clients_trace_with_one_attempt_child() {
    let (rx, w) = traced_world(&[]).await;
    let trace = trace_id();
    let prompt = "the secret prompt 7f3a9c";
    let r =
        w.gw.send(traced_request(
            &w,
            "/v1/chat/completions",
            &trace,
            &chat_body(prompt),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (call, tries) = call_spans(&rx, &trace, 1).await;
    let log = w.wait_for_logs(1, Duration::from_secs(10)).await.remove(0);

    assert_eq!(call.name(), format!("chat {MODEL}"));
    assert_eq!(call.str("gen_ai.operation.name"), Some("chat"));
    assert_eq!(call.str("gen_ai.provider.name"), Some("openai"));
    assert_eq!(call.str("gen_ai.request.model"), Some(MODEL));
    assert_eq!(call.str("gen_ai.response.model"), Some(MODEL));
    assert_eq!(
        call.int("gen_ai.usage.input_tokens"),
        log["prompt_tokens"].as_i64()
    );
    assert_eq!(
        call.int("gen_ai.usage.output_tokens"),
        log["completion_tokens"].as_i64()
    );
    assert!(call.int("gen_ai.usage.output_tokens") > Some(0));
    let request_id = r.headers["x-request-id"].to_str().expect("request id");
    assert_eq!(call.str("gateway.request_id"), Some(request_id));
    assert_eq!(call.int("gateway.channel.id"), Some(w.channel_id));
    assert_eq!(call.int("http.response.status_code"), Some(200));
    assert_eq!(call.bool("gateway.stream"), Some(false));
    assert!(!call.has("error.type"));

    let attempt = &tries[0];
    assert_eq!(attempt.name(), format!("chat {MODEL}"));
    assert_eq!(attempt.str("gen_ai.provider.name"), Some("openai"));
    assert_eq!(attempt.str("gen_ai.request.model"), Some(MODEL));
    assert_eq!(attempt.int("gateway.channel.id"), Some(w.channel_id));
    assert_eq!(
        attempt.int("gen_ai.usage.output_tokens"),
        log["completion_tokens"].as_i64()
    );
    assert_upstream_parent(
        &w.mock.last_request().expect("upstream call"),
        &trace,
        attempt,
    );

    let answer = r.body["choices"][0]["message"]["content"]
        .as_str()
        .expect("answer");
    assert_not_exported(
        &rx,
        &[
            prompt,
            answer,
            &w.key,
            integration_tests::v1_support::CHANNEL_KEY,
        ],
    );
    // OTEL_EXPORTER_OTLP_HEADERS reach the collector.
    let heads = rx.request_headers();
    assert!(heads.iter().all(|h| h
        .iter()
        .any(|(k, v)| k == "x-collector-key" && v == COLLECTOR_KEY)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_call_ends_its_spans_with_the_streams_usage() {
    let (rx, w) = traced_world(&[]).await;
    let trace = trace_id();
    let mut body = stream_body("stream me 51c0");
    body["stream_options"] = json!({"include_usage": true});
    let rec = SseReader::open(traced_request(&w, "/v1/chat/completions", &trace, &body))
        .await
        .read_to_end(Duration::from_secs(60))
        .await;
    assert!(rec.ends_with_done(), "{}", rec.text());
    let (call, tries) = call_spans(&rx, &trace, 1).await;
    let log = w.wait_for_logs(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(call.bool("gateway.stream"), Some(true));
    assert_eq!(call.int("http.response.status_code"), Some(200));
    assert_eq!(
        call.int("gen_ai.usage.input_tokens"),
        log["prompt_tokens"].as_i64()
    );
    assert_eq!(
        call.int("gen_ai.usage.output_tokens"),
        log["completion_tokens"].as_i64()
    );
    assert!(call.int("gen_ai.usage.output_tokens") > Some(0));
    // The attempt lasts as long as the upstream stream, inside the call.
    let attempt = &tries[0];
    assert!(attempt.span.end_time_unix_nano <= call.span.end_time_unix_nano);
    assert!(attempt.span.start_time_unix_nano >= call.span.start_time_unix_nano);
    assert_upstream_parent(
        &w.mock.last_request().expect("upstream call"),
        &trace,
        attempt,
    );
    assert_not_exported(&rx, &["stream me 51c0", &rec.text()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_two_attempt_children_the_first_failed() {
    let (rx, w) = traced_world(&[]).await;
    let r =
        w.gw.put(
            &format!("/api/channel/{}", w.channel_id),
            Some(&w.root),
            json!({"priority": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bad = MockUpstream::start().await;
    let bad_id = w
        .add_channel(&bad, "preferred", json!({"priority": 10}))
        .await;
    bad.push_reply(Reply::error(500, "boom"));
    let trace = trace_id();
    let r =
        w.gw.send(traced_request(
            &w,
            "/v1/chat/completions",
            &trace,
            &chat_body("fail over"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (call, tries) = call_spans(&rx, &trace, 2).await;
    assert_eq!(call.int("gateway.attempts"), Some(2));
    assert_eq!(call.int("gateway.channel.id"), Some(w.channel_id));
    assert_eq!(call.status_code(), 0);
    let (first, second) = (&tries[0], &tries[1]);
    assert_eq!(first.int("gateway.channel.id"), Some(bad_id));
    assert_eq!(first.status_code(), STATUS_ERROR, "{first:#?}");
    assert_eq!(first.int("http.response.status_code"), Some(502));
    assert!(
        first.str("error.type").is_some_and(|t| !t.is_empty()),
        "{first:#?}"
    );
    assert!(!first.has("gen_ai.usage.output_tokens"));
    assert_eq!(second.int("gateway.channel.id"), Some(w.channel_id));
    assert_ne!(second.status_code(), STATUS_ERROR, "{second:#?}");
    assert!(second.int("gen_ai.usage.output_tokens") > Some(0));
    assert!(first.span.end_time_unix_nano <= second.span.start_time_unix_nano);
    assert_upstream_parent(&bad.last_request().expect("first try"), &trace, first);
    assert_upstream_parent(&w.mock.last_request().expect("second try"), &trace, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_call_has_an_error_type_and_no_attempt() {
    let (rx, w) = traced_world(&[]).await;
    let trace = trace_id();
    let mut body = chat_body("who are you");
    body["model"] = json!("no-such-model");
    let r =
        w.gw.send(traced_request(&w, "/v1/chat/completions", &trace, &body))
            .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let (call, tries) = call_spans(&rx, &trace, 0).await;
    assert!(tries.is_empty());
    assert_eq!(call.str("error.type"), Some("model_not_found"));
    assert_eq!(call.int("http.response.status_code"), Some(404));
    assert_eq!(call.str("gen_ai.request.model"), Some("no-such-model"));
    // A client's mistake is not the server's error.
    assert_ne!(call.status_code(), STATUS_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_still_queued_are_exported_at_a_graceful_stop() {
    // Ten minutes between batches: only the stop's flush can deliver them.
    let (rx, mut w) = traced_world(&[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;
    let trace = trace_id();
    let r =
        w.gw.send(traced_request(
            &w,
            "/v1/chat/completions",
            &trace,
            &chat_body("last one"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.spans().is_empty(), "exported before the stop");
    w.gw.stop().await;
    // The stop returns after the exporter's shutdown sent the last batch.
    let spans: Vec<_> = rx
        .spans()
        .into_iter()
        .filter(|s| s.trace_id() == trace)
        .collect();
    assert_eq!(spans.len(), 2, "{spans:#?}");
}

/// Without tracing in the relay, the attempt's `traceparent` goes through it unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attempts_context_reaches_the_upstream_through_the_relay() {
    let relay = spawn_relay(|_| {}).await;
    let relay_url = relay.url("");
    let (rx, w) = traced_world(&[
        ("RELAY_PROXY_URL", relay_url.as_str()),
        ("RELAY_PROXY_KEY", TEST_PROXY_KEY),
    ])
    .await;
    let trace = trace_id();
    let r =
        w.gw.send(traced_request(
            &w,
            "/v1/chat/completions",
            &trace,
            &chat_body("relayed"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, tries) = call_spans(&rx, &trace, 1).await;
    assert_upstream_parent(
        &w.mock.last_request().expect("upstream call"),
        &trace,
        &tries[0],
    );
    relay.stop().await;
}

/// With tracing in the relay too, its span sits between the attempt and the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_relay_adds_its_span_between_the_attempt_and_the_upstream() {
    let rx = integration_tests::otlp_receiver::OtlpReceiver::start().await;
    let relay_env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url.clone()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50".to_string()),
    ];
    let lookup = |name: &str| {
        relay_env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let otel = shared::otel::OtelConfig::from_lookup(lookup, "llm-relay").expect("config");
    let relay = spawn_relay(|s| s.otel = otel).await;
    let relay_url = relay.url("");
    let w = integration_tests::v1_support::V1World::with_env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url.as_str()),
        ("OTEL_SERVICE_NAME", SERVICE_NAME),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("RELAY_PROXY_URL", relay_url.as_str()),
        ("RELAY_PROXY_KEY", TEST_PROXY_KEY),
    ])
    .await;
    let trace = trace_id();
    let r =
        w.gw.send(traced_request(
            &w,
            "/v1/chat/completions",
            &trace,
            &chat_body("via relay"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = rx.wait_for_trace(&trace, 3, Duration::from_secs(15)).await;
    let (_, tries) = call_spans(&rx, &trace, 1).await;
    let relayed: Vec<_> = all
        .iter()
        .filter(|s| s.service_name == "llm-relay")
        .collect();
    assert_eq!(relayed.len(), 1, "{all:#?}");
    let span = relayed[0];
    assert_eq!(span.kind(), SERVER);
    assert_eq!(span.parent_span_id(), tries[0].span_id());
    assert_eq!(span.int("http.response.status_code"), Some(200));
    assert_eq!(span.str("relay.outcome"), Some("complete"));
    assert!(span.int("relay.bytes") > Some(0));
    assert_upstream_parent(&w.mock.last_request().expect("upstream call"), &trace, span);
    relay.stop().await;
}

/// `gen_ai.response.model` is the model the answer names; cache and reasoning counts appear
/// when the usage has them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answers_model_and_cache_and_reasoning_counts_are_recorded() {
    let (rx, w) = traced_world(&[]).await;
    w.mock.push_reply(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "fine"}}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49,
                "prompt_tokens_details": {"cached_tokens": 32},
                "completion_tokens_details": {"reasoning_tokens": 5}}
        }),
    });
    let trace = trace_id();
    let r =
        w.gw.send(traced_request(
            &w,
            "/v1/chat/completions",
            &trace,
            &chat_body("dated"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (call, tries) = call_spans(&rx, &trace, 1).await;
    for span in [&call, &tries[0]] {
        assert_eq!(
            span.str("gen_ai.response.model"),
            Some("gpt-4o-mini-2024-07-18")
        );
        assert_eq!(span.int("gen_ai.usage.input_tokens"), Some(40));
        assert_eq!(span.int("gen_ai.usage.output_tokens"), Some(9));
        assert_eq!(span.int("gen_ai.usage.cache_read.input_tokens"), Some(32));
        assert_eq!(span.int("gen_ai.usage.reasoning.output_tokens"), Some(5));
        assert!(!span.has("gen_ai.usage.cache_creation.input_tokens"));
    }
    assert_eq!(call.str("gen_ai.request.model"), Some(MODEL));
}
