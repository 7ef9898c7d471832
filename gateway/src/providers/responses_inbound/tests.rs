use super::*;
use crate::providers::openai::OpenAiStream;
use crate::providers::Endpoint;
use serde_json::json;
use shared::openai::Usage;
use shared::sse::{SseDecoder, SseEvent};

fn codex_like() -> Value {
    json!({
        "model": "m", "stream": true, "store": false, "instructions": "Be terse.",
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k",
        "reasoning": {"effort": "high", "summary": "auto"}, "max_output_tokens": 100,
        "text": {"format": {"type": "json_schema", "name": "out", "strict": true,
                            "schema": {"type": "object"}}},
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "x"},
            {"type": "function_call", "call_id": "c1", "name": "exec", "arguments": "{\"a\":1}"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin"},
            {"type": "function_call", "call_id": "c3", "namespace": "ns", "name": "close", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
            {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "done"}]},
            {"type": "function_call_output", "call_id": "c3", "output": "closed"},
            {"role": "user", "content": "again"}
        ],
        "tools": [
            {"type": "function", "name": "exec", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}},
            {"type": "custom", "name": "apply_patch", "description": "Patch files.",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
            {"type": "namespace", "name": "ns", "description": "Agents.",
             "tools": [{"type": "function", "name": "close", "parameters": {"type": "object"}}]},
            {"type": "web_search", "external_web_access": false}
        ],
        "tool_choice": "auto", "parallel_tool_calls": true
    })
}

#[test]
fn a_codex_request_converts_to_chat() {
    let c = convert(&codex_like()).unwrap();
    let b = &c.body;
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m[0], json!({"role": "system", "content": "Be terse."}));
    assert_eq!(m[1], json!({"role": "system", "content": "dev"}));
    assert_eq!(m[2], json!({"role": "user", "content": "hi"}));
    let calls = m[3]["tool_calls"].as_array().unwrap();
    assert_eq!(
        calls.len(),
        3,
        "consecutive calls join one assistant turn: {m:?}"
    );
    assert_eq!(
        calls[1]["function"]["arguments"],
        r#"{"input":"*** Begin"}"#
    );
    assert_eq!(calls[2]["function"]["name"], "ns__close");
    assert_eq!(
        m[4],
        json!({"role": "tool", "tool_call_id": "c1", "content": "ok"})
    );
    assert_eq!(m[5]["content"], "done");
    assert_eq!(m[7], json!({"role": "user", "content": "again"}));
    assert_eq!(b["max_tokens"], 100);
    assert_eq!(
        b[crate::providers::reasoning::FIELD],
        json!({"effort": "high"})
    );
    assert_eq!(b["response_format"]["json_schema"]["name"], "out");
    assert_eq!(b["stream_options"]["include_usage"], true);
    let tools = b["tools"].as_array().unwrap();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exec", "apply_patch", "ns__close"]);
    assert_eq!(
        tools[1]["function"]["parameters"]["required"],
        json!(["input"])
    );
    assert!(tools[1]["function"]["description"]
        .as_str()
        .unwrap()
        .contains("start: /.+/"));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("web_search"));
}

#[test]
fn bad_requests_are_refused_in_openai_shape() {
    for body in [
        json!([1]),
        json!({"model": "m"}),
        json!({"model": "m", "input": 3}),
        json!({"model": "m", "input": "x", "max_output_tokens": -1}),
        json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
        json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}),
    ] {
        let e = to_openai(&body).unwrap_err();
        assert_eq!(e.status().as_u16(), 400, "{body}");
        assert!(e.body()["error"]["message"].is_string());
    }
}

#[test]
fn a_chat_answer_becomes_a_response_with_custom_and_namespaced_calls() {
    let shape = Shape::from_request(&codex_like(), "m");
    let chat = json!({"id": "x", "created": 5, "choices": [{"finish_reason": "tool_calls", "message": {
    "role": "assistant", "content": "Sure.", "reasoning_content": "hmm",
    "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"input\":\"*** P\"}"}},
        {"id": "call_b", "type": "function", "function": {"name": "ns__close", "arguments": "{}"}}
    ]}}]});
    let mut usage = Usage::new(10, 4);
    usage.prompt_tokens_details = Some(json!({"cached_tokens": 6}));
    usage.completion_tokens_details = Some(json!({"reasoning_tokens": 2}));
    let r = from_openai_response(&chat, &shape, &usage);
    assert!(r["id"].as_str().unwrap().starts_with(CONVERTED_ID_PREFIX));
    assert_eq!(r["object"], "response");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["store"], false);
    let out = r["output"].as_array().unwrap();
    assert_eq!(out[0]["type"], "reasoning");
    assert_eq!(out[1]["content"][0]["text"], "Sure.");
    assert_eq!(out[2]["type"], "custom_tool_call");
    assert_eq!(out[2]["input"], "*** P");
    assert_eq!(out[2]["call_id"], "call_a");
    assert_eq!(out[3]["type"], "function_call");
    assert_eq!(out[3]["name"], "close");
    assert_eq!(out[3]["namespace"], "ns");
    assert_eq!(r["usage"]["input_tokens_details"]["cached_tokens"], 6);
    assert_eq!(r["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
    assert_eq!(r["usage"]["total_tokens"], 14);
}

fn run_stream(chunks: &[Value], request: &Value) -> Vec<(String, Value)> {
    let inner = Box::new(OpenAiStream::new(Endpoint::Chat, "m", true));
    let mut s = ChatToResponsesStream::new(inner, Shape::from_request(request, "m"));
    let mut out = Vec::new();
    for c in chunks {
        s.on_event(&SseEvent::data(c.to_string()), &mut out);
    }
    s.on_event(&SseEvent::data("[DONE]"), &mut out);
    assert!(s.is_done());
    s.finish(&mut out);
    let mut d = SseDecoder::new();
    let mut events = Vec::new();
    for b in out {
        for ev in d.push(&b).unwrap() {
            let v: Value = serde_json::from_str(&ev.data).unwrap();
            assert_eq!(ev.event.as_deref(), v["type"].as_str());
            events.push((ev.event.unwrap(), v));
        }
    }
    for (i, (_, v)) in events.iter().enumerate() {
        assert_eq!(v["sequence_number"], i as u64, "{events:?}");
    }
    events
}

#[test]
fn a_chat_stream_becomes_the_responses_event_sequence() {
    let chunk = |delta: Value, finish: Value| json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    let events = run_stream(
        &[
            chunk(
                json!({"role": "assistant", "reasoning_content": "hm"}),
                Value::Null,
            ),
            chunk(json!({"content": "Hel"}), Value::Null),
            chunk(json!({"content": "lo"}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "exec", "arguments": ""}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "apply_patch", "arguments": "{\"inp"}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":1}"}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "ut\":\"P\"}"}}]}),
                Value::Null,
            ),
            chunk(json!({}), json!("tool_calls")),
            json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5}}),
        ],
        &codex_like(),
    );
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..2], ["response.created", "response.in_progress"]);
    assert!(names.contains(&"response.reasoning_summary_text.delta"));
    assert!(names.contains(&"response.content_part.added"));
    assert!(names.contains(&"response.output_text.done"));
    assert!(names.contains(&"response.function_call_arguments.delta"));
    assert!(names.contains(&"response.custom_tool_call_input.done"));
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, v)| v["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello");
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "response.completed");
    let out = done["response"]["output"].as_array().unwrap();
    let kinds: Vec<&str> = out.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["reasoning", "message", "function_call", "custom_tool_call"]
    );
    assert_eq!(out[2]["arguments"], r#"{"a":1}"#);
    assert_eq!(out[3]["input"], "P");
    assert_eq!(done["response"]["usage"]["input_tokens"], 9);
    assert_eq!(done["response"]["usage"]["output_tokens"], 5);
    let added = events
        .iter()
        .filter(|(n, _)| n == "response.output_item.added")
        .count();
    let finished = events
        .iter()
        .filter(|(n, _)| n == "response.output_item.done")
        .count();
    assert_eq!((added, finished), (4, 4));
}

#[test]
fn a_cut_answer_is_incomplete_and_an_error_fails_the_response() {
    let req = json!({"model": "m", "input": "x"});
    let events = run_stream(
        &[json!({"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "length"}]})],
        &req,
    );
    let (last, v) = events.last().unwrap();
    assert_eq!(last, "response.incomplete");
    assert_eq!(
        v["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );

    let inner = Box::new(OpenAiStream::new(Endpoint::Chat, "m", true));
    let mut s = ChatToResponsesStream::new(inner, Shape::from_request(&req, "m"));
    let mut out = Vec::new();
    s.on_event(
        &SseEvent::data(r#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#),
        &mut out,
    );
    out.push(s.error_event("boom"));
    s.finish(&mut out);
    let text: String = out
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(text.contains("event: response.failed"), "{text}");
    assert!(!text.contains("response.completed"), "{text}");
}

#[test]
fn the_passthrough_reads_usage_and_forwards_bytes_unchanged() {
    let mut p = ResponsesPassthrough::new("m", None);
    let mut out = Vec::new();
    let events = [
        SseEvent::named(
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1"}}"#,
        ),
        SseEvent::named(
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":1,"delta":"Hi there"}"#,
        ),
        SseEvent::named(
            "response.completed",
            r#"{"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":6,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":18}}}"#,
        ),
    ];
    for ev in &events {
        p.on_event(ev, &mut out);
    }
    assert!(p.is_done());
    let expected: Vec<Bytes> = events.iter().map(SseEvent::to_bytes).collect();
    assert_eq!(out, expected);
    let u = p.usage().unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.cached_tokens()),
        (12, 6, 4)
    );
    assert!(p.generated_tokens() > 0);
}
