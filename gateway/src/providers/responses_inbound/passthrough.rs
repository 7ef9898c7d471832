//! Responses client on a channel that serves the Responses API: events go out exactly as
//! they came in, read only for billing (usage from `response.completed`), the end of the
//! stream and the id of a stored response.

use super::response::usage_from_responses;
use super::Recorder;
use crate::providers::{Parsed, StreamAdapter};
use crate::v1_core::tokens::TokenTally;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::openai::Usage;
use shared::sse::{encode_event, SseEvent};
use std::borrow::Cow;

/// The fields of an event the gateway reads; deltas borrow, only the few events that
/// carry a whole `response` build a tree.
#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    delta: Option<Cow<'a, str>>,
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    sequence_number: Option<u64>,
}

pub struct ResponsesPassthrough {
    model: String,
    usage: Option<Usage>,
    done: bool,
    tokens: TokenTally,
    failure: Option<String>,
    last_sequence: Option<u64>,
    recorder: Option<Recorder>,
}

impl ResponsesPassthrough {
    /// `model` only picks the tokenizer for the fallback estimate; `recorder` notes the
    /// response id when the upstream stores it.
    pub fn new(model: &str, recorder: Option<Recorder>) -> Self {
        ResponsesPassthrough {
            model: model.to_string(),
            usage: None,
            done: false,
            tokens: TokenTally::default(),
            failure: None,
            last_sequence: None,
            recorder,
        }
    }

    fn ended_with(&mut self, response: Option<&Value>) {
        self.done = true;
        if let Some(u) = response
            .and_then(|r| r.get("usage"))
            .and_then(usage_from_responses)
        {
            self.usage = Some(u);
        }
    }
}

impl StreamAdapter for ResponsesPassthrough {
    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        out.push(ev.to_bytes());
        let Ok(view) = serde_json::from_str::<EventView<'_>>(&ev.data) else {
            return;
        };
        if view.sequence_number.is_some() {
            self.last_sequence = view.sequence_number;
        }
        if let Some(d) = &view.delta {
            self.tokens.push(&self.model, d);
        }
        match view.kind.as_ref() {
            "response.created" => {
                let id = view
                    .response
                    .as_ref()
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str);
                if let (Some(rec), Some(id)) = (self.recorder.take(), id) {
                    rec.record_later(id.to_string());
                }
            }
            "response.completed" | "response.incomplete" => {
                self.ended_with(view.response.as_ref());
            }
            "response.failed" => {
                let message = view
                    .response
                    .as_ref()
                    .and_then(|r| r.pointer("/error/message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the response failed upstream");
                self.failure = Some(message.chars().take(300).collect());
                self.ended_with(view.response.as_ref());
            }
            "error" => {
                let message = view.message.as_deref().unwrap_or("upstream error");
                self.failure = Some(message.chars().take(300).collect());
                self.done = true;
            }
            _ => {}
        }
    }

    fn usage(&self) -> Option<Usage> {
        self.usage.clone()
    }

    fn generated_tokens(&self) -> u64 {
        self.tokens.total(&self.model)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    /// Responses streams end with their last event; nothing to add.
    fn finish(&mut self, _out: &mut Vec<Bytes>) {}

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn error_event(&self, message: &str) -> Bytes {
        let n = self.last_sequence.map_or(0, |n| n + 1);
        let data = json!({"type": "error", "code": "server_error", "message": message,
                          "param": null, "sequence_number": n});
        encode_event("error", &data.to_string())
    }
}

/// A non-streaming pass-through answer: the body as the upstream sent it, its usage,
/// and the text for the fallback count.
pub fn parse(raw: Bytes) -> Result<(Parsed, Option<String>), String> {
    let v: Value =
        serde_json::from_slice(&raw).map_err(|_| "upstream returned invalid JSON".to_string())?;
    if !v.is_object() {
        return Err("upstream returned an unexpected body".into());
    }
    let mut completion_text = String::new();
    for item in v
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_text(item, &mut completion_text);
    }
    let id = v.get("id").and_then(Value::as_str).map(String::from);
    let usage = v.get("usage").and_then(usage_from_responses);
    Ok((
        Parsed {
            body: raw,
            usage,
            completion_text,
        },
        id,
    ))
}

fn collect_text(item: &Value, out: &mut String) {
    for key in ["text", "arguments", "input", "name"] {
        if let Some(s) = item.get(key).and_then(Value::as_str) {
            out.push_str(s);
        }
    }
    for key in ["content", "summary"] {
        for part in item
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_text(part, out);
        }
    }
}
