//! A Gemini client on a Gemini channel: the client's body goes upstream as it came (only
//! the model in the URL and the key change), and the answer comes back as it is, read
//! only for billing (`usageMetadata`: thoughts billed as output, as Google bills them).

use super::framing::Framing;
use super::stream::error_item;
use super::{GeminiCall, Method};
use crate::providers::{Parsed, StreamAdapter, Target};
use crate::upstream::names;
use crate::upstream::UpstreamRequest;
use crate::v1_core::error::V1Error;
use crate::v1_core::tokens::TokenTally;
use actix_web::http::Method as HttpMethod;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::gemini::{GenerateContentResponse, UsageMetadata};
use shared::openai::Usage;
use shared::sse::SseEvent;

/// The upstream request: `{base}/{version}/models/{upstream model}:{method}`, streams
/// always as SSE (the client's JSON-array framing is rebuilt on the way back).
pub fn build_native(
    t: &Target<'_>,
    call: &GeminiCall,
    stream: bool,
) -> Result<UpstreamRequest, V1Error> {
    let model = t.upstream_model.trim_start_matches("models/");
    let segment: String = url::form_urlencoded::byte_serialize(model.as_bytes()).collect();
    let version = match t.channel.api_version.as_str() {
        "" => "v1beta",
        v => v,
    };
    let mut url = format!(
        "{}/{version}/models/{segment}:{}",
        t.channel.base_url.trim_end_matches('/'),
        call.method.name()
    );
    if stream {
        url.push_str("?alt=sse");
    }
    Ok(UpstreamRequest {
        method: HttpMethod::POST,
        url,
        headers: vec![
            (names::X_GOOG_API_KEY, t.key.to_string().into()),
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
        body: body_for(call, model)?,
    })
}

/// The client's bytes, unless the body names the model itself (embedding requests do,
/// and Gemini refuses a name that differs from the URL's).
fn body_for(call: &GeminiCall, model: &str) -> Result<Bytes, V1Error> {
    let named = format!("models/{model}");
    let mut body = call.native.clone();
    let mut changed = false;
    let mut rename = |v: &mut Value| {
        if let Some(m) = v
            .get_mut("model")
            .filter(|m| m.as_str() != Some(named.as_str()))
        {
            *m = json!(named);
            changed = true;
        }
    };
    match call.method {
        Method::BatchEmbed => body
            .get_mut("requests")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .for_each(&mut rename),
        Method::Embed => rename(&mut body),
        _ => {}
    }
    if !changed {
        return Ok(call.raw.clone());
    }
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|_| V1Error::internal())
}

/// Usage and generated text of a non-streaming Gemini answer (the body itself goes back
/// unchanged).
pub fn parse_native(method: Method, raw: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(raw)
        .map_err(|e| format!("upstream returned an unexpected body: {e}"))?;
    let meta = v
        .get("usageMetadata")
        .and_then(|u| serde_json::from_value::<UsageMetadata>(u.clone()).ok());
    let mut completion_text = String::new();
    if !matches!(method, Method::Embed | Method::BatchEmbed) {
        let r: GenerateContentResponse = serde_json::from_value(v)
            .map_err(|e| format!("upstream returned an unexpected body: {e}"))?;
        collect_text(&r, &mut completion_text);
    }
    Ok(Parsed {
        body: Bytes::copy_from_slice(raw),
        usage: meta.map(|m| m.to_openai()),
        completion_text,
    })
}

fn collect_text(r: &GenerateContentResponse, out: &mut String) {
    for part in r
        .candidates
        .iter()
        .flat_map(|c| c.content.iter())
        .flat_map(|c| &c.parts)
    {
        if let Some(t) = &part.text {
            out.push_str(t);
        }
        if let Some(fc) = &part.function_call {
            out.push_str(&fc.name);
            out.push_str(&fc.args.to_string());
        }
    }
}

pub struct GeminiPassthrough {
    model: String,
    framing: Framing,
    usage: Option<UsageMetadata>,
    finished: bool,
    done: bool,
    tokens: TokenTally,
    failure: Option<String>,
}

impl GeminiPassthrough {
    /// `model` only picks the tokenizer for the fallback estimate.
    pub fn new(model: &str, framing: Framing) -> Self {
        GeminiPassthrough {
            model: model.to_string(),
            framing,
            usage: None,
            finished: false,
            done: false,
            tokens: TokenTally::default(),
            failure: None,
        }
    }
}

impl StreamAdapter for GeminiPassthrough {
    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if self.done || ev.data.trim().is_empty() {
            return;
        }
        out.push(if self.framing.is_sse() {
            ev.to_bytes()
        } else {
            self.framing.item(&ev.data)
        });
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return;
        };
        if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
            self.done = true;
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("error");
            self.failure = Some(msg.chars().take(300).collect());
            return;
        }
        let Ok(r) = serde_json::from_value::<GenerateContentResponse>(v) else {
            return;
        };
        let mut text = String::new();
        collect_text(&r, &mut text);
        self.tokens.push(&self.model, &text);
        if let Some(u) = r.usage_metadata {
            self.usage = Some(u);
        }
        if r.candidates.iter().any(|c| c.finish_reason.is_some()) {
            self.finished = true;
        }
        // Usage may trail the finish reason by one event: done once both were seen.
        if self.finished && self.usage.is_some() {
            self.done = true;
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.as_ref().map(UsageMetadata::to_openai)
    }

    fn generated_tokens(&self) -> u64 {
        self.tokens.total(&self.model)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn completes_at_eof(&self) -> bool {
        self.finished
    }

    fn finish(&mut self, out: &mut Vec<Bytes>) {
        out.extend(self.framing.close());
    }

    fn error_event(&self, message: &str) -> Bytes {
        error_item(&self.framing, message)
    }

    fn content_type(&self) -> &'static str {
        self.framing.content_type()
    }

    fn keep_alive(&self) -> Bytes {
        self.framing.keep_alive()
    }
}
