//! Reasoning across dialects and channel types (issue 15): the client's setting reaches
//! the upstream in the upstream's terms (only for models that take it), the upstream's
//! reasoning comes back in the client's terms, and Anthropic's signed thinking survives a
//! round trip through OpenAI-shaped answers so multi-turn tool use replays it.

use integration_tests::gateway_support::Resp;
use integration_tests::mock_upstream::{
    REASONING_TEXT, THINKING_SIGNATURE, THINKING_TEXT, THOUGHT_TEXT,
};
use integration_tests::provider_support::{
    anthropic_events, messages, messages_stream, world, ANTHROPIC, CLAUDE, GEMINI, GEMINI_MODEL,
    OPENAI,
};
use integration_tests::v1_support::{SseRecording, V1World};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})
}

/// A world whose one channel of `channel_type` serves `model`.
async fn world_for(channel_type: i64, model: &str) -> V1World {
    world(channel_type, json!({ "models": [model] })).await
}

fn warnings(r: &Resp) -> String {
    r.headers
        .get("x-gateway-warnings")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn sent(w: &V1World) -> Value {
    w.mock
        .last_request()
        .expect("upstream called")
        .json()
        .clone()
}

/// Concatenated `choices[0].delta.<key>` strings of an OpenAI stream.
fn delta_text(rec: &SseRecording, key: &str) -> String {
    rec.json_events()
        .iter()
        .filter_map(|v| {
            v.pointer(&format!("/choices/0/delta/{key}"))?
                .as_str()
                .map(String::from)
        })
        .collect()
}

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
