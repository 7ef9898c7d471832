//! OpenAI (and Azure OpenAI) bodies: chat, legacy completions, embeddings, models.

use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::sse::{done_event, encode_data};

use super::content::{self, Intent};
use super::reasoning;
use super::reply::MockUsage;
use super::router::{Ctx, Rendered};
use super::TOOL_ARGUMENTS;

/// `created` of every object, fixed so bodies are comparable.
const CREATED: u64 = 1_700_000_000;

/// Models listed by `GET /v1/models`.
pub const MODELS: &[&str] = &[
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
];

pub(crate) fn chat(ctx: &Ctx) -> Rendered {
    let intent = reasoning::structured(content::openai_chat(ctx.body), ctx.body);
    match ctx.body["stream"] == true {
        true => Rendered::Events(chat_stream(ctx, &intent)),
        false => Rendered::Json(chat_json(ctx, &intent)),
    }
}

fn chat_json(ctx: &Ctx, intent: &Intent) -> Value {
    let (message, finish) = match &intent.tool {
        Some(name) => (
            json!({"role": "assistant", "content": null, "refusal": null,
                   "tool_calls": [tool_call(ctx, name, TOOL_ARGUMENTS)]}),
            "tool_calls",
        ),
        None => (
            json!({"role": "assistant", "content": intent.text, "refusal": null}),
            "stop",
        ),
    };
    let mut message = message;
    if reasoning::openai_reasoning(ctx.body) {
        message["reasoning_content"] = json!(reasoning::REASONING_TEXT);
    }
    let mut body = json!({
        "id": format!("chatcmpl-{}", ctx.id), "object": "chat.completion",
        "created": CREATED, "model": ctx.model, "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
    });
    add_usage(&mut body, ctx);
    if ctx.azure {
        body["prompt_filter_results"] = azure_filter_results();
    }
    body
}

fn tool_call(ctx: &Ctx, name: &str, arguments: &str) -> Value {
    json!({"id": format!("call_{}", ctx.id), "type": "function",
           "function": {"name": name, "arguments": arguments}})
}

/// Role chunk, content (or tool-call) deltas, finish chunk, optional usage chunk, [DONE].
fn chat_stream(ctx: &Ctx, intent: &Intent) -> Vec<Bytes> {
    let with_usage = wants_usage(ctx);
    let chunk = |delta: Value, finish: Value| {
        let choice = json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish});
        chat_chunk(ctx, json!([choice]), with_usage)
    };
    let mut events = Vec::new();
    if ctx.azure {
        // Azure opens with a content-filter chunk whose `choices` is empty.
        let filter = json!({"id": "", "object": "", "created": 0, "model": "", "choices": [],
                            "prompt_filter_results": azure_filter_results()});
        events.push(encode_data(&filter.to_string()));
    }
    events.push(chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    ));
    if reasoning::openai_reasoning(ctx.body) {
        for piece in content::split_text(reasoning::REASONING_TEXT, 2) {
            events.push(chunk(json!({ "reasoning_content": piece }), Value::Null));
        }
    }
    let finish = match &intent.tool {
        Some(name) => {
            let mut start = tool_call(ctx, name, "");
            start["index"] = json!(0);
            events.push(chunk(json!({"tool_calls": [start]}), Value::Null));
            for part in content::split_text(TOOL_ARGUMENTS, 2) {
                let delta = json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]});
                events.push(chunk(delta, Value::Null));
            }
            "tool_calls"
        }
        None => {
            for piece in content::split_text(&intent.text, ctx.chunks) {
                events.push(chunk(json!({"content": piece}), Value::Null));
            }
            "stop"
        }
    };
    events.push(chunk(json!({}), json!(finish)));
    if let Some(usage) = ctx.usage.filter(|_| with_usage) {
        let mut last = chat_chunk_value(ctx, json!([]));
        last["usage"] = usage_json(&usage, ctx);
        events.push(encode_data(&last.to_string()));
    }
    events.push(done_event());
    events
}

fn chat_chunk_value(ctx: &Ctx, choices: Value) -> Value {
    json!({"id": format!("chatcmpl-{}", ctx.id), "object": "chat.completion.chunk",
           "created": CREATED, "model": ctx.model, "system_fingerprint": "fp_mock",
           "choices": choices})
}

fn chat_chunk(ctx: &Ctx, choices: Value, with_usage: bool) -> Bytes {
    let mut value = chat_chunk_value(ctx, choices);
    if with_usage {
        // With include_usage, OpenAI puts `"usage": null` on every other chunk.
        value["usage"] = Value::Null;
    }
    encode_data(&value.to_string())
}

fn wants_usage(ctx: &Ctx) -> bool {
    ctx.body["stream_options"]["include_usage"] == true
}

pub(crate) fn completions(ctx: &Ctx) -> Rendered {
    let intent = content::openai_prompt(ctx.body);
    let id = format!("cmpl-{}", ctx.id);
    let object = |choices: Value| {
        json!({"id": id, "object": "text_completion", "created": CREATED,
               "model": ctx.model, "choices": choices})
    };
    let choice = |text: &str, finish: Value| json!([{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}]);
    if ctx.body["stream"] != true {
        let mut body = object(choice(&intent.text, json!("stop")));
        add_usage(&mut body, ctx);
        return Rendered::Json(body);
    }
    let mut events: Vec<Bytes> = content::split_text(&intent.text, ctx.chunks)
        .iter()
        .map(|piece| encode_data(&object(choice(piece, Value::Null)).to_string()))
        .collect();
    events.push(encode_data(&object(choice("", json!("stop"))).to_string()));
    if let Some(usage) = ctx.usage.filter(|_| wants_usage(ctx)) {
        let mut last = object(json!([]));
        last["usage"] = usage_json(&usage, ctx);
        events.push(encode_data(&last.to_string()));
    }
    events.push(done_event());
    Rendered::Events(events)
}

pub(crate) fn embeddings(ctx: &Ctx) -> Rendered {
    let dims = ctx.body["dimensions"].as_u64().unwrap_or(8) as usize;
    let base64 = ctx.body["encoding_format"] == "base64";
    let data: Vec<Value> = content::embedding_inputs(&ctx.body["input"])
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = content::embedding(text, dims);
            // The official Python SDK asks for base64 (little-endian f32) by default.
            let embedding = match base64 {
                true => json!(base64::engine::general_purpose::STANDARD.encode(
                    vector
                        .iter()
                        .flat_map(|f| f.to_le_bytes())
                        .collect::<Vec<_>>()
                )),
                false => json!(vector),
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let mut body = json!({"object": "list", "data": data, "model": ctx.model});
    if let Some(usage) = ctx.usage {
        body["usage"] = json!({"prompt_tokens": usage.prompt_tokens,
                               "total_tokens": usage.prompt_tokens});
    }
    Rendered::Json(body)
}

pub(crate) fn models() -> Rendered {
    let data: Vec<Value> = MODELS
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "mock"}))
        .collect();
    Rendered::Json(json!({"object": "list", "data": data}))
}

fn add_usage(body: &mut Value, ctx: &Ctx) {
    if let Some(usage) = ctx.usage {
        body["usage"] = usage_json(&usage, ctx);
    }
}

/// Like OpenAI, `completion_tokens` include the reasoning (`MockOptions::reasoning_tokens`).
fn usage_json(usage: &MockUsage, ctx: &Ctx) -> Value {
    let reasoning = ctx.reasoning_tokens.min(usage.completion_tokens);
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total(),
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    })
}

fn azure_filter_results() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!([{"prompt_index": 0, "content_filter_results": {
        "hate": safe, "self_harm": safe, "sexual": safe, "violence": safe}}])
}

/// OpenAI's error shape, with the `type`/`code` OpenAI uses for `status`.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        401 => ("invalid_request_error", json!("invalid_api_key")),
        404 => ("invalid_request_error", json!("model_not_found")),
        429 => ("requests", json!("rate_limit_exceeded")),
        500..=599 => ("server_error", Value::Null),
        _ => ("invalid_request_error", Value::Null),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// What OpenAI sends when a stream fails after it started.
pub(crate) fn stream_error(message: &str) -> Bytes {
    encode_data(&error_body(500, message).to_string())
}
