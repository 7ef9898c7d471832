//! A Gemini client on a Gemini channel: its body goes upstream as sent (model and key
//! swapped), the answer comes back as the upstream sent it, billed from usageMetadata.

use integration_tests::gemini_support::{action, gemini_text, generate_body, goog_post};
use integration_tests::mock_upstream::{Reply, THOUGHT_SIGNATURE, THOUGHT_TEXT, THOUGHT_TOKENS};
use integration_tests::provider_support::{
    assert_billed, world, GEMINI, GEMINI_EMBED, GEMINI_MODEL,
};
use integration_tests::v1_support::{SseReader, CHANNEL_KEY};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

fn thinking_body(text: &str) -> Value {
    let mut b = generate_body(text);
    b["generationConfig"] = json!({"temperature": 0.1,
        "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}});
    b["safetySettings"] =
        json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]);
    b["tools"] = json!([{"functionDeclarations": [
        integration_tests::gemini_support::weather_declaration()]}, {"googleSearch": {}}]);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_content_passes_through_with_only_model_and_key_changed() {
    let w = world(
        GEMINI,
        json!({"models": ["my-flash"],
                                 "model_mapping": {"my-flash": GEMINI_MODEL}}),
    )
    .await;
    let body = thinking_body("hello gemini");
    let sent = body.to_string();
    let r =
        w.gw.send(
            w.gw.builder(Method::POST, &action("my-flash", "generateContent"), None)
                .header("x-goog-api-key", &w.key)
                .header("content-type", "application/json")
                .body(sent.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let req = w.mock.last_request().expect("upstream called");
    assert_eq!(
        req.path,
        format!("/v1beta/models/{GEMINI_MODEL}:generateContent")
    );
    assert_eq!(req.header("x-goog-api-key"), Some(CHANNEL_KEY));
    assert_eq!(req.query, None, "no client key in the upstream URL");
    assert_eq!(req.body_text(), sent, "the client's bytes pass through");
    // The answer is the upstream's own: thought part, text, signed function call.
    let parts = r.body["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap();
    assert_eq!(parts[0], json!({"text": THOUGHT_TEXT, "thought": true}));
    assert_eq!(parts[1]["text"], "Echo: hello gemini");
    assert_eq!(parts[2]["functionCall"]["name"], "get_weather");
    assert_eq!(parts[2]["thoughtSignature"], THOUGHT_SIGNATURE);
    assert_eq!(r.body["modelVersion"], GEMINI_MODEL, "{}", r.text);
    assert_eq!(
        r.body["usageMetadata"]["thoughtsTokenCount"],
        THOUGHT_TOKENS
    );
    // Thoughts are billed as output.
    let log = assert_billed(&w, 11, 7 + THOUGHT_TOKENS).await;
    assert_eq!(log["model_name"], "my-flash");
    assert_eq!(log["upstream_model"], GEMINI_MODEL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_streams_pass_through_event_by_event_and_are_billed() {
    let w = world(GEMINI, json!({})).await;
    let path = format!("{}?alt=sse", action(GEMINI_MODEL, "streamGenerateContent"));
    let rec = SseReader::open(
        w.gw.builder(Method::POST, &path, None)
            .header("x-goog-api-key", &w.key)
            .json(&thinking_body("stream me")),
    )
    .await
    .read_to_end(Duration::from_secs(60))
    .await;
    assert_eq!(rec.status, 200);
    let ct = rec.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let req = w.mock.last_request().unwrap();
    assert_eq!(req.query_param("alt"), Some("sse"));
    let events: Vec<Value> = rec.json_events();
    // thought + 4 text chunks + the function call, as the mock sent them.
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(
        events[0]["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );
    assert_eq!(gemini_text(&events), "Echo: stream me");
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
        THOUGHT_SIGNATURE
    );
    assert_billed(&w, 11, 7 + THOUGHT_TOKENS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_alt_the_stream_is_one_json_array() {
    let w = world(GEMINI, json!({})).await;
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "streamGenerateContent"),
        generate_body("array please"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ct = r.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("application/json"), "{ct}");
    let items = r
        .body
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", r.text));
    assert_eq!(items.len(), 4);
    assert_eq!(gemini_text(items), "Echo: array please");
    assert_eq!(items[3]["usageMetadata"]["candidatesTokenCount"], 7);
    // Upstream is always asked for SSE; the array is rebuilt for the client.
    assert_eq!(
        w.mock.last_request().unwrap().query_param("alt"),
        Some("sse")
    );
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_pass_through_with_the_model_renamed() {
    let w = world(
        GEMINI,
        json!({"models": ["emb"], "model_mapping": {"emb": GEMINI_EMBED}}),
    )
    .await;
    let r = goog_post(
        &w,
        &action("emb", "batchEmbedContents"),
        json!({"requests": [
            {"model": "models/emb", "content": {"parts": [{"text": "one"}]}, "outputDimensionality": 4},
            {"model": "models/emb", "content": {"parts": [{"text": "two"}]}, "outputDimensionality": 4}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let embs = r.body["embeddings"].as_array().unwrap();
    assert_eq!(embs.len(), 2);
    assert_eq!(embs[0]["values"].as_array().unwrap().len(), 4);
    let req = w.mock.last_request().unwrap();
    assert_eq!(
        req.path,
        format!("/v1beta/models/{GEMINI_EMBED}:batchEmbedContents")
    );
    assert_eq!(
        req.json()["requests"][1]["model"],
        format!("models/{GEMINI_EMBED}")
    );
    let r = goog_post(
        &w,
        &action("emb", "embedContent"),
        json!({"content": {"parts": [{"text": "single"}]}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["embedding"]["values"].as_array().unwrap().len(), 8);
    let logs = w.wait_for_logs(2, Duration::from_secs(10)).await;
    assert!(logs
        .iter()
        .all(|l| l["status_code"] == 200 && l["prompt_tokens"].as_i64() > Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_come_back_in_googles_shape() {
    let w = world(GEMINI, json!({})).await;
    w.mock
        .push_reply(Reply::error(400, "Invalid JSON payload received."));
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "generateContent"),
        generate_body("x"),
    )
    .await;
    let e = integration_tests::gemini_support::google_error(&r, 400, "INVALID_ARGUMENT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Invalid JSON payload"),
        "{e}"
    );
    assert!(!r.text.contains(CHANNEL_KEY));
}
