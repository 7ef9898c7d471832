//! OpenAI `chat.completion` → Anthropic Messages answer.

use crate::providers::reasoning::details::{self, Piece};
use serde_json::{json, Value};
use shared::openai::Usage;

/// OpenAI `finish_reason` → Anthropic `stop_reason`.
pub fn stop_reason(finish_reason: Option<&str>, used_tools: bool) -> &'static str {
    match finish_reason {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        // Some providers report `stop` even when the turn ended in tool calls.
        _ if used_tools => "tool_use",
        _ => "end_turn",
    }
}

/// Anthropic usage: its `input_tokens` exclude cache reads and writes, which OpenAI
/// counts in.
pub fn usage_json(u: &Usage) -> Value {
    let cached = u.cached_tokens().min(u.prompt_tokens);
    let written = u.cache_write_tokens().min(u.prompt_tokens - cached);
    json!({"input_tokens": u.prompt_tokens - cached - written,
           "output_tokens": u.completion_tokens,
           "cache_read_input_tokens": cached, "cache_creation_input_tokens": written})
}

/// An Anthropic message id derived from the OpenAI one (or fresh).
pub fn message_id(openai_id: Option<&str>) -> String {
    match openai_id.map(|id| id.trim_start_matches("chatcmpl-")) {
        Some(id) if !id.is_empty() && !id.starts_with("msg_") => format!("msg_{id}"),
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("msg_{}", crate::util::new_id()),
    }
}

/// Tool arguments as the object Anthropic's `input` must be (`{}` if unparseable).
pub fn tool_input(arguments: Option<&str>) -> Value {
    arguments
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// The thinking blocks of an answer: Anthropic's own (signed or redacted, from
/// `reasoning_details`, e.g. through an OpenAI-compatible proxy of Claude), else the
/// `reasoning_content` as one unsigned block.
fn thinking_blocks(msg: &Value) -> Vec<Value> {
    let pieces = details::pieces(msg.get(details::FIELD));
    if !pieces.is_empty() {
        return pieces.iter().map(block_of).collect();
    }
    let reasoning = msg.get("reasoning_content").and_then(Value::as_str);
    match reasoning.filter(|r| !r.is_empty()) {
        Some(r) => vec![json!({"type": "thinking", "thinking": r, "signature": ""})],
        None => Vec::new(),
    }
}

pub fn block_of(piece: &Piece) -> Value {
    match piece {
        Piece::Thinking { text, signature } => {
            json!({"type": "thinking", "thinking": text, "signature": signature})
        }
        Piece::Redacted { data } => json!({"type": "redacted_thinking", "data": data}),
    }
}

/// Converts a non-streaming answer; `model` is the name the client asked for.
pub fn from_openai_response(openai: &Value, model: &str) -> Value {
    let choice = openai.pointer("/choices/0");
    let msg = choice.and_then(|c| c.get("message"));
    let mut content = msg.map(thinking_blocks).unwrap_or_default();
    let text = match msg.and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    let calls = msg
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let f = call.get("function");
        let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("toolu_{}", crate::util::new_id()), String::from);
        let args = f.and_then(|f| f.get("arguments")).and_then(Value::as_str);
        content.push(
            json!({"type": "tool_use", "id": id, "name": name.unwrap_or_default(),
                            "input": tool_input(args)}),
        );
    }
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str);
    let usage = openai
        .get("usage")
        .and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok())
        .unwrap_or_default();
    json!({
        "id": message_id(openai.get("id").and_then(Value::as_str)),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(finish, calls.is_some_and(|c| !c.is_empty())),
        "stop_sequence": null,
        "usage": usage_json(&usage),
    })
}
