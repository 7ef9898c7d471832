//! Client disconnects, SIGTERM draining, and refusing to start without a proper key.

use std::net::TcpStream as StdTcpStream;
use std::time::Duration;

use futures_util::StreamExt;
use integration_tests::relay_support::process::{run_to_exit, RelayProcess};
use integration_tests::relay_support::upstreams::{paced_sse, silent_watching};
use integration_tests::relay_support::{client, spawn_relay, TEST_PROXY_KEY};
use reqwest::Method;
use shared::relay_protocol::{HEADER_PROXY_KEY, HEADER_TARGET_URL};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnect_closes_the_upstream_connection() {
    let relay = spawn_relay(|_| {}).await;
    let (closed_tx, mut closed_rx) = mpsc::unbounded_channel();
    // Streams forever, one event every 100 ms, until the relay hangs up.
    let paced = paced_sse(0, Duration::from_millis(100), Some(closed_tx)).await;

    let response = relay
        .proxied(Method::POST, &paced.upstream.url("/v1/chat/completions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: 0"));
    drop(stream); // drops the connection: reqwest cannot reuse an unfinished response

    let closed = tokio::time::timeout(Duration::from_secs(10), closed_rx.recv()).await;
    assert!(
        matches!(closed, Ok(Some(()))),
        "upstream connection still open 10 s after the client left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_before_the_response_head_closes_the_upstream_connection() {
    let relay = spawn_relay(|_| {}).await;
    let (closed_tx, mut closed_rx) = mpsc::unbounded_channel();
    let upstream = silent_watching(closed_tx).await;

    let request = relay
        .proxied(Method::POST, &upstream.url("/v1/chat/completions"))
        .body("{}")
        .send();
    // Give up on the request once the upstream has it, as a client timing out would.
    let waited = tokio::time::timeout(Duration::from_secs(2), request).await;
    assert!(waited.is_err(), "the silent upstream answered");

    let closed = tokio::time::timeout(Duration::from_secs(10), closed_rx.recv()).await;
    assert!(
        matches!(closed, Ok(Some(()))),
        "upstream connection still open 10 s after the client left"
    );
}

#[test]
fn sigterm_lets_a_live_stream_finish_then_exits() {
    let mut relay = RelayProcess::start(&[
        ("PROXY_SECRET_KEY", TEST_PROXY_KEY),
        ("RELAY_ALLOW_PRIVATE", "true"),
        ("RELAY_ALLOW_HTTP", "true"),
        ("RELAY_SHUTDOWN_GRACE_SECS", "30"),
    ]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let paced = paced_sse(12, Duration::from_millis(200), None).await;
        let http = client();
        let response = http
            .post(format!("http://{}/proxy", relay.addr))
            .header(HEADER_PROXY_KEY, TEST_PROXY_KEY)
            .header(HEADER_TARGET_URL, paced.upstream.url("/"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut stream = response.bytes_stream();
        let mut body = stream.next().await.unwrap().unwrap().to_vec();

        relay.sigterm();
        // New connections are refused soon after the signal...
        let addr = relay.addr;
        let refused = integration_tests::relay_support::eventually(Duration::from_secs(10), || {
            StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
        })
        .await;
        assert!(refused, "relay still accepting connections after SIGTERM");
        // ...while the stream in flight runs to its end.
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.expect("stream cut during drain"));
        }
        let text = String::from_utf8(body).unwrap();
        assert!(text.ends_with("data: 11\n\n"), "incomplete stream: {text}");
        drop(http);
    });
    let status = relay
        .wait_exit(Duration::from_secs(20))
        .expect("relay exited after draining");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn starting_without_a_key_fails_with_a_clear_message() {
    let (status, stderr) = run_to_exit(&[]);
    assert!(!status.success());
    assert!(stderr.contains("PROXY_SECRET_KEY"), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
}

#[test]
fn starting_with_a_short_key_fails_without_echoing_it() {
    let (status, stderr) = run_to_exit(&[("PROXY_SECRET_KEY", "too-short-secret")]);
    assert!(!status.success());
    assert!(stderr.contains("PROXY_SECRET_KEY"), "stderr: {stderr}");
    assert!(stderr.contains("32"), "stderr: {stderr}");
    assert!(!stderr.contains("too-short-secret"), "the key was echoed");
}
