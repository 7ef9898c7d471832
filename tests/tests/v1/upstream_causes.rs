//! An upstream that cannot be reached: the caller, the log row and the channel test name
//! the cause (refused, DNS) instead of a bare "could not reach", and never the key.

use integration_tests::refusing_port::RefusingPort;
use integration_tests::v1_support::{V1World, CHANNEL_KEY, MODEL, USER_QUOTA};
use serde_json::json;
use std::time::Duration;

/// A world whose only channel points at `base_url`.
async fn world_with_upstream(base_url: &str) -> V1World {
    V1World::build_with_channel(
        &[],
        USER_QUOTA,
        json!({"name": "k"}),
        json!({"base_url": base_url}),
    )
    .await
}

/// Sends one chat request, then returns (client-visible message, log row error, channel
/// test message).
async fn failure_reports(w: &V1World) -> (String, String, String) {
    let r = w
        .chat(json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert!(!r.text.contains(CHANNEL_KEY), "{}", r.text);
    let message = r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["status_code"], 502, "{}", logs[0]);
    let logged = logs[0]["error"].as_str().unwrap_or_default().to_string();

    let t =
        w.gw.post(
            &format!("/api/channel/{}/test", w.channel_id),
            Some(&w.root),
            json!({}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.data()["success"], false, "{}", t.text);
    assert!(!t.text.contains(CHANNEL_KEY), "{}", t.text);
    let tested = t.data()["message"].as_str().unwrap_or_default().to_string();
    (message, logged, tested)
}

fn assert_names(what: &str, text: &str, cause: &str) {
    assert!(
        text.contains(cause),
        "{what} should name {cause:?}: {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_named_as_such() {
    let closed = RefusingPort::new();
    let w = world_with_upstream(&closed.url()).await;
    let (message, logged, tested) = failure_reports(&w).await;
    assert_names("the error", &message, "connection refused");
    assert_names("the log row", &logged, "connection refused");
    // Admins also see where: host and port (never the path, which may carry a key).
    assert_names(
        "the channel test",
        &tested,
        &format!("connection refused by 127.0.0.1:{}", closed.port),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_host_is_named_as_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761), so no connection is ever made.
    let host = "upstream.gateway-test.invalid";
    let w = world_with_upstream(&format!("http://{host}")).await;
    let (message, logged, tested) = failure_reports(&w).await;
    assert_names("the error", &message, "DNS lookup failed");
    assert_names("the log row", &logged, "DNS lookup failed");
    assert_names(
        "the channel test",
        &tested,
        &format!("DNS lookup failed for {host}"),
    );
    // The caller is not told the channel's host.
    assert!(!message.contains(host), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_relay_is_named_with_its_cause() {
    let closed = RefusingPort::new();
    let relay = closed.url();
    let relay_key = "relay-key-that-must-not-leak-0123456789";
    let w = V1World::build_with_channel(
        &[("RELAY_PROXY_URL", &relay), ("RELAY_PROXY_KEY", relay_key)],
        USER_QUOTA,
        json!({"name": "k"}),
        json!({"use_relay": true}),
    )
    .await;
    let (message, logged, tested) = failure_reports(&w).await;
    assert_names(
        "the error",
        &message,
        "could not reach the relay proxy: connection refused",
    );
    assert_names("the log row", &logged, "connection refused");
    assert_names(
        "the channel test",
        &tested,
        &format!(
            "relay unreachable: connection refused by 127.0.0.1:{}",
            closed.port
        ),
    );
    for text in [&message, &logged, &tested] {
        assert!(!text.contains(relay_key), "{text}");
    }
}
