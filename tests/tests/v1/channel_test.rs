//! `POST /api/channel/{id}/test`: a tiny real request through the channel.

use integration_tests::mock_upstream::Reply;
use integration_tests::v1_support::{V1World, CHANNEL_KEY};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_channel_tests_successfully_and_records_latency() {
    let w = V1World::new().await;
    let r =
        w.gw.post(
            &format!("/api/channel/{}/test", w.channel_id),
            Some(&w.root),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.data();
    assert_eq!(d["success"], true, "{d}");
    assert!(d["latency_ms"].as_i64().unwrap() >= 0);
    let got = w.mock.last_request().unwrap();
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {CHANNEL_KEY}").as_str())
    );
    let ch = w.channel(w.channel_id).await;
    assert!(ch.test_at.is_some());
    // Tests are not billed to anyone.
    assert_eq!(w.user().await.used_quota, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_channel_reports_why() {
    let w = V1World::new().await;
    w.mock.push_reply(Reply::error(500, "upstream on fire"));
    let r =
        w.gw.post(
            &format!("/api/channel/{}/test", w.channel_id),
            Some(&w.root),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.data();
    assert_eq!(d["success"], false, "{d}");
    assert!(d["message"].as_str().unwrap().contains("500"), "{d}");
    assert!(!d.to_string().contains(CHANNEL_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_tests_are_for_admins_only() {
    let w = V1World::new().await;
    let r =
        w.gw.post(
            &format!("/api/channel/{}/test", w.channel_id),
            Some(&w.user_jwt),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r =
        w.gw.post("/api/channel/999999/test", Some(&w.root), json!({}))
            .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(w.mock.request_count(), 0);
}
