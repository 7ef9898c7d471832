//! Quota: reservation before the call, settlement by the price formula, refusals that
//! send nothing upstream.

use integration_tests::mock_upstream::MockUsage;
use integration_tests::v1_support::{chat_body, openai_error, V1World, MODEL, USER_QUOTA};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_the_key_may_not_use_is_forbidden() {
    let w = V1World::new().await;
    w.add_channel(&w.mock, "other", json!({"models": ["gpt-4o"]}))
        .await;
    let (_, key) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "only-4o", "models": ["gpt-4o"]}),
        )
        .await;
    let r = w
        .v1_as(
            &key,
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(chat_body("x")),
        )
        .await;
    let e = openai_error(&r, 403);
    assert!(e["message"].as_str().unwrap().contains(MODEL), "{e}");
    assert_eq!(w.mock.request_count(), 0);
    let mut b = chat_body("x");
    b["model"] = json!("gpt-4o");
    let r = w
        .v1_as(&key, reqwest::Method::POST, "/v1/chat/completions", Some(b))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_is_model_not_found() {
    let w = V1World::new().await;
    let mut b = chat_body("x");
    b["model"] = json!("no-such-model");
    let e = openai_error(&w.chat(b).await, 404);
    assert_eq!(e["code"], "model_not_found");
    assert_eq!(w.mock.request_count(), 0);
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_user_quota_is_refused_before_the_upstream() {
    let w = V1World::build(&[], 10, json!({"name": "k"})).await;
    let e = openai_error(&w.chat(chat_body("x")).await, 429);
    assert_eq!(e["code"], "insufficient_quota");
    assert_eq!(w.mock.request_count(), 0);
    let user = w.user().await;
    assert_eq!((user.quota, user.used_quota), (10, 0));
    w.assert_ledger(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_key_quota_is_refused_before_the_upstream() {
    let w = V1World::build(&[], USER_QUOTA, json!({"name": "k", "remain_quota": 5})).await;
    let e = openai_error(&w.chat(chat_body("x")).await, 429);
    assert_eq!(e["code"], "insufficient_quota");
    assert_eq!(w.mock.request_count(), 0);
    let t = w.token().await;
    assert_eq!((t.remain_quota, t.used_quota), (5, 0));
    assert_eq!(w.user().await.quota, USER_QUOTA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_runs_out_becomes_exhausted_without_going_below_zero() {
    let w = V1World::build(&[], USER_QUOTA, json!({"name": "k", "remain_quota": 1000})).await;
    // Every answer costs more than the key has: 11 + 1000 × 3.
    w.mock.update_options(|o| {
        o.usage = Some(MockUsage {
            completion_tokens: 1000,
            ..MockUsage::default()
        })
    });
    // The first request asks for 16 tokens: its reservation is charged, the rest of the
    // 3,011 is logged as unbilled (the upstream ignored the limit).
    let r = w.chat(chat_body("x")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = w.logs().await[0].clone();
    let first = log["quota"].as_i64().expect("quota");
    assert!(first > 0 && first < 100, "{log}");
    assert_eq!(log["unbilled_quota"], 3011 - first, "{log}");
    assert_eq!(w.token().await.remain_quota, 1000 - first);
    // The second asks for no limit: it is capped to what the key holds, which it takes
    // to exactly zero; the key is then exhausted.
    let r = w
        .chat(json!({"model": MODEL, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers.get("x-gateway-output-capped").is_some(),
        "{:?}",
        r.headers
    );
    let t = w.token().await;
    assert!(
        t.remain_quota >= 0 && t.remain_quota < 3,
        "{}",
        t.remain_quota
    );
    assert_eq!(t.remain_quota + t.used_quota, 1000);
    let e = openai_error(&w.chat(chat_body("x")).await, 429);
    assert_eq!(e["code"], "insufficient_quota");
    assert_eq!(w.mock.request_count(), 2);
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_follow_model_completion_and_group_ratios() {
    let w = V1World::new().await;
    w.set_options(json!({
        "model_ratio": {MODEL: 2.5},
        "completion_ratio": {MODEL: 4},
        "group_ratio": {"default": 2}
    }))
    .await;
    let r = w.chat(chat_body("x")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // ceil((11 + 7 × 4) × 2.5 × 2)
    assert_eq!(w.user().await.used_quota, 195);
    assert_eq!(w.logs().await[0]["quota"], 195);
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_upstream_usage_is_estimated_and_billed() {
    let w = V1World::new().await;
    w.mock.update_options(|o| o.usage = None);
    let r = w.chat(chat_body("count these words please")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = &w.logs().await[0];
    assert!(log["prompt_tokens"].as_i64().unwrap() > 0, "{log}");
    assert!(log["completion_tokens"].as_i64().unwrap() > 0, "{log}");
    assert!(log["quota"].as_i64().unwrap() > 0, "{log}");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_key_is_charged_alongside_the_user() {
    let w = V1World::build(
        &[],
        USER_QUOTA,
        json!({"name": "k", "remain_quota": 100_000}),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(w.chat(chat_body("x")).await.status, 200);
    }
    let t = w.token().await;
    assert_eq!(t.used_quota, 96);
    assert_eq!(t.remain_quota, 100_000 - 96);
    assert_eq!(t.status, 1);
    assert!(t.last_used_at.is_some());
    w.assert_ledger(USER_QUOTA).await;
}
