//! Gemini `embedContent` / `batchEmbedContents` ⇄ OpenAI embeddings.

use super::{bad, Method};
use crate::v1_core::error::V1Error;
use serde_json::{json, Value};

/// The text of one `EmbedContentRequest`'s content (text parts joined).
fn text_of(request: &Value) -> Result<String, V1Error> {
    let parts = request
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("content.parts must be an array"))?;
    let texts: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    let text = texts.join("\n");
    if text.is_empty() {
        return Err(bad("content must hold text to embed"));
    }
    Ok(text)
}

pub fn to_openai(body: &Value, model: &str, method: Method) -> Result<Value, V1Error> {
    let (input, dims) = if method == Method::BatchEmbed {
        let requests = body
            .get("requests")
            .and_then(Value::as_array)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| bad("requests must be a non-empty array"))?;
        let texts = requests
            .iter()
            .map(text_of)
            .collect::<Result<Vec<_>, _>>()?;
        let dims = requests[0].get("outputDimensionality").cloned();
        (json!(texts), dims)
    } else {
        (
            json!(text_of(body)?),
            body.get("outputDimensionality").cloned(),
        )
    };
    let mut out = json!({"model": model, "input": input});
    if let Some(d) = dims.filter(Value::is_u64) {
        out["dimensions"] = d;
    }
    Ok(out)
}

/// The OpenAI answer (float embeddings) in Gemini's shape.
pub fn from_openai(v: &Value, method: Method) -> Value {
    let values: Vec<Value> = v
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| json!({"values": d.get("embedding").cloned().unwrap_or(json!([]))}))
        .collect();
    match method {
        Method::BatchEmbed => json!({"embeddings": values}),
        _ => json!({"embedding": values.into_iter().next().unwrap_or(json!({"values": []}))}),
    }
}
