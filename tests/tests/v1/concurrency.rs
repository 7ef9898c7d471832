//! Reservation is atomic: many concurrent requests on a budget for one.

use integration_tests::mock_upstream::Reply;
use integration_tests::v1_support::{chat_body, wait_until, V1World, USER_QUOTA};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// The reservation of one `chat_body("budget")` request, read from the user's balance
/// while a slow probe request is in flight.
async fn reservation_of_one(w: &V1World) -> i64 {
    let before = w.user().await.quota;
    w.mock.push_reply(Reply::Slow(Duration::from_millis(1500)));
    let probe = w.chat(chat_body("budget"));
    let watch = async {
        let seen = wait_until(Duration::from_secs(10), || async {
            w.user().await.quota < before
        })
        .await;
        assert!(seen, "the probe never reserved quota");
        before - w.user().await.quota
    };
    let (r, reserved) = tokio::join!(probe, watch);
    assert_eq!(r.status, 200, "{}", r.text);
    // The answer costs 32, less than reserved: the rest was refunded.
    assert!(reserved > 32, "reservation {reserved}");
    assert_eq!(w.user().await.quota, before - 32);
    reserved
}

async fn fifty_at_once(w: &V1World, key: &str) -> (usize, usize) {
    let results = futures_util::future::join_all((0..50).map(|_| {
        w.v1_as(
            key,
            Method::POST,
            "/v1/chat/completions",
            Some(chat_body("budget")),
        )
    }))
    .await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let refused = results
        .iter()
        .filter(|r| r.status == 429 && r.body["error"]["code"] == "insufficient_quota")
        .count();
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_on_a_key_budget_for_one_let_exactly_one_through() {
    let w = V1World::new().await;
    let reserved = reservation_of_one(&w).await;
    let (limited_id, limited) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "budget", "remain_quota": reserved}),
        )
        .await;
    let upstream_before = w.mock.request_count();
    let (ok, refused) = fifty_at_once(&w, &limited).await;
    assert_eq!((ok, refused), (1, 49));
    assert_eq!(w.mock.request_count() - upstream_before, 1);
    let t = integration_tests::v1_support::token_row(&w.gw, limited_id).await;
    assert_eq!(t.used_quota, 32);
    assert_eq!(t.remain_quota + t.used_quota, reserved);
    assert_eq!(t.request_count, 50);
    // Requests refused while the one reservation was held must not exhaust the key.
    assert_eq!(t.status, 1, "key wrongly marked exhausted");
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_on_a_user_budget_for_one_let_exactly_one_through() {
    let w = V1World::new().await;
    let reserved = reservation_of_one(&w).await;
    // Leave the user exactly one reservation.
    let quota = w.user().await.quota;
    let r =
        w.gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&w.root),
            json!({"quota": reserved}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let granted = USER_QUOTA - quota + reserved;
    let upstream_before = w.mock.request_count();
    let key = w.key.clone();
    let (ok, refused) = fifty_at_once(&w, &key).await;
    assert_eq!((ok, refused), (1, 49));
    assert_eq!(w.mock.request_count() - upstream_before, 1);
    let user = w.user().await;
    assert_eq!(user.quota, reserved - 32);
    w.assert_ledger(granted).await;
}
