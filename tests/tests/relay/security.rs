//! Authentication and SSRF: refused requests never open an upstream connection.

use integration_tests::relay_support::upstreams::{canary, echo};
use integration_tests::relay_support::{client, spawn_relay, TestRelay, TEST_PROXY_KEY};
use reqwest::{Method, Response};
use shared::ip_guard::HostAllowList;
use shared::relay_protocol::{HEADER_PROXY_KEY, HEADER_TARGET_URL};

/// Checks the relay's error shape; returns the message.
async fn assert_relay_error(response: Response, status: u16, code: &str, context: &str) -> String {
    assert_eq!(response.status().as_u16(), status, "{context}");
    assert_eq!(response.headers()["x-relay-error"], code, "{context}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "relay_error", "{context}");
    assert_eq!(body["error"]["code"], code, "{context}");
    let message = body["error"]["message"].as_str();
    message
        .unwrap_or_else(|| panic!("{context}: no message"))
        .to_owned()
}

/// A refusal names the relay variable that would allow the target, so the operator who
/// meant it knows what to set.
fn assert_names(message: &str, variable: &str) {
    assert!(
        message.contains(variable),
        "should name {variable}: {message}"
    );
}

#[tokio::test]
async fn missing_wrong_or_duplicated_keys_get_401_and_no_upstream_call() {
    let relay = spawn_relay(|_| {}).await;
    let upstream = canary("127.0.0.1").await;
    let target = upstream.url("/");
    let near_miss = format!("{}x", &TEST_PROXY_KEY[..TEST_PROXY_KEY.len() - 1]);

    let attempts: Vec<(&str, Vec<&str>)> = vec![
        ("no key", vec![]),
        ("empty key", vec![""]),
        ("wrong key", vec!["wrong-key-wrong-key-wrong-key-wrong"]),
        ("prefix of the key", vec![&TEST_PROXY_KEY[..32]]),
        ("last character differs", vec![&near_miss]),
        ("key twice", vec![TEST_PROXY_KEY, TEST_PROXY_KEY]),
    ];
    for (case, keys) in attempts {
        let mut request = client()
            .post(relay.proxy_url())
            .header(HEADER_TARGET_URL, &target);
        for key in keys {
            request = request.header(HEADER_PROXY_KEY, key);
        }
        assert_relay_error(request.send().await.unwrap(), 401, "unauthorized", case).await;
    }
    assert_eq!(upstream.connection_count(), 0);
}

/// A relay like production (private targets refused) but allowing plain http, so the
/// refusals below are about addresses, not about the scheme.
async fn strict_relay() -> TestRelay {
    spawn_relay(|s| {
        s.allow_private = false;
        s.allow_http = true;
    })
    .await
}

#[tokio::test]
async fn private_targets_in_every_spelling_are_refused_before_connecting() {
    let relay = strict_relay().await;
    let canary = canary("127.0.0.2").await;
    let port = canary.addr.port();

    let forbidden = [
        format!("http://127.0.0.2:{port}/"),
        format!("http://2130706434:{port}/"),
        format!("http://0x7f000002:{port}/"),
        format!("http://0x7f.2:{port}/"),
        format!("http://0x7f.0.0.2:{port}/"),
        format!("http://017700000002:{port}/"),
        format!("http://0177.0.0.2:{port}/"),
        format!("http://127.2:{port}/"),
        format!("http://127.0.0.2.:{port}/"),
        format!("http://%31%32%37.0.0.2:{port}/"),
        format!("http://[::ffff:127.0.0.2]:{port}/"),
        format!("http://[::ffff:7f00:2]:{port}/"),
        format!("http://[::127.0.0.2]:{port}/"),
        format!("http://[64:ff9b::7f00:2]:{port}/"),
        format!("http://[2002:7f00:0002::1]:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://0.0.0.0:{port}/"),
        format!("http://0:{port}/"),
        format!("http://169.254.169.254:{port}/latest/meta-data/"),
        format!("http://10.0.0.1:{port}/"),
        format!("http://100.64.0.1:{port}/"),
        format!("http://[fd00::1]:{port}/"),
        format!("http://[fe80::1]:{port}/"),
    ];
    for target in &forbidden {
        let response = relay.proxied(Method::GET, target).send().await.unwrap();
        let message = assert_relay_error(response, 403, "target_not_allowed", target).await;
        assert_names(&message, "RELAY_ALLOW_PRIVATE=true");
    }

    let tricks = [
        format!("http://user@127.0.0.2:{port}/"),
        format!("http://api.openai.com@127.0.0.2:{port}/"),
        format!("http://api.openai.com:443@127.0.0.2:{port}/"),
        format!("http://api.openai.com%40127.0.0.2:{port}/"),
        format!("http://api.openai.com#@127.0.0.2:{port}/"),
        format!("http://127.0.0.2:{port}#@api.openai.com/"),
        format!("http://127.0.0.2:{port}/#frag"),
        format!("http://api.openai.com\\@127.0.0.2:{port}/"),
        format!("http:/127.0.0.2:{port}/"),
        format!("http:127.0.0.2:{port}/"),
        format!("gopher://127.0.0.2:{port}/_"),
        "file:///etc/passwd".to_owned(),
        "not a url".to_owned(),
    ];
    for target in &tricks {
        let response = relay.proxied(Method::GET, target).send().await.unwrap();
        assert_relay_error(response, 400, "invalid_target", target).await;
    }

    assert_eq!(canary.connection_count(), 0, "the canary was reached");
}

#[tokio::test]
async fn names_resolving_to_loopback_are_refused_on_the_resolved_address() {
    let relay = strict_relay().await;
    let canary = canary("127.0.0.1").await;
    let port = canary.addr.port();
    // A name passes the URL checks and is refused by the connector, after resolution
    // (from /etc/hosts, so no DNS query leaves the machine), on the addresses it would
    // have connected to.
    for target in [
        format!("http://localhost:{port}/"),
        format!("http://LocalHost:{port}/v1"),
    ] {
        let response = relay.proxied(Method::GET, &target).send().await.unwrap();
        let message = assert_relay_error(response, 403, "target_not_allowed", &target).await;
        assert_names(&message, "RELAY_ALLOW_PRIVATE=true");
    }
    assert_eq!(canary.connection_count(), 0, "the canary was reached");
}

#[tokio::test]
async fn plain_http_is_refused_unless_enabled() {
    let relay = spawn_relay(|s| {
        s.allow_http = false;
        s.allow_private = true;
    })
    .await;
    let canary = canary("127.0.0.1").await;
    let response = relay
        .proxied(Method::GET, &canary.url("/"))
        .send()
        .await
        .unwrap();
    let message = assert_relay_error(response, 403, "target_not_allowed", "http target").await;
    assert_names(&message, "RELAY_ALLOW_HTTP=true");
    assert_eq!(canary.connection_count(), 0);
}

#[tokio::test]
async fn the_host_allow_list_is_enforced() {
    let relay = spawn_relay(|s| {
        s.allowed_hosts = HostAllowList::parse("localhost, *.openai.azure.com").unwrap();
    })
    .await;
    let upstream = echo().await;
    let port = upstream.addr.port();

    let response = relay
        .proxied(Method::GET, &upstream.url("/"))
        .send()
        .await
        .unwrap();
    let message =
        assert_relay_error(response, 403, "target_not_allowed", "127.0.0.1 not listed").await;
    assert_names(&message, "RELAY_ALLOWED_HOSTS");
    assert_eq!(upstream.connection_count(), 0);

    let response = relay
        .proxied(Method::GET, &format!("http://localhost:{port}/"))
        .send()
        .await
        .unwrap();
    // localhost may resolve to ::1 first; the echo server listens on 127.0.0.1 only,
    // and the connector falls back to the next address.
    assert_eq!(response.status(), 200);
}
