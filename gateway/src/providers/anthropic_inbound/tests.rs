use super::*;
use crate::providers::anthropic::testkit::{events, run, split_invariant};
use crate::providers::anthropic::AnthropicStream;
use crate::providers::gemini::GeminiStream;
use crate::providers::openai::OpenAiStream;
use crate::providers::{Endpoint, StreamAdapter};
use shared::sse::SseEvent;

#[test]
fn requests_convert_system_blocks_tools_and_sampling() {
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "Be terse."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<reminder/>"}, {"type": "text", "text": "List files"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "…", "signature": "sig"},
                {"type": "text", "text": "Running ls."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "a.txt"}]},
                {"type": "text", "text": "Now read it"}]}],
        "tools": [{"name": "Bash", "description": "Run", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["\n\nHuman:"], "temperature": 0.2, "top_p": 0.9, "top_k": 40,
        "stream": true, "metadata": {"user_id": "u1"}});
    let v = to_openai(&body).unwrap();
    assert_eq!(
        v["messages"][0],
        json!({"role": "system", "content": "You are Claude Code.\nBe terse."})
    );
    assert_eq!(
        v["messages"][1]["content"][2],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}})
    );
    assert_eq!(
        v["messages"][2],
        json!({"role": "assistant", "content": "Running ls.", "tool_calls": [
        {"id": "toolu_1", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls\"}"}}]})
    );
    assert_eq!(
        v["messages"][3],
        json!({"role": "tool", "tool_call_id": "toolu_1", "content": "a.txt"})
    );
    assert_eq!(
        v["messages"][4],
        json!({"role": "user", "content": "Now read it"})
    );
    assert_eq!(
        v["tools"].as_array().unwrap().len(),
        1,
        "server tools are dropped"
    );
    assert_eq!(
        v["tools"][0]["function"]["parameters"]["properties"]["command"]["type"],
        "string"
    );
    assert_eq!(
        (
            v["tool_choice"].as_str(),
            v["parallel_tool_calls"].as_bool()
        ),
        (Some("required"), Some(false))
    );
    assert_eq!(v["stop"], json!(["\n\nHuman:"]));
    assert_eq!(
        (v["max_tokens"].as_u64(), v["user"].as_str()),
        (Some(1024), Some("u1"))
    );
    assert_eq!(v["stream_options"], json!({"include_usage": true}));
    assert!(v.get("top_k").is_none());
    for (choice, expected) in [
        (json!({"type": "auto"}), json!("auto")),
        (json!({"type": "none"}), json!("none")),
        (
            json!({"type": "tool", "name": "Bash"}),
            json!({"type": "function", "function": {"name": "Bash"}}),
        ),
    ] {
        let mut b = body.clone();
        b["tool_choice"] = choice;
        assert_eq!(to_openai(&b).unwrap()["tool_choice"], expected);
    }
}

#[test]
fn bad_requests_are_anthropic_shaped_400s() {
    for bad in [
        json!("x"),
        json!({"messages": []}),
        json!({"model": "m", "messages": "hi"}),
        json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
        json!({"model": "m", "max_tokens": -1, "messages": []}),
    ] {
        let e = to_openai(&bad).unwrap_err();
        assert_eq!(e.status().as_u16(), 400, "{bad}");
        assert_eq!(e.body()["type"], "error", "{bad}");
    }
}

#[test]
fn responses_convert_back_with_tool_use_stop_reason_and_usage() {
    let openai = json!({"id": "chatcmpl-123", "object": "chat.completion", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "Let me look.", "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "Bash", "arguments": "{\"command\":\"ls\"}"}}]},
        "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 15, "total_tokens": 135,
                  "prompt_tokens_details": {"cached_tokens": 100}}});
    let m = from_openai_response(&openai, "claude-sonnet-4-5");
    assert_eq!(m["id"], "msg_123");
    assert_eq!(
        (m["type"].as_str(), m["model"].as_str()),
        (Some("message"), Some("claude-sonnet-4-5"))
    );
    assert_eq!(
        m["content"],
        json!([{"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "call_9", "name": "Bash", "input": {"command": "ls"}}])
    );
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(
        m["usage"],
        json!({"input_tokens": 20, "output_tokens": 15, "cache_read_input_tokens": 100,
                                  "cache_creation_input_tokens": 0})
    );
    for (finish, stop) in [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
    ] {
        let o = json!({"choices": [{"message": {"content": "x"}, "finish_reason": finish}]});
        assert_eq!(from_openai_response(&o, "m")["stop_reason"], stop);
    }
    let empty = from_openai_response(&json!({}), "m");
    assert!(empty["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(empty["content"], json!([]));
}

#[test]
fn count_tokens_estimates_text_tools_and_images() {
    let small = count_tokens_estimate(
        &json!({"model": "claude", "messages": [{"role": "user", "content": "Hello"}]}),
    );
    let big = count_tokens_estimate(&json!({"model": "claude", "system": "You are helpful.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello there, how are you?"},
            {"type": "image", "source": {"type": "url", "url": "https://x"}}]}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}]}));
    assert!(small > 0 && big > small + IMAGE_TOKENS, "{small} {big}");
    assert_eq!(count_tokens_estimate(&json!(null)), 0);
}

const OPENAI_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo ☀️\"}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"{\\\"pa\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"command\\\":\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"th\\\":\\\"a\\\"}\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"ls\\\"}\"}}]}}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-7\",\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":20,\"total_tokens\":70}}\n\n",
    "data: [DONE]\n\n",
);

fn wrapped() -> Box<dyn StreamAdapter> {
    let inner = Box::new(OpenAiStream::new(Endpoint::Chat, "gpt-4o", true));
    Box::new(OpenAiToAnthropicStream::new(inner, "claude-sonnet-4-5").with_input_tokens(42))
}

/// (event name, data) pairs of an Anthropic stream.
fn anthropic_events(out: &str) -> Vec<(String, Value)> {
    events(out)
        .into_iter()
        .map(|e| {
            (
                e.event.unwrap_or_default(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect()
}

/// Checks the event grammar: start, well-nested blocks, message_delta, message_stop.
fn assert_well_formed(evs: &[(String, Value)]) {
    assert_eq!(evs[0].0, "message_start");
    let mut open: Option<u64> = None;
    let mut next = 0;
    for (name, data) in evs {
        assert_eq!(data["type"], name.as_str());
        match name.as_str() {
            "content_block_start" => {
                assert!(open.is_none());
                assert_eq!(data["index"], next);
                open = Some(next);
                next += 1;
            }
            "content_block_delta" => assert_eq!(data["index"].as_u64(), open),
            "content_block_stop" => assert_eq!(data["index"].as_u64(), open.take()),
            _ => {}
        }
    }
    let n = evs.len();
    assert_eq!(
        (evs[n - 2].0.as_str(), evs[n - 1].0.as_str()),
        ("message_delta", "message_stop")
    );
}

#[test]
fn interleaved_openai_tool_calls_become_sequential_anthropic_blocks_at_every_split() {
    let out = split_invariant(&wrapped, OPENAI_STREAM.as_bytes());
    assert!(!out.contains("[DONE]"));
    let evs = anthropic_events(&out);
    assert_well_formed(&evs);
    assert_eq!(evs[0].1["message"]["id"], "msg_7");
    assert_eq!(
        evs[0].1["message"]["usage"]["input_tokens"], 0,
        "no estimate that the real count contradicts later"
    );
    let blocks: Vec<&Value> = evs
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, d)| &d["content_block"])
        .collect();
    assert_eq!(blocks[0]["type"], "text");
    assert_eq!(
        (blocks[1]["id"].as_str(), blocks[1]["name"].as_str()),
        (Some("call_a"), Some("Bash"))
    );
    assert_eq!(
        (blocks[2]["id"].as_str(), blocks[2]["name"].as_str()),
        (Some("call_b"), Some("Read"))
    );
    let json_of = |i: u64| -> String {
        evs.iter()
            .filter(|(n, d)| n == "content_block_delta" && d["index"] == i)
            .filter_map(|(_, d)| d.pointer("/delta/partial_json").and_then(Value::as_str))
            .collect()
    };
    assert_eq!(json_of(1), r#"{"command":"ls"}"#);
    assert_eq!(json_of(2), r#"{"path":"a"}"#);
    let text: String = evs
        .iter()
        .filter_map(|(_, d)| d.pointer("/delta/text").and_then(Value::as_str))
        .collect();
    assert_eq!(text, "Héllo ☀️");
    let md = &evs[evs.len() - 2].1;
    assert_eq!(md["delta"]["stop_reason"], "tool_use");
    assert_eq!(
        (
            md["usage"]["output_tokens"].as_u64(),
            md["usage"]["input_tokens"].as_u64()
        ),
        (Some(20), Some(50))
    );
}

#[test]
fn wrapper_delegates_usage_and_works_over_anthropic_and_gemini_adapters() {
    let mut s = wrapped();
    run(&mut *s, [OPENAI_STREAM.as_bytes()]);
    assert_eq!(s.usage().unwrap().completion_tokens, 20);
    assert!(s.is_done() && s.generated_tokens() > 0);
    let anth = concat!("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    let gem = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":3}}\n\n";
    let inners: [(Box<dyn StreamAdapter>, &str); 2] = [
        (Box::new(AnthropicStream::new("c", true)), anth),
        (Box::new(GeminiStream::new("g", true)), gem),
    ];
    for (inner, raw) in inners {
        let mut s = OpenAiToAnthropicStream::new(inner, "claude");
        let evs = anthropic_events(&run(&mut s, [raw.as_bytes()]));
        assert_well_formed(&evs);
        let md = &evs[evs.len() - 2].1;
        assert_eq!(
            (
                md["delta"]["stop_reason"].as_str(),
                md["usage"]["output_tokens"].as_u64()
            ),
            (Some("end_turn"), Some(3))
        );
        assert_eq!(s.usage().unwrap().prompt_tokens, 9);
    }
}

#[test]
fn errors_become_anthropic_error_events_and_end_the_stream() {
    let mut s = OpenAiToAnthropicStream::new(Box::new(AnthropicStream::new("c", false)), "claude");
    let raw = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let evs = anthropic_events(&run(&mut s, [raw.as_bytes()]));
    assert_eq!(evs.len(), 1);
    assert_eq!(
        (evs[0].0.as_str(), evs[0].1["error"]["message"].as_str()),
        ("error", Some("overloaded_error: Overloaded"))
    );
    // A pipeline failure after the first byte: the error event, then nothing more.
    let mut s = wrapped();
    let mut out = Vec::new();
    s.on_event(
        &SseEvent::data(r#"{"id":"x","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#),
        &mut out,
    );
    out.push(s.error_event("upstream stream idle timeout"));
    s.finish(&mut out);
    let evs = anthropic_events(&String::from_utf8(out.concat()).unwrap());
    assert_eq!(evs.last().unwrap().0, "error");
}

#[test]
fn passthrough_forwards_unchanged_and_bills_from_start_and_delta() {
    let raw = concat!("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_p\",\"usage\":{\"input_tokens\":30,\"cache_read_input_tokens\":70,\"output_tokens\":1}}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Grüß dich 👋\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    let out = split_invariant(
        &|| Box::new(AnthropicPassthrough::new("claude")),
        raw.as_bytes(),
    );
    assert_eq!(out, raw);
    let mut p = AnthropicPassthrough::new("claude");
    run(&mut p, [raw.as_bytes()]);
    let u = p.usage().unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.cached_tokens()),
        (100, 12, 70)
    );
    assert!(p.is_done() && p.generated_tokens() > 0);
    assert!(String::from_utf8(p.error_event("boom").to_vec())
        .unwrap()
        .starts_with("event: error\n"));
}

#[test]
fn claude_codes_long_user_id_reaches_openai_hashed_to_64_characters() {
    let long = r#"{"device_id":"9aca4c525872cb06b6eb5d49fd1db643c0b5adcd6f5574770381f1a760633cd7","account_uuid":"","session_id":"14de0fdd-2c9f-4973-93e1-7fa879e039b2"}"#;
    let body = |user: &str| {
        json!({"model": "claude-opus-4-8", "max_tokens": 64,
               "messages": [{"role": "user", "content": "hi"}],
               "metadata": {"user_id": user}})
    };
    let hashed = to_openai(&body(long)).unwrap()["user"].clone();
    let hashed = hashed.as_str().unwrap().to_string();
    assert_eq!(hashed.len(), 64);
    assert!(hashed.bytes().all(|b| b.is_ascii_hexdigit()), "{hashed}");
    assert_eq!(to_openai(&body(long)).unwrap()["user"], hashed, "stable");
    let other = long.replace("14de0fdd", "24de0fdd");
    assert_ne!(to_openai(&body(&other)).unwrap()["user"], hashed);
    assert_eq!(to_openai(&body("user-42")).unwrap()["user"], "user-42");
}

#[test]
fn content_deltas_pass_verbatim_and_still_count_when_no_usage_comes() {
    let delta = |text: &str| {
        shared::sse::encode_event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}})
            .to_string(),
        )
    };
    let chunk = [delta("Hello there, "), delta("general Kenobi")].concat();
    let mut fast = AnthropicPassthrough::new("claude");
    assert!(fast.take_verbatim(&chunk));
    let mut slow = AnthropicPassthrough::new("claude");
    run(&mut slow, [&chunk[..]]);
    assert!(slow.generated_tokens() > 0);
    assert_eq!(fast.generated_tokens(), slow.generated_tokens());
    assert!(fast.usage().is_none() && !fast.is_done());

    let usage = shared::sse::encode_event(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}"#,
    );
    let ping = shared::sse::encode_event("ping", r#"{"type": "ping"}"#);
    let renamed = shared::sse::encode_event("content_block_delta", r#"{"type":"message_stop"}"#);
    for refused in [usage, ping, renamed, shared::sse::encode_data("{}")] {
        let mut p = AnthropicPassthrough::new("claude");
        assert!(!p.take_verbatim(&[&chunk[..], &refused].concat()));
        assert_eq!(p.generated_tokens(), 0);
    }
}
