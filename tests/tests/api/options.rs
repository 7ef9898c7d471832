//! `/api/option` (root): runtime settings, validated and applied all or none.

use crate::helpers::{fails, ok, snapshot};
use integration_tests::gateway_support::TestGateway;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_seeded_and_read_as_one_object() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let d = ok(&gw.get("/api/option", Some(&root)).await, 200);
    assert!(d.is_object(), "{d}");
    assert_eq!(d["register_enabled"], true);
    assert_eq!(d["new_user_quota"], 0);
    assert_eq!(d["quota_per_unit"], 500_000);
    assert!(
        d["system_name"].as_str().is_some_and(|s| !s.is_empty()),
        "{d}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_updates_apply_at_once_and_are_returned() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let d = ok(
        &gw.put(
            "/api/option",
            Some(&root),
            json!({"system_name": "Acme AI", "new_user_quota": 77, "quota_per_unit": 1000}),
        )
        .await,
        200,
    );
    assert_eq!(d["system_name"], "Acme AI");
    assert_eq!(d["new_user_quota"], 77);
    let status = ok(&gw.get("/api/status", None).await, 200);
    assert_eq!(status["system_name"], "Acme AI");
    assert_eq!(status["quota_per_unit"], 1000);
    assert_eq!(gw.get("/", None).await.body["name"], "Acme AI");
    let all = snapshot(&gw, "/api/option", &root).await;
    assert_eq!(all["new_user_quota"], 77);
    assert_eq!(
        all["register_enabled"], true,
        "options not named stay as they were"
    );
    let d = ok(
        &gw.post(
            "/api/user/register",
            None,
            json!({"username": "quinn", "password": "quinn-password"}),
        )
        .await,
        201,
    );
    assert_eq!(d["quota"], 77);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_updates_validate_every_key_and_value_and_apply_all_or_none() {
    let gw = TestGateway::spawn().await;
    let root = gw.admin().await;
    let before = snapshot(&gw, "/api/option", &root).await;
    let bad = [
        json!({"system_name": "Changed", "no_such_option": 1}),
        json!({"system_name": "Changed", "register_enabled": "false"}),
        json!({"register_enabled": false, "new_user_quota": -1}),
        json!({"register_enabled": false, "new_user_quota": 1e30}),
        json!({"register_enabled": false, "new_user_quota": 1.5}),
        json!({"register_enabled": false, "new_user_quota": "100"}),
        json!({"register_enabled": false, "quota_per_unit": 0}),
        json!({"register_enabled": false, "register_enabled_typo": true}),
        json!({"system_name": 5}),
        json!({"system_name": null}),
        json!({"system_name": "x".repeat(201)}),
        json!({"register_enabled": 1}),
        json!({"register_enabled": null}),
        json!({"retry_times": 11}),
        json!({"retry_times": -1}),
        json!({"model_ratio": {"gpt-4o": -1}}),
        json!({"model_ratio": {"gpt-4o": "2"}}),
        json!({"model_ratio": [1, 2]}),
        json!({"model_ratio": {"": 1}}),
        json!({"default_model_ratio": -0.5}),
        // Ratios are capped at 1000: a huge one would price every request out.
        json!({"model_ratio": {"gpt-4o": 1e308}}),
        json!({"model_ratio": {"gpt-4o": 1000.5}}),
        json!({"completion_ratio": {"gpt-4o": 1001}}),
        json!({"group_ratio": {"default": 1e308}}),
        json!({"default_model_ratio": 1001}),
        json!({"default_completion_ratio": 1e308}),
        json!({}),
        json!([]),
        json!(null),
        json!("register_enabled"),
        json!(true),
    ];
    for body in bad {
        let r = gw.put("/api/option", Some(&root), body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        fails(&r, 400);
        assert_eq!(
            snapshot(&gw, "/api/option", &root).await,
            before,
            "{body} changed options"
        );
    }
    // 2^70 and other numbers beyond i64 come in as raw text.
    for raw in [
        r#"{"register_enabled": false, "new_user_quota": 1180591620717411303424}"#,
        r#"{"register_enabled": false, "new_user_quota": 9223372036854775808}"#,
        r#"{"register_enabled": false, "quota_per_unit": -9223372036854775809}"#,
    ] {
        let r = gw
            .raw(
                Method::PUT,
                "/api/option",
                Some(&root),
                "application/json",
                raw.into(),
            )
            .await;
        fails(&r, 400);
    }
    assert_eq!(snapshot(&gw, "/api/option", &root).await, before);
    assert_eq!(
        ok(&gw.get("/api/status", None).await, 200)["register_enabled"],
        true
    );
    ok(
        &gw.post(
            "/api/user/register",
            None,
            json!({"username": "rita", "password": "rita-password"}),
        )
        .await,
        201,
    );
}
