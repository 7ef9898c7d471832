//! Reasoning and structured output of an OpenAI-form request, for a Claude model.
//!
//! Reasoning becomes `thinking` (a budget from [`crate::providers::reasoning`]'s table, or
//! `adaptive` with `output_config.effort` on 4.6 and later), only for models with
//! thinking. Anthropic's rules follow: thinking needs the default temperature and no
//! `top_k`, refuses a forced tool choice, and a tool-use turn being continued must
//! start with its signed thinking (else thinking is left off for that request).
//!
//! A `json_schema` response format becomes `output_config.format` on models with
//! structured output; elsewhere (and for `json_object`) a tool named [`JSON_TOOL`] whose
//! input is the answer, which the response and stream converters unwrap into text.

use crate::providers::anthropic::openai_shape::max_tokens;
use crate::providers::reasoning::{details, families, Ask, Effort};
use serde_json::{json, Value};
use shared::anthropic::{ContentBlock, MessagesRequest, Tool, ToolChoice};

/// The tool standing in for structured output on models without it.
pub const JSON_TOOL: &str = "gateway_json_output";

/// `max_tokens` is required by Anthropic; this is sent when the client set none, and is
/// then the answer's room on top of a thinking budget.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Anthropic's smallest thinking budget.
const MIN_BUDGET: u64 = 1024;

/// Adds structured output, then thinking (which depends on the tool choice it leaves).
pub fn apply(body: &Value, model: &str, req: &mut MessagesRequest) {
    structured_output(body, model, req);
    thinking(body, model, req);
}

fn thinking(body: &Value, model: &str, req: &mut MessagesRequest) {
    let Some(ask) = Ask::of_body(body) else {
        return;
    };
    let forced = matches!(
        req.tool_choice,
        Some(ToolChoice::Any { .. } | ToolChoice::Tool { .. })
    );
    if ask.is_off() || forced || families::anthropic_thinking_blocked(body).is_some() {
        return;
    }
    match families::anthropic_style(model) {
        families::ThinkingStyle::None => return,
        families::ThinkingStyle::Budget => {
            let mut budget = ask
                .budget_tokens()
                .unwrap_or(Effort::Medium.budget())
                .max(MIN_BUDGET);
            let max = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
            if budget >= max {
                if max_tokens(body).is_some() {
                    // The client's limit holds; the budget must fit under it.
                    budget = max.saturating_sub(1);
                } else {
                    req.max_tokens = Some(budget.saturating_add(DEFAULT_MAX_TOKENS));
                }
            }
            if budget < MIN_BUDGET {
                return;
            }
            req.thinking = Some(json!({"type": "enabled", "budget_tokens": budget}));
        }
        families::ThinkingStyle::Adaptive => {
            req.thinking = Some(json!({"type": "adaptive"}));
            if let Some(e) = ask.effort {
                let config = req.output_config.get_or_insert_with(|| json!({}));
                config["effort"] = json!(families::anthropic_effort(model, e));
            }
        }
    }
    // Thinking takes only the default temperature, no top_k and a top_p of 0.95 or more.
    req.temperature = None;
    req.top_k = None;
    req.top_p = req.top_p.filter(|p| *p >= 0.95);
}

fn structured_output(body: &Value, model: &str, req: &mut MessagesRequest) {
    let Some(rf) = body.get("response_format").filter(|v| v.is_object()) else {
        return;
    };
    let schema = match rf.get("type").and_then(Value::as_str) {
        Some("json_schema") => rf
            .pointer("/json_schema/schema")
            .filter(|s| s.is_object())
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"})),
        Some("json_object") => json!({"type": "object"}),
        _ => return,
    };
    if rf.get("type").and_then(Value::as_str) == Some("json_schema")
        && families::anthropic_structured_output(model)
    {
        let config = req.output_config.get_or_insert_with(|| json!({}));
        config["format"] = json!({"type": "json_schema", "schema": schema});
        return;
    }
    let description = rf
        .pointer("/json_schema/description")
        .and_then(Value::as_str)
        .unwrap_or("Give the final answer as this JSON object.");
    let tools = req.tools.get_or_insert_with(Vec::new);
    let had_tools = !tools.is_empty();
    tools.push(Tool {
        kind: None,
        name: JSON_TOOL.into(),
        description: Some(description.into()),
        input_schema: schema,
    });
    req.tool_choice = match req.tool_choice.take() {
        // With the client's tools the model may call them or answer through ours.
        None | Some(ToolChoice::Auto { .. }) if had_tools => Some(ToolChoice::Any {
            disable_parallel_tool_use: None,
        }),
        Some(c @ (ToolChoice::Any { .. } | ToolChoice::Tool { .. })) => Some(c),
        _ => Some(ToolChoice::Tool {
            name: JSON_TOOL.into(),
            disable_parallel_tool_use: None,
        }),
    };
}

/// Whether a `tool_use` block is the structured-output stand-in.
pub fn is_json_tool(name: &str) -> bool {
    name == JSON_TOOL
}

/// The replayed thinking blocks of an assistant message, first in its content.
pub fn replayed(message: &Value) -> Vec<ContentBlock> {
    details::anthropic_blocks(message)
}
