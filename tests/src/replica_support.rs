//! Two gateway replicas on one shared database, and the checks every multi-replica
//! backend (PostgreSQL, D1) must pass: exact budgets under concurrency and a key disabled
//! on one replica being refused by the other within the documented 5 s.

use crate::gateway_support::{TestGateway, ADMIN_PASSWORD};
use crate::mock_upstream::{MockOptions, MockUpstream, MockUsage};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub fn chat_body() -> Value {
    json!({"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "budget test"}]})
}

/// Two replicas, a mock whose reported usage equals the gateway's reservation (so every
/// request costs exactly its reservation), and the root admin's session.
pub struct Replicas {
    pub a: TestGateway,
    pub b: TestGateway,
    pub mock: MockUpstream,
    pub jwt: String,
    /// The cost (and reservation) of one `chat_body()` request.
    pub cost: i64,
}

/// Both replicas on `database_url`, a channel to the mock, completion ratio 1.
pub async fn two_replicas(database_url: &str) -> Replicas {
    let vars = [
        ("DATABASE_URL", database_url),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let a = TestGateway::spawn_with(&vars).await;
    let b = TestGateway::spawn_with(&vars).await;
    let parsed = gateway::services::dispatch::request::parse(
        gateway::providers::Endpoint::Chat,
        bytes::Bytes::from(chat_body().to_string()),
    )
    .expect("parse");
    let mock = MockUpstream::start_with(MockOptions {
        usage: Some(MockUsage {
            prompt_tokens: parsed.prompt.estimate(),
            completion_tokens: parsed.completion_reserve,
            ..MockUsage::default()
        }),
        ..MockOptions::default()
    })
    .await;
    // Completion ratio 1 makes cost = prompt + completion, identical to the reservation.
    let jwt = a.admin().await;
    a.set_options(&jwt, json!({"default_completion_ratio": 1}))
        .await;
    a.create_channel(
        &jwt,
        json!({"name": "mock", "type": 1, "key": "sk-upstream-key-0000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;
    let cost = i64::try_from(parsed.prompt.estimate() + parsed.completion_reserve).expect("cost");
    Replicas {
        a,
        b,
        mock,
        jwt,
        cost,
    }
}

/// 100 concurrent requests split across both replicas on a key budget for 10: exactly 10
/// reach the upstream and the ledger adds up.
pub async fn budget_for_ten_admits_exactly_ten(r: &Replicas) {
    let (a, b, jwt, cost) = (&r.a, &r.b, r.jwt.as_str(), r.cost);
    let res = a
        .put("/api/user/1", Some(jwt), json!({"quota": cost * 1000}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let (token_id, key) = a
        .create_key(
            jwt,
            json!({"name": "budget", "remain_quota": cost * 10, "unlimited_quota": false}),
        )
        .await;
    // Options and channels are cached per replica; wait until b sees the ratio change.
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
            let r = client
                .post(format!("{gw_url}/v1/chat/completions"))
                .bearer_auth(key)
                .json(&chat_body())
                .send()
                .await
                .expect("response");
            (r.status(), r.text().await.unwrap_or_default())
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.expect("join") {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::TOO_MANY_REQUESTS, _) => refused += 1,
            (other, text) => panic!("unexpected status {other}: {text}"),
        }
    }
    assert_eq!((ok, refused), (10, 90));
    assert_eq!(
        r.mock.request_count(),
        10,
        "exactly ten requests reach the upstream"
    );

    // Settlements and logs are written by a background writer: wait for all 100 log rows.
    let deadline = Instant::now() + Duration::from_secs(15);
    let stat = loop {
        let stat = a.get("/api/log/stat", Some(jwt)).await;
        if stat.data()["total"]["requests"] == 100 || Instant::now() > deadline {
            break stat;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        stat.data()["total"]["requests"],
        100,
        "refusals are logged too"
    );
    assert_eq!(stat.data()["total"]["quota"], cost * 10);
    let token = a.get(&format!("/api/token/{token_id}"), Some(jwt)).await;
    assert_eq!(token.data()["remain_quota"], 0);
    assert_eq!(token.data()["used_quota"], cost * 10);
    assert_eq!(
        token.data()["status"],
        4,
        "an emptied key is marked exhausted"
    );
    // b's lease on the user's balance goes back once idle; then a sees all of it.
    let total = |user: &crate::gateway_support::Resp| {
        user.data()["quota"].as_i64().expect("quota")
            + user.data()["used_quota"].as_i64().expect("used")
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let user = loop {
        let user = a.get("/api/user/self", Some(jwt)).await;
        if total(&user) == cost * 1000 || Instant::now() > deadline {
            break user;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(total(&user), cost * 1000);
}

/// Quota one replica holds in a lease is spendable by the other once it goes idle: after
/// a spends from its lease, b reads the user's exact balance within a few seconds.
pub async fn an_idle_lease_returns_to_the_shared_balance(r: &Replicas) {
    let (a, b, jwt, cost) = (&r.a, &r.b, r.jwt.as_str(), r.cost);
    let res = a
        .put("/api/user/1", Some(jwt), json!({"quota": cost * 1000}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let (_, key) = a.create_key(jwt, json!({"name": "lease"})).await;
    for _ in 0..3 {
        let res = a
            .client
            .post(format!("{}/v1/chat/completions", a.url))
            .bearer_auth(&key)
            .json(&chat_body())
            .send()
            .await
            .expect("response");
        assert_eq!(res.status(), StatusCode::OK);
    }
    async fn quota(gw: &TestGateway, jwt: &str) -> i64 {
        let user = gw.get("/api/user/self", Some(jwt)).await;
        user.data()["quota"].as_i64().expect("quota")
    }
    assert_eq!(quota(a, jwt).await, cost * 997, "a counts its own lease in");
    let deadline = Instant::now() + Duration::from_secs(5);
    while quota(b, jwt).await != cost * 997 {
        assert!(
            Instant::now() < deadline,
            "b still reads {} after 5 s",
            quota(b, jwt).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A key disabled through replica a is refused by replica b (which has it cached) within 5 s.
pub async fn disabled_key_is_refused_by_the_other_replica_within_five_seconds(r: &Replicas) {
    let (a, b, jwt, cost) = (&r.a, &r.b, r.jwt.as_str(), r.cost);
    a.put("/api/user/1", Some(jwt), json!({"quota": cost * 1000}))
        .await;
    let (token_id, key) = a.create_key(jwt, json!({"name": "k"})).await;
    let chat = |gw: &TestGateway| {
        gw.client
            .post(format!("{}/v1/chat/completions", gw.url))
            .bearer_auth(key.clone())
            .json(&chat_body())
            .send()
    };
    assert_eq!(
        chat(b).await.expect("send").status(),
        StatusCode::OK,
        "b has the key cached now"
    );
    let res = a
        .put(
            &format!("/api/token/{token_id}"),
            Some(jwt),
            json!({"status": 2}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let disabled_at = Instant::now();
    loop {
        let status = chat(b).await.expect("send").status();
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
