//! Which upstream models take which reasoning setting, by model family (the name the
//! channel sends upstream). Deliberately simple name rules; an unknown model gets none.
//!
//! - OpenAI `reasoning_effort`: o1 (not o1-mini/o1-preview), o3, o4, gpt-5 (not the
//!   `chat` variants), gpt-oss, codex-mini. o-series and gpt-oss take low–high; gpt-5
//!   adds `minimal`; gpt-5.1 and later take `none` and `xhigh` instead of `minimal`.
//! - Anthropic `thinking`: Claude 3.7 and 4.0–4.5 take a budget; 4.6 takes `adaptive`
//!   with `output_config.effort` (used for it); 4.7 and later only that. Structured output
//!   (`output_config.format`) exists from 4.5 (and Opus 4.1).
//! - Gemini `thinkingConfig`: 2.5 takes `thinkingBudget` (Pro cannot switch thinking off:
//!   its minimum, 128, stands for off); 3 and later take `thinkingLevel`.

use super::{Ask, Effort};
use serde_json::Value;

/// The model name without a provider or `models/` prefix, lower-cased.
fn base(model: &str) -> String {
    let m = model.rsplit('/').next().unwrap_or(model);
    m.to_ascii_lowercase()
}

/// The `reasoning_effort` value an OpenAI-compatible model takes for `ask`, if any.
pub fn openai_effort(model: &str, ask: Ask) -> Option<&'static str> {
    let m = base(model);
    let effort = ask.effort?;
    let o_series = (m.starts_with("o1") && !m.starts_with("o1-mini") && !m.starts_with("o1-p"))
        || m.starts_with("o3")
        || m.starts_with("o4")
        || m.starts_with("gpt-oss")
        || m.starts_with("codex-mini");
    if o_series {
        return Some(effort.clamp(Effort::Low, Effort::High).name());
    }
    let rest = m.strip_prefix("gpt-5")?;
    if m.contains("chat") {
        return None;
    }
    if rest.starts_with('.') {
        // gpt-5.1 and later: `none` replaced `minimal`.
        return Some(match effort {
            Effort::Minimal => "low",
            e => e.name(),
        });
    }
    Some(effort.clamp(Effort::Minimal, Effort::High).name())
}

/// How a Claude model takes thinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingStyle {
    None,
    /// `{"type": "enabled", "budget_tokens": n}`.
    Budget,
    /// `{"type": "adaptive"}` plus `output_config.effort`.
    Adaptive,
}

/// (major, minor) of a Claude model name: `claude-3-7-sonnet-…` is 3.7,
/// `claude-sonnet-4-20250514` 4.0, `claude-opus-4-1` 4.1 (dates are skipped).
fn claude_version(model: &str) -> Option<(u32, u32)> {
    let m = base(model);
    let at = m.find("claude")?;
    let numbers: Vec<u32> = m[at..]
        .split(['-', '.', '@', ':'])
        .filter(|t| !t.is_empty() && t.len() <= 2 && t.chars().all(|c| c.is_ascii_digit()))
        .filter_map(|t| t.parse().ok())
        .collect();
    let major = *numbers.first()?;
    Some((major, numbers.get(1).copied().unwrap_or(0)))
}

pub fn anthropic_style(model: &str) -> ThinkingStyle {
    match claude_version(model) {
        Some(v) if v >= (4, 6) => ThinkingStyle::Adaptive,
        Some(v) if v >= (3, 7) => ThinkingStyle::Budget,
        _ => ThinkingStyle::None,
    }
}

/// Whether the Claude model has structured output (`output_config.format`).
pub fn anthropic_structured_output(model: &str) -> bool {
    let is_opus = base(model).contains("opus");
    claude_version(model).is_some_and(|v| v >= (4, 5) || (is_opus && v == (4, 1)))
}

/// Anthropic's `output_config.effort` for an effort (Opus alone has `max`).
pub fn anthropic_effort(model: &str, effort: Effort) -> &'static str {
    match effort {
        Effort::None | Effort::Minimal | Effort::Low => "low",
        Effort::Medium => "medium",
        Effort::XHigh if base(model).contains("opus") => "max",
        Effort::High | Effort::XHigh => "high",
    }
}

/// Whether an OpenAI-form body forces a tool call, which Anthropic refuses with thinking.
pub fn forces_tool(body: &Value) -> bool {
    match body
        .get("tool_choice")
        .or_else(|| body.get("function_call"))
    {
        Some(Value::String(s)) => s == "required",
        Some(Value::Object(_)) => body.get("tools").is_some() || body.get("functions").is_some(),
        _ => false,
    }
}

/// Why Anthropic thinking cannot be switched on for this OpenAI-form body, if it cannot.
pub fn anthropic_thinking_blocked(body: &Value) -> Option<&'static str> {
    if forces_tool(body) {
        return Some("Anthropic refuses thinking with a forced tool choice");
    }
    if continues_unsigned_tool_turn(body) {
        return Some(
            "the assistant's tool calls being answered lack their signed thinking \
             (send reasoning_details back unchanged)",
        );
    }
    None
}

/// The last assistant message called tools and carries no Anthropic thinking to replay.
fn continues_unsigned_tool_turn(body: &Value) -> bool {
    let messages = body.get("messages").and_then(Value::as_array);
    let last = messages
        .into_iter()
        .flatten()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("assistant"));
    last.is_some_and(|m| {
        let calls = m.get("tool_calls").and_then(Value::as_array);
        calls.is_some_and(|c| !c.is_empty()) && super::details::anthropic_blocks(m).is_empty()
    })
}

/// How a Gemini model takes thinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeminiStyle {
    /// `thinkingBudget` within `min..=max`; `off` is what stands for no thinking.
    Budget { min: u64, max: u64, off: u64 },
    /// `thinkingLevel`; Flash models have all four levels, Pro only low and high.
    Level { flash: bool },
}

pub fn gemini_style(model: &str) -> Option<GeminiStyle> {
    let m = base(model);
    let rest = m.strip_prefix("gemini-")?;
    let flash = rest.contains("flash");
    let budget = if rest.contains("lite") {
        GeminiStyle::Budget {
            min: 512,
            max: 24576,
            off: 0,
        }
    } else if flash {
        GeminiStyle::Budget {
            min: 1,
            max: 24576,
            off: 0,
        }
    } else {
        GeminiStyle::Budget {
            min: 128,
            max: 32768,
            off: 128,
        }
    };
    // The `-latest` aliases point at 2.5 models.
    if rest.ends_with("-latest") && !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(budget);
    }
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    match (major, minor) {
        (m, _) if m >= 3 => Some(GeminiStyle::Level { flash }),
        (2, n) if n >= 5 => Some(budget),
        _ => None,
    }
}

/// Gemini's `thinkingLevel` for an effort.
pub fn gemini_level(flash: bool, effort: Effort) -> &'static str {
    match (effort, flash) {
        (Effort::None | Effort::Minimal, true) => "minimal",
        (Effort::None | Effort::Minimal | Effort::Low, _) => "low",
        (Effort::Medium, true) => "medium",
        _ => "high",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_families() {
        let high = Ask::effort(Effort::High);
        assert_eq!(openai_effort("gpt-4o-mini", high), None);
        assert_eq!(openai_effort("gpt-5-chat-latest", high), None);
        assert_eq!(openai_effort("o1-mini", high), None);
        assert_eq!(openai_effort("gpt-5", high), Some("high"));
        assert_eq!(
            openai_effort("gpt-5-mini", Ask::effort(Effort::None)),
            Some("minimal")
        );
        assert_eq!(
            openai_effort("gpt-5.1", Ask::effort(Effort::None)),
            Some("none")
        );
        assert_eq!(
            openai_effort("o3", Ask::effort(Effort::XHigh)),
            Some("high")
        );
        assert_eq!(
            openai_effort("openai/o4-mini", Ask::budget(1000)),
            Some("low")
        );
        assert_eq!(openai_effort("o3", Ask::default()), None);
    }

    #[test]
    fn claude_families() {
        assert_eq!(
            anthropic_style("claude-3-5-sonnet-20241022"),
            ThinkingStyle::None
        );
        assert_eq!(
            anthropic_style("claude-3-7-sonnet-20250219"),
            ThinkingStyle::Budget
        );
        assert_eq!(
            anthropic_style("claude-sonnet-4-20250514"),
            ThinkingStyle::Budget
        );
        assert_eq!(anthropic_style("claude-haiku-4-5"), ThinkingStyle::Budget);
        assert_eq!(anthropic_style("claude-opus-4-6"), ThinkingStyle::Adaptive);
        assert_eq!(anthropic_style("claude-opus-4-7"), ThinkingStyle::Adaptive);
        assert_eq!(anthropic_style("gpt-4o"), ThinkingStyle::None);
        assert!(anthropic_structured_output("claude-sonnet-4-5-20250929"));
        assert!(anthropic_structured_output("claude-opus-4-1"));
        assert!(!anthropic_structured_output("claude-sonnet-4-20250514"));
        assert!(!anthropic_structured_output("claude-3-7-sonnet-latest"));
        assert_eq!(anthropic_effort("claude-opus-4-6", Effort::XHigh), "max");
        assert_eq!(anthropic_effort("claude-sonnet-4-6", Effort::XHigh), "high");
    }

    #[test]
    fn gemini_families() {
        assert_eq!(gemini_style("gemini-2.0-flash"), None);
        assert_eq!(gemini_style("gemini-1.5-pro"), None);
        assert_eq!(
            gemini_style("models/gemini-2.5-pro"),
            Some(GeminiStyle::Budget {
                min: 128,
                max: 32768,
                off: 128
            })
        );
        assert!(matches!(
            gemini_style("gemini-2.5-flash-lite"),
            Some(GeminiStyle::Budget { min: 512, .. })
        ));
        assert!(matches!(
            gemini_style("gemini-flash-latest"),
            Some(GeminiStyle::Budget { max: 24576, .. })
        ));
        assert_eq!(
            gemini_style("gemini-3-pro-preview"),
            Some(GeminiStyle::Level { flash: false })
        );
        assert_eq!(gemini_level(false, Effort::Medium), "high");
        assert_eq!(gemini_level(true, Effort::Medium), "medium");
    }

    #[test]
    fn forced_tools() {
        assert!(forces_tool(&json!({"tool_choice": "required"})));
        assert!(forces_tool(
            &json!({"tools": [], "tool_choice": {"type": "function", "function": {"name": "f"}}})
        ));
        assert!(!forces_tool(&json!({"tool_choice": "auto"})));
    }
}
