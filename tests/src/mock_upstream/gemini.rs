//! Gemini (Generative Language API, v1beta) bodies: generateContent,
//! streamGenerateContent (SSE with `alt=sse`, a JSON array without), embeddings.

use bytes::Bytes;
use serde_json::{json, Value};

use super::content::{self, Intent};
use super::router::{Ctx, Rendered};
use super::TOOL_ARGUMENTS;

/// The thought summary the mock sends first when the request asks for thoughts
/// (`generationConfig.thinkingConfig.includeThoughts`).
pub const THOUGHT_TEXT: &str = "Thinking it over. ";
/// `thoughtsTokenCount` reported with [`THOUGHT_TEXT`].
pub const THOUGHT_TOKENS: u64 = 5;
/// The `thoughtSignature` on function calls made while thinking.
pub const THOUGHT_SIGNATURE: &str = "bW9jay1zaWduYXR1cmU=";

/// Whether the request asked to see thoughts.
fn thinking(ctx: &Ctx) -> bool {
    ctx.body["generationConfig"]["thinkingConfig"]["includeThoughts"] == true
}

/// Renders the reply for `:{method}`; `None` for methods the mock does not know.
pub(crate) fn reply(ctx: &Ctx, method: &str, sse: bool) -> Option<Rendered> {
    let rendered = match method {
        "generateContent" => Rendered::Json(generate(ctx, &intent(ctx))),
        "streamGenerateContent" => {
            let chunks = stream_chunks(ctx, &intent(ctx));
            match sse {
                true => Rendered::Events(chunks.iter().map(sse_event).collect()),
                false => Rendered::Json(Value::Array(chunks)),
            }
        }
        "embedContent" => Rendered::Json(json!({"embedding": embed(ctx, ctx.body)})),
        "batchEmbedContents" => {
            let requests = ctx.body["requests"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let embeddings: Vec<Value> = requests.iter().map(|r| embed(ctx, r)).collect();
            Rendered::Json(json!({ "embeddings": embeddings }))
        }
        "countTokens" => {
            let total = ctx.usage.map_or(0, |u| u.prompt_tokens);
            Rendered::Json(json!({ "totalTokens": total }))
        }
        _ => return None,
    };
    Some(rendered)
}

fn intent(ctx: &Ctx) -> Intent {
    super::reasoning::structured(content::gemini(ctx.body), ctx.body)
}

fn generate(ctx: &Ctx, intent: &Intent) -> Value {
    let mut parts = Vec::new();
    if thinking(ctx) {
        parts.push(json!({"text": THOUGHT_TEXT, "thought": true}));
    }
    parts.push(json!({"text": intent.text}));
    parts.extend(intent.tool.as_deref().map(|t| function_call(ctx, t)));
    let completion = ctx.usage.map_or(0, |u| u.completion_tokens);
    response(ctx, parts, true, completion)
}

fn function_call(ctx: &Ctx, name: &str) -> Value {
    let args: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or_default();
    let mut part = json!({"functionCall": {"name": name, "args": args}});
    if thinking(ctx) {
        part["thoughtSignature"] = json!(THOUGHT_SIGNATURE);
    }
    part
}

/// One GenerateContentResponse; `candidatesTokenCount` is what was generated so far.
fn response(ctx: &Ctx, parts: Vec<Value>, last: bool, completion_so_far: u64) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if last {
        // Gemini says STOP for function calls too.
        candidate["finishReason"] = json!("STOP");
    }
    let mut body = json!({"candidates": [candidate], "modelVersion": ctx.model,
                          "responseId": ctx.id});
    if let Some(usage) = ctx.usage {
        let thoughts = if thinking(ctx) { THOUGHT_TOKENS } else { 0 };
        let mut meta = json!({"promptTokenCount": usage.prompt_tokens,
                              "candidatesTokenCount": completion_so_far,
                              "totalTokenCount": usage.prompt_tokens + completion_so_far + thoughts});
        if thoughts > 0 {
            meta["thoughtsTokenCount"] = json!(thoughts);
        }
        if usage.cache_read_tokens > 0 {
            meta["cachedContentTokenCount"] = json!(usage.cache_read_tokens);
        }
        body["usageMetadata"] = meta;
    }
    body
}

/// `chunks` text chunks, then a functionCall chunk when a tool is called. Like the real
/// API, every chunk repeats `usageMetadata` with a cumulative count (the last one wins).
fn stream_chunks(ctx: &Ctx, intent: &Intent) -> Vec<Value> {
    let mut parts: Vec<Value> = Vec::new();
    if thinking(ctx) {
        parts.push(json!({"text": THOUGHT_TEXT, "thought": true}));
    }
    parts.extend(
        content::split_text(&intent.text, ctx.chunks)
            .into_iter()
            .map(|text| json!({ "text": text })),
    );
    parts.extend(intent.tool.as_deref().map(|t| function_call(ctx, t)));
    let count = parts.len() as u64;
    let completion = ctx.usage.map_or(0, |u| u.completion_tokens);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let done = i as u64 + 1;
            response(ctx, vec![part], done == count, completion * done / count)
        })
        .collect()
}

/// Google's servers frame SSE with CRLF, which also exercises that decoder path.
fn sse_event(chunk: &Value) -> Bytes {
    Bytes::from(format!("data: {chunk}\r\n\r\n"))
}

fn embed(ctx: &Ctx, request: &Value) -> Value {
    let text: Vec<&str> = request["content"]["parts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    let dims = request["outputDimensionality"]
        .as_u64()
        .or_else(|| ctx.body["outputDimensionality"].as_u64())
        .unwrap_or(8) as usize;
    json!({ "values": content::embedding(&text.join("\n"), dims) })
}

/// Google's error shape with the canonical status name for `status`.
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let name = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        500..=599 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    };
    json!({"error": {"code": status, "message": message, "status": name}})
}

/// An error object as a stream event (what a failing Gemini stream ends with).
pub(crate) fn stream_error(message: &str) -> Bytes {
    sse_event(&error_body(503, message))
}
