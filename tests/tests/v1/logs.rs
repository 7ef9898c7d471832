//! Usage logs and statistics: filters, paging, and who sees what.

use integration_tests::mock_upstream::MockUpstream;
use integration_tests::v1_support::{chat_body, V1World, MODEL};
use reqwest::Method;
use serde_json::{json, Value};

const FIELDS: [&str; 20] = [
    "id",
    "created_at",
    "user_id",
    "username",
    "token_id",
    "token_name",
    "channel_id",
    "channel_name",
    "model_name",
    "upstream_model",
    "prompt_tokens",
    "completion_tokens",
    "quota",
    "latency_ms",
    "first_byte_ms",
    "is_stream",
    "status_code",
    "error",
    "request_id",
    "ip",
];
const CHANNEL_FIELDS: [&str; 3] = ["channel_id", "channel_name", "upstream_model"];

struct LogWorld {
    w: V1World,
    bob_jwt: String,
    second_channel: i64,
    _second: MockUpstream,
}

/// alice: 2 × MODEL with "default-key", 1 × gpt-4o (second channel) with "alice-2";
/// bob: 1 × MODEL with "bob-key".
async fn log_world() -> LogWorld {
    let w = V1World::new().await;
    let second = MockUpstream::start().await;
    let second_channel = w
        .add_channel(&second, "second", json!({"models": ["gpt-4o"]}))
        .await;
    let (_, bob_jwt) = w.gw.create_user(&w.root, "bob", 1, 1_000_000).await;
    let (_, bob_key) = w.gw.create_key(&bob_jwt, json!({"name": "bob-key"})).await;
    let (_, alice2) =
        w.gw.create_key(&w.user_jwt, json!({"name": "alice-2"}))
            .await;
    for _ in 0..2 {
        assert_eq!(w.chat(chat_body("a")).await.status, 200);
    }
    let mut b = chat_body("b");
    b["model"] = json!("gpt-4o");
    let r = w
        .v1_as(&alice2, Method::POST, "/v1/chat/completions", Some(b))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w
        .v1_as(
            &bob_key,
            Method::POST,
            "/v1/chat/completions",
            Some(chat_body("c")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    LogWorld {
        w,
        bob_jwt,
        second_channel,
        _second: second,
    }
}

async fn page(lw: &LogWorld, path: &str, jwt: &str) -> (Vec<Value>, i64) {
    let r = lw.w.gw.get(path, Some(jwt)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    let items = r.data()["items"].as_array().unwrap().clone();
    (items, r.data()["total"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_every_row_with_every_field_and_can_filter() {
    let lw = log_world().await;
    let root = lw.w.root.clone();
    let (all, total) = page(&lw, "/api/log", &root).await;
    assert_eq!((all.len(), total), (4, 4));
    for row in &all {
        for f in FIELDS {
            assert!(row.get(f).is_some(), "missing {f} in {row}");
        }
        assert!(
            !row.to_string().contains("sk-"),
            "key material in a log row: {row}"
        );
    }
    let count = |path: &'static str| {
        let lw = &lw;
        let root = root.clone();
        async move { page(lw, path, &root).await.1 }
    };
    assert_eq!(count("/api/log?username=bob").await, 1);
    assert_eq!(count("/api/log?username=alice").await, 3);
    assert_eq!(count("/api/log?model_name=gpt-4o").await, 1);
    assert_eq!(count("/api/log?token_name=alice-2").await, 1);
    assert_eq!(
        count("/api/log?token_name=default-key&model_name=gpt-4o-mini").await,
        2
    );
    let path = format!("/api/log?channel={}", lw.second_channel);
    assert_eq!(page(&lw, &path, &root).await.1, 1);
    let path = format!("/api/log?channel={}", lw.w.channel_id);
    assert_eq!(page(&lw, &path, &root).await.1, 3);
    let now = all[0]["created_at"].as_i64().unwrap();
    let path = format!("/api/log?start_timestamp={}", now + 100);
    assert_eq!(page(&lw, &path, &root).await.1, 0);
    let path = format!("/api/log?end_timestamp={}", now - 100);
    assert_eq!(page(&lw, &path, &root).await.1, 0);
    let path = format!(
        "/api/log?start_timestamp={}&end_timestamp={}",
        now - 100,
        now + 100
    );
    assert_eq!(page(&lw, &path, &root).await.1, 4);
    // Paging: newest first, disjoint pages.
    let (p1, t1) = page(&lw, "/api/log?p=1&page_size=3", &root).await;
    let (p2, _) = page(&lw, "/api/log?p=2&page_size=3", &root).await;
    assert_eq!((p1.len(), p2.len(), t1), (3, 1, 4));
    let ids: Vec<i64> = p1
        .iter()
        .chain(&p2)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|p| p[0] > p[1]), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_own_rows_without_channel_details() {
    let lw = log_world().await;
    let alice = lw.w.user_jwt.clone();
    let (rows, total) = page(&lw, "/api/log/self", &alice).await;
    assert_eq!((rows.len(), total), (3, 3));
    for row in &rows {
        assert_eq!(row["username"], "alice");
        for f in CHANNEL_FIELDS {
            assert!(row.get(f).is_none(), "{f} shown to a user: {row}");
        }
        assert!(row["quota"].as_i64().unwrap() > 0);
    }
    // Filters for other users or channels cannot widen the view.
    let (rows, _) = page(&lw, "/api/log/self?username=bob", &alice).await;
    assert!(rows.iter().all(|r| r["username"] == "alice"));
    let (_, n) = page(&lw, "/api/log/self?model_name=gpt-4o", &alice).await;
    assert_eq!(n, 1);
    let (_, n) = page(&lw, "/api/log/self?token_name=bob-key", &alice).await;
    assert_eq!(n, 0);
    let (rows, n) = page(&lw, "/api/log/self", &lw.bob_jwt).await;
    assert_eq!(n, 1);
    assert_eq!(rows[0]["username"], "bob");
    // The admin endpoints are closed to users.
    for path in ["/api/log", "/api/log/stat"] {
        let r = lw.w.gw.get(path, Some(&alice)).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        assert_eq!(r.body["success"], false);
    }
    let r = lw.w.gw.get("/api/log/self", None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_sum_requests_tokens_and_quota_in_total_and_per_model_per_day() {
    let lw = log_world().await;
    let r = lw.w.gw.get("/api/log/stat", Some(&lw.w.root)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.data();
    assert_eq!(d["total"]["requests"], 4);
    assert_eq!(d["total"]["prompt_tokens"], 44);
    assert_eq!(d["total"]["completion_tokens"], 28);
    assert_eq!(d["total"]["quota"], 128);
    let per: Vec<&Value> = d["by_model_day"].as_array().unwrap().iter().collect();
    let mini: i64 = per
        .iter()
        .filter(|e| e["model_name"] == MODEL)
        .map(|e| e["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(mini, 3);
    assert!(per.iter().all(|e| e["day"].as_i64().unwrap() % 86400 == 0));
    let r =
        lw.w.gw
            .get("/api/log/stat?username=bob", Some(&lw.w.root))
            .await;
    assert_eq!(r.data()["total"]["requests"], 1);
    let r =
        lw.w.gw
            .get("/api/log/self/stat", Some(&lw.w.user_jwt))
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["total"]["requests"], 3);
    assert_eq!(r.data()["total"]["quota"], 96);
    let r =
        lw.w.gw
            .get("/api/log/self/stat?model_name=gpt-4o", Some(&lw.w.user_jwt))
            .await;
    assert_eq!(r.data()["total"]["requests"], 1);
}
