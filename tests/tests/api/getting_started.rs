//! `GET /api/user/self/getting_started`: the console's first-run checklist follows the
//! data: a channel, quota, a key, then a successful request (a failed one does not count).

use super::helpers::{fails, ok};
use integration_tests::gateway_support::TestGateway;
use integration_tests::mock_upstream::{MockUpstream, Reply};
use integration_tests::v1_support::{channel_body, chat_body};
use serde_json::{json, Value};

async fn steps(gw: &TestGateway, jwt: &str) -> Value {
    ok(
        &gw.get("/api/user/self/getting_started", Some(jwt)).await,
        200,
    )
}

fn expect(channel: bool, quota: bool, key: bool, request: bool) -> Value {
    json!({"channel": channel, "quota": quota, "key": key, "request": request})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_is_done_when_the_data_says_so() {
    let gw = TestGateway::spawn().await;
    let mock = MockUpstream::start().await;
    let root = gw.admin().await;
    let (user_id, user) = gw.create_user(&root, "newbie", 1, 0).await;
    assert_eq!(steps(&gw, &root).await, expect(false, false, false, false));
    assert_eq!(steps(&gw, &user).await, expect(false, false, false, false));

    let channel = gw
        .create_channel(&root, channel_body(&mock, "first", json!({})))
        .await;
    assert_eq!(steps(&gw, &user).await, expect(true, false, false, false));

    let r = gw
        .put(
            &format!("/api/user/{user_id}"),
            Some(&root),
            json!({"quota": 1_000_000}),
        )
        .await;
    ok(&r, 200);
    assert_eq!(steps(&gw, &user).await, expect(true, true, false, false));

    let (_, key) = gw.create_key(&user, json!({"name": "first key"})).await;
    assert_eq!(steps(&gw, &user).await, expect(true, true, true, false));

    // A failed request is not the first success.
    mock.push_reply(Reply::error(500, "not yet"));
    let chat = |gw: &TestGateway| {
        gw.builder(reqwest::Method::POST, "/v1/chat/completions", None)
            .bearer_auth(&key)
            .json(&chat_body("hello"))
    };
    let r = gw.send(chat(&gw)).await;
    assert!(r.status.is_server_error(), "{}", r.text);
    gw.state.ledger.flush().await;
    assert_eq!(steps(&gw, &user).await, expect(true, true, true, false));

    let r = gw.send(chat(&gw)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    gw.state.ledger.flush().await;
    assert_eq!(steps(&gw, &user).await, expect(true, true, true, true));
    // Root's own checklist is about root: no key, no quota, no request of its own.
    assert_eq!(steps(&gw, &root).await, expect(true, false, false, false));

    // A disabled channel does not count.
    let r = gw
        .put(
            &format!("/api/channel/{channel}"),
            Some(&root),
            json!({"status": 2}),
        )
        .await;
    ok(&r, 200);
    assert_eq!(steps(&gw, &root).await["channel"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checklist_needs_a_session() {
    let gw = TestGateway::spawn().await;
    fails(&gw.get("/api/user/self/getting_started", None).await, 401);
}
