//! Bad input on every write endpoint: malformed JSON, wrong types, missing fields,
//! invalid UTF-8, huge numbers, oversized bodies, wrong content types. Each answers a 4xx
//! in the `{"success":false,"message":…}` shape and changes nothing.

use crate::helpers::{fails, fails_4xx, snapshot, World};
use reqwest::Method;
use serde_json::{json, Value};

/// One write endpoint: who calls it, a body it would accept, and where to look for changes.
struct Endpoint {
    method: Method,
    path: String,
    jwt: Option<String>,
    valid: Value,
    /// GET paths (read as root) whose data must not change.
    state: Vec<String>,
}

/// Bodies every JSON endpoint must refuse: (what, content type, bytes, expected status or 0 for any 4xx).
fn generic_bad_bodies() -> Vec<(&'static str, &'static str, Vec<u8>, u16)> {
    let mut oversized = br#"{"name":""#.to_vec();
    oversized.extend(std::iter::repeat_n(b'a', 300 * 1024));
    oversized.extend(br#""}"#);
    let mut deep = "[".repeat(100_000).into_bytes();
    deep.extend("]".repeat(100_000).into_bytes());
    vec![
        (
            "malformed JSON",
            "application/json",
            br#"{"name": "#.to_vec(),
            400,
        ),
        (
            "single quotes",
            "application/json",
            b"{'name': 'x'}".to_vec(),
            400,
        ),
        (
            "trailing garbage",
            "application/json",
            br#"{"name":"x"} trailing"#.to_vec(),
            400,
        ),
        (
            "invalid UTF-8 in a value",
            "application/json",
            b"{\"name\":\"\xff\xfe\xfd\"}".to_vec(),
            400,
        ),
        (
            "invalid UTF-8 in a key",
            "application/json",
            b"{\"\xc3\x28\":1}".to_vec(),
            400,
        ),
        (
            "lone surrogate escape",
            "application/json",
            br#"{"name":"\ud800"}"#.to_vec(),
            400,
        ),
        ("empty body", "application/json", Vec::new(), 400),
        ("JSON null", "application/json", b"null".to_vec(), 400),
        ("JSON array", "application/json", b"[1,2]".to_vec(), 400),
        (
            "JSON string",
            "application/json",
            br#""text""#.to_vec(),
            400,
        ),
        ("JSON number", "application/json", b"1e999".to_vec(), 400),
        ("deeply nested", "application/json", deep, 400),
        ("oversized", "application/json", oversized, 413),
        (
            "form body",
            "application/x-www-form-urlencoded",
            b"name=x".to_vec(),
            0,
        ),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            b"--x--".to_vec(),
            0,
        ),
    ]
}

async fn states(w: &World, ep: &Endpoint) -> Vec<Value> {
    let mut out = Vec::new();
    for path in &ep.state {
        out.push(snapshot(&w.gw, path, &w.root).await);
    }
    out
}

/// Runs the generic battery plus `extra` raw JSON bodies (all expected 400) on `ep`.
async fn battery(w: &World, ep: Endpoint, extra: &[&str]) {
    let gw = &w.gw;
    let before = states(w, &ep).await;
    let jwt = ep.jwt.as_deref();
    for (what, ctype, bytes, expected) in generic_bad_bodies() {
        let r = gw.raw(ep.method.clone(), &ep.path, jwt, ctype, bytes).await;
        if expected == 0 {
            fails_4xx(&r);
        } else {
            assert_eq!(
                r.status.as_u16(),
                expected,
                "{} {} {what}: {}",
                ep.method,
                ep.path,
                r.text
            );
            fails(&r, expected);
        }
    }
    // A body the endpoint would accept, sent with the wrong or no content type.
    let valid = ep.valid.to_string().into_bytes();
    for ctype in ["text/plain", "application/xml"] {
        let r = gw
            .raw(ep.method.clone(), &ep.path, jwt, ctype, valid.clone())
            .await;
        fails_4xx(&r);
    }
    let r = gw
        .send(
            gw.builder(ep.method.clone(), &ep.path, jwt)
                .body(valid.clone()),
        )
        .await;
    fails_4xx(&r);
    // Oversized without a Content-Length (chunked).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 10 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = gw
        .send(
            gw.builder(ep.method.clone(), &ep.path, jwt)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    fails(&r, 413);
    for raw in extra {
        let r = gw
            .raw(
                ep.method.clone(),
                &ep.path,
                jwt,
                "application/json",
                raw.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(r.status, 400, "{} {} {raw}: {}", ep.method, ep.path, r.text);
        fails(&r, 400);
    }
    assert_eq!(
        states(w, &ep).await,
        before,
        "{} {} changed state",
        ep.method,
        ep.path
    );
}

const TWO_POW_70: &str = "1180591620717411303424";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_login_refuse_bad_bodies() {
    let w = World::new().await;
    let users = vec!["/api/user?page_size=100".to_string()];
    let register = Endpoint {
        method: Method::POST,
        path: "/api/user/register".into(),
        jwt: None,
        valid: json!({"username": "valid_name", "password": "valid-password"}),
        state: users.clone(),
    };
    battery(
        &w,
        register,
        &[
            r#"{"username": "valid_name"}"#,
            r#"{"password": "valid-password"}"#,
            r#"{"username": null, "password": "valid-password"}"#,
            r#"{"username": 1e30, "password": "valid-password"}"#,
            &format!(r#"{{"username": {TWO_POW_70}, "password": "valid-password"}}"#),
            r#"{"username": ["valid_name"], "password": "valid-password"}"#,
            r#"{"username": "valid_name", "password": true}"#,
            r#"{"username": "valid\u0000name", "password": "valid-password"}"#,
            r#"{"username": "valid_name", "password": "valid-password", "extra": 1}"#,
        ],
    )
    .await;
    let login = Endpoint {
        method: Method::POST,
        path: "/api/user/login".into(),
        jwt: None,
        valid: json!({"username": "bob_user", "password": "bob_user-password"}),
        state: users,
    };
    battery(
        &w,
        login,
        &[
            r#"{"username": "bob_user"}"#,
            r#"{"username": 5, "password": "x"}"#,
            r#"{"username": "bob_user", "password": null}"#,
        ],
    )
    .await;
    // None of it counted as a failed login for throttling, and nothing was created.
    w.gw.login("bob_user", "bob_user-password").await;
    assert!(w.gw.try_login("valid_name", "valid-password").await.status == 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_update_refuses_bad_bodies() {
    let w = World::new().await;
    let ep = Endpoint {
        method: Method::PUT,
        path: "/api/user/self".into(),
        jwt: Some(w.user.clone()),
        valid: json!({"display_name": "Changed"}),
        state: vec![format!("/api/user/{}", w.user_id)],
    };
    battery(
        &w,
        ep,
        &[
            r#"{"display_name": 5}"#,
            r#"{"email": ["a@b.co"]}"#,
            r#"{"password": 12345678, "current_password": "bob_user-password"}"#,
            r#"{"display_name": "bad\u0007bell"}"#,
            r#"{"quota": 1e30}"#,
            r#"{"role": 100}"#,
        ],
    )
    .await;
    w.gw.login("bob_user", "bob_user-password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_writes_refuse_bad_bodies() {
    let w = World::new().await;
    let (id, _) =
        w.gw.create_key(&w.user, json!({"name": "existing", "remain_quota": 10}))
            .await;
    let state = vec![format!("/api/user/{}", w.user_id)];
    let extra = [
        r#"{"name": 5}"#,
        r#"{"name": "ok", "remain_quota": -1}"#,
        r#"{"name": "ok", "remain_quota": 1e30}"#,
        &format!(r#"{{"name": "ok", "remain_quota": {TWO_POW_70}}}"#),
        r#"{"name": "ok", "remain_quota": 9223372036854775808}"#,
        r#"{"name": "ok", "remain_quota": -9223372036854775809}"#,
        r#"{"name": "ok", "unlimited_quota": 1}"#,
        r#"{"name": "ok", "expired_at": 1.5}"#,
        r#"{"name": "ok", "models": 5}"#,
        r#"{"name": "ok", "models": [null]}"#,
        r#"{"name": "ok", "allow_ips": "300.0.0.1"}"#,
        r#"{"name": "ok", "rate_limit_per_minute": -1}"#,
        r#"{"name": "ok\u0000nul"}"#,
        r#"{"name": "ok", "user_id": 1}"#,
        r#"{"name": "ok", "key": "sk-chosen-by-the-caller"}"#,
    ];
    let create = Endpoint {
        method: Method::POST,
        path: "/api/token".into(),
        jwt: Some(w.user.clone()),
        valid: json!({"name": "valid"}),
        state: state.clone(),
    };
    let before = crate::helpers::snapshot(&w.gw, "/api/token", &w.user).await;
    battery(&w, create, &extra).await;
    let create_missing_name = [r#"{}"#, r#"{"name": ""}"#, r#"{"name": null}"#];
    for raw in create_missing_name {
        let r =
            w.gw.raw(
                Method::POST,
                "/api/token",
                Some(&w.user),
                "application/json",
                raw.into(),
            )
            .await;
        fails(&r, 400);
    }
    let update = Endpoint {
        method: Method::PUT,
        path: format!("/api/token/{id}"),
        jwt: Some(w.user.clone()),
        valid: json!({"name": "valid"}),
        state,
    };
    battery(&w, update, &extra).await;
    assert_eq!(
        crate::helpers::snapshot(&w.gw, "/api/token", &w.user).await,
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_user_writes_refuse_bad_bodies() {
    let w = World::new().await;
    let users = vec!["/api/user?page_size=100".to_string()];
    let extra = [
        r#"{"username": "newone", "password": "newone-password", "quota": -1}"#,
        r#"{"username": "newone", "password": "newone-password", "quota": 1e30}"#,
        &format!(
            r#"{{"username": "newone", "password": "newone-password", "quota": {TWO_POW_70}}}"#
        ),
        r#"{"username": "newone", "password": "newone-password", "role": "10"}"#,
        r#"{"username": "newone", "password": "newone-password", "role": 10.5}"#,
        r#"{"username": "newone", "password": "newone-password", "group": 1}"#,
        r#"{"username": "newone"}"#,
    ];
    let create = Endpoint {
        method: Method::POST,
        path: "/api/user".into(),
        jwt: Some(w.root.clone()),
        valid: json!({"username": "newone", "password": "newone-password"}),
        state: users.clone(),
    };
    battery(&w, create, &extra).await;
    let update_extra = [
        r#"{"quota": -1}"#,
        r#"{"quota": 1e30}"#,
        &format!(r#"{{"quota": {TWO_POW_70}}}"#),
        r#"{"quota": -9223372036854775809}"#,
        r#"{"status": "2"}"#,
        r#"{"role": null, "status": 7}"#,
        r#"{"group": ["vip"]}"#,
        r#"{"id": 1}"#,
        r#"{"used_quota": 0}"#,
        r#"{"password_hash": "$2b$10$abc"}"#,
    ];
    let update = Endpoint {
        method: Method::PUT,
        path: format!("/api/user/{}", w.user_id),
        jwt: Some(w.root.clone()),
        valid: json!({"quota": 1}),
        state: users,
    };
    battery(&w, update, &update_extra).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_writes_refuse_bad_bodies() {
    let w = World::new().await;
    let body =
        json!({"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"]});
    let id = w.gw.create_channel(&w.admin, body.clone()).await;
    let channels = vec!["/api/channel?page_size=100".to_string()];
    let extra = [
        r#"{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"], "priority": 1e30}"#,
        &format!(
            r#"{{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"], "priority": {TWO_POW_70}}}"#
        ),
        r#"{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"], "weight": -1}"#,
        r#"{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"], "priority": 1000001}"#,
        r#"{"name": "c", "type": 7, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"]}"#,
        r#"{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"], "key_preview": "abcd"}"#,
        r#"{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["gpt-4o"], "id": 99}"#,
        r#"{"name": "c", "type": 1, "key": "sk-channel-key-0123456789", "models": ["bad\u0000model"]}"#,
    ];
    let create = Endpoint {
        method: Method::POST,
        path: "/api/channel".into(),
        jwt: Some(w.admin.clone()),
        valid: body,
        state: channels.clone(),
    };
    battery(&w, create, &extra).await;
    let update = Endpoint {
        method: Method::PUT,
        path: format!("/api/channel/{id}"),
        jwt: Some(w.admin.clone()),
        valid: json!({"priority": 3}),
        state: channels,
    };
    battery(&w, update, &extra).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_writes_refuse_bad_bodies() {
    let w = World::new().await;
    let ep = Endpoint {
        method: Method::PUT,
        path: "/api/option".into(),
        jwt: Some(w.root.clone()),
        valid: json!({"system_name": "Changed"}),
        state: vec!["/api/option".into()],
    };
    battery(
        &w,
        ep,
        &[
            r#"{"new_user_quota": 1e30}"#,
            &format!(r#"{{"new_user_quota": {TWO_POW_70}}}"#),
            r#"{"new_user_quota": -1}"#,
            r#"{"system_name": "ok", "retry_times": 99}"#,
            r#"{"system_name": "ok", "unknown": true}"#,
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_content_types_with_parameters_or_a_json_suffix_are_accepted() {
    let w = World::new().await;
    let gw = &w.gw;
    for (i, ctype) in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/merge-patch+json",
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"name": format!("ctype-{i}")})
            .to_string()
            .into_bytes();
        let r = gw
            .raw(Method::POST, "/api/token", Some(&w.user), ctype, body)
            .await;
        crate::helpers::ok(&r, 201);
    }
}
