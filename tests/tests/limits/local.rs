//! Limits counted in one replica's memory (no `REDIS_URL`): the 429s, their shapes and the
//! rate-limit headers.

use integration_tests::v1_support::{chat_body, openai_error, stream_body, V1World};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

async fn set_user_limits(w: &V1World, limits: serde_json::Value) {
    let r =
        w.gw.put(&format!("/api/user/{}", w.user_id), Some(&w.root), limits)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn header<'a>(r: &'a integration_tests::gateway_support::Resp, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("missing header {name}: {:?}", r.headers))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_limit_no_headers() {
    let w = V1World::new().await;
    let r = w.chat(chat_body("x")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for name in ["x-ratelimit-limit-requests", "x-ratelimit-limit-tokens"] {
        assert!(r.headers.get(name).is_none(), "{name} sent without a limit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_rpm_limit_clamps_the_key_and_refuses_with_retry_after() {
    let w = V1World::new().await;
    set_user_limits(&w, json!({"rate_limit_per_minute": 2})).await;
    // The key asks for more than its user may have: the user's limit wins.
    let r =
        w.gw.put(
            &format!("/api/token/{}", w.token_id),
            Some(&w.user_jwt),
            json!({"rate_limit_per_minute": 50}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for remaining in ["1", "0"] {
        let r = w.chat(chat_body("x")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(header(&r, "x-ratelimit-limit-requests"), "2");
        assert_eq!(header(&r, "x-ratelimit-remaining-requests"), remaining);
        assert!(header(&r, "x-ratelimit-reset-requests").ends_with('s'));
    }
    let r = w.chat(chat_body("x")).await;
    let e = openai_error(&r, 429);
    assert_eq!(e["type"], "rate_limit_error");
    assert_eq!(e["code"], "rate_limit_exceeded");
    let retry: u64 = header(&r, "retry-after").parse().expect("seconds");
    assert!((1..=30).contains(&retry), "retry-after {retry}");
    assert_eq!(header(&r, "x-ratelimit-remaining-requests"), "0");
    assert_eq!(w.mock.request_count(), 2, "the refused request never left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_clients_get_their_shape_and_headers() {
    let w = V1World::new().await;
    set_user_limits(
        &w,
        json!({"rate_limit_per_minute": 1, "tokens_per_minute": 100000}),
    )
    .await;
    let body = json!({"model": integration_tests::v1_support::MODEL, "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}]});
    let send = || {
        w.gw.send(
            w.gw.builder(Method::POST, "/v1/messages", None)
                .header("x-api-key", &w.key)
                .header("anthropic-version", "2023-06-01")
                .json(&body),
        )
    };
    let r = send().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(header(&r, "anthropic-ratelimit-requests-limit"), "1");
    assert_eq!(header(&r, "anthropic-ratelimit-requests-remaining"), "0");
    assert_eq!(header(&r, "anthropic-ratelimit-tokens-limit"), "100000");
    assert!(header(&r, "anthropic-ratelimit-requests-reset").contains('T'));
    assert!(r.headers.get("x-ratelimit-limit-requests").is_none());
    let r = send().await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.body["type"], "error");
    assert_eq!(r.body["error"]["type"], "rate_limit_error");
    assert!(header(&r, "retry-after").parse::<u64>().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_per_minute_limit_counts_the_reservation() {
    let w = V1World::new().await;
    let r =
        w.gw.put(
            &format!("/api/token/{}", w.token_id),
            Some(&w.user_jwt),
            json!({"tokens_per_minute": 60}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = w.chat(chat_body("x")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(header(&r, "x-ratelimit-limit-tokens"), "60");
    let left: i64 = header(&r, "x-ratelimit-remaining-tokens")
        .parse()
        .expect("n");
    assert!((0..60).contains(&left), "remaining {left}");
    // Ask for more output than is left this minute.
    let mut big = chat_body("x");
    big["max_tokens"] = json!(59);
    let e = openai_error(&w.chat(big).await, 429);
    assert!(e["message"]
        .as_str()
        .is_some_and(|m| m.contains("tokens per minute")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_limit_refuses_while_a_stream_is_open() {
    let w = V1World::new().await;
    let r =
        w.gw.put(
            &format!("/api/token/{}", w.token_id),
            Some(&w.user_jwt),
            json!({"max_concurrency": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    w.mock.update_options(|o| {
        o.delay = Duration::from_millis(400);
        o.chunks = 4;
    });
    let mut open = w
        .open_stream("/v1/chat/completions", stream_body("x"))
        .await;
    assert_eq!(open.status, 200);
    let e = openai_error(&w.chat(chat_body("y")).await, 429);
    assert_eq!(e["code"], "concurrency_limit_exceeded");
    while open.next_frame(Duration::from_secs(10)).await.is_some() {}
    drop(open);
    w.mock.update_options(|o| o.delay = Duration::ZERO);
    // The slot is given back when the stream's accounting settles.
    let ok = integration_tests::v1_support::wait_until(Duration::from_secs(5), || async {
        w.chat(chat_body("z")).await.status == 200
    })
    .await;
    assert!(ok, "the slot was never freed");
}
