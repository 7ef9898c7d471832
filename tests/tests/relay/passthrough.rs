//! Status codes, headers, methods and redirects pass through untouched; relay-only
//! headers never reach the upstream.

use integration_tests::relay_support::raw_http::{read_body, read_head};
use integration_tests::relay_support::upstreams::{canary, echo, redirector, status_server};
use integration_tests::relay_support::{client, spawn_relay, TEST_PROXY_KEY};
use reqwest::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn upstream_statuses_headers_and_encoded_bodies_come_back_unchanged() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = status_server().await;

    for code in [200u16, 201, 400, 401, 403, 404, 418, 429, 500, 502, 503] {
        let response = relay
            .proxied(Method::GET, &upstream.url(&format!("/status/{code}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), code);
        let headers = response.headers().clone();
        assert_eq!(headers["x-upstream-custom"], "kept");
        assert_eq!(headers["x-ratelimit-remaining-requests"], "42");
        assert_eq!(
            headers["content-encoding"], "gzip",
            "passed through, not decoded"
        );
        assert!(
            headers.get("x-upstream-hop").is_none(),
            "connection-nominated header"
        );
        assert!(headers.get("keep-alive").is_none());
        assert!(
            headers.get("x-relay-error").is_none(),
            "an upstream cannot fake a relay error"
        );
        let body = response.bytes().await.unwrap();
        assert_eq!(&body[..], b"\x1f\x8b\x08\x00fake-gzip-bytes");
    }
}

#[tokio::test]
async fn relay_and_hop_by_hop_headers_are_stripped_before_the_upstream() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = echo().await;
    let target = upstream.url("/v1/embeddings?api-version=2024-02-01");

    // Raw bytes, so the client library cannot add or drop headers on its own.
    let request = format!(
        "POST /proxy HTTP/1.1\r\n\
         host: relay.example\r\n\
         x-proxy-key: {TEST_PROXY_KEY}\r\n\
         x-target-url: {target}\r\n\
         x-proxy-trace: 1\r\n\
         x-forwarded-for: 203.0.113.7\r\n\
         x-forwarded-proto: https\r\n\
         x-forwarded-host: gateway.example\r\n\
         forwarded: for=203.0.113.7\r\n\
         x-real-ip: 203.0.113.7\r\n\
         te: trailers\r\n\
         keep-alive: timeout=5\r\n\
         proxy-authorization: Basic Zm9vOmJhcg==\r\n\
         connection: close, x-hop-custom\r\n\
         x-hop-custom: 1\r\n\
         authorization: Bearer sk-upstream-key\r\n\
         api-key: azure-key\r\n\
         x-custom: kept\r\n\
         content-type: application/json\r\n\
         content-length: 2\r\n\r\n{{}}"
    );
    let mut stream = TcpStream::connect(relay.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let (head, rest) = read_head(&mut stream, false).await.unwrap();
    assert_eq!(head.status, 200);
    let body = read_body(&mut stream, &head, rest).await.unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&body).unwrap();

    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/v1/embeddings?api-version=2024-02-01");
    let headers = seen["headers"].as_object().unwrap();
    assert_eq!(headers["host"], upstream.addr.to_string());
    assert_eq!(headers["authorization"], "Bearer sk-upstream-key");
    assert_eq!(headers["api-key"], "azure-key");
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["content-length"], "2");
    for gone in [
        "x-proxy-key",
        "x-target-url",
        "x-proxy-trace",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "forwarded",
        "x-real-ip",
        "te",
        "keep-alive",
        "proxy-authorization",
        "x-hop-custom",
    ] {
        assert!(!headers.contains_key(gone), "{gone} reached the upstream");
    }
    let connection = headers.get("connection").and_then(|v| v.as_str());
    assert!(
        connection.is_none_or(|v| !v.contains("x-hop-custom")),
        "caller's Connection header was forwarded: {connection:?}"
    );
}

#[tokio::test]
async fn the_method_is_kept_for_every_verb() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = echo().await;
    for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
        let response = relay
            .proxied(method.clone(), &upstream.url("/m"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let seen: serde_json::Value = response.json().await.unwrap();
        assert_eq!(seen["method"], method.as_str());
    }
}

#[tokio::test]
async fn redirects_are_handed_back_not_followed() {
    let relay = spawn_relay(|_| {}).await;
    let destination = canary("127.0.0.1").await;
    let upstream = redirector(destination.url("/elsewhere")).await;

    let response = relay
        .proxied(Method::GET, &upstream.url("/moved"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        destination.url("/elsewhere")
    );
    assert!(response.headers().get("x-relay-error").is_none());
    assert_eq!(destination.connection_count(), 0);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = echo().await;

    let response = relay
        .proxied(Method::GET, &upstream.url("/"))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-123");
    let seen: serde_json::Value = response.json().await.unwrap();
    assert_eq!(seen["headers"]["x-request-id"], "req-123");

    let response = client().post(relay.proxy_url()).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 32);
}

#[tokio::test]
async fn health_and_index_answer_json() {
    let relay = spawn_relay(|_| {}).await;
    let health: serde_json::Value = client()
        .get(relay.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, serde_json::json!({"status": "ok"}));
    let index: serde_json::Value = client()
        .get(relay.url("/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(index["name"], "relay");
    assert!(index["version"].is_string());
}
