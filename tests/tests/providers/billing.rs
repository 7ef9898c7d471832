//! Billing is non-zero and follows the formula for every provider, streaming or not,
//! from `/v1/chat/completions` and from `/v1/messages`: the log row carries the
//! upstream's token counts and `quota = prompt + completion × 3` (default ratios).

use integration_tests::mock_upstream::MockUsage;
use integration_tests::provider_support::{
    anthropic_body, assert_billed, cache_usage, messages, messages_stream, model_for, world,
    ANTHROPIC, GEMINI, OPENAI,
};
use integration_tests::v1_support::{V1World, USER_QUOTA};
use serde_json::json;

fn usage(prompt: u64, completion: u64) -> MockUsage {
    MockUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        ..MockUsage::default()
    }
}

/// Four requests with different usage; each log row must match its own numbers.
async fn every_path_is_billed(channel_type: i64) {
    let w: V1World = world(channel_type, json!({})).await;
    let model = model_for(channel_type);
    let chat = json!({"model": model, "messages": [{"role": "user", "content": "bill me"}]});

    w.mock.update_options(|o| o.usage = Some(usage(101, 23)));
    let r = w.chat(chat.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_billed(&w, 101, 23).await;

    // Streaming without include_usage: the client sees no usage, the ledger does.
    w.mock.update_options(|o| o.usage = Some(usage(57, 31)));
    let mut stream = chat.clone();
    stream["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", stream).await;
    assert!(rec.ends_with_done());
    assert!(rec.usage_events().is_empty());
    w.wait_for_logs(2, std::time::Duration::from_secs(10)).await;
    assert_billed(&w, 57, 31).await;

    w.mock.update_options(|o| o.usage = Some(usage(40, 9)));
    let r = messages(&w, anthropic_body(model, "bill me")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["usage"]["input_tokens"], 40);
    assert_eq!(r.body["usage"]["output_tokens"], 9);
    assert_billed(&w, 40, 9).await;

    w.mock.update_options(|o| o.usage = Some(usage(66, 12)));
    let mut body = anthropic_body(model, "bill me");
    body["stream"] = json!(true);
    let rec = messages_stream(&w, body).await;
    assert_eq!(rec.status, 200);
    w.wait_for_logs(4, std::time::Duration::from_secs(10)).await;
    assert_billed(&w, 66, 12).await;

    let logs = w.logs().await;
    assert_eq!(logs.len(), 4);
    let streamed: Vec<bool> = logs
        .iter()
        .map(|l| l["is_stream"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(streamed, [true, false, true, false], "newest first");
    w.assert_ledger(USER_QUOTA).await;
    let user = w.user().await;
    let expected: i64 = [(101, 23), (57, 31), (40, 9), (66, 12)]
        .iter()
        .map(|(p, c)| p + c * 3)
        .sum();
    assert_eq!(user.used_quota, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_channels_are_billed_for_chat_and_messages_streaming_or_not() {
    every_path_is_billed(OPENAI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_channels_are_billed_for_chat_and_messages_streaming_or_not() {
    every_path_is_billed(ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_channels_are_billed_for_chat_and_messages_streaming_or_not() {
    every_path_is_billed(GEMINI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_cache_tokens_count_as_prompt_tokens_streaming_or_not() {
    let w = world(ANTHROPIC, json!({})).await;
    w.mock.update_options(|o| o.usage = Some(cache_usage()));
    let chat = json!({"model": model_for(ANTHROPIC),
                      "messages": [{"role": "user", "content": "cache"}]});
    let r = w.chat(chat.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // 20 input + 5 cache read + 3 cache creation.
    assert_billed(&w, 28, 9).await;
    let mut stream = chat;
    stream["stream"] = json!(true);
    stream["stream_options"] = json!({"include_usage": true});
    let rec = w.stream("/v1/chat/completions", stream).await;
    let u = &rec.usage_events()[0]["usage"];
    assert_eq!(u["prompt_tokens"], 28);
    assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 5);
    w.wait_for_logs(2, std::time::Duration::from_secs(10)).await;
    assert_billed(&w, 28, 9).await;
}
