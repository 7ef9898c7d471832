//! Responses request → OpenAI chat request, for channels that do not serve the Responses
//! API. What chat cannot carry (built-in tools, server-side state) is dropped and named
//! in the warnings.

use super::tools::{self, flat_name};
use crate::providers::reasoning::{self, details};
use crate::v1_core::error::{Dialect, V1Error};
use serde_json::{json, Map, Value};

fn bad(message: impl Into<String>) -> V1Error {
    V1Error::bad_request(message).dialect(Dialect::Responses)
}

/// A converted request and what had to be left out.
pub struct Converted {
    pub body: Value,
    pub warnings: Vec<String>,
}

/// Responses request → chat request (see [`convert`]).
pub fn to_openai(body: &Value) -> Result<Value, V1Error> {
    convert(body).map(|c| c.body)
}

pub fn convert(body: &Value) -> Result<Converted, V1Error> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad("request body must be a JSON object"))?;
    let mut warnings = Vec::new();
    let mut messages = Vec::new();
    match obj.get("instructions") {
        Some(Value::String(s)) if !s.is_empty() => {
            messages.push(json!({"role": "system", "content": s}));
        }
        Some(Value::Array(items)) => input_items(items, &mut messages, &mut warnings)?,
        _ => {}
    }
    match obj.get("input") {
        Some(Value::String(s)) => messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => input_items(items, &mut messages, &mut warnings)?,
        None | Some(Value::Null) => {}
        Some(_) => return Err(bad("input must be a string or an array of items").param("input")),
    }
    if messages.is_empty() {
        return Err(bad("input is required").param("input"));
    }
    let mut out = Map::new();
    if let Some(m) = obj.get("model") {
        out.insert("model".into(), m.clone());
    }
    out.insert("messages".into(), Value::Array(messages));
    copy_settings(obj, &mut out, &mut warnings)?;
    let chat_tools = tools::chat_tools(body, &mut warnings);
    if !chat_tools.is_empty() {
        out.insert("tools".into(), Value::Array(chat_tools));
        if let Some(c) = obj.get("tool_choice") {
            if let Some(choice) = tools::chat_tool_choice(c, &mut warnings) {
                out.insert("tool_choice".into(), choice);
            }
        }
        if let Some(p) = obj.get("parallel_tool_calls").filter(|p| p.is_boolean()) {
            out.insert("parallel_tool_calls".into(), p.clone());
        }
    }
    Ok(Converted {
        body: Value::Object(out),
        warnings,
    })
}

/// Sampling, limits, reasoning and output format.
fn copy_settings(
    obj: &Map<String, Value>,
    out: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<(), V1Error> {
    match obj.get("stream") {
        Some(Value::Bool(true)) => {
            out.insert("stream".into(), json!(true));
            out.insert("stream_options".into(), json!({"include_usage": true}));
        }
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(_) => return Err(bad("stream must be a boolean").param("stream")),
    }
    match obj.get("max_output_tokens") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let n = v
                .as_u64()
                .filter(|n| *n > 0 && *n <= 10_000_000)
                .ok_or_else(|| {
                    bad("max_output_tokens must be a positive integer").param("max_output_tokens")
                })?;
            out.insert("max_tokens".into(), json!(n));
        }
    }
    for key in ["temperature", "top_p", "top_logprobs"] {
        if let Some(v) = obj.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), v.clone());
        }
    }
    // Each channel sends what its model takes (`reasoning::families`).
    if let Some(ask) = obj.get("reasoning").and_then(reasoning::from_responses) {
        out.insert(reasoning::FIELD.into(), ask.to_value());
    }
    let text = obj.get("text");
    match text.and_then(|t| t.get("format")) {
        Some(f) if f.get("type").and_then(Value::as_str) == Some("json_schema") => {
            let mut schema = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(v) = f.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), v.clone());
                }
            }
            out.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": Value::Object(schema)}),
            );
        }
        Some(f) if f.get("type").and_then(Value::as_str) == Some("json_object") => {
            out.insert("response_format".into(), json!({"type": "json_object"}));
        }
        _ => {}
    }
    if let Some(v) = text
        .and_then(|t| t.get("verbosity"))
        .filter(|v| v.is_string())
    {
        out.insert("verbosity".into(), v.clone());
    }
    let user = obj
        .get("safety_identifier")
        .or_else(|| obj.get("user"))
        .filter(|u| u.is_string());
    if let Some(u) = user {
        out.insert("user".into(), u.clone());
    }
    if obj.get("conversation").is_some_and(|c| !c.is_null()) {
        warnings.push("conversation is not available on this channel and was ignored".into());
    }
    if obj.get("background") == Some(&Value::Bool(true)) {
        return Err(bad(
            "background responses need a channel that serves the Responses API natively",
        )
        .param("background"));
    }
    Ok(())
}

/// Input items → chat messages. Consecutive calls join one assistant message.
fn input_items(
    items: &[Value],
    messages: &mut Vec<Value>,
    warnings: &mut Vec<String>,
) -> Result<(), V1Error> {
    for item in items {
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .or_else(|| item.get("role").map(|_| "message"))
            .unwrap_or_default();
        match kind {
            "message" => message(item, messages)?,
            "function_call" => {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                let ns = item.get("namespace").and_then(Value::as_str);
                let args = item
                    .get("arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("{}");
                push_call(messages, call_id(item), &flat_name(ns, name), args);
            }
            "custom_tool_call" => {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                let ns = item.get("namespace").and_then(Value::as_str);
                let input = item
                    .get("input")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let args = json!({"input": input}).to_string();
                push_call(messages, call_id(item), &flat_name(ns, name), &args);
            }
            "function_call_output" | "custom_tool_call_output" => {
                tool_output(item, messages);
            }
            // Reasoning is the upstream's own (often encrypted) state; another provider
            // cannot use it, and the visible answer already carries its result. Only
            // Anthropic thinking the gateway itself packed goes back, to the assistant
            // turn it belongs to.
            "reasoning" => {
                let packed = item.get("encrypted_content").and_then(Value::as_str);
                if let Some(entries) = packed.and_then(details::unpack) {
                    let mut turn = json!({"role": "assistant", "content": null});
                    turn[details::FIELD] = Value::Array(entries);
                    messages.push(turn);
                }
            }
            "item_reference" => {
                return Err(bad(
                    "item_reference needs stored responses, which this channel does not keep; \
                     send the items themselves",
                )
                .param("input"))
            }
            other => warnings.push(format!(
                "input item of type '{other}' is not available on this channel and was dropped"
            )),
        }
    }
    Ok(())
}

fn call_id(item: &Value) -> String {
    item.get("call_id")
        .or_else(|| item.get("id"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("call_{}", crate::util::new_id()), String::from)
}

fn push_call(messages: &mut Vec<Value>, id: String, name: &str, arguments: &str) {
    let call = json!({"id": id, "type": "function",
                      "function": {"name": name, "arguments": arguments}});
    if let Some(last) = messages.last_mut().filter(|m| m["role"] == "assistant") {
        match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
            Some(calls) => calls.push(call),
            None => last["tool_calls"] = json!([call]),
        }
        return;
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

fn tool_output(item: &Value, messages: &mut Vec<Value>) {
    let id = call_id(item);
    let mut images = Vec::new();
    let text = match item.get("output") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for p in parts {
                match content_part(p) {
                    Some(c) if c["type"] == "text" => {
                        texts.push(c["text"].as_str().unwrap_or_default().to_string())
                    }
                    Some(c) => images.push(c),
                    None => {}
                }
            }
            texts.join("\n")
        }
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    };
    messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
    // Chat tool messages hold text only; images follow in a user message.
    if !images.is_empty() {
        messages.push(json!({"role": "user", "content": images}));
    }
}

fn message(item: &Value, messages: &mut Vec<Value>) -> Result<(), V1Error> {
    let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
    let chat_role = match role {
        "user" => "user",
        "assistant" => "assistant",
        // Every provider's converter reads `system`; `developer` is OpenAI-only.
        "system" | "developer" => "system",
        other => return Err(bad(format!("input: unknown message role '{other}'")).param("input")),
    };
    let parts: Vec<Value> = match item.get("content") {
        Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
        Some(Value::Array(ps)) => ps.iter().filter_map(content_part).collect(),
        _ => Vec::new(),
    };
    let all_text = parts.iter().all(|p| p["type"] == "text");
    let content = if all_text || chat_role != "user" {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        json!(texts.join("\n"))
    } else {
        Value::Array(parts)
    };
    // The text of a turn whose replayed thinking came first joins that turn.
    if let Some(last) = messages.last_mut().filter(|m| {
        chat_role == "assistant"
            && m["role"] == "assistant"
            && m["content"].is_null()
            && m.get("tool_calls").is_none()
    }) {
        last["content"] = content;
        return Ok(());
    }
    messages.push(json!({"role": chat_role, "content": content}));
    Ok(())
}

/// One content part → a chat part (`None` for parts chat cannot carry).
fn content_part(p: &Value) -> Option<Value> {
    let kind = p.get("type").and_then(Value::as_str)?;
    match kind {
        "input_text" | "output_text" | "text" | "summary_text" | "reasoning_text" => {
            Some(json!({"type": "text", "text": p.get("text").and_then(Value::as_str)?}))
        }
        "refusal" => {
            Some(json!({"type": "text", "text": p.get("refusal").and_then(Value::as_str)?}))
        }
        "input_image" => {
            let url = p.get("image_url").and_then(Value::as_str)?;
            let mut image = json!({"url": url});
            if let Some(d) = p.get("detail").filter(|d| d.is_string()) {
                image["detail"] = d.clone();
            }
            Some(json!({"type": "image_url", "image_url": image}))
        }
        "input_file" => {
            let mut file = Map::new();
            for key in ["file_data", "file_id", "filename"] {
                if let Some(v) = p.get(key).filter(|v| v.is_string()) {
                    file.insert(key.into(), v.clone());
                }
            }
            (file.contains_key("file_data") || file.contains_key("file_id"))
                .then(|| json!({"type": "file", "file": Value::Object(file)}))
        }
        "input_audio" => p
            .get("input_audio")
            .map(|a| json!({"type": "input_audio", "input_audio": a})),
        _ => None,
    }
}
