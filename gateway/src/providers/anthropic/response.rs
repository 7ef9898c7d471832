//! Anthropic Messages answer → OpenAI `chat.completion` (or `text_completion`).

use super::openai_shape::{response_body, Choice};
use super::thinking::is_json_tool;
use crate::providers::reasoning::details;
use crate::providers::{Endpoint, Parsed};
use bytes::Bytes;
use serde_json::{json, Value};
use shared::anthropic::{ContentBlock, MessagesResponse};

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn and anything new end the turn normally.
        _ => "stop",
    }
}

/// An OpenAI tool call for a `tool_use` block; arguments are the input as JSON text.
pub fn tool_call(id: &str, name: &str, input: &Value) -> Value {
    let arguments = if input.is_null() {
        "{}".to_string()
    } else {
        input.to_string()
    };
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

fn choice(blocks: &[ContentBlock], stop_reason: Option<&str>) -> Choice {
    let mut c = Choice::default();
    for b in blocks {
        match b {
            ContentBlock::Text { text } => c.content.push_str(text),
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                c.reasoning.push_str(thinking);
                let n = c.reasoning_details.len();
                c.reasoning_details
                    .push(details::thinking_entry(n, thinking, signature));
            }
            ContentBlock::RedactedThinking { data } => {
                let n = c.reasoning_details.len();
                c.reasoning_details.push(details::redacted_entry(n, data));
            }
            // The structured-output stand-in: its input is the answer.
            ContentBlock::ToolUse { name, input, .. } if is_json_tool(name) => {
                c.content.push_str(&input.to_string())
            }
            ContentBlock::ToolUse { id, name, input } => {
                c.tool_calls.push(tool_call(id, name, input))
            }
            _ => {}
        }
    }
    let reason = match stop_reason {
        Some("tool_use") if c.tool_calls.is_empty() => "stop",
        Some(r) => finish_reason(r),
        None => "stop",
    };
    c.finish_reason = Some(reason.to_string());
    c
}

pub fn parse(ep: Endpoint, raw: Bytes) -> Result<Parsed, String> {
    let v: Value =
        serde_json::from_slice(&raw).map_err(|_| "upstream returned invalid JSON".to_string())?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(format!("upstream error: {}", super::error_message(&raw)));
    }
    let r: MessagesResponse = serde_json::from_value(v)
        .map_err(|e| format!("upstream returned an unexpected body: {e}"))?;
    let c = choice(&r.content, r.stop_reason.as_deref());
    let usage = (!r.usage.is_unset()).then(|| r.usage.to_openai());
    let body = response_body(
        ep,
        &r.id,
        &r.model,
        std::slice::from_ref(&c),
        usage.as_ref(),
    );
    let mut completion_text = String::new();
    c.generated_text(&mut completion_text);
    Ok(Parsed {
        body: Bytes::from(body.to_string()),
        usage,
        completion_text,
    })
}
