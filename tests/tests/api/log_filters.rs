//! `GET /api/log` and `/api/log/self` filtered by outcome (`type`) and `status_code`,
//! on whichever backend the suite runs (SQLite, PostgreSQL, D1).

use super::helpers::{fails, ok};
use integration_tests::mock_upstream::Reply;
use integration_tests::v1_support::{chat_body, V1World};
use serde_json::{json, Value};
use std::time::Duration;

/// One success, one upstream failure (the only channel answers 500) and one request the
/// gateway refuses itself (a model no channel serves).
async fn three_outcomes() -> (V1World, [i64; 3]) {
    let w = V1World::new().await;
    assert_eq!(w.chat(chat_body("fine")).await.status, 200);
    w.mock.push_reply(Reply::error(500, "upstream on fire"));
    let failed = w.chat(chat_body("broken")).await;
    assert!(failed.status.is_server_error(), "{}", failed.text);
    let mut body = chat_body("nobody serves this");
    body["model"] = json!("no-such-model");
    let refused = w.chat(body).await;
    assert!(refused.status.is_client_error() || refused.status.is_server_error());
    let logs = w.wait_for_logs(3, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 3, "{logs:?}");
    let statuses = [
        200,
        i64::from(failed.status.as_u16()),
        i64::from(refused.status.as_u16()),
    ];
    (w, statuses)
}

fn items(data: &Value) -> Vec<Value> {
    data["items"].as_array().cloned().unwrap_or_default()
}

async fn list(w: &V1World, path: &str, jwt: &str) -> Vec<Value> {
    let data = ok(&w.gw.get(path, Some(jwt)).await, 200);
    let rows = items(&data);
    assert_eq!(data["total"], json!(rows.len()), "{data}");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_filter_splits_success_upstream_errors_and_refusals() {
    let (w, [_, failed, refused]) = three_outcomes().await;
    let success = list(&w, "/api/log?type=success", &w.root).await;
    assert_eq!(success.len(), 1, "{success:?}");
    assert_eq!(success[0]["status_code"], 200);

    let errors = list(&w, "/api/log?type=error", &w.root).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["status_code"], failed);
    assert_eq!(
        errors[0]["channel_id"], w.channel_id,
        "an error names its channel"
    );
    assert!(
        errors[0]["error"].as_str().unwrap_or("").contains("500"),
        "{errors:?}"
    );

    let refusals = list(&w, "/api/log?type=refused", &w.root).await;
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["status_code"], refused);
    assert_eq!(refusals[0]["model_name"], "no-such-model");
    assert_eq!(refusals[0]["channel_id"], 0);

    // The statistics follow the same filter.
    let stat = ok(
        &w.gw.get("/api/log/stat?type=error", Some(&w.root)).await,
        200,
    );
    assert_eq!(stat["total"]["requests"], 1, "{stat}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_code_filter_matches_exactly_and_combines_with_type() {
    let (w, [_, failed, _]) = three_outcomes().await;
    let rows = list(&w, &format!("/api/log?status_code={failed}"), &w.root).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status_code"], failed);
    assert!(list(&w, "/api/log?status_code=200&type=error", &w.root)
        .await
        .is_empty());
    assert!(list(&w, "/api/log?status_code=418", &w.root)
        .await
        .is_empty());
    // An empty value means "any", as for the other filters.
    assert_eq!(
        list(&w, "/api/log?type=&status_code=", &w.root).await.len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_filter_their_own_rows_the_same_way() {
    let (w, _) = three_outcomes().await;
    let own = list(&w, "/api/log/self?type=refused", &w.user_jwt).await;
    assert_eq!(own.len(), 1, "{own:?}");
    assert!(
        own[0].get("channel_id").is_none(),
        "users see no channel details"
    );
    let stat = ok(
        &w.gw
            .get("/api/log/self/stat?type=success", Some(&w.user_jwt))
            .await,
        200,
    );
    assert_eq!(stat["total"]["requests"], 1, "{stat}");
    // Another user sees none of them.
    let (_, bob) = w.gw.create_user(&w.root, "bob", 1, 0).await;
    assert!(list(&w, "/api/log/self?type=success", &bob)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filter_values_are_a_clear_400() {
    let (w, _) = three_outcomes().await;
    for (query, says) in [
        ("type=failed", "type must be one of"),
        ("type=SUCCESS", "type must be one of"),
        ("type=success%27%20OR%201%3D1", "type must be one of"),
        ("status_code=99", "status_code"),
        ("status_code=600", "status_code"),
        ("status_code=abc", "status_code"),
        ("status_code=1%20OR%201%3D1", "status_code"),
        ("format=xml", "format must be csv or jsonl"),
    ] {
        for base in ["/api/log", "/api/log/stat"] {
            let r = w.gw.get(&format!("{base}?{query}"), Some(&w.root)).await;
            fails(&r, 400);
            assert!(
                r.body["message"].as_str().unwrap_or("").contains(says),
                "{base}?{query}: {}",
                r.text
            );
        }
    }
    // Nothing was changed by any of it.
    assert_eq!(list(&w, "/api/log", &w.root).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_time_bounds_are_answered_not_crashed_on() {
    let (w, _) = three_outcomes().await;
    let min = i64::MIN;
    let max = i64::MAX;
    for base in ["/api/log", "/api/log/stat", "/api/log/self/stat"] {
        for query in [
            format!("start_timestamp={min}&end_timestamp={min}"),
            format!("start_timestamp={max}&end_timestamp={max}&p={min}&page_size={min}"),
        ] {
            let r = w.gw.get(&format!("{base}?{query}"), Some(&w.root)).await;
            ok(&r, 200);
        }
    }
}
