//! Anthropic client on an Anthropic channel: events go out exactly as they came in,
//! read only for billing (usage from `message_start` and `message_delta`).

use crate::providers::StreamAdapter;
use crate::v1_core::tokens::TokenTally;
use bytes::Bytes;
use shared::anthropic::{ContentBlock, Delta, ErrorBody, StreamEvent, Usage as AnthropicUsage};
use shared::openai::Usage;
use shared::sse::{each_verbatim_event, encode_event, SseEvent};

pub struct AnthropicPassthrough {
    model: String,
    usage: AnthropicUsage,
    done: bool,
    tokens: TokenTally,
    /// `content_block_delta` events passed on without being read: their text is needed
    /// only when the stream ends without usage, so they are read a few KiB at a time.
    unread: Vec<u8>,
    /// The upstream's in-stream error, for the log row.
    failure: Option<String>,
}

/// Unread deltas kept per stream before their text is counted (memory stays flat).
const UNREAD_LIMIT: usize = 16 * 1024;
/// How Anthropic's `content_block_delta` data starts; other spellings take the slow path.
const DELTA_START: &[u8] = b"{\"type\":\"content_block_delta\"";

impl AnthropicPassthrough {
    /// `model` only picks the tokenizer for the fallback estimate.
    pub fn new(model: &str) -> Self {
        AnthropicPassthrough {
            model: model.to_string(),
            usage: AnthropicUsage::default(),
            done: false,
            tokens: TokenTally::default(),
            unread: Vec::new(),
            failure: None,
        }
    }

    fn count(&mut self, text: &str) {
        self.tokens.push(&self.model, text);
    }

    fn keep_unread(&mut self, data: &[u8]) {
        if self.unread.len() + data.len() > UNREAD_LIMIT {
            let unread = std::mem::take(&mut self.unread);
            tally_deltas(&self.model, &unread, &mut self.tokens);
        }
        self.unread.extend_from_slice(data);
        self.unread.push(b'\n');
    }
}

/// Adds the generated text of unread `content_block_delta` events to a tally.
fn tally_deltas(model: &str, unread: &[u8], tokens: &mut TokenTally) {
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
        if self.done || !each_verbatim_event(chunk, delta) {
            return false;
        }
        each_verbatim_event(chunk, |_, data| {
            self.keep_unread(data);
            true
        })
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
        if self.unread.is_empty() {
            return self.tokens.total(&self.model);
        }
        let mut tokens = self.tokens.clone();
        tally_deltas(&self.model, &self.unread, &mut tokens);
        tokens.total(&self.model)
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
