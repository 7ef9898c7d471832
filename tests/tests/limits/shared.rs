//! Limits shared by two replicas through Redis (ignored by default: they need
//! `REDIS_URL` and `TEST_DATABASE_URL`; `.ci/run` provides both).

use super::shared_support::{chat, pair, redis_url, wait_for_redis, OwnRedis, Pair};
use integration_tests::replica_support::chat_body;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

const NEEDS: &str = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both";

async fn key(p: &Pair, body: serde_json::Value) -> String {
    p.a.create_key(&p.jwt, body).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn a_10_rpm_key_gets_exactly_10_of_30_requests_across_two_replicas() {
    let p = pair(&redis_url()).await;
    let k = key(&p, json!({"name": "rpm", "rate_limit_per_minute": 10})).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let gw = if i % 2 == 0 { &p.a } else { &p.b };
        let (client, url, k) = (gw.client.clone(), gw.url.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(k)
                .json(&chat_body())
                .send()
                .await
                .expect("response")
                .status()
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("join") {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, refused), (10, 20), "{NEEDS}");
    assert_eq!(p.mock.request_count(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn a_concurrency_limit_of_2_holds_across_replicas_with_slow_streams() {
    let p = pair(&redis_url()).await;
    let k = key(&p, json!({"name": "conc", "max_concurrency": 2})).await;
    p.mock.update_options(|o| {
        o.delay = Duration::from_millis(500);
        o.chunks = 6;
    });
    let mut body = chat_body();
    body["stream"] = json!(true);
    let open = |gw: &integration_tests::gateway_support::TestGateway| {
        gw.client
            .post(format!("{}/v1/chat/completions", gw.url))
            .bearer_auth(&k)
            .json(&body)
            .send()
    };
    let s1 = open(&p.a).await.expect("stream 1");
    let s2 = open(&p.b).await.expect("stream 2");
    assert_eq!((s1.status(), s2.status()), (StatusCode::OK, StatusCode::OK));
    for gw in [&p.a, &p.b] {
        let (status, text) = chat(gw, &k).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
        assert!(text.contains("concurrency_limit_exceeded"), "{text}");
    }
    // Reading both streams to the end frees both slots.
    let _ = s1.bytes().await;
    let _ = s2.bytes().await;
    p.mock.update_options(|o| o.delay = Duration::ZERO);
    let start = Instant::now();
    loop {
        if chat(&p.b, &k).await.0 == StatusCode::OK {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "slots never freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn a_daily_budget_is_shared_and_refuses_the_request_that_would_exceed_it() {
    let p = pair(&redis_url()).await;
    let budget = p.cost * 2 + p.cost / 2;
    let k = key(&p, json!({"name": "budget", "daily_budget": budget})).await;
    assert_eq!(chat(&p.a, &k).await.0, StatusCode::OK);
    assert_eq!(chat(&p.b, &k).await.0, StatusCode::OK);
    for gw in [&p.a, &p.b] {
        let (status, text) = chat(gw, &k).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
        assert!(text.contains("budget_exceeded"), "{text}");
    }
    assert_eq!(p.mock.request_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn a_key_disabled_on_one_replica_is_refused_by_the_other_within_one_second() {
    let p = pair(&redis_url()).await;
    let (id, k) = p.a.create_key(&p.jwt, json!({"name": "k"})).await;
    assert_eq!(
        chat(&p.b, &k).await.0,
        StatusCode::OK,
        "b has the key cached"
    );
    let r =
        p.a.put(
            &format!("/api/token/{id}"),
            Some(&p.jwt),
            json!({"status": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let start = Instant::now();
    loop {
        let (status, _) = chat(&p.b, &k).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "b still answers {status} after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn losing_redis_degrades_to_local_limits_and_recovers() {
    let _ = redis_url();
    let mut redis = OwnRedis::start();
    let p = pair(&redis.url()).await;
    let k = key(&p, json!({"name": "rpm", "rate_limit_per_minute": 4})).await;
    assert_eq!(chat(&p.a, &k).await.0, StatusCode::OK);
    assert_eq!(chat(&p.b, &k).await.0, StatusCode::OK);
    redis.stop();
    // Both keep serving, each with its own (fresh) local count.
    for gw in [&p.a, &p.b] {
        let (status, text) = chat(gw, &k).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        wait_for_redis(gw, "degraded", Duration::from_secs(5)).await;
    }
    for gw in [&p.a, &p.b] {
        for _ in 0..3 {
            assert_eq!(chat(gw, &k).await.0, StatusCode::OK);
        }
        // Local limits hold: the fifth request on this replica is over 4 per minute.
        assert_eq!(chat(gw, &k).await.0, StatusCode::TOO_MANY_REQUESTS);
    }
    redis.restart();
    for gw in [&p.a, &p.b] {
        wait_for_redis(gw, "ok", Duration::from_secs(10)).await;
    }
    // Back on Redis (empty after its restart): the shared count starts again.
    let fresh = key(&p, json!({"name": "after", "rate_limit_per_minute": 2})).await;
    assert_eq!(chat(&p.a, &fresh).await.0, StatusCode::OK);
    assert_eq!(chat(&p.b, &fresh).await.0, StatusCode::OK);
    assert_eq!(chat(&p.a, &fresh).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn a_channel_cooling_down_on_one_replica_is_skipped_by_the_other() {
    let p = pair(&redis_url()).await;
    let primary = integration_tests::mock_upstream::MockUpstream::start().await;
    p.a.create_channel(
        &p.jwt,
        json!({"name": "primary", "type": 1, "key": "sk-upstream-key-1111",
        "base_url": primary.url(), "models": ["gpt-4o"], "priority": 10}),
    )
    .await;
    let k = key(&p, json!({"name": "k"})).await;
    // b hears about the new channel over pub/sub.
    tokio::time::sleep(Duration::from_millis(300)).await;
    primary.push_reply(super::health::too_many(30));
    assert_eq!(
        chat(&p.a, &k).await.0,
        StatusCode::OK,
        "served by the fallback"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for gw in [&p.b, &p.a, &p.b] {
        assert_eq!(chat(gw, &k).await.0, StatusCode::OK);
    }
    assert_eq!(
        primary.request_count(),
        1,
        "the cooling channel was tried again"
    );
    assert_eq!(p.mock.request_count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn an_option_changed_on_one_replica_is_seen_by_the_other_within_one_second() {
    let p = pair(&redis_url()).await;
    let r =
        p.a.put(
            "/api/option",
            Some(&p.jwt),
            json!({"timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let start = Instant::now();
    loop {
        let r = p.b.get("/api/option", Some(&p.jwt)).await;
        if r.data()["timezone"] == "Asia/Tokyo" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "b still has {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn a_replica_started_later_sees_the_current_cool_downs() {
    let p = pair(&redis_url()).await;
    let primary = integration_tests::mock_upstream::MockUpstream::start().await;
    p.a.create_channel(
        &p.jwt,
        json!({"name": "primary", "type": 1, "key": "sk-upstream-key-1111",
        "base_url": primary.url(), "models": ["gpt-4o"], "priority": 10}),
    )
    .await;
    let k = key(&p, json!({"name": "k"})).await;
    primary.push_reply(super::health::too_many(30));
    assert_eq!(
        chat(&p.a, &k).await.0,
        StatusCode::OK,
        "served by the fallback"
    );
    // Started after the cool-down was announced: it reads it from Redis.
    let c = p.another().await;
    let start = Instant::now();
    let row = loop {
        let r = c.get("/api/channel/health", Some(&p.jwt)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let rows = r.data()["channels"].as_array().cloned().unwrap_or_default();
        let row = rows.into_iter().find(|r| r["cooling_until"].is_i64());
        if let Some(row) = row {
            break row;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "c sees no cool-down: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    let until = u128::try_from(row["cooling_until"].as_i64().expect("until")).expect("positive");
    assert!(
        until > now + 20_000,
        "the upstream's Retry-After (30 s) holds: {row}"
    );
    assert_eq!(row["keys"][0]["state"], "cooling", "{row}");
    assert_eq!(row["keys"][0]["preview"], "1111", "{row}");
    assert_eq!(chat(&c, &k).await.0, StatusCode::OK);
    assert_eq!(
        primary.request_count(),
        1,
        "the new replica skipped the cooling channel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs REDIS_URL (redis://127.0.0.1:6379) and TEST_DATABASE_URL (PostgreSQL); .ci/run sets both"]
async fn budgets_are_rebuilt_from_the_log_after_redis_loses_them() {
    let _ = redis_url();
    let mut redis = OwnRedis::start();
    let p = pair(&redis.url()).await;
    let budget = p.cost * 3 + p.cost / 2;
    let k = key(&p, json!({"name": "budget", "daily_budget": budget})).await;
    assert_eq!(chat(&p.a, &k).await.0, StatusCode::OK);
    assert_eq!(chat(&p.b, &k).await.0, StatusCode::OK);
    // Both requests are in the log before Redis forgets its counters.
    let start = Instant::now();
    loop {
        let r = p.a.get("/api/log?type=success", Some(&p.jwt)).await;
        if r.data()["total"].as_i64() == Some(2) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    redis.restart();
    for gw in [&p.a, &p.b] {
        wait_for_redis(gw, "ok", Duration::from_secs(10)).await;
    }
    // The counter starts from the log's 2 requests, not from 0: one more fits, then no.
    assert_eq!(chat(&p.b, &k).await.0, StatusCode::OK);
    for gw in [&p.a, &p.b] {
        let (status, text) = chat(gw, &k).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
        assert!(text.contains("budget_exceeded"), "{text}");
    }
    assert_eq!(p.mock.request_count(), 3);
}
