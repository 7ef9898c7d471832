//! Reasoning across dialects and providers: one table of effort levels and thinking
//! budgets, and which models take which setting.
//!
//! | effort    | budget (tokens) | budgets read as this effort |
//! |-----------|-----------------|-----------------------------|
//! | `none`    | 0               | 0                           |
//! | `minimal` | 1024            | 1 – 1024                    |
//! | `low`     | 4096            | 1025 – 4096                 |
//! | `medium`  | 12288           | 4097 – 12288                |
//! | `high`    | 24576           | 12289 – 24576               |
//! | `xhigh`   | 32768           | above 24576 (Anthropic `max`) |
//!
//! A client's setting in its own dialect (Anthropic `thinking` / `output_config.effort`,
//! OpenAI `reasoning_effort`, Responses `reasoning.effort`, Gemini `thinkingConfig`)
//! becomes an [`Ask`]. Converted requests carry it in the OpenAI-form body under
//! [`FIELD`] (an exact budget survives that way); OpenAI clients' own `reasoning_effort`
//! is read as is. Each provider then sends the setting its model family takes
//! ([`families`]), or nothing, which [`warnings`] names.

pub mod details;
pub mod families;

use serde_json::{json, Value};

/// The gateway's own field in converted OpenAI-form bodies; never sent upstream.
pub const FIELD: &str = "x_gateway_reasoning";

/// Reasoning effort, OpenAI's vocabulary plus `xhigh` (Anthropic's `max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    XHigh,
}

/// (effort, name, budget sent for it, largest budget read as it).
const TABLE: [(Effort, &str, u64, u64); 6] = [
    (Effort::None, "none", 0, 0),
    (Effort::Minimal, "minimal", 1024, 1024),
    (Effort::Low, "low", 4096, 4096),
    (Effort::Medium, "medium", 12288, 12288),
    (Effort::High, "high", 24576, 24576),
    (Effort::XHigh, "xhigh", 32768, u64::MAX),
];

impl Effort {
    /// Reads any dialect's effort name (`max` is `xhigh`), ignoring case.
    pub fn parse(name: &str) -> Option<Effort> {
        let name = name.to_ascii_lowercase();
        if name == "max" {
            return Some(Effort::XHigh);
        }
        TABLE.iter().find(|r| r.1 == name).map(|r| r.0)
    }

    pub fn name(self) -> &'static str {
        TABLE.iter().find(|r| r.0 == self).map_or("medium", |r| r.1)
    }

    /// The thinking budget the table gives this effort.
    pub fn budget(self) -> u64 {
        TABLE.iter().find(|r| r.0 == self).map_or(12288, |r| r.2)
    }

    /// The effort whose range holds `budget`.
    pub fn for_budget(budget: u64) -> Effort {
        TABLE
            .iter()
            .find(|r| budget <= r.3)
            .map_or(Effort::XHigh, |r| r.0)
    }
}

/// What a client asked for. No effort and no budget means reasoning on, its depth left to
/// the model (Anthropic `adaptive`, Gemini budget -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ask {
    pub effort: Option<Effort>,
    /// An exact budget, when the client gave one.
    pub budget: Option<u64>,
}

impl Ask {
    pub fn effort(e: Effort) -> Ask {
        Ask {
            effort: Some(e),
            budget: None,
        }
    }

    pub fn budget(b: u64) -> Ask {
        Ask {
            effort: Some(Effort::for_budget(b)),
            budget: Some(b),
        }
    }

    pub fn is_off(self) -> bool {
        self.effort == Some(Effort::None)
    }

    /// The budget to send: the client's, else the table's; `None` when the model decides.
    pub fn budget_tokens(self) -> Option<u64> {
        self.budget.or_else(|| self.effort.map(Effort::budget))
    }

    /// How the ask is carried under [`FIELD`].
    pub fn to_value(self) -> Value {
        let mut v = json!({});
        if let Some(e) = self.effort {
            v["effort"] = json!(e.name());
        }
        if let Some(b) = self.budget {
            v["budget_tokens"] = json!(b);
        }
        v
    }

    /// The ask in an OpenAI-form body: the gateway's field, else `reasoning_effort`.
    pub fn of_body(body: &Value) -> Option<Ask> {
        if let Some(v) = body.get(FIELD) {
            return Ask::of_field(v);
        }
        let effort = body.get("reasoning_effort").and_then(Value::as_str)?;
        Effort::parse(effort).map(Ask::effort)
    }

    /// The ask as carried under [`FIELD`].
    pub fn of_field(v: &Value) -> Option<Ask> {
        if !v.is_object() {
            return None;
        }
        let budget = v.get("budget_tokens").and_then(Value::as_u64);
        let effort = v
            .get("effort")
            .and_then(Value::as_str)
            .and_then(Effort::parse);
        Some(Ask {
            effort: effort.or_else(|| budget.map(Effort::for_budget)),
            budget,
        })
    }

    /// Describes the ask for warnings (`effort high`, `budget 31999`, `on`).
    pub fn describe(self) -> String {
        match (self.budget, self.effort) {
            (Some(b), _) => format!("budget {b}"),
            (None, Some(e)) => format!("effort {}", e.name()),
            (None, None) => "on".into(),
        }
    }
}

/// Anthropic `thinking` (enabled with a budget, adaptive, disabled) and
/// `output_config.effort`.
pub fn from_anthropic(body: &Value) -> Option<Ask> {
    let effort = body
        .pointer("/output_config/effort")
        .and_then(Value::as_str)
        .and_then(Effort::parse);
    let thinking = body.get("thinking").filter(|t| t.is_object());
    match thinking.and_then(|t| t.get("type")).and_then(Value::as_str) {
        Some("enabled") => {
            let budget = thinking
                .and_then(|t| t.get("budget_tokens"))
                .and_then(Value::as_u64);
            Some(match (budget, effort) {
                (Some(b), _) => Ask::budget(b),
                (None, e) => Ask {
                    effort: e,
                    budget: None,
                },
            })
        }
        Some("adaptive") => Some(Ask {
            effort,
            budget: None,
        }),
        Some("disabled") => Some(Ask::effort(Effort::None)),
        _ => effort.map(Ask::effort),
    }
}

/// Gemini `thinkingConfig`: `thinkingLevel` by name, `thinkingBudget` through the table
/// (0 is off, -1 lets the model decide).
pub fn from_gemini(config: &Value) -> Option<Ask> {
    if let Some(level) = config.get("thinkingLevel").and_then(Value::as_str) {
        return Effort::parse(level).map(Ask::effort);
    }
    match config.get("thinkingBudget").and_then(Value::as_i64)? {
        0 => Some(Ask::effort(Effort::None)),
        b if b < 0 => Some(Ask::default()),
        b => Some(Ask::budget(b.unsigned_abs())),
    }
}

/// Responses `reasoning.effort`.
pub fn from_responses(reasoning: &Value) -> Option<Ask> {
    let effort = reasoning.get("effort").and_then(Value::as_str)?;
    Effort::parse(effort).map(Ask::effort)
}

/// Which reasoning setting this upstream model does not get, for the log row and the
/// `x-gateway-warnings` header (empty when everything asked for is sent).
pub fn warnings(provider: super::Provider, model: &str, body: &Value) -> Vec<String> {
    use super::Provider;
    let Some(ask) = Ask::of_body(body) else {
        return Vec::new();
    };
    let converted = body.get(FIELD).is_some();
    let dropped = |why: &str| vec![format!("reasoning ({}) dropped: {why}", ask.describe())];
    match provider {
        Provider::OpenAi | Provider::Azure | Provider::Custom => {
            // Whether the family takes reasoning at all (an open ask sends nothing to one
            // that does: the model's default applies).
            let takes = families::openai_effort(model, Ask::effort(Effort::Medium)).is_some();
            if converted && !takes && !ask.is_off() {
                return dropped(&format!("'{model}' takes no reasoning_effort"));
            }
            Vec::new()
        }
        Provider::Anthropic => {
            let format = body
                .pointer("/response_format/type")
                .and_then(Value::as_str);
            let tool_format = format == Some("json_object")
                || (format == Some("json_schema") && !families::anthropic_structured_output(model));
            if ask.is_off() {
                Vec::new()
            } else if families::anthropic_style(model) == families::ThinkingStyle::None {
                dropped(&format!("'{model}' has no extended thinking"))
            } else if let Some(why) = families::anthropic_thinking_blocked(body) {
                dropped(why)
            } else if tool_format {
                dropped(&format!(
                    "structured output on '{model}' is a forced tool, which excludes thinking"
                ))
            } else {
                // Sent with thinking on: the sampling settings thinking refuses are not.
                let sampling: Vec<&str> = ["temperature", "top_k"]
                    .into_iter()
                    .filter(|k| body.get(*k).is_some_and(|v| !v.is_null()))
                    .collect();
                match sampling.is_empty() {
                    true => Vec::new(),
                    false => vec![format!(
                        "{} dropped: Claude takes only the defaults with thinking on",
                        sampling.join(" and ")
                    )],
                }
            }
        }
        Provider::Gemini => match families::gemini_style(model) {
            None if !ask.is_off() => dropped(&format!("'{model}' takes no thinkingConfig")),
            _ => Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_back_what_it_writes() {
        for (e, name, budget, _) in TABLE {
            assert_eq!(Effort::parse(name), Some(e));
            assert_eq!(Effort::for_budget(budget), e, "{name}");
            assert_eq!(e.budget(), budget);
        }
        assert_eq!(Effort::parse("MAX"), Some(Effort::XHigh));
        assert_eq!(Effort::for_budget(31999), Effort::XHigh);
        assert_eq!(Effort::for_budget(4097), Effort::Medium);
        assert_eq!(Effort::for_budget(1), Effort::Minimal);
    }

    #[test]
    fn every_dialect_reads_into_one_ask() {
        let a = from_anthropic(&json!({"thinking": {"type": "enabled", "budget_tokens": 2000}}));
        assert_eq!(a, Some(Ask::budget(2000)));
        assert_eq!(a.map(|a| a.effort), Some(Some(Effort::Low)));
        let a = from_anthropic(
            &json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}),
        );
        assert_eq!(a, Some(Ask::effort(Effort::XHigh)));
        assert_eq!(
            from_anthropic(&json!({"thinking": {"type": "adaptive"}})),
            Some(Ask::default())
        );
        assert_eq!(
            from_anthropic(&json!({"thinking": {"type": "disabled"}})),
            Some(Ask::effort(Effort::None))
        );
        assert_eq!(from_anthropic(&json!({})), None);
        assert_eq!(
            from_gemini(&json!({"thinkingBudget": -1})),
            Some(Ask::default())
        );
        assert_eq!(
            from_gemini(&json!({"thinkingBudget": 0})),
            Some(Ask::effort(Effort::None))
        );
        assert_eq!(
            from_gemini(&json!({"thinkingLevel": "HIGH"})),
            Some(Ask::effort(Effort::High))
        );
        assert_eq!(
            from_responses(&json!({"effort": "minimal"})),
            Some(Ask::effort(Effort::Minimal))
        );
    }

    #[test]
    fn the_body_field_wins_over_reasoning_effort_and_keeps_the_budget() {
        let body = json!({"reasoning_effort": "low", FIELD: Ask::budget(20000).to_value()});
        assert_eq!(Ask::of_body(&body), Some(Ask::budget(20000)));
        let body = json!({"reasoning_effort": "high"});
        assert_eq!(Ask::of_body(&body), Some(Ask::effort(Effort::High)));
        assert_eq!(Ask::of_body(&json!({FIELD: {}})), Some(Ask::default()));
    }
}
