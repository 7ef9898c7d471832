//! Bytes flow through as they arrive, in both directions, without buffering.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use integration_tests::relay_support::upstreams::{big_download, echo, paced_sse};
use integration_tests::relay_support::{fnv1a, fnv1a_update, pattern, spawn_relay};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sse_event_reaches_the_client_before_the_upstream_sends_the_next() {
    let relay = spawn_relay(|_| {}).await;
    let paced = paced_sse(10, Duration::from_millis(200), None).await;

    let response = relay
        .proxied(Method::POST, &paced.upstream.url("/v1/chat/completions"))
        .body(r#"{"stream":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");

    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut received = 0;
    while let Some(chunk) = stream.next().await {
        buffer.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            assert_eq!(event, format!("data: {received}\n\n"));
            // Event `received` was written after `sent` became received + 1; the next
            // one would bump it again. Seeing it unchanged proves no buffering.
            assert_eq!(
                paced.sent.load(Ordering::SeqCst),
                received + 1,
                "event {received} arrived only after the upstream sent the next one"
            );
            received += 1;
        }
    }
    assert_eq!(received, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_mb_upload_arrives_intact() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = echo().await;
    let body = pattern(5 * 1024 * 1024, 3);

    let response = relay
        .proxied(Method::PUT, &upstream.url("/upload"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen: serde_json::Value = response.json().await.unwrap();
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["body_len"], body.len());
    assert_eq!(seen["body_fnv"], fnv1a(&body).to_string());
    assert_eq!(seen["headers"]["content-length"], body.len().to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upload_is_streamed_up_intact() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = echo().await;
    let body = pattern(3 * 1024 * 1024, 5);
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();

    let response = relay
        .proxied(Method::POST, &upstream.url("/chunked"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen: serde_json::Value = response.json().await.unwrap();
    assert_eq!(seen["headers"]["transfer-encoding"], "chunked");
    assert_eq!(seen["body_len"], body.len());
    assert_eq!(seen["body_fnv"], fnv1a(&body).to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_download_arrives_intact() {
    let relay = spawn_relay(|_| {}).await;
    let len = 20 * 1024 * 1024;
    let upstream = big_download(len).await;

    let response = relay
        .proxied(Method::GET, &upstream.url("/file"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], len.to_string());
    let mut stream = response.bytes_stream();
    let (mut total, mut hash) = (0usize, fnv1a(&[]));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        total += chunk.len();
        hash = fnv1a_update(hash, &chunk);
    }
    assert_eq!(total, len);
    assert_eq!(hash, fnv1a(&pattern(len, 7)));
}
