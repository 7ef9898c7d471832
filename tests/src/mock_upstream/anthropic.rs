//! Anthropic Messages API bodies and stream events, as documented at
//! docs.anthropic.com (messages, messages-streaming, errors).

use bytes::Bytes;
use serde_json::{json, Value};
use shared::sse::encode_event;

use super::content::{self, Intent};
use super::reasoning;
use super::reply::MockUsage;
use super::router::{Ctx, Rendered};
use super::TOOL_ARGUMENTS;

pub(crate) fn messages(ctx: &Ctx) -> Rendered {
    let intent = reasoning::structured(content::anthropic(ctx.body), ctx.body);
    match ctx.body["stream"] == true {
        true => Rendered::Events(stream(ctx, &intent)),
        false => Rendered::Json(message(ctx, &intent)),
    }
}

fn message(ctx: &Ctx, intent: &Intent) -> Value {
    let mut blocks = Vec::new();
    if reasoning::anthropic_thinking(ctx.body) {
        blocks.push(reasoning::thinking_block());
    }
    if !forced_tool(ctx.body) {
        blocks.push(json!({"type": "text", "text": intent.text}));
    }
    if let Some(name) = &intent.tool {
        let mut block = tool_use(ctx, name);
        block["input"] = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or_default();
        blocks.push(block);
    }
    let mut body = message_shell(ctx, json!(blocks), json!(stop_reason(intent)));
    if let Some(usage) = ctx.usage {
        body["usage"] = usage_json(ctx, &usage, usage.completion_tokens);
    }
    body
}

fn message_shell(ctx: &Ctx, content: Value, stop_reason: Value) -> Value {
    json!({"id": format!("msg_{}", ctx.id), "type": "message", "role": "assistant",
           "model": ctx.model, "content": content, "stop_reason": stop_reason,
           "stop_sequence": null})
}

fn tool_use(ctx: &Ctx, name: &str) -> Value {
    json!({"type": "tool_use", "id": format!("toolu_{}", ctx.id), "name": name, "input": {}})
}

/// Like Anthropic, a forced tool choice (`any` or `tool`) answers with the call alone.
fn forced_tool(body: &Value) -> bool {
    matches!(body["tool_choice"]["type"].as_str(), Some("any" | "tool"))
        && body["tools"].as_array().is_some_and(|t| !t.is_empty())
}

fn stop_reason(intent: &Intent) -> &'static str {
    match intent.tool {
        Some(_) => "tool_use",
        None => "end_turn",
    }
}

/// Cache writes are reported in all and by lifetime: one hour when the request marks
/// any block `cache_control: {"ttl": "1h"}`, five minutes otherwise.
fn usage_json(ctx: &Ctx, usage: &MockUsage, output_tokens: u64) -> Value {
    let hour = ctx.body.to_string().contains(r#""ttl":"1h""#);
    let (five_min, one_hour) = match hour {
        true => (0, usage.cache_creation_tokens),
        false => (usage.cache_creation_tokens, 0),
    };
    json!({"input_tokens": usage.prompt_tokens, "output_tokens": output_tokens,
           "cache_creation_input_tokens": usage.cache_creation_tokens,
           "cache_read_input_tokens": usage.cache_read_tokens,
           "cache_creation": {"ephemeral_5m_input_tokens": five_min,
                              "ephemeral_1h_input_tokens": one_hour}})
}

/// message_start, a text block (with a ping after its start), an optional tool_use block
/// with two input_json_delta parts, message_delta (usage.output_tokens), message_stop.
fn stream(ctx: &Ctx, intent: &Intent) -> Vec<Bytes> {
    let event = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        encode_event(name, &data.to_string())
    };
    let mut start = message_shell(ctx, json!([]), Value::Null);
    if let Some(usage) = ctx.usage {
        // Anthropic reports the input side here and output_tokens 1 until message_delta.
        start["usage"] = usage_json(ctx, &usage, 1);
    }
    let mut events = vec![event("message_start", json!({ "message": start }))];
    // With thinking on, a signed thinking block comes first and the others move up one.
    let mut at = i64::from(reasoning::anthropic_thinking(ctx.body));
    if at == 1 {
        let block = json!({"type": "thinking", "thinking": "", "signature": ""});
        events.push(event(
            "content_block_start",
            json!({"index": 0, "content_block": block}),
        ));
        for piece in content::split_text(reasoning::THINKING_TEXT, 2) {
            let delta = json!({"index": 0, "delta": {"type": "thinking_delta", "thinking": piece}});
            events.push(event("content_block_delta", delta));
        }
        let sig = json!({"type": "signature_delta", "signature": reasoning::THINKING_SIGNATURE});
        events.push(event(
            "content_block_delta",
            json!({"index": 0, "delta": sig}),
        ));
        events.push(event("content_block_stop", json!({"index": 0})));
    }
    if forced_tool(ctx.body) {
        // The tool block takes the text block's place.
        at -= 1;
    } else {
        events.push(event(
            "content_block_start",
            json!({"index": at, "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(event("ping", json!({})));
        for piece in content::split_text(&intent.text, ctx.chunks) {
            let delta = json!({"index": at, "delta": {"type": "text_delta", "text": piece}});
            events.push(event("content_block_delta", delta));
        }
        events.push(event("content_block_stop", json!({ "index": at })));
    }
    if let Some(name) = &intent.tool {
        let block = json!({"index": at + 1, "content_block": tool_use(ctx, name)});
        events.push(event("content_block_start", block));
        for part in content::split_text(TOOL_ARGUMENTS, 2) {
            let delta = json!({"index": at + 1,
                               "delta": {"type": "input_json_delta", "partial_json": part}});
            events.push(event("content_block_delta", delta));
        }
        events.push(event("content_block_stop", json!({"index": at + 1})));
    }
    let mut delta = json!({"delta": {"stop_reason": stop_reason(intent), "stop_sequence": null}});
    if let Some(usage) = ctx.usage {
        delta["usage"] = json!({ "output_tokens": usage.completion_tokens });
    }
    events.push(event("message_delta", delta));
    events.push(event("message_stop", json!({})));
    events
}

/// Anthropic's error shape with the documented `error.type` for `status`.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// The `event: error` Anthropic sends when a stream fails after it started.
pub(crate) fn stream_error(message: &str) -> Bytes {
    encode_event("error", &error_body(529, message).to_string())
}
