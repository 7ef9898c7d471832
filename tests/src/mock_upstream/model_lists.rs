//! The Anthropic and Gemini model-list APIs (`GET /v1/models` with `anthropic-version`,
//! `GET /v1beta/models`), paged two models at a time so callers must follow cursors.
//! OpenAI's unpaged list lives in `openai.rs`.

use serde_json::{json, Value};

use super::reply::RecordedRequest;
use super::router::Rendered;

/// Models listed by Anthropic's `GET /v1/models`, newest first as Anthropic orders them.
pub const ANTHROPIC_MODELS: &[&str] = &["claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku"];

/// Models listed by Gemini's `GET /v1beta/models`: name and supported methods. `aqa`
/// cannot chat, so a caller keeping only chat/embedding models leaves it out.
pub const GEMINI_MODELS: &[(&str, &[&str])] = &[
    ("gemini-2.5-flash", &["generateContent", "countTokens"]),
    ("gemini-2.5-pro", &["generateContent"]),
    ("aqa", &["generateAnswer"]),
    ("text-embedding-004", &["embedContent"]),
];

const PAGE: usize = 2;

/// Whether a `GET …/models` is Anthropic's (it always carries `anthropic-version`).
pub(crate) fn is_anthropic_list(req: &RecordedRequest) -> bool {
    is_list(req) && req.header("anthropic-version").is_some()
}

/// Whether a `GET …/models` is Gemini's (`/v1beta/models`, or Google's key header).
pub(crate) fn is_gemini_list(req: &RecordedRequest) -> bool {
    is_list(req)
        && (req.path.starts_with("/v1beta/")
            || req.header("x-goog-api-key").is_some()
            || req.query_param("key").is_some())
}

fn is_list(req: &RecordedRequest) -> bool {
    req.method == "GET" && req.path.ends_with("/models")
}

/// The page after `after_id` (Anthropic's cursor is the last id of the previous page).
pub(crate) fn anthropic(req: &RecordedRequest) -> Rendered {
    let start = req
        .query_param("after_id")
        .and_then(|after| ANTHROPIC_MODELS.iter().position(|m| *m == after))
        .map_or(0, |i| i + 1);
    let page: Vec<&str> = ANTHROPIC_MODELS
        .iter()
        .skip(start)
        .take(PAGE)
        .copied()
        .collect();
    let data: Vec<Value> = page
        .iter()
        .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
        .collect();
    Rendered::Json(json!({
        "data": data,
        "has_more": start + page.len() < ANTHROPIC_MODELS.len(),
        "first_id": page.first(),
        "last_id": page.last(),
    }))
}

/// The page at `pageToken` (the mock's tokens are plain offsets).
pub(crate) fn gemini(req: &RecordedRequest) -> Rendered {
    let start: usize = req
        .query_param("pageToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let models: Vec<Value> = GEMINI_MODELS
        .iter()
        .skip(start)
        .take(PAGE)
        .map(|(name, methods)| {
            json!({"name": format!("models/{name}"), "displayName": name, "supportedGenerationMethods": methods})
        })
        .collect();
    let mut body = json!({ "models": models });
    if start + PAGE < GEMINI_MODELS.len() {
        body["nextPageToken"] = json!((start + PAGE).to_string());
    }
    Rendered::Json(body)
}
