//! OpenAI `chat.completion` → Gemini `GenerateContentResponse`.

use crate::providers::reasoning::details;
use serde_json::{json, Map, Value};
use shared::openai::Usage;

/// OpenAI `finish_reason` → Gemini `finishReason` (Gemini says `STOP` after function
/// calls too).
pub fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("length") => "MAX_TOKENS",
        Some("content_filter") => "SAFETY",
        _ => "STOP",
    }
}

/// Gemini `usageMetadata`: reasoning tokens are reported apart from the answer's, as
/// Gemini does (`thoughtsTokenCount`), and both are billed as output.
pub fn usage_metadata(u: &Usage) -> Value {
    let reasoning = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.get("reasoning_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(u.completion_tokens);
    let mut m = json!({
        "promptTokenCount": u.prompt_tokens,
        "candidatesTokenCount": u.completion_tokens - reasoning,
        "totalTokenCount": u.total(),
    });
    if reasoning > 0 {
        m["thoughtsTokenCount"] = json!(reasoning);
    }
    let cached = u.cached_tokens().min(u.prompt_tokens);
    if cached > 0 {
        m["cachedContentTokenCount"] = json!(cached);
    }
    m
}

/// A thought part; `packed` is Anthropic's signed thinking, in the `thoughtSignature` the
/// client sends back with the part (see `reasoning::details::pack`).
pub fn thought_part(text: &str, packed: Option<&str>) -> Value {
    let mut part = json!({"text": text, "thought": true});
    if let Some(sig) = packed {
        part["thoughtSignature"] = json!(sig);
    }
    part
}

/// Tool arguments as the object Gemini's `args` must be (`{}` if unparseable).
fn tool_args(arguments: Option<&str>) -> Value {
    arguments
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// A `functionCall` part for an OpenAI tool call (its thought signature, if a Gemini
/// model made it, back on the part).
pub fn function_call_part(call: &Value) -> Value {
    let f = call.get("function");
    let name = f.and_then(|f| f.get("name")).and_then(Value::as_str);
    let args = f.and_then(|f| f.get("arguments")).and_then(Value::as_str);
    let mut fc = Map::new();
    if let Some(id) = call
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        fc.insert("id".into(), json!(id));
    }
    fc.insert("name".into(), json!(name.unwrap_or_default()));
    fc.insert("args".into(), tool_args(args));
    let mut part = json!({ "functionCall": fc });
    let sig = call.pointer("/extra_content/google/thought_signature");
    if let Some(sig) = sig.and_then(Value::as_str) {
        part["thoughtSignature"] = json!(sig);
    }
    part
}

/// A response id derived from the OpenAI one.
pub fn response_id(openai_id: Option<&str>) -> String {
    match openai_id.map(|id| id.trim_start_matches("chatcmpl-")) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => crate::util::new_id().to_string(),
    }
}

fn candidate(pos: usize, choice: &Value) -> Value {
    let msg = choice.get("message");
    let mut parts = Vec::new();
    let reasoning = msg
        .and_then(|m| m.get("reasoning_content"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let entries = msg
        .and_then(|m| m.get(details::FIELD))
        .and_then(Value::as_array);
    let packed = entries.and_then(|e| details::pack(e));
    if !reasoning.is_empty() || packed.is_some() {
        parts.push(thought_part(reasoning, packed.as_deref()));
    }
    let text = match msg.and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    if !text.is_empty() {
        parts.push(json!({ "text": text }));
    }
    let calls = msg
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array);
    parts.extend(calls.into_iter().flatten().map(function_call_part));
    let index = choice
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(pos as u64);
    let reason = choice.get("finish_reason").and_then(Value::as_str);
    json!({"content": {"parts": parts, "role": "model"},
           "finishReason": finish_reason(reason), "index": index})
}

/// Converts a non-streaming chat answer; `model` is the name the client asked for.
pub fn from_openai_response(openai: &Value, model: &str) -> Value {
    let candidates: Vec<Value> = openai
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| candidate(i, c))
        .collect();
    let usage = openai
        .get("usage")
        .and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok())
        .unwrap_or_default();
    json!({
        "candidates": candidates,
        "usageMetadata": usage_metadata(&usage),
        "modelVersion": model,
        "responseId": response_id(openai.get("id").and_then(Value::as_str)),
    })
}
