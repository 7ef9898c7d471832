//! Two gateway replicas on one PostgreSQL database (ignored by default: needs `TEST_DATABASE_URL`).

use integration_tests::replica_support::{
    an_idle_lease_returns_to_the_shared_balance, budget_for_ten_admits_exactly_ten,
    disabled_key_is_refused_by_the_other_replica_within_five_seconds, two_replicas,
};
use integration_tests::test_db;

/// A fresh schema's URL for both replicas.
async fn shared_database() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    test_db::fresh_database_url(dir.path()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn a_budget_for_ten_admits_exactly_ten_requests_across_two_replicas() {
    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    budget_for_ten_admits_exactly_ten(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn a_key_disabled_through_one_replica_is_refused_by_the_other_within_five_seconds() {
    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    disabled_key_is_refused_by_the_other_replica_within_five_seconds(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn an_idle_lease_on_one_replica_returns_to_the_balance_the_other_reads() {
    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    an_idle_lease_returns_to_the_shared_balance(&r).await;
}

/// Never below zero across replicas (docs/reliability.md, "Output caps and balances"):
/// twenty concurrent requests without `max_tokens`, split across both replicas, whose
/// upstream reports 50,000 output tokens each, on a user balance for two worst cases and
/// a bit. Exactly three are answered (the third capped to the rest), the balance ends at
/// exactly zero, and what could not be charged is logged as unbilled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL naming a PostgreSQL server (.ci/run sets it)"]
async fn concurrent_answers_far_above_the_estimate_never_take_a_balance_below_zero_across_two_replicas(
) {
    use integration_tests::mock_upstream::MockUsage;
    use reqwest::StatusCode;
    use serde_json::json;
    use std::time::{Duration, Instant};

    integration_tests::needs::postgres_url();
    let r = two_replicas(&shared_database().await).await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "all of it"}]});
    let prompt = gateway::services::dispatch::request::parse(
        gateway::providers::Endpoint::Chat,
        bytes::Bytes::from(body.to_string()),
    )
    .expect("parse")
    .prompt
    .estimate() as i64;
    // Completion ratio 1 (set by two_replicas): the worst case is prompt + 16,384.
    let worst = prompt + 16_384;
    let quota = 2 * worst + 7_000;
    let res =
        r.a.put("/api/user/1", Some(&r.jwt), json!({"quota": quota}))
            .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let (_, key) =
        r.a.create_key(&r.jwt, json!({"name": "open", "unlimited_quota": true}))
            .await;
    r.mock.update_options(|o| {
        o.usage = Some(MockUsage {
            prompt_tokens: 11,
            completion_tokens: 50_000,
            ..MockUsage::default()
        });
        o.head_delay = Duration::from_millis(1_000);
    });
    // Options and channels are cached per replica; wait until b sees the ratio change.
    tokio::time::sleep(Duration::from_millis(5500)).await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let url = if i % 2 == 0 { &r.a.url } else { &r.b.url };
        let req =
            r.a.client
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(&key)
                .json(&body);
        tasks.push(tokio::spawn(async move {
            let res = req.send().await.expect("response");
            let capped = res
                .headers()
                .get("x-gateway-output-capped")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            (res.status(), capped)
        }));
    }
    let mut ok = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("join") {
            (StatusCode::OK, capped) => ok.push(capped),
            (StatusCode::TOO_MANY_REQUESTS, _) => refused += 1,
            (other, _) => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok.len(), refused), (3, 17));
    let rest = quota - 2 * worst - prompt;
    let mut capped: Vec<_> = ok.into_iter().flatten().collect();
    capped.sort();
    assert_eq!(
        capped,
        vec![rest.to_string()],
        "the third answer is capped to the rest"
    );
    assert_eq!(
        r.mock.request_count(),
        3,
        "refusals never reach the upstream"
    );

    // A log row is written in the same transaction as its settlement: once all twenty
    // are there, every balance change is too.
    let deadline = Instant::now() + Duration::from_secs(15);
    let logs = loop {
        let logs = r.a.get("/api/log?page_size=100", Some(&r.jwt)).await;
        let items = logs.data()["items"].as_array().cloned().unwrap_or_default();
        if items.len() == 20 || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let user = r.a.get("/api/user/self", Some(&r.jwt)).await;
    assert_eq!(user.data()["quota"], 0, "exactly zero, never below");
    assert_eq!(user.data()["used_quota"], quota);
    let sum = |field: &str| -> i64 { logs.iter().map(|l| l[field].as_i64().unwrap_or(0)).sum() };
    assert_eq!(sum("quota"), quota);
    assert_eq!(sum("quota") + sum("unbilled_quota"), 3 * (11 + 50_000));
}
