//! Odd JSON values in every field of every write endpoint: never a 5xx, always the envelope.

use crate::helpers::World;
use reqwest::Method;
use serde_json::{json, Value};

const TWO_POW_70: &str = "1180591620717411303424";

/// A body with one field replaced by a raw JSON value.
fn with_field(base: &Value, field: &str, raw_value: &str) -> String {
    let mut b = base.clone();
    b.as_object_mut().unwrap().remove(field);
    let mut s = b.to_string();
    s.pop();
    if s.len() > 1 {
        s.push(',');
    }
    s.push_str(&format!("\"{field}\":{raw_value}}}"));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_values_in_any_field_never_cause_a_5xx_or_leave_the_envelope() {
    let w = World::new().await;
    let gw = &w.gw;
    let (tid, _) = gw.create_key(&w.user, json!({"name": "k"})).await;
    let channel = json!({"name": "c", "type": 1, "key": "sk-0123456789abcdef", "models": ["m"]});
    let cid = gw.create_channel(&w.root, channel.clone()).await;
    let long = format!("\"{}\"", "x".repeat(10_000));
    let values = [
        "null",
        "true",
        "-1",
        "0",
        "1e30",
        TWO_POW_70,
        "-9223372036854775808",
        "9223372036854775807",
        "\"\"",
        "\" \"",
        "[]",
        "{}",
        "[\"\"]",
        "\"\\u0000\"",
        "\"🎉\"",
        "1.5",
        "\"1\"",
        "[1]",
        "{\"a\":null}",
        &long,
    ];
    let token_fields = [
        "name",
        "remain_quota",
        "unlimited_quota",
        "expired_at",
        "models",
        "allow_ips",
        "rate_limit_per_minute",
        "status",
    ];
    let channel_fields = [
        "name",
        "type",
        "key",
        "base_url",
        "models",
        "model_mapping",
        "priority",
        "weight",
        "group",
        "use_relay",
        "api_version",
        "status",
    ];
    let new_user = json!({"username": "fuzzed", "password": "fuzzed-password"});
    // (method, path, caller, a body the endpoint accepts, the fields to vary)
    type Target<'a> = (Method, String, Option<&'a str>, Value, Vec<&'a str>);
    let endpoints: Vec<Target> = vec![
        (
            Method::POST,
            "/api/token".into(),
            Some(&w.user),
            json!({"name": "n"}),
            token_fields.to_vec(),
        ),
        (
            Method::PUT,
            format!("/api/token/{tid}"),
            Some(&w.user),
            json!({}),
            token_fields.to_vec(),
        ),
        (
            Method::POST,
            "/api/channel".into(),
            Some(&w.root),
            channel.clone(),
            channel_fields.to_vec(),
        ),
        (
            Method::PUT,
            format!("/api/channel/{cid}"),
            Some(&w.root),
            json!({}),
            channel_fields.to_vec(),
        ),
        (
            Method::POST,
            "/api/user".into(),
            Some(&w.root),
            new_user.clone(),
            vec![
                "username",
                "password",
                "display_name",
                "email",
                "role",
                "quota",
                "group",
            ],
        ),
        (
            Method::PUT,
            format!("/api/user/{}", w.user_id),
            Some(&w.root),
            json!({}),
            vec!["display_name", "email", "role", "status", "group", "quota"],
        ),
        (
            Method::PUT,
            "/api/user/self".into(),
            Some(&w.other),
            json!({}),
            vec!["display_name", "email"],
        ),
        (
            Method::PUT,
            "/api/option".into(),
            Some(&w.root),
            json!({}),
            vec![
                "system_name",
                "register_enabled",
                "new_user_quota",
                "quota_per_unit",
                "retry_times",
                "model_ratio",
            ],
        ),
        (
            Method::POST,
            "/api/user/register".into(),
            None,
            new_user,
            vec!["username", "password"],
        ),
    ];
    for (method, path, jwt, base, fields) in &endpoints {
        for field in fields {
            for value in values {
                let body = with_field(base, field, value);
                let r = gw
                    .raw(
                        method.clone(),
                        path,
                        *jwt,
                        "application/json",
                        body.clone().into_bytes(),
                    )
                    .await;
                assert!(
                    !r.status.is_server_error(),
                    "{method} {path} {body}: {} {}",
                    r.status,
                    r.text
                );
                assert!(
                    r.body["success"].is_boolean(),
                    "{method} {path} {body}: {}",
                    r.text
                );
                crate::helpers::assert_common(&r);
                if r.status == 201 && path.starts_with("/api/user") {
                    // Free the username for the next value.
                    let id = r.body["data"]["id"].as_i64().unwrap();
                    crate::helpers::ok(
                        &gw.delete(&format!("/api/user/{id}"), Some(&w.root)).await,
                        200,
                    );
                }
            }
        }
    }
}
