//! OpenAI chunks (from any provider's adapter) → Responses stream events.
//!
//! Every event carries `type` and a growing `sequence_number`. Reasoning, text and each
//! tool call are output items; items may be open together (their events name the item),
//! so interleaved argument deltas of parallel calls need no buffering. A custom tool's
//! input only exists once its JSON arguments are complete, so it is sent when the item
//! closes.

mod items;

use super::response::{final_status, item_id, new_response_id, usage_json, Shape};
use crate::providers::converted_stream::{Conversion, ConvertedStream};
use crate::providers::reasoning::details;
use crate::providers::StreamAdapter;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::openai::Usage;
use shared::sse::encode_event;
use std::cell::Cell;
use std::collections::BTreeMap;

#[derive(PartialEq)]
enum Kind {
    Reasoning,
    Message,
    Call { custom: bool },
}

struct Item {
    kind: Kind,
    id: String,
    /// Reasoning summary, message text or call arguments so far.
    text: String,
    call_id: String,
    name: String,
    done: bool,
    /// The finished item, once done.
    finished: Option<Value>,
}

pub type ChatToResponsesStream = ConvertedStream<ToResponses>;

pub struct ToResponses {
    shape: Shape,
    id: String,
    created_at: i64,
    input_estimate: u64,
    seq: Cell<u64>,
    started: bool,
    items: Vec<Item>,
    reasoning: Option<usize>,
    /// Anthropic `reasoning_details` entries seen, for the reasoning item's
    /// `encrypted_content`.
    details: Vec<Value>,
    message: Option<usize>,
    calls: BTreeMap<u64, usize>,
    finish_reason: Option<String>,
}

impl ChatToResponsesStream {
    /// Wraps the channel's OpenAI-producing adapter.
    pub fn new(inner: Box<dyn StreamAdapter>, shape: Shape) -> Self {
        let conversion = ToResponses {
            shape,
            id: new_response_id(),
            created_at: crate::util::now(),
            input_estimate: 0,
            seq: Cell::new(0),
            started: false,
            items: Vec::new(),
            reasoning: None,
            details: Vec::new(),
            message: None,
            calls: BTreeMap::new(),
            finish_reason: None,
        };
        ConvertedStream::wrap(inner, conversion)
    }

    /// Prompt tokens to report when the upstream reports no usage.
    pub fn with_input_tokens(mut self, n: u64) -> Self {
        self.conversion_mut().input_estimate = n;
        self
    }
}

impl ToResponses {
    fn event(&self, kind: &str, mut data: Value) -> Bytes {
        let n = self.seq.get();
        self.seq.set(n + 1);
        if let Some(o) = data.as_object_mut() {
            o.insert("type".into(), json!(kind));
            o.insert("sequence_number".into(), json!(n));
        }
        encode_event(kind, &data.to_string())
    }

    pub(super) fn emit(&self, out: &mut Vec<Bytes>, kind: &str, data: Value) {
        out.push(self.event(kind, data));
    }

    fn ensure_started(&mut self, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self
            .shape
            .object(&self.id, self.created_at, "in_progress", Vec::new());
        self.emit(out, "response.created", json!({"response": response}));
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    fn reasoning_index(&mut self, out: &mut Vec<Bytes>) -> usize {
        match self.reasoning {
            Some(i) => i,
            None => {
                let i = self.open(out, Kind::Reasoning, "", "");
                self.reasoning = Some(i);
                i
            }
        }
    }

    pub(super) fn signed_state(&self) -> Option<String> {
        super::response::signed_state(&self.details)
    }

    fn reasoning_delta(&mut self, out: &mut Vec<Bytes>, text: &str) {
        let index = self.reasoning_index(out);
        self.push_text(index, text);
        let id = self.items[index].id.clone();
        self.emit(
            out,
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": text}),
        );
    }

    fn text_delta(&mut self, out: &mut Vec<Bytes>, text: &str) {
        if let Some(r) = self.reasoning {
            self.close(out, r);
        }
        let index = match self.message.filter(|i| !self.items[*i].done) {
            Some(i) => i,
            None => {
                let i = self.open(out, Kind::Message, "", "");
                self.message = Some(i);
                i
            }
        };
        self.push_text(index, text);
        let id = self.items[index].id.clone();
        self.emit(
            out,
            "response.output_text.delta",
            json!({"item_id": id, "output_index": index, "content_index": 0,
                   "delta": text, "logprobs": []}),
        );
    }

    fn tool_delta(&mut self, out: &mut Vec<Bytes>, tc: &Value) {
        let call = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
        let args = tc
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let index = match self.calls.get(&call) {
            Some(i) => *i,
            None => {
                for open in [self.reasoning, self.message].into_iter().flatten() {
                    self.close(out, open);
                }
                let id = tc
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| item_id("call"), String::from);
                let name = tc
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let custom = self.shape.tools.is_custom(&name);
                let i = self.open(out, Kind::Call { custom }, &id, &name);
                self.calls.insert(call, i);
                i
            }
        };
        if args.is_empty() || self.items[index].done {
            return;
        }
        self.push_text(index, args);
        if self.items[index].kind == (Kind::Call { custom: false }) {
            let id = self.items[index].id.clone();
            self.emit(
                out,
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": args}),
            );
        }
    }

    fn push_text(&mut self, index: usize, text: &str) {
        if let Some(item) = self.items.get_mut(index) {
            item.text.push_str(text);
        }
    }

    fn usage_value(&self, inner: &dyn StreamAdapter) -> Value {
        match inner.usage() {
            Some(u) if !u.is_empty() => {
                let prompt = if u.prompt_tokens == 0 {
                    self.input_estimate
                } else {
                    u.prompt_tokens
                };
                usage_json(&Usage {
                    prompt_tokens: prompt,
                    ..u
                })
            }
            _ => usage_json(&Usage::new(self.input_estimate, inner.generated_tokens())),
        }
    }
}

impl Conversion for ToResponses {
    fn on_chunk(&mut self, chunk: &Value, _inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        self.ensure_started(out);
        let Some(choice) = chunk.pointer("/choices/0") else {
            return;
        };
        let delta = choice.get("delta");
        let text_of = |key: &str| {
            delta
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        if let Some(r) = text_of("reasoning_content") {
            self.reasoning_delta(out, r);
        }
        let entries = delta
            .and_then(|d| d.get(details::FIELD))
            .and_then(Value::as_array);
        for e in entries.into_iter().flatten() {
            // Kept for the reasoning item, which a redacted block alone also opens.
            self.reasoning_index(out);
            self.details.push(e.clone());
        }
        if let Some(t) = text_of("content") {
            self.text_delta(out, t);
        }
        let calls = delta
            .and_then(|d| d.get("tool_calls"))
            .and_then(Value::as_array);
        for tc in calls.into_iter().flatten() {
            self.tool_delta(out, tc);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(f.to_string());
        }
    }

    fn finish(&mut self, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        self.ensure_started(out);
        for i in 0..self.items.len() {
            self.close(out, i);
        }
        let output: Vec<Value> = self
            .items
            .iter()
            .filter_map(|i| i.finished.clone())
            .collect();
        let (status, incomplete) = final_status(self.finish_reason.as_deref());
        let mut response = self.shape.object(&self.id, self.created_at, status, output);
        response["incomplete_details"] = incomplete;
        response["usage"] = self.usage_value(inner);
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.emit(out, kind, json!({"response": response}));
    }

    /// A failed response must have been created first.
    fn before_error(&mut self, out: &mut Vec<Bytes>) {
        self.ensure_started(out);
    }

    /// `error` then `response.failed`: the SDKs and Codex end the turn on the latter.
    fn error_event(&self, message: &str) -> Bytes {
        let error = self.event(
            "error",
            json!({"code": "server_error", "message": message, "param": null}),
        );
        let mut response = self
            .shape
            .object(&self.id, self.created_at, "failed", Vec::new());
        response["error"] = json!({"code": "server_error", "message": message});
        let failed = self.event("response.failed", json!({"response": response}));
        let mut both = Vec::with_capacity(error.len() + failed.len());
        both.extend_from_slice(&error);
        both.extend_from_slice(&failed);
        Bytes::from(both)
    }
}
