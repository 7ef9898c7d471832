//! OpenAI `chat.completion` → Responses `response` object, and the parts the stream
//! adapter shares (ids, usage, the response envelope).

use super::tools::ToolNames;
use crate::providers::reasoning::details;
use serde_json::{json, Map, Value};
use shared::openai::Usage;

/// Ids of responses made by conversion start with this (OpenAI's own ids are hex after
/// `resp_`, so they never do): such a response was never stored anywhere.
pub const CONVERTED_ID_PREFIX: &str = "resp_gw";

/// Request fields a Response object echoes back.
const ECHOED: &[&str] = &[
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_p",
    "truncation",
    "user",
];

/// What a converted answer needs from the client's request.
pub struct Shape {
    pub model: String,
    pub tools: ToolNames,
    echo: Map<String, Value>,
}

impl Shape {
    /// `model` is the name the client asked for.
    pub fn from_request(request: &Value, model: &str) -> Self {
        let mut echo = Map::new();
        for key in ECHOED {
            if let Some(v) = request.get(*key) {
                echo.insert((*key).into(), v.clone());
            }
        }
        Shape {
            model: model.to_string(),
            tools: ToolNames::from_request(request),
            echo,
        }
    }

    /// The `response` object with the request's settings echoed.
    pub fn object(&self, id: &str, created_at: i64, status: &str, output: Vec<Value>) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(id));
        o.insert("object".into(), json!("response"));
        o.insert("created_at".into(), json!(created_at));
        o.insert("status".into(), json!(status));
        o.insert("background".into(), json!(false));
        o.insert("error".into(), Value::Null);
        o.insert("incomplete_details".into(), Value::Null);
        o.insert("model".into(), json!(self.model));
        o.insert("output".into(), Value::Array(output));
        let defaults = [
            ("instructions", Value::Null),
            ("max_output_tokens", Value::Null),
            ("metadata", json!({})),
            ("parallel_tool_calls", json!(true)),
            ("previous_response_id", Value::Null),
            ("reasoning", json!({"effort": null, "summary": null})),
            ("temperature", json!(1.0)),
            ("text", json!({"format": {"type": "text"}})),
            ("tool_choice", json!("auto")),
            ("tools", json!([])),
            ("top_p", json!(1.0)),
            ("truncation", json!("disabled")),
        ];
        for (key, default) in defaults {
            o.insert(key.into(), default);
        }
        for (k, v) in &self.echo {
            if !v.is_null() {
                o.insert(k.clone(), v.clone());
            }
        }
        // Converted responses are never kept anywhere.
        o.insert("store".into(), json!(false));
        o.insert("usage".into(), Value::Null);
        Value::Object(o)
    }
}

pub fn new_response_id() -> String {
    format!("{CONVERTED_ID_PREFIX}{}", crate::util::new_id())
}

/// An item id with the given prefix (`msg`, `fc`, `rs`, `ctc`).
pub fn item_id(prefix: &str) -> String {
    format!("{prefix}_{}", crate::util::new_id())
}

/// Chat usage → Responses usage.
pub fn usage_json(u: &Usage) -> Value {
    let reasoning = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.get("reasoning_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    json!({
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens().min(u.prompt_tokens)},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": u.total(),
    })
}

/// Responses usage (from a pass-through answer) → chat usage, for billing.
pub fn usage_from_responses(u: &Value) -> Option<Usage> {
    let input = u.get("input_tokens")?.as_u64()?;
    let output = u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0);
    let mut usage = Usage::new(input, output);
    if let Some(c) = u.pointer("/input_tokens_details/cached_tokens") {
        usage.prompt_tokens_details = Some(json!({"cached_tokens": c}));
    }
    if let Some(r) = u.pointer("/output_tokens_details/reasoning_tokens") {
        usage.completion_tokens_details = Some(json!({"reasoning_tokens": r}));
    }
    Some(usage)
}

/// `status` and `incomplete_details` for a chat `finish_reason`.
pub fn final_status(finish_reason: Option<&str>) -> (&'static str, Value) {
    match finish_reason {
        Some("length") => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some("content_filter") => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant",
           "content": [output_text(text)]})
}

pub fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A reasoning item; `encrypted` is Anthropic's signed thinking (see [`signed_state`]).
pub fn reasoning_item(id: &str, summary: &str, encrypted: Option<&str>) -> Value {
    let mut item = json!({"type": "reasoning", "id": id,
                          "summary": [{"type": "summary_text", "text": summary}]});
    if let Some(e) = encrypted {
        item["encrypted_content"] = json!(e);
    }
    item
}

/// The `encrypted_content` for an answer's Anthropic `reasoning_details` (Codex and the
/// SDKs send it back on the next turn, so an Anthropic channel gets its thinking again).
pub fn signed_state(entries: &[Value]) -> Option<String> {
    details::pack(entries)
}

/// Converts a non-streaming chat answer; `usage` is what is billed (the upstream's, or
/// the gateway's count when it reported none).
pub fn from_openai_response(openai: &Value, shape: &Shape, usage: &Usage) -> Value {
    let choice = openai.pointer("/choices/0");
    let msg = choice.and_then(|c| c.get("message"));
    let mut output = Vec::new();
    let reasoning = msg
        .and_then(|m| m.get("reasoning_content"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let entries = msg
        .and_then(|m| m.get(details::FIELD))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let signed = signed_state(entries);
    if !reasoning.is_empty() || signed.is_some() {
        output.push(reasoning_item(&item_id("rs"), reasoning, signed.as_deref()));
    }
    let text = match msg.and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    if !text.is_empty() {
        output.push(message_item(&item_id("msg"), &text, "completed"));
    }
    if let Some(refusal) = msg
        .and_then(|m| m.get("refusal"))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        output.push(
            json!({"type": "message", "id": item_id("msg"), "status": "completed",
            "role": "assistant", "content": [{"type": "refusal", "refusal": refusal}]}),
        );
    }
    let calls = msg
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let name = call
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}");
        let call_id = call
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| item_id("call"), String::from);
        let prefix = if shape.tools.is_custom(name) {
            "ctc"
        } else {
            "fc"
        };
        output.push(
            shape
                .tools
                .call_item(&item_id(prefix), &call_id, name, args),
        );
    }
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str);
    let (status, incomplete) = final_status(finish);
    let created = openai
        .get("created")
        .and_then(Value::as_i64)
        .unwrap_or_else(crate::util::now);
    let mut body = shape.object(&new_response_id(), created, status, output);
    body["incomplete_details"] = incomplete;
    body["usage"] = usage_json(usage);
    body
}
