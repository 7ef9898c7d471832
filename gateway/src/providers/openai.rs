//! OpenAI and OpenAI-compatible servers: the body passes through with only `model`
//! replaced (and usage requested on streams).

use super::unread_text::UnreadText;
use super::{reasoning, Endpoint, NativeBody, Parsed, StreamAdapter, Target};
use crate::upstream::names;
use crate::upstream::UpstreamRequest;
use crate::v1_core::error::V1Error;
use crate::v1_core::tokens::TokenTally;
use actix_web::http::Method;
use bytes::Bytes;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::json_splice::{closes_object, get_field, get_late_field, member_value_at, set_field};
use shared::openai::Usage;
use shared::sse::{encode_data, SseEvent, DONE_EVENT};
use std::borrow::Cow;

/// What an OpenAI-shaped upstream body is built from.
#[derive(Clone, Copy)]
pub enum Body<'a> {
    /// An OpenAI client's own bytes: they go upstream as they are, with only what must
    /// change spliced in, so key order, spacing and unknown fields arrive untouched.
    Native(NativeBody<'a>, &'a Value),
    /// A body converted from another dialect.
    Converted(&'a Value),
}

/// The body with the upstream model name and, for streams, `include_usage` switched on.
pub fn prepare_body(t: &Target<'_>, body: Body<'_>, stream: bool) -> Result<Bytes, V1Error> {
    match body {
        Body::Native(native, parsed) => match spliced(t, native, stream) {
            Some(b) => Ok(b),
            // Valid JSON the splicer cannot walk: rebuilt from the parsed form instead.
            None => converted_body(t, parsed, stream),
        },
        Body::Converted(v) => converted_body(t, v, stream),
    }
}

/// The client's bytes with the mapped model and the usage option spliced in; `None` when
/// the body is not an object the splicer can walk.
fn spliced(t: &Target<'_>, native: NativeBody<'_>, stream: bool) -> Option<Bytes> {
    let mut edited: Option<Vec<u8>> = None;
    if t.upstream_model != native.model {
        let model = serde_json::to_vec(t.upstream_model).ok()?;
        edited = Some(set_field(native.raw, "model", &model)?);
    }
    if stream {
        let current = edited.as_deref().unwrap_or(native.raw);
        if let Some(options) = options_with_usage(get_field(current, "stream_options"))? {
            edited = Some(set_field(current, "stream_options", &options)?);
        }
    }
    Some(edited.map_or_else(|| native.raw.clone(), Bytes::from))
}

/// `stream_options` with `include_usage` on: `Some(None)` when the client's already has
/// it, `None` when the client's is not JSON the gateway can read.
fn options_with_usage(current: Option<&[u8]>) -> Option<Option<Vec<u8>>> {
    let Some(raw) = current else {
        return Some(Some(br#"{"include_usage":true}"#.to_vec()));
    };
    let mut options: Value = serde_json::from_slice(raw).ok()?;
    if options.get("include_usage") == Some(&Value::Bool(true)) {
        return Some(None);
    }
    match options.as_object_mut() {
        Some(o) => {
            o.insert("include_usage".into(), Value::Bool(true));
        }
        None => options = json!({"include_usage": true}),
    }
    serde_json::to_vec(&options).ok().map(Some)
}

fn converted_body(t: &Target<'_>, body: &Value, stream: bool) -> Result<Bytes, V1Error> {
    let mut b = body.clone();
    let obj = b
        .as_object_mut()
        .ok_or_else(|| V1Error::bad_request("request body must be a JSON object"))?;
    obj.insert("model".into(), Value::String(t.upstream_model.to_string()));
    converted_reasoning(obj, t.upstream_model);
    if stream {
        let opts = obj.entry("stream_options").or_insert_with(|| json!({}));
        if let Some(o) = opts.as_object_mut() {
            o.insert("include_usage".into(), Value::Bool(true));
        } else {
            *opts = json!({"include_usage": true});
        }
    }
    serde_json::to_vec(&b)
        .map(Bytes::from)
        .map_err(|_| V1Error::internal())
}

/// A converted request's reasoning (the gateway's own field, never sent on) becomes
/// `reasoning_effort` for models that take it; an OpenAI client's own body keeps its
/// `reasoning_effort` as sent.
fn converted_reasoning(obj: &mut serde_json::Map<String, Value>, model: &str) {
    let Some(v) = obj.remove(reasoning::FIELD) else {
        return;
    };
    match reasoning::Ask::of_field(&v).and_then(|a| reasoning::families::openai_effort(model, a)) {
        Some(effort) => {
            obj.insert("reasoning_effort".into(), json!(effort));
        }
        None => {
            obj.remove("reasoning_effort");
        }
    }
}

pub fn build(
    t: &Target<'_>,
    ep: Endpoint,
    body: Body<'_>,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    Ok(UpstreamRequest {
        method: Method::POST,
        // Joined rather than formatted: the formatter's pieces cost ~600 instructions each.
        url: [t.channel.base_url.as_str(), "/v1/", ep.openai_path()].concat(),
        headers: vec![
            (names::AUTHORIZATION, ["Bearer ", t.key].concat().into()),
            (names::CONTENT_TYPE, "application/json".into()),
            (
                names::ACCEPT,
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }
                .into(),
            ),
        ],
        body: prepare_body(t, body, stream)?,
    })
}

/// A response or chunk read for what the gateway needs (generated text, usage, whether
/// it carries an error), borrowing from the body and skipping everything else: several
/// times cheaper than a `Value` tree on every stream event. Bodies it cannot read this
/// way (unusual shapes) fall back to the `Value` path.
#[derive(Deserialize)]
struct BodyView<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceView<'a>>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(default, borrow)]
    message: Option<MessageView<'a>>,
    #[serde(default, borrow)]
    delta: Option<MessageView<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MessageView<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallView<'a> {
    #[serde(default, borrow)]
    function: Option<FunctionView<'a>>,
}

#[derive(Deserialize)]
struct FunctionView<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

impl BodyView<'_> {
    /// The same text as [`generated_text`].
    fn generated_text(&self, out: &mut String) {
        for c in self.choices.iter().flatten() {
            for m in [&c.message, &c.delta].into_iter().flatten() {
                for s in [&m.content, &m.reasoning_content].into_iter().flatten() {
                    out.push_str(s);
                }
                for call in m.tool_calls.iter().flatten() {
                    if let Some(f) = &call.function {
                        for s in [&f.name, &f.arguments].into_iter().flatten() {
                            out.push_str(s);
                        }
                    }
                }
            }
            if let Some(s) = &c.text {
                out.push_str(s);
            }
        }
    }

    fn has_choices(&self) -> bool {
        self.choices.as_ref().is_some_and(|c| !c.is_empty())
    }
}

/// Text the model generated in a response or chunk (content, legacy text, tool arguments).
fn generated_text(v: &Value, out: &mut String) {
    let Some(choices) = v.get("choices").and_then(Value::as_array) else {
        return;
    };
    for c in choices {
        for holder in [c.get("message"), c.get("delta")].into_iter().flatten() {
            if let Some(s) = holder.get("content").and_then(Value::as_str) {
                out.push_str(s);
            }
            if let Some(s) = holder.get("reasoning_content").and_then(Value::as_str) {
                out.push_str(s);
            }
            if let Some(calls) = holder.get("tool_calls").and_then(Value::as_array) {
                for call in calls {
                    if let Some(f) = call.get("function") {
                        for k in ["name", "arguments"] {
                            if let Some(s) = f.get(k).and_then(Value::as_str) {
                                out.push_str(s);
                            }
                        }
                    }
                }
            }
        }
        if let Some(s) = c.get("text").and_then(Value::as_str) {
            out.push_str(s);
        }
    }
}

fn usage_of(v: &Value) -> Option<Usage> {
    let u = v.get("usage").filter(|u| !u.is_null())?;
    serde_json::from_value::<Usage>(u.clone()).ok()
}

/// The usage an answer ends with, read in the same pass that finds where it ends; `None`
/// when the answer is laid out otherwise or its usage is unusual (then the general search
/// and serde decide).
fn trailing_usage(raw: &[u8]) -> Option<Usage> {
    let at = last_usage_key(raw)?;
    let start = member_value_at(raw, at, "usage".len())?;
    let (usage, end) = Usage::read_plain_at(raw, start)?;
    closes_object(raw, end).then_some(usage)
}

/// Where the last `"usage"` in `raw` begins (past its opening quote), looked for by its
/// first letter from the end: near the end of an answer a `u` is rare, and a general
/// reverse substring search cost several times more. Gives up after a few dozen `u`s
/// (then the general search runs).
fn last_usage_key(raw: &[u8]) -> Option<usize> {
    const KEY: &[u8] = b"usage\"";
    let mut end = raw.len();
    for _ in 0..64 {
        let at = memchr::memrchr(b'u', &raw[..end])?;
        if raw[at..].starts_with(KEY) && at > 0 && raw[at - 1] == b'"' {
            return Some(at);
        }
        end = at;
    }
    None
}

pub fn parse(_ep: Endpoint, raw: Bytes) -> Result<Parsed, String> {
    // The answer goes to the client as it came; only its usage is needed, and the text
    // only when there is none. Answers write `usage` after `choices`, so it is looked for
    // from the end, and the rest is left unparsed.
    let reported = trailing_usage(&raw)
        .or_else(|| {
            get_late_field(&raw, "usage").and_then(|u| {
                Usage::read_plain(u).or_else(|| serde_json::from_slice::<Usage>(u).ok())
            })
        })
        .filter(|u| !u.is_empty());
    if let Some(usage) = reported {
        return Ok(Parsed {
            usage: Some(usage),
            body: raw,
            completion_text: String::new(),
        });
    }
    if let Ok(view) = serde_json::from_slice::<BodyView<'_>>(&raw) {
        let mut completion_text = String::new();
        view.generated_text(&mut completion_text);
        let usage = view.usage;
        return Ok(Parsed {
            usage,
            body: raw,
            completion_text,
        });
    }
    let v: Value =
        serde_json::from_slice(&raw).map_err(|_| "upstream returned invalid JSON".to_string())?;
    if !v.is_object() {
        return Err("upstream returned an unexpected body".into());
    }
    let mut completion_text = String::new();
    generated_text(&v, &mut completion_text);
    Ok(Parsed {
        usage: usage_of(&v),
        body: raw,
        completion_text,
    })
}

pub fn error_message(raw: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(raw).ok();
    let msg = v.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    msg.unwrap_or_else(|| String::from_utf8_lossy(&raw[..raw.len().min(300)]).into_owned())
}

/// The `code` and `param` of an OpenAI-shaped error body, so a non-retryable upstream
/// error reaches the client as the upstream said it (e.g. `context_length_exceeded`).
pub fn error_code_and_param(raw: &[u8]) -> (Option<String>, Option<String>) {
    let v: Option<Value> = serde_json::from_slice(raw).ok();
    let field = |name: &str| {
        let f = v.as_ref()?.get("error")?.get(name)?;
        match f {
            Value::String(s) if !s.is_empty() && s.len() <= 200 => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    (field("code"), field("param"))
}

/// OpenAI streams pass through event by event; the usage-only chunk we asked for is
/// hidden from clients that did not ask for it themselves.
pub struct OpenAiStream {
    wants_usage: bool,
    usage: Option<Usage>,
    /// The generated text; plain content chunks are kept unread.
    text: UnreadText,
    done: bool,
    scratch: String,
    failure: Option<String>,
}

/// A chunk that carries neither an error nor a usage object goes out exactly as it came
/// and needs no reading now. Inside JSON strings quotes are escaped, so these byte
/// patterns only match keys (or an exact string value, which merely takes the slow path).
fn plain_chunk(b: &[u8]) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static ERROR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));
    static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));
    if ERROR.find(b).is_some() {
        return false;
    }
    let mut from = 0;
    while let Some(at) = USAGE.find(&b[from..]) {
        let mut i = from + at + 7;
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b':')
        {
            i += 1;
        }
        if b.get(i) != Some(&b'n') {
            return false;
        }
        from = i;
    }
    true
}

/// Adds the generated text of unread chunks (one a line) to a tally.
fn read_chunks(model: &str, chunks: &[u8], tokens: &mut TokenTally) {
    let views = serde_json::Deserializer::from_slice(chunks).into_iter::<BodyView<'_>>();
    let mut scratch = String::new();
    for view in views.map_while(Result::ok) {
        scratch.clear();
        view.generated_text(&mut scratch);
        tokens.push(model, &scratch);
    }
}

impl OpenAiStream {
    pub fn new(_ep: Endpoint, model: &str, wants_usage: bool) -> Self {
        OpenAiStream {
            wants_usage,
            usage: None,
            text: UnreadText::new(model, read_chunks),
            done: false,
            scratch: String::new(),
            failure: None,
        }
    }
}

impl StreamAdapter for OpenAiStream {
    fn take_verbatim(&mut self, chunk: &[u8]) -> bool {
        // Unnamed `data:` events only, none of them `[DONE]` (which ends the stream here).
        let plain = |name: Option<&[u8]>, data: &[u8]| {
            name.is_none() && data != b"[DONE]" && plain_chunk(data)
        };
        !self.done && self.text.take_verbatim(chunk, plain)
    }

    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        if ev.is_done() {
            self.done = true;
            return;
        }
        if plain_chunk(ev.data.as_bytes()) {
            self.text.keep(ev.data.as_bytes());
            out.push(encode_data(&ev.data));
            return;
        }
        if let Ok(view) = serde_json::from_str::<BodyView<'_>>(&ev.data) {
            // The common chunk: no error, and usage either absent or passed on as is.
            if view.error.is_none() && (view.usage.is_none() || self.wants_usage) {
                self.scratch.clear();
                view.generated_text(&mut self.scratch);
                self.text.count(&self.scratch);
                if view.usage.is_some() {
                    self.usage = view.usage;
                }
                out.push(encode_data(&ev.data));
                return;
            }
            if view.error.is_none() && !view.has_choices() {
                // A usage-only chunk for a client that did not ask for usage: hidden.
                self.usage = view.usage;
                return;
            }
        }
        let Ok(mut v) = serde_json::from_str::<Value>(&ev.data) else {
            // Not JSON: pass it on untouched rather than guess.
            out.push(encode_data(&ev.data));
            return;
        };
        if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error");
            self.failure = Some(message.chars().take(300).collect());
        }
        self.scratch.clear();
        generated_text(&v, &mut self.scratch);
        self.text.count(&self.scratch);
        let Some(usage) = usage_of(&v) else {
            out.push(encode_data(&ev.data));
            return;
        };
        self.usage = Some(usage);
        if self.wants_usage {
            out.push(encode_data(&ev.data));
            return;
        }
        let has_choices = v
            .get("choices")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty());
        if has_choices {
            if let Some(o) = v.as_object_mut() {
                o.remove("usage");
            }
            out.push(encode_data(&v.to_string()));
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.clone()
    }

    fn generated_tokens(&self) -> u64 {
        self.text.total()
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(&mut self, out: &mut Vec<Bytes>) {
        out.push(Bytes::from_static(DONE_EVENT));
    }

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn error_event(&self, message: &str) -> Bytes {
        error_event(message)
    }
}

/// The event that ends an OpenAI-format stream the gateway had to cut (the upstream failed
/// or went silent after the first byte): an `error` object, as OpenAI sends mid-stream.
/// Every adapter that writes OpenAI chunks ends with it.
pub(crate) fn error_event(message: &str) -> Bytes {
    let body = json!({"error": {"message": message, "type": "upstream_error", "param": null,
                                "code": "stream_interrupted"}});
    encode_data(&body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::unread_text::UNREAD_LIMIT;

    #[test]
    fn usage_chunk_is_hidden_unless_asked() {
        let mut s = OpenAiStream::new(Endpoint::Chat, "gpt-4o", false);
        let mut out = Vec::new();
        s.on_event(
            &SseEvent::data(r#"{"choices":[{"delta":{"content":"Hello there"}}]}"#),
            &mut out,
        );
        s.on_event(
            &SseEvent::data(r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#),
            &mut out,
        );
        s.on_event(&SseEvent::data("[DONE]"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(s.usage().unwrap().completion_tokens, 2);
        assert!(s.is_done());
        assert!(s.generated_tokens() >= 2);
    }

    #[test]
    fn usage_chunk_passes_when_asked() {
        let mut s = OpenAiStream::new(Endpoint::Chat, "gpt-4o", true);
        let mut out = Vec::new();
        s.on_event(
            &SseEvent::data(r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#),
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn plain_chunks_are_told_apart() {
        assert!(plain_chunk(
            br#"{"choices":[{"delta":{"content":"say \"usage\": 1"}}],"usage":null}"#
        ));
        assert!(plain_chunk(br#"{"choices":[{"delta":{"content":"hi"}}]}"#));
        assert!(!plain_chunk(
            br#"{"choices":[],"usage":{"prompt_tokens":1}}"#
        ));
        assert!(!plain_chunk(br#"{"usage" : {"prompt_tokens":1}}"#));
        assert!(!plain_chunk(br#"{"error":{"message":"x"}}"#));
    }

    #[test]
    fn only_complete_plain_data_events_are_taken_verbatim() {
        let mut s = OpenAiStream::new(Endpoint::Chat, "gpt-4o", false);
        let plain = r#"data: {"choices":[{"delta":{"content":"Hi"}}]}"#;
        assert!(s.take_verbatim(format!("{plain}\n\n{plain}\n\n").as_bytes()));
        assert_eq!(s.text.unread_len(), 2 * (plain.len() - "data: ".len() + 1));
        let refused = [
            format!("{plain}\n"),
            format!("{plain}\r\n\r\n"),
            format!("{plain}\n\ndata: [DONE]\n\n"),
            format!("{plain}\ndata: more\n\n"),
            "data:{}\n\n".to_string(),
            "event: x\ndata: {}\n\n".to_string(),
            "data: {\"usage\":{\"prompt_tokens\":1}}\n\n".to_string(),
            "data: {\"error\":{\"message\":\"x\"}}\n\n".to_string(),
            ": comment\n\n".to_string(),
            "\n\n".to_string(),
        ];
        for chunk in refused {
            let mut s = OpenAiStream::new(Endpoint::Chat, "gpt-4o", false);
            assert!(!s.take_verbatim(chunk.as_bytes()), "{chunk:?}");
            assert_eq!(s.text.unread_len(), 0, "{chunk:?}");
        }
    }

    #[test]
    fn unread_chunks_count_when_no_usage_arrives() {
        let mut s = OpenAiStream::new(Endpoint::Chat, "gpt-4o", false);
        let mut out = Vec::new();
        for _ in 0..2000 {
            s.on_event(
                &SseEvent::data(r#"{"choices":[{"delta":{"content":"Hello there"}}]}"#),
                &mut out,
            );
        }
        assert_eq!(out.len(), 2000);
        assert!(s.text.unread_len() <= UNREAD_LIMIT);
        let n = s.generated_tokens();
        assert!((3000..=5000).contains(&n), "{n}");
    }

    #[test]
    fn negative_usage_is_not_accepted() {
        let v: Value =
            serde_json::from_str(r#"{"usage":{"prompt_tokens":-3,"completion_tokens":2}}"#)
                .unwrap();
        assert!(usage_of(&v).is_none());
    }
}
