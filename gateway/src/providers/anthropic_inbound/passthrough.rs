//! Anthropic client on an Anthropic channel: events go out exactly as they came in,
//! read only for billing (usage from `message_start` and `message_delta`).

use crate::providers::unread_text::UnreadText;
use crate::providers::StreamAdapter;
use crate::v1_core::tokens::TokenTally;
use bytes::Bytes;
use shared::anthropic::{ContentBlock, Delta, ErrorBody, StreamEvent, Usage as AnthropicUsage};
use shared::openai::Usage;
use shared::sse::{encode_event, SseEvent};

pub struct AnthropicPassthrough {
    usage: AnthropicUsage,
    done: bool,
    /// The generated text; reads of nothing but content deltas are kept unread.
    text: UnreadText,
    /// The upstream's in-stream error, for the log row.
    failure: Option<String>,
}
/// How Anthropic's `content_block_delta` data starts; other spellings take the slow path.
const DELTA_START: &[u8] = b"{\"type\":\"content_block_delta\"";

impl AnthropicPassthrough {
    /// `model` only picks the tokenizer for the fallback estimate.
    pub fn new(model: &str) -> Self {
        AnthropicPassthrough {
            usage: AnthropicUsage::default(),
            done: false,
            text: UnreadText::new(model, read_deltas),
            failure: None,
        }
    }

    fn count(&mut self, text: &str) {
        self.text.count(text);
    }
}

/// Adds the generated text of unread `content_block_delta` events (one a line) to a tally.
fn read_deltas(model: &str, unread: &[u8], tokens: &mut TokenTally) {
    let events = serde_json::Deserializer::from_slice(unread).into_iter::<StreamEvent>();
    for ev in events.map_while(Result::ok) {
        if let StreamEvent::ContentBlockDelta { delta, .. } = ev {
            if let Some(text) = delta_text(&delta) {
                tokens.push(model, text);
            }
        }
    }
}

/// The generated text a delta carries, if any.
fn delta_text(delta: &Delta) -> Option<&str> {
    match delta {
        Delta::TextDelta { text } => Some(text),
        Delta::InputJsonDelta { partial_json } => Some(partial_json),
        Delta::ThinkingDelta { thinking } => Some(thinking),
        Delta::SignatureDelta { .. } | Delta::Other => None,
    }
}

impl StreamAdapter for AnthropicPassthrough {
    /// Chunks of nothing but content deltas (most of a stream) go on as they came.
    fn take_verbatim(&mut self, chunk: &[u8]) -> bool {
        let delta = |name: Option<&[u8]>, data: &[u8]| {
            name == Some(b"content_block_delta") && data.starts_with(DELTA_START)
        };
        !self.done && self.text.take_verbatim(chunk, delta)
    }

    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if self.done {
            return;
        }
        out.push(ev.to_bytes());
        match serde_json::from_str::<StreamEvent>(&ev.data) {
            Ok(StreamEvent::MessageStart { message }) => self.usage.merge(&message.usage),
            Ok(StreamEvent::MessageDelta { usage, .. }) => self.usage.merge(&usage),
            Ok(StreamEvent::ContentBlockStart {
                content_block: ContentBlock::ToolUse { name, .. },
                ..
            }) => self.count(&name),
            Ok(StreamEvent::ContentBlockDelta { delta, .. }) => {
                if let Some(text) = delta_text(&delta) {
                    self.count(text);
                }
            }
            Ok(StreamEvent::MessageStop) => self.done = true,
            Ok(StreamEvent::Error { error }) => {
                self.done = true;
                self.failure = Some(format!("{}: {}", error.kind, error.message));
            }
            Err(_) if ev.event.as_deref() == Some("error") => {
                self.done = true;
                self.failure = Some(ev.data.chars().take(300).collect());
            }
            _ => {}
        }
    }

    fn usage(&self) -> Option<Usage> {
        (!self.usage.is_unset()).then(|| self.usage.to_openai())
    }

    fn generated_tokens(&self) -> u64 {
        self.text.total()
    }

    fn is_done(&self) -> bool {
        self.done
    }

    /// Anthropic streams end with `message_stop`, which was already forwarded.
    fn finish(&mut self, _out: &mut Vec<Bytes>) {}

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn error_event(&self, message: &str) -> Bytes {
        encode_event("error", &ErrorBody::new("api_error", message).to_json())
    }
}
