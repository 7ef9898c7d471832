//! Reasoning across dialects and channel types (issue 15): the client's setting reaches
//! the upstream in the upstream's terms (only for models that take it), the upstream's
//! reasoning comes back in the client's terms, and Anthropic's signed thinking survives a
//! round trip through OpenAI-shaped answers so multi-turn tool use replays it.

use integration_tests::gateway_support::Resp;
use integration_tests::mock_upstream::{REASONING_TEXT, THINKING_TEXT, THOUGHT_TEXT};
use integration_tests::provider_support::{
    anthropic_events, messages, messages_stream, world, ANTHROPIC, CLAUDE, GEMINI, GEMINI_MODEL,
    OPENAI,
};
use integration_tests::v1_support::{SseRecording, V1World};
use serde_json::{json, Value};

pub(crate) fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})
}

/// A world whose one channel of `channel_type` serves `model`.
pub(crate) async fn world_for(channel_type: i64, model: &str) -> V1World {
    world(channel_type, json!({ "models": [model] })).await
}

pub(crate) fn warnings(r: &Resp) -> String {
    r.headers
        .get("x-gateway-warnings")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn sent(w: &V1World) -> Value {
    w.mock
        .last_request()
        .expect("upstream called")
        .json()
        .clone()
}

/// Concatenated `choices[0].delta.<key>` strings of an OpenAI stream.
pub(crate) fn delta_text(rec: &SseRecording, key: &str) -> String {
    rec.json_events()
        .iter()
        .filter_map(|v| {
            v.pointer(&format!("/choices/0/delta/{key}"))?
                .as_str()
                .map(String::from)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_claude_models_get_adaptive_thinking_with_an_effort() {
    let w = world_for(ANTHROPIC, "claude-opus-4-6").await;
    let body = json!({"model": "claude-opus-4-6", "reasoning_effort": "xhigh",
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(b["thinking"], json!({"type": "adaptive"}));
    assert_eq!(b["output_config"]["effort"], "max");
    assert_eq!(
        r.body["choices"][0]["message"]["reasoning_content"],
        THINKING_TEXT
    );
    // A model without extended thinking gets none, and the answer says so.
    let w = world_for(ANTHROPIC, "claude-3-5-haiku-20241022").await;
    let body = json!({"model": "claude-3-5-haiku-20241022", "reasoning_effort": "high",
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(sent(&w).get("thinking").is_none());
    assert!(warnings(&r).contains("has no extended thinking"));
}

/// An Anthropic Messages request with thinking on.
fn thinking_body(model: &str, thinking: Value) -> Value {
    json!({"model": model, "max_tokens": 9000, "thinking": thinking,
           "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_thinking_reaches_openai_reasoning_models_and_comes_back_as_thinking() {
    let w = world_for(OPENAI, "gpt-5").await;
    let body = thinking_body("gpt-5", json!({"type": "enabled", "budget_tokens": 2000}));
    let r = messages(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(b["reasoning_effort"], "low", "2000 tokens read as low: {b}");
    assert!(b.get("x_gateway_reasoning").is_none(), "never sent on: {b}");
    assert_eq!(
        r.body["content"][0],
        json!({"type": "thinking", "thinking": REASONING_TEXT, "signature": ""})
    );
    assert_eq!(r.body["content"][1]["type"], "text");

    let mut streamed = body;
    streamed["stream"] = json!(true);
    let evs = anthropic_events(&messages_stream(&w, streamed).await);
    let starts: Vec<&str> = evs
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .filter_map(|(_, d)| d["content_block"]["type"].as_str())
        .collect();
    assert_eq!(starts, ["thinking", "text"], "{evs:?}");
    let thinking: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["thinking"].as_str())
        .collect();
    assert_eq!(thinking, REASONING_TEXT);
    // One set of figures: nothing estimated at the start, the upstream's at the end.
    assert_eq!(evs[0].1["message"]["usage"]["input_tokens"], 0);
    let md = &evs[evs.len() - 2].1;
    assert_eq!(
        (
            md["usage"]["input_tokens"].as_u64(),
            md["usage"]["output_tokens"].as_u64()
        ),
        (Some(11), Some(7)),
        "{md}"
    );

    // A model without reasoning gets no reasoning_effort, and the answer says so.
    let w = world(OPENAI, json!({})).await;
    let model = integration_tests::v1_support::MODEL;
    let r = messages(
        &w,
        thinking_body(model, json!({"type": "enabled", "budget_tokens": 2000})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(sent(&w).get("reasoning_effort").is_none());
    assert!(
        warnings(&r).contains("reasoning (budget 2000) dropped"),
        "{}",
        warnings(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_thinking_reaches_gemini_as_a_thinking_config_and_thoughts_come_back() {
    let w = world(GEMINI, json!({})).await;
    let body = json!({"model": GEMINI_MODEL, "max_tokens": 9000,
                      "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = messages(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sent(&w)["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 24576, "includeThoughts": true})
    );
    assert_eq!(r.body["content"][0]["type"], "thinking");
    assert_eq!(r.body["content"][0]["thinking"], THOUGHT_TEXT);

    let mut streamed = body;
    streamed["stream"] = json!(true);
    let evs = anthropic_events(&messages_stream(&w, streamed).await);
    let thinking: String = evs
        .iter()
        .filter_map(|(_, d)| d["delta"]["thinking"].as_str())
        .collect();
    assert_eq!(thinking, THOUGHT_TEXT);
    // Gemini counts the prompt in its first event: the same figure at start and end.
    assert_eq!(evs[0].1["message"]["usage"]["input_tokens"], 11);
    assert_eq!(evs[evs.len() - 2].1["usage"]["input_tokens"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_reasoning_effort_reaches_gemini_by_budget_or_level() {
    let w = world(GEMINI, json!({})).await;
    let body = json!({"model": GEMINI_MODEL, "reasoning_effort": "minimal",
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = w.chat(body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sent(&w)["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 1024, "includeThoughts": true})
    );
    assert_eq!(
        r.body["choices"][0]["message"]["reasoning_content"],
        THOUGHT_TEXT
    );
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", streamed).await;
    assert_eq!(delta_text(&rec, "reasoning_content"), THOUGHT_TEXT);

    let w = world_for(GEMINI, "gemini-3-pro-preview").await;
    let body = json!({"model": "gemini-3-pro-preview", "reasoning_effort": "medium",
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sent(&w)["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "high", "includeThoughts": true}),
        "Gemini 3 Pro has only low and high"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_reasoning_reaches_anthropic_and_comes_back_as_reasoning_items() {
    use integration_tests::responses_support::{create, stream};
    let w = world(ANTHROPIC, json!({})).await;
    let body = json!({"model": CLAUDE, "input": "hi", "max_output_tokens": 20000,
                      "reasoning": {"effort": "medium"}});
    let r = create(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sent(&w)["thinking"],
        json!({"type": "enabled", "budget_tokens": 12288})
    );
    let item = &r.body["output"][0];
    assert_eq!(item["type"], "reasoning", "{}", r.text);
    assert_eq!(item["summary"][0]["text"], THINKING_TEXT);

    let mut streamed = body;
    streamed["stream"] = json!(true);
    let evs = stream(&w, streamed).await;
    let summary: String = evs
        .iter()
        .filter(|(n, _)| n == "response.reasoning_summary_text.delta")
        .filter_map(|(_, v)| v["delta"].as_str())
        .collect();
    assert_eq!(summary, THINKING_TEXT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_thinking_budget_reaches_anthropic_exactly_and_thinking_comes_back_as_thoughts() {
    use integration_tests::gemini_support::{action, goog_post};
    let w = world(ANTHROPIC, json!({})).await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": 8000,
            "thinkingConfig": {"thinkingBudget": 3000, "includeThoughts": true}}});
    let r = goog_post(&w, &action(CLAUDE, "generateContent"), body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sent(&w)["thinking"],
        json!({"type": "enabled", "budget_tokens": 3000})
    );
    let parts = &r.body["candidates"][0]["content"]["parts"];
    assert_eq!(
        (parts[0]["text"].as_str(), parts[0]["thought"].as_bool()),
        (Some(THINKING_TEXT), Some(true)),
        "{parts}"
    );

    let path = format!("{}?alt=sse", action(CLAUDE, "streamGenerateContent"));
    let req =
        w.gw.builder(reqwest::Method::POST, &path, None)
            .header("x-goog-api-key", &w.key)
            .json(&body);
    let rec = integration_tests::v1_support::SseReader::open(req)
        .await
        .read_to_end(std::time::Duration::from_secs(60))
        .await;
    assert_eq!(rec.status, 200);
    let thoughts: String = rec
        .json_events()
        .iter()
        .flat_map(|e| {
            e["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|p| p["thought"] == true)
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect();
    assert_eq!(thoughts, THINKING_TEXT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_codes_billing_line_stays_on_anthropic_channels_only() {
    let system = json!([
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.a1; cc_entrypoint=cli; cch=9f3e;"},
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}
    ]);
    let w = world(OPENAI, json!({})).await;
    let model = integration_tests::v1_support::MODEL;
    let body = json!({"model": model, "max_tokens": 64, "system": system,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = messages(&w, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sent(&w)["messages"][0],
        json!({"role": "system", "content": "You are Claude Code."})
    );
    let w = world(ANTHROPIC, json!({})).await;
    let body = json!({"model": CLAUDE, "max_tokens": 64, "system": system,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = messages(&w, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sent(&w)["system"], system, "passed through unchanged");
}
