//! OpenAI chunks (from any provider's adapter) → Anthropic stream events.
//!
//! Anthropic content blocks are strictly sequential (start, deltas, stop), while OpenAI
//! may interleave argument deltas of parallel tool calls. The first tool call of a run
//! streams live; any other tool call is collected and emitted whole when the live block
//! closes, so the output is always well-formed.

use super::response::{block_of, message_id, stop_reason, usage_json};
use crate::providers::converted_stream::{Conversion, ConvertedStream};
use crate::providers::reasoning::details::{self, Piece};
use crate::providers::StreamAdapter;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::anthropic::ErrorBody;
use shared::sse::encode_event;
use std::collections::{BTreeMap, HashSet};

enum Live {
    Thinking { block: u64 },
    Text { block: u64 },
    Tool { call: u64, block: u64 },
}

#[derive(Default)]
struct PendingTool {
    id: String,
    name: String,
    args: String,
}

pub type OpenAiToAnthropicStream = ConvertedStream<ToAnthropic>;

pub struct ToAnthropic {
    model: String,
    id: Option<String>,
    input_estimate: u64,
    started: bool,
    next_block: u64,
    live: Option<Live>,
    pending: BTreeMap<u64, PendingTool>,
    closed_calls: HashSet<u64>,
    used_tools: bool,
    finish_reason: Option<String>,
}

impl OpenAiToAnthropicStream {
    /// Wraps the channel's OpenAI-producing adapter; `model` is the client's model name.
    pub fn new(inner: Box<dyn StreamAdapter>, model: &str) -> Self {
        let conversion = ToAnthropic {
            model: model.to_string(),
            id: None,
            input_estimate: 0,
            started: false,
            next_block: 0,
            live: None,
            pending: BTreeMap::new(),
            closed_calls: HashSet::new(),
            used_tools: false,
            finish_reason: None,
        };
        ConvertedStream::wrap(inner, conversion)
    }

    /// The prompt count reported at the end when the channel reports no usage.
    pub fn with_input_tokens(mut self, n: u64) -> Self {
        self.conversion_mut().input_estimate = n;
        self
    }
}

impl ToAnthropic {
    fn emit(out: &mut Vec<Bytes>, event: &str, data: Value) {
        out.push(encode_event(event, &data.to_string()));
    }

    fn ensure_started(&mut self, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = message_id(self.id.as_deref());
        // One set of figures: the channel's own input count when it already gave one
        // (Gemini does with every event), else 0 until `message_delta` has the real ones.
        let input = inner
            .usage()
            .filter(|u| u.prompt_tokens > 0)
            .map_or(json!(0), |u| usage_json(&u)["input_tokens"].clone());
        Self::emit(
            out,
            "message_start",
            json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "content": [], "model": self.model,
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": 0}}}),
        );
    }

    fn open(&mut self, out: &mut Vec<Bytes>, block: Value) -> u64 {
        let index = self.next_block;
        self.next_block += 1;
        Self::emit(
            out,
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    fn delta(out: &mut Vec<Bytes>, index: u64, delta: Value) {
        Self::emit(
            out,
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }

    fn stop(out: &mut Vec<Bytes>, index: u64) {
        Self::emit(
            out,
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
    }

    fn close_live(&mut self, out: &mut Vec<Bytes>) {
        match self.live.take() {
            Some(Live::Text { block } | Live::Thinking { block }) => Self::stop(out, block),
            Some(Live::Tool { call, block }) => {
                Self::stop(out, block);
                self.closed_calls.insert(call);
            }
            None => {}
        }
        for (call, t) in std::mem::take(&mut self.pending) {
            let block = self.open(out, tool_block(&t.id, &t.name, call));
            if !t.args.is_empty() {
                Self::delta(
                    out,
                    block,
                    json!({"type": "input_json_delta", "partial_json": t.args}),
                );
            }
            Self::stop(out, block);
            self.closed_calls.insert(call);
        }
    }

    fn text(&mut self, out: &mut Vec<Bytes>, text: &str) {
        let block = match self.live {
            Some(Live::Text { block }) => block,
            _ => {
                self.close_live(out);
                let b = self.open(out, json!({"type": "text", "text": ""}));
                self.live = Some(Live::Text { block: b });
                b
            }
        };
        Self::delta(out, block, json!({"type": "text_delta", "text": text}));
    }

    fn thinking(&mut self, out: &mut Vec<Bytes>, text: &str) {
        let block = match self.live {
            Some(Live::Thinking { block }) => block,
            _ => {
                self.close_live(out);
                let b = self.open(
                    out,
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                );
                self.live = Some(Live::Thinking { block: b });
                b
            }
        };
        Self::delta(
            out,
            block,
            json!({"type": "thinking_delta", "thinking": text}),
        );
    }

    /// A `reasoning_details` entry: the signature of the thinking just streamed (which
    /// then ends), or a whole block of its own.
    fn detail(&mut self, out: &mut Vec<Bytes>, piece: Piece) {
        match piece {
            Piece::Thinking { text, signature } => {
                if !matches!(self.live, Some(Live::Thinking { .. })) && !text.is_empty() {
                    self.thinking(out, &text);
                }
                let Some(Live::Thinking { block }) = self.live else {
                    return;
                };
                if !signature.is_empty() {
                    Self::delta(
                        out,
                        block,
                        json!({"type": "signature_delta", "signature": signature}),
                    );
                }
                self.close_live(out);
            }
            Piece::Redacted { .. } => {
                self.close_live(out);
                let block = self.open(out, block_of(&piece));
                Self::stop(out, block);
            }
        }
    }

    fn tool(&mut self, out: &mut Vec<Bytes>, tc: &Value) {
        let call = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
        let id = tc.get("id").and_then(Value::as_str).unwrap_or_default();
        let name = tc
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let args = tc
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.used_tools = true;
        if let Some(Live::Tool { call: live, block }) = self.live {
            if live == call {
                if !args.is_empty() {
                    Self::delta(
                        out,
                        block,
                        json!({"type": "input_json_delta", "partial_json": args}),
                    );
                }
                return;
            }
        }
        if self.closed_calls.contains(&call) {
            log::debug!("dropping a late argument delta for a finished tool call");
            return;
        }
        if self.pending.contains_key(&call) || matches!(self.live, Some(Live::Tool { .. })) {
            let p = self.pending.entry(call).or_default();
            if p.id.is_empty() {
                p.id = id.to_string();
            }
            p.name.push_str(name);
            p.args.push_str(args);
            return;
        }
        self.close_live(out);
        let block = self.open(out, tool_block(id, name, call));
        self.live = Some(Live::Tool { call, block });
        if !args.is_empty() {
            Self::delta(
                out,
                block,
                json!({"type": "input_json_delta", "partial_json": args}),
            );
        }
    }
}

fn tool_block(id: &str, name: &str, call: u64) -> Value {
    let id = if id.is_empty() {
        format!("toolu_{call}")
    } else {
        id.to_string()
    };
    json!({"type": "tool_use", "id": id, "name": name, "input": {}})
}

impl Conversion for ToAnthropic {
    fn on_chunk(&mut self, chunk: &Value, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        if self.id.is_none() {
            self.id = chunk.get("id").and_then(Value::as_str).map(String::from);
        }
        self.ensure_started(inner, out);
        let Some(choice) = chunk.pointer("/choices/0") else {
            return;
        };
        let delta = choice.get("delta");
        let reasoning = delta
            .and_then(|d| d.get("reasoning_content"))
            .and_then(Value::as_str);
        if let Some(t) = reasoning.filter(|t| !t.is_empty()) {
            self.thinking(out, t);
        }
        for piece in details::pieces(delta.and_then(|d| d.get(details::FIELD))) {
            self.detail(out, piece);
        }
        if let Some(t) = delta.and_then(|d| d.get("content")).and_then(Value::as_str) {
            if !t.is_empty() {
                self.text(out, t);
            }
        }
        let calls = delta
            .and_then(|d| d.get("tool_calls"))
            .and_then(Value::as_array);
        for tc in calls.into_iter().flatten() {
            self.tool(out, tc);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(f.to_string());
        }
    }

    fn finish(&mut self, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>) {
        self.ensure_started(inner, out);
        self.close_live(out);
        let mut usage = match inner.usage() {
            Some(u) if !u.is_empty() => usage_json(&u),
            _ => json!({"input_tokens": self.input_estimate,
                        "output_tokens": inner.generated_tokens()}),
        };
        if let Some(o) = usage.as_object_mut() {
            // message_delta carries only what changed; cache creation is never known here.
            o.remove("cache_creation_input_tokens");
        }
        let reason = stop_reason(self.finish_reason.as_deref(), self.used_tools);
        Self::emit(
            out,
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": usage}),
        );
        Self::emit(out, "message_stop", json!({"type": "message_stop"}));
    }

    fn error_event(&self, message: &str) -> Bytes {
        encode_event("error", &ErrorBody::new("api_error", message).to_json())
    }
}
