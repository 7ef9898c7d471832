//! OpenAI's Responses API (`/v1/responses`, Azure's `/openai/v1/responses`): create
//! (JSON or stream), compact, and the stored-response routes.
//!
//! The reply follows the same rules as chat: `"Echo: "` + the last user text, or
//! `"Tool result: "` + the last tool output; a call to the first declared function or
//! custom tool when tools are offered (a custom tool gets [`CUSTOM_TOOL_INPUT`]). When
//! the request sets `reasoning`, a reasoning item with a summary comes first (with
//! `encrypted_content` when `include` asks for it) and [`REASONING_TOKENS`] of the output
//! tokens are reasoning.

use bytes::Bytes;
use serde_json::{json, Value};
use shared::sse::encode_event;

use super::content::{self, Intent};
use super::reply::MockUsage;
use super::router::{Ctx, Rendered};
use super::TOOL_ARGUMENTS;

/// The input of every custom (free-form) tool call the mock makes.
pub const CUSTOM_TOOL_INPUT: &str = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch";
/// The reasoning summary the mock writes.
pub const REASONING_SUMMARY: &str = "Thinking about the answer.";
/// Output tokens reported as reasoning when a reasoning item is sent.
pub const REASONING_TOKENS: u64 = 3;
/// The opaque reasoning state the mock hands out.
pub const ENCRYPTED_REASONING: &str = "gAAAA-mock-encrypted-reasoning";

const CREATED: u64 = 1_700_000_000;

/// Which tool the mock calls: (name, namespace, is_custom).
fn tool_to_call(body: &Value) -> Option<(String, Option<String>, bool)> {
    match &body["tool_choice"] {
        Value::String(c) if c == "none" => return None,
        Value::Object(c) if c.get("name").is_some() => {
            let name = c["name"].as_str()?.to_string();
            let custom = c.get("type").and_then(Value::as_str) == Some("custom");
            return Some((name, None, custom));
        }
        _ => {}
    }
    for t in body["tools"].as_array().into_iter().flatten() {
        match t["type"].as_str() {
            Some("function") => return Some((t["name"].as_str()?.to_string(), None, false)),
            Some("custom") => return Some((t["name"].as_str()?.to_string(), None, true)),
            _ => {}
        }
    }
    None
}

/// The answer: last user text or tool output, and whether to call a tool.
fn intent(body: &Value) -> (Intent, Option<(String, Option<String>, bool)>) {
    let items: Vec<Value> = match &body["input"] {
        Value::String(s) => vec![json!({"role": "user", "content": s})],
        Value::Array(items) => items.clone(),
        _ => Vec::new(),
    };
    let last = items.last();
    let last_is_output = last.is_some_and(|i| {
        matches!(
            i["type"].as_str(),
            Some("function_call_output") | Some("custom_tool_call_output")
        )
    });
    let text = if last_is_output {
        last.map(|i| text_of(&i["output"])).unwrap_or_default()
    } else {
        items
            .iter()
            .rev()
            .find(|i| i["role"] == "user")
            .map(|i| text_of(&i["content"]))
            .unwrap_or_default()
    };
    let tool = tool_to_call(body).filter(|_| !last_is_output);
    // Intent::new is private to content; build through the chat reader.
    let chat =
        json!({"messages": [{"role": if last_is_output {"tool"} else {"user"}, "content": text}]});
    let intent = content::openai_chat(&chat);
    (intent, tool)
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn wants_reasoning(body: &Value) -> bool {
    body["reasoning"].is_object()
}

fn wants_encrypted(body: &Value) -> bool {
    body["include"]
        .as_array()
        .is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content"))
}

fn usage_json(usage: &MockUsage, reasoning: bool) -> Value {
    let r = if reasoning { REASONING_TOKENS } else { 0 };
    json!({"input_tokens": usage.prompt_tokens,
           "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
           "output_tokens": usage.completion_tokens,
           "output_tokens_details": {"reasoning_tokens": r},
           "total_tokens": usage.total()})
}

fn response_object(ctx: &Ctx, status: &str, output: Vec<Value>, usage: Value) -> Value {
    json!({"id": format!("resp_{}", ctx.id), "object": "response", "created_at": CREATED,
           "status": status, "background": false, "error": null, "incomplete_details": null,
           "instructions": ctx.body.get("instructions").cloned().unwrap_or(Value::Null),
           "max_output_tokens": ctx.body.get("max_output_tokens").cloned().unwrap_or(Value::Null),
           "model": ctx.model, "output": output, "parallel_tool_calls": true,
           "previous_response_id": ctx.body.get("previous_response_id").cloned().unwrap_or(Value::Null),
           "reasoning": {"effort": null, "summary": null},
           "store": ctx.body.get("store").cloned().unwrap_or(json!(true)),
           "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
           "tools": ctx.body.get("tools").cloned().unwrap_or(json!([])), "top_p": 1.0,
           "truncation": "disabled", "usage": usage, "metadata": {}})
}

/// The finished output items.
fn output_items(ctx: &Ctx) -> Vec<Value> {
    let (intent, tool) = intent(ctx.body);
    let mut items = Vec::new();
    if wants_reasoning(ctx.body) {
        let mut r = json!({"type": "reasoning", "id": format!("rs_{}", ctx.id),
                           "summary": [{"type": "summary_text", "text": REASONING_SUMMARY}]});
        if wants_encrypted(ctx.body) {
            r["encrypted_content"] = json!(ENCRYPTED_REASONING);
        }
        items.push(r);
    }
    match tool {
        Some((name, ns, true)) => {
            let mut c = json!({"type": "custom_tool_call", "id": format!("ctc_{}", ctx.id),
                               "call_id": format!("call_{}", ctx.id), "name": name,
                               "input": CUSTOM_TOOL_INPUT, "status": "completed"});
            if let Some(ns) = ns {
                c["namespace"] = json!(ns);
            }
            items.push(c);
        }
        Some((name, _, false)) => items.push(json!({"type": "function_call",
            "id": format!("fc_{}", ctx.id), "call_id": format!("call_{}", ctx.id),
            "name": name, "arguments": TOOL_ARGUMENTS, "status": "completed"})),
        None => items.push(json!({"type": "message", "id": format!("msg_{}", ctx.id),
            "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": intent.text, "annotations": [], "logprobs": []}]})),
    }
    items
}

pub(crate) fn create(ctx: &Ctx) -> Rendered {
    let items = output_items(ctx);
    let usage = ctx
        .usage
        .map_or(Value::Null, |u| usage_json(&u, wants_reasoning(ctx.body)));
    if ctx.body["stream"] != true {
        return Rendered::Json(response_object(ctx, "completed", items, usage));
    }
    let mut s = Events::default();
    let pending = response_object(ctx, "in_progress", Vec::new(), Value::Null);
    s.push("response.created", json!({"response": pending}));
    s.push("response.in_progress", json!({"response": pending}));
    for (index, item) in items.iter().enumerate() {
        stream_item(&mut s, ctx, index, item);
    }
    s.push(
        "response.completed",
        json!({"response": response_object(ctx, "completed", items, usage)}),
    );
    Rendered::Events(s.events)
}

#[derive(Default)]
struct Events {
    events: Vec<Bytes>,
    seq: u64,
}

impl Events {
    fn push(&mut self, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        self.events.push(encode_event(kind, &data.to_string()));
    }
}

/// One item's events: added, its deltas, done.
fn stream_item(s: &mut Events, ctx: &Ctx, index: usize, item: &Value) {
    let id = item["id"].clone();
    let mut opened = item.clone();
    let at = json!({"item_id": id, "output_index": index});
    let with = |extra: Value| {
        let mut v = at.clone();
        for (k, val) in extra.as_object().into_iter().flatten() {
            v[k] = val.clone();
        }
        v
    };
    match item["type"].as_str() {
        Some("message") => {
            opened["content"] = json!([]);
            opened["status"] = json!("in_progress");
            s.push(
                "response.output_item.added",
                json!({"output_index": index, "item": opened}),
            );
            let text = item["content"][0]["text"].as_str().unwrap_or_default();
            let empty = json!({"type": "output_text", "text": "", "annotations": []});
            s.push(
                "response.content_part.added",
                with(json!({"content_index": 0, "part": empty})),
            );
            for piece in content::split_text(text, ctx.chunks) {
                s.push(
                    "response.output_text.delta",
                    with(json!({"content_index": 0, "delta": piece, "logprobs": []})),
                );
            }
            s.push(
                "response.output_text.done",
                with(json!({"content_index": 0, "text": text, "logprobs": []})),
            );
            s.push(
                "response.content_part.done",
                with(json!({"content_index": 0, "part": item["content"][0]})),
            );
        }
        Some("reasoning") => {
            opened["summary"] = json!([]);
            s.push(
                "response.output_item.added",
                json!({"output_index": index, "item": opened}),
            );
            let part = json!({"type": "summary_text", "text": ""});
            s.push(
                "response.reasoning_summary_part.added",
                with(json!({"summary_index": 0, "part": part})),
            );
            for piece in content::split_text(REASONING_SUMMARY, 2) {
                s.push(
                    "response.reasoning_summary_text.delta",
                    with(json!({"summary_index": 0, "delta": piece})),
                );
            }
            s.push(
                "response.reasoning_summary_text.done",
                with(json!({"summary_index": 0, "text": REASONING_SUMMARY})),
            );
            s.push(
                "response.reasoning_summary_part.done",
                with(json!({"summary_index": 0, "part": item["summary"][0]})),
            );
        }
        Some("function_call") => {
            opened["arguments"] = json!("");
            opened["status"] = json!("in_progress");
            s.push(
                "response.output_item.added",
                json!({"output_index": index, "item": opened}),
            );
            for piece in content::split_text(TOOL_ARGUMENTS, 2) {
                s.push(
                    "response.function_call_arguments.delta",
                    with(json!({"delta": piece})),
                );
            }
            s.push(
                "response.function_call_arguments.done",
                with(json!({"arguments": TOOL_ARGUMENTS})),
            );
        }
        _ => {
            opened["input"] = json!("");
            s.push(
                "response.output_item.added",
                json!({"output_index": index, "item": opened}),
            );
            s.push(
                "response.custom_tool_call_input.delta",
                with(json!({"delta": CUSTOM_TOOL_INPUT})),
            );
            s.push(
                "response.custom_tool_call_input.done",
                with(json!({"input": CUSTOM_TOOL_INPUT})),
            );
        }
    }
    s.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item}),
    );
}

/// `POST /v1/responses/compact`: one opaque compaction item.
pub(crate) fn compact(ctx: &Ctx) -> Rendered {
    let usage = ctx.usage.map_or(Value::Null, |u| usage_json(&u, false));
    Rendered::Json(
        json!({"id": format!("resp_{}", ctx.id), "object": "response.compaction",
        "created_at": CREATED,
        "output": [{"type": "compaction", "id": format!("cmp_{}", ctx.id),
                    "encrypted_content": "gAAAA-mock-compacted"}],
        "usage": usage}),
    )
}

/// `GET`/`DELETE /v1/responses/{id}` and `GET …/input_items`, without real storage: the
/// id comes back so tests can see which channel was asked.
pub(crate) fn stored(method: &str, id: &str, tail: Option<&str>, ctx: &Ctx) -> Option<Rendered> {
    let body = match (method, tail) {
        ("GET", None) => {
            let mut r = response_object(ctx, "completed", Vec::new(), Value::Null);
            r["id"] = json!(id);
            r
        }
        ("DELETE", None) => json!({"id": id, "object": "response.deleted", "deleted": true}),
        ("GET", Some("input_items")) => json!({"object": "list", "data": [
            {"type": "message", "id": format!("msg_in_{id}"), "role": "user",
             "content": [{"type": "input_text", "text": "stored input"}]}],
            "first_id": format!("msg_in_{id}"), "last_id": format!("msg_in_{id}"), "has_more": false}),
        ("POST", Some("cancel")) => {
            let mut r = response_object(ctx, "cancelled", Vec::new(), Value::Null);
            r["id"] = json!(id);
            r
        }
        _ => return None,
    };
    Some(Rendered::Json(body))
}
