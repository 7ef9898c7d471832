//! Hot pure functions of the `/v1` path: request parsing (with the token count), the
//! OpenAI stream adapter on one chunk, key hashing and the billing formula.
//!
//! Run: `cargo bench -p gateway --bench hot_paths`.

use std::hint::black_box;

use bytes::Bytes;

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::providers::openai::OpenAiStream;
use gateway::providers::{Endpoint, StreamAdapter};
use gateway::services::dispatch::billing::Prices;
use gateway::services::dispatch::request;
use gateway::v1_core::tokens;
use shared::sse::SseEvent;

const SMALL_CHAT: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Please answer briefly: what is the capital of France, and which river flows through it?"}],"max_tokens":128,"temperature":0.2}"#;

/// A ~6 kB conversation with tools, closer to what agents send.
fn agent_chat() -> String {
    let turns: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"role":"{}","content":"Turn {i}: the weather in Paris is mild, around eighteen degrees, with light wind from the west and a chance of rain in the evening. Should I bring an umbrella to the museum tomorrow morning?"}}"#,
                if i % 2 == 0 { "user" } else { "assistant" }
            )
        })
        .collect();
    format!(
        r#"{{"model":"gpt-4o","stream":true,"stream_options":{{"include_usage":true}},"messages":[{}],"tools":[{{"type":"function","function":{{"name":"get_weather","description":"Current weather for a city","parameters":{{"type":"object","properties":{{"city":{{"type":"string"}},"unit":{{"type":"string","enum":["celsius","fahrenheit"]}}}},"required":["city"]}}}}}}]}}"#,
        turns.join(",")
    )
}

const CONTENT_CHUNK: &str = r#"{"id":"chatcmpl-9x2kQmZbT1cVw8yJrLpN4aDf","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" Paris"},"logprobs":null,"finish_reason":null}],"usage":null}"#;
const USAGE_CHUNK: &str = r#"{"id":"chatcmpl-9x2kQmZbT1cVw8yJrLpN4aDf","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":58,"completion_tokens":50,"total_tokens":108}}"#;

fn parse_requests(c: &mut Criterion) {
    tokens::warm_up();
    // `parse` takes the body as `Bytes`; cloning one is a reference count, not a copy.
    let small = Bytes::from_static(SMALL_CHAT.as_bytes());
    let agent = Bytes::from(agent_chat());
    c.bench_function("request_parse_small_chat", |b| {
        b.iter(|| request::parse(Endpoint::Chat, black_box(small.clone())).is_ok())
    });
    c.bench_function("request_parse_agent_chat_6kb", |b| {
        b.iter(|| request::parse(Endpoint::Chat, black_box(agent.clone())).is_ok())
    });
}

fn stream_adapter(c: &mut Criterion) {
    tokens::warm_up();
    let content = SseEvent::data(CONTENT_CHUNK);
    let usage = SseEvent::data(USAGE_CHUNK);
    let mut adapter = OpenAiStream::new(Endpoint::Chat, "gpt-4o-mini", false);
    let mut out = Vec::with_capacity(4);
    c.bench_function("openai_stream_content_chunk", |b| {
        b.iter(|| {
            out.clear();
            adapter.on_event(black_box(&content), &mut out);
            out.len()
        })
    });
    // The usage chunk is hidden from a client that did not ask for it.
    c.bench_function("openai_stream_usage_chunk", |b| {
        b.iter(|| {
            out.clear();
            adapter.on_event(black_box(&usage), &mut out);
            out.len()
        })
    });
}

fn key_hash(c: &mut Criterion) {
    let key = "sk-Zq3v9LmT2xR8kP1wB7nY4cH6dJ0fG5sA2eU8iO3pQ9tV1mXr";
    c.bench_function("api_key_hash", |b| {
        b.iter(|| gateway::auth::api_key::hash(black_box(key)))
    });
}

fn quota(c: &mut Criterion) {
    let prices = Prices {
        model_ratio: 0.075,
        completion_ratio: 4.0,
        group_ratio: 1.0,
        cache_read_ratio: 0.5,
        cache_write_ratio: 1.0,
        cache_write_1h_ratio: 1.0,
        builtin: None,
    };
    c.bench_function("prices_quota", |b| {
        b.iter(|| black_box(&prices).quota(black_box(1234), black_box(567)))
    });
}

criterion_group!(benches, parse_requests, stream_adapter, key_hash, quota);
criterion_main!(benches);
