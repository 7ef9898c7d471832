//! Log retention (issue 18): `log_retention_days` moves expired rows into daily rollups
//! in batches; exactly the expired rows go, and `/api/log/stat` still counts them.

use gateway::services::retention;
use gateway::store::logs::NewLog;
use integration_tests::v1_support::{chat_body, V1World};
use serde_json::{json, Value};

/// More than two batches of expired rows.
const OLD: i64 = 2_100;
const DAY: i64 = 86_400;

fn row(created_at: i64, i: i64) -> NewLog {
    NewLog {
        created_at,
        user_id: 4242,
        username: "bulk".into(),
        token_id: 9,
        token_name: "bulk-key".into(),
        channel_id: 3,
        model_name: if i % 3 == 0 { "m-a" } else { "m-b" }.into(),
        prompt_tokens: i,
        completion_tokens: 1,
        quota: 2,
        status_code: 200,
        ..Default::default()
    }
}

async fn stats(w: &V1World, query: &str) -> Value {
    let r =
        w.gw.get(&format!("/api/log/stat?{query}"), Some(&w.root))
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.data().clone()
}

async fn raw_count(w: &V1World) -> i64 {
    let r = w.gw.get("/api/log?page_size=1", Some(&w.root)).await;
    r.data()["total"].as_i64().expect("total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_move_to_rollups_and_stats_survive() {
    let w = V1World::new().await;
    for i in 0..2 {
        assert_eq!(w.chat(chat_body(&format!("kept {i}"))).await.status, 200);
    }
    let now = gateway::util::now();
    let cutoff = retention::cutoff(now, 3);
    // Expired: spread over the three days before the cutoff, the last one second before it.
    let mut rows: Vec<NewLog> = (0..OLD - 1)
        .map(|i| row(cutoff - 3 * DAY + (i % 3) * DAY + i, i))
        .collect();
    rows.push(row(cutoff - 1, OLD - 1));
    // Kept: exactly at the cutoff, and recent.
    rows.push(row(cutoff, OLD));
    rows.push(row(now - 3600, OLD + 1));
    for chunk in rows.chunks(100) {
        w.gw.state.store.insert_logs(chunk).await.expect("insert");
    }
    let total_before = raw_count(&w).await;
    assert_eq!(total_before, OLD + 2 + 2);
    let before = stats(&w, "").await;
    let bulk_before = stats(&w, "username=bulk&model_name=m-a").await;

    // Off by default: nothing moves.
    assert_eq!(retention::run_once(&w.gw.state).await.expect("pass"), 0);
    assert_eq!(raw_count(&w).await, total_before);

    w.set_options(json!({"log_retention_days": 3})).await;
    let moved = retention::run_once(&w.gw.state)
        .await
        .expect("retention pass");
    assert_eq!(moved, OLD as u64);
    assert_eq!(
        raw_count(&w).await,
        4,
        "the two requests, the row at the cutoff, the recent one"
    );
    let logs = w.gw.get("/api/log?page_size=10", Some(&w.root)).await;
    let kept: Vec<i64> = logs.data()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| l["created_at"].as_i64().expect("created_at"))
        .collect();
    assert!(kept.iter().all(|t| *t >= cutoff), "{kept:?}");
    assert!(kept.contains(&cutoff));

    // Statistics over all time, and filtered, are what they were.
    let after = stats(&w, "").await;
    assert_eq!(after["total"], before["total"], "{after}");
    assert_eq!(after["by_model_day"], before["by_model_day"]);
    assert_eq!(stats(&w, "username=bulk&model_name=m-a").await, bulk_before);
    let old_range = format!(
        "start_timestamp={}&end_timestamp={}",
        cutoff - 3 * DAY,
        cutoff - 1
    );
    assert_eq!(stats(&w, &old_range).await["total"]["requests"], OLD);

    // A second pass finds nothing more.
    assert_eq!(retention::run_once(&w.gw.state).await.expect("pass"), 0);
    assert_eq!(stats(&w, "").await["total"], before["total"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_option_is_validated() {
    let w = V1World::new().await;
    let r =
        w.gw.put(
            "/api/option",
            Some(&w.root),
            json!({"log_retention_days": -1}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r =
        w.gw.put(
            "/api/option",
            Some(&w.root),
            json!({"log_retention_days": "30"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}
