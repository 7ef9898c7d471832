//! Structured output across dialects and channel types (issue 15): a JSON schema asked
//! for in one dialect reaches the upstream in its terms (Anthropic `output_config.format`,
//! or a forced tool on Claude models without it; OpenAI `response_format`; Gemini
//! `responseSchema`), and the answer comes back as plain JSON text.

use integration_tests::mock_upstream::{STRUCTURED_JSON, TOOL_ARGUMENTS};
use integration_tests::provider_support::{
    anthropic_events, anthropic_text, messages, messages_stream, world, ANTHROPIC, CLAUDE, GEMINI,
    GEMINI_MODEL, OPENAI,
};
use integration_tests::v1_support::{V1World, MODEL};
use serde_json::{json, Value};

/// A Claude model from before structured output.
const OLD_CLAUDE: &str = "claude-sonnet-4-20250514";

fn schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"},
           "temperature": {"type": "integer"}}, "required": ["city", "temperature"],
           "additionalProperties": false})
}

fn chat_body(model: &str) -> Value {
    json!({"model": model, "max_tokens": 256,
           "messages": [{"role": "user", "content": "weather in Paris as JSON"}],
           "response_format": {"type": "json_schema",
                               "json_schema": {"name": "weather", "schema": schema()}}})
}

fn sent(w: &V1World) -> Value {
    w.mock
        .last_request()
        .expect("upstream called")
        .json()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_schema_reaches_recent_claude_models_as_output_config_format() {
    let w = world(ANTHROPIC, json!({})).await;
    let r = w.chat(chat_body(CLAUDE)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(
        b["output_config"]["format"],
        json!({"type": "json_schema", "schema": schema()})
    );
    assert!(b.get("tools").is_none(), "{b}");
    assert_eq!(r.body["choices"][0]["message"]["content"], STRUCTURED_JSON);
    assert_eq!(r.body["choices"][0]["finish_reason"], "stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_claude_models_answer_through_a_forced_tool_that_comes_back_as_text() {
    let w = world(ANTHROPIC, json!({ "models": [OLD_CLAUDE] })).await;
    let r = w.chat(chat_body(OLD_CLAUDE)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert!(b.get("output_config").is_none(), "{b}");
    assert_eq!(b["tools"][0]["name"], "gateway_json_output");
    assert_eq!(b["tools"][0]["input_schema"], schema());
    assert_eq!(
        b["tool_choice"],
        json!({"type": "tool", "name": "gateway_json_output"})
    );
    let choice = &r.body["choices"][0];
    assert_eq!(choice["message"]["content"], TOOL_ARGUMENTS);
    assert!(choice["message"].get("tool_calls").is_none(), "{}", r.text);
    assert_eq!(choice["finish_reason"], "stop");

    let mut streamed = chat_body(OLD_CLAUDE);
    streamed["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", streamed).await;
    assert_eq!(rec.text(), TOOL_ARGUMENTS);
    let events = rec.json_events();
    assert!(
        events
            .iter()
            .all(|v| v["choices"][0]["delta"].get("tool_calls").is_none()),
        "{events:?}"
    );
    let finish: Vec<&str> = events
        .iter()
        .filter_map(|v| v["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(finish, ["stop"]);
}

/// An Anthropic Messages request asking for `schema()`.
fn messages_body(model: &str) -> Value {
    json!({"model": model, "max_tokens": 256,
           "messages": [{"role": "user", "content": "weather in Paris as JSON"}],
           "output_config": {"format": {"type": "json_schema", "schema": schema()}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_structured_output_reaches_openai_and_gemini_channels() {
    let w = world(OPENAI, json!({})).await;
    let r = messages(&w, messages_body(MODEL)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(b["response_format"]["type"], "json_schema");
    assert_eq!(b["response_format"]["json_schema"]["schema"], schema());
    assert_eq!(
        r.body["content"],
        json!([{"type": "text", "text": STRUCTURED_JSON}])
    );
    let mut streamed = messages_body(MODEL);
    streamed["stream"] = json!(true);
    let evs = anthropic_events(&messages_stream(&w, streamed).await);
    assert_eq!(anthropic_text(&evs), STRUCTURED_JSON);

    let w = world(GEMINI, json!({})).await;
    let r = messages(&w, messages_body(GEMINI_MODEL)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = &sent(&w)["generationConfig"];
    assert_eq!(g["responseMimeType"], "application/json");
    assert_eq!(
        g["responseSchema"]["properties"]["city"]["type"], "string",
        "{g}"
    );
    assert_eq!(r.body["content"][0]["text"], STRUCTURED_JSON);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_and_gemini_clients_get_structured_output_from_claude() {
    use integration_tests::gemini_support::{action, goog_post};
    use integration_tests::responses_support::{create, output_text};
    let w = world(ANTHROPIC, json!({})).await;
    let body = json!({"model": CLAUDE, "input": "weather in Paris as JSON",
        "text": {"format": {"type": "json_schema", "name": "weather", "schema": schema()}}});
    let r = create(&w, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sent(&w)["output_config"]["format"]["schema"], schema());
    assert_eq!(output_text(&r.body), STRUCTURED_JSON);

    let body = json!({"contents": [{"role": "user", "parts": [{"text": "weather as JSON"}]}],
        "generationConfig": {"responseMimeType": "application/json",
                             "responseJsonSchema": schema()}});
    let r = goog_post(&w, &action(CLAUDE, "generateContent"), body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(sent(&w)["output_config"]["format"]["schema"], schema());
    assert_eq!(
        r.body["candidates"][0]["content"]["parts"][0]["text"],
        STRUCTURED_JSON
    );
}
