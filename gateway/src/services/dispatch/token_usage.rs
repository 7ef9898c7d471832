//! Usage as it is priced: every token counted once, in exactly one of five classes,
//! whatever the provider's own convention.
//!
//! Every path hands the meter OpenAI-shaped usage (`shared::openai::Usage`): the
//! provider converters already fold the other conventions into it —
//! Anthropic's `input_tokens` exclude cache reads and writes, so `to_openai` adds them
//! to `prompt_tokens` (reads also as `cached_tokens`, writes as `cache_write_tokens` /
//! `cache_write_1h_tokens`); Gemini's `promptTokenCount` includes
//! `cachedContentTokenCount` and its candidates exclude thoughts, so thoughts are added to
//! `completion_tokens`; Responses' `input_tokens` include `cached_tokens` as chat's do.
//! Here that one shape is split into what each class costs.

use shared::openai::Usage;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Input tokens neither read from nor written to a prompt cache.
    pub input: u64,
    pub cache_read: u64,
    /// Written to a cache that lives five minutes (or the provider's only kind).
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    /// Generated tokens, reasoning included.
    pub output: u64,
    /// The reasoning part of `output` (shown, not priced apart).
    pub reasoning: u64,
}

impl TokenUsage {
    pub fn from_openai(u: &Usage) -> Self {
        let prompt = u.prompt_tokens;
        // Never more cached than prompt tokens, whatever an upstream claims.
        let cache_read = u.cached_tokens().min(prompt);
        let writes = u.cache_write_tokens().min(prompt - cache_read);
        let cache_write_1h = u.cache_write_1h_tokens().min(writes);
        TokenUsage {
            input: prompt - cache_read - writes,
            cache_read,
            cache_write_5m: writes - cache_write_1h,
            cache_write_1h,
            output: u.completion_tokens,
            reasoning: u.reasoning_tokens().min(u.completion_tokens),
        }
    }

    /// Every input token, cached or not (the log row's `prompt_tokens`).
    pub fn prompt(&self) -> u64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write_5m)
            .saturating_add(self.cache_write_1h)
    }

    /// Cache writes of either lifetime.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m.saturating_add(self.cache_write_1h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(u: &Usage) -> (u64, u64, u64, u64, u64, u64) {
        let t = TokenUsage::from_openai(u);
        (
            t.input,
            t.cache_read,
            t.cache_write_5m,
            t.cache_write_1h,
            t.output,
            t.reasoning,
        )
    }

    #[test]
    fn each_convention_counts_every_token_once() {
        // OpenAI: 100 prompt of which 60 cached; 40 completion of which 25 reasoning.
        let mut openai = Usage::new(100, 40);
        openai.prompt_tokens_details = Some(json!({"cached_tokens": 60}));
        openai.completion_tokens_details = Some(json!({"reasoning_tokens": 25}));
        assert_eq!(split(&openai), (40, 60, 0, 0, 40, 25));

        // Anthropic: input 10 apart from 300 read and 50 written (20 of them for 1 h).
        let anthropic: shared::anthropic::Usage = serde_json::from_value(json!({
            "input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 300,
            "cache_creation_input_tokens": 50,
            "cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 20}
        }))
        .unwrap();
        assert_eq!(split(&anthropic.to_openai()), (10, 300, 30, 20, 7, 0));

        // Gemini: 80 prompt including 30 cached; 12 candidates plus 5 thoughts.
        let gemini: shared::gemini::UsageMetadata = serde_json::from_value(json!({
            "promptTokenCount": 80, "cachedContentTokenCount": 30,
            "candidatesTokenCount": 12, "thoughtsTokenCount": 5, "totalTokenCount": 97
        }))
        .unwrap();
        assert_eq!(split(&gemini.to_openai()), (50, 30, 0, 0, 17, 5));
    }

    #[test]
    fn claims_beyond_the_prompt_are_capped() {
        let mut u = Usage::new(10, 1);
        u.prompt_tokens_details = Some(json!({"cached_tokens": 8, "cache_write_tokens": 9}));
        assert_eq!(split(&u), (0, 8, 2, 0, 1, 0));
    }
}
