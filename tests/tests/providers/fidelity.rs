//! What reaches the upstream is what the client wrote: a `/v1/messages` body passes
//! through to an Anthropic channel byte for byte (only the mapped model changes), the same
//! body is converted for other channel types without refusing what it does not know, and
//! property order in schemas survives every conversion.

use integration_tests::provider_support::{
    anthropic_error, messages_builder, world, KeyIn, ANTHROPIC, CLAUDE, GEMINI, GEMINI_MODEL,
    OPENAI,
};
use integration_tests::v1_support::{V1World, MODEL};
use serde_json::{json, Value};

/// A Claude Code–like turn: a system message mid-conversation, a toolset without a name,
/// fields the gateway has never heard of, keys in a deliberate non-alphabetical order and
/// spacing no serializer would produce.
fn claude_code_body(model: &str) -> String {
    format!(
        r#"{{"zeta_unknown": {{"b": 2, "a": 1}},  "model": "{model}", "max_tokens": 256,
  "messages": [
    {{"role": "user", "content": [{{"type": "text", "text": "hello", "cache_control": {{"type": "ephemeral"}}}}]}},
    {{"role": "assistant", "content": "hi"}},
    {{"role": "system", "content": "The user switched to plan mode."}},
    {{"role": "user", "content": "go on"}}
  ],
  "tools": [
    {{"type": "mcp_toolset", "mcp_server_name": "files", "default_config": {{"enabled": true}}}},
    {{"name": "Read", "description": "read a file",
      "input_schema": {{"type": "object", "properties": {{"zeta": {{"type": "string"}}, "alpha": {{"type": "string"}}, "mid": {{"type": "integer"}}}}}}}}
  ],
  "context_management": {{"edits": [{{"type": "clear_thinking_20251015"}}]}},
  "output_config": {{"effort": "medium"}},
  "number": 1.50e1
}}"#
    )
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn post_raw(w: &V1World, body: String) -> integration_tests::gateway_support::Resp {
    let req = messages_builder(w, "/v1/messages", &w.key, KeyIn::XApiKey)
        .header("content-type", "application/json")
        .header("anthropic-beta", "context-management-2025-06-27")
        .header("traceparent", TRACEPARENT)
        .body(body);
    w.gw.send(req).await
}

/// Asserts `keys` appear in `text` in that order.
fn in_order(text: &str, keys: &[&str]) {
    let at: Vec<usize> = keys
        .iter()
        .map(|k| {
            text.find(&format!("\"{k}\""))
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|p| p[0] < p[1]),
        "{keys:?} out of order in {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_body_passes_through_to_an_anthropic_channel_byte_for_byte_except_the_model() {
    let w = world(
        ANTHROPIC,
        json!({"models": ["claude-alias"], "model_mapping": {"claude-alias": CLAUDE}}),
    )
    .await;
    let r = post_raw(&w, claude_code_body("claude-alias")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["type"], "message");
    let sent = w.mock.last_request().expect("upstream called");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.body_text(), claude_code_body(CLAUDE));
    assert_eq!(
        sent.header("anthropic-beta"),
        Some("context-management-2025-06-27")
    );
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("traceparent"), Some(TRACEPARENT));
    // Nothing was converted, so nothing was dropped.
    assert!(r.headers.get("x-gateway-warnings").is_none());

    // Without a mapping not even the model changes.
    let w = world(ANTHROPIC, json!({})).await;
    let r = post_raw(&w, claude_code_body(CLAUDE)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        w.mock.last_request().expect("upstream").body_text(),
        claude_code_body(CLAUDE)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_body_is_converted_for_an_openai_channel_with_the_system_turn_in_place() {
    let w = world(OPENAI, json!({})).await;
    let r = post_raw(&w, claude_code_body(MODEL)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["type"], "message");
    let sent = w.mock.last_request().expect("upstream called");
    assert_eq!(sent.path, "/v1/chat/completions");
    let b = sent.json();
    let roles: Vec<&str> = b["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "assistant", "system", "user"], "{b}");
    assert_eq!(
        b["messages"][2]["content"],
        "The user switched to plan mode."
    );
    let tools = b["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 1, "the toolset has no OpenAI equivalent: {b}");
    assert_eq!(tools[0]["function"]["name"], "Read");
    in_order(&sent.body_text(), &["zeta", "alpha", "mid"]);
    assert_eq!(sent.header("traceparent"), Some(TRACEPARENT));
    assert_eq!(
        sent.header("anthropic-version"),
        None,
        "a dialect header on conversion"
    );
    // What was left out is said, in the answer and in the log row.
    let header = r
        .headers
        .get("x-gateway-warnings")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(header.contains("mcp_toolset"), "header: {header:?}");
    let logs = w.logs().await;
    let warnings = logs[0]["warnings"].as_str().unwrap_or_default();
    assert!(warnings.contains("mcp_toolset"), "{:?}", logs[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_body_is_converted_for_a_gemini_channel_with_the_system_turn_folded_in() {
    let w = world(GEMINI, json!({})).await;
    let r = post_raw(&w, claude_code_body(GEMINI_MODEL)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = w.mock.last_request().expect("upstream called");
    assert!(sent.path.contains(":generateContent"), "{}", sent.path);
    let b = sent.json();
    let system = b["systemInstruction"].to_string();
    assert!(system.contains("The user switched to plan mode."), "{b}");
    let roles: Vec<&str> = b["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .map(|c| c["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "model", "user"], "{b}");
    let params = &b["tools"][0]["functionDeclarations"][0]["parameters"];
    assert_eq!(
        params["propertyOrdering"],
        json!(["zeta", "alpha", "mid"]),
        "{b}"
    );
    in_order(&sent.body_text(), &["zeta", "alpha", "mid"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_in_a_claude_code_body_is_the_anthropic_404() {
    let w = world(ANTHROPIC, json!({})).await;
    let r = post_raw(&w, claude_code_body("claude-nonexistent-9")).await;
    let e = anthropic_error(&r, 404, "not_found_error");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("claude-nonexistent-9"),
        "{e}"
    );
    assert_eq!(w.mock.request_count(), 0);
}

/// An OpenAI chat body whose tool schema and `json_schema` format list `zeta, alpha, mid`.
fn ordered_chat_body(model: &str) -> Value {
    let schema = json!({"type": "object", "properties": {
        "zeta": {"type": "string"}, "alpha": {"type": "string"}, "mid": {"type": "integer"}},
        "required": ["zeta", "alpha", "mid"]});
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "order"}],
        "tools": [{"type": "function", "function": {"name": "pick", "parameters": schema}}],
        "response_format": {"type": "json_schema",
                            "json_schema": {"name": "answer", "schema": schema}},
        "max_tokens": 32
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_property_order_reaches_every_channel_type_unchanged() {
    for channel_type in [OPENAI, ANTHROPIC, GEMINI] {
        let w = world(channel_type, json!({})).await;
        let model = integration_tests::provider_support::model_for(channel_type);
        let r = w.chat(ordered_chat_body(model)).await;
        assert_eq!(r.status, 200, "channel type {channel_type}: {}", r.text);
        let sent = w.mock.last_request().expect("upstream called").body_text();
        // The tool's schema, and (where the provider carries it) the answer's format.
        let tool_at = sent.find("\"pick\"").expect("tool sent");
        in_order(&sent[tool_at..], &["zeta", "alpha", "mid"]);
        let format_at = sent
            .find("\"answer\"")
            .or_else(|| sent.find("responseSchema"))
            .or_else(|| sent.find("\"output_config\""))
            .expect("format sent");
        in_order(&sent[format_at..], &["zeta", "alpha", "mid"]);
        if channel_type == OPENAI {
            let client = serde_json::to_string(&ordered_chat_body(model)).expect("json");
            let sent_json: Value = serde_json::from_str(&sent).expect("json");
            assert_eq!(
                serde_json::to_string(&sent_json["tools"]).expect("json"),
                serde_json::to_string(
                    &serde_json::from_str::<Value>(&client).expect("json")["tools"]
                )
                .expect("json")
            );
        }
    }
}

/// An OpenAI chat body with fields the gateway has never heard of, keys out of
/// alphabetical order, unusual spacing and number spelling.
fn odd_chat_body(model: &str, tail: &str) -> String {
    format!(
        r#"{{ "zeta_unknown" : [1, 2.50e1],  "model":"{model}",
  "messages": [ {{"role":"user","content":"hi", "x_vendor": {{"b":1,"a":2}}}} ],
  "max_tokens": 16{tail} }}"#
    )
}

async fn post_chat_raw(w: &V1World, body: String) -> integration_tests::gateway_support::Resp {
    let req =
        w.gw.builder(reqwest::Method::POST, "/v1/chat/completions", None)
            .bearer_auth(&w.key)
            .header("content-type", "application/json")
            .header("openai-beta", "assistants=v2")
            .body(body);
    w.gw.send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_chat_body_passes_through_to_an_openai_channel_byte_for_byte_except_the_model() {
    let w = world(
        OPENAI,
        json!({"models": ["gpt-alias"], "model_mapping": {"gpt-alias": MODEL}}),
    )
    .await;
    let r = post_chat_raw(&w, odd_chat_body("gpt-alias", "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = w.mock.last_request().expect("upstream called");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.body_text(), odd_chat_body(MODEL, ""));
    assert_eq!(sent.header("openai-beta"), Some("assistants=v2"));
    assert!(r.headers.get("x-gateway-warnings").is_none());

    // Without a mapping the bytes are the client's own, untouched.
    let w = world(OPENAI, json!({})).await;
    let r = post_chat_raw(&w, odd_chat_body(MODEL, "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        w.mock.last_request().expect("upstream").body_text(),
        odd_chat_body(MODEL, "")
    );

    // A stream gets usage asked for, merged into the client's own options in place.
    let tail = r#", "stream": true, "stream_options": {"x_opt": 1}"#;
    let r = post_chat_raw(&w, odd_chat_body(MODEL, tail)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let expected = odd_chat_body(
        MODEL,
        r#", "stream": true, "stream_options": {"x_opt":1,"include_usage":true}"#,
    );
    assert_eq!(
        w.mock.last_request().expect("upstream").body_text(),
        expected
    );
    // The usage chunk the gateway asked for is not shown to a client that did not ask.
    assert!(!r.text.contains("\"usage\":{"), "{}", r.text);
    assert!(r.text.ends_with("data: [DONE]\n\n"), "{}", r.text);
}
