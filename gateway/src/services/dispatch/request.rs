//! What the gateway needs to know about a client's OpenAI-format body, read once.

use super::body_read::OpenAiRead;
use crate::providers::Endpoint;
use crate::v1_core::error::V1Error;
use crate::v1_core::prompt::Prompt;
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// Completion tokens reserved when the client sets no `max_tokens`.
pub const DEFAULT_COMPLETION_RESERVE: u64 = 512;
const MAX_N: u64 = 128;

/// Turns a client's own body into the OpenAI format, when a channel needs it converted.
pub type Converter = fn(&Value) -> Result<Value, V1Error>;

pub struct ClientRequest {
    /// The body in OpenAI's format: the client's own for OpenAI clients, else converted
    /// from `native` the first time a channel needs it (never for pass-through).
    openai: OnceLock<Result<Value, V1Error>>,
    convert: Option<Converter>,
    /// The client's own `/v1/messages` body, parsed (for conversion) and as it arrived
    /// (passed through to Anthropic channels byte for byte).
    pub native: Option<Value>,
    pub raw: bytes::Bytes,
    /// `raw` is an OpenAI client's own body (passed through to OpenAI-shaped channels).
    pub openai_native: bool,
    /// The `/v1/messages` client's `anthropic-beta` header, for Anthropic channels.
    pub anthropic_beta: Option<String>,
    /// The client's Gemini-native call, for passing through to Gemini channels and
    /// answering in Gemini's shape.
    pub gemini: Option<crate::providers::gemini_inbound::GeminiCall>,
    /// The client's own `/v1/responses` call, when it used the Responses API.
    pub responses: Option<Arc<crate::providers::responses_inbound::Inbound>>,
    pub model: String,
    pub stream: bool,
    pub wants_usage: bool,
    pub prompt: Arc<Prompt>,
    pub completion_reserve: u64,
    /// The client's own output limit per answer (`max_tokens` and its renamings), if any.
    pub output_limit: Option<u64>,
    /// Answers asked for (`n`), each up to the output limit.
    pub choices: u64,
    /// The output the reservation paid for, once reserved.
    pub output: Option<super::output_cap::OutputPlan>,
}

/// What every dialect's reader decides first.
struct Basics {
    model: String,
    stream: bool,
    wants_usage: bool,
}

impl ClientRequest {
    /// A request as read, with nothing dialect-specific yet (each reader adds its body).
    fn new(basics: Basics, prompt: Arc<Prompt>, output: &OutputRequest) -> Self {
        ClientRequest {
            openai: OnceLock::new(),
            convert: None,
            native: None,
            raw: bytes::Bytes::new(),
            openai_native: false,
            anthropic_beta: None,
            gemini: None,
            responses: None,
            model: basics.model,
            stream: basics.stream,
            wants_usage: basics.wants_usage,
            prompt,
            completion_reserve: output.reserve(),
            output_limit: output.limit,
            choices: output.choices,
            output: None,
        }
    }

    /// The body in OpenAI's format; a body that cannot be converted gives the client's
    /// error (in its dialect) here, only for channels that need the conversion.
    pub fn openai(&self) -> Result<&Value, V1Error> {
        self.openai
            .get_or_init(|| match (&self.native, self.convert) {
                (Some(native), Some(convert)) => convert(native),
                // An OpenAI client's body, parsed only now that a channel converts it.
                _ if self.openai_native => serde_json::from_slice(&self.raw).map_err(|e| {
                    V1Error::bad_request(format!("request body is not valid JSON: {e}"))
                }),
                _ => Err(V1Error::internal()),
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// What routing needs from a `/v1/messages` body, read tolerantly: the model, the stream
/// flag, the output limit and the prompt's size. Nothing else is interpreted, so content
/// and tool types the gateway does not know never stop a pass-through.
pub fn from_anthropic(
    raw: bytes::Bytes,
    native: Value,
    convert: Converter,
) -> Result<ClientRequest, V1Error> {
    let obj = native
        .as_object()
        .ok_or_else(|| V1Error::bad_request("request body must be a JSON object"))?;
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() && m.len() <= 256 => m.clone(),
        Some(Value::String(_)) | None => {
            return Err(V1Error::bad_request("model: field required").param("model"))
        }
        Some(_) => return Err(V1Error::bad_request("model: must be a string").param("model")),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(V1Error::bad_request("stream: must be a boolean").param("stream")),
    };
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| V1Error::bad_request("messages: field required").param("messages"))?;
    let mut text = String::new();
    for key in ["system", "messages", "tools"] {
        if let Some(v) = obj.get(key) {
            collect_text(v, &mut text);
        }
    }
    let prompt = Arc::new(Prompt::new(&model, text, 3 * messages.len() as u64 + 3));
    let output = Fields::of(obj).output(Endpoint::Chat)?;
    let basics = Basics {
        model,
        stream,
        wants_usage: false,
    };
    let mut cr = ClientRequest::new(basics, prompt, &output);
    cr.convert = Some(convert);
    cr.native = Some(native);
    cr.raw = raw;
    Ok(cr)
}

/// An OpenAI client's body: read once for what routing needs (no tree of it is built
/// unless a channel needs it converted), and kept as it arrived for pass-through.
pub fn parse(ep: Endpoint, raw: bytes::Bytes) -> Result<ClientRequest, V1Error> {
    let start = raw.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| raw[i] != b'{') {
        return Err(V1Error::bad_request("request body must be a JSON object"));
    }
    // UTF-8 checked once over the whole body: reading from a `str`, serde does not check
    // every string again (which cost more than this pass).
    let text = std::str::from_utf8(&raw).map_err(|e| {
        V1Error::bad_request(format!("request body is not valid JSON: not UTF-8 ({e})"))
    })?;
    let mut read = OpenAiRead::default();
    read.read_str(text)
        .map_err(|e| V1Error::bad_request(format!("request body is not valid JSON: {e}")))?;
    let mut cr = from_read(ep, &mut read)?;
    cr.raw = raw;
    cr.openai_native = true;
    Ok(cr)
}

/// Reads an already-parsed OpenAI-format body (a converted dialect's) the same way.
pub fn from_value(ep: Endpoint, body: Value) -> Result<ClientRequest, V1Error> {
    if !body.is_object() {
        return Err(V1Error::bad_request("request body must be a JSON object"));
    }
    let mut read = OpenAiRead::deserialize(&body)
        .map_err(|e| V1Error::bad_request(format!("request body cannot be read: {e}")))?;
    let mut cr = from_read(ep, &mut read)?;
    cr.openai = OnceLock::from(Ok(body));
    Ok(cr)
}

/// Checks what routing reads and works out the prompt and the output asked for.
fn from_read(ep: Endpoint, read: &mut OpenAiRead) -> Result<ClientRequest, V1Error> {
    let fields = Fields {
        model: read.model.as_ref(),
        stream: read.stream.as_ref(),
        stream_options: read.stream_options.as_ref(),
        max_completion_tokens: read.max_completion_tokens.as_ref(),
        max_tokens: read.max_tokens.as_ref(),
        n: read.n.as_ref(),
    };
    let basics = fields.basics(ep)?;
    let (text, overhead) = match ep {
        Endpoint::Chat => {
            let messages = read
                .messages
                .as_ref()
                .filter(|m| m.count > 0)
                .ok_or_else(|| {
                    V1Error::bad_request("messages must be a non-empty array").param("messages")
                })?;
            if !messages.all_objects {
                return Err(
                    V1Error::bad_request("each message must be an object").param("messages")
                );
            }
            let mut text = std::mem::take(&mut read.messages_text);
            if let Some(tools) = &read.tools {
                text.push_str(&tools.to_string());
            }
            (text, 3 * messages.count as u64 + 3)
        }
        Endpoint::Completions if !read.has_prompt => {
            return Err(V1Error::bad_request("prompt is required").param("prompt"))
        }
        Endpoint::Completions => (std::mem::take(&mut read.prompt_text), 0),
        Endpoint::Embeddings if !read.has_input => {
            return Err(V1Error::bad_request("input is required").param("input"))
        }
        Endpoint::Embeddings => (std::mem::take(&mut read.input_text), 0),
    };
    let prompt = Arc::new(Prompt::new(&basics.model, text, overhead));
    let output = fields.output(ep)?;
    Ok(ClientRequest::new(basics, prompt, &output))
}

/// The top-level fields both readers validate the same way.
struct Fields<'a> {
    model: Option<&'a Value>,
    stream: Option<&'a Value>,
    stream_options: Option<&'a Value>,
    max_completion_tokens: Option<&'a Value>,
    max_tokens: Option<&'a Value>,
    n: Option<&'a Value>,
}

impl<'a> Fields<'a> {
    fn of(obj: &'a serde_json::Map<String, Value>) -> Self {
        Fields {
            model: obj.get("model"),
            stream: obj.get("stream"),
            stream_options: obj.get("stream_options"),
            max_completion_tokens: obj.get("max_completion_tokens"),
            max_tokens: obj.get("max_tokens"),
            n: obj.get("n"),
        }
    }

    /// The model, the stream flag and whether the client asked for usage on its stream.
    fn basics(&self, ep: Endpoint) -> Result<Basics, V1Error> {
        let model = match self.model {
            Some(Value::String(m)) if !m.trim().is_empty() && m.len() <= 256 => m.clone(),
            Some(Value::String(_)) | None => {
                return Err(V1Error::bad_request("model is required").param("model"))
            }
            Some(_) => return Err(V1Error::bad_request("model must be a string").param("model")),
        };
        let stream = match self.stream {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(V1Error::bad_request("stream must be a boolean").param("stream")),
        };
        if stream && ep == Endpoint::Embeddings {
            return Err(V1Error::bad_request("embeddings cannot be streamed").param("stream"));
        }
        let wants_usage = self
            .stream_options
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Basics {
            model,
            stream,
            wants_usage,
        })
    }

    fn output(&self, ep: Endpoint) -> Result<OutputRequest, V1Error> {
        if ep == Endpoint::Embeddings {
            return Ok(OutputRequest {
                limit: None,
                choices: 0,
            });
        }
        output_request(
            &[
                ("max_completion_tokens", self.max_completion_tokens),
                ("max_tokens", self.max_tokens),
            ],
            self.n,
        )
    }
}

/// The output a client asked for: a limit per answer (if any) and how many answers.
struct OutputRequest {
    limit: Option<u64>,
    choices: u64,
}

impl OutputRequest {
    /// Completion tokens the rate limits count in advance (0 for embeddings).
    fn reserve(&self) -> u64 {
        self.limit
            .unwrap_or(DEFAULT_COMPLETION_RESERVE)
            .saturating_mul(self.choices)
    }
}

/// The output limit (the first of `limits` set) and the number of answers (`n`).
fn output_request(
    limits: &[(&str, Option<&Value>)],
    n: Option<&Value>,
) -> Result<OutputRequest, V1Error> {
    let mut max = None;
    for &(key, value) in limits {
        match value {
            None | Some(Value::Null) => {}
            Some(v) => {
                let n = v
                    .as_u64()
                    .filter(|n| *n > 0 && *n <= 10_000_000)
                    .ok_or_else(|| {
                        V1Error::bad_request(format!("{key} must be a positive integer")).param(key)
                    })?;
                max = Some(n);
                break;
            }
        }
    }
    let n = match n {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_N).contains(n))
            .ok_or_else(|| V1Error::bad_request("n must be an integer from 1 to 128").param("n"))?,
    };
    Ok(OutputRequest {
        limit: max,
        choices: n,
    })
}

/// Every string inside a value (message contents, prompt arrays, embedding inputs).
/// Token-id arrays are counted as one token per number.
pub(super) fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(map) => {
            for (k, val) in map {
                // Image payloads are priced by the provider, not by their base64 length.
                if k == "image_url" || k == "input_audio" {
                    out.push_str("image ");
                    continue;
                }
                collect_text(val, out);
            }
        }
        Value::Number(_) => out.push_str(" 0"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_requires_model_and_messages() {
        assert!(parse(
            Endpoint::Chat,
            bytes::Bytes::from_static(br#"{"messages":[{"role":"user","content":"hi"}]}"#)
        )
        .is_err());
        assert!(parse(
            Endpoint::Chat,
            bytes::Bytes::from_static(br#"{"model":"m"}"#)
        )
        .is_err());
        assert!(parse(
            Endpoint::Chat,
            bytes::Bytes::from_static(br#"{"model":"m","messages":[],"stream":true}"#)
        )
        .is_err());
        assert!(parse(
            Endpoint::Chat,
            bytes::Bytes::from_static(
                br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#
            )
        )
        .is_err());
        let r = parse(Endpoint::Chat, bytes::Bytes::from_static(br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":7,"n":2}"#))
        .unwrap();
        assert_eq!(r.completion_reserve, 14);
        assert!(r.prompt.estimate() >= r.prompt.tokens() && r.prompt.tokens() > 0);
    }

    #[test]
    fn absurd_numbers_are_refused() {
        assert!(parse(
            Endpoint::Chat,
            bytes::Bytes::from_static(
                br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1e30}"#
            )
        )
        .is_err());
        assert!(parse(
            Endpoint::Chat,
            bytes::Bytes::from_static(
                br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":-1}"#
            )
        )
        .is_err());
    }

    #[test]
    fn embeddings_need_input_and_do_not_stream() {
        assert!(parse(
            Endpoint::Embeddings,
            bytes::Bytes::from_static(br#"{"model":"e"}"#)
        )
        .is_err());
        assert!(parse(
            Endpoint::Embeddings,
            bytes::Bytes::from_static(br#"{"model":"e","input":"x","stream":true}"#)
        )
        .is_err());
        assert_eq!(
            parse(
                Endpoint::Embeddings,
                bytes::Bytes::from_static(br#"{"model":"e","input":["a","b"]}"#)
            )
            .unwrap()
            .completion_reserve,
            0
        );
    }
}
