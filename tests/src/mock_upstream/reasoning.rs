//! Reasoning and structured output in the default replies, only when the request asks
//! for them (as the real providers do):
//!
//! - Anthropic `thinking` (enabled or adaptive): a signed thinking block
//!   ([`THINKING_TEXT`], [`THINKING_SIGNATURE`]) opens the answer. Like Anthropic, a
//!   request with thinking on whose last assistant turn used tools must open that turn
//!   with its thinking, and every replayed thinking block must carry the mock's
//!   signature; otherwise the answer is a 400.
//! - OpenAI chat `reasoning_effort` (other than `none`): `reasoning_content`
//!   ([`REASONING_TEXT`]) before the answer, as reasoning OpenAI-compatible servers send.
//! - Gemini thoughts come from `gemini.rs` (`includeThoughts`).
//! - Structured output (Anthropic `output_config.format` / `output_format`, OpenAI
//!   `response_format` json, Gemini `responseMimeType: application/json`): the answer
//!   text is [`STRUCTURED_JSON`].

use serde_json::{json, Value};

use super::content::Intent;

/// The thinking the Anthropic mock sends when thinking is on.
pub const THINKING_TEXT: &str = "Let me think this through. ";
/// The signature on that thinking (and the only one it accepts back).
pub const THINKING_SIGNATURE: &str = "c2lnbmVkLWJ5LXRoZS1tb2Nr";
/// The `reasoning_content` the OpenAI mock sends when asked for reasoning.
pub const REASONING_TEXT: &str = "Reasoning step by step. ";
/// The answer text to every structured-output request.
pub const STRUCTURED_JSON: &str = r#"{"city":"Paris","temperature":21}"#;

/// Whether an Anthropic request has thinking on.
pub(crate) fn anthropic_thinking(body: &Value) -> bool {
    matches!(
        body["thinking"]["type"].as_str(),
        Some("enabled" | "adaptive")
    )
}

/// Whether an OpenAI chat request asked for reasoning.
pub(crate) fn openai_reasoning(body: &Value) -> bool {
    body["reasoning_effort"]
        .as_str()
        .is_some_and(|e| e != "none")
}

/// The intent with the structured answer when the request asked for JSON.
pub(crate) fn structured(mut intent: Intent, body: &Value) -> Intent {
    let anthropic = body["output_config"]["format"]["type"] == "json_schema"
        || body["output_format"]["type"] == "json_schema";
    let openai = matches!(
        body["response_format"]["type"].as_str(),
        Some("json_schema" | "json_object")
    );
    let gemini = body["generationConfig"]["responseMimeType"] == "application/json";
    if anthropic || openai || gemini {
        intent.text = STRUCTURED_JSON.to_string();
    }
    intent
}

/// Anthropic's checks of replayed thinking, as its 400 message, when one fails.
pub(crate) fn anthropic_replay_error(body: &Value) -> Option<String> {
    let messages = body["messages"].as_array()?;
    for m in messages.iter().filter(|m| m["role"] == "assistant") {
        for b in m["content"].as_array().into_iter().flatten() {
            if b["type"] == "thinking" && b["signature"] != THINKING_SIGNATURE {
                return Some("Invalid `signature` in `thinking` block".into());
            }
        }
    }
    if !anthropic_thinking(body) {
        return None;
    }
    let last = messages.iter().rev().find(|m| m["role"] == "assistant")?;
    let blocks = last["content"].as_array()?;
    let used_tools = blocks.iter().any(|b| b["type"] == "tool_use");
    let first = blocks
        .first()
        .and_then(|b| b["type"].as_str())
        .unwrap_or("");
    (used_tools && first != "thinking" && first != "redacted_thinking").then(|| {
        format!(
            "messages: Expected `thinking` or `redacted_thinking`, but found `{first}`. When \
             `thinking` is enabled, a final `assistant` message must start with a thinking block."
        )
    })
}

/// The signed thinking block of a non-streaming answer.
pub(crate) fn thinking_block() -> Value {
    json!({"type": "thinking", "thinking": THINKING_TEXT, "signature": THINKING_SIGNATURE})
}
