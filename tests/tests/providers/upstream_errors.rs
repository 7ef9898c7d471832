//! Provider errors on Anthropic and Gemini channels: 401 auto-disables, 429/5xx fail
//! over, 400 comes back in OpenAI's shape, errors inside a stream end it cleanly.

use integration_tests::mock_upstream::{MockUpstream, Reply};
use integration_tests::provider_support::{model_for, world, ANTHROPIC, GEMINI};
use integration_tests::v1_support::{channel_body, openai_error, V1World, CHANNEL_KEY};
use serde_json::json;
use std::time::Duration;

/// A world whose primary channel (priority 10) is tried before a backup channel of the
/// same type on a second mock.
async fn with_backup(channel_type: i64) -> (V1World, MockUpstream, i64) {
    let w = world(channel_type, json!({"priority": 10})).await;
    let backup = MockUpstream::start().await;
    backup.update_options(|o| o.api_key = Some(CHANNEL_KEY.to_string()));
    let body = channel_body(
        &backup,
        "backup",
        json!({"type": channel_type, "models": [model_for(channel_type)], "priority": 0}),
    );
    let id = w.gw.create_channel(&w.root, body).await;
    (w, backup, id)
}

fn chat(channel_type: i64) -> serde_json::Value {
    json!({"model": model_for(channel_type), "messages": [{"role": "user", "content": "hi"}]})
}

async fn a_401_disables_the_channel_and_the_backup_answers(channel_type: i64) {
    let (w, backup, _) = with_backup(channel_type).await;
    w.mock.push_reply(Reply::error(401, "invalid x-api-key"));
    let r = w.chat(chat(channel_type)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["choices"][0]["message"]["content"], "Echo: hi");
    assert_eq!((w.mock.request_count(), backup.request_count()), (1, 1));
    let primary = w.channel(w.channel_id).await;
    assert_eq!(primary.status, 3, "auto-disabled");
    // The disabled channel is no longer tried.
    let r = w.chat(chat(channel_type)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((w.mock.request_count(), backup.request_count()), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_401_auto_disables_the_channel_and_fails_over() {
    a_401_disables_the_channel_and_the_backup_answers(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_401_auto_disables_the_channel_and_fails_over() {
    a_401_disables_the_channel_and_the_backup_answers(GEMINI).await;
}

async fn rate_limits_and_server_errors_fail_over(channel_type: i64) {
    let (w, backup, _) = with_backup(channel_type).await;
    for status in [429, 500, 503, 529] {
        w.mock.push_reply(Reply::error(status, "busy"));
        let before = backup.request_count();
        let r = w.chat(chat(channel_type)).await;
        assert_eq!(r.status, 200, "after {status}: {}", r.text);
        assert_eq!(backup.request_count(), before + 1, "after {status}");
    }
    assert_eq!(w.channel(w.channel_id).await.status, 1, "not disabled");
    // Both failing: the client gets the last failure, in OpenAI's shape.
    w.mock.push_reply(Reply::error(503, "busy"));
    backup.push_reply(Reply::error(429, "slow down"));
    let r = w.chat(chat(channel_type)).await;
    let e = openai_error(&r, 429);
    assert_eq!(e["type"], "rate_limit_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_rate_limits_and_server_errors_fail_over() {
    rate_limits_and_server_errors_fail_over(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_rate_limits_and_server_errors_fail_over() {
    rate_limits_and_server_errors_fail_over(GEMINI).await;
}

async fn a_400_comes_back_in_openai_shape(channel_type: i64) {
    let (w, backup, _) = with_backup(channel_type).await;
    w.mock
        .push_reply(Reply::error(400, "messages.0.content: field required"));
    let r = w.chat(chat(channel_type)).await;
    let e = openai_error(&r, 400);
    assert_eq!(e["type"], "invalid_request_error");
    assert!(
        e["message"].as_str().unwrap().contains("field required"),
        "the provider's message: {e}"
    );
    assert_eq!(backup.request_count(), 0, "a client error is not retried");
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert_eq!(logs[0]["status_code"], 400);
    assert_eq!(logs[0]["quota"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_400_is_passed_back_in_openai_shape() {
    a_400_comes_back_in_openai_shape(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_400_is_passed_back_in_openai_shape() {
    a_400_comes_back_in_openai_shape(GEMINI).await;
}

async fn an_error_mid_stream_ends_it_with_an_error_event(channel_type: i64) {
    let w = world(channel_type, json!({})).await;
    // Anthropic: message_start, content_block_start, ping, one delta; Gemini: two of
    // its four chunks; then the provider's error.
    let after = if channel_type == ANTHROPIC { 4 } else { 2 };
    w.mock.push_reply(Reply::StreamError { after });
    let mut b = chat(channel_type);
    b["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", b).await;
    assert_eq!(rec.status, 200, "{}", String::from_utf8_lossy(&rec.raw));
    let errors = rec.error_events();
    assert_eq!(errors.len(), 1, "{}", String::from_utf8_lossy(&rec.raw));
    let message = errors[0]["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Overloaded"), "{}", errors[0]);
    let events = rec.json_events();
    assert!(
        events.last().unwrap().get("error").is_some(),
        "nothing after the error but [DONE]"
    );
    assert!(!rec.text().is_empty(), "the text before the error arrived");
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    let error = logs[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("Overloaded"), "log row: {}", logs[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_error_event_mid_stream_ends_the_stream_and_is_logged() {
    an_error_mid_stream_ends_it_with_an_error_event(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_error_mid_stream_ends_the_stream_and_is_logged() {
    an_error_mid_stream_ends_it_with_an_error_event(GEMINI).await;
}
