//! Anthropic client on an Anthropic channel: events go out exactly as they came in,
//! read only for billing (usage from `message_start` and `message_delta`).

use crate::providers::StreamAdapter;
use crate::v1_core::tokens::TokenTally;
use bytes::Bytes;
use shared::anthropic::{ContentBlock, Delta, ErrorBody, StreamEvent, Usage as AnthropicUsage};
use shared::openai::Usage;
use shared::sse::{encode_event, SseEvent};

pub struct AnthropicPassthrough {
    model: String,
    usage: AnthropicUsage,
    done: bool,
    tokens: TokenTally,
    /// The upstream's in-stream error, for the log row.
    failure: Option<String>,
}

impl AnthropicPassthrough {
    /// `model` only picks the tokenizer for the fallback estimate.
    pub fn new(model: &str) -> Self {
        AnthropicPassthrough {
            model: model.to_string(),
            usage: AnthropicUsage::default(),
            done: false,
            tokens: TokenTally::default(),
            failure: None,
        }
    }

    fn count(&mut self, text: &str) {
        self.tokens.push(&self.model, text);
    }
}

impl StreamAdapter for AnthropicPassthrough {
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
            Ok(StreamEvent::ContentBlockDelta { delta, .. }) => match delta {
                Delta::TextDelta { text } => self.count(&text),
                Delta::InputJsonDelta { partial_json } => self.count(&partial_json),
                Delta::ThinkingDelta { thinking } => self.count(&thinking),
                Delta::SignatureDelta { .. } | Delta::Other => {}
            },
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
        self.tokens.total(&self.model)
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
