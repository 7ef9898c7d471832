//! `/v1/messages` errors come in Anthropic's shape
//! (`{"type":"error","error":{"type","message"}}`), whoever caused them.

use integration_tests::mock_upstream::Reply;
use integration_tests::provider_support::{
    anthropic_body, anthropic_error, anthropic_events, messages, messages_builder, messages_stream,
    world, world_with_quota, KeyIn, ANTHROPIC, CLAUDE, OPENAI,
};
use integration_tests::v1_support::MODEL;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_missing_key_is_an_anthropic_authentication_error() {
    let w = world(ANTHROPIC, json!({})).await;
    for how in [KeyIn::XApiKey, KeyIn::Bearer] {
        let req = messages_builder(&w, "/v1/messages", "sk-not-a-real-key", how)
            .json(&anthropic_body(CLAUDE, "x"));
        let r = w.gw.send(req).await;
        anthropic_error(&r, 401, "authentication_error");
    }
    let r =
        w.gw.send(
            w.gw.builder(Method::POST, "/v1/messages", None)
                .json(&anthropic_body(CLAUDE, "x")),
        )
        .await;
    anthropic_error(&r, 401, "authentication_error");
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_body_is_an_anthropic_invalid_request_error() {
    let w = world(ANTHROPIC, json!({})).await;
    let raw = |bytes: &'static [u8]| {
        messages_builder(&w, "/v1/messages", &w.key, KeyIn::XApiKey)
            .header("content-type", "application/json")
            .body(bytes)
    };
    for bad in [
        &b"{not json"[..],
        b"[1, 2]",
        b"{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 10}",
        b"{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": \"ten\", \"messages\": []}",
        b"{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 10, \"messages\": \"hi\"}",
        b"{\"max_tokens\": 10, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
    ] {
        let r = w.gw.send(raw(bad)).await;
        let e = anthropic_error(&r, 400, "invalid_request_error");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_is_an_anthropic_not_found_error() {
    let w = world(ANTHROPIC, json!({})).await;
    let r = messages(&w, anthropic_body("claude-nonexistent", "x")).await;
    let e = anthropic_error(&r, 404, "not_found_error");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("claude-nonexistent"));
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_quota_is_an_anthropic_error_and_nothing_is_sent() {
    let w = world_with_quota(OPENAI, json!({}), &[], 10).await;
    let r = messages(&w, anthropic_body(MODEL, "x")).await;
    let e = anthropic_error(&r, 429, "rate_limit_error");
    assert!(e["message"].as_str().unwrap().contains("quota"), "{e}");
    assert_eq!(w.mock.request_count(), 0);
    let user = w.user().await;
    assert_eq!((user.quota, user.used_quota), (10, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_reach_messages_clients_in_anthropic_shape() {
    // Passthrough: Anthropic's own 400.
    let w = world(ANTHROPIC, json!({})).await;
    w.mock
        .push_reply(Reply::error(400, "max_tokens: must be at most 8192"));
    let r = messages(&w, anthropic_body(CLAUDE, "x")).await;
    let e = anthropic_error(&r, 400, "invalid_request_error");
    assert!(e["message"].as_str().unwrap().contains("8192"), "{e}");
    // A 5xx on the only channel.
    w.mock.push_reply(Reply::error(500, "boom"));
    w.mock.push_reply(Reply::error(500, "boom"));
    w.mock.push_reply(Reply::error(500, "boom"));
    let r = messages(&w, anthropic_body(CLAUDE, "x")).await;
    assert!(r.status.is_server_error(), "{}", r.text);
    assert_eq!(r.body["type"], "error", "{}", r.text);

    // Converted: an OpenAI 400 becomes an Anthropic 400.
    let o = world(OPENAI, json!({})).await;
    o.mock
        .push_reply(Reply::error(400, "Invalid value for 'temperature'"));
    let r = messages(&o, anthropic_body(MODEL, "x")).await;
    let e = anthropic_error(&r, 400, "invalid_request_error");
    assert!(
        e["message"].as_str().unwrap().contains("temperature"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_mid_stream_reaches_messages_clients_as_an_error_event() {
    // Passthrough: the upstream's own `event: error`.
    let w = world(ANTHROPIC, json!({})).await;
    w.mock.push_reply(Reply::StreamError { after: 4 });
    let mut body = anthropic_body(CLAUDE, "x");
    body["stream"] = json!(true);
    let rec = messages_stream(&w, body).await;
    assert_eq!(rec.status, 200);
    let events = anthropic_events(&rec);
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert_eq!(last["error"]["type"], "overloaded_error");
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert!(
        logs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Overloaded")),
        "{}",
        logs[0]
    );

    // Converted: an OpenAI in-stream error becomes an Anthropic error event.
    let o = world(OPENAI, json!({})).await;
    o.mock.push_reply(Reply::StreamError { after: 2 });
    let mut body = anthropic_body(MODEL, "x");
    body["stream"] = json!(true);
    let rec = messages_stream(&o, body).await;
    assert_eq!(rec.status, 200);
    let events = anthropic_events(&rec);
    assert_eq!(events.first().unwrap().0, "message_start");
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert!(last["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(
        !events.iter().any(|(n, _)| n == "message_stop"),
        "{events:?}"
    );
    let errors = events.iter().filter(|(n, _)| n == "error").count();
    assert_eq!(errors, 1, "one error event: {events:?}");
    let logs = o.wait_for_logs(1, Duration::from_secs(10)).await;
    assert!(
        logs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Overloaded")),
        "{}",
        logs[0]
    );
}
