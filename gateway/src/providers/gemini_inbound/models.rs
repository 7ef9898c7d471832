//! Model objects in Gemini's and Anthropic's shapes (OpenAI's lives with its route).

use serde_json::{json, Value};

/// Whether a model name looks like an embedding model (what it can be asked to do).
fn is_embedding(id: &str) -> bool {
    id.contains("embed")
}

/// A Gemini `Model`.
pub fn gemini_model(id: &str) -> Value {
    let methods: &[&str] = if is_embedding(id) {
        &["embedContent", "batchEmbedContents", "countTokens"]
    } else {
        &["generateContent", "streamGenerateContent", "countTokens"]
    };
    json!({
        "name": format!("models/{id}"),
        "baseModelId": id,
        "version": "001",
        "displayName": id,
        "description": format!("{id} through the gateway"),
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": methods,
    })
}

/// `ListModelsResponse`, one page of `page_size` from the `page_token` offset.
pub fn gemini_list(models: &[String], page_size: Option<usize>, page_token: Option<&str>) -> Value {
    let start = page_token
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0)
        .min(models.len());
    let size = page_size.filter(|n| *n > 0).unwrap_or(1000).min(1000);
    let end = start.saturating_add(size).min(models.len());
    let page: Vec<Value> = models[start..end].iter().map(|m| gemini_model(m)).collect();
    let mut out = json!({ "models": page });
    if end < models.len() {
        out["nextPageToken"] = json!(end.to_string());
    }
    out
}

/// An Anthropic `ModelInfo`.
pub fn anthropic_model(id: &str) -> Value {
    json!({"type": "model", "id": id, "display_name": id,
           "created_at": "1970-01-01T00:00:00Z"})
}

/// Anthropic's model list (one page holding everything).
pub fn anthropic_list(models: &[String]) -> Value {
    let data: Vec<Value> = models.iter().map(|m| anthropic_model(m)).collect();
    json!({"data": data, "has_more": false,
           "first_id": models.first(), "last_id": models.last()})
}
