//! The streaming pipeline shared by every provider: incremental SSE decoding, per-event
//! conversion, immediate forwarding, keep-alive comments, an idle timeout, usage counted
//! on the fly and settlement when the stream ends or the client goes away.

use super::meter::Meter;
use crate::providers::StreamAdapter;
use crate::upstream::BodyStream;
use crate::v1_core::prompt::Prompt;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use shared::openai::Usage;
use shared::sse::{SseDecoder, SseEvent};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone)]
pub struct StreamSettings {
    pub keepalive: Duration,
    pub idle_timeout: Duration,
    /// First-event wait before the stream counts as failed (before any byte is sent).
    pub first_event_timeout: Duration,
    /// Ends the stream when a graceful stop's grace is over.
    pub shutdown: crate::shutdown::ShutdownWatch,
}

/// An upstream stream after its first event: ready to become the client's response.
pub struct OpenedStream {
    upstream: BodyStream,
    decoder: SseDecoder,
    adapter: Box<dyn StreamAdapter>,
    pending: VecDeque<Bytes>,
    prompt: Arc<Prompt>,
}

/// Reads until the first complete event (or fails), so an upstream that errors early
/// still lets the caller answer with a proper HTTP error or try another channel.
pub async fn open(
    mut upstream: BodyStream,
    mut adapter: Box<dyn StreamAdapter>,
    prompt: Arc<Prompt>,
    timeout: Duration,
) -> Result<OpenedStream, String> {
    let mut decoder = SseDecoder::new();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline, upstream.next())
            .await
            .map_err(|_| "upstream sent no event before the timeout".to_string())?;
        let events = match next {
            Some(Ok(chunk)) => decoder.push(&chunk).map_err(|e| e.to_string())?,
            Some(Err(e)) => return Err(format!("upstream stream failed: {e}")),
            None => match decoder.finish().map_err(|e| e.to_string())? {
                Some(ev) => vec![ev],
                None => return Err("upstream closed the stream without sending an event".into()),
            },
        };
        if events.is_empty() {
            continue;
        }
        for ev in &events {
            if let Some(msg) = early_error(ev) {
                return Err(msg);
            }
            adapter.on_event(ev, &mut out);
        }
        return Ok(OpenedStream {
            upstream,
            decoder,
            adapter,
            pending: out.into(),
            prompt,
        });
    }
}

impl OpenedStream {
    /// The content type of the client's response.
    pub fn content_type(&self) -> &'static str {
        self.adapter.content_type()
    }
}

/// An error object as the very first event means the request failed upstream.
fn early_error(ev: &SseEvent) -> Option<String> {
    if ev.event.as_deref() == Some("error") {
        return Some(format!("upstream error: {}", truncate(&ev.data)));
    }
    // Most first events are content: only one that names an error is worth parsing.
    memchr::memmem::find(ev.data.as_bytes(), b"\"error\"")?;
    let v: serde_json::Value = serde_json::from_str(&ev.data).ok()?;
    let e = v.get("error")?;
    if e.is_null() {
        return None;
    }
    let msg = e
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("unknown error");
    Some(format!("upstream error: {}", truncate(msg)))
}

fn truncate(s: &str) -> String {
    s.chars().take(300).collect()
}

struct Pipeline {
    s: OpenedStream,
    meter: Meter,
    settings: StreamSettings,
    last_activity: Instant,
    /// The next keep-alive or idle check. One timer for the stream's life, re-armed only
    /// when it fires: a timer made per upstream chunk was a measurable part of each event.
    timer: Pin<Box<tokio::time::Sleep>>,
    /// Resolves when a graceful stop's grace is over (made once, for the same reason).
    grace: Pin<Box<dyn Future<Output = ()> + Send>>,
    finished: bool,
    /// Counts this stream in `gateway_open_streams` while it lives.
    _open: Option<crate::metrics::OpenStream>,
}

impl Pipeline {
    fn usage(&self) -> Usage {
        match self.s.adapter.usage() {
            Some(u) if !u.is_empty() => {
                // Some servers report only completion tokens in the final chunk.
                let prompt = if u.prompt_tokens == 0 {
                    self.s.prompt.tokens()
                } else {
                    u.prompt_tokens
                };
                Usage {
                    prompt_tokens: prompt,
                    ..u
                }
            }
            _ => Usage::new(self.s.prompt.tokens(), self.s.adapter.generated_tokens()),
        }
    }

    /// Records the outcome and settles before the closing bytes go out, so balances are
    /// final by the time the client sees the end of the stream.
    fn end(&mut self, error: Option<String>) {
        self.finished = true;
        let usage = self.usage();
        self.meter.set_usage(usage);
        match &error {
            None => {
                // An error the upstream itself sent in the stream was already forwarded.
                let upstream_error = self.s.adapter.failure().unwrap_or_default();
                self.meter.set_outcome(200, &upstream_error);
            }
            Some(e) => {
                // The client already has a 200 head; the log row says what really
                // happened, and the stream ends with the error, never with a normal close
                // (`[DONE]`, `message_stop`) that would make a cut answer look complete.
                let status = if e.contains("idle timeout") {
                    504
                } else if e.contains("shutdown") {
                    503
                } else {
                    502
                };
                self.meter.set_outcome(status, e);
                let ev = self.s.adapter.error_event(e);
                self.s.pending.push_back(ev);
                self.meter.hand_over().finish();
                return;
            }
        }
        let mut tail = Vec::new();
        self.s.adapter.finish(&mut tail);
        self.s.pending.extend(tail);
        self.meter.hand_over().finish();
    }

    fn cut_by_shutdown(&mut self) {
        let cut = format!("stream {}", self.settings.shutdown.cut_message());
        self.end(Some(cut));
    }

    fn on_upstream(&mut self, next: Option<Result<Bytes, String>>) {
        self.last_activity = Instant::now();
        match next {
            Some(Ok(chunk)) => self.feed(chunk),
            Some(Err(e)) => self.end(Some(format!("upstream stream failed: {e}"))),
            None => {
                if let Ok(Some(ev)) = self.s.decoder.finish() {
                    let mut out = Vec::new();
                    self.s.adapter.on_event(&ev, &mut out);
                    self.s.pending.extend(out);
                }
                // After an in-stream error the upstream closing is the normal end: that
                // error was forwarded and is what the log shows.
                let complete = self.s.adapter.is_done()
                    || self.s.adapter.completes_at_eof()
                    || self.s.adapter.failure().is_some();
                let error = (!complete).then(|| "upstream closed the stream early".to_string());
                self.end(error);
            }
        }
    }

    /// Silence for the idle timeout ends the stream; silence for the keep-alive interval
    /// sends a keep-alive. Re-arms for the next check.
    fn on_timer(&mut self) {
        let now = Instant::now();
        let silent = now.saturating_duration_since(self.last_activity);
        if silent >= self.settings.idle_timeout {
            self.end(Some("upstream stream idle timeout".into()));
            return;
        }
        let next = if silent >= self.settings.keepalive {
            self.s.pending.push_back(self.s.adapter.keep_alive());
            now + self.settings.keepalive
        } else {
            self.last_activity + self.settings.keepalive
        };
        self.timer.as_mut().reset(next);
    }

    fn feed(&mut self, chunk: Bytes) {
        // Events the client gets exactly as they came skip the decoder and the encoder:
        // the chunk itself goes out.
        if self.s.decoder.at_event_boundary() && self.s.adapter.take_verbatim(&chunk) {
            self.s.pending.push_back(chunk);
            return;
        }
        match self.s.decoder.push(&chunk) {
            Ok(events) => {
                let mut out = Vec::new();
                for ev in &events {
                    self.s.adapter.on_event(ev, &mut out);
                }
                self.s.pending.extend(out);
                if self.s.adapter.is_done() {
                    self.end(None);
                }
            }
            Err(e) => self.end(Some(format!("upstream sent an invalid stream: {e}"))),
        }
    }
}

/// The client-facing byte stream, polled by hand: an `unfold` over an async step built a
/// future and polled a `select!` of three futures per event, a visible share of each.
struct ClientStream {
    p: Box<Pipeline>,
}

impl Stream for ClientStream {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let p = &mut *self.get_mut().p;
        loop {
            if let Some(b) = p.s.pending.pop_front() {
                return Poll::Ready(Some(Ok(b)));
            }
            if p.finished {
                return Poll::Ready(None);
            }
            if let Poll::Ready(next) = p.s.upstream.poll_next_unpin(cx) {
                // An upstream that is always ready must not keep a stop's grace waiting.
                if p.settings.shutdown.is_over() {
                    p.cut_by_shutdown();
                } else {
                    p.on_upstream(next);
                }
                continue;
            }
            // Only while the upstream is quiet: the grace and the timer register to wake us.
            if p.grace.as_mut().poll(cx).is_ready() {
                p.cut_by_shutdown();
                continue;
            }
            if p.timer.as_mut().poll(cx).is_ready() {
                p.on_timer();
                continue;
            }
            return Poll::Pending;
        }
    }
}

/// The client-facing byte stream. Dropping it (client disconnect) drops the upstream
/// response, which closes that connection, and the meter settles what was generated.
pub fn into_client_stream(
    s: OpenedStream,
    meter: Meter,
    settings: StreamSettings,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let now = Instant::now();
    let mut watch = settings.shutdown.clone();
    let p = Pipeline {
        s,
        _open: meter.open_stream(),
        meter,
        timer: Box::pin(tokio::time::sleep_until(now + settings.keepalive)),
        grace: Box::pin(async move { watch.grace_over().await }),
        settings,
        last_activity: now,
        finished: false,
    };
    ClientStream { p: Box::new(p) }
}

/// Updates the meter with what a dropped stream had generated, via `Drop` of the
/// pipeline: the meter's own `Drop` then settles it.
impl Drop for Pipeline {
    fn drop(&mut self) {
        if !self.finished {
            let usage = self.usage();
            self.meter.set_usage(usage);
            if self.settings.shutdown.is_over() {
                let cut = format!("stream {}", self.settings.shutdown.cut_message());
                self.meter.set_outcome(503, &cut);
            } else {
                self.meter
                    .set_outcome(499, "client closed the connection mid-stream");
            }
        }
    }
}
