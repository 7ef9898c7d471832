//! Puts the output limit into an upstream body under the name its provider and model
//! family take: OpenAI and Azure chat `max_tokens`, or `max_completion_tokens` for
//! reasoning models; Anthropic `max_tokens`; Gemini `generationConfig.maxOutputTokens`;
//! the Responses API `max_output_tokens`. The body is edited in its bytes
//! (`shared::json_splice`), so a pass-through body keeps its key order and every other byte.

use super::{Endpoint, Provider};
use bytes::Bytes;
use shared::json_splice::{get_field, remove_field, set_field};

/// What the gateway decided about one attempt's output limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// The limit to write: the provider requires one and the client gave none, or the
    /// gateway lowered the client's. `None` leaves the client's own value (renamed where
    /// the model needs another name).
    pub set: Option<u64>,
    /// The upstream model reasons (OpenAI then takes `max_completion_tokens`).
    pub reasoning: bool,
}

/// Which body shape the limit goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    OpenAiChat,
    OpenAiCompletions,
    Responses,
    Anthropic,
    Gemini,
    /// Embeddings, token counts: no output limit.
    None,
}

impl BodyKind {
    pub fn of(provider: Provider, ep: Endpoint, responses: bool, gemini_generates: bool) -> Self {
        if responses {
            return BodyKind::Responses;
        }
        match (provider, ep) {
            (_, Endpoint::Embeddings) => BodyKind::None,
            (Provider::Gemini, _) if gemini_generates => BodyKind::Gemini,
            (Provider::Gemini, _) => BodyKind::None,
            (Provider::Anthropic, _) => BodyKind::Anthropic,
            (_, Endpoint::Completions) => BodyKind::OpenAiCompletions,
            (_, Endpoint::Chat) => BodyKind::OpenAiChat,
        }
    }
}

/// The body with the limit in place; `None` when nothing changes (or the body is not an
/// object the splicer can walk, which the upstream then judges as it is).
pub fn apply(kind: BodyKind, body: &[u8], limit: OutputLimit) -> Option<Bytes> {
    let value = limit.set.map(|n| n.to_string().into_bytes());
    let edited = match kind {
        BodyKind::None => return None,
        BodyKind::Responses => set_field(body, "max_output_tokens", value.as_deref()?)?,
        BodyKind::Anthropic => {
            let n = limit.set?;
            let out = set_field(body, "max_tokens", n.to_string().as_bytes())?;
            fit_thinking(&out, n).unwrap_or(out)
        }
        BodyKind::OpenAiCompletions => set_field(body, "max_tokens", value.as_deref()?)?,
        BodyKind::Gemini => {
            let value = value?;
            let config = match get_field(body, "generationConfig") {
                Some(c) => set_field(c, "maxOutputTokens", &value)?,
                None => [&b"{\"maxOutputTokens\":"[..], &value, b"}"].concat(),
            };
            set_field(body, "generationConfig", &config)?
        }
        BodyKind::OpenAiChat => openai_chat(body, value.as_deref(), limit.reasoning)?,
    };
    Some(Bytes::from(edited))
}

/// Anthropic wants a thinking budget of at least 1,024 tokens and below `max_tokens`: a
/// lowered limit lowers the budget with it, or turns thinking off when no budget fits.
fn fit_thinking(body: &[u8], max_tokens: u64) -> Option<Vec<u8>> {
    let thinking: serde_json::Value = serde_json::from_slice(get_field(body, "thinking")?).ok()?;
    let budget = thinking.get("budget_tokens")?.as_u64()?;
    if thinking.get("type")?.as_str()? != "enabled" || budget < max_tokens {
        return None;
    }
    const MIN_BUDGET: u64 = 1024;
    let fitted = if max_tokens > MIN_BUDGET {
        let mut t = thinking.clone();
        t["budget_tokens"] = (max_tokens - 1).max(MIN_BUDGET).into();
        t
    } else {
        serde_json::json!({"type": "disabled"})
    };
    set_field(body, "thinking", fitted.to_string().as_bytes())
}

/// Reasoning models refuse `max_tokens`: its value moves to `max_completion_tokens`.
/// Other models keep the name the client used (`max_tokens` when it used none).
fn openai_chat(body: &[u8], value: Option<&[u8]>, reasoning: bool) -> Option<Vec<u8>> {
    if !reasoning && value.is_none() {
        // Nothing to write and nothing to rename: spare the two scans below.
        return None;
    }
    let old_max = get_field(body, "max_tokens");
    let old_completion = get_field(body, "max_completion_tokens");
    if reasoning {
        let value = value.or(old_completion).or(old_max)?.to_vec();
        let without = match old_max {
            Some(_) => remove_field(body, "max_tokens")?,
            None => body.to_vec(),
        };
        return set_field(&without, "max_completion_tokens", &value);
    }
    let value = value?;
    let mut out = body.to_vec();
    if old_completion.is_some() {
        out = set_field(&out, "max_completion_tokens", value)?;
    }
    if old_max.is_some() || old_completion.is_none() {
        out = set_field(&out, "max_tokens", value)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: BodyKind, body: &str, set: Option<u64>, reasoning: bool) -> Option<String> {
        apply(kind, body.as_bytes(), OutputLimit { set, reasoning })
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn reasoning_models_take_max_completion_tokens() {
        assert_eq!(
            run(
                BodyKind::OpenAiChat,
                r#"{"model":"o3","max_tokens":500,"n":1}"#,
                None,
                true
            )
            .as_deref(),
            Some(r#"{"max_completion_tokens":500,"model":"o3","n":1}"#)
        );
        assert_eq!(
            run(
                BodyKind::OpenAiChat,
                r#"{"model":"o3","max_tokens":500}"#,
                Some(90),
                true
            )
            .as_deref(),
            Some(r#"{"max_completion_tokens":90,"model":"o3"}"#)
        );
        assert_eq!(
            run(BodyKind::OpenAiChat, r#"{"model":"o3"}"#, None, true),
            None
        );
    }

    #[test]
    fn other_models_keep_the_clients_name() {
        assert_eq!(
            run(
                BodyKind::OpenAiChat,
                r#"{"model":"m","max_tokens":500}"#,
                None,
                false
            ),
            None
        );
        assert_eq!(
            run(
                BodyKind::OpenAiChat,
                r#"{"model":"m","max_completion_tokens":500}"#,
                Some(7),
                false
            )
            .as_deref(),
            Some(r#"{"model":"m","max_completion_tokens":7}"#)
        );
        assert_eq!(
            run(BodyKind::OpenAiChat, r#"{"model":"m"}"#, Some(7), false).as_deref(),
            Some(r#"{"max_tokens":7,"model":"m"}"#)
        );
    }

    #[test]
    fn each_provider_gets_its_own_field() {
        assert_eq!(
            run(
                BodyKind::Anthropic,
                r#"{"model":"c","max_tokens":4096}"#,
                Some(64),
                false
            )
            .as_deref(),
            Some(r#"{"model":"c","max_tokens":64}"#)
        );
        assert_eq!(
            run(BodyKind::Responses, r#"{"model":"r"}"#, Some(64), true).as_deref(),
            Some(r#"{"max_output_tokens":64,"model":"r"}"#)
        );
        assert_eq!(
            run(
                BodyKind::Gemini,
                r#"{"contents":[],"generationConfig":{"temperature":0.5}}"#,
                Some(64),
                false
            )
            .as_deref(),
            Some(r#"{"contents":[],"generationConfig":{"maxOutputTokens":64,"temperature":0.5}}"#)
        );
        assert_eq!(
            run(BodyKind::Gemini, r#"{"contents":[]}"#, Some(64), false).as_deref(),
            Some(r#"{"generationConfig":{"maxOutputTokens":64},"contents":[]}"#)
        );
        assert_eq!(
            run(BodyKind::None, r#"{"input":"x"}"#, Some(64), false),
            None
        );
        assert_eq!(
            run(
                BodyKind::Anthropic,
                r#"{"max_tokens":9000,"thinking":{"type":"enabled","budget_tokens":8000}}"#,
                Some(3000),
                false
            )
            .as_deref(),
            Some(r#"{"max_tokens":3000,"thinking":{"type":"enabled","budget_tokens":2999}}"#)
        );
        assert_eq!(
            run(
                BodyKind::Anthropic,
                r#"{"max_tokens":9000,"thinking":{"type":"enabled","budget_tokens":8000}}"#,
                Some(500),
                false
            )
            .as_deref(),
            Some(r#"{"max_tokens":500,"thinking":{"type":"disabled"}}"#)
        );
    }
}
