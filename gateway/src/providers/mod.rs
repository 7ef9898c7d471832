//! One module per provider; `Provider` dispatches to them exhaustively.

pub mod anthropic;
pub mod anthropic_inbound;
pub mod azure;
pub mod converted_stream;
pub mod gemini;
pub mod gemini_inbound;
pub mod openai;
pub mod output_limit;
pub mod reasoning;
pub mod responses_inbound;
pub mod unread_text;

use crate::store::{Channel, ChannelType};
use crate::upstream::UpstreamRequest;
use crate::v1_core::error::V1Error;
use crate::v1_core::prompt::Prompt;
use bytes::Bytes;
use serde_json::Value;
use shared::openai::Usage;
use shared::sse::SseEvent;

/// The OpenAI-style operation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Completions,
    Embeddings,
}

impl Endpoint {
    pub fn openai_path(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat/completions",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
        }
    }
}

/// Where and as whom to call: the channel, its decrypted key, the upstream model name.
pub struct Target<'a> {
    pub channel: &'a Channel,
    pub key: &'a str,
    pub upstream_model: &'a str,
}

/// A non-streaming answer converted to what the client expects.
pub struct Parsed {
    pub body: Bytes,
    pub usage: Option<Usage>,
    /// Generated text, for estimating usage when the upstream reports none.
    pub completion_text: String,
}

/// Converts a provider's stream, one event at a time, into the client's format.
pub trait StreamAdapter {
    /// Appends the encoded client events produced by one upstream event.
    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>);
    /// Takes a whole upstream chunk that goes to the client exactly as it came, without
    /// decoding it: says whether it did. Only a chunk of complete events the adapter would
    /// have passed on unchanged qualifies; on `false` nothing was taken and the chunk goes
    /// through `on_event`. The caller checks the decoder holds no partial event.
    fn take_verbatim(&mut self, _chunk: &[u8]) -> bool {
        false
    }
    /// Usage the upstream reported so far.
    fn usage(&self) -> Option<Usage>;
    /// Tokens of generated text seen so far (the estimate when no usage arrives).
    fn generated_tokens(&self) -> u64;
    /// Whether the upstream signalled the end of the stream.
    fn is_done(&self) -> bool;
    /// Appends whatever closes the stream for the client (e.g. `data: [DONE]`).
    fn finish(&mut self, out: &mut Vec<Bytes>);
    /// An error event in the client's format, for failures after the first byte.
    fn error_event(&self, message: &str) -> Bytes;
    /// The upstream's own error, when it ended the stream with one (for the log).
    fn failure(&self) -> Option<String> {
        None
    }
    /// Whether the upstream closing the connection now is a normal end (providers
    /// without an end marker, such as Gemini).
    fn completes_at_eof(&self) -> bool {
        false
    }
    /// The response's content type (Gemini's JSON-array streams are not SSE).
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }
    /// What goes out while the upstream is silent.
    fn keep_alive(&self) -> Bytes {
        Bytes::from_static(shared::sse::KEEP_ALIVE)
    }
}

/// A client's body exactly as it arrived, with the model it names.
#[derive(Clone, Copy)]
pub struct NativeBody<'a> {
    pub raw: &'a Bytes,
    pub model: &'a str,
}

/// Everything a provider may build its request from.
pub struct Outbound<'a> {
    /// The request in OpenAI's format.
    pub openai: &'a Value,
    /// An OpenAI client's own bytes, passed through to OpenAI-shaped channels.
    pub openai_native: Option<NativeBody<'a>>,
    /// The client's own `/v1/messages` bytes when they pass through to an Anthropic
    /// channel.
    pub anthropic_native: Option<NativeBody<'a>>,
    /// Client headers that go upstream: W3C trace context always, the dialect's own
    /// (`anthropic-version`, `OpenAI-Beta`) when the body passes through.
    pub forward_headers: &'a [(&'static str, String)],
    /// That client's `anthropic-beta` header (Claude Code's body fields depend on it),
    /// sent along when the body passes through to an Anthropic channel.
    pub anthropic_beta: Option<&'a str>,
    /// The client's Gemini-native call (passed through as is to Gemini channels).
    pub gemini_native: Option<&'a gemini_inbound::GeminiCall>,
    /// Remote images fetched through the guard, for providers that need them inline.
    pub images: &'a gemini::Images,
    /// The client's Responses call, set only when this channel serves `/v1/responses`
    /// (the call then passes through).
    pub responses: Option<&'a responses_inbound::Inbound>,
    /// The output limit for this attempt (`None`: the body goes as built).
    pub output_limit: Option<output_limit::OutputLimit>,
}

impl Outbound<'_> {
    fn openai_body(&self) -> openai::Body<'_> {
        match self.openai_native {
            Some(native) => openai::Body::Native(native, self.openai),
            None => openai::Body::Converted(self.openai),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Azure,
    Custom,
    Anthropic,
    Gemini,
}

impl Provider {
    /// The provider that speaks a channel type's API.
    pub fn of(t: ChannelType) -> Provider {
        match t {
            ChannelType::OpenAi => Provider::OpenAi,
            ChannelType::AzureOpenAi => Provider::Azure,
            ChannelType::OpenAiCompatible => Provider::Custom,
            ChannelType::Anthropic => Provider::Anthropic,
            ChannelType::Gemini => Provider::Gemini,
        }
    }

    pub fn for_channel(c: &Channel) -> Provider {
        Provider::of(c.channel_type)
    }

    /// The upstream request, with the client's headers that go along (see
    /// [`Outbound::forward_headers`]) in place of the provider's own of the same name.
    pub fn build(
        &self,
        t: &Target<'_>,
        ep: Endpoint,
        out: &Outbound<'_>,
        stream: bool,
    ) -> Result<UpstreamRequest, V1Error> {
        let mut req = self.build_body(t, ep, out, stream)?;
        if let Some(limit) = out.output_limit {
            let generates = out.gemini_native.is_none_or(|c| {
                matches!(
                    c.method,
                    gemini_inbound::Method::Generate | gemini_inbound::Method::Stream
                )
            });
            let kind = output_limit::BodyKind::of(*self, ep, out.responses.is_some(), generates);
            if let Some(body) = output_limit::apply(kind, &req.body, limit) {
                req.body = body;
            }
        }
        for (name, value) in out.forward_headers {
            // Forwarded names are lowercase already (read through `HeaderName`s, or W3C's).
            let Ok(name) = actix_web::http::header::HeaderName::from_lowercase(name.as_bytes())
            else {
                continue;
            };
            req.headers.retain(|(n, _)| *n != name);
            req.headers.push((name, value.clone().into()));
        }
        Ok(req)
    }

    fn build_body(
        &self,
        t: &Target<'_>,
        ep: Endpoint,
        out: &Outbound<'_>,
        stream: bool,
    ) -> Result<UpstreamRequest, V1Error> {
        if let Some(call) = out.responses {
            return responses_inbound::build(*self, t, call, stream);
        }
        if let (Provider::Gemini, Some(call)) = (self, out.gemini_native) {
            return gemini_inbound::build_native(t, call, stream);
        }
        match (self, out.anthropic_native) {
            (Provider::OpenAi | Provider::Custom, _) => {
                openai::build(t, ep, out.openai_body(), stream)
            }
            (Provider::Azure, _) => azure::build(t, ep, out.openai_body(), stream),
            (Provider::Anthropic, Some(native)) => {
                anthropic::build_native(t, native.raw, native.model, out.anthropic_beta, stream)
            }
            (Provider::Anthropic, None) => anthropic::build(t, ep, out.openai, stream),
            (Provider::Gemini, _) => {
                gemini::build_with_images(t, ep, out.openai, stream, out.images)
            }
        }
    }

    /// Converts a non-streaming answer into OpenAI's format with its usage.
    pub fn parse(
        &self,
        ep: Endpoint,
        raw: Bytes,
        request: &Value,
        prompt: &Prompt,
    ) -> Result<Parsed, String> {
        match self {
            Provider::OpenAi | Provider::Custom | Provider::Azure => openai::parse(ep, raw),
            Provider::Anthropic => anthropic::parse(ep, raw),
            Provider::Gemini => gemini::parse_with(ep, raw, request, prompt.tokens()),
        }
    }

    /// The adapter turning this provider's stream into OpenAI chunks.
    pub fn stream_adapter(
        &self,
        ep: Endpoint,
        model: &str,
        client_wants_usage: bool,
    ) -> Box<dyn StreamAdapter> {
        match self {
            Provider::OpenAi | Provider::Custom | Provider::Azure => {
                Box::new(openai::OpenAiStream::new(ep, model, client_wants_usage))
            }
            Provider::Anthropic => Box::new(
                anthropic::AnthropicStream::new(model, client_wants_usage).with_endpoint(ep),
            ),
            Provider::Gemini => {
                Box::new(gemini::GeminiStream::new(model, client_wants_usage).with_endpoint(ep))
            }
        }
    }

    /// The upstream's error message, for relaying a non-retryable 4xx to the client.
    pub fn error_message(&self, raw: &[u8]) -> String {
        match self {
            Provider::OpenAi | Provider::Custom | Provider::Azure => openai::error_message(raw),
            Provider::Anthropic => anthropic::error_message(raw),
            Provider::Gemini => gemini::error_message(raw),
        }
    }

    /// The upstream error's `code` and `param`, when it gives them.
    pub fn error_code_and_param(&self, raw: &[u8]) -> (Option<String>, Option<String>) {
        match self {
            Provider::OpenAi | Provider::Custom | Provider::Azure => {
                openai::error_code_and_param(raw)
            }
            Provider::Anthropic | Provider::Gemini => (None, None),
        }
    }
}
