//! Gemini's native API for Gemini-format clients (Gemini CLI, the google-genai SDKs):
//! `models/{model}:generateContent`, `:streamGenerateContent`, `:embedContent`,
//! `:batchEmbedContents` (`:countTokens` is answered locally by the route).
//!
//! Like `/v1/messages`, the request is converted to the OpenAI chat (or embeddings)
//! request the gateway routes with, so any channel can serve it, and the answer or
//! stream is converted back. On Gemini channels the client's own body passes through
//! instead ([`passthrough`]), with only the model and the key changed.

mod embed;
mod framing;
pub mod models;
mod passthrough;
mod request;
mod response;
mod schema;
mod stream;
#[cfg(test)]
mod tests;

use super::{Endpoint, Provider, StreamAdapter};
use crate::v1_core::error::{Dialect, V1Error};
use crate::v1_core::prompt::Prompt;
use actix_web::HttpRequest;
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;

pub use framing::Framing;
pub use passthrough::{build_native, parse_native, GeminiPassthrough};
pub use request::{dropped, to_openai};
pub use response::from_openai_response;
pub use stream::OpenAiToGeminiStream;

/// The operation after the `:` of `models/{model}:{method}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Generate,
    Stream,
    CountTokens,
    Embed,
    BatchEmbed,
}

impl Method {
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "generateContent" => Method::Generate,
            "streamGenerateContent" => Method::Stream,
            "countTokens" => Method::CountTokens,
            "embedContent" => Method::Embed,
            "batchEmbedContents" => Method::BatchEmbed,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Generate => "generateContent",
            Method::Stream => "streamGenerateContent",
            Method::CountTokens => "countTokens",
            Method::Embed => "embedContent",
            Method::BatchEmbed => "batchEmbedContents",
        }
    }

    /// The OpenAI operation the gateway routes this as.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Method::Embed | Method::BatchEmbed => Endpoint::Embeddings,
            _ => Endpoint::Chat,
        }
    }
}

/// One Gemini-native call as the client made it.
#[derive(Debug, Clone)]
pub struct GeminiCall {
    /// The model named in the URL (without `models/`).
    pub model: String,
    pub method: Method,
    /// The client's stream framing (`alt=sse`, or a JSON array without it).
    pub framing: Framing,
    /// The client's body, parsed.
    pub native: Value,
    /// The client's body as sent, forwarded unchanged to Gemini channels when possible.
    pub raw: Bytes,
}

pub(crate) fn bad(message: impl Into<String>) -> V1Error {
    V1Error::bad_request(message).dialect(Dialect::Gemini)
}

/// Splits the path tail `{model}:{method}` (the model may itself contain `:`, so the
/// last one counts).
pub fn split_target(tail: &str) -> Option<(String, Method)> {
    let tail = tail.trim_start_matches("models/");
    let (model, method) = tail.rsplit_once(':')?;
    let method = Method::parse(method)?;
    let model = model.trim();
    if model.is_empty() || model.len() > 256 || model.contains('/') {
        return None;
    }
    Some((model.to_string(), method))
}

/// Whether the client asked for `alt=sse`.
pub fn wants_sse(req: &HttpRequest) -> bool {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, v)| k == "alt" && v.eq_ignore_ascii_case("sse"))
}

/// Reads the client's native body (model and method from the URL): the call, kept for
/// pass-through, and the OpenAI-format request it converts to.
pub fn read_call(req: &HttpRequest, raw: &Bytes) -> Result<(GeminiCall, Value), V1Error> {
    let tail = req.match_info().get("tail").unwrap_or_default();
    let (model, method) = split_target(tail)
        .ok_or_else(|| bad(format!("unknown model method in '{}'", req.path())))?;
    let native: Value = serde_json::from_slice(raw)
        .map_err(|e| bad(format!("request body is not valid JSON: {e}")))?;
    if !native.is_object() {
        return Err(bad("request body must be a JSON object"));
    }
    let openai = match method {
        Method::Generate | Method::Stream | Method::CountTokens => {
            request::to_openai(&native, &model, method == Method::Stream)?
        }
        Method::Embed | Method::BatchEmbed => embed::to_openai(&native, &model, method)?,
    };
    let call = GeminiCall {
        model,
        method,
        framing: Framing::new(wants_sse(req)),
        native,
        raw: raw.clone(),
    };
    Ok((call, openai))
}

/// The adapter for a Gemini client's stream: the upstream's own events on Gemini
/// channels, converted OpenAI chunks otherwise.
pub fn stream_adapter(
    call: &GeminiCall,
    provider: Provider,
    ep: Endpoint,
    model: &str,
    passthrough: bool,
    prompt: Arc<Prompt>,
) -> Box<dyn StreamAdapter> {
    if passthrough {
        return Box::new(GeminiPassthrough::new(model, call.framing.clone()));
    }
    let inner = provider.stream_adapter(ep, model, true);
    Box::new(OpenAiToGeminiStream::new(inner, model, call.framing.clone()).with_prompt(prompt))
}

/// The answer body for a Gemini client from the OpenAI-format answer of a converting
/// channel.
pub fn answer_body(call: &GeminiCall, openai: &[u8], model: &str) -> Bytes {
    let v: Value = serde_json::from_slice(openai).unwrap_or_default();
    let out = match call.method {
        Method::Embed | Method::BatchEmbed => embed::from_openai(&v, call.method),
        _ => from_openai_response(&v, model),
    };
    Bytes::from(out.to_string())
}

/// The OpenAI-format request a `:countTokens` body stands for, which the route's local
/// estimate counts the way billing counts a prompt.
pub fn count_tokens_request(tail: &str, raw: &[u8]) -> Result<Value, V1Error> {
    let (model, _) = split_target(tail).ok_or_else(|| bad("unknown model method"))?;
    let native: Value = serde_json::from_slice(raw)
        .map_err(|e| bad(format!("request body is not valid JSON: {e}")))?;
    // The SDKs send either the contents or a whole `generateContentRequest`.
    let body = native
        .get("generateContentRequest")
        .filter(|v| v.is_object())
        .unwrap_or(&native);
    if body.get("contents").and_then(Value::as_array).is_none() {
        return Err(bad("contents must be an array"));
    }
    request::to_openai(body, &model, false)
}
