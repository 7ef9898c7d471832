//! Channel selection and failover: priority tiers, weights, retryable and non-retryable
//! upstream failures, auto-disable on 401/403.

use integration_tests::mock_upstream::{MockUpstream, Reply};
use integration_tests::v1_support::{chat_body, openai_error, V1World, CHANNEL_KEY, MODEL};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// A world whose default channel is demoted to priority 0, plus a failing channel at
/// priority 10 on its own mock. Returns (world, failing mock, failing channel id).
async fn with_preferred_channel(env: &[(&str, &str)]) -> (V1World, MockUpstream, i64) {
    let w = V1World::with_env(env).await;
    let r =
        w.gw.put(
            &format!("/api/channel/{}", w.channel_id),
            Some(&w.root),
            json!({"priority": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let bad = MockUpstream::start().await;
    let id = w
        .add_channel(&bad, "preferred", json!({"priority": 10}))
        .await;
    (w, bad, id)
}

async fn fails_over(reply: Reply) {
    let (w, bad, bad_id) = with_preferred_channel(&[]).await;
    bad.push_reply(reply);
    let r = w.chat(chat_body("failover")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["choices"][0]["message"]["content"], "Echo: failover");
    assert_eq!(bad.request_count(), 1);
    assert_eq!(w.mock.request_count(), 1);
    let log = &w.logs().await[0];
    assert_eq!(log["channel_id"], w.channel_id);
    assert_eq!(log["status_code"], 200);
    // A retryable failure does not disable the channel.
    assert_eq!(w.channel(bad_id).await.status, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_fails_over_to_the_next_channel() {
    fails_over(Reply::error(500, "boom")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_fails_over_to_the_next_channel() {
    fails_over(Reply::Json {
        status: 301,
        body: json!({"moved": "https://elsewhere.example/v1"}),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_fails_over_to_the_next_channel() {
    fails_over(Reply::error(429, "slow down")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_first_event_is_an_error_fails_over() {
    let (w, bad, _) = with_preferred_channel(&[]).await;
    bad.push_reply(Reply::StreamError { after: 0 });
    let s = w
        .stream(
            "/v1/chat/completions",
            integration_tests::v1_support::stream_body("sf"),
        )
        .await;
    assert_eq!(s.status, 200);
    assert_eq!(s.text(), "Echo: sf");
    assert!(s.error_events().is_empty(), "{:?}", s.events());
    assert_eq!(bad.request_count(), 1);
    assert_eq!(w.mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_fails_over() {
    let w = V1World::new().await;
    w.gw.put(
        &format!("/api/channel/{}", w.channel_id),
        Some(&w.root),
        json!({"priority": 0}),
    )
    .await;
    let closed = integration_tests::refusing_port::RefusingPort::new();
    w.gw.create_channel(
        &w.root,
        json!({"type": 1, "name": "dead", "key": CHANNEL_KEY, "priority": 10,
               "base_url": closed.url(), "models": [MODEL]}),
    )
    .await;
    let r = w.chat(chat_body("refused")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(w.mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_answers_times_out_and_fails_over() {
    let (w, bad, _) = with_preferred_channel(&[("UPSTREAM_TIMEOUT_SECS", "2")]).await;
    bad.push_reply(Reply::Hang);
    let started = std::time::Instant::now();
    let r = w.chat(chat_body("hang")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(bad.request_count(), 1);
    assert_eq!(w.mock.request_count(), 1);
    // The abandoned connection is closed.
    assert!(bad.wait_for_disconnects(1, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_never_sends_an_event_times_out_and_fails_over() {
    let (w, bad, _) = with_preferred_channel(&[("UPSTREAM_TIMEOUT_SECS", "2")]).await;
    // Head and a comment at once, then a long silence before the first event.
    bad.update_options(|o| o.delay = Duration::from_secs(30));
    bad.push_reply(Reply::Sse(
        ": warming up\n\ndata: {\"choices\":[]}\n\ndata: [DONE]\n\n".into(),
    ));
    let started = std::time::Instant::now();
    let s = w
        .stream(
            "/v1/chat/completions",
            integration_tests::v1_support::stream_body("t"),
        )
        .await;
    assert_eq!(s.status, 200);
    assert_eq!(s.text(), "Echo: t");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(bad.request_count(), 1);
    assert_eq!(w.mock.request_count(), 1);
    assert!(bad.wait_for_disconnects(1, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_is_tried_at_most_once() {
    let w = V1World::new().await;
    w.set_options(json!({"retry_times": 5})).await;
    w.mock.update_options(|o| o.api_key = None);
    let others = [MockUpstream::start().await, MockUpstream::start().await];
    for (i, m) in others.iter().enumerate() {
        w.add_channel(m, &format!("other-{i}"), json!({"priority": i}))
            .await;
    }
    for m in others.iter().chain([&w.mock]) {
        for _ in 0..10 {
            m.push_reply(Reply::error(503, "down"));
        }
    }
    let r = w.chat(chat_body("all down")).await;
    let e = openai_error(&r, 502);
    assert!(!e["message"].as_str().unwrap().contains(CHANNEL_KEY));
    for m in others.iter().chain([&w.mock]) {
        assert_eq!(m.request_count(), 1);
    }
    // Nothing used, nothing charged, one log row with the failure.
    let logs = w.logs().await;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["quota"], 0);
    assert_eq!(logs[0]["status_code"], 502);
    w.assert_ledger(integration_tests::v1_support::USER_QUOTA)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_times_zero_means_a_single_attempt() {
    let (w, bad, _) = with_preferred_channel(&[]).await;
    w.set_options(json!({"retry_times": 0})).await;
    bad.push_reply(Reply::error(500, "boom"));
    let r = w.chat(chat_body("once")).await;
    openai_error(&r, 502);
    assert_eq!(bad.request_count(), 1);
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_from_upstream_is_returned_without_retry() {
    let (w, bad, bad_id) = with_preferred_channel(&[]).await;
    bad.push_reply(Reply::error(400, "Invalid value for 'temperature'"));
    let r = w.chat(chat_body("bad param")).await;
    let e = openai_error(&r, 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Invalid value for 'temperature'"),
        "{e}"
    );
    assert_eq!(bad.request_count(), 1);
    assert_eq!(w.mock.request_count(), 0);
    assert_eq!(w.channel(bad_id).await.status, 1);
    assert_eq!(w.user().await.used_quota, 0);
}

async fn auth_failure(status: u16, auto_disable: bool) {
    let (w, bad, bad_id) = with_preferred_channel(&[]).await;
    if !auto_disable {
        w.set_options(json!({"auto_disable_channel": false})).await;
    }
    bad.push_reply(Reply::error(status, "invalid api key"));
    let r = w.chat(chat_body("auth")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(bad.request_count(), 1);
    let r =
        w.gw.get(&format!("/api/channel/{bad_id}"), Some(&w.root))
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ch = r.data();
    if auto_disable {
        assert_eq!(ch["status"], 3, "{ch}");
        let reason = ch["disabled_reason"].as_str().unwrap();
        assert!(reason.contains(&status.to_string()), "{reason}");
        // Disabled channels are no longer tried.
        let r = w.chat(chat_body("again")).await;
        assert_eq!(r.status, 200);
        assert_eq!(bad.request_count(), 1);
    } else {
        assert_eq!(ch["status"], 1, "{ch}");
        let r = w.chat(chat_body("again")).await;
        assert_eq!(r.status, 200);
        assert_eq!(bad.request_count(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_auto_disables_the_channel() {
    auth_failure(401, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_auto_disables_the_channel() {
    auth_failure(403, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_leaves_the_channel_alone_when_auto_disable_is_off() {
    auth_failure(401, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_highest_priority_channel_takes_all_traffic() {
    let w = V1World::new().await;
    let low = MockUpstream::start().await;
    w.add_channel(&low, "low", json!({"priority": -5, "weight": 100}))
        .await;
    for i in 0..20 {
        let r = w.chat(chat_body(&format!("p{i}"))).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(w.mock.request_count(), 20);
    assert_eq!(low.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_split_traffic_within_a_priority() {
    let w = V1World::new().await;
    w.gw.put(
        &format!("/api/channel/{}", w.channel_id),
        Some(&w.root),
        json!({"weight": 3}),
    )
    .await;
    let light = MockUpstream::start().await;
    w.add_channel(&light, "light", json!({"weight": 1})).await;
    let total = 200;
    let results = futures_util::future::join_all((0..8).map(|_| async {
        let mut ok = 0;
        for _ in 0..total / 8 {
            let r = w.chat(chat_body("w")).await;
            ok += usize::from(r.status == 200);
        }
        ok
    }))
    .await;
    assert_eq!(results.iter().sum::<usize>(), total);
    let heavy = w.mock.request_count();
    assert_eq!(heavy + light.request_count(), total);
    // Expected 150 / 50; bounds are many standard deviations wide.
    assert!((110..=185).contains(&heavy), "heavy got {heavy} of {total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_of_other_groups_and_disabled_channels_are_not_used() {
    let w = V1World::new().await;
    let vip = MockUpstream::start().await;
    w.add_channel(&vip, "vip", json!({"group": "vip", "priority": 100}))
        .await;
    let off = MockUpstream::start().await;
    w.add_channel(&off, "off", json!({"status": 2, "priority": 100}))
        .await;
    for _ in 0..5 {
        assert_eq!(w.chat(chat_body("g")).await.status, 200);
    }
    assert_eq!(vip.request_count() + off.request_count(), 0);
    // Only a channel of another group serves it: not available to this user.
    w.add_channel(
        &vip,
        "vip-only",
        json!({"group": "vip", "models": ["vip-model"]}),
    )
    .await;
    let r = w
        .v1(
            Method::POST,
            "/v1/chat/completions",
            Some(json!({"model": "vip-model", "messages": [{"role": "user", "content": "x"}]})),
        )
        .await;
    assert!(r.status.is_client_error() || r.status == 503, "{}", r.text);
    assert_eq!(vip.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_4xx_keeps_its_code_and_param() {
    let w = V1World::new().await;
    w.mock.push_reply(Reply::json(
        400,
        json!({"error": {"message": "This model's maximum context length is 8 tokens.",
                         "type": "invalid_request_error", "param": "messages",
                         "code": "context_length_exceeded"}}),
    ));
    let e = openai_error(&w.chat(chat_body("long")).await, 400);
    assert_eq!(e["code"], "context_length_exceeded", "{e}");
    assert_eq!(e["param"], "messages", "{e}");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("maximum context length"));
    assert_eq!(w.mock.request_count(), 1);
}
