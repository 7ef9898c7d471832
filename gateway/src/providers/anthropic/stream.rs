//! Anthropic Messages stream → OpenAI `chat.completion.chunk` events.

use super::openai_shape::{error_event, ChunkWriter};
use super::response::finish_reason;
use super::thinking::is_json_tool;
use crate::providers::reasoning::details;
use crate::providers::{Endpoint, StreamAdapter};
use crate::v1_core::tokens::TokenTally;
use bytes::Bytes;
use serde_json::{json, Value};
use shared::anthropic::{ContentBlock, Delta, StreamEvent, Usage as AnthropicUsage};
use shared::openai::Usage;
use shared::sse::{SseEvent, DONE_EVENT};
use std::collections::{HashMap, HashSet};

/// Converts one Anthropic stream event at a time; usage comes from `message_start`
/// (input, cache) and `message_delta` (output, cumulative).
pub struct AnthropicStream {
    w: ChunkWriter,
    wants_usage: bool,
    usage: AnthropicUsage,
    role_sent: bool,
    /// Anthropic content-block index → OpenAI tool-call index.
    tool_index: HashMap<u64, u64>,
    /// Open thinking blocks: text and signature so far, sent whole as a
    /// `reasoning_details` entry when the block stops.
    thinking: HashMap<u64, (String, String)>,
    /// Blocks of the structured-output stand-in tool, streamed as text.
    json_blocks: HashSet<u64>,
    details_sent: usize,
    done: bool,
    closed: bool,
    tokens: TokenTally,
    failure: Option<String>,
}

impl AnthropicStream {
    /// `model` is the name the client asked for; `wants_usage` is its
    /// `stream_options.include_usage`.
    pub fn new(model: &str, wants_usage: bool) -> Self {
        let id = format!("chatcmpl-{}", crate::util::new_id());
        AnthropicStream {
            w: ChunkWriter::new(id, model),
            wants_usage,
            usage: AnthropicUsage::default(),
            role_sent: false,
            tool_index: HashMap::new(),
            thinking: HashMap::new(),
            json_blocks: HashSet::new(),
            details_sent: 0,
            done: false,
            failure: None,
            closed: false,
            tokens: TokenTally::default(),
        }
    }

    /// Legacy `/v1/completions` clients get `text_completion` chunks.
    pub fn with_endpoint(mut self, ep: Endpoint) -> Self {
        self.w.legacy = ep == Endpoint::Completions;
        self
    }

    /// A fixed creation time, so outputs of separate runs compare equal.
    #[cfg(test)]
    pub(crate) fn frozen(mut self) -> Self {
        self.w.created = 0;
        self
    }

    fn count(&mut self, text: &str) {
        self.tokens.push(&self.w.model, text);
    }

    /// OpenAI streams open with a chunk carrying only the role.
    fn ensure_role(&mut self, out: &mut Vec<Bytes>) {
        if !self.role_sent {
            self.role_sent = true;
            self.w
                .delta(out, 0, json!({"role": "assistant", "content": ""}), None);
        }
    }

    fn delta(&mut self, out: &mut Vec<Bytes>, delta: Value, finish: Option<&str>) {
        self.ensure_role(out);
        self.w.delta(out, 0, delta, finish);
    }

    /// One `reasoning_details` entry, whole, in its own chunk.
    fn detail(&mut self, out: &mut Vec<Bytes>, entry: impl FnOnce(usize) -> Value) {
        let entry = entry(self.details_sent);
        self.details_sent += 1;
        let mut delta = serde_json::Map::new();
        delta.insert(details::FIELD.into(), json!([entry]));
        self.delta(out, Value::Object(delta), None);
    }

    fn on_block_start(&mut self, out: &mut Vec<Bytes>, index: u64, block: ContentBlock) {
        match block {
            ContentBlock::ToolUse { name, .. } if is_json_tool(&name) => {
                self.json_blocks.insert(index);
            }
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                if !thinking.is_empty() {
                    self.count(&thinking);
                    self.delta(out, json!({"reasoning_content": thinking}), None);
                }
                self.thinking.insert(index, (thinking, signature));
            }
            ContentBlock::RedactedThinking { data } => {
                self.detail(out, |n| details::redacted_entry(n, &data));
            }
            ContentBlock::ToolUse { id, name, .. } => {
                let n = self.tool_index.len() as u64;
                self.tool_index.insert(index, n);
                self.count(&name);
                let call = json!({"index": n, "id": id, "type": "function",
                                  "function": {"name": name, "arguments": ""}});
                self.delta(out, json!({"tool_calls": [call]}), None);
            }
            ContentBlock::Text { text } if !text.is_empty() => {
                self.count(&text);
                self.delta(out, json!({"content": text}), None);
            }
            _ => {}
        }
    }

    fn on_block_delta(&mut self, out: &mut Vec<Bytes>, index: u64, delta: Delta) {
        match delta {
            Delta::TextDelta { text } if !text.is_empty() => {
                self.count(&text);
                self.delta(out, json!({"content": text}), None);
            }
            Delta::ThinkingDelta { thinking } if !thinking.is_empty() => {
                self.count(&thinking);
                if let Some((text, _)) = self.thinking.get_mut(&index) {
                    text.push_str(&thinking);
                }
                self.delta(out, json!({"reasoning_content": thinking}), None);
            }
            Delta::SignatureDelta { signature } => {
                if let Some((_, sig)) = self.thinking.get_mut(&index) {
                    sig.push_str(&signature);
                }
            }
            Delta::InputJsonDelta { partial_json } if self.json_blocks.contains(&index) => {
                self.count(&partial_json);
                self.delta(out, json!({"content": partial_json}), None);
            }
            Delta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                // A delta for a block that never started as tool_use has nowhere to go.
                let Some(&n) = self.tool_index.get(&index) else {
                    return;
                };
                self.count(&partial_json);
                let call = json!({"index": n, "function": {"arguments": partial_json}});
                self.delta(out, json!({"tool_calls": [call]}), None);
            }
            _ => {}
        }
    }
}

impl StreamAdapter for AnthropicStream {
    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        let parsed = match serde_json::from_str::<StreamEvent>(&ev.data) {
            Ok(p) => p,
            Err(_) if ev.event.as_deref() == Some("error") => {
                self.done = true;
                let message: String = ev.data.chars().take(300).collect();
                out.push(error_event(&message));
                self.failure = Some(message);
                return;
            }
            // Unreadable non-error events carry nothing we could forward faithfully.
            Err(_) => return,
        };
        match parsed {
            StreamEvent::MessageStart { message } => {
                if !message.id.is_empty() {
                    self.w.id = message.id;
                }
                self.usage.merge(&message.usage);
                self.ensure_role(out);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.on_block_start(out, index, content_block),
            StreamEvent::ContentBlockDelta { index, delta } => {
                self.on_block_delta(out, index, delta)
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.usage.merge(&usage);
                if let Some(reason) = delta.stop_reason.as_deref() {
                    // A turn that only answered through the stand-in tool just stopped.
                    let finish = match reason {
                        "tool_use" if self.tool_index.is_empty() => "stop",
                        r => finish_reason(r),
                    };
                    self.delta(out, json!({}), Some(finish));
                }
            }
            StreamEvent::MessageStop => {
                self.done = true;
                if self.wants_usage {
                    let u = self.usage.to_openai();
                    self.w.usage(out, &u);
                }
            }
            StreamEvent::Error { error } => {
                self.done = true;
                let message = format!("{}: {}", error.kind, error.message);
                out.push(error_event(&message));
                self.failure = Some(message);
            }
            StreamEvent::ContentBlockStop { index } => {
                if let Some((text, sig)) = self.thinking.remove(&index) {
                    if !sig.is_empty() {
                        self.detail(out, |n| details::thinking_entry(n, &text, &sig));
                    }
                }
            }
            StreamEvent::Ping | StreamEvent::Other => {}
        }
    }

    fn usage(&self) -> Option<Usage> {
        (!self.usage.is_unset()).then(|| self.usage.to_openai())
    }

    fn generated_tokens(&self) -> u64 {
        self.tokens.total(&self.w.model)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(&mut self, out: &mut Vec<Bytes>) {
        if !self.closed {
            self.closed = true;
            out.push(Bytes::from_static(DONE_EVENT));
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn error_event(&self, message: &str) -> Bytes {
        error_event(message)
    }
}
