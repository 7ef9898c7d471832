//! Prompt-cache and reasoning prices (issue 15): every provider's usage convention is
//! normalised to uncached input, cache reads, 5-minute and 1-hour cache writes and output
//! (reasoning included), each priced with its own ratio, streaming or not, on
//! pass-through and converted paths. Quotas are exact figures; the log row carries the
//! token classes and the ratios applied. The built-in price table prices what the
//! operator left unset and the operator's ratios win.

use integration_tests::gemini_support::{action, goog_post};
use integration_tests::mock_upstream::MockUsage;
use integration_tests::provider_support::{
    messages, messages_stream, world, world_with_env, ANTHROPIC, CLAUDE, GEMINI, GEMINI_MODEL,
    OPENAI,
};
use integration_tests::v1_support::{V1World, MODEL, USER_QUOTA};
use serde_json::{json, Value};
use std::time::Duration;

fn usage(prompt: u64, completion: u64, read: u64, written: u64) -> MockUsage {
    MockUsage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cache_read_tokens: read,
        cache_creation_tokens: written,
    }
}

/// The `n`th log row (waiting for it), newest first at index 0.
async fn row(w: &V1World, n: usize) -> Value {
    let logs = w.wait_for_logs(n, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), n, "{logs:?}");
    logs[0].clone()
}

/// Asserts the token classes of a log row: prompt (all input), completion (all output),
/// cache read, cache write (both lifetimes), its 1-hour part, reasoning; and the quota.
fn assert_row(log: &Value, tokens: [i64; 6], quota: i64) {
    let got: Vec<i64> = [
        "prompt_tokens",
        "completion_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "reasoning_tokens",
    ]
    .iter()
    .map(|k| log[*k].as_i64().unwrap_or(-1))
    .collect();
    assert_eq!(got, tokens, "{log}");
    assert_eq!(log["quota"], quota, "{log}");
    assert_eq!(log["status_code"], 200, "{log}");
}

fn price(log: &Value) -> Value {
    serde_json::from_str(log["price"].as_str().unwrap_or_default()).expect("price is JSON")
}

/// Sets every per-model ratio of `model` at once.
async fn set_ratios(w: &V1World, model: &str, r: [f64; 5]) {
    w.set_options(json!({
        "model_ratio": {model: r[0]}, "completion_ratio": {model: r[1]},
        "cache_read_ratio": {model: r[2]}, "cache_write_ratio": {model: r[3]},
        "cache_write_1h_ratio": {model: r[4]},
    }))
    .await;
}

async fn assert_used(w: &V1World, quotas: &[i64]) {
    w.assert_ledger(USER_QUOTA).await;
    assert_eq!(w.user().await.used_quota, quotas.iter().sum::<i64>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_cached_tokens_are_priced_with_the_cache_read_ratio_streaming_or_not() {
    let w = world(OPENAI, json!({})).await;
    set_ratios(&w, MODEL, [2.0, 4.0, 0.25, 1.0, 1.0]).await;
    // OpenAI: the 800 cached tokens are part of the 1000 prompt tokens, the 3 reasoning
    // tokens part of the 40 completion tokens.
    w.mock.update_options(|o| {
        o.usage = Some(usage(1000, 40, 800, 0));
        o.reasoning_tokens = 3;
    });
    let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "cache me"}]});
    let r = w.chat(body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // (200 + 800 × 0.25 + 40 × 4) × 2
    let log = row(&w, 1).await;
    assert_row(&log, [1000, 40, 800, 0, 0, 3], 1120);
    assert_eq!(
        price(&log),
        json!({"model_ratio": 2.0, "completion_ratio": 4.0, "cache_read_ratio": 0.25,
               "cache_write_ratio": 1.0, "cache_write_1h_ratio": 1.0, "group_ratio": 1.0})
    );

    let mut stream = body;
    stream["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", stream).await;
    assert!(rec.ends_with_done());
    assert_row(&row(&w, 2).await, [1000, 40, 800, 0, 0, 3], 1120);
    assert_used(&w, &[1120, 1120]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_cached_input_and_reasoning_are_counted_once_streaming_or_not() {
    use integration_tests::responses_support::{create, stream};
    let w = world(OPENAI, json!({})).await;
    set_ratios(&w, MODEL, [2.0, 4.0, 0.25, 1.0, 1.0]).await;
    // Responses: input_tokens 1000 include the 800 cached; output_tokens 40 include the
    // mock's 3 reasoning tokens (it reasons when the request has `reasoning`).
    w.mock
        .update_options(|o| o.usage = Some(usage(1000, 40, 800, 0)));
    let body = json!({"model": MODEL, "input": "cache me", "reasoning": {"effort": "low"}});
    let r = create(&w, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_row(&row(&w, 1).await, [1000, 40, 800, 0, 0, 3], 1120);
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let events = stream(&w, streamed).await;
    assert!(events.iter().any(|(name, _)| name == "response.completed"));
    assert_row(&row(&w, 2).await, [1000, 40, 800, 0, 0, 3], 1120);
    assert_used(&w, &[1120, 1120]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_cache_reads_and_both_write_lifetimes_have_their_own_prices() {
    let w = world(ANTHROPIC, json!({})).await;
    set_ratios(&w, CLAUDE, [1.5, 5.0, 0.1, 1.25, 2.0]).await;
    // Anthropic: input_tokens 20 exclude the 1000 read and the 200 written.
    w.mock
        .update_options(|o| o.usage = Some(usage(20, 9, 1000, 200)));
    // Pass-through with a one-hour cache breakpoint: the writes are one-hour writes.
    let cached = json!({"model": CLAUDE, "max_tokens": 64,
        "system": [{"type": "text", "text": "Long instructions.",
                    "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": "cache me"}]});
    let r = messages(&w, cached.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["usage"]["cache_creation"]["ephemeral_1h_input_tokens"],
        200
    );
    // (20 + 1000 × 0.1 + 200 × 2 + 9 × 5) × 1.5 = 847.5
    assert_row(&row(&w, 1).await, [1220, 9, 1000, 200, 200, 0], 848);

    let mut stream = cached;
    stream["stream"] = json!(true);
    let rec = messages_stream(&w, stream).await;
    assert_eq!(rec.status, 200);
    assert_row(&row(&w, 2).await, [1220, 9, 1000, 200, 200, 0], 848);

    // Converted (an OpenAI client): no breakpoint, so five-minute writes.
    let chat = json!({"model": CLAUDE, "messages": [{"role": "user", "content": "cache"}]});
    let r = w.chat(chat.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let details = &r.body["usage"]["prompt_tokens_details"];
    assert_eq!(details["cached_tokens"], 1000, "{}", r.text);
    assert_eq!(details["cache_write_tokens"], 200, "{}", r.text);
    // (20 + 100 + 200 × 1.25 + 45) × 1.5 = 622.5
    assert_row(&row(&w, 3).await, [1220, 9, 1000, 200, 0, 0], 623);

    let mut stream = chat;
    stream["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", stream).await;
    assert!(rec.ends_with_done());
    assert_row(&row(&w, 4).await, [1220, 9, 1000, 200, 0, 0], 623);
    assert_used(&w, &[848, 848, 623, 623]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_cached_content_and_thoughts_are_counted_once() {
    let w = world(GEMINI, json!({})).await;
    set_ratios(&w, GEMINI_MODEL, [0.5, 4.0, 0.25, 1.0, 1.0]).await;
    // Gemini: promptTokenCount 400 includes the 100 cached; with thoughts asked for the
    // mock adds thoughtsTokenCount 5 apart from the 20 candidates.
    w.mock
        .update_options(|o| o.usage = Some(usage(400, 20, 100, 0)));
    let thinking = json!({"contents": [{"role": "user", "parts": [{"text": "think"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": true}}});
    let r = goog_post(
        &w,
        &action(GEMINI_MODEL, "generateContent"),
        thinking.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // (300 + 100 × 0.25 + 25 × 4) × 0.5 = 212.5
    assert_row(&row(&w, 1).await, [400, 25, 100, 0, 0, 5], 213);

    let path = format!("{}?alt=sse", action(GEMINI_MODEL, "streamGenerateContent"));
    let r = goog_post(&w, &path, thinking).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_row(&row(&w, 2).await, [400, 25, 100, 0, 0, 5], 213);

    // Converted (an OpenAI client), no thoughts: (300 + 25 + 80) × 0.5 = 202.5
    let chat = json!({"model": GEMINI_MODEL, "messages": [{"role": "user", "content": "x"}]});
    let r = w.chat(chat.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["usage"]["prompt_tokens_details"]["cached_tokens"],
        100
    );
    assert_row(&row(&w, 3).await, [400, 20, 100, 0, 0, 0], 203);
    let mut stream = chat;
    stream["stream"] = json!(true);
    let rec = w.stream("/v1/chat/completions", stream).await;
    assert!(rec.ends_with_done());
    assert_row(&row(&w, 4).await, [400, 20, 100, 0, 0, 0], 203);
    assert_used(&w, &[213, 213, 203, 203]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_table_prices_what_the_operator_left_unset_and_the_operator_wins() {
    let w = world_with_env(ANTHROPIC, json!({}), &[("BUILTIN_PRICES", "true")]).await;
    w.mock
        .update_options(|o| o.usage = Some(usage(20, 9, 1000, 200)));
    let chat = json!({"model": CLAUDE, "messages": [{"role": "user", "content": "cache"}]});
    // Built-in Claude Sonnet 4.5: ratio 1.5 ($3 / M), completion 5, read 0.1, write 1.25.
    // (20 + 100 + 250 + 45) × 1.5 = 622.5
    let r = w.chat(chat.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = row(&w, 1).await;
    assert_row(&log, [1220, 9, 1000, 200, 0, 0], 623);
    assert_eq!(price(&log)["builtin"], CLAUDE, "{log}");
    assert_eq!(price(&log)["cache_write_1h_ratio"], 2.0, "{log}");

    // The operator's model ratio wins; the table still prices the rest: 415 × 3.
    w.set_options(json!({"model_ratio": {CLAUDE: 3}})).await;
    w.chat(chat.clone()).await;
    assert_row(&row(&w, 2).await, [1220, 9, 1000, 200, 0, 0], 1245);
    // And the operator's cache-read ratio: (20 + 500 + 250 + 45) × 3.
    w.set_options(json!({"cache_read_ratio": {CLAUDE: 0.5}}))
        .await;
    w.chat(chat.clone()).await;
    let log = row(&w, 3).await;
    assert_row(&log, [1220, 9, 1000, 200, 0, 0], 2445);
    assert_eq!(price(&log)["cache_read_ratio"], 0.5);

    let r = w.gw.get("/api/option/prices", Some(&w.root)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sonnet = r
        .data()
        .as_array()
        .and_then(|rows| rows.iter().find(|p| p["model"] == CLAUDE).cloned())
        .expect("the table lists Claude Sonnet 4.5");
    assert_eq!(sonnet["usd_per_million"]["input"], 3.0);
    assert_eq!(sonnet["builtin"]["model_ratio"], 1.5);
    assert_eq!(sonnet["effective"]["model_ratio"], 3.0);
    assert_eq!(sonnet["effective"]["cache_read_ratio"], 0.5);
    assert_eq!(sonnet["effective"]["cache_write_ratio"], 1.25);

    // Table off and overrides gone: the defaults (ratio 1, completion 3, cache 1).
    w.set_options(json!({"builtin_prices": false, "model_ratio": {}, "cache_read_ratio": {}}))
        .await;
    w.chat(chat).await;
    let log = row(&w, 4).await;
    assert_row(&log, [1220, 9, 1000, 200, 0, 0], 1247);
    assert!(price(&log).get("builtin").is_none(), "{log}");
    assert_used(&w, &[623, 1245, 2445, 1247]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_ratio_options_are_validated_and_exported_with_the_log() {
    let w = world(ANTHROPIC, json!({})).await;
    for bad in [
        json!({"cache_read_ratio": {CLAUDE: -1}}),
        json!({"cache_write_ratio": {CLAUDE: 1001}}),
        json!({"cache_write_1h_ratio": {"": 1}}),
        json!({"builtin_prices": "yes"}),
    ] {
        let r = w.gw.put("/api/option", Some(&w.root), bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    w.mock
        .update_options(|o| o.usage = Some(usage(20, 9, 1000, 200)));
    let r = w
        .chat(json!({"model": CLAUDE, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    row(&w, 1).await;
    let r = w.gw.get("/api/log/export?format=csv", Some(&w.root)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut lines = r.text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let first: Vec<String> = csv_fields(lines.next().unwrap_or_default());
    let field = |name: &str| {
        let at = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name}"));
        first[at].clone()
    };
    assert_eq!(field("cache_read_tokens"), "1000");
    assert_eq!(field("cache_write_tokens"), "200");
    assert_eq!(field("cache_write_1h_tokens"), "0");
    assert_eq!(field("reasoning_tokens"), "0");
    // Default ratios: (20 + 1000 + 200 + 27) × 1.
    assert_eq!(field("quota"), "1247");
    let applied: Value = serde_json::from_str(&field("price")).expect("price JSON");
    assert_eq!(applied["cache_read_ratio"], 1.0);
}

/// The fields of one CSV line (quoted fields may hold commas and doubled quotes).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}
