//! Reasoning of an OpenAI-form request as Gemini's `thinkingConfig` (see
//! `providers::reasoning` for the table and the model families).

use crate::providers::reasoning::families::{self, GeminiStyle};
use crate::providers::reasoning::{Ask, Effort};
use serde_json::{json, Value};
use shared::gemini::GenerationConfig;

/// Adds `thinkingConfig` for the client's reasoning, on models that take it (see
/// `reasoning::families`); thoughts are asked for whenever thinking is on, so they come
/// back as reasoning.
pub fn with_thinking(
    g: Option<GenerationConfig>,
    body: &Value,
    model: &str,
) -> Option<GenerationConfig> {
    let (Some(ask), Some(style)) = (Ask::of_body(body), families::gemini_style(model)) else {
        return g;
    };
    let mut config = match (style, ask.effort) {
        (GeminiStyle::Budget { off, .. }, Some(Effort::None)) => json!({"thinkingBudget": off}),
        (GeminiStyle::Budget { min, max, .. }, _) => {
            let budget = ask
                .budget_tokens()
                .map_or(-1, |b| i64::try_from(b.clamp(min, max)).unwrap_or(-1));
            json!({"thinkingBudget": budget})
        }
        (GeminiStyle::Level { flash }, Some(e)) => {
            json!({"thinkingLevel": families::gemini_level(flash, e)})
        }
        (GeminiStyle::Level { .. }, None) => json!({}),
    };
    config["includeThoughts"] = json!(!ask.is_off());
    let mut g = g.unwrap_or_default();
    g.thinking_config = Some(config);
    Some(g)
}
