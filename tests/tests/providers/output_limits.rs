//! Output limits renamed per provider and model family (services/model_catalog.rs,
//! providers/output_limit.rs): what the mock upstream received, on conversion and on
//! pass-through (where only the limit's bytes change).

use integration_tests::gateway_support::Resp;
use integration_tests::provider_support::{
    messages, messages_builder, world, KeyIn, ANTHROPIC, GEMINI, GEMINI_MODEL, OPENAI,
};
use integration_tests::v1_support::V1World;
use reqwest::Method;
use serde_json::{json, Value};

fn sent(w: &V1World) -> (String, Value, String) {
    let req = w.mock.last_request().expect("the upstream was called");
    let raw = String::from_utf8(req.body.to_vec()).expect("utf-8 body");
    (req.path.clone(), req.json().clone(), raw)
}

fn capped(r: &Resp) -> Option<&str> {
    r.headers
        .get("x-gateway-output-capped")
        .and_then(|v| v.to_str().ok())
}

fn chat(model: &str, extra: Value) -> Value {
    let mut b = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    integration_tests::v1_support::merge(&mut b, extra);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_reasoning_models_get_max_completion_tokens_and_others_keep_the_clients_name() {
    let w = world(OPENAI, json!({"models": ["o3", "gpt-4o-mini"]})).await;
    let r = w.chat(chat("o3", json!({"max_tokens": 500}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, b, _) = sent(&w);
    assert_eq!(b["max_completion_tokens"], 500, "{b}");
    assert!(b.get("max_tokens").is_none(), "{b}");
    assert_eq!(capped(&r), None);

    let r = w
        .chat(chat("gpt-4o-mini", json!({"max_completion_tokens": 300})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, b, _) = sent(&w);
    assert_eq!(b["max_completion_tokens"], 300, "{b}");
    assert!(b.get("max_tokens").is_none(), "{b}");

    let r = w
        .chat(chat("gpt-4o-mini", json!({"max_tokens": 300})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, b, _) = sent(&w);
    assert_eq!(b["max_tokens"], 300, "{b}");
    assert!(b.get("max_completion_tokens").is_none(), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_clients_limit_reaches_a_reasoning_model_as_max_completion_tokens() {
    let w = world(OPENAI, json!({"models": ["gpt-5"]})).await;
    let r = messages(
        &w,
        json!({"model": "gpt-5", "max_tokens": 32000,
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (path, b, _) = sent(&w);
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(b["max_completion_tokens"], 32000, "{b}");
    assert!(b.get("max_tokens").is_none(), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_channel_gets_the_models_default_when_the_client_sets_none() {
    let haiku = "claude-3-5-haiku-20241022";
    let w = world(ANTHROPIC, json!({"models": [haiku]})).await;
    let r = w.chat(chat(haiku, json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (path, b, _) = sent(&w);
    assert_eq!(path, "/v1/messages");
    assert_eq!(b["max_tokens"], 8192, "{b}");
    assert_eq!(capped(&r), None, "the default is not a cap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_pass_through_is_clamped_to_the_model_maximum_in_its_own_bytes() {
    let haiku = "claude-3-5-haiku-20241022";
    let w = world(ANTHROPIC, json!({"models": [haiku]})).await;
    let raw = format!(
        r#"{{"model":"{haiku}",  "max_tokens" : 20000, "messages":[{{"role":"user","content":"hi"}}], "zzz_unknown": 1.50}}"#
    );
    let r =
        w.gw.send(
            messages_builder(&w, "/v1/messages", &w.key, KeyIn::XApiKey)
                .header("content-type", "application/json")
                .body(raw.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped(&r), Some("8192"));
    let (_, _, body) = sent(&w);
    assert_eq!(body, raw.replace("20000", "8192"));
    assert_eq!(w.logs().await[0]["output_cap"], 8192);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_gets_max_output_tokens_converted_and_passed_through() {
    let w = world(GEMINI, json!({})).await;
    let r = w.chat(chat(GEMINI_MODEL, json!({"max_tokens": 300}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, b, _) = sent(&w);
    assert_eq!(b["generationConfig"]["maxOutputTokens"], 300, "{b}");

    let raw = r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}], "generationConfig": {"temperature": 0.2, "maxOutputTokens": 100000}}"#;
    let r =
        w.gw.send(
            w.gw.builder(
                Method::POST,
                &format!("/v1beta/models/{GEMINI_MODEL}:generateContent"),
                None,
            )
            .header("x-goog-api-key", &w.key)
            .header("content-type", "application/json")
            .body(raw),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped(&r), Some("65536"));
    let (_, _, body) = sent(&w);
    assert_eq!(body, raw.replace("100000", "65536"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_pass_through_gets_max_output_tokens_within_the_maximum() {
    let w = world(OPENAI, json!({"models": ["gpt-4.1"]})).await;
    let raw = r#"{"model":"gpt-4.1","input":"hi","max_output_tokens":50000,"store":false}"#;
    let r =
        w.gw.send(
            w.gw.builder(Method::POST, "/v1/responses", None)
                .bearer_auth(&w.key)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped(&r), Some("32768"));
    let (path, _, body) = sent(&w);
    assert_eq!(path, "/v1/responses");
    assert_eq!(body, raw.replace("50000", "32768"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_balance_lowers_an_anthropic_limit_and_its_thinking_budget_with_it() {
    const QUOTA: i64 = 7_000;
    let w = integration_tests::provider_support::world_with_quota(ANTHROPIC, json!({}), &[], QUOTA)
        .await;
    let body = json!({"model": integration_tests::provider_support::CLAUDE, "max_tokens": 32000,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "messages": [{"role": "user", "content": "think hard"}]});
    let raw = serde_json::to_vec(&body).expect("json");
    let prompt = gateway::services::dispatch::request::from_anthropic(
        raw.into(),
        body.clone(),
        gateway::providers::anthropic_inbound::to_openai,
    )
    .expect("parses")
    .prompt
    .estimate() as i64;
    // Default ratios (1, completion 3): prompt + 3 × cap <= 7,000.
    let cap = (QUOTA - prompt) / 3;
    let r = messages(&w, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(capped(&r), Some(cap.to_string().as_str()));
    let (_, b, _) = sent(&w);
    assert_eq!(b["max_tokens"], cap, "{b}");
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": cap - 1})
    );
    // The mock's answer (11 + 7 × 3 = 32) is well within the reservation: charged in full.
    assert_eq!(w.user().await.quota, QUOTA - 32);
    w.assert_ledger(QUOTA).await;
}
