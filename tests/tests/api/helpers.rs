//! Assertions shared by the API tests.

use integration_tests::gateway_support::{Resp, TestGateway};
use reqwest::StatusCode;
use serde_json::Value;

/// Fragments of bcrypt hashes; none may ever appear in a response.
const HASH_MARKERS: [&str; 3] = ["$2b$", "$2y$", "$2a$"];

/// Every response carries an `X-Request-Id` and never a password hash.
pub fn assert_common(r: &Resp) {
    let id = r.headers.get("x-request-id").and_then(|v| v.to_str().ok());
    assert!(
        id.is_some_and(|v| !v.is_empty()),
        "missing X-Request-Id: {r:?}"
    );
    for m in HASH_MARKERS {
        assert!(!r.text.contains(m), "password hash leaked: {}", r.text);
    }
}

/// A success envelope with the given status; returns `data`.
pub fn ok(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "unexpected status: {}", r.text);
    assert_eq!(
        r.body["success"],
        Value::Bool(true),
        "not a success envelope: {}",
        r.text
    );
    assert_eq!(
        r.body["message"],
        Value::String(String::new()),
        "{}",
        r.text
    );
    assert!(r.body.get("data").is_some(), "no data: {}", r.text);
    assert_common(r);
    r.body["data"].clone()
}

/// A failure envelope `{"success":false,"message":"…"}` with the given status.
pub fn fails(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "unexpected status: {}", r.text);
    assert_failure_shape(r);
}

/// A failure envelope with any 4xx status.
pub fn fails_4xx(r: &Resp) {
    assert!(
        r.status.is_client_error(),
        "expected a 4xx, got {}: {}",
        r.status,
        r.text
    );
    assert_failure_shape(r);
}

fn assert_failure_shape(r: &Resp) {
    assert_eq!(
        r.body["success"],
        Value::Bool(false),
        "not a failure envelope: {}",
        r.text
    );
    let msg = r.body["message"].as_str().unwrap_or_default();
    assert!(!msg.is_empty(), "failure without a message: {}", r.text);
    assert!(
        r.body.get("data").is_none(),
        "failure with data: {}",
        r.text
    );
    assert_common(r);
}

/// Root JWT plus an admin (role 10) and two users (role 1), each with id and JWT.
pub struct World {
    pub gw: TestGateway,
    pub root: String,
    pub admin_id: i64,
    pub admin: String,
    pub user_id: i64,
    pub user: String,
    pub other: String,
}

impl World {
    pub async fn new() -> Self {
        let gw = TestGateway::spawn().await;
        let root = gw.admin().await;
        let (admin_id, admin) = gw.create_user(&root, "alice_admin", 10, 0).await;
        let (user_id, user) = gw.create_user(&root, "bob_user", 1, 1000).await;
        let (_, other) = gw.create_user(&root, "carol_user", 1, 1000).await;
        World {
            gw,
            root,
            admin_id,
            admin,
            user_id,
            user,
            other,
        }
    }
}

/// The `data` of a GET that must succeed (for before/after comparisons).
pub async fn snapshot(gw: &TestGateway, path: &str, jwt: &str) -> Value {
    let r = gw.get(path, Some(jwt)).await;
    assert_eq!(r.status, StatusCode::OK, "snapshot {path}: {}", r.text);
    r.body["data"].clone()
}

/// The median of some durations, in seconds.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
