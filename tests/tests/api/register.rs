//! Registration and the caller's own profile (`/api/user/register`, `/api/user/self`).

use crate::helpers::{fails, ok, snapshot, World};
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_creates_a_user_with_new_user_quota() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.set_options(&root, json!({"new_user_quota": 4242})).await;
    let r = gw
        .post(
            "/api/user/register",
            None,
            json!({"username": "jill.j-9_", "password": "jill-password"}),
        )
        .await;
    let d = ok(&r, 201);
    assert_eq!(d["username"], "jill.j-9_");
    assert_eq!(d["role"], 1);
    assert_eq!(d["quota"], 4242);
    assert_eq!(d["status"], 1);
    assert_eq!(d["group"], "default");
    let jwt = gw.login("jill.j-9_", "jill-password").await;
    let me = ok(&gw.get("/api/user/self", Some(&jwt)).await, 200);
    assert_eq!(me["quota"], 4242);
    // Registration cannot pick a role or a quota.
    let r = gw
        .post(
            "/api/user/register",
            None,
            json!({"username": "kim", "password": "kim-password", "role": 100}),
        )
        .await;
    fails(&r, 400);
    let r = gw
        .post(
            "/api/user/register",
            None,
            json!({"username": "kim", "password": "kim-password", "quota": 99999}),
        )
        .await;
    fails(&r, 400);
    assert!(gw
        .state
        .store
        .user_by_username("kim")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_registration_answers_403_and_creates_nothing() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    gw.set_options(&root, json!({"register_enabled": false}))
        .await;
    let status = ok(&gw.get("/api/status", None).await, 200);
    assert_eq!(status["register_enabled"], false);
    let r = gw
        .post(
            "/api/user/register",
            None,
            json!({"username": "leo", "password": "leo-password"}),
        )
        .await;
    fails(&r, 403);
    assert_eq!(gw.state.store.count_users().await.unwrap(), 1);
    fails(&gw.try_login("leo", "leo-password").await, 401);
    // Operators still create users themselves.
    gw.create_user(&root, "leo", 1, 0).await;
    gw.set_options(&root, json!({"register_enabled": true}))
        .await;
    ok(
        &gw.post(
            "/api/user/register",
            None,
            json!({"username": "mia", "password": "mia-password"}),
        )
        .await,
        201,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_usernames_answer_409() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let body = json!({"username": "nina", "password": "nina-password"});
    ok(
        &gw.post("/api/user/register", None, body.clone()).await,
        201,
    );
    fails(
        &gw.post("/api/user/register", None, body.clone()).await,
        409,
    );
    fails(&gw.post("/api/user", Some(&root), body).await, 409);
    let admin_again = json!({"username": "admin", "password": "whatever-password"});
    fails(
        &gw.post("/api/user/register", None, admin_again.clone())
            .await,
        409,
    );
    fails(&gw.post("/api/user", Some(&root), admin_again).await, 409);
    assert_eq!(gw.state.store.count_users().await.unwrap(), 2);
    // The original password still works: the duplicate did not overwrite anything.
    gw.login("nina", "nina-password").await;
    gw.login("admin", ADMIN_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_validates_username_and_password() {
    let gw = TestGateway::spawn().await;
    let long_name = "a".repeat(33);
    let long_pw = "p".repeat(73);
    let bad = [
        json!({"username": "ab", "password": "long-enough-pw"}),
        json!({"username": long_name, "password": "long-enough-pw"}),
        json!({"username": "with space", "password": "long-enough-pw"}),
        json!({"username": "semi;colon", "password": "long-enough-pw"}),
        json!({"username": "ünïcode", "password": "long-enough-pw"}),
        json!({"username": "", "password": "long-enough-pw"}),
        json!({"username": "olga", "password": "1234567"}),
        json!({"username": "olga", "password": long_pw}),
        json!({"username": "olga"}),
        json!({"password": "long-enough-pw"}),
        json!({"username": 123, "password": "long-enough-pw"}),
        json!({"username": "olga", "password": ["long-enough-pw"]}),
    ];
    for body in bad {
        let r = gw.post("/api/user/register", None, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        fails(&r, 400);
    }
    assert_eq!(gw.state.store.count_users().await.unwrap(), 1);
    // Limits are inclusive: 3 and 32 characters, 8 and 72 bytes.
    let ok_bodies = [
        json!({"username": "abc", "password": "12345678"}),
        json!({"username": "b".repeat(32), "password": "q".repeat(72)}),
    ];
    for body in ok_bodies {
        ok(&gw.post("/api/user/register", None, body).await, 201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_update_their_own_profile_but_not_their_role_or_quota() {
    let w = World::new().await;
    let gw = &w.gw;
    let before = snapshot(gw, "/api/user/self", &w.user).await;
    let d = ok(
        &gw.put(
            "/api/user/self",
            Some(&w.user),
            json!({"display_name": "Bob B.", "email": "bob@example.com"}),
        )
        .await,
        200,
    );
    assert_eq!(d["display_name"], "Bob B.");
    assert_eq!(d["email"], "bob@example.com");
    let after = snapshot(gw, "/api/user/self", &w.user).await;
    assert_eq!(after["display_name"], "Bob B.");
    assert_eq!(after["quota"], before["quota"]);

    for body in [
        json!({"role": 100}),
        json!({"quota": 1_000_000_000}),
        json!({"status": 1}),
        json!({"group": "vip"}),
        json!({"display_name": "ok", "role": 10}),
        json!({"email": "not-an-email"}),
        json!({"email": "a b@example.com"}),
        json!({"display_name": "x".repeat(65)}),
        json!({"display_name": "line\nbreak"}),
        json!({"password": "short", "current_password": "bob_user-password"}),
    ] {
        let r = gw.put("/api/user/self", Some(&w.user), body.clone()).await;
        fails(&r, 400);
    }
    let unchanged = snapshot(gw, "/api/user/self", &w.user).await;
    assert_eq!(unchanged, after, "rejected updates changed something");
    // The password is unchanged too.
    gw.login("bob_user", "bob_user-password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_of_one_name_create_exactly_one_user() {
    let gw = TestGateway::spawn().await;
    let body = json!({"username": "racer", "password": "racer-password"});
    let attempts = (0..6).map(|_| gw.post("/api/user/register", None, body.clone()));
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 201) {
        fails(r, 409);
    }
    assert_eq!(gw.state.store.count_users().await.unwrap(), 2);
}
