//! Anthropic Messages API wire types (`POST /v1/messages` and its SSE stream).
//!
//! Only what the gateway converts is typed. Unknown fields are ignored, unknown content
//! block, delta and event types become an `Other` variant, and token counts that are not
//! non-negative integers read as absent, so a surprising upstream never breaks a parse.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

mod stream;
pub use stream::{Delta, MessageDelta, StreamEvent};

/// The `anthropic-version` header value the gateway speaks.
pub const API_VERSION: &str = "2023-06-01";

/// A Messages request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// `{"type": "enabled", "budget_tokens": n}`, `{"type": "adaptive"}` or disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// `{"effort": …, "format": {"type": "json_schema", "schema": …}}` on recent models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<Value>,
}

/// One conversation turn; `role` is `user` or `assistant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: Content,
}

/// Message (or `system`) content: a plain string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// A content block, in requests and responses alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Image {
        source: ImageSource,
    },
    ToolUse {
        #[serde(default)]
        id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        #[serde(default)]
        tool_use_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    /// Thinking the safety systems encrypted: only Anthropic can read `data`.
    RedactedThinking {
        #[serde(default)]
        data: String,
    },
    Document {
        #[serde(default)]
        source: Value,
    },
    /// Block types the gateway does not convert (server tools, …).
    #[serde(other)]
    Other,
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    #[serde(other)]
    Other,
}

/// A client tool. Server tools (web search, …) carry a `type` other than `custom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Absent on toolsets (`mcp_toolset`), which only Anthropic's side knows.
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub input_schema: Value,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    Any {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    Tool {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    None,
}

/// Request metadata; only `user_id` exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A non-streaming answer (also the `message` inside `message_start`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    #[serde(default)]
    pub usage: Usage,
}

/// Token usage. `message_delta` repeats it cumulatively, so later values replace earlier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_tokens: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_tokens: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_read_input_tokens: Option<u64>,
    /// The cache writes by lifetime (`cache_creation_input_tokens` is their sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
}

/// `usage.cache_creation`: cache writes split by how long the entry lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCreation {
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub ephemeral_5m_input_tokens: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub ephemeral_1h_input_tokens: Option<u64>,
}

impl Usage {
    /// Takes every count `newer` reports, keeping ours where it is silent.
    pub fn merge(&mut self, newer: &Usage) {
        let pairs = [
            (&mut self.input_tokens, newer.input_tokens),
            (&mut self.output_tokens, newer.output_tokens),
            (
                &mut self.cache_creation_input_tokens,
                newer.cache_creation_input_tokens,
            ),
            (
                &mut self.cache_read_input_tokens,
                newer.cache_read_input_tokens,
            ),
        ];
        for (mine, theirs) in pairs {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        if newer.cache_creation.is_some() {
            self.cache_creation = newer.cache_creation.clone();
        }
    }

    /// Cache writes in all and the one-hour part of them.
    fn cache_writes(&self) -> (u64, u64) {
        let split = self.cache_creation.clone().unwrap_or_default();
        let five = split.ephemeral_5m_input_tokens.unwrap_or(0);
        let hour = split.ephemeral_1h_input_tokens.unwrap_or(0);
        let total = self
            .cache_creation_input_tokens
            .unwrap_or_else(|| five.saturating_add(hour));
        (total, hour.min(total))
    }

    /// True when no count was reported at all.
    pub fn is_unset(&self) -> bool {
        *self == Usage::default()
    }

    /// OpenAI usage: cache reads and writes are prompt tokens too (Anthropic reports them
    /// apart from `input_tokens`); cache reads become `cached_tokens`, writes
    /// `cache_write_tokens` (OpenRouter's name) and their one-hour part
    /// `cache_write_1h_tokens`, each only when there are any.
    pub fn to_openai(&self) -> crate::openai::Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let (writes, writes_1h) = self.cache_writes();
        let prompt = self
            .input_tokens
            .unwrap_or(0)
            .saturating_add(cached)
            .saturating_add(writes);
        let mut u = crate::openai::Usage::new(prompt, self.output_tokens.unwrap_or(0));
        let mut details = serde_json::json!({ "cached_tokens": cached });
        if writes > 0 {
            details["cache_write_tokens"] = writes.into();
        }
        if writes_1h > 0 {
            details["cache_write_1h_tokens"] = writes_1h.into();
        }
        u.prompt_tokens_details = Some(details);
        u
    }
}

/// Anthropic's error body: `{"type":"error","error":{"type","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`] (and of a stream `error` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// An error of `kind` (e.g. `invalid_request_error`, `api_error`).
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            kind: "error".into(),
            error: ErrorDetail {
                kind: kind.into(),
                message: message.into(),
            },
        }
    }

    /// The body as JSON text.
    pub fn to_json(&self) -> String {
        // Serialising plain strings cannot fail; the fallback only satisfies the type.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
    }
}

/// A token count: anything but a non-negative integer (negative, fractional, text) reads
/// as absent rather than failing the whole event, and is never billed.
pub(crate) fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| v.as_u64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_maps_cache_tokens_into_the_prompt() {
        let u: Usage = serde_json::from_value(json!({"input_tokens": 10, "output_tokens": 5,
            "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}))
        .unwrap();
        let o = u.to_openai();
        assert_eq!(
            (o.prompt_tokens, o.completion_tokens, o.total_tokens),
            (130, 5, 135)
        );
        assert_eq!(o.cached_tokens(), 100);
    }

    #[test]
    fn bad_counts_read_as_absent_and_merge_keeps_known_values() {
        let mut u: Usage =
            serde_json::from_value(json!({"input_tokens": 7, "output_tokens": -3})).unwrap();
        assert_eq!(u.output_tokens, None);
        u.merge(&serde_json::from_value(json!({"output_tokens": 9, "input_tokens": 1.5})).unwrap());
        assert_eq!((u.input_tokens, u.output_tokens), (Some(7), Some(9)));
    }

    #[test]
    fn unknown_blocks_events_and_fields_are_tolerated() {
        let ev: StreamEvent = serde_json::from_str(
            r#"{"type":"content_block_start","index":2,"extra":1,
                "content_block":{"type":"server_tool_use","id":"x"}}"#,
        )
        .unwrap();
        assert_eq!(
            ev,
            StreamEvent::ContentBlockStart {
                index: 2,
                content_block: ContentBlock::Other
            }
        );
        let ev: StreamEvent = serde_json::from_str(r#"{"type":"brand_new_event"}"#).unwrap();
        assert_eq!(ev, StreamEvent::Other);
        let d: Delta = serde_json::from_str(r#"{"type":"citations_delta","citation":{}}"#).unwrap();
        assert_eq!(d, Delta::Other);
        let d: Delta =
            serde_json::from_str(r#"{"type":"signature_delta","signature":"abc"}"#).unwrap();
        assert_eq!(
            d,
            Delta::SignatureDelta {
                signature: "abc".into()
            }
        );
    }

    #[test]
    fn requests_round_trip_with_string_or_block_content() {
        let raw = json!({"model": "claude", "max_tokens": 10, "system": "be brief",
            "messages": [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}],
            "tool_choice": {"type": "tool", "name": "f"}});
        let req: MessagesRequest = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), raw);
    }

    #[test]
    fn error_body_has_anthropic_shape() {
        let b = ErrorBody::new("overloaded_error", "Overloaded");
        assert_eq!(
            serde_json::from_str::<Value>(&b.to_json()).unwrap(),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        );
    }
}
