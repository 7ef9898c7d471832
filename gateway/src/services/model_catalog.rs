//! What the gateway knows about well-known model families: the output limit used when a
//! client sets none, the most a model may be asked for, whether it is a reasoning model
//! (OpenAI's take `max_completion_tokens`, not `max_tokens`) and the smallest answer worth
//! calling the upstream for. One table, matched by name prefix; prices live elsewhere
//! (`services/dispatch/billing.rs`), but an entry has room for more fields: add one to
//! `Entry` and to the family bases below, and every entry inherits it.
//!
//! Figures are the providers' published output limits (late 2025). For OpenAI and Gemini
//! models the default equals the maximum, which is what those upstreams do when a request
//! names no limit; Anthropic requires a limit, and its default here is what Claude Code
//! asks for (32,000) or the model's maximum when that is lower.

/// The smallest answer for a non-reasoning model: a balance that cannot pay for the
/// prompt and this many output tokens is refused before any upstream call.
pub const MIN_ANSWER: u64 = 16;
/// The same for reasoning models, whose hidden reasoning counts as output: with fewer
/// than about a thousand tokens they often end before writing any answer.
pub const MIN_ANSWER_REASONING: u64 = 1024;
/// The default for a model the table does not know (its maximum is not known).
pub const UNKNOWN_DEFAULT_OUTPUT: u64 = 8192;

/// Output limits of one model (or the fallback for unknown ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// The family the name matched (`"unknown"` for the fallback), for logs and docs.
    pub family: &'static str,
    /// Output tokens planned for when the client sets no limit.
    pub default_output: u64,
    /// The most output tokens the model accepts; `None` when not known.
    pub max_output: Option<u64>,
    /// Reasons before answering (OpenAI: takes `max_completion_tokens`).
    pub reasoning: bool,
    /// The minimal answer (see [`MIN_ANSWER`]).
    pub min_answer: u64,
}

impl ModelLimits {
    /// `requested` (or the default when the client set none), at most the maximum.
    pub fn planned(&self, requested: Option<u64>) -> u64 {
        let want = requested.unwrap_or(self.default_output);
        self.max_output.map_or(want, |max| want.min(max))
    }
}

/// One row of the table: names starting with `prefix` (lower case) have these limits.
#[derive(Debug, Clone, Copy)]
struct Entry {
    prefix: &'static str,
    limits: ModelLimits,
}

const fn limits(family: &'static str, default: u64, max: u64, reasoning: bool) -> ModelLimits {
    ModelLimits {
        family,
        default_output: default,
        max_output: Some(max),
        reasoning,
        min_answer: if reasoning {
            MIN_ANSWER_REASONING
        } else {
            MIN_ANSWER
        },
    }
}

const fn openai(prefix: &'static str, max: u64, reasoning: bool) -> Entry {
    Entry {
        prefix,
        limits: limits("openai", max, max, reasoning),
    }
}

const fn claude(prefix: &'static str, max: u64) -> Entry {
    let default = if max < 32_000 { max } else { 32_000 };
    Entry {
        prefix,
        limits: limits("anthropic", default, max, false),
    }
}

const fn gemini(prefix: &'static str, max: u64, reasoning: bool) -> Entry {
    Entry {
        prefix,
        limits: limits("gemini", max, max, reasoning),
    }
}

/// The table; the first matching prefix wins, so longer names come first.
const CATALOG: &[Entry] = &[
    // OpenAI: GPT-5 reasons except the chat variant; o-series reason.
    openai("gpt-5-chat", 16_384, false),
    openai("gpt-5", 128_000, true),
    openai("gpt-4.1", 32_768, false),
    openai("gpt-4o-2024-05-13", 4_096, false),
    openai("gpt-4o", 16_384, false),
    openai("chatgpt-4o", 16_384, false),
    openai("gpt-4-turbo", 4_096, false),
    openai("gpt-4", 8_192, false),
    openai("gpt-3.5-turbo", 4_096, false),
    openai("o1-preview", 32_768, true),
    openai("o1-mini", 65_536, true),
    openai("o1", 100_000, true),
    openai("o3", 100_000, true),
    openai("o4-mini", 100_000, true),
    // Anthropic, by both naming schemes (claude-sonnet-4-5, claude-3-7-sonnet).
    claude("claude-opus-4-5", 64_000),
    claude("claude-opus-4.5", 64_000),
    claude("claude-opus-4-1", 32_000),
    claude("claude-opus-4-0", 32_000),
    // Opus 4.0's dated name; later Opus 4.x models write longer answers.
    claude("claude-opus-4-2025", 32_000),
    claude("claude-opus-4", 128_000),
    claude("claude-sonnet-4", 64_000),
    claude("claude-haiku-4", 64_000),
    claude("claude-3-7-sonnet", 64_000),
    claude("claude-3-5-sonnet", 8_192),
    claude("claude-3-5-haiku", 8_192),
    claude("claude-3", 4_096),
    // Gemini: 2.5 Pro and Flash and 3.x think by default; Flash-Lite does not.
    gemini("gemini-3", 65_536, true),
    gemini("gemini-2.5-flash-lite", 65_536, false),
    gemini("gemini-2.5", 65_536, true),
    gemini("gemini-2.0", 8_192, false),
    gemini("gemini-1.5", 8_192, false),
];

const UNKNOWN: ModelLimits = ModelLimits {
    family: "unknown",
    default_output: UNKNOWN_DEFAULT_OUTPUT,
    max_output: None,
    reasoning: false,
    min_answer: MIN_ANSWER,
};

/// The limits for a model name as a client or a channel spells it (case, a `models/`
/// or `vendor/` prefix and date suffixes do not matter).
pub fn lookup(model: &str) -> ModelLimits {
    // Names are nearly always lower case already: copied only when not.
    let lower = if model.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(model.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(model)
    };
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    CATALOG
        .iter()
        .find(|e| name.starts_with(e.prefix))
        .map_or(UNKNOWN, |e| e.limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_match_by_prefix_and_longer_names_win() {
        assert_eq!(lookup("gpt-4o-mini").max_output, Some(16_384));
        assert!(!lookup("gpt-4o-mini").reasoning);
        assert!(lookup("gpt-5-mini-2025-08-07").reasoning);
        assert!(!lookup("gpt-5-chat-latest").reasoning);
        assert!(lookup("o3-mini").reasoning);
        assert!(lookup("o1-mini").reasoning);
        assert_eq!(lookup("o1-mini").max_output, Some(65_536));
        assert_eq!(lookup("claude-opus-4-1-20250805").max_output, Some(32_000));
        assert_eq!(lookup("claude-opus-4-5-20251101").max_output, Some(64_000));
        assert_eq!(lookup("claude-opus-4-20250514").max_output, Some(32_000));
        // Claude Code's default model asks for 64,000: a newer Opus is not cut to 32,000.
        assert_eq!(lookup("claude-opus-4-8").max_output, Some(128_000));
        assert_eq!(lookup("claude-sonnet-4-5").default_output, 32_000);
        assert_eq!(lookup("claude-3-5-haiku-latest").default_output, 8_192);
        assert_eq!(lookup("models/gemini-2.5-pro").family, "gemini");
        assert!(!lookup("gemini-2.5-flash-lite").reasoning);
        assert_eq!(lookup("openai/GPT-4.1").max_output, Some(32_768));
    }

    #[test]
    fn unknown_models_get_the_fallback_and_no_maximum() {
        let l = lookup("my-local-llama");
        assert_eq!(l, UNKNOWN);
        assert_eq!(l.planned(None), UNKNOWN_DEFAULT_OUTPUT);
        assert_eq!(l.planned(Some(1_000_000)), 1_000_000);
    }

    #[test]
    fn planned_output_is_the_request_or_default_within_the_maximum() {
        let l = lookup("claude-3-5-sonnet-20241022");
        assert_eq!(l.planned(None), 8_192);
        assert_eq!(l.planned(Some(100)), 100);
        assert_eq!(l.planned(Some(50_000)), 8_192);
        assert_eq!(lookup("o4-mini").min_answer, MIN_ANSWER_REASONING);
        assert_eq!(lookup("gpt-4o").min_answer, MIN_ANSWER);
    }
}
