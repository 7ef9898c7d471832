//! Anthropic's signed and redacted thinking survives a round trip through other
//! dialects (issue 15): OpenAI chat `reasoning_details`, Responses `encrypted_content`,
//! Gemini `thoughtSignature`; the mock refuses, as Anthropic does, a thinking-on tool turn
//! without its signed thinking, so each next turn succeeding shows the replay worked.

use super::reasoning::{delta_text, sent, warnings, weather_tool, world_for};
use integration_tests::mock_upstream::{REASONING_TEXT, THINKING_SIGNATURE, THINKING_TEXT};
use integration_tests::provider_support::{world, ANTHROPIC, CLAUDE, OPENAI};
use integration_tests::v1_support::{SseRecording, V1World};
use serde_json::{json, Value};

/// The assistant message a client rebuilds from an OpenAI stream (text, reasoning,
/// `reasoning_details` entries and tool calls).
fn streamed_message(rec: &SseRecording) -> Value {
    let mut details = Vec::new();
    let mut calls: Vec<Value> = Vec::new();
    for v in rec.json_events() {
        let delta = &v["choices"][0]["delta"];
        details.extend(
            delta["reasoning_details"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        for tc in delta["tool_calls"].as_array().into_iter().flatten() {
            let i = tc["index"].as_u64().unwrap_or(0) as usize;
            if calls.len() <= i {
                calls.push(json!({"id": tc["id"], "type": "function",
                                  "function": {"name": tc["function"]["name"], "arguments": ""}}));
            }
            let args = calls[i]["function"]["arguments"]
                .as_str()
                .unwrap_or("")
                .to_string()
                + tc["function"]["arguments"].as_str().unwrap_or("");
            calls[i]["function"]["arguments"] = json!(args);
        }
    }
    json!({"role": "assistant", "content": delta_text(rec, "content"),
           "reasoning_content": delta_text(rec, "reasoning_content"),
           "reasoning_details": details, "tool_calls": calls})
}

/// The first turn of a tool-using conversation with reasoning on.
fn tool_turn(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 8000, "reasoning_effort": "low", "temperature": 0.3,
           "stream": stream,
           "messages": [{"role": "user", "content": "weather in Paris?"}],
           "tools": [weather_tool()]})
}

/// The next turn: the assistant message as the client got it, then the tool's answer.
fn next_turn(first: &Value, assistant: &Value) -> Value {
    let mut body = first.clone();
    body["stream"] = json!(false);
    let id = assistant["tool_calls"][0]["id"].clone();
    let messages = body["messages"].as_array_mut().expect("messages");
    messages.push(assistant.clone());
    messages.push(json!({"role": "tool", "tool_call_id": id, "content": "21°C"}));
    body
}

/// Sends the next turn and checks the signed thinking went back first in the turn.
async fn assert_signature_replayed(w: &V1World, first: &Value, assistant: &Value) {
    let r = w.chat(next_turn(first, assistant)).await;
    // The mock answers 400, as Anthropic does, to a tool turn without its signed thinking.
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(w);
    assert_eq!(b["thinking"]["type"], "enabled", "{b}");
    assert_eq!(
        b["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": THINKING_TEXT, "signature": THINKING_SIGNATURE}),
        "{b}"
    );
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "Tool result: 21°C"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_reasoning_effort_becomes_anthropic_thinking_and_the_signature_replays() {
    let w = world(ANTHROPIC, json!({})).await;
    let first = tool_turn(CLAUDE, false);
    let r = w.chat(first.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096}),
        "low effort is the table's 4096: {b}"
    );
    assert!(
        b.get("temperature").is_none(),
        "thinking takes only the default temperature: {b}"
    );
    assert!(
        warnings(&r).contains("temperature dropped"),
        "{}",
        warnings(&r)
    );
    let msg = &r.body["choices"][0]["message"];
    assert_eq!(msg["reasoning_content"], THINKING_TEXT);
    assert_eq!(
        msg["reasoning_details"],
        json!([{"type": "reasoning.text", "text": THINKING_TEXT, "signature": THINKING_SIGNATURE,
                "format": "anthropic-claude-v1", "index": 0}])
    );
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    assert_signature_replayed(&w, &first, msg).await;

    // A client that drops the details cannot continue with thinking: it is left off and
    // said, rather than failing upstream.
    let mut bare = msg.clone();
    bare.as_object_mut().map(|m| m.remove("reasoning_details"));
    let r = w.chat(next_turn(&first, &bare)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(sent(&w).get("thinking").is_none());
    assert!(
        warnings(&r).contains("lack their signed thinking"),
        "{}",
        warnings(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_anthropic_thinking_carries_its_signature_and_replays() {
    let w = world(ANTHROPIC, json!({})).await;
    let first = tool_turn(CLAUDE, true);
    let rec = w.stream("/v1/chat/completions", first.clone()).await;
    assert_eq!(rec.status, 200);
    assert_eq!(sent(&w)["thinking"]["budget_tokens"], 4096);
    let msg = streamed_message(&rec);
    assert_eq!(msg["reasoning_content"], THINKING_TEXT);
    assert_eq!(msg["reasoning_details"][0]["signature"], THINKING_SIGNATURE);
    assert_eq!(msg["reasoning_details"][0]["text"], THINKING_TEXT);
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    assert_signature_replayed(&w, &first, &msg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redacted_thinking_comes_back_and_replays_unchanged() {
    let w = world(ANTHROPIC, json!({})).await;
    w.mock
        .push_reply(integration_tests::mock_upstream::Reply::json(
            200,
            json!({"id": "msg_r", "type": "message", "role": "assistant", "model": CLAUDE,
               "content": [{"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"},
                           {"type": "thinking", "thinking": THINKING_TEXT,
                            "signature": THINKING_SIGNATURE},
                           {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                            "input": {"city": "Paris"}}],
               "stop_reason": "tool_use", "stop_sequence": null,
               "usage": {"input_tokens": 11, "output_tokens": 7}}),
        ));
    let first = tool_turn(CLAUDE, false);
    let r = w.chat(first.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let msg = &r.body["choices"][0]["message"];
    assert_eq!(msg["reasoning_details"][0]["type"], "reasoning.encrypted");
    assert_eq!(msg["reasoning_details"][0]["data"], "ZW5jcnlwdGVk");
    let r = w.chat(next_turn(&first, msg)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let content = &sent(&w)["messages"][1]["content"];
    assert_eq!(
        content[0],
        json!({"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"})
    );
    assert_eq!(content[1]["signature"], THINKING_SIGNATURE);
    assert_eq!(content[2]["type"], "tool_use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_style_responses_turns_replay_claude_thinking_through_encrypted_content() {
    use integration_tests::responses_support::{completed, create, stream};
    let w = world(ANTHROPIC, json!({})).await;
    let tool = json!({"type": "function", "name": "get_weather", "description": "Weather",
                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}});
    let user = json!({"type": "message", "role": "user",
                      "content": [{"type": "input_text", "text": "weather in Paris?"}]});
    let first = json!({"model": CLAUDE, "input": [user], "tools": [tool], "stream": true,
                       "store": false, "max_output_tokens": 9000,
                       "include": ["reasoning.encrypted_content"],
                       "reasoning": {"effort": "low"}});
    let evs = stream(&w, first.clone()).await;
    let output = completed(&evs)["output"]
        .as_array()
        .cloned()
        .expect("output");
    let reasoning = &output[0];
    assert_eq!(reasoning["type"], "reasoning", "{output:?}");
    let packed = reasoning["encrypted_content"].as_str().unwrap_or_default();
    assert!(packed.contains(THINKING_SIGNATURE), "{reasoning}");
    let call = output
        .iter()
        .find(|i| i["type"] == "function_call")
        .expect("a function call");

    // Codex sends the whole conversation back, its output items included.
    let mut input = vec![user];
    input.extend(output.iter().cloned());
    input.push(
        json!({"type": "function_call_output", "call_id": call["call_id"],
                      "output": "21°C"}),
    );
    let mut second = first;
    second["input"] = json!(input);
    second["stream"] = json!(false);
    let r = create(&w, second).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(b["thinking"]["type"], "enabled", "{b}");
    let turn = &b["messages"][1]["content"];
    assert_eq!(
        turn[0],
        json!({"type": "thinking", "thinking": THINKING_TEXT, "signature": THINKING_SIGNATURE}),
        "{b}"
    );
    assert_eq!(turn[1]["type"], "text");
    assert_eq!(turn[2]["type"], "tool_use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SDK_PYTHON: a venv with the openai and anthropic SDKs (.ci/run sets it)"]
async fn the_sdks_loop_with_thinking_and_parse_structured_output_across_channel_types() {
    use integration_tests::provider_support::run_sdk_script;
    integration_tests::needs::sdk_python();
    let w = world(ANTHROPIC, json!({})).await;
    let args = vec![
        "openai".into(),
        format!("{}/v1", w.gw.url),
        w.key.clone(),
        CLAUDE.into(),
    ];
    let c = run_sdk_script("reasoning_sdk.py", args).await;
    let out = format!("{c:?}");
    assert_eq!(c["replay"]["reasoning"], THINKING_TEXT, "{out}");
    assert_eq!(c["replay"]["signature"], THINKING_SIGNATURE, "{out}");
    assert_eq!(c["replay"]["follow_up"], "Tool result: 21C", "{out}");
    assert_eq!(
        (
            c["parse"]["city"].as_str(),
            c["parse"]["temperature"].as_i64()
        ),
        (Some("Paris"), Some(21)),
        "{out}"
    );

    let w = world_for(OPENAI, "gpt-5").await;
    let args = vec![
        "anthropic".into(),
        w.gw.url.clone(),
        w.key.clone(),
        "gpt-5".into(),
    ];
    let c = run_sdk_script("reasoning_sdk.py", args).await;
    let out = format!("{c:?}");
    assert_eq!(c["create"]["types"], json!(["thinking", "text"]), "{out}");
    assert_eq!(c["create"]["thinking"], REASONING_TEXT, "{out}");
    assert_eq!(c["stream"]["types"], json!(["thinking", "text"]), "{out}");
    assert_eq!(c["stream"]["thinking"], REASONING_TEXT, "{out}");
    assert_eq!(
        (
            c["stream"]["input_tokens"].as_u64(),
            c["stream"]["output_tokens"].as_u64()
        ),
        (Some(11), Some(7)),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_clients_replay_claude_thinking_through_the_thought_signature() {
    use integration_tests::gemini_support::{action, goog_post, weather_declaration};
    let w = world(ANTHROPIC, json!({})).await;
    let user = json!({"role": "user", "parts": [{"text": "weather in Paris?"}]});
    let first = json!({"contents": [user],
        "tools": [{"functionDeclarations": [weather_declaration()]}],
        "generationConfig": {"maxOutputTokens": 8000,
            "thinkingConfig": {"thinkingBudget": 2000, "includeThoughts": true}}});
    let r = goog_post(&w, &action(CLAUDE, "generateContent"), first.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let model_turn = r.body["candidates"][0]["content"].clone();
    let thought = &model_turn["parts"][0];
    assert_eq!(thought["thought"], true, "{model_turn}");
    assert!(
        thought["thoughtSignature"]
            .as_str()
            .is_some_and(|s| s.contains(THINKING_SIGNATURE)),
        "{model_turn}"
    );
    let call = model_turn["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|p| p.get("functionCall"))
        .expect("a function call")
        .clone();
    let mut second = first;
    second["contents"] = json!([user, model_turn, {"role": "user", "parts": [
        {"functionResponse": {"name": call["name"], "response": {"temp": 21}}}]}]);
    let r = goog_post(&w, &action(CLAUDE, "generateContent"), second).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let b = sent(&w);
    assert_eq!(b["thinking"]["budget_tokens"], 2000, "{b}");
    assert_eq!(
        b["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": THINKING_TEXT, "signature": THINKING_SIGNATURE}),
        "{b}"
    );
}
