//! Incremental Server-Sent Events decoder and encoder.
//!
//! The decoder follows the WHATWG "event stream interpretation" rules: `\n`, `\r\n` and
//! `\r` line endings, a leading BOM, `event`/`data`/`id`/`retry` fields, comments, and the
//! optional single space after the colon. Bytes may be split anywhere across `push` calls
//! (inside a UTF-8 character, between `\r` and `\n`); lines are only decoded once complete.
//!
//! Invalid UTF-8 inside a complete line is replaced with U+FFFD (lossy) rather than
//! reported: a relay should keep going on a slightly broken upstream, and the JSON parse
//! of the data that follows will flag real damage anyway.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

mod decoder;
mod encode;
mod verbatim;

pub use decoder::SseDecoder;
pub use encode::{done_event, encode_comment, encode_data, encode_event, keep_alive};
use encode::{put_data_lines, put_field, single_line};
pub use verbatim::each_verbatim_event;

/// Default upper bound on one event (pending line + accumulated fields), in bytes.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// A comment used to keep idle connections open; decoders skip it.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The OpenAI end-of-stream marker event.
pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field of this event, if any (`None` means the default "message").
    pub event: Option<String>,
    /// All `data:` lines of the event joined with `\n`.
    pub data: String,
    /// The `id:` field set within this event, if any.
    pub id: Option<String>,
}

impl SseEvent {
    /// An unnamed event carrying `data`.
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            event: None,
            data: data.into(),
            id: None,
        }
    }

    /// A named event carrying `data`.
    pub fn named(event: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            event: Some(event.into()),
            data: data.into(),
            id: None,
        }
    }

    /// True for OpenAI's `data: [DONE]` terminator.
    pub fn is_done(&self) -> bool {
        self.data.trim() == "[DONE]"
    }

    /// The event name, defaulting to `"message"` as the SSE spec does.
    pub fn event_name(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    /// Parses `data` as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }

    /// Encodes the event back to wire bytes (`id`, `event`, then `data` lines).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.data.len() + 32);
        if let Some(id) = &self.id {
            put_field(&mut out, "id", &single_line(id));
        }
        if let Some(event) = &self.event {
            put_field(&mut out, "event", &single_line(event));
        }
        put_data_lines(&mut out, &self.data);
        out.put_u8(b'\n');
        out.freeze()
    }
}

/// What the decoder yields when asked for comments too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseFrame {
    /// A dispatched event.
    Event(SseEvent),
    /// A comment line's text (after `:` and one optional space), e.g. `keep-alive`.
    Comment(String),
}

/// Decoding failure. After an error the decoder is poisoned and keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseError {
    /// An event (or a single unterminated line) grew beyond the configured limit.
    EventTooLarge {
        /// The configured maximum, in bytes.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventTooLarge { limit } => {
                write!(f, "server-sent event larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

#[cfg(test)]
mod tests;
