//! Hardening of the `/v1` path (issue 16): a non-streaming answer cut short of its
//! Content-Length is an upstream failure (failover, nothing billed), a stalled request
//! body gets 408, a stream cut by the shutdown grace is logged as such, and the largest
//! ratios still price exactly.

use gateway::store::logs::{LogFilter, NewLog};
use gateway::store::sql_store::Page;
use integration_tests::mock_upstream::{MockUpstream, Reply};
use integration_tests::v1_support::{
    chat_body, openai_error, stream_body, V1World, CHANNEL_KEY, MODEL, USER_QUOTA,
};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A world whose primary channel (priority 10) is tried before a backup (priority 0).
async fn with_backup() -> (V1World, MockUpstream, i64) {
    let w = V1World::build_with_channel(
        &[],
        USER_QUOTA,
        json!({"name": "k"}),
        json!({"priority": 10}),
    )
    .await;
    let backup = MockUpstream::start().await;
    backup.update_options(|o| o.api_key = Some(CHANNEL_KEY.to_string()));
    let id = w
        .add_channel(&backup, "backup", json!({"priority": 0}))
        .await;
    (w, backup, id)
}

/// A complete, well-formed chat answer sent with a Content-Length larger than itself,
/// then a clean close: it looks whole, but the upstream did not send all it announced.
fn short_but_well_formed() -> Reply {
    let body = json!({
        "id": "chatcmpl-cut", "object": "chat.completion", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "looks complete"}}],
        "usage": {"prompt_tokens": 5000, "completion_tokens": 5000, "total_tokens": 10000}
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len() + 64
    );
    Reply::Raw([head.into_bytes(), body.into_bytes()].concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_of_its_length_fails_over_and_only_the_answer_given_is_billed() {
    for cut in [short_but_well_formed(), Reply::DropAfter(1)] {
        let (w, backup, backup_id) = with_backup().await;
        w.mock.push_reply(cut);
        let r = w.chat(chat_body("hi")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["choices"][0]["message"]["content"], "Echo: hi");
        assert_eq!((w.mock.request_count(), backup.request_count()), (1, 1));
        let logs = w.logs().await;
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0]["channel_id"], backup_id, "{}", logs[0]);
        // The backup's usage (11 + 7 tokens), not the cut answer's 5000 + 5000.
        assert_eq!(logs[0]["prompt_tokens"], 11, "{}", logs[0]);
        w.assert_ledger(USER_QUOTA).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_with_no_channel_left_is_a_502_that_bills_nothing() {
    let w = V1World::new().await;
    w.set_options(json!({"retry_times": 0})).await;
    w.mock.push_reply(short_but_well_formed());
    let r = w.chat(chat_body("hi")).await;
    let e = openai_error(&r, 502);
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains("cut off"), "{message}");
    assert!(
        message.contains("bytes"),
        "the log and caller say why: {message}"
    );
    let logs = w.wait_for_logs(1, Duration::from_secs(10)).await;
    assert_eq!(logs[0]["status_code"], 502, "{}", logs[0]);
    assert_eq!(logs[0]["quota"], 0, "{}", logs[0]);
    assert!(
        logs[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("cut off"),
        "{}",
        logs[0]
    );
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_body_that_stalls_gets_408_and_the_connection_closes() {
    let w = V1World::with_env(&[("REQUEST_BODY_TIMEOUT_SECS", "1")]).await;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 300\r\n\r\n{{\"model\":",
        w.key
    );
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", w.gw.port))
        .await
        .expect("connect");
    s.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    // read_to_end returns once the gateway closes the connection.
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "connection still open after 5 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert_eq!(w.mock.request_count(), 0);
}

/// Every log row, read from the store (the server may be stopped).
async fn stored_logs(w: &V1World) -> Vec<NewLog> {
    w.gw.state
        .store
        .list_logs(&LogFilter::default(), Page::new(None, Some(100)))
        .await
        .expect("logs")
        .items
        .into_iter()
        .map(|e| e.row)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_by_the_shutdown_grace_is_logged_as_such_and_billed() {
    let mut w = V1World::with_env(&[("SHUTDOWN_GRACE_SECS", "1")]).await;
    w.mock.update_options(|o| {
        o.delay = Duration::from_millis(200);
        o.chunks = 100;
    });
    let mut reader = w
        .open_stream("/v1/chat/completions", stream_body("a very long answer"))
        .await;
    for _ in 0..3 {
        reader
            .next_event(Duration::from_secs(10))
            .await
            .expect("an event");
    }
    let reading = tokio::spawn(reader.read_to_end(Duration::from_secs(30)));
    let stopping = std::time::Instant::now();
    w.gw.stop().await;
    let stopped_in = stopping.elapsed();
    let s = reading.await.expect("reader");
    assert!(stopped_in < Duration::from_secs(4), "{stopped_in:?}");
    assert_eq!(s.status, 200);
    assert_eq!(s.error_events().len(), 1, "{:?}", s.events());
    assert!(
        !String::from_utf8_lossy(&s.raw).contains("[DONE]"),
        "a cut stream must not end like a complete one"
    );
    let logs = stored_logs(&w).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].status_code, 503, "{:?}", logs[0]);
    assert!(logs[0].error.contains("shutdown"), "{:?}", logs[0]);
    assert!(!logs[0].error.contains("client"), "{:?}", logs[0]);
    assert!(logs[0].completion_tokens > 0, "{:?}", logs[0]);
    assert!(
        logs[0].quota > 0,
        "what was streamed is billed: {:?}",
        logs[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_ratios_still_price_requests_exactly() {
    let quota = 1_000_000_000_000_000;
    let w = V1World::build(&[], quota, json!({"name": "k"})).await;
    w.set_options(json!({
        "model_ratio": {MODEL: 1000},
        "completion_ratio": {MODEL: 1000},
        "group_ratio": {"default": 1000},
    }))
    .await;
    let mut body = chat_body("hi");
    body["max_tokens"] = json!(100);
    let r = w.chat(body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let logs = w.logs().await;
    // (11 + 7 × 1000) × 1000 × 1000
    assert_eq!(logs[0]["quota"], 7_011_000_000_i64, "{}", logs[0]);
    w.assert_ledger(quota).await;
}
