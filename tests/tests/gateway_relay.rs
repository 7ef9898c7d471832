//! The gateway calling upstreams through the relay (issue 4, gateway side).

use integration_tests::gateway_support::TestGateway;
use integration_tests::mock_upstream::MockUpstream;
use integration_tests::refusing_port::RefusingPort;
use integration_tests::relay_support::{spawn_relay, TestRelay, TEST_PROXY_KEY};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn gateway_via(relay_url: &str) -> TestGateway {
    let gw = TestGateway::spawn_with(&[
        (
            "INITIAL_ADMIN_PASSWORD",
            integration_tests::gateway_support::ADMIN_PASSWORD,
        ),
        ("RELAY_PROXY_URL", relay_url),
        ("RELAY_PROXY_KEY", TEST_PROXY_KEY),
    ])
    .await;
    gw
}

fn relay_base(relay: &TestRelay) -> String {
    relay.url("")
}

/// A funded admin with a key; returns (jwt, key).
async fn funded(gw: &TestGateway) -> (String, String) {
    let jwt = gw.admin().await;
    let r = gw
        .put("/api/user/1", Some(&jwt), json!({"quota": 10_000_000}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (_, key) = gw.create_key(&jwt, json!({"name": "relay-test"})).await;
    (jwt, key)
}

async fn post_v1(gw: &TestGateway, key: &str, path: &str, body: Value) -> (StatusCode, String) {
    let res = gw
        .client
        .post(format!("{}{path}", gw.url))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = res.status();
    (status, res.text().await.expect("body"))
}

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "through the relay"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streaming_and_embeddings_go_through_the_relay_and_are_billed() {
    let mock = MockUpstream::start().await;
    let relay = spawn_relay(|_| {}).await;
    let gw = gateway_via(&relay_base(&relay)).await;
    let (jwt, key) = funded(&gw).await;
    gw.create_channel(
        &jwt,
        json!({"name": "via-relay", "type": 1, "key": "sk-channel-secret-000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;

    let (status, text) = post_v1(&gw, &key, "/v1/chat/completions", chat(false)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("through the relay"), "{text}");
    let (status, text) = post_v1(&gw, &key, "/v1/chat/completions", chat(true)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("data: [DONE]"), "{text}");
    let (status, text) = post_v1(
        &gw,
        &key,
        "/v1/embeddings",
        json!({"model": "gpt-4o", "input": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");

    let seen = mock.requests();
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer sk-channel-secret-000")
        );
        assert!(
            r.header("x-proxy-key").is_none(),
            "the relay strips its key"
        );
        assert!(r.header("x-target-url").is_none());
        assert!(!r.body_text().contains(&key));
    }
    let logs = gw.get("/api/log?page_size=10", Some(&jwt)).await;
    let items = logs.data()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3);
    for item in items {
        assert_eq!(item["status_code"], 200);
        assert!(item["quota"].as_i64().expect("quota") > 0, "billed: {item}");
    }
    let health = gw.get("/health", None).await;
    assert_eq!(health.body["relay"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_is_down_fails_over_to_a_direct_channel() {
    let mock = MockUpstream::start().await;
    let down = RefusingPort::new();
    let gw = gateway_via(&down.url()).await;
    let (jwt, key) = funded(&gw).await;
    let relayed = gw
        .create_channel(
            &jwt,
            json!({"name": "relayed", "type": 1, "key": "sk-a-000000000000",
            "base_url": mock.url(), "models": ["gpt-4o"], "priority": 10}),
        )
        .await;
    let direct = gw
        .create_channel(
            &jwt,
            json!({"name": "direct", "type": 1, "key": "sk-b-000000000000",
            "base_url": mock.url(), "models": ["gpt-4o"], "priority": 0, "use_relay": false}),
        )
        .await;

    let (status, text) = post_v1(&gw, &key, "/v1/chat/completions", chat(false)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(mock.request_count(), 1);
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some("Bearer sk-b-000000000000")
    );
    let logs = gw.get("/api/log?page_size=1", Some(&jwt)).await;
    assert_eq!(logs.data()["items"][0]["channel_id"], direct);
    assert_ne!(relayed, direct);
    let health = gw.get("/health", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["relay"], "unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_failures_reach_the_client_as_502_naming_the_relay_without_secrets() {
    let mock = MockUpstream::start().await;
    let refusing = RefusingPort::new();
    let down = refusing
        .url()
        .replace("http://", "http://relayuser:relaypass@");
    let gw = gateway_via(&down).await;
    let (jwt, key) = funded(&gw).await;
    gw.create_channel(
        &jwt,
        json!({"name": "relayed", "type": 1, "key": "sk-a-000000000000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;
    let (status, text) = post_v1(&gw, &key, "/v1/chat/completions", chat(false)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("relay"),
        "{text}"
    );
    for secret in [TEST_PROXY_KEY, "relaypass", "sk-a-000000000000", &key] {
        assert!(!text.contains(secret), "leaked {secret}: {text}");
    }
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_refusal_counts_as_a_channel_failure() {
    let mock = MockUpstream::start().await;
    // This relay refuses loopback targets, so it answers 403 with X-Relay-Error.
    let relay = spawn_relay(|s| s.allow_private = false).await;
    let gw = gateway_via(&relay_base(&relay)).await;
    let (jwt, key) = funded(&gw).await;
    gw.create_channel(
        &jwt,
        json!({"name": "relayed", "type": 1, "key": "sk-a-000000000000",
        "base_url": mock.url(), "models": ["gpt-4o"], "priority": 5}),
    )
    .await;
    let (status, text) = post_v1(&gw, &key, "/v1/chat/completions", chat(false)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{text}");
    assert!(text.contains("relay"), "{text}");
    let logs = gw.get("/api/log?page_size=1", Some(&jwt)).await;
    assert_eq!(logs.data()["items"][0]["status_code"], 502);
    assert_eq!(logs.data()["items"][0]["quota"], 0, "failures cost nothing");

    gw.create_channel(
        &jwt,
        json!({"name": "direct", "type": 1, "key": "sk-b-000000000000",
        "base_url": mock.url(), "models": ["gpt-4o"], "use_relay": false}),
    )
    .await;
    let (status, text) = post_v1(&gw, &key, "/v1/chat/completions", chat(false)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_tests_go_through_the_relay_when_the_channel_uses_it() {
    let mock = MockUpstream::start().await;
    let relay = spawn_relay(|_| {}).await;
    let gw = gateway_via(&relay_base(&relay)).await;
    let jwt = gw.admin().await;
    let id = gw
        .create_channel(
            &jwt,
            json!({"name": "relayed", "type": 1, "key": "sk-a-000000000000",
            "base_url": mock.url(), "models": ["gpt-4o"], "use_relay": true}),
        )
        .await;
    let r = gw
        .post(&format!("/api/channel/{id}/test"), Some(&jwt), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.data()["success"], true, "{}", r.text);
    relay.stop().await;
    let r = gw
        .post(&format!("/api/channel/{id}/test"), Some(&jwt), json!({}))
        .await;
    assert_eq!(r.data()["success"], false, "{}", r.text);
    assert_eq!(
        mock.request_count(),
        1,
        "the second test never reached the upstream"
    );
}
