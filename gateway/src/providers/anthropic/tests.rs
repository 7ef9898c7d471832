use super::testkit::{channel, concat, json_data, split_invariant};
use super::*;
use crate::providers::{StreamAdapter, Target};
use actix_web::http::header::HeaderName;
use serde_json::json;
use shared::sse::SseEvent;

fn convert(body: Value) -> Value {
    serde_json::to_value(to_anthropic(&body, Endpoint::Chat, "claude-x", false).unwrap()).unwrap()
}

#[test]
fn build_targets_messages_with_anthropic_headers() {
    let ch = channel("https://api.anthropic.com/");
    let t = Target {
        channel: &ch,
        key: "sk-ant",
        upstream_model: "claude-sonnet-4-5",
    };
    let body = json!({"model": "c", "messages": [{"role": "user", "content": "hi"}]});
    let r = build(&t, Endpoint::Chat, &body, true).unwrap();
    assert_eq!(r.url, "https://api.anthropic.com/v1/messages");
    assert!(r
        .headers
        .contains(&(HeaderName::from_static("x-api-key"), "sk-ant".into())));
    assert!(r.headers.contains(&(
        HeaderName::from_static("anthropic-version"),
        "2023-06-01".into()
    )));
    let sent: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["max_tokens"], DEFAULT_MAX_TOKENS);
    let e = build(&t, Endpoint::Embeddings, &json!({"input": "x"}), false).unwrap_err();
    assert_eq!(e.status().as_u16(), 400);
    assert!(
        e.message.contains("not supported by this channel"),
        "{}",
        e.message
    );
    let raw = bytes::Bytes::from_static(br#"{"zeta":1, "model": "alias","max_tokens":5}"#);
    let native = build_native(&t, &raw, "alias", None, false).unwrap();
    assert_eq!(
        &native.body[..],
        br#"{"zeta":1, "model": "claude-sonnet-4-5","max_tokens":5}"#
    );
}

#[test]
fn system_messages_move_out_and_turns_alternate_starting_with_user() {
    let v = convert(json!({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
        {"role": "assistant", "content": "Earlier reply"},
        {"role": "user", "content": "one"},
        {"role": "user", "content": [{"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "Prefill  \n"}],
        "max_completion_tokens": 77, "temperature": 1.7, "top_p": 0.9, "stop": "END",
        "user": "u-42", "stream": true}));
    assert_eq!(v["system"], "Be brief.\n\nUse French.");
    let roles: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(
        v["messages"][2]["content"],
        json!([{"type": "text", "text": "one"}, {"type": "text", "text": "two"}])
    );
    assert_eq!(v["messages"][3]["content"][0]["text"], "Prefill");
    assert_eq!(
        (v["max_tokens"].clone(), v["temperature"].clone()),
        (json!(77), json!(1.0))
    );
    assert_eq!(v["stop_sequences"], json!(["END"]));
    assert_eq!(v["metadata"]["user_id"], "u-42");
    assert!(
        v.get("stream").is_none(),
        "stream follows the argument, not the body"
    );
}

#[test]
fn images_become_base64_or_url_sources() {
    let v = convert(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}}]}]}));
    let c = &v["messages"][0]["content"];
    assert_eq!(
        c[1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="})
    );
    assert_eq!(
        c[2]["source"],
        json!({"type": "url", "url": "https://example.com/cat.jpg"})
    );
    let bad = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]});
    assert!(to_anthropic(&bad, Endpoint::Chat, "m", false).is_err());
}

#[test]
fn tools_and_tool_choice_map_to_anthropic_tools() {
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "noargs"}}]);
    let msgs = json!([{"role": "user", "content": "hi"}]);
    let v = convert(json!({"messages": msgs, "tools": tools}));
    assert_eq!(
        v["tools"][0]["input_schema"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(
        v["tools"][1]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(v["tool_choice"], json!({"type": "auto"}));
    for (choice, expected) in [
        (json!("none"), json!({"type": "none"})),
        (json!("required"), json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"type": "tool", "name": "get_weather"}),
        ),
    ] {
        let v = convert(json!({"messages": msgs, "tools": tools, "tool_choice": choice}));
        assert_eq!(v["tool_choice"], expected);
    }
    let v = convert(json!({"messages": msgs, "tools": tools, "parallel_tool_calls": false}));
    assert_eq!(
        v["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let v = convert(json!({"messages": msgs, "tool_choice": "required"}));
    assert!(v.get("tool_choice").is_none(), "no tools, no tool_choice");
}

#[test]
fn tool_calls_and_tool_results_round_trip() {
    let v = convert(json!({"messages": [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "w", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "toolu_2", "type": "function", "function": {"name": "w", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]},
        {"role": "user", "content": "Thanks"}]}));
    let m = v["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[1]["content"][0],
        json!({"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}})
    );
    assert_eq!(m[1]["content"][1]["input"], json!({}));
    assert_eq!(
        m[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"})
    );
    assert_eq!(m[2]["content"][1]["tool_use_id"], "toolu_2");
    assert_eq!(
        m[2]["content"][2],
        json!({"type": "text", "text": "Thanks"})
    );
}

#[test]
fn completions_wrap_the_prompt_and_bad_input_is_a_clear_400() {
    let r = to_anthropic(
        &json!({"prompt": "Say hi"}),
        Endpoint::Completions,
        "m",
        false,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&r.messages).unwrap(),
        json!([{"role": "user", "content": [{"type": "text", "text": "Say hi"}]}])
    );
    for bad in [
        json!([1]),
        json!({"messages": "x"}),
        json!({"messages": [{"content": "no role"}]}),
        json!({"messages": [{"role": "tool", "content": "no id"}]}),
        json!({"messages": [{"role": "user", "content": 5}]}),
        json!({"messages": [{"role": "user", "content": "x"}], "n": 3}),
    ] {
        let e = to_anthropic(&bad, Endpoint::Chat, "m", false).unwrap_err();
        assert_eq!(e.status().as_u16(), 400, "{bad}");
    }
}

#[test]
fn responses_map_content_tool_calls_stop_reasons_and_usage() {
    let raw = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_9", "name": "w", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 5}});
    let p = parse(Endpoint::Chat, Bytes::from(raw.to_string())).unwrap();
    let v: Value = serde_json::from_slice(&p.body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    let msg = &v["choices"][0]["message"];
    assert_eq!(
        (msg["content"].as_str(), msg["reasoning_content"].as_str()),
        (Some("Checking."), Some("hmm"))
    );
    assert_eq!(
        msg["tool_calls"][0],
        json!({"id": "toolu_9", "type": "function",
        "function": {"name": "w", "arguments": "{\"city\":\"Paris\"}"}})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let u = p.usage.unwrap();
    assert_eq!(
        (
            u.prompt_tokens,
            u.completion_tokens,
            u.total_tokens,
            u.cached_tokens()
        ),
        (115, 20, 135, 100)
    );
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
    assert!(p.completion_text.contains("Checking.") && p.completion_text.contains("Paris"));
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ] {
        assert_eq!(finish_reason(stop), finish);
    }
    let legacy = parse(Endpoint::Completions, Bytes::from(raw.to_string())).unwrap();
    let v: Value = serde_json::from_slice(&legacy.body).unwrap();
    assert_eq!(
        (v["object"].as_str(), v["choices"][0]["text"].as_str()),
        (Some("text_completion"), Some("Checking."))
    );
}

#[test]
fn upstream_errors_and_garbage_are_reported_not_panicked() {
    let err = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    assert_eq!(error_message(err), "Overloaded");
    let Err(e) = parse(Endpoint::Chat, Bytes::from_static(err)) else {
        panic!("an error body must not parse as an answer");
    };
    assert!(e.contains("Overloaded"));
    assert!(parse(Endpoint::Chat, Bytes::from_static(b"<html>")).is_err());
    assert!(parse(Endpoint::Chat, Bytes::from_static(br#"{"content":"nope"}"#)).is_err());
    assert_eq!(error_message(br#"{"error":{"message":"m"}}"#), "m");
}

const STREAM: &str = concat!(
    "event: message_start\n",
    r#"data: {"type":"message_start","message":{"id":"msg_s1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2,"cache_creation_input_tokens":3,"cache_read_input_tokens":128}}}"#,
    "\n\nevent: content_block_start\n",
    r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    "\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Météo à Paris ☀️, "}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"un instant."}}"#,
    "\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\n",
    r#"data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
    "\r\n\r\nevent: content_block_delta\r\n",
    r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}"#,
    "\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_start\n",
    r#"data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"get_time","input":{}}}"#,
    "\n\nevent: content_block_delta\n",
    r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
    "\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: message_delta\n",
    r#"data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
    "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

fn stream_with(wants_usage: bool) -> Box<dyn StreamAdapter> {
    Box::new(AnthropicStream::new("my-claude", wants_usage).frozen())
}

#[test]
fn stream_converts_text_tools_finish_and_usage_at_every_split() {
    let out = split_invariant(&|| stream_with(true), STREAM.as_bytes());
    assert!(out.ends_with("data: [DONE]\n\n") && out.matches("[DONE]").count() == 1);
    let chunks = json_data(&out);
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert!(chunks
        .iter()
        .all(|c| c["id"] == "msg_s1" && c["model"] == "my-claude"));
    assert_eq!(
        concat(&chunks, "/choices/0/delta/content"),
        "Météo à Paris ☀️, un instant."
    );
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/tool_calls/0"))
        .collect();
    assert_eq!(
        calls[0],
        &json!({"index": 0, "id": "toolu_a", "type": "function",
        "function": {"name": "get_weather", "arguments": ""}})
    );
    let args0: String = calls
        .iter()
        .filter(|c| c["index"] == 0)
        .filter_map(|c| c.pointer("/function/arguments").and_then(Value::as_str))
        .collect();
    assert_eq!(args0, r#"{"city": "Paris"}"#);
    assert!(calls
        .iter()
        .any(|c| c["index"] == 1 && c["id"] == "toolu_b"));
    let finishes: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, [&json!("tool_calls")]);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["prompt_tokens"], 603);
    assert_eq!(last["usage"]["completion_tokens"], 89);
}

#[test]
fn usage_is_billed_but_hidden_from_clients_that_did_not_ask() {
    let mut s = AnthropicStream::new("my-claude", false);
    let out = testkit::run(&mut s, [STREAM.as_bytes()]);
    assert!(!out.contains("\"usage\""));
    let u = s.usage().unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.cached_tokens()),
        (603, 89, 128)
    );
    assert!(s.is_done() && s.generated_tokens() > 5);
}

#[test]
fn error_events_end_the_stream_with_an_openai_error() {
    let raw = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"output_tokens":1}}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Partial"}}"#,
        "\n\nevent: error\n",
        r#"data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        "\n\n"
    );
    let out = split_invariant(&|| stream_with(false), raw.as_bytes());
    let chunks = json_data(&out);
    assert_eq!(
        chunks.last().unwrap()["error"]["message"],
        "overloaded_error: Overloaded"
    );
    assert_eq!(concat(&chunks, "/choices/0/delta/content"), "Partial");
    let mut s = AnthropicStream::new("m", false);
    let mut v = Vec::new();
    s.on_event(&SseEvent::named("error", "not json"), &mut v);
    assert!(s.is_done() && v.len() == 1);
}

#[test]
fn hostile_events_do_not_panic() {
    let mut s = AnthropicStream::new("m", true);
    let mut out = Vec::new();
    for data in [
        "",
        "{}",
        "[]",
        "null",
        r#"{"type":"content_block_delta","index":-1}"#,
        r#"{"type":"content_block_delta","index":99,"delta":{"type":"input_json_delta","partial_json":"x"}}"#,
        r#"{"type":"message_delta","usage":{"output_tokens":1e99}}"#,
        "\u{0}\u{ffff}",
    ] {
        s.on_event(&SseEvent::data(data), &mut out);
    }
    assert!(!s.is_done());
    assert!(s.usage().is_none());
}
