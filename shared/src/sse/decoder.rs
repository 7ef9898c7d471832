//! The incremental decoder behind [`SseDecoder`](super::SseDecoder).

use super::{SseError, SseEvent, SseFrame, DEFAULT_MAX_EVENT_BYTES};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Incremental SSE decoder; see the [`crate::sse`] docs for the rules it follows.
#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes of the current, unterminated line (complete lines are consumed at once).
    buf: Vec<u8>,
    /// How much of `buf` is already known to hold no line terminator.
    scanned: usize,
    /// The previous line ended in `\r`; a `\n` arriving next belongs to it.
    skip_lf: bool,
    bom_checked: bool,
    poisoned: bool,
    max_event_bytes: usize,
    pending: Pending,
    last_event_id: Option<String>,
    retry_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct Pending {
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl Pending {
    fn size(&self) -> usize {
        self.data.len()
            + self.event.as_ref().map_or(0, String::len)
            + self.id.as_ref().map_or(0, String::len)
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default 4 MiB event limit.
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A decoder that fails once one event exceeds `max` bytes.
    pub fn with_max_event_bytes(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            scanned: 0,
            skip_lf: false,
            bom_checked: false,
            poisoned: false,
            max_event_bytes: max,
            pending: Pending::default(),
            last_event_id: None,
            retry_ms: None,
        }
    }

    /// The most recent `id:` value seen (persists across events, as in the spec).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The most recent valid `retry:` value, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Whether the decoder holds nothing of an unfinished line or event, so a chunk made
    /// only of complete events could be handled without it (and skipped here) while its
    /// state stays correct for the next chunk.
    pub fn at_event_boundary(&self) -> bool {
        self.buf.is_empty()
            && !self.skip_lf
            && self.bom_checked
            && !self.poisoned
            && !self.pending.has_data
            && self.pending.event.is_none()
            && self.pending.id.is_none()
    }

    /// Feeds bytes and returns the events completed by them; comments are skipped.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        self.feed(chunk, &mut |frame| {
            if let SseFrame::Event(event) = frame {
                events.push(event);
            }
        })?;
        Ok(events)
    }

    /// Like [`push`](Self::push) but also yields comment lines, in stream order.
    pub fn push_frames(&mut self, chunk: &[u8]) -> Result<Vec<SseFrame>, SseError> {
        let mut frames = Vec::new();
        self.feed(chunk, &mut |frame| frames.push(frame))?;
        Ok(frames)
    }

    /// Ends the stream: a trailing line without terminator and an event without the final
    /// blank line are processed as if the terminators had arrived. The decoder is reset.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        self.check_poison()?;
        let mut last = None;
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            let start = if !self.bom_checked && line.starts_with(BOM) {
                BOM.len()
            } else {
                0
            };
            if let Err(err) = self.process_line(&line[start..], &mut |_| {}) {
                self.poisoned = true;
                self.pending = Pending::default();
                return Err(err);
            }
        }
        self.dispatch(&mut |frame| {
            if let SseFrame::Event(event) = frame {
                last = Some(event);
            }
        });
        let max = self.max_event_bytes;
        *self = Self::with_max_event_bytes(max);
        Ok(last)
    }

    fn check_poison(&self) -> Result<(), SseError> {
        if self.poisoned {
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(SseFrame)) -> Result<(), SseError> {
        self.check_poison()?;
        self.buf.extend_from_slice(chunk);
        if !self.bom_checked {
            // Wait until three bytes decide whether the stream starts with a BOM.
            if self.buf.len() < BOM.len() && BOM.starts_with(&self.buf) {
                return Ok(());
            }
            if self.buf.starts_with(BOM) {
                self.buf.drain(..BOM.len());
            }
            self.bom_checked = true;
        }
        let result = self.consume_lines(out);
        if result.is_err() {
            self.poisoned = true;
            self.buf = Vec::new();
            self.pending = Pending::default();
        }
        result
    }

    fn consume_lines(&mut self, out: &mut dyn FnMut(SseFrame)) -> Result<(), SseError> {
        let mut start = 0;
        if self.skip_lf && !self.buf.is_empty() {
            if self.buf[0] == b'\n' {
                start = 1;
            }
            self.skip_lf = false;
        }
        let mut pos = self.scanned.max(start);
        while let Some(offset) = memchr::memchr2(b'\n', b'\r', &self.buf[pos..]) {
            let end = pos + offset;
            let line = std::mem::take(&mut self.buf);
            let result = self.process_line(&line[start..end], out);
            self.buf = line;
            result?;
            start = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(start) {
                    Some(b'\n') => start += 1,
                    Some(_) => {}
                    // The `\n` may still be in flight; skip it if it is the next byte.
                    None => self.skip_lf = true,
                }
            }
            pos = start;
        }
        // Only the unterminated tail remains; it came from this chunk, so the copy is cheap.
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        self.check_size(self.buf.len())
    }

    fn check_size(&self, extra: usize) -> Result<(), SseError> {
        if self.pending.size().saturating_add(extra) > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut dyn FnMut(SseFrame)) -> Result<(), SseError> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => {
                out(SseFrame::Comment(lossy(strip_space(&line[1..]))));
                return Ok(());
            }
            Some(colon) => (&line[..colon], strip_space(&line[colon + 1..])),
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.pending.has_data {
                    self.pending.data.push('\n');
                }
                push_text(&mut self.pending.data, value);
                self.pending.has_data = true;
            }
            b"event" => self.pending.event = Some(lossy(value)),
            // The spec ignores ids containing NUL (they could not be sent back as a header).
            b"id" if !value.contains(&0) => {
                let id = lossy(value);
                self.last_event_id = Some(id.clone());
                self.pending.id = Some(id);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry_ms = lossy(value).parse().ok();
            }
            _ => {}
        }
        self.check_size(0)
    }

    fn dispatch(&mut self, out: &mut dyn FnMut(SseFrame)) {
        let pending = std::mem::take(&mut self.pending);
        // Per the spec, an event without any data line is dropped (its fields reset).
        if pending.has_data {
            out(SseFrame::Event(SseEvent {
                event: pending.event.filter(|e| !e.is_empty()),
                data: pending.data,
                id: pending.id,
            }));
        }
    }
}

fn strip_space(value: &[u8]) -> &[u8] {
    value.strip_prefix(b" ").unwrap_or(value)
}

/// Appends `bytes` as text: checked the fast way first (`from_utf8_lossy` walks byte by
/// byte even when, as nearly always, the text is valid).
fn push_text(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

fn lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_text(&mut out, bytes);
    out
}
