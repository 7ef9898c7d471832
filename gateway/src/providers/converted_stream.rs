//! A client dialect's stream made from OpenAI chunks. The channel's own adapter (the
//! inner one) turns upstream events into OpenAI chunks; a [`Conversion`] turns those into
//! the dialect's events. What every such pair shares lives here once: the inner output
//! goes through an SSE decoder, usage, the end marker and the upstream's failure are the
//! inner adapter's, the stream ends once, and nothing follows an error event.

use super::StreamAdapter;
use bytes::Bytes;
use serde_json::Value;
use shared::openai::Usage;
use shared::sse::{SseDecoder, SseEvent};
use std::cell::Cell;

/// What one dialect does with OpenAI chunks; the rest is [`ConvertedStream`]'s.
pub trait Conversion {
    /// One chunk of the inner adapter's output: never `[DONE]`, never an error (those go
    /// to [`Conversion::error_event`]). `inner` tells the usage seen so far.
    fn on_chunk(&mut self, chunk: &Value, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>);
    /// The end of a stream that saw no error: close what is open, report usage.
    fn finish(&mut self, inner: &dyn StreamAdapter, out: &mut Vec<Bytes>);
    /// An error event in the dialect's shape (upstream errors and the gateway's own).
    fn error_event(&self, message: &str) -> Bytes;
    /// What must reach the client before an upstream error's event.
    fn before_error(&mut self, _out: &mut Vec<Bytes>) {}
    /// What ends every stream, failed or not.
    fn end(&mut self, _out: &mut Vec<Bytes>) {}
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }
    fn keep_alive(&self) -> Bytes {
        Bytes::from_static(shared::sse::KEEP_ALIVE)
    }
}

pub struct ConvertedStream<C> {
    inner: Box<dyn StreamAdapter>,
    decoder: SseDecoder,
    conversion: C,
    /// Set by `error_event` (which only gets `&self`): nothing may follow an error.
    errored: Cell<bool>,
    ended: bool,
}

impl<C: Conversion> ConvertedStream<C> {
    /// Puts `conversion` behind the channel's OpenAI-producing adapter.
    pub fn wrap(inner: Box<dyn StreamAdapter>, conversion: C) -> Self {
        ConvertedStream {
            inner,
            decoder: SseDecoder::new(),
            conversion,
            errored: Cell::new(false),
            ended: false,
        }
    }

    /// For the dialects' builder methods (the prompt estimate they report without usage).
    pub(super) fn conversion_mut(&mut self) -> &mut C {
        &mut self.conversion
    }

    fn feed(&mut self, produced: Vec<Bytes>, out: &mut Vec<Bytes>) {
        for b in produced {
            // The inner adapter emits whole events, so decoding cannot fail; a bad chunk's
            // events would simply be skipped.
            let events = self.decoder.push(&b).unwrap_or_default();
            for ev in &events {
                self.on_openai(ev, out);
            }
        }
    }

    fn on_openai(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        if ev.is_done() || self.errored.get() {
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return;
        };
        if let Some(e) = chunk.get("error").filter(|e| !e.is_null()) {
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error");
            self.conversion.before_error(out);
            out.push(self.error_event(message));
            return;
        }
        self.conversion.on_chunk(&chunk, self.inner.as_ref(), out);
    }
}

impl<C: Conversion> StreamAdapter for ConvertedStream<C> {
    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<Bytes>) {
        let mut produced = Vec::new();
        self.inner.on_event(ev, &mut produced);
        self.feed(produced, out);
    }

    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }

    fn generated_tokens(&self) -> u64 {
        self.inner.generated_tokens()
    }

    fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    fn failure(&self) -> Option<String> {
        self.inner.failure()
    }

    fn completes_at_eof(&self) -> bool {
        self.inner.completes_at_eof()
    }

    fn finish(&mut self, out: &mut Vec<Bytes>) {
        let mut produced = Vec::new();
        self.inner.finish(&mut produced);
        self.feed(produced, out);
        if !self.ended && !self.errored.get() {
            self.ended = true;
            self.conversion.finish(self.inner.as_ref(), out);
        }
        self.conversion.end(out);
    }

    fn error_event(&self, message: &str) -> Bytes {
        self.errored.set(true);
        self.conversion.error_event(message)
    }

    fn content_type(&self) -> &'static str {
        self.conversion.content_type()
    }

    fn keep_alive(&self) -> Bytes {
        self.conversion.keep_alive()
    }
}
