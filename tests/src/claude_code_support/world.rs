//! The world a Claude Code test runs in: one channel serving Claude Code's default model
//! (mapped to the channel's own model on OpenAI and Gemini channels), priced by explicit
//! ratios so the expected quota does not depend on any built-in price.

use super::CLAUDE_CODE_MODEL;
use crate::mock_upstream::RecordedRequest;
use crate::provider_support::{world, ANTHROPIC, GEMINI, GEMINI_MODEL};
use crate::v1_support::{V1World, MODEL};
use serde_json::json;

/// Ratios set for Claude Code's model, so the expected quota does not depend on any
/// built-in price.
const MODEL_RATIO: i64 = 2;
const COMPLETION_RATIO: i64 = 5;

/// `(prompt + completion × completion_ratio) × model_ratio`, whole numbers here.
pub fn expected_quota(prompt: i64, completion: i64) -> i64 {
    (prompt + completion * COMPLETION_RATIO) * MODEL_RATIO
}

/// What the channel sends upstream for Claude Code's model.
pub fn upstream_model(channel_type: i64) -> &'static str {
    match channel_type {
        ANTHROPIC => CLAUDE_CODE_MODEL,
        GEMINI => GEMINI_MODEL,
        _ => MODEL,
    }
}

/// The upstream requests, one line each (bodies cut), for assertion messages.
pub fn describe(requests: &[RecordedRequest]) -> String {
    let lines: Vec<String> = requests
        .iter()
        .map(|r| {
            let body: String = r.body_text().chars().take(1500).collect();
            format!("{} {} {body}", r.method, r.path)
        })
        .collect();
    lines.join("\n")
}

/// A world whose one channel of `channel_type` serves Claude Code's default model
/// (mapped to the channel's own model on OpenAI and Gemini), priced by explicit ratios.
pub async fn claude_world(channel_type: i64) -> V1World {
    let mapped = upstream_model(channel_type);
    let mut channel = json!({"models": [CLAUDE_CODE_MODEL]});
    if mapped != CLAUDE_CODE_MODEL {
        channel["model_mapping"] = json!({ CLAUDE_CODE_MODEL: mapped });
    }
    let w = world(channel_type, channel).await;
    w.set_options(json!({"model_ratio": {CLAUDE_CODE_MODEL: MODEL_RATIO},
                         "completion_ratio": {CLAUDE_CODE_MODEL: COMPLETION_RATIO}}))
        .await;
    w
}
