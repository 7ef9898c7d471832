//! The two ways Gemini streams `GenerateContentResponse`s: server-sent events with
//! `alt=sse`, or one JSON array written element by element without it.

use bytes::Bytes;
use shared::sse::{encode_data, KEEP_ALIVE};
use std::cell::Cell;

#[derive(Debug, Clone)]
pub struct Framing {
    sse: bool,
    /// Whether the array's `[` went out (set from `&self` methods too, e.g. errors).
    opened: Cell<bool>,
    closed: Cell<bool>,
}

impl Framing {
    pub fn new(sse: bool) -> Self {
        Framing {
            sse,
            opened: Cell::new(false),
            closed: Cell::new(false),
        }
    }

    pub fn is_sse(&self) -> bool {
        self.sse
    }

    /// The response's content type.
    pub fn content_type(&self) -> &'static str {
        if self.sse {
            "text/event-stream"
        } else {
            "application/json"
        }
    }

    /// One element (a JSON object's text).
    pub fn item(&self, json: &str) -> Bytes {
        if self.sse {
            return encode_data(json);
        }
        let sep = if self.opened.replace(true) {
            ",\r\n"
        } else {
            "["
        };
        Bytes::from(format!("{sep}{json}"))
    }

    /// What ends the stream (the array's `]`; nothing for SSE). Only once.
    pub fn close(&self) -> Option<Bytes> {
        if self.sse || self.closed.replace(true) {
            return None;
        }
        let end = if self.opened.replace(true) { "]" } else { "[]" };
        Some(Bytes::from_static(end.as_bytes()))
    }

    /// Idle filler: an SSE comment, or whitespace (valid anywhere between JSON tokens,
    /// and the array's elements always go out whole).
    pub fn keep_alive(&self) -> Bytes {
        if self.sse {
            Bytes::from_static(KEEP_ALIVE)
        } else {
            Bytes::from_static(b"\n")
        }
    }
}
