//! API-key checks on `/v1`: expiry, status, IP allow-list, rate limit, bad keys.

use gateway::store::tokens::TokenPatch;
use integration_tests::v1_support::{chat_body, openai_error, V1World, USER_QUOTA};
use reqwest::Method;
use serde_json::json;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_gets_a_clear_401() {
    let w = V1World::new().await;
    let patch = TokenPatch {
        expired_at: Some(Some(now() - 5)),
        ..Default::default()
    };
    w.gw.state
        .store
        .update_token(w.token_id, w.user_id, patch)
        .await
        .unwrap();
    let e = openai_error(&w.chat(chat_body("x")).await, 401);
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
    assert_eq!(w.token().await.status, 3);
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_gets_401_at_once() {
    let w = V1World::new().await;
    assert_eq!(w.chat(chat_body("x")).await.status, 200);
    let r =
        w.gw.put(
            &format!("/api/token/{}", w.token_id),
            Some(&w.user_jwt),
            json!({"status": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let e = openai_error(&w.chat(chat_body("x")).await, 401);
    assert!(e["message"].as_str().unwrap().contains("disabled"), "{e}");
    assert_eq!(w.mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_keys_get_401() {
    let w = V1World::new().await;
    for key in [
        "sk-000000000000000000000000000000000000000000000000",
        "not-a-key",
        "",
    ] {
        let r = w
            .v1_as(
                key,
                Method::POST,
                "/v1/chat/completions",
                Some(chat_body("x")),
            )
            .await;
        openai_error(&r, 401);
    }
    let r =
        w.gw.post("/v1/chat/completions", None, chat_body("x"))
            .await;
    openai_error(&r, 401);
    assert_eq!(w.mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ip_allow_list_is_enforced() {
    let w = V1World::new().await;
    let (_, elsewhere) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "elsewhere", "allow_ips": ["10.1.2.3", "192.168.0.0/16"]}),
        )
        .await;
    let (_, local) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "local", "allow_ips": ["10.1.2.3", "127.0.0.0/8"]}),
        )
        .await;
    let r = w
        .v1_as(
            &elsewhere,
            Method::POST,
            "/v1/chat/completions",
            Some(chat_body("x")),
        )
        .await;
    openai_error(&r, 403);
    assert_eq!(w.mock.request_count(), 0);
    let r = w
        .v1_as(
            &local,
            Method::POST,
            "/v1/chat/completions",
            Some(chat_body("x")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_key_rate_limit_answers_429() {
    let w = V1World::new().await;
    // Fixed one-minute windows: stay clear of a window boundary.
    if now() % 60 > 50 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - now() % 60) as u64)).await;
    }
    let (_, key) =
        w.gw.create_key(
            &w.user_jwt,
            json!({"name": "slow", "rate_limit_per_minute": 3}),
        )
        .await;
    for _ in 0..3 {
        let r = w
            .v1_as(
                &key,
                Method::POST,
                "/v1/chat/completions",
                Some(chat_body("x")),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = w
        .v1_as(
            &key,
            Method::POST,
            "/v1/chat/completions",
            Some(chat_body("x")),
        )
        .await;
    let e = openai_error(&r, 429);
    assert_ne!(e["code"], "insufficient_quota");
    assert_eq!(w.mock.request_count(), 3);
    // Other keys are not affected.
    assert_eq!(w.chat(chat_body("x")).await.status, 200);
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_key_stops_working_at_once() {
    let w = V1World::new().await;
    assert_eq!(w.chat(chat_body("x")).await.status, 200);
    let r =
        w.gw.delete(&format!("/api/token/{}", w.token_id), Some(&w.user_jwt))
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    openai_error(&w.chat(chat_body("x")).await, 401);
    assert_eq!(w.mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_cannot_use_its_keys() {
    let w = V1World::new().await;
    assert_eq!(w.chat(chat_body("x")).await.status, 200);
    let r =
        w.gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&w.root),
            json!({"status": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w.chat(chat_body("x")).await;
    assert!(r.status == 401 || r.status == 403, "{}", r.text);
    openai_error(&r, r.status.as_u16());
    assert_eq!(w.mock.request_count(), 1);
}
