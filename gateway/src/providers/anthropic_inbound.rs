//! `POST /v1/messages` for Anthropic-format clients (the `anthropic` SDKs, Claude Code):
//! the request is converted to an OpenAI chat request so any channel can serve it, and
//! the answer or stream converted back. On Anthropic channels [`AnthropicPassthrough`]
//! forwards the upstream stream unchanged instead.

mod passthrough;
mod response;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thinking_tests;

use super::reasoning;
use crate::v1_core::error::{Dialect, V1Error};
use crate::v1_core::tokens::count_tokens;
use serde_json::{json, Map, Value};
use shared::anthropic::{Content, ContentBlock, ImageSource, MessagesRequest, ToolChoice};

pub use passthrough::AnthropicPassthrough;
pub use response::from_openai_response;
pub use stream::OpenAiToAnthropicStream;

/// The prefix of Claude Code's per-request billing line in the system prompt.
const BILLING_HEADER: &str = "x-anthropic-billing-header:";

/// Rough token cost of one image, for estimates only (Anthropic caps images near this).
const IMAGE_TOKENS: u64 = 1600;

fn bad(message: impl Into<String>) -> V1Error {
    V1Error::bad_request(message).dialect(Dialect::Anthropic)
}

/// Anthropic Messages request → OpenAI chat request. Errors are in Anthropic's dialect.
pub fn to_openai(body: &Value) -> Result<Value, V1Error> {
    if !body.is_object() {
        return Err(bad("request body must be a JSON object"));
    }
    let req: MessagesRequest = serde_json::from_value(body.clone())
        .map_err(|e| bad(format!("invalid Messages request: {e}")))?;
    if req.model.trim().is_empty() {
        return Err(bad("model: field required"));
    }
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        let text = without_billing_header(&text_of(system));
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for m in &req.messages {
        match m.role.as_str() {
            "user" => user_messages(&m.content, &mut messages),
            "assistant" => messages.push(assistant_message(&m.content)),
            // Claude Code puts system turns mid-conversation; they stay where they are.
            "system" => {
                let text = text_of(&m.content);
                if !text.is_empty() {
                    messages.push(json!({"role": "system", "content": text}));
                }
            }
            other => return Err(bad(format!("messages: unexpected role '{other}'"))),
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(req.model));
    out.insert("messages".into(), Value::Array(messages));
    if let Some(n) = req.max_tokens {
        out.insert("max_tokens".into(), json!(n));
    }
    if let Some(stop) = req.stop_sequences.filter(|s| !s.is_empty()) {
        out.insert("stop".into(), json!(stop));
    }
    if let Some(t) = req.temperature {
        out.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        out.insert("top_p".into(), json!(p));
    }
    if req.stream == Some(true) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    // Server tools (web search, code execution, …) only exist on Anthropic's side.
    let tools: Vec<Value> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.kind.as_deref().is_none_or(|k| k == "custom") && !t.name.is_empty())
        .map(|t| {
            let params = if t.input_schema.is_object() {
                t.input_schema.clone()
            } else {
                json!({"type": "object", "properties": {}})
            };
            let mut f = json!({"name": t.name, "parameters": params});
            if let Some(d) = &t.description {
                f["description"] = json!(d);
            }
            json!({"type": "function", "function": f})
        })
        .collect();
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &req.tool_choice {
            let (value, no_parallel) = match choice {
                ToolChoice::Auto {
                    disable_parallel_tool_use: p,
                } => (json!("auto"), *p),
                ToolChoice::Any {
                    disable_parallel_tool_use: p,
                } => (json!("required"), *p),
                ToolChoice::Tool {
                    name,
                    disable_parallel_tool_use: p,
                } => (json!({"type": "function", "function": {"name": name}}), *p),
                ToolChoice::None => (json!("none"), None),
            };
            out.insert("tool_choice".into(), value);
            if no_parallel == Some(true) {
                out.insert("parallel_tool_calls".into(), json!(false));
            }
        }
    }
    if let Some(user) = req.metadata.and_then(|m| m.user_id) {
        out.insert("user".into(), json!(openai_user(&user)));
    }
    // Each channel sends what its model takes (`reasoning::families`).
    if let Some(ask) = reasoning::from_anthropic(body) {
        out.insert(reasoning::FIELD.into(), ask.to_value());
    }
    if let Some(format) = structured_output(body) {
        out.insert("response_format".into(), format);
    }
    Ok(Value::Object(out))
}

/// Anthropic structured output (`output_config.format`, or the beta's `output_format`)
/// → an OpenAI `json_schema` response format.
fn structured_output(body: &Value) -> Option<Value> {
    let format = body
        .pointer("/output_config/format")
        .or_else(|| body.get("output_format"))
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("json_schema"))?;
    let schema = format
        .get("schema")
        .filter(|s| s.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    Some(json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}))
}

/// Claude Code starts its system prompt with a per-request billing line
/// (`x-anthropic-billing-header: cc_version=…; cch=…;`); it means nothing to other
/// providers and, changing on every request, defeats their prompt caching.
fn without_billing_header(system: &str) -> String {
    if !system.contains(BILLING_HEADER) {
        return system.to_string();
    }
    let kept: Vec<&str> = system
        .lines()
        .filter(|l| !l.trim_start().starts_with(BILLING_HEADER))
        .collect();
    kept.join("\n").trim_start_matches('\n').to_string()
}

/// What [`to_openai`] leaves out of a body: tools only Anthropic runs (server tools,
/// toolsets such as `mcp_toolset`), named for the log row and the warnings header.
pub fn dropped(body: &Value) -> Vec<String> {
    let tools = body.get("tools").and_then(Value::as_array);
    tools
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let kind = t.get("type").and_then(Value::as_str).unwrap_or("custom");
            let name = t.get("name").and_then(Value::as_str).unwrap_or("");
            (kind != "custom" || name.is_empty()).then(|| {
                let label = if name.is_empty() { kind } else { name };
                format!("tool '{label}' ({kind}) dropped: only Anthropic channels run it")
            })
        })
        .collect()
}

/// The text of string-or-blocks content (non-text blocks skipped).
fn text_of(content: &Content) -> String {
    match content {
        Content::Text(s) => s.clone(),
        Content::Blocks(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            texts.join("\n")
        }
    }
}

fn image_part(source: &ImageSource) -> Option<Value> {
    let url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
        ImageSource::Other => return None,
    };
    Some(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// Documents: inline PDFs become OpenAI file parts, plain-text documents text parts.
fn document_part(source: &Value) -> Option<Value> {
    let kind = source.get("type").and_then(Value::as_str)?;
    let data = source.get("data").and_then(Value::as_str)?;
    match kind {
        "base64" => {
            let mime = source.get("media_type").and_then(Value::as_str)?;
            Some(json!({"type": "file", "file": {"filename": "document.pdf",
                                                  "file_data": format!("data:{mime};base64,{data}")}}))
        }
        "text" => Some(json!({"type": "text", "text": data})),
        _ => None,
    }
}

/// A user turn: its tool results become `tool` messages first (they answer the previous
/// assistant turn), then the rest becomes one user message.
fn user_messages(content: &Content, out: &mut Vec<Value>) {
    let blocks = match content {
        Content::Text(s) => return out.push(json!({"role": "user", "content": s})),
        Content::Blocks(b) => b,
    };
    let mut parts = Vec::new();
    for b in blocks {
        match b {
            ContentBlock::Text { text } => parts.push(json!({"type": "text", "text": text})),
            ContentBlock::Image { source } => parts.extend(image_part(source)),
            ContentBlock::Document { source } => parts.extend(document_part(source)),
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                ..
            } => {
                let text = content.as_ref().map(text_of).unwrap_or_default();
                out.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}));
                // OpenAI tool messages hold text only; images follow in the user message.
                if let Some(Content::Blocks(inner)) = content {
                    for ib in inner {
                        if let ContentBlock::Image { source } = ib {
                            parts.extend(image_part(source));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return;
    }
    let all_text = parts.iter().all(|p| p["type"] == "text");
    if all_text && parts.len() == 1 {
        out.push(json!({"role": "user", "content": parts[0]["text"]}));
    } else {
        out.push(json!({"role": "user", "content": parts}));
    }
}

fn assistant_message(content: &Content) -> Value {
    let mut text = String::new();
    let mut calls = Vec::new();
    let blocks = match content {
        Content::Text(s) => return json!({"role": "assistant", "content": s}),
        Content::Blocks(b) => b,
    };
    for b in blocks {
        match b {
            ContentBlock::Text { text: t } => text.push_str(t),
            ContentBlock::ToolUse { id, name, input } => {
                let args = if input.is_null() {
                    "{}".to_string()
                } else {
                    input.to_string()
                };
                calls.push(json!({"id": id, "type": "function",
                                  "function": {"name": name, "arguments": args}}));
            }
            // Thinking blocks are Anthropic-signed; other providers cannot use them.
            _ => {}
        }
    }
    let mut m = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        if text.is_empty() {
            m["content"] = Value::Null;
        }
        m["tool_calls"] = Value::Array(calls);
    }
    m
}

/// A local estimate for `POST /v1/messages/count_tokens` (`{"input_tokens": n}`).
pub fn count_tokens_estimate(body: &Value) -> u64 {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut text = String::new();
    let mut images = 0u64;
    collect(body.get("system"), &mut text, &mut images);
    let messages = body.get("messages").and_then(Value::as_array);
    let n_messages = messages.map_or(0, |m| m.len() as u64);
    for m in messages.into_iter().flatten() {
        collect(m.get("content"), &mut text, &mut images);
    }
    if let Some(tools) = body.get("tools") {
        text.push_str(&tools.to_string());
    }
    count_tokens(model, &text)
        .saturating_add(images.saturating_mul(IMAGE_TOKENS))
        .saturating_add(n_messages.saturating_mul(3))
}

fn collect(v: Option<&Value>, text: &mut String, images: &mut u64) {
    match v {
        Some(Value::String(s)) => {
            text.push_str(s);
            text.push('\n');
        }
        Some(Value::Array(blocks)) => {
            for b in blocks {
                match b.get("type").and_then(Value::as_str) {
                    Some("image") | Some("document") => *images = images.saturating_add(1),
                    Some("tool_use") => {
                        collect(b.get("name"), text, images);
                        text.push_str(&b.get("input").map(Value::to_string).unwrap_or_default());
                    }
                    Some("tool_result") => collect(b.get("content"), text, images),
                    _ => collect(b.get("text").or_else(|| b.get("thinking")), text, images),
                }
            }
        }
        _ => {}
    }
}

/// OpenAI refuses a `user` longer than 64 characters ("Invalid 'user': string too
/// long"); Claude Code's `metadata.user_id` is a ~150-character JSON string. A longer id
/// is sent as its SHA-256 (64 hex digits), which still tells users apart.
const OPENAI_USER_MAX: usize = 64;

fn openai_user(user_id: &str) -> String {
    if user_id.chars().count() <= OPENAI_USER_MAX {
        return user_id.to_string();
    }
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(user_id.as_bytes()))
}
