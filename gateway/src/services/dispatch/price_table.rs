//! The built-in price table: list prices of well-known OpenAI, Anthropic and Gemini models,
//! used for every ratio the operator has not set (option `builtin_prices`, on by default).
//!
//! Prices are USD per million tokens as the providers published them in late 2025
//! (standard tier, prompts under 200K tokens). They become ratios in the gateway's unit:
//! `model_ratio` 1 = $2 per million input tokens (500 000 quota = $1, one quota per
//! token), the other ratios relative to the model's own input price.

/// One model's prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListPrice {
    pub model: &'static str,
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    /// A 5-minute cache write (Anthropic); providers that do not charge writes: `input`.
    pub cache_write: f64,
    /// A 1-hour cache write (Anthropic); otherwise `input`.
    pub cache_write_1h: f64,
}

/// The ratios one table entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct TableRatios {
    pub model_ratio: f64,
    pub completion_ratio: f64,
    pub cache_read_ratio: f64,
    pub cache_write_ratio: f64,
    pub cache_write_1h_ratio: f64,
}

/// USD per million input tokens that `model_ratio` 1 stands for.
const USD_PER_MILLION_AT_RATIO_1: f64 = 2.0;

/// OpenAI: cached input at a discount, no charge for writing the cache.
const fn openai(model: &'static str, input: f64, output: f64, cache_read: f64) -> ListPrice {
    ListPrice {
        model,
        input,
        output,
        cache_read,
        cache_write: input,
        cache_write_1h: input,
    }
}

/// Anthropic: reads 0.1×, 5-minute writes 1.25×, 1-hour writes 2× the input price.
const fn anthropic(model: &'static str, input: f64, output: f64) -> ListPrice {
    ListPrice {
        model,
        input,
        output,
        cache_read: input * 0.1,
        cache_write: input * 1.25,
        cache_write_1h: input * 2.0,
    }
}

/// Gemini: cached tokens at a discount; creating a cache is billed as input (its storage
/// per hour is not a token price and is not charged here).
const fn gemini(model: &'static str, input: f64, output: f64, cache_read: f64) -> ListPrice {
    openai(model, input, output, cache_read)
}

pub const TABLE: &[ListPrice] = &[
    openai("gpt-5.1", 1.25, 10.0, 0.125),
    openai("gpt-5", 1.25, 10.0, 0.125),
    openai("gpt-5-mini", 0.25, 2.0, 0.025),
    openai("gpt-5-nano", 0.05, 0.40, 0.005),
    openai("gpt-4.1", 2.0, 8.0, 0.50),
    openai("gpt-4.1-mini", 0.40, 1.60, 0.10),
    openai("gpt-4.1-nano", 0.10, 0.40, 0.025),
    openai("gpt-4o", 2.50, 10.0, 1.25),
    openai("gpt-4o-mini", 0.15, 0.60, 0.075),
    openai("o1", 15.0, 60.0, 7.50),
    openai("o3", 2.0, 8.0, 0.50),
    openai("o3-mini", 1.10, 4.40, 0.55),
    openai("o4-mini", 1.10, 4.40, 0.275),
    anthropic("claude-opus-4-5", 5.0, 25.0),
    anthropic("claude-opus-4-1", 15.0, 75.0),
    anthropic("claude-opus-4", 15.0, 75.0),
    anthropic("claude-sonnet-4-5", 3.0, 15.0),
    anthropic("claude-sonnet-4", 3.0, 15.0),
    anthropic("claude-3-7-sonnet", 3.0, 15.0),
    anthropic("claude-haiku-4-5", 1.0, 5.0),
    anthropic("claude-3-5-haiku", 0.80, 4.0),
    gemini("gemini-3-pro-preview", 2.0, 12.0, 0.20),
    gemini("gemini-2.5-pro", 1.25, 10.0, 0.125),
    gemini("gemini-2.5-flash", 0.30, 2.50, 0.03),
    gemini("gemini-2.5-flash-lite", 0.10, 0.40, 0.01),
    gemini("gemini-2.0-flash", 0.10, 0.40, 0.025),
    gemini("gemini-2.0-flash-lite", 0.075, 0.30, 0.075),
];

/// Six decimals are plenty for a price and keep `0.03 / 0.3` from becoming
/// `0.09999999999999999`.
fn tidy(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl ListPrice {
    pub fn ratios(&self) -> TableRatios {
        let of_input = |usd: f64| {
            if self.input > 0.0 {
                tidy(usd / self.input)
            } else {
                1.0
            }
        };
        TableRatios {
            model_ratio: tidy(self.input / USD_PER_MILLION_AT_RATIO_1),
            completion_ratio: of_input(self.output),
            cache_read_ratio: of_input(self.cache_read),
            cache_write_ratio: of_input(self.cache_write),
            cache_write_1h_ratio: of_input(self.cache_write_1h),
        }
    }
}

/// Whether `model` is `name` or one of its dated snapshots (`name-20250929`,
/// `name-2025-08-07`, `name-latest`). Other suffixes are other models
/// (`gpt-4o-mini` is not `gpt-4o`), so they never borrow a price.
fn names(name: &str, model: &str) -> bool {
    match model.strip_prefix(name) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('-').is_some_and(|s| {
            s == "latest" || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '-'))
        }),
        None => false,
    }
}

/// The table entry for a model name (the longest matching name wins, so
/// `claude-opus-4-1-20250805` is Opus 4.1 and not Opus 4).
pub fn find(model: &str) -> Option<&'static ListPrice> {
    TABLE
        .iter()
        .filter(|p| names(p.model, model))
        .max_by_key(|p| p.model.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_find_their_model_and_other_models_do_not() {
        let m = |name: &str| find(name).map(|p| p.model);
        assert_eq!(m("claude-sonnet-4-5-20250929"), Some("claude-sonnet-4-5"));
        assert_eq!(m("claude-opus-4-1-20250805"), Some("claude-opus-4-1"));
        assert_eq!(m("claude-opus-4-20250514"), Some("claude-opus-4"));
        assert_eq!(m("gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini"));
        assert_eq!(m("gpt-4o"), Some("gpt-4o"));
        assert_eq!(m("o3-pro"), None);
        assert_eq!(m("gpt-4o-audio-preview"), None);
        assert_eq!(m("my-model"), None);
    }

    #[test]
    fn ratios_are_in_the_gateway_unit() {
        let r = |name: &str| find(name).map(ListPrice::ratios);
        let sonnet = r("claude-sonnet-4-5").unwrap();
        assert_eq!(
            (
                sonnet.model_ratio,
                sonnet.completion_ratio,
                sonnet.cache_read_ratio,
                sonnet.cache_write_ratio,
                sonnet.cache_write_1h_ratio
            ),
            (1.5, 5.0, 0.1, 1.25, 2.0)
        );
        let mini = r("gpt-4o-mini").unwrap();
        assert_eq!(
            (
                mini.model_ratio,
                mini.completion_ratio,
                mini.cache_read_ratio
            ),
            (0.075, 4.0, 0.5)
        );
        let flash = r("gemini-2.5-flash").unwrap();
        assert_eq!((flash.model_ratio, flash.cache_read_ratio), (0.15, 0.1));
        assert_eq!(flash.completion_ratio, 8.333333);
    }

    #[test]
    fn every_entry_is_within_the_option_bounds() {
        for p in TABLE {
            let r = p.ratios();
            for x in [
                r.model_ratio,
                r.completion_ratio,
                r.cache_read_ratio,
                r.cache_write_ratio,
                r.cache_write_1h_ratio,
            ] {
                assert!(x > 0.0 && x <= 1000.0, "{}: {x}", p.model);
            }
        }
    }
}
