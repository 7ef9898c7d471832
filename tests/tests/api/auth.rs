//! Login, sessions (JWT), logout, password changes and the default admin.

use crate::helpers::{fails, ok, World};
use base64::Engine;
use integration_tests::gateway_support::{
    TestGateway, ADMIN_PASSWORD, DEFAULT_ADMIN_PASSWORD, TEST_JWT_SECRET,
};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(alg: Algorithm, secret: &str, claims: &Value) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_jwt_its_expiry_and_the_user() {
    let gw = TestGateway::spawn().await;
    let r = gw.try_login("admin", ADMIN_PASSWORD).await;
    let d = ok(&r, 200);
    let token = d["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let expires_at = d["expires_at"].as_i64().unwrap();
    assert!(
        (expires_at - now() - 24 * 3600).abs() < 120,
        "24 h lifetime: {expires_at}"
    );
    let u = &d["user"];
    for field in [
        "id",
        "username",
        "display_name",
        "email",
        "role",
        "status",
        "group",
        "quota",
        "used_quota",
        "request_count",
        "must_change_password",
    ] {
        assert!(u.get(field).is_some(), "user lacks {field}: {u}");
    }
    assert_eq!(u["username"], "admin");
    assert_eq!(u["role"], 100);
    assert_eq!(u["must_change_password"], false);
    assert!(
        u.get("password_hash").is_none() && u.get("password").is_none(),
        "{u}"
    );

    let me = ok(&gw.get("/api/user/self", Some(token)).await, 200);
    assert_eq!(me["username"], "admin");
    assert!(me.get("password_hash").is_none(), "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_admin_must_change_password_before_admin_actions() {
    let (gw, initial) = TestGateway::spawn_default_admin().await;
    fails(&gw.try_login("admin", DEFAULT_ADMIN_PASSWORD).await, 401);
    let r = gw.try_login("admin", &initial).await;
    let d = ok(&r, 200);
    assert_eq!(d["user"]["must_change_password"], true, "{d}");
    let jwt = d["token"].as_str().unwrap().to_string();

    let channel =
        json!({"name": "c", "type": 1, "key": "sk-upstream-0123456789", "models": ["gpt-4o"]});
    let attempts = [
        gw.get("/api/user", Some(&jwt)).await,
        gw.post(
            "/api/user",
            Some(&jwt),
            json!({"username": "dave", "password": "dave-password"}),
        )
        .await,
        gw.get("/api/user/1", Some(&jwt)).await,
        gw.get("/api/channel", Some(&jwt)).await,
        gw.post("/api/channel", Some(&jwt), channel.clone()).await,
        gw.get("/api/option", Some(&jwt)).await,
        gw.put(
            "/api/option",
            Some(&jwt),
            json!({"register_enabled": false}),
        )
        .await,
    ];
    for r in &attempts {
        fails(r, 403);
        let msg = r.body["message"].as_str().unwrap();
        assert!(
            msg.contains("PUT /api/user/self"),
            "message should say how to fix it: {msg}"
        );
    }
    // Nothing those requests tried happened.
    let user_count = gw.state.store.count_users().await.unwrap();
    assert_eq!(user_count, 1);

    // Self-service still works; the password change needs the current password.
    ok(&gw.get("/api/user/self", Some(&jwt)).await, 200);
    fails(
        &gw.put(
            "/api/user/self",
            Some(&jwt),
            json!({"password": "a-new-password"}),
        )
        .await,
        400,
    );
    let wrong = json!({"password": "a-new-password", "current_password": "654321"});
    fails(&gw.put("/api/user/self", Some(&jwt), wrong).await, 400);
    let same = json!({"password": initial, "current_password": initial});
    fails(&gw.put("/api/user/self", Some(&jwt), same).await, 400);
    let change = json!({"password": "a-new-password", "current_password": initial});
    let d = ok(&gw.put("/api/user/self", Some(&jwt), change).await, 200);
    assert_eq!(d["must_change_password"], false, "{d}");
    // The session handed back with the change goes on, now with admin rights.
    let kept = d["token"].as_str().expect("a new token").to_string();
    ok(&gw.get("/api/user", Some(&kept)).await, 200);

    // The old JWT is dead, the old password too; the new one unlocks admin actions.
    fails(&gw.get("/api/user/self", Some(&jwt)).await, 401);
    fails(&gw.try_login("admin", &initial).await, 401);
    let jwt = gw.login("admin", "a-new-password").await;
    ok(&gw.get("/api/user", Some(&jwt)).await, 200);
    ok(&gw.post("/api/channel", Some(&jwt), channel).await, 201);
    ok(&gw.get("/api/option", Some(&jwt)).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_keeps_the_changers_session_and_ends_the_others() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let (id, first) = gw.create_user(&root, "erin", 1, 0).await;
    // A second, distinct session of the same user (as from another browser earlier on).
    let sv = gw
        .state
        .store
        .user_by_id(id)
        .await
        .unwrap()
        .unwrap()
        .session_version;
    let t = now();
    let claims =
        json!({"sub": id.to_string(), "role": 1, "sv": sv, "iat": t - 60, "exp": t + 3600});
    let second = sign(Algorithm::HS256, TEST_JWT_SECRET, &claims);
    assert_ne!(first, second);
    ok(&gw.get("/api/user/self", Some(&second)).await, 200);
    ok(&gw.get("/api/user/self", Some(&first)).await, 200);

    let change = json!({"password": "erin-new-password", "current_password": "erin-password"});
    let d = ok(&gw.put("/api/user/self", Some(&second), change).await, 200);
    assert_eq!(d["username"], "erin", "{d}");
    assert!(d.get("password_hash").is_none(), "{d}");
    // The changer goes on with the new session it was handed ...
    let kept = d["token"].as_str().expect("a new token").to_string();
    assert!(d["expires_at"].as_i64().unwrap() > now(), "{d}");
    assert_eq!(
        ok(&gw.get("/api/user/self", Some(&kept)).await, 200)["id"],
        id
    );
    ok(&gw.get("/api/token", Some(&kept)).await, 200);
    // ... every other session ends, the changer's old token included.
    fails(&gw.get("/api/user/self", Some(&first)).await, 401);
    fails(&gw.get("/api/user/self", Some(&second)).await, 401);
    fails(&gw.get("/api/token", Some(&second)).await, 401);
    // A profile change hands out no token.
    let d = ok(
        &gw.put(
            "/api/user/self",
            Some(&kept),
            json!({"display_name": "Erin"}),
        )
        .await,
        200,
    );
    assert!(d.get("token").is_none(), "{d}");
    fails(&gw.try_login("erin", "erin-password").await, 401);
    let fresh = gw.login("erin", "erin-new-password").await;
    ok(&gw.get("/api/user/self", Some(&fresh)).await, 200);

    // An admin resetting the password also ends the user's sessions.
    ok(
        &gw.put(
            &format!("/api/user/{id}"),
            Some(&root),
            json!({"password": "reset-by-root"}),
        )
        .await,
        200,
    );
    fails(&gw.get("/api/user/self", Some(&fresh)).await, 401);
    gw.login("erin", "reset-by-root").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_invalidates_the_session() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let (_, jwt) = gw.create_user(&root, "frank", 1, 0).await;
    ok(&gw.get("/api/user/self", Some(&jwt)).await, 200);
    ok(
        &gw.post("/api/user/logout", Some(&jwt), json!({})).await,
        200,
    );
    fails(&gw.get("/api/user/self", Some(&jwt)).await, 401);
    fails(
        &gw.post("/api/user/logout", Some(&jwt), json!({})).await,
        401,
    );
    fails(&gw.post("/api/user/logout", None, json!({})).await, 401);
    // Logging in again works, and other users' sessions were untouched.
    let again = gw.login("frank", "frank-password").await;
    ok(&gw.get("/api/user/self", Some(&again)).await, 200);
    ok(&gw.get("/api/user", Some(&root)).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_users_jwt_stops_working_and_login_fails() {
    let w = World::new().await;
    let gw = &w.gw;
    let (_, key) = gw.create_key(&w.user, json!({"name": "k"})).await;
    assert!(key.starts_with("sk-"));
    let path = format!("/api/user/{}", w.user_id);
    let d = ok(
        &gw.put(&path, Some(&w.admin), json!({"status": 2})).await,
        200,
    );
    assert_eq!(d["status"], 2);
    let r = gw.get("/api/user/self", Some(&w.user)).await;
    assert!(r.status == 401 || r.status == 403, "{}", r.text);
    crate::helpers::fails_4xx(&r);
    let r = gw.try_login("bob_user", "bob_user-password").await;
    assert!(r.status == 401 || r.status == 403, "{}", r.text);
    crate::helpers::fails_4xx(&r);
    assert!(r.body["data"].is_null());

    ok(
        &gw.put(&path, Some(&w.admin), json!({"status": 1})).await,
        200,
    );
    let jwt = gw.login("bob_user", "bob_user-password").await;
    ok(&gw.get("/api/user/self", Some(&jwt)).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_expired_alg_none_and_wrong_secret_jwts_are_rejected() {
    let gw = TestGateway::spawn().await;
    let sv = gw
        .state
        .store
        .user_by_id(1)
        .await
        .unwrap()
        .unwrap()
        .session_version;
    let t = now();
    let claims = json!({"sub": "1", "role": 100, "sv": sv, "iat": t, "exp": t + 3600});

    // Control: a token signed with the real secret works, so the rejections below are
    // about the one thing each of them changes.
    let good = sign(Algorithm::HS256, TEST_JWT_SECRET, &claims);
    ok(&gw.get("/api/option", Some(&good)).await, 200);

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bad: Vec<(&str, String)> = Vec::new();
    let mut expired = claims.clone();
    expired["iat"] = json!(t - 7200);
    expired["exp"] = json!(t - 10);
    bad.push(("expired", sign(Algorithm::HS256, TEST_JWT_SECRET, &expired)));
    bad.push((
        "wrong secret",
        sign(
            Algorithm::HS256,
            "another-secret-that-is-long-enough-000000",
            &claims,
        ),
    ));
    bad.push(("HS512", sign(Algorithm::HS512, TEST_JWT_SECRET, &claims)));
    let none_header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(claims.to_string());
    bad.push(("alg none", format!("{none_header}.{payload}.")));
    let sig = good.rsplit('.').next().unwrap();
    bad.push((
        "alg none with signature",
        format!("{none_header}.{payload}.{sig}"),
    ));
    // Same signature, payload changed to another user.
    let mut other = claims.clone();
    other["sub"] = json!("2");
    let (head, _) = good.split_once('.').unwrap();
    bad.push((
        "tampered payload",
        format!("{head}.{}.{sig}", b64.encode(other.to_string())),
    ));
    // Last signature character flipped.
    let mut flipped = good.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    bad.push(("tampered signature", flipped));
    let mut old_sv = claims.clone();
    old_sv["sv"] = json!(sv - 1);
    bad.push((
        "old session version",
        sign(Algorithm::HS256, TEST_JWT_SECRET, &old_sv),
    ));
    let mut ghost = claims.clone();
    ghost["sub"] = json!("999");
    bad.push((
        "unknown user",
        sign(Algorithm::HS256, TEST_JWT_SECRET, &ghost),
    ));
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    bad.push(("no exp", sign(Algorithm::HS256, TEST_JWT_SECRET, &no_exp)));
    let mut text_sub = claims.clone();
    text_sub["sub"] = json!("1 OR 1=1");
    bad.push((
        "non-numeric sub",
        sign(Algorithm::HS256, TEST_JWT_SECRET, &text_sub),
    ));
    bad.push(("garbage", "not-a-jwt".into()));
    bad.push(("empty", String::new()));

    for (what, token) in &bad {
        let r = gw.get("/api/user/self", Some(token)).await;
        assert_eq!(r.status, 401, "{what} must be rejected: {}", r.text);
        fails(&r, 401);
        fails(&gw.get("/api/option", Some(token)).await, 401);
    }
    // Other schemes and a missing header.
    let r = gw
        .send(
            gw.builder(reqwest::Method::GET, "/api/user/self", None)
                .header("authorization", format!("Basic {good}")),
        )
        .await;
    fails(&r, 401);
    fails(&gw.get("/api/user/self", None).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_lifetime_follows_token_expiry_hours() {
    let gw = TestGateway::spawn_with(&[
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("TOKEN_EXPIRY_HOURS", "1"),
    ])
    .await;
    let d = ok(&gw.try_login("admin", ADMIN_PASSWORD).await, 200);
    let expires_at = d["expires_at"].as_i64().unwrap();
    assert!((expires_at - now() - 3600).abs() < 120, "{expires_at}");
}
