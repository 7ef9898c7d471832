//! OpenAI embeddings ⇄ Gemini `batchEmbedContents`.

use crate::providers::anthropic::openai_shape::unsupported;
use crate::providers::Parsed;
use crate::v1_core::error::V1Error;
use crate::v1_core::tokens::count_tokens;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::gemini::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, Content, EmbedContentRequest, Part,
};
use shared::openai::Usage;

/// The client's inputs: a string or an array of strings (token-id inputs have no
/// Gemini equivalent).
fn inputs(body: &Value) -> Result<Vec<String>, V1Error> {
    let list: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        Some(Value::Array(_)) => return Err(unsupported("token-id embedding input").param("input")),
        _ => {
            return Err(
                V1Error::bad_request("input must be a string or an array of strings")
                    .param("input"),
            )
        }
    };
    if list.is_empty() || list.iter().any(String::is_empty) {
        return Err(V1Error::bad_request("input must not be empty").param("input"));
    }
    Ok(list)
}

pub fn to_gemini(body: &Value, model: &str) -> Result<BatchEmbedContentsRequest, V1Error> {
    let dims = body.get("dimensions").and_then(Value::as_u64);
    let requests = inputs(body)?
        .into_iter()
        .map(|text| EmbedContentRequest {
            model: format!("models/{model}"),
            content: Content {
                role: None,
                parts: vec![Part::text(text)],
            },
            output_dimensionality: dims,
        })
        .collect();
    Ok(BatchEmbedContentsRequest { requests })
}

/// Little-endian f32s in base64, as OpenAI sends for `encoding_format: "base64"` (the
/// default of the official Python SDK).
fn base64_floats(values: &[f64]) -> String {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|v| (*v as f32).to_le_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Converts the answer; `req` is the client's request (model, encoding, inputs for the
/// usage estimate when Gemini reports none), `prompt_tokens` an estimate already made.
pub fn to_openai(raw: &[u8], req: &Value, prompt_tokens: u64) -> Result<Parsed, String> {
    let r: BatchEmbedContentsResponse = serde_json::from_slice(raw)
        .map_err(|e| format!("upstream returned an unexpected body: {e}"))?;
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    let b64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = r
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let embedding = if b64 {
                json!(base64_floats(&e.values))
            } else {
                json!(e.values)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let reported = r
        .usage_metadata
        .as_ref()
        .and_then(|u| u.prompt_token_count)
        .filter(|n| *n > 0);
    let tokens = reported.unwrap_or_else(|| {
        if prompt_tokens > 0 {
            return prompt_tokens;
        }
        inputs(req).map_or(0, |list| list.iter().map(|t| count_tokens(model, t)).sum())
    });
    let usage = Usage::new(tokens, 0);
    let body = json!({"object": "list", "data": data, "model": model,
                      "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Ok(Parsed {
        body: Bytes::from(body.to_string()),
        usage: Some(usage),
        completion_text: String::new(),
    })
}
