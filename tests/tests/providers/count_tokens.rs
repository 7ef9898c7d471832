//! Token counting by the provider (issue 15): `/v1/messages/count_tokens` goes to
//! Anthropic's `count_tokens` on an Anthropic channel and to Gemini's `countTokens` on a
//! Gemini channel, as does the Gemini-native `:countTokens`; only where no channel can
//! count (OpenAI channels) or the provider fails is the count the gateway's estimate.
//! Never billed, never logged.

use integration_tests::gemini_support::{action, generate_body, goog_post};
use integration_tests::mock_upstream::{MockUsage, Reply};
use integration_tests::provider_support::{
    anthropic_error, messages_builder, world, KeyIn, ANTHROPIC, CLAUDE, GEMINI, GEMINI_MODEL,
    OPENAI,
};
use integration_tests::v1_support::{V1World, USER_QUOTA};
use serde_json::{json, Value};

/// What the mock answers every count with (its usage's prompt tokens).
const UPSTREAM_COUNT: u64 = 4321;

async fn counting_world(channel_type: i64, extra: Value) -> V1World {
    let w = world(channel_type, extra).await;
    w.mock.update_options(|o| {
        o.usage = Some(MockUsage {
            prompt_tokens: UPSTREAM_COUNT,
            ..MockUsage::default()
        })
    });
    w
}

async fn count_messages(w: &V1World, body: Value, beta: Option<&str>) -> (u16, Value, String) {
    let mut req = messages_builder(w, "/v1/messages/count_tokens", &w.key, KeyIn::XApiKey);
    if let Some(b) = beta {
        req = req.header("anthropic-beta", b);
    }
    let r = w.gw.send(req.json(&body)).await;
    let source = r
        .headers
        .get("x-gateway-token-count")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (r.status.as_u16(), r.body, source)
}

fn count_body(model: &str) -> Value {
    json!({"model": model, "system": "Be brief.",
           "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
           "messages": [{"role": "user", "content": "How many tokens is this?"}]})
}

/// Nothing billed or logged, balance untouched.
async fn assert_free(w: &V1World) {
    assert!(w.logs().await.is_empty(), "no log row");
    assert_eq!(w.user().await.quota, USER_QUOTA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_count_tokens_goes_to_anthropics_endpoint_with_the_mapped_model() {
    let w = counting_world(
        ANTHROPIC,
        json!({"models": ["claude-alias"], "model_mapping": {"claude-alias": CLAUDE}}),
    )
    .await;
    let beta = "token-counting-2024-11-01";
    let (status, body, source) = count_messages(&w, count_body("claude-alias"), Some(beta)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "input_tokens": UPSTREAM_COUNT }));
    assert_eq!(source, "provider");
    let seen = w
        .mock
        .last_request()
        .expect("the count reached the channel");
    assert_eq!(seen.path, "/v1/messages/count_tokens");
    assert_eq!(
        seen.json()["model"],
        CLAUDE,
        "the mapped name goes upstream"
    );
    assert_eq!(seen.json()["tools"][0]["name"], "get_weather");
    assert_eq!(seen.header("anthropic-beta"), Some(beta));
    assert!(seen.header("anthropic-version").is_some());
    assert_free(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_count_tokens_uses_gemini_count_tokens_on_gemini_channels() {
    let w = counting_world(GEMINI, json!({})).await;
    let (status, body, source) = count_messages(&w, count_body(GEMINI_MODEL), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "input_tokens": UPSTREAM_COUNT }));
    assert_eq!(source, "provider");
    let seen = w
        .mock
        .last_request()
        .expect("the count reached the channel");
    assert_eq!(
        seen.path,
        format!("/v1beta/models/{GEMINI_MODEL}:countTokens")
    );
    let inner = &seen.json()["generateContentRequest"];
    assert_eq!(inner["model"], format!("models/{GEMINI_MODEL}"));
    assert_eq!(
        inner["contents"][0]["parts"][0]["text"],
        "How many tokens is this?"
    );
    assert_eq!(
        inner["systemInstruction"]["parts"][0]["text"], "Be brief.",
        "{inner}"
    );
    assert_free(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_count_tokens_is_forwarded_on_gemini_and_anthropic_channels() {
    let w = counting_world(GEMINI, json!({})).await;
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "countTokens"),
        generate_body("count these words please"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "totalTokens": UPSTREAM_COUNT }));
    let seen = w.mock.last_request().expect("forwarded");
    assert_eq!(
        seen.path,
        format!("/v1beta/models/{GEMINI_MODEL}:countTokens")
    );
    assert_eq!(seen.json(), &generate_body("count these words please"));
    assert_free(&w).await;

    // A Gemini client asking about a model an Anthropic channel serves: converted to
    // Anthropic's count_tokens body (which refuses fields such as max_tokens).
    let w = counting_world(ANTHROPIC, json!({})).await;
    let r = goog_post(
        &w,
        &action(CLAUDE, "countTokens"),
        json!({"generateContentRequest": generate_body("count these words please")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "totalTokens": UPSTREAM_COUNT }));
    let seen = w.mock.last_request().expect("forwarded");
    assert_eq!(seen.path, "/v1/messages/count_tokens");
    assert_eq!(seen.json()["messages"][0]["role"], "user");
    assert_free(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_estimate_is_used_only_where_no_provider_can_count() {
    // An OpenAI channel has no count endpoint: the gateway's estimate, no upstream call.
    let w = counting_world(OPENAI, json!({"models": [CLAUDE, GEMINI_MODEL]})).await;
    let (status, body, source) = count_messages(&w, count_body(CLAUDE), None).await;
    assert_eq!(status, 200, "{body}");
    let n = body["input_tokens"].as_u64().expect("input_tokens");
    assert!(n > 0 && n != UPSTREAM_COUNT, "{n}");
    assert_eq!(source, "estimate");
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "countTokens"),
        generate_body("a b c"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["totalTokens"]
        .as_u64()
        .is_some_and(|t| t > 0 && t != UPSTREAM_COUNT));
    assert_eq!(w.mock.request_count(), 0);
    assert_free(&w).await;

    // A provider that fails (5xx) falls back to the estimate as well.
    let w = counting_world(ANTHROPIC, json!({})).await;
    w.mock.push_reply(Reply::error(529, "Overloaded"));
    let (status, body, source) = count_messages(&w, count_body(CLAUDE), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(source, "estimate");
    assert_eq!(w.mock.request_count(), 1);
    assert_free(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_the_provider_refuses_comes_back_in_the_clients_shape() {
    let w = counting_world(ANTHROPIC, json!({})).await;
    w.mock.push_reply(Reply::error(
        400,
        "messages: at least one message is required",
    ));
    let mut req = messages_builder(&w, "/v1/messages/count_tokens", &w.key, KeyIn::XApiKey);
    req = req.json(&count_body(CLAUDE));
    let r = w.gw.send(req).await;
    let e = anthropic_error(&r, 400, "invalid_request_error");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("at least one message")),
        "{e}"
    );
    assert_free(&w).await;
}
