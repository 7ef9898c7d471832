//! `POST /v1/messages` for Anthropic-format clients: converted over OpenAI and Gemini
//! channels, passed through over Anthropic channels.

use integration_tests::mock_upstream::{Reply, TOOL_ARGUMENTS};
use integration_tests::provider_support::{
    anthropic_body, anthropic_events, anthropic_text, assert_billed, event_outline, messages,
    messages_stream, world, ANTHROPIC, CLAUDE, GEMINI, GEMINI_MODEL, OPENAI,
};
use integration_tests::v1_support::{CHANNEL_KEY, MODEL};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}})
}

fn args() -> Value {
    serde_json::from_str(TOOL_ARGUMENTS).unwrap()
}

/// Asserts an Anthropic `message` answer with one text block.
fn assert_text_message(b: &Value, model: &str, text: &str) {
    assert_eq!(b["type"], "message", "{b}");
    assert_eq!(b["role"], "assistant");
    assert_eq!(b["model"], model);
    assert!(b["id"].as_str().is_some_and(|s| !s.is_empty()), "{b}");
    assert_eq!(b["content"], json!([{"type": "text", "text": text}]), "{b}");
    assert_eq!(b["stop_reason"], "end_turn");
    assert_eq!(b["usage"]["input_tokens"], 11);
    assert_eq!(b["usage"]["output_tokens"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_an_openai_channel_are_converted_both_ways() {
    let w = world(OPENAI, json!({})).await;
    let body = json!({
        "model": MODEL, "max_tokens": 64, "temperature": 0.2, "stop_sequences": ["STOP"],
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "text", "text": "héllo 日本"}]}
        ]
    });
    let r = messages(&w, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_text_message(&r.body, MODEL, "Echo: héllo 日本");

    let req = w.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {CHANNEL_KEY}").as_str())
    );
    let b = req.json();
    assert_eq!(b["model"], MODEL);
    assert_eq!(b["max_tokens"], 64);
    assert_eq!(b["temperature"], 0.2);
    assert_eq!(b["stop"], json!(["STOP"]));
    let msgs = b["messages"].as_array().unwrap();
    assert_eq!(msgs[0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(msgs[1], json!({"role": "user", "content": "earlier"}));
    assert_eq!(msgs[2]["role"], "assistant");
    assert_eq!(msgs[2]["content"], "ok");
    assert_eq!(
        msgs[3]["content"][0]["image_url"]["url"],
        "data:image/png;base64,AAAA"
    );
    assert_eq!(msgs[3]["content"][1]["text"], "héllo 日本");
    assert_billed(&w, 11, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_stream_over_an_openai_channel_is_a_proper_anthropic_event_stream() {
    let w = world(OPENAI, json!({})).await;
    w.mock.update_options(|o| o.chunk_bytes = Some(3));
    let mut body = anthropic_body(MODEL, "stream 🎉 me");
    body["stream"] = json!(true);
    let rec = messages_stream(&w, body).await;
    assert_eq!(rec.status, 200, "{}", String::from_utf8_lossy(&rec.raw));
    let events = anthropic_events(&rec);
    assert_eq!(
        event_outline(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{events:?}"
    );
    let start = &events[0].1["message"];
    assert_eq!(start["role"], "assistant");
    assert_eq!(start["model"], MODEL);
    assert_eq!(start["content"], json!([]));
    assert_eq!(anthropic_text(&events), "Echo: stream 🎉 me");
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 7);
    assert!(!String::from_utf8_lossy(&rec.raw).contains("[DONE]"));
    let sent = w.mock.last_request().unwrap().json().clone();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_billed(&w, 11, 7).await;
}

async fn tool_use_round_trip(channel_type: i64, model: &str) {
    let w = world(channel_type, json!({})).await;
    let body = json!({"model": model, "max_tokens": 100, "tools": [weather_tool()],
                      "tool_choice": {"type": "auto"},
                      "messages": [{"role": "user", "content": "weather?"}]});
    let r = messages(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["stop_reason"], "tool_use", "{}", r.text);
    let blocks = r.body["content"].as_array().unwrap();
    let call = blocks
        .iter()
        .find(|b| b["type"] == "tool_use")
        .expect("tool_use block");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["input"], args(), "input is an object");
    let id = call["id"].as_str().expect("id");

    // Streaming the same request: the tool_use block with input_json_delta parts.
    let mut sb = body.clone();
    sb["stream"] = json!(true);
    let rec = messages_stream(&w, sb).await;
    let events = anthropic_events(&rec);
    let (tool_index, start) = events
        .iter()
        .find(|(n, d)| n == "content_block_start" && d["content_block"]["type"] == "tool_use")
        .map(|(_, d)| (d["index"].clone(), d["content_block"].clone()))
        .expect("tool_use block start");
    assert_eq!(start["name"], "get_weather");
    assert!(start["id"].as_str().is_some_and(|s| !s.is_empty()));
    let json: String = events
        .iter()
        .filter(|(n, d)| n == "content_block_delta" && d["index"] == tool_index)
        .map(|(_, d)| {
            assert_eq!(d["delta"]["type"], "input_json_delta", "{d}");
            d["delta"]["partial_json"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), args());
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(events.last().unwrap().0, "message_stop");

    // The tool's result goes back as the provider's tool-result form.
    let follow = json!({"model": model, "max_tokens": 100, "tools": [weather_tool()],
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": r.body["content"].clone()},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id,
                                          "content": "sunny"}]}]});
    let r = messages(&w, follow).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let text = r.body["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("Tool result: "), "{}", r.text);
    assert_eq!(r.body["stop_reason"], "end_turn");
    let sent = w.mock.last_request().unwrap().json().clone();
    if channel_type == OPENAI {
        let msgs = sent["messages"].as_array().unwrap();
        assert_eq!(msgs[1]["tool_calls"][0]["id"], id);
        assert_eq!(msgs[1]["tool_calls"][0]["function"]["name"], "get_weather");
        assert_eq!(
            msgs[2],
            json!({"role": "tool", "tool_call_id": id, "content": "sunny"})
        );
        assert_eq!(text, "Tool result: sunny");
    } else {
        let part = &sent["contents"][2]["parts"][0]["functionResponse"];
        assert_eq!(part["name"], "get_weather");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_use_over_an_openai_channel_round_trips_streaming_or_not() {
    tool_use_round_trip(OPENAI, MODEL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_use_over_a_gemini_channel_round_trips_streaming_or_not() {
    tool_use_round_trip(GEMINI, GEMINI_MODEL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_a_gemini_channel_are_converted_streaming_or_not() {
    let w = world(GEMINI, json!({})).await;
    let mut body = anthropic_body(GEMINI_MODEL, "bonjour ça va");
    body["system"] = json!("Be brief.");
    body["messages"] = json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklG"}},
        {"type": "text", "text": "bonjour ça va"}]}]);
    let r = messages(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_text_message(&r.body, GEMINI_MODEL, "Echo: bonjour ça va");
    let sent = w.mock.last_request().unwrap();
    assert!(sent.path.ends_with(":generateContent"), "{}", sent.path);
    assert_eq!(
        sent.json()["systemInstruction"]["parts"][0]["text"],
        "Be brief."
    );
    assert_eq!(sent.json()["generationConfig"]["maxOutputTokens"], 64);
    assert_eq!(
        sent.json()["contents"][0]["parts"][0]["inlineData"],
        json!({"mimeType": "image/webp", "data": "UklG"})
    );

    w.mock.update_options(|o| o.chunk_bytes = Some(7));
    body["stream"] = json!(true);
    let rec = messages_stream(&w, body).await;
    let events = anthropic_events(&rec);
    assert_eq!(events.first().unwrap().0, "message_start");
    assert_eq!(events.last().unwrap().0, "message_stop");
    assert_eq!(anthropic_text(&events), "Echo: bonjour ça va");
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["usage"]["output_tokens"], 7);
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_billed(&w, 11, 7).await;
}

/// A channel serving the alias `claude-latest`, mapped to the real model upstream.
async fn anthropic_alias_world() -> integration_tests::v1_support::V1World {
    world(
        ANTHROPIC,
        json!({"models": ["claude-latest"], "model_mapping": {"claude-latest": CLAUDE}}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_an_anthropic_channel_pass_through_with_only_the_model_mapped() {
    let w = anthropic_alias_world().await;
    let body = json!({
        "model": "claude-latest", "max_tokens": 300, "top_k": 5,
        "system": [{"type": "text", "text": "Cached system", "cache_control": {"type": "ephemeral"}}],
        "metadata": {"user_id": "u-1"},
        "thinking": {"type": "enabled", "budget_tokens": 200},
        "some_future_field": {"kept": [1, 2, 3]},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    });
    // Odd spacing and an unknown field: the bytes must come back exactly as sent.
    let upstream = r#"{"id":"msg_x", "type":"message","role":"assistant","model":"claude-sonnet-4-5",
      "content":[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"text","text":"hé"}],
      "stop_reason":"end_turn","stop_sequence":null,"new_thing":true,
      "usage":{"input_tokens":13,"output_tokens":4,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}"#;
    w.mock.push_reply(Reply::json(200, json!(upstream)));
    let r = messages(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, upstream, "the response bytes are unchanged");

    let req = w.mock.last_request().unwrap();
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some(CHANNEL_KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    let mut expected = body;
    expected["model"] = json!(CLAUDE);
    assert_eq!(req.json(), &expected, "only the model is changed");
    let log = assert_billed(&w, 13, 4).await;
    assert_eq!(log["model_name"], "claude-latest");
    assert_eq!(log["upstream_model"], CLAUDE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_stream_over_an_anthropic_channel_passes_the_events_through() {
    let w = anthropic_alias_world().await;
    w.mock.update_options(|o| o.chunk_bytes = Some(1));
    let mut body = anthropic_body("claude-latest", "pass 日本 through");
    body["stream"] = json!(true);
    body["tools"] = json!([weather_tool()]);
    let rec = messages_stream(&w, body.clone()).await;
    assert_eq!(rec.status, 200, "{}", String::from_utf8_lossy(&rec.raw));
    let events = anthropic_events(&rec);
    assert_eq!(events[0].0, "message_start");
    assert_eq!(
        events[0].1["message"]["model"], CLAUDE,
        "unchanged upstream event"
    );
    assert!(
        events.iter().any(|(n, _)| n == "ping"),
        "pings pass through"
    );
    assert_eq!(anthropic_text(&events), "Echo: pass 日本 through");
    assert_eq!(events.last().unwrap().0, "message_stop");
    let sent = w.mock.last_request().unwrap().json().clone();
    let mut expected = body;
    expected["model"] = json!(CLAUDE);
    assert_eq!(sent, expected);
    assert_billed(&w, 11, 7).await;

    // A scripted stream comes back byte for byte.
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"é\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    w.mock.push_reply(Reply::Sse(sse.to_string()));
    let mut body = anthropic_body("claude-latest", "x");
    body["stream"] = json!(true);
    let rec = messages_stream(&w, body).await;
    assert_eq!(String::from_utf8_lossy(&rec.raw), sse);
    assert_billed(&w, 5, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_is_accepted_in_x_api_key_and_as_a_bearer_token() {
    use integration_tests::provider_support::{messages_builder, KeyIn};
    let w = world(OPENAI, json!({})).await;
    for how in [KeyIn::XApiKey, KeyIn::Bearer] {
        let req =
            messages_builder(&w, "/v1/messages", &w.key, how).json(&anthropic_body(MODEL, "key"));
        let r = w.gw.send(req).await;
        assert_eq!(r.status, 200, "{how:?}: {}", r.text);
        assert_eq!(r.body["content"][0]["text"], "Echo: key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_tokens_is_estimated_locally_where_no_channel_can_count() {
    use integration_tests::provider_support::{messages_builder, KeyIn};
    // Only an OpenAI channel serves the model: no provider count to ask for
    // (Anthropic and Gemini channels count upstream: providers/count_tokens.rs).
    let w = world(OPENAI, json!({"models": [CLAUDE]})).await;
    let count = |text: String| {
        let body = json!({"model": CLAUDE, "system": "Be brief.",
                          "messages": [{"role": "user", "content": text}]});
        w.gw.send(
            messages_builder(&w, "/v1/messages/count_tokens", &w.key, KeyIn::XApiKey).json(&body),
        )
    };
    let short = count("hello".into()).await;
    assert_eq!(short.status, 200, "{}", short.text);
    let small = short.body["input_tokens"].as_u64().expect("input_tokens");
    assert!(small > 0);
    let long = count("hello world ".repeat(200)).await;
    let big = long.body["input_tokens"].as_u64().unwrap();
    assert!(big > small + 300, "{small} vs {big}");
    assert_eq!(w.mock.request_count(), 0, "no upstream call");
    assert!(w.logs().await.is_empty(), "nothing billed");
    let r =
        w.gw.send(
            messages_builder(&w, "/v1/messages/count_tokens", "sk-wrong", KeyIn::XApiKey)
                .json(&json!({"model": CLAUDE, "messages": []})),
        )
        .await;
    integration_tests::provider_support::anthropic_error(&r, 401, "authentication_error");
    let r =
        w.gw.send(
            messages_builder(&w, "/v1/messages/count_tokens", &w.key, KeyIn::XApiKey)
                .json(&json!({"model": CLAUDE, "messages": "nope"})),
        )
        .await;
    integration_tests::provider_support::anthropic_error(&r, 400, "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_beta_headers_reach_anthropic_channels_only() {
    use integration_tests::provider_support::{messages_builder, KeyIn};
    // Claude Code sends beta headers its body fields depend on.
    let beta = "interleaved-thinking-2025-05-14,context-management-2025-06-27";
    let w = world(ANTHROPIC, json!({})).await;
    let req = messages_builder(&w, "/v1/messages", &w.key, KeyIn::XApiKey)
        .header("anthropic-beta", beta)
        .json(&anthropic_body(CLAUDE, "beta"));
    let r = w.gw.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = w.mock.last_request().unwrap();
    assert_eq!(sent.header("anthropic-beta"), Some(beta));

    let o = world(OPENAI, json!({})).await;
    let req = messages_builder(&o, "/v1/messages", &o.key, KeyIn::XApiKey)
        .header("anthropic-beta", beta)
        .json(&anthropic_body(MODEL, "beta"));
    assert_eq!(o.gw.send(req).await.status, 200);
    assert_eq!(
        o.mock.last_request().unwrap().header("anthropic-beta"),
        None
    );
}
