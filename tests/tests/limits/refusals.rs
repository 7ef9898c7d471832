//! Daily budgets and the management API's validation of limit fields.

use integration_tests::mock_upstream::MockUsage;
use integration_tests::v1_support::{chat_body, openai_error, V1World, MODEL};
use reqwest::StatusCode;
use serde_json::json;

/// The reservation (and, with the mock reporting it back, the cost) of `chat_body`.
fn cost_of_one() -> (u64, u64) {
    let parsed = gateway::services::dispatch::request::parse(
        gateway::providers::Endpoint::Chat,
        bytes::Bytes::from(chat_body("x").to_string()),
    )
    .expect("parse");
    (parsed.prompt.estimate(), parsed.completion_reserve)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_budget_refuses_the_request_that_would_pass_it() {
    let w = V1World::new().await;
    let (prompt, completion) = cost_of_one();
    w.mock.update_options(|o| {
        o.usage = Some(MockUsage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            ..MockUsage::default()
        })
    });
    w.set_options(json!({"default_completion_ratio": 1, "model_ratio": {MODEL: 1}}))
        .await;
    let cost = i64::try_from(prompt + completion).expect("cost");
    let r =
        w.gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&w.root),
            json!({"daily_budget": cost * 2 + cost / 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.data()["daily_budget"], cost * 2 + cost / 2);
    for _ in 0..2 {
        let r = w.chat(chat_body("x")).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = w.chat(chat_body("x")).await;
    let e = openai_error(&r, 429);
    assert_eq!(e["code"], "budget_exceeded");
    let retry: i64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=86_400).contains(&retry), "retry-after {retry}");
    assert_eq!(w.mock.request_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_limit_values_are_refused_and_change_nothing() {
    let w = V1World::new().await;
    let cases = [
        json!({"max_concurrency": -1}),
        json!({"daily_budget": "lots"}),
        json!({"tokens_per_minute": 1e15}),
    ];
    for body in cases {
        let r =
            w.gw.put(
                &format!("/api/token/{}", w.token_id),
                Some(&w.user_jwt),
                body.clone(),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    let path = format!("/api/user/{}", w.user_id);
    let r =
        w.gw.put(&path, Some(&w.root), json!({"monthly_budget": -5}))
            .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let token = w.token().await;
    assert_eq!(token.limits, Default::default());
    let r =
        w.gw.put(
            "/api/option",
            Some(&w.root),
            json!({"timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r =
        w.gw.put(
            "/api/option",
            Some(&w.root),
            json!({"timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
