//! Timeouts, unreachable upstreams, body-size and concurrency limits.

use std::time::Duration;

use futures_util::StreamExt;
use integration_tests::relay_support::raw_http::{chunk, read_body, read_head};
use integration_tests::relay_support::upstreams::{
    canary, echo, paced_sse, refused_port, silent, stalls_after_first_event,
};
use integration_tests::relay_support::{spawn_relay, TEST_PROXY_KEY};
use reqwest::{Method, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn assert_relay_error(response: Response, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["x-relay-error"], code);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code);
}

#[tokio::test]
async fn an_upstream_that_never_answers_gets_504() {
    let relay = spawn_relay(|s| s.first_byte_timeout = Duration::from_secs(1)).await;
    let upstream = silent().await;
    let response = relay
        .proxied(Method::POST, &upstream.url("/v1/chat/completions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_relay_error(response, 504, "upstream_timeout").await;
}

#[tokio::test]
async fn an_upstream_that_goes_silent_mid_stream_is_cut_off() {
    let relay = spawn_relay(|s| s.idle_timeout = Duration::from_secs(1)).await;
    let upstream = stalls_after_first_event().await;
    let response = relay
        .proxied(Method::GET, &upstream.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(&first[..], b"data: first\n\n");
    // The relay aborts the chunked body: the client sees an error, not a clean end.
    let rest = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("the relay ended the stream");
    assert!(
        matches!(rest, Some(Err(_))),
        "stream ended cleanly: {rest:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_gets_502() {
    let relay = spawn_relay(|_| {}).await;
    let port = refused_port().await;
    let response = relay
        .proxied(Method::GET, &format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert_relay_error(response, 502, "upstream_unreachable").await;
}

#[tokio::test]
async fn a_declared_oversized_body_gets_413_without_an_upstream_call() {
    let relay = spawn_relay(|s| s.max_body_bytes = 1024 * 1024).await;
    let upstream = canary("127.0.0.1").await;
    let response = relay
        .proxied(Method::POST, &upstream.url("/"))
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_relay_error(response, 413, "body_too_large").await;
    assert_eq!(upstream.connection_count(), 0);

    let response = relay
        .proxied(Method::POST, &upstream.url("/"))
        .header("content-length", "99999999999999999999999")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_gets_413() {
    let relay = spawn_relay(|s| s.max_body_bytes = 256 * 1024).await;
    let upstream = echo().await;
    let head = format!(
        "POST /proxy HTTP/1.1\r\nhost: relay\r\nx-proxy-key: {TEST_PROXY_KEY}\r\n\
         x-target-url: {}\r\ntransfer-encoding: chunked\r\n\r\n",
        upstream.url("/")
    );
    let stream = TcpStream::connect(relay.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Write in the background: the relay stops reading once the limit is crossed.
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for _ in 0..64 {
            writer.write_all(&chunk(&[b'y'; 16 * 1024])).await?;
        }
        writer.write_all(b"0\r\n\r\n").await?;
        Ok::<_, std::io::Error>(writer)
    });
    let (head, rest) = tokio::time::timeout(Duration::from_secs(30), read_head(&mut reader, false))
        .await
        .expect("relay answered")
        .expect("a response head");
    assert_eq!(head.status, 413);
    assert_eq!(head.header("x-relay-error"), Some("body_too_large"));
    let body = read_body(&mut reader, &head, rest).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["code"], "body_too_large");
    writing.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_limit_get_503_until_one_finishes() {
    let relay = spawn_relay(|s| s.max_concurrent_streams = 1).await;
    let paced = paced_sse(4, Duration::from_millis(200), None).await;
    let other = echo().await;

    let first = relay
        .proxied(Method::GET, &paced.upstream.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);

    let second = relay
        .proxied(Method::GET, &other.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.headers()["retry-after"], "1");
    assert_relay_error(second, 503, "overloaded").await;
    assert_eq!(other.connection_count(), 0);

    // Finishing the first stream frees its slot.
    let body = first.bytes().await.unwrap();
    assert!(body.ends_with(b"data: 3\n\n"));
    let third = relay
        .proxied(Method::GET, &other.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 200);
}
