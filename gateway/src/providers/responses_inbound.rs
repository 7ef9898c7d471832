//! `POST /v1/responses` for clients of OpenAI's Responses API (Codex CLI, the openai
//! SDKs' `client.responses`, the OpenAI Agents SDK).
//!
//! On channels that serve the Responses API (OpenAI, Azure, and OpenAI-compatible
//! channels with `responses_api` on) the client's bytes pass through and the answer comes
//! back unchanged ([`ResponsesPassthrough`]). Elsewhere the request is converted to an
//! OpenAI chat request ([`to_openai`]) like any other, and the answer converted back
//! ([`from_openai_response`], [`ChatToResponsesStream`]). Converted responses are never
//! stored.

mod passthrough;
mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;
mod tools;

use crate::providers::{Parsed, Provider, StreamAdapter, Target};
use crate::store::responses::ResponseOwner;
use crate::store::{Channel, ChannelType, Store};
use crate::upstream::names;
use crate::upstream::{HeaderText, UpstreamRequest};
use crate::v1_core::error::{Dialect, V1Error};
use crate::v1_core::prompt::Prompt;
use actix_web::http::header::HeaderName;
use actix_web::http::Method;
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;

pub use passthrough::ResponsesPassthrough;
pub use request::{convert, to_openai};
pub use response::{from_openai_response, Shape, CONVERTED_ID_PREFIX};
pub use stream::ChatToResponsesStream;

/// Which Responses operation the client called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    /// `POST /v1/responses/compact` (Codex's remote compaction): pass-through only.
    Compact,
}

/// The client's own Responses call, kept next to its chat conversion.
#[derive(Debug)]
pub struct Inbound {
    pub native: Value,
    pub raw: Bytes,
    pub op: Op,
    /// What the conversion had to drop (used only when the channel converts).
    pub warnings: Vec<String>,
    /// Why the call cannot be converted to chat, if it cannot: it may still pass through
    /// (an upstream that serves the Responses API judges its own input).
    pub conversion_error: Option<V1Error>,
}

impl Inbound {
    /// Whether the upstream keeps the response (`store` defaults to true).
    pub fn stores(&self) -> bool {
        self.op == Op::Create && self.native.get("store") != Some(&Value::Bool(false))
    }

    pub fn previous_response_id(&self) -> Option<&str> {
        self.native
            .get("previous_response_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A 400 in the Responses API's shape.
pub fn bad(message: impl Into<String>) -> V1Error {
    V1Error::bad_request(message).dialect(Dialect::Responses)
}

/// Reads a `/v1/responses` (or `/compact`) body: the call, keeping the client's own body
/// for pass-through, and the chat request it converts to (or, when it cannot be
/// converted, one that prices and routes it).
pub fn read_call(raw: &Bytes, path: &str) -> Result<(Inbound, Value), V1Error> {
    let native: Value = serde_json::from_slice(raw)
        .map_err(|e| bad(format!("request body is not valid JSON: {e}")))?;
    let op = if path.trim_end_matches('/').ends_with("/compact") {
        Op::Compact
    } else {
        Op::Create
    };
    if op == Op::Compact && native.get("stream") == Some(&Value::Bool(true)) {
        return Err(bad("compaction cannot be streamed").param("stream"));
    }
    let (chat, warnings, conversion_error) = match convert(&native) {
        Ok(c) => (c.body, c.warnings, None),
        Err(e) if native.is_object() => (estimate_only(&native, raw), Vec::new(), Some(e)),
        Err(e) => return Err(e),
    };
    let call = Inbound {
        native,
        raw: raw.clone(),
        op,
        warnings,
        conversion_error,
    };
    Ok((call, chat))
}

/// A chat body standing in for a call that cannot be converted, so it can still be
/// priced (on its whole text) and routed to a channel that takes it as it is.
fn estimate_only(native: &Value, raw: &Bytes) -> Value {
    let mut chat = serde_json::json!({
        "messages": [{"role": "user", "content": String::from_utf8_lossy(raw)}],
    });
    if let Some(m) = native.get("model") {
        chat["model"] = m.clone();
    }
    if native.get("stream") == Some(&Value::Bool(true)) {
        chat["stream"] = Value::Bool(true);
    }
    if let Some(n) = native.get("max_output_tokens").and_then(Value::as_u64) {
        if n > 0 && n <= 10_000_000 {
            chat["max_tokens"] = n.into();
        }
    }
    chat
}

/// Whether the channel serves `/v1/responses` itself.
pub fn serves_responses(c: &Channel) -> bool {
    match c.channel_type {
        ChannelType::OpenAi | ChannelType::AzureOpenAi => true,
        ChannelType::OpenAiCompatible => c.responses_api,
        ChannelType::Anthropic | ChannelType::Gemini => false,
    }
}

/// The upstream URL for `suffix` (`""`, `/compact`, `/{id}`, …) on a serving channel.
pub fn upstream_url(c: &Channel, suffix: &str) -> String {
    if c.channel_type == ChannelType::AzureOpenAi {
        // Azure's v1 API takes the deployment as `model` and needs no api-version.
        format!("{}/openai/v1/responses{suffix}", c.base_url)
    } else {
        format!("{}/v1/responses{suffix}", c.base_url)
    }
}

/// The auth header for a serving channel.
pub fn auth_header(c: &Channel, key: &str) -> (HeaderName, HeaderText) {
    if c.channel_type == ChannelType::AzureOpenAi {
        (names::API_KEY, key.to_string().into())
    } else {
        (names::AUTHORIZATION, ["Bearer ", key].concat().into())
    }
}

/// The pass-through request: the client's bytes, re-serialised only when the model name
/// must change.
pub fn build(
    provider: Provider,
    t: &Target<'_>,
    call: &Inbound,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    let model = if provider == Provider::Azure {
        crate::providers::azure::deployment_name(t.upstream_model)
    } else {
        t.upstream_model.to_string()
    };
    let body = if call.native.get("model").and_then(Value::as_str) == Some(model.as_str()) {
        call.raw.clone()
    } else {
        let mut v = call.native.clone();
        v["model"] = Value::String(model);
        Bytes::from(serde_json::to_vec(&v).map_err(|_| V1Error::internal())?)
    };
    let suffix = match call.op {
        Op::Create => "",
        Op::Compact => "/compact",
    };
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    Ok(UpstreamRequest {
        method: Method::POST,
        url: upstream_url(t.channel, suffix),
        headers: vec![
            auth_header(t.channel, t.key),
            (names::CONTENT_TYPE, "application/json".into()),
            (names::ACCEPT, accept.into()),
        ],
        body,
    })
}

/// Notes which channel and user a stored response belongs to.
pub struct Recorder {
    store: Arc<dyn Store>,
    owner: ResponseOwner,
}

impl Recorder {
    /// A recorder when the call creates a stored response on this channel.
    pub fn for_call(
        store: &Arc<dyn Store>,
        call: &Inbound,
        channel: &Channel,
        user_id: i64,
    ) -> Option<Recorder> {
        call.stores().then(|| Recorder {
            store: store.clone(),
            owner: ResponseOwner {
                channel_id: channel.id,
                user_id,
            },
        })
    }

    pub async fn record(self, id: &str) {
        if let Err(e) = self.store.record_response(id, self.owner).await {
            log::error!("could not record the owner of response {id}: {e}");
        }
    }

    /// For the stream adapter, which cannot wait.
    pub fn record_later(self, id: String) {
        tokio::spawn(async move { self.record(&id).await });
    }
}

/// What the flow needs per attempt: whether this channel passes through.
pub fn passes_through<'a>(call: Option<&'a Inbound>, c: &Channel) -> Option<&'a Inbound> {
    call.filter(|_| serves_responses(c))
}

/// The stream adapter for a Responses client on this channel.
pub fn stream_adapter(
    call: &Inbound,
    pass: bool,
    inner: impl FnOnce() -> Box<dyn StreamAdapter>,
    model: &str,
    prompt: &Prompt,
    recorder: Option<Recorder>,
) -> Box<dyn StreamAdapter> {
    if pass {
        return Box::new(ResponsesPassthrough::new(model, recorder));
    }
    log_warnings(call);
    let shape = Shape::from_request(&call.native, model);
    Box::new(ChatToResponsesStream::new(inner(), shape).with_input_tokens(prompt.tokens()))
}

/// Reads a non-streaming pass-through answer (and records its id when stored).
pub async fn parse_passthrough(raw: Bytes, recorder: Option<Recorder>) -> Result<Parsed, String> {
    let (parsed, id) = passthrough::parse(raw)?;
    if let (Some(rec), Some(id)) = (recorder, id) {
        rec.record(&id).await;
    }
    Ok(parsed)
}

/// The client's body for a converted non-streaming answer.
pub fn converted_body(
    call: &Inbound,
    chat: &Bytes,
    model: &str,
    usage: &shared::openai::Usage,
) -> Bytes {
    log_warnings(call);
    let openai: Value = serde_json::from_slice(chat).unwrap_or_default();
    let shape = Shape::from_request(&call.native, model);
    Bytes::from(from_openai_response(&openai, &shape, usage).to_string())
}

fn log_warnings(call: &Inbound) {
    for w in &call.warnings {
        log::warn!("responses conversion: {w}");
    }
}
