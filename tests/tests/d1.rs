//! D1-specific checks against the local test Worker (`tests/d1`, served by `wrangler dev`):
//! migrations recorded the way wrangler records them, and two gateway replicas on one D1
//! database. Skipped unless `TEST_D1_URL` and `TEST_D1_API_BASE` are set (`.ci/run` sets them).

use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::mock_upstream::{MockOptions, MockUpstream, MockUsage};
use integration_tests::test_db::{d1_config, D1Config, D1Lease};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn d1() -> Option<D1Config> {
    let c = d1_config();
    if c.is_none() {
        println!("skipped: TEST_D1_URL / TEST_D1_API_BASE are not set (no local D1 Worker)");
    }
    c
}

/// Runs SQL on a leased database through the Worker's query API.
async fn query(c: &D1Config, db: &str, sql: &str) -> Vec<Value> {
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!(
            "{}/accounts/{}/d1/database/{db}/query",
            c.api_base, c.account
        ))
        .bearer_auth(&c.token)
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .expect("query sent");
    let body: Value = res.json().await.expect("json envelope");
    assert_eq!(body["success"], true, "{body}");
    body["result"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn spawn_on(url: &str) -> TestGateway {
    TestGateway::spawn_with(&[
        ("DATABASE_URL", url),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ])
    .await
}

/// `npx wrangler d1 migrations <args> <binding> --local` on the Worker's own local state, when
/// `.ci/run` says where it is (`TEST_D1_WRANGLER_DIR`, `TEST_D1_PERSIST_TO`).
fn wrangler(command: &str, binding: &str) -> Option<String> {
    let (Ok(dir), Ok(persist)) = (
        std::env::var("TEST_D1_WRANGLER_DIR"),
        std::env::var("TEST_D1_PERSIST_TO"),
    ) else {
        println!("wrangler CLI check skipped: TEST_D1_WRANGLER_DIR / TEST_D1_PERSIST_TO not set");
        return None;
    };
    let bin = PathBuf::from(&dir).join("node_modules/.bin/wrangler");
    let out = Command::new(bin)
        .current_dir(&dir)
        .args([
            "d1",
            "migrations",
            command,
            binding,
            "--local",
            "--persist-to",
            &persist,
        ])
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "true")
        .output()
        .expect("run wrangler");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "wrangler d1 migrations {command} failed:\n{text}"
    );
    Some(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_recorded_in_d1_migrations_the_way_wrangler_records_them() {
    let Some(c) = d1() else { return };
    let lease = D1Lease::acquire(&c).await;
    let gw = spawn_on(&lease.database_url()).await;
    assert_eq!(gw.get("/api/status", None).await.status, StatusCode::OK);

    let rows = query(
        &c,
        &lease.name,
        "SELECT id, name, applied_at FROM d1_migrations",
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["name"], "0001_init.sql");
    assert!(rows[0]["applied_at"]
        .as_str()
        .is_some_and(|t| t.len() >= 19));
    let columns = query(
        &c,
        &lease.name,
        "SELECT name FROM pragma_table_info('d1_migrations')",
    )
    .await;
    let columns: Vec<&str> = columns.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(columns, ["id", "name", "applied_at"]);

    // A second start (another replica, a restart) applies nothing again.
    let again = spawn_on(&lease.database_url()).await;
    assert_eq!(again.get("/api/status", None).await.status, StatusCode::OK);
    let rows = query(&c, &lease.name, "SELECT name FROM d1_migrations").await;
    assert_eq!(rows.len(), 1);

    // wrangler, on the same local state, sees the gateway's migrations as applied.
    if let Some(out) = wrangler("list", &lease.binding()) {
        assert!(out.contains("No migrations to apply"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_by_wrangler_is_used_as_is_by_the_gateway() {
    let Some(c) = d1() else { return };
    let lease = D1Lease::acquire(&c).await;
    if wrangler("apply", &lease.binding()).is_none() {
        return;
    }
    let rows = query(&c, &lease.name, "SELECT name FROM d1_migrations").await;
    assert_eq!(rows.len(), 1, "wrangler recorded its migration: {rows:?}");
    // Re-running 0001 would fail on the existing tables, so the gateway starting proves it
    // read wrangler's record.
    let gw = spawn_on(&lease.database_url()).await;
    let jwt = gw.admin().await;
    let (_, key) = gw.create_key(&jwt, json!({"name": "after wrangler"})).await;
    assert!(key.starts_with("sk-"));
    let rows = query(&c, &lease.name, "SELECT name FROM d1_migrations").await;
    assert_eq!(rows.len(), 1);
}

fn chat_body() -> Value {
    json!({"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "budget test"}]})
}

/// Two replicas on one leased D1 database, a mock whose usage equals the reservation, a
/// funded admin. The lease is returned so it outlives both gateways.
async fn two_replicas(
    c: &D1Config,
) -> (D1Lease, TestGateway, TestGateway, MockUpstream, String, i64) {
    let lease = D1Lease::acquire(c).await;
    let a = spawn_on(&lease.database_url()).await;
    let b = spawn_on(&lease.database_url()).await;
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
    let jwt = a.admin().await;
    a.set_options(&jwt, json!({"default_completion_ratio": 1}))
        .await;
    a.create_channel(
        &jwt,
        json!({"name": "mock", "type": 1, "key": "sk-upstream-key-0000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;
    let cost = i64::try_from(parsed.prompt_tokens + parsed.completion_reserve).expect("cost");
    (lease, a, b, mock, jwt, cost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_for_ten_admits_exactly_ten_requests_across_two_replicas_on_d1() {
    let Some(c) = d1() else { return };
    let (_lease, a, b, mock, jwt, cost) = two_replicas(&c).await;
    let r = a
        .put("/api/user/1", Some(&jwt), json!({"quota": cost * 1000}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (token_id, key) = a
        .create_key(
            &jwt,
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
        mock.request_count(),
        10,
        "exactly ten requests reach the upstream"
    );

    // Settlements and logs are written by a background writer: wait for all 100 log rows.
    let deadline = Instant::now() + Duration::from_secs(15);
    let stat = loop {
        let stat = a.get("/api/log/stat", Some(&jwt)).await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_disabled_through_one_replica_is_refused_by_the_other_within_five_seconds_on_d1() {
    let Some(c) = d1() else { return };
    let (_lease, a, b, _mock, jwt, cost) = two_replicas(&c).await;
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
