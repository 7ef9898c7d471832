//! The size of a client's prompt, as the call reserves for it and bills it when the
//! upstream reports no usage.

use super::tokens::{count_tokens, estimate_tokens};
use std::sync::OnceLock;

/// The prompt's size in tokens: a quick estimate for reserving quota, and the model's
/// tokenizer count, worked out only when an upstream reports no usage (tokenizing every
/// request would cost more CPU than the rest of the gateway's own work).
pub struct Prompt {
    model: String,
    text: String,
    overhead: u64,
    estimate: u64,
    counted: OnceLock<u64>,
}

impl Prompt {
    pub fn new(model: &str, text: String, overhead: u64) -> Self {
        Prompt {
            model: model.to_string(),
            estimate: estimate_tokens(&text).saturating_add(overhead),
            text,
            overhead,
            counted: OnceLock::new(),
        }
    }

    /// A generous estimate (never below the usual tokenizer count for text).
    pub fn estimate(&self) -> u64 {
        self.estimate
    }

    /// The tokenizer's count.
    pub fn tokens(&self) -> u64 {
        *self
            .counted
            .get_or_init(|| count_tokens(&self.model, &self.text).saturating_add(self.overhead))
    }
}
