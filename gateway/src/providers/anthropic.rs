//! Anthropic Messages API (channel type 14): OpenAI requests are converted to
//! `POST {base}/v1/messages`, answers and streams converted back.

pub(crate) mod openai_shape;
mod request;
mod response;
mod stream;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
pub(crate) mod thinking;
#[cfg(test)]
mod thinking_tests;

use super::{Endpoint, Target};
use crate::upstream::names;
use crate::upstream::UpstreamRequest;
use crate::v1_core::error::V1Error;
use actix_web::http::Method;
use bytes::Bytes;
use serde_json::Value;
use shared::anthropic::{ErrorBody, API_VERSION};

pub use request::to_anthropic;
pub use response::{finish_reason, parse};
pub use stream::AnthropicStream;
pub use thinking::DEFAULT_MAX_TOKENS;

/// Builds the upstream call from the client's OpenAI-format body.
pub fn build(
    t: &Target<'_>,
    ep: Endpoint,
    body: &Value,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    let req = to_anthropic(body, ep, t.upstream_model, stream)?;
    let bytes = serde_json::to_vec(&req).map_err(|_| V1Error::internal())?;
    Ok(messages_request(t, Bytes::from(bytes), stream))
}

/// For `/v1/messages` clients on an Anthropic channel: the client's own bytes go upstream
/// unchanged (key order, unknown fields and all) except for the mapped model name, with
/// the client's `anthropic-beta` flags.
pub fn build_native(
    t: &Target<'_>,
    raw: &Bytes,
    client_model: &str,
    beta: Option<&str>,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    let body = if t.upstream_model == client_model {
        raw.clone()
    } else {
        let model = serde_json::to_vec(t.upstream_model).map_err(|_| V1Error::internal())?;
        shared::json_splice::set_field(raw, "model", &model)
            .map(Bytes::from)
            .ok_or_else(|| V1Error::bad_request("request body must be a JSON object"))?
    };
    let mut req = messages_request(t, body, stream);
    req.headers
        .extend(beta.map(|b| (names::ANTHROPIC_BETA, b.to_string().into())));
    Ok(req)
}

fn messages_request(t: &Target<'_>, body: Bytes, stream: bool) -> UpstreamRequest {
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    UpstreamRequest {
        method: Method::POST,
        url: format!("{}/v1/messages", t.channel.base_url.trim_end_matches('/')),
        headers: vec![
            (names::X_API_KEY, t.key.to_string().into()),
            (names::ANTHROPIC_VERSION, API_VERSION.into()),
            (names::CONTENT_TYPE, "application/json".into()),
            (names::ACCEPT, accept.into()),
        ],
        body,
    }
}

/// The message of an Anthropic error body (`{"type":"error","error":{…}}`), falling back
/// to the generic reader for proxies that answer in other shapes.
pub fn error_message(raw: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(raw) {
        Ok(b) if !b.error.message.is_empty() => b.error.message,
        _ => super::openai::error_message(raw),
    }
}
