//! `METRICS_TOKEN`: required on the gateway when set; the relay's `/metrics` exists only
//! when it is set.

use super::contents::{sample, scrape};
use integration_tests::relay_support::{client, spawn_relay};
use integration_tests::v1_support::V1World;

const TOKEN: &str = "metrics-token-for-tests-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_requires_the_token_when_it_is_set() {
    let w = V1World::with_env(&[("METRICS_TOKEN", TOKEN)]).await;
    let (status, body) = scrape(&w, None).await;
    assert_eq!(status, 401);
    assert!(!body.contains("gateway_"), "{body}");
    assert_eq!(scrape(&w, Some("wrong-token")).await.0, 401);
    let (status, body) = scrape(&w, Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("# TYPE gateway_rate_limit_refusals_total counter"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_hides_metrics_without_a_token_and_checks_it_with_one() {
    let open = spawn_relay(|_| {}).await;
    let r = client()
        .get(open.url("/metrics"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.status(),
        404,
        "disabled on the relay unless METRICS_TOKEN is set"
    );
    open.stop().await;

    let relay = spawn_relay(|s| s.metrics_token = Some(TOKEN.into())).await;
    let r = client()
        .get(relay.url("/metrics"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let r = client()
        .get(relay.url("/metrics"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    // A refused proxy call (wrong key) is counted by reason.
    let r = client()
        .post(relay.proxy_url())
        .header(shared::relay_protocol::HEADER_PROXY_KEY, "wrong-key")
        .send()
        .await
        .expect("proxy");
    assert_eq!(r.status(), 401);
    let r = client()
        .get(relay.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("text");
    assert_eq!(
        sample(&text, r#"relay_refusals_total{reason="unauthorized"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "relay_open_streams"), Some(0.0), "{text}");
    relay.stop().await;
}
