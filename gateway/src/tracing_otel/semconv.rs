//! Attribute names and values after the OpenTelemetry GenAI semantic conventions, plus
//! the gateway's own (`gateway.*`).

use crate::providers::{Endpoint, Provider};
use crate::store::Channel;
use crate::v1_core::error::Dialect;
use opentelemetry::KeyValue;
use shared::openai::Usage;

pub const OPERATION: &str = "gen_ai.operation.name";
pub const PROVIDER: &str = "gen_ai.provider.name";
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const CACHE_READ_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
pub const CACHE_CREATION_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
pub const REASONING_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
pub const ERROR_TYPE: &str = "error.type";
pub const HTTP_STATUS: &str = "http.response.status_code";
pub const REQUEST_ID: &str = "gateway.request_id";
pub const CHANNEL_ID: &str = "gateway.channel.id";
pub const CHANNEL_NAME: &str = "gateway.channel.name";
pub const ENDPOINT: &str = "gateway.endpoint";
pub const STREAM: &str = "gateway.stream";
pub const ATTEMPTS: &str = "gateway.attempts";
pub const ATTEMPT: &str = "gateway.attempt";

/// `gen_ai.operation.name` for what the client called.
pub fn operation(ep: Endpoint, dialect: Dialect) -> &'static str {
    match (ep, dialect) {
        (Endpoint::Embeddings, _) => "embeddings",
        (Endpoint::Completions, _) => "text_completion",
        (Endpoint::Chat, Dialect::Gemini) => "generate_content",
        (Endpoint::Chat, _) => "chat",
    }
}

/// `gen_ai.provider.name` for the API a channel speaks (OpenAI-compatible ones are
/// `openai`, as the conventions say for servers reached through OpenAI's API).
pub fn provider(channel: &Channel) -> &'static str {
    match Provider::for_channel(channel) {
        Provider::OpenAi | Provider::Custom => "openai",
        Provider::Azure => "azure.ai.openai",
        Provider::Anthropic => "anthropic",
        Provider::Gemini => "gcp.gemini",
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn detail(v: Option<&serde_json::Value>, keys: &[&str]) -> Option<u64> {
    let v = v?;
    keys.iter()
        .find_map(|k| v.get(*k).and_then(serde_json::Value::as_u64))
}

/// Token counts of the answer. Cache and reasoning counts appear only when the usage
/// carries them. Hook for richer usage (cache write / reasoning fields being added to
/// `Usage`): this is the one place that maps usage to attributes.
pub fn usage(u: &Usage) -> Vec<KeyValue> {
    let mut out = vec![
        KeyValue::new(INPUT_TOKENS, count(u.prompt_tokens)),
        KeyValue::new(OUTPUT_TOKENS, count(u.completion_tokens)),
    ];
    let prompt = u.prompt_tokens_details.as_ref();
    let optional = [
        (CACHE_READ_TOKENS, detail(prompt, &["cached_tokens"])),
        (
            CACHE_CREATION_TOKENS,
            detail(prompt, &["cache_creation_tokens", "cache_write_tokens"]),
        ),
        (
            REASONING_TOKENS,
            detail(u.completion_tokens_details.as_ref(), &["reasoning_tokens"]),
        ),
    ];
    out.extend(
        optional
            .into_iter()
            .filter_map(|(name, n)| Some(KeyValue::new(name, count(n?)))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_has_cache_and_reasoning_counts_only_when_present() {
        let names =
            |u: &Usage| -> Vec<String> { usage(u).iter().map(|kv| kv.key.to_string()).collect() };
        let plain = Usage::new(3, 4);
        assert_eq!(names(&plain), [INPUT_TOKENS, OUTPUT_TOKENS]);
        let mut rich = Usage::new(30, 40);
        rich.prompt_tokens_details = Some(json!({"cached_tokens": 20, "cache_creation_tokens": 5}));
        rich.completion_tokens_details = Some(json!({"reasoning_tokens": 7}));
        let attrs = usage(&rich);
        let get = |name: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == name)
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(get(CACHE_READ_TOKENS).as_deref(), Some("20"));
        assert_eq!(get(CACHE_CREATION_TOKENS).as_deref(), Some("5"));
        assert_eq!(get(REASONING_TOKENS).as_deref(), Some("7"));
    }
}
