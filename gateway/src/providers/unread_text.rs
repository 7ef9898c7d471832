//! A stream's generated text when events are passed on without being read. The text is
//! only needed for the fallback token count (an upstream that reports no usage, a client
//! that leaves early), so the events' data is kept as it came and read a few KiB at a time,
//! or at the end if asked. Pass-through adapters share it.

use crate::v1_core::tokens::TokenTally;
use shared::sse::each_verbatim_event;

/// Unread event data kept per stream before its text is counted (memory stays flat).
pub const UNREAD_LIMIT: usize = 16 * 1024;

/// Reads the generated text of unread event data (one event's JSON a line) into a tally.
pub type ReadText = fn(model: &str, unread: &[u8], tokens: &mut TokenTally);

pub struct UnreadText {
    model: String,
    tokens: TokenTally,
    unread: Vec<u8>,
    read: ReadText,
}

impl UnreadText {
    /// `model` picks the tokenizer; `read` knows the provider's event shape.
    pub fn new(model: &str, read: ReadText) -> Self {
        UnreadText {
            model: model.to_string(),
            tokens: TokenTally::default(),
            // A few events' worth up front: most streams keep some.
            unread: Vec::with_capacity(2048),
            read,
        }
    }

    /// Counts text an adapter has read anyway.
    pub fn count(&mut self, text: &str) {
        self.tokens.push(&self.model, text);
    }

    /// Keeps one event's data for later.
    pub fn keep(&mut self, data: &[u8]) {
        if self.unread.len() + data.len() > UNREAD_LIMIT {
            (self.read)(&self.model, &self.unread, &mut self.tokens);
            self.unread.clear();
        }
        self.unread.extend_from_slice(data);
        self.unread.push(b'\n');
    }

    /// Takes a chunk of complete events all of which `passes` lets go on as they came
    /// (`shared::sse::each_verbatim_event`), keeping their data; says whether it did. On
    /// `false` nothing was kept.
    pub fn take_verbatim(
        &mut self,
        chunk: &[u8],
        passes: impl FnMut(Option<&[u8]>, &[u8]) -> bool,
    ) -> bool {
        if !each_verbatim_event(chunk, passes) {
            return false;
        }
        each_verbatim_event(chunk, |_, data| {
            self.keep(data);
            true
        })
    }

    /// Tokens of all the text so far, read or not.
    pub fn total(&self) -> u64 {
        if self.unread.is_empty() {
            return self.tokens.total(&self.model);
        }
        let mut tokens = self.tokens.clone();
        (self.read)(&self.model, &self.unread, &mut tokens);
        tokens.total(&self.model)
    }

    /// Bytes kept unread.
    pub fn unread_len(&self) -> usize {
        self.unread.len()
    }
}
