//! Reasoning and structured output on Anthropic channels (see `thinking.rs`).

use super::testkit::{concat, json_data, split_invariant};
use super::thinking::JSON_TOOL;
use super::*;
use crate::providers::reasoning::details;
use crate::providers::StreamAdapter;
use serde_json::json;

fn convert_for(model: &str, body: Value) -> Value {
    serde_json::to_value(to_anthropic(&body, Endpoint::Chat, model, false).unwrap()).unwrap()
}

fn user(extra: Value) -> Value {
    let mut body = json!({"messages": [{"role": "user", "content": "hi"}]});
    merge(&mut body, extra);
    body
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
}

#[test]
fn reasoning_effort_becomes_a_budget_under_the_output_limit() {
    let v = convert_for(
        "claude-sonnet-4-5",
        user(
            json!({"reasoning_effort": "high", "max_tokens": 40000, "temperature": 0.2,
                    "top_k": 5, "top_p": 0.5}),
        ),
    );
    assert_eq!(
        v["thinking"],
        json!({"type": "enabled", "budget_tokens": 24576})
    );
    assert!(v.get("temperature").is_none() && v.get("top_k").is_none() && v.get("top_p").is_none());
    // Without a client limit the answer keeps its default room on top of the budget.
    let v = convert_for(
        "claude-sonnet-4-5",
        user(json!({"reasoning_effort": "high"})),
    );
    assert_eq!(v["max_tokens"], 24576 + DEFAULT_MAX_TOKENS);
    // The client's own limit holds: the budget shrinks under it, or thinking stays off.
    let v = convert_for(
        "claude-sonnet-4-5",
        user(json!({"reasoning_effort": "high", "max_tokens": 2000})),
    );
    assert_eq!(v["thinking"]["budget_tokens"], 1999);
    let v = convert_for(
        "claude-sonnet-4-5",
        user(json!({"reasoning_effort": "high", "max_tokens": 500})),
    );
    assert!(v.get("thinking").is_none());
    let v = convert_for(
        "claude-sonnet-4-5",
        user(json!({"reasoning_effort": "none"})),
    );
    assert!(v.get("thinking").is_none());
    let v = convert_for(
        "claude-3-5-haiku",
        user(json!({"reasoning_effort": "high"})),
    );
    assert!(v.get("thinking").is_none());
}

#[test]
fn the_gateway_field_carries_exact_budgets_and_adaptive_models_get_effort() {
    let field = json!({"effort": "low", "budget_tokens": 3000});
    let v = convert_for(
        "claude-opus-4-1",
        user(json!({ "x_gateway_reasoning": field, "max_tokens": 9000 })),
    );
    assert_eq!(v["thinking"]["budget_tokens"], 3000);
    assert!(v.get("x_gateway_reasoning").is_none());
    let v = convert_for(
        "claude-opus-4-6",
        user(json!({"reasoning_effort": "medium"})),
    );
    assert_eq!(v["thinking"], json!({"type": "adaptive"}));
    assert_eq!(v["output_config"], json!({"effort": "medium"}));
}

#[test]
fn forced_tools_and_unsigned_tool_turns_leave_thinking_off() {
    let tool = json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]);
    let v = convert_for(
        "claude-sonnet-4-5",
        user(json!({"reasoning_effort": "high", "tools": tool, "tool_choice": "required"})),
    );
    assert!(v.get("thinking").is_none());
    let call = json!({"id": "c1", "type": "function",
                      "function": {"name": "f", "arguments": "{}"}});
    let body = json!({"reasoning_effort": "low", "max_tokens": 9000, "tools": tool, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]});
    assert!(convert_for("claude-sonnet-4-5", body.clone())
        .get("thinking")
        .is_none());
    let mut signed = body;
    signed["messages"][1][details::FIELD] = json!([
        details::thinking_entry(0, "hm", "sig"),
        details::redacted_entry(1, "enc")
    ]);
    let v = convert_for("claude-sonnet-4-5", signed);
    assert_eq!(v["thinking"]["type"], "enabled");
    let turn = &v["messages"][1]["content"];
    assert_eq!(
        turn[0],
        json!({"type": "thinking", "thinking": "hm", "signature": "sig"})
    );
    assert_eq!(turn[1], json!({"type": "redacted_thinking", "data": "enc"}));
    assert_eq!(turn[2]["type"], "tool_use");
}

#[test]
fn json_schemas_become_output_format_or_a_forced_tool() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let rf = json!({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}});
    let v = convert_for("claude-sonnet-4-5", user(json!({ "response_format": rf })));
    assert_eq!(
        v["output_config"]["format"],
        json!({"type": "json_schema", "schema": schema})
    );
    let v = convert_for("claude-3-7-sonnet", user(json!({ "response_format": rf })));
    assert_eq!(v["tools"][0]["name"], JSON_TOOL);
    assert_eq!(v["tools"][0]["input_schema"], schema);
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));
    let tool = json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]);
    let v = convert_for(
        "claude-3-7-sonnet",
        user(json!({"response_format": {"type": "json_object"}, "tools": tool})),
    );
    assert_eq!(v["tools"][1]["name"], JSON_TOOL);
    assert_eq!(
        v["tool_choice"]["type"], "any",
        "the model may still call the client's tools"
    );
}

#[test]
fn answers_carry_signatures_redactions_and_unwrapped_json() {
    let raw = json!({"id": "msg_1", "model": "claude", "stop_reason": "tool_use",
        "content": [{"type": "redacted_thinking", "data": "enc"},
                    {"type": "thinking", "thinking": "hm", "signature": "sig"},
                    {"type": "tool_use", "id": "t", "name": JSON_TOOL, "input": {"a": "b"}}],
        "usage": {"input_tokens": 3, "output_tokens": 2}});
    let p = parse(Endpoint::Chat, bytes::Bytes::from(raw.to_string())).unwrap();
    let v: Value = serde_json::from_slice(&p.body).unwrap();
    let m = &v["choices"][0]["message"];
    assert_eq!(m["content"], r#"{"a":"b"}"#);
    assert!(m.get("tool_calls").is_none());
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(m["reasoning_content"], "hm");
    assert_eq!(
        m[details::FIELD],
        json!([
            details::redacted_entry(0, "enc"),
            details::thinking_entry(1, "hm", "sig")
        ])
    );
}

const SIGNED_STREAM: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me \"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"think.\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"ZW5j\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"gateway_json_output\",\"input\":{}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":12}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

#[test]
fn streams_carry_signatures_whole_and_json_as_text_at_every_split() {
    let out = split_invariant(
        &|| Box::new(AnthropicStream::new("claude", false).frozen()) as Box<dyn StreamAdapter>,
        SIGNED_STREAM.as_bytes(),
    );
    let chunks = json_data(&out);
    assert_eq!(
        concat(&chunks, "/choices/0/delta/reasoning_content"),
        "Let me think."
    );
    let entries: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/reasoning_details/0"))
        .collect();
    assert_eq!(
        entries,
        [
            &details::thinking_entry(0, "Let me think.", "c2ln"),
            &details::redacted_entry(1, "ZW5j")
        ]
    );
    assert_eq!(concat(&chunks, "/choices/0/delta/content"), r#"{"a":1}"#);
    assert!(!out.contains("tool_calls"), "{out}");
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("stop")]);
}
