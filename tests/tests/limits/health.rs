//! Channel health without Redis: cool-downs on 429 and several upstream keys per channel.

use integration_tests::mock_upstream::{MockUpstream, Reply};
use integration_tests::v1_support::{chat_body, V1World, CHANNEL_KEY};
use serde_json::json;

/// A raw 429 with `Retry-After`, as rate-limited providers answer.
pub fn too_many(retry_after_secs: u64) -> Reply {
    let body = r#"{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#;
    Reply::Raw(
        format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
             retry-after: {retry_after_secs}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub async fn a_channel_answering_429_cools_down_and_traffic_moves_to_the_next() {
    let w = V1World::build_with_channel(
        &[],
        integration_tests::v1_support::USER_QUOTA,
        json!({"name": "k"}),
        json!({"priority": 10}),
    )
    .await;
    let backup = MockUpstream::start().await;
    w.add_channel(&backup, "backup", json!({"priority": 0}))
        .await;
    w.mock.push_reply(too_many(30));
    for i in 0..4 {
        let r = w.chat(chat_body("x")).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
    }
    assert_eq!(
        w.mock.request_count(),
        1,
        "the cooling channel was tried again"
    );
    assert_eq!(backup.request_count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_key_is_disabled_and_the_channels_other_keys_carry_on() {
    let keys = format!("sk-revoked-upstream-key-000000\n{CHANNEL_KEY}");
    let w = V1World::build_with_channel(
        &[],
        integration_tests::v1_support::USER_QUOTA,
        json!({"name": "k"}),
        json!({"key": keys}),
    )
    .await;
    let mut failures = 0;
    for _ in 0..6 {
        if w.chat(chat_body("x")).await.status != 200 {
            failures += 1;
        }
    }
    assert!(failures <= 1, "{failures} failures");
    let ch = w.channel(w.channel_id).await;
    assert_eq!(
        ch.status, 1,
        "the channel stays enabled: {}",
        ch.disabled_reason
    );
    assert_eq!(ch.disabled_keys.len(), 1);
    let used: Vec<String> = w
        .mock
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(String::from))
        .collect();
    let revoked = used.iter().filter(|a| a.contains("revoked")).count();
    assert_eq!(revoked, 1, "the revoked key was used once: {used:?}");
    // The last key refused too: now the channel is disabled.
    let r =
        w.gw.put(
            &format!("/api/channel/{}", w.channel_id),
            Some(&w.root),
            json!({"key": "sk-revoked-upstream-key-000000"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(w.chat(chat_body("x")).await.status, 200);
    let ch = w.channel(w.channel_id).await;
    assert_eq!(ch.status, 3, "auto-disabled once no key is left");
}
