//! A Gemini client on OpenAI and Anthropic channels: the request converted to the
//! channel's format, the answer and the stream converted back to Gemini's.

use integration_tests::gemini_support::{
    action, gemini_text, generate_body, goog_post, weather_declaration,
};
use integration_tests::mock_upstream::TOOL_ARGUMENTS;
use integration_tests::provider_support::{assert_billed, world, ANTHROPIC, CLAUDE, OPENAI};
use integration_tests::v1_support::{SseReader, MODEL};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

fn args() -> Value {
    serde_json::from_str(TOOL_ARGUMENTS).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_request_becomes_an_openai_chat_request() {
    let w = world(OPENAI, json!({})).await;
    let body = json!({
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "look"},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"role": "model", "parts": [{"text": "hmm", "thought": true}, {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                 "thoughtSignature": "c2ln"}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                {"text": "and tomorrow?"}]}
        ],
        "tools": [{"functionDeclarations": [weather_declaration()]}, {"codeExecution": {}}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                                                 "allowedFunctionNames": ["get_weather"]}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "generationConfig": {"temperature": 0.2, "topP": 0.9, "topK": 20,
            "maxOutputTokens": 99, "stopSequences": ["END"],
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"t": {"type": "NUMBER"}}},
            "thinkingConfig": {"thinkingBudget": 4096}}
    });
    let r = goog_post(&w, &action(MODEL, "generateContent"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let req = w.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/chat/completions");
    let b = req.json();
    assert_eq!(b["model"], MODEL);
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m[0], json!({"role": "system", "content": "Be terse."}));
    assert_eq!(
        m[1]["content"][1]["image_url"]["url"],
        "data:image/png;base64,AAAA"
    );
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(
        m[2]["content"], "Checking.",
        "thoughts are not replayed: {b}"
    );
    let call = &m[2]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["extra_content"]["google"]["thought_signature"], "c2ln");
    assert_eq!(m[3]["role"], "tool");
    assert_eq!(
        m[3]["tool_call_id"], call["id"],
        "the result answers the call: {b}"
    );
    assert_eq!(m[4], json!({"role": "user", "content": "and tomorrow?"}));
    let tools = b["tools"].as_array().unwrap();
    assert_eq!(
        tools.len(),
        1,
        "codeExecution has no OpenAI equivalent: {b}"
    );
    let params = &tools[0]["function"]["parameters"];
    assert_eq!(params["type"], "object");
    assert_eq!(
        params["properties"]["unit"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(b["tool_choice"]["function"]["name"], "get_weather");
    assert_eq!(b["temperature"], 0.2);
    assert_eq!(b["top_p"], 0.9);
    assert_eq!(b["top_k"], 20);
    assert_eq!(b["max_tokens"], 99);
    assert_eq!(b["stop"], json!(["END"]));
    assert_eq!(b["response_format"]["type"], "json_schema");
    assert_eq!(
        b["response_format"]["json_schema"]["schema"]["properties"]["t"]["type"],
        "number"
    );
    assert!(
        b.get("reasoning_effort").is_none() && b.get("x_gateway_reasoning").is_none(),
        "{MODEL} takes no reasoning_effort: {b}"
    );
    let warnings = r
        .headers
        .get("x-gateway-warnings")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        warnings.contains("reasoning (budget 4096) dropped"),
        "{warnings}"
    );
    assert!(b.get("safetySettings").is_none() && b.get("safety_settings").is_none());
    // The answer in Gemini's shape.
    let c = &r.body["candidates"][0];
    assert_eq!(c["content"]["role"], "model");
    assert_eq!(c["finishReason"], "STOP");
    let parts = c["content"]["parts"].as_array().unwrap();
    // The mock's OpenAI answer to a forced tool choice is the call alone.
    assert_eq!(parts.len(), 1, "{}", r.text);
    assert_eq!(parts[0]["functionCall"]["name"], "get_weather");
    assert_eq!(parts[0]["functionCall"]["args"], args());
    assert!(parts[0]["functionCall"]["id"].is_string());
    assert_eq!(r.body["modelVersion"], MODEL);
    assert_eq!(r.body["usageMetadata"]["promptTokenCount"], 11);
    assert_eq!(r.body["usageMetadata"]["candidatesTokenCount"], 7);
    assert_eq!(r.body["usageMetadata"]["totalTokenCount"], 18);
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_call_round_trip_over_an_openai_channel() {
    let w = world(OPENAI, json!({})).await;
    let mut body = generate_body("weather in Paris?");
    body["tools"] = json!([{"functionDeclarations": [weather_declaration()]}]);
    let r = goog_post(&w, &action(MODEL, "generateContent"), body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let model_turn = r.body["candidates"][0]["content"].clone();
    let call = model_turn["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| p.get("functionCall"))
        .cloned()
        .unwrap_or_else(|| panic!("no function call: {}", r.text));
    assert_eq!(call["args"], args());
    body["contents"].as_array_mut().unwrap().extend([
        model_turn,
        json!({"role": "user", "parts": [{"functionResponse": {
            "id": call["id"], "name": "get_weather", "response": {"output": "sunny"}}}]}),
    ]);
    let r = goog_post(&w, &action(MODEL, "generateContent"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let text = gemini_text(std::slice::from_ref(&r.body));
    assert!(text.starts_with("Tool result: "), "{text}");
    assert!(text.contains("sunny"), "{text}");
    let sent = w.mock.last_request().unwrap();
    let m = sent.json()["messages"].as_array().unwrap().clone();
    assert_eq!(m[2]["tool_call_id"], m[1]["tool_calls"][0]["id"], "{m:?}");
}

async fn sse(w: &integration_tests::v1_support::V1World, model: &str, body: Value) -> Vec<Value> {
    let path = format!("{}?alt=sse", action(model, "streamGenerateContent"));
    let rec = SseReader::open(
        w.gw.builder(Method::POST, &path, None)
            .header("x-goog-api-key", &w.key)
            .json(&body),
    )
    .await
    .read_to_end(Duration::from_secs(60))
    .await;
    assert_eq!(rec.status, 200);
    let ct = rec.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert!(!rec.ends_with_done(), "Gemini streams have no [DONE]");
    rec.json_events()
}

async fn streams_over(channel_type: i64, model: &str) {
    let w = world(channel_type, json!({})).await;
    let events = sse(&w, model, generate_body("stream 日本")).await;
    assert_eq!(gemini_text(&events), "Echo: stream 日本", "{events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["promptTokenCount"], 11);
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 7);
    assert!(events.iter().all(|e| e["modelVersion"] == model));
    assert_billed(&w, 11, 7).await;
    // Function calls arrive whole, in the last event.
    let mut body = generate_body("weather?");
    body["tools"] = json!([{"functionDeclarations": [weather_declaration()]}]);
    let events = sse(&w, model, body).await;
    let last = events.last().unwrap();
    assert_eq!(
        last["candidates"][0]["content"]["parts"][0]["functionCall"]["args"],
        args(),
        "{events:?}"
    );
    // Without alt: one JSON array.
    let r = goog_post(
        &w,
        &action(model, "streamGenerateContent"),
        generate_body("arr"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body.as_array().unwrap_or_else(|| panic!("{}", r.text));
    assert_eq!(gemini_text(items), "Echo: arr");
    assert_eq!(
        items.last().unwrap()["usageMetadata"]["candidatesTokenCount"],
        7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_an_openai_channel_are_converted() {
    streams_over(OPENAI, MODEL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_an_anthropic_channel_are_converted() {
    streams_over(ANTHROPIC, CLAUDE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_over_an_anthropic_channel_is_converted() {
    let w = world(ANTHROPIC, json!({})).await;
    let mut body = generate_body("hi claude");
    body["systemInstruction"] = json!({"parts": [{"text": "Be brief."}]});
    body["generationConfig"] = json!({"maxOutputTokens": 50, "topK": 3});
    let r = goog_post(&w, &action(CLAUDE, "generateContent"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let req = w.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.json()["system"], "Be brief.", "{}", req.body_text());
    assert_eq!(req.json()["max_tokens"], 50);
    assert_eq!(req.json()["top_k"], 3);
    assert_eq!(
        gemini_text(std::slice::from_ref(&r.body)),
        "Echo: hi claude"
    );
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_over_an_openai_channel_are_converted() {
    let w = world(OPENAI, json!({"models": [MODEL, "text-embedding-3-small"]})).await;
    let r = goog_post(
        &w,
        &action("text-embedding-3-small", "batchEmbedContents"),
        json!({"requests": [
            {"model": "models/text-embedding-3-small", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/text-embedding-3-small", "content": {"parts": [{"text": "b"}]}}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["embeddings"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );
    let req = w.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/embeddings");
    assert_eq!(req.json()["input"], json!(["a", "b"]));
    let r = goog_post(
        &w,
        &action("text-embedding-3-small", "embedContent"),
        json!({"content": {"parts": [{"text": "one"}]}, "outputDimensionality": 3}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["embedding"]["values"]
        .as_array()
        .is_some_and(|v| !v.is_empty()));
    assert_eq!(w.mock.last_request().unwrap().json()["dimensions"], 3);
    let logs = w.wait_for_logs(2, Duration::from_secs(10)).await;
    assert!(
        logs.iter()
            .all(|l| l["status_code"] == 200 && l["quota"].as_i64() > Some(0)),
        "{logs:?}"
    );
}
