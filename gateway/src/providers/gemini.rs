//! Google Gemini (channel type 24): OpenAI requests are converted to
//! `{base}/v1beta/models/{model}:generateContent` (`:streamGenerateContent?alt=sse` for
//! streams, `:batchEmbedContents` for embeddings), answers and streams converted back.
//!
//! Remote (http/https) image URLs are never fetched here: the caller fetches the URLs
//! [`remote_image_urls`] lists through its guarded client and passes the results to
//! [`build_with_images`].

mod embeddings;
mod request;
mod response;
mod schema;
mod stream;
#[cfg(test)]
mod tests;
mod thinking;

use super::anthropic::openai_shape::image_url_of;
use super::{Endpoint, Parsed, Target};
use crate::upstream::names;
use crate::upstream::UpstreamRequest;
use crate::v1_core::error::V1Error;
use actix_web::http::Method;
use bytes::Bytes;
use serde_json::Value;
use shared::gemini::ErrorBody;
use std::collections::HashMap;

pub use request::to_gemini;
pub use response::finish_reason;
pub use schema::clean as clean_schema;
pub use stream::GeminiStream;

/// Fetched remote images by URL: (mime type, base64 data).
pub type Images = HashMap<String, (String, String)>;

/// Every distinct http(s) image URL in the chat messages, in order of appearance.
pub fn remote_image_urls(body: &Value) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let messages = body.get("messages").and_then(Value::as_array);
    for m in messages.into_iter().flatten() {
        for part in m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if part.get("type").and_then(Value::as_str) != Some("image_url") {
                continue;
            }
            let Some(url) = image_url_of(part) else {
                continue;
            };
            let remote = url.starts_with("https://") || url.starts_with("http://");
            if remote && !urls.iter().any(|u| u == url) {
                urls.push(url.to_string());
            }
        }
    }
    urls
}

/// [`build_with_images`] with no fetched images (remote image URLs are then a 400).
pub fn build(
    t: &Target<'_>,
    ep: Endpoint,
    body: &Value,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    build_with_images(t, ep, body, stream, &Images::new())
}

pub fn build_with_images(
    t: &Target<'_>,
    ep: Endpoint,
    body: &Value,
    stream: bool,
    images: &Images,
) -> Result<UpstreamRequest, V1Error> {
    let model = t.upstream_model.trim_start_matches("models/");
    let segment: String = url::form_urlencoded::byte_serialize(model.as_bytes()).collect();
    let version = match t.channel.api_version.as_str() {
        "" => "v1beta",
        v => v,
    };
    let base = format!(
        "{}/{version}/models/{segment}",
        t.channel.base_url.trim_end_matches('/')
    );
    let (url, json) = match ep {
        Endpoint::Embeddings => (
            format!("{base}:batchEmbedContents"),
            serde_json::to_vec(&embeddings::to_gemini(body, model)?),
        ),
        _ => {
            let req = to_gemini(body, ep, model, images)?;
            let url = if stream {
                format!("{base}:streamGenerateContent?alt=sse")
            } else {
                format!("{base}:generateContent")
            };
            (url, serde_json::to_vec(&req))
        }
    };
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    Ok(UpstreamRequest {
        method: Method::POST,
        url,
        headers: vec![
            (names::X_GOOG_API_KEY, t.key.to_string().into()),
            (names::CONTENT_TYPE, "application/json".into()),
            (names::ACCEPT, accept.into()),
        ],
        body: Bytes::from(json.map_err(|_| V1Error::internal())?),
    })
}

/// [`parse_with`] without the client's request: the model shown is Gemini's own, and
/// embeddings come back as float arrays with usage only if Gemini reported it.
pub fn parse(ep: Endpoint, raw: Bytes) -> Result<Parsed, String> {
    parse_with(ep, raw, &Value::Null, 0)
}

/// Converts a non-streaming answer. `req` is the client's OpenAI body (its `model` is
/// echoed, its `encoding_format` honoured, its inputs counted when Gemini reports no
/// embedding usage); `prompt_tokens` is the gateway's estimate, used first when non-zero.
pub fn parse_with(
    ep: Endpoint,
    raw: Bytes,
    req: &Value,
    prompt_tokens: u64,
) -> Result<Parsed, String> {
    match ep {
        Endpoint::Embeddings => embeddings::to_openai(&raw, req, prompt_tokens),
        _ => {
            let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
            response::parse_chat(ep, &raw, model)
        }
    }
}

/// The message of a Google error body (also the array form some endpoints send).
pub fn error_message(raw: &[u8]) -> String {
    // Serde would read a one-element array as the struct itself, so unwrap it first.
    let one = serde_json::from_slice::<Value>(raw).ok().and_then(|v| {
        let v = match v {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            v => v,
        };
        serde_json::from_value::<ErrorBody>(v).ok()
    });
    match one {
        Some(b) if !b.error.message.is_empty() => b.error.message,
        _ => super::openai::error_message(raw),
    }
}
