//! Two gateway replicas on one PostgreSQL database (skipped without `TEST_DATABASE_URL`).

use integration_tests::gateway_support::TestGateway;
use integration_tests::mock_upstream::{MockOptions, MockUpstream, MockUsage};
use integration_tests::test_db;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => Some(u),
        _ => {
            println!("skipped: TEST_DATABASE_URL does not name a PostgreSQL server");
            None
        }
    }
}

fn chat_body() -> Value {
    json!({"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "budget test"}]})
}

/// Two replicas sharing a fresh schema, a mock whose reported usage equals the gateway's
/// reservation (so every request costs exactly its reservation), and a funded admin.
async fn two_replicas() -> (TestGateway, TestGateway, MockUpstream, String, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = test_db::fresh_database_url(dir.path()).await;
    let vars = [
        ("DATABASE_URL", url.as_str()),
        (
            "INITIAL_ADMIN_PASSWORD",
            integration_tests::gateway_support::ADMIN_PASSWORD,
        ),
    ];
    let a = TestGateway::spawn_with(&vars).await;
    let b = TestGateway::spawn_with(&vars).await;
    let parsed = gateway::services::dispatch::request::parse(
        gateway::providers::Endpoint::Chat,
        chat_body().to_string().as_bytes(),
    )
    .expect("parse");
    let mock = MockUpstream::start_with(MockOptions {
        usage: Some(MockUsage {
            prompt_tokens: parsed.prompt_tokens,
            completion_tokens: parsed.completion_reserve,
            ..MockUsage::default()
        }),
        ..MockOptions::default()
    })
    .await;
    // Completion ratio 1 makes cost = prompt + completion, identical to the reservation.
    let jwt = a.admin().await;
    let r = a
        .put(
            "/api/option",
            Some(&jwt),
            json!({"default_completion_ratio": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    a.create_channel(
        &jwt,
        json!({"name": "mock", "type": 1, "key": "sk-upstream-key-0000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;
    let cost = i64::try_from(parsed.prompt_tokens + parsed.completion_reserve).expect("cost");
    (a, b, mock, jwt, cost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_for_ten_admits_exactly_ten_requests_across_two_replicas() {
    if postgres_url().is_none() {
        return;
    }
    let (a, b, mock, jwt, cost) = two_replicas().await;
    let r = a
        .put("/api/user/1", Some(&jwt), json!({"quota": cost * 1000}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (token_id, key) = a
        .create_key(
            &jwt,
            json!({"name": "budget", "remain_quota": cost * 10, "unlimited_quota": false}),
        )
        .await;
    // Options and channels are read per replica; wait until b sees the ratio change.
    tokio::time::sleep(Duration::from_millis(5500)).await;

    let mut tasks = Vec::new();
    for i in 0..100 {
        let gw_url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let client = a.client.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{gw_url}/v1/chat/completions"))
                .bearer_auth(key)
                .json(&chat_body())
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("join").expect("response") {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, refused), (10, 90));
    assert_eq!(
        mock.request_count(),
        10,
        "exactly ten requests reach the upstream"
    );

    let token = a.get(&format!("/api/token/{token_id}"), Some(&jwt)).await;
    assert_eq!(token.data()["remain_quota"], 0);
    assert_eq!(token.data()["used_quota"], cost * 10);
    assert_eq!(
        token.data()["status"],
        4,
        "an emptied key is marked exhausted"
    );
    let user = a.get("/api/user/self", Some(&jwt)).await;
    assert_eq!(
        user.data()["quota"].as_i64().expect("quota")
            + user.data()["used_quota"].as_i64().expect("used"),
        cost * 1000
    );
    let stat = a.get("/api/log/stat", Some(&jwt)).await;
    assert_eq!(stat.data()["total"]["quota"], cost * 10);
    assert_eq!(
        stat.data()["total"]["requests"],
        100,
        "refusals are logged too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_disabled_through_one_replica_is_refused_by_the_other_within_five_seconds() {
    if postgres_url().is_none() {
        return;
    }
    let (a, b, _mock, jwt, cost) = two_replicas().await;
    a.put("/api/user/1", Some(&jwt), json!({"quota": cost * 1000}))
        .await;
    let (token_id, key) = a.create_key(&jwt, json!({"name": "k"})).await;
    let chat = |gw: &TestGateway| {
        gw.client
            .post(format!("{}/v1/chat/completions", gw.url))
            .bearer_auth(key.clone())
            .json(&chat_body())
            .send()
    };
    assert_eq!(
        chat(&b).await.expect("send").status(),
        StatusCode::OK,
        "b has the key cached now"
    );
    let r = a
        .put(
            &format!("/api/token/{token_id}"),
            Some(&jwt),
            json!({"status": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let disabled_at = Instant::now();
    loop {
        let status = chat(&b).await.expect("send").status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            disabled_at.elapsed() < Duration::from_secs(5),
            "still {status} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
