//! Minimal OpenAI wire helpers: token usage and the error body.
//!
//! Request and response bodies stay `serde_json::Value` elsewhere so unknown fields pass
//! through untouched; only the parts the gateway must understand are typed here.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Token usage as OpenAI reports it. Missing or `null` counts read as 0; negative or
/// fractional counts are rejected, since upstream usage feeds billing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default, deserialize_with = "count")]
    pub prompt_tokens: u64,
    /// Output tokens (0 for embeddings).
    #[serde(default, deserialize_with = "count")]
    pub completion_tokens: u64,
    /// Usually `prompt + completion`; see [`Usage::total`].
    #[serde(default, deserialize_with = "count")]
    pub total_tokens: u64,
    /// E.g. `{"cached_tokens": 0, "audio_tokens": 0}`, passed through as-is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<Value>,
    /// E.g. `{"reasoning_tokens": 0}`, passed through as-is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<Value>,
}

impl Usage {
    /// Usage with `total_tokens` computed (saturating).
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            prompt_tokens_details: None,
            completion_tokens_details: None,
        }
    }

    /// The total, falling back to `prompt + completion` when the upstream left it out.
    pub fn total(&self) -> u64 {
        self.total_tokens
            .max(self.prompt_tokens.saturating_add(self.completion_tokens))
    }

    /// True when no tokens at all were reported.
    pub fn is_empty(&self) -> bool {
        self.prompt_tokens == 0 && self.completion_tokens == 0 && self.total_tokens == 0
    }

    /// `prompt_tokens_details.cached_tokens`, if present.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.get("cached_tokens"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// Prompt tokens written to a prompt cache (`prompt_tokens_details.cache_write_tokens`,
    /// as OpenRouter reports them and the gateway sets for Anthropic upstreams), if present.
    pub fn cache_write_tokens(&self) -> u64 {
        detail(self.prompt_tokens_details.as_ref(), "cache_write_tokens")
    }

    /// The part of [`Usage::cache_write_tokens`] written for one hour
    /// (`prompt_tokens_details.cache_write_1h_tokens`).
    pub fn cache_write_1h_tokens(&self) -> u64 {
        detail(self.prompt_tokens_details.as_ref(), "cache_write_1h_tokens")
    }

    /// `completion_tokens_details.reasoning_tokens`, if present (already included in
    /// `completion_tokens`).
    pub fn reasoning_tokens(&self) -> u64 {
        detail(self.completion_tokens_details.as_ref(), "reasoning_tokens")
    }
}

fn detail(details: Option<&Value>, key: &str) -> u64 {
    details
        .and_then(|d| d.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    use serde::de::Error;
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| D::Error::custom(format!("invalid token count {n}"))),
        Some(other) => Err(D::Error::custom(format!("invalid token count {other}"))),
    }
}

/// OpenAI's error envelope: `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`]. `param` and `code` serialise as `null` when absent, as
/// OpenAI does; on input, numeric codes (seen from compatible servers) become strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// E.g. `invalid_request_error`; see [`crate::error::kind`].
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The offending request parameter, if any.
    #[serde(default, deserialize_with = "lenient_string")]
    pub param: Option<String>,
    /// Machine-readable code, e.g. `insufficient_quota`, `model_not_found`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
}

impl ErrorBody {
    /// An error with `message` and `type`, no param or code.
    pub fn new(message: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.into(),
                param: None,
                code: None,
            },
        }
    }

    /// Sets `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.error.code = Some(code.into());
        self
    }

    /// Sets `param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    /// The body as JSON bytes.
    pub fn to_json(&self) -> String {
        // Serialising plain strings cannot fail; the fallback only satisfies the type.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"error\":{}}"))
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_tolerates_missing_and_null_fields() {
        let u: Usage = serde_json::from_value(json!({"prompt_tokens": 5})).unwrap();
        assert_eq!(
            u,
            Usage {
                prompt_tokens: 5,
                ..Usage::default()
            }
        );
        assert_eq!(u.total(), 5);
        let u: Usage = serde_json::from_value(json!({"completion_tokens": null})).unwrap();
        assert!(u.is_empty());
    }

    #[test]
    fn usage_keeps_details_and_rejects_negative_counts() {
        let u: Usage = serde_json::from_value(json!({
            "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 2}
        }))
        .unwrap();
        assert_eq!(u.cached_tokens(), 2);
        assert_eq!(
            serde_json::to_value(&u).unwrap()["prompt_tokens_details"]["cached_tokens"],
            2
        );
        assert!(serde_json::from_value::<Usage>(json!({"prompt_tokens": -1})).is_err());
        assert!(serde_json::from_value::<Usage>(json!({"prompt_tokens": 1.5})).is_err());
    }

    #[test]
    fn error_body_serialises_in_openai_shape() {
        let body = ErrorBody::new("no quota", "insufficient_quota").with_code("insufficient_quota");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": {"message": "no quota", "type": "insufficient_quota",
                             "param": null, "code": "insufficient_quota"}})
        );
    }

    #[test]
    fn error_body_parses_numeric_codes_and_missing_fields() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"message":"x","code":429}}"#).unwrap();
        assert_eq!(body.error.code.as_deref(), Some("429"));
        assert_eq!(body.error.kind, "");
        assert_eq!(body.error.param, None);
    }
}
