//! D1-specific checks against the local test Worker (`tests/d1`, served by `wrangler dev`):
//! migrations recorded the way wrangler records them, and two gateway replicas on one D1
//! database. Ignored by default: they need `TEST_D1_URL` and `TEST_D1_API_BASE` are set (`.ci/run` sets them).

use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::replica_support::{
    an_idle_lease_returns_to_the_shared_balance, budget_for_ten_admits_exactly_ten,
    disabled_key_is_refused_by_the_other_replica_within_five_seconds, two_replicas,
};
use integration_tests::test_db::{d1_config, D1Config, D1Lease};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn d1() -> D1Config {
    d1_config().expect(
        "TEST_D1_URL / TEST_D1_API_BASE are not set: this test needs the local D1 Worker \
         (ignored by default; .ci/run starts it)",
    )
}

/// The migration files, sorted: the names wrangler and the gateway record.
fn migration_files() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations/sqlite")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
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
fn wrangler(command: &str, binding: &str) -> String {
    let dir = integration_tests::needs::env("TEST_D1_WRANGLER_DIR", "the wrangler CLI of tests/d1");
    let persist =
        integration_tests::needs::env("TEST_D1_PERSIST_TO", "the local D1 Worker's state");
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
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local D1 Worker: TEST_D1_URL, TEST_D1_API_BASE (.ci/run starts it)"]
async fn migrations_are_recorded_in_d1_migrations_the_way_wrangler_records_them() {
    let c = d1();
    let lease = D1Lease::acquire(&c).await;
    let gw = spawn_on(&lease.database_url()).await;
    assert_eq!(gw.get("/api/status", None).await.status, StatusCode::OK);

    let rows = query(
        &c,
        &lease.name,
        "SELECT id, name, applied_at FROM d1_migrations",
    )
    .await;
    let files = migration_files();
    assert_eq!(rows.len(), files.len(), "{rows:?}");
    assert_eq!(rows[0]["id"], 1);
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, files);
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
    assert_eq!(rows.len(), files.len());

    // wrangler, on the same local state, sees the gateway's migrations as applied.
    let out = wrangler("list", &lease.binding());
    assert!(out.contains("No migrations to apply"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local D1 Worker: TEST_D1_URL, TEST_D1_API_BASE (.ci/run starts it)"]
async fn a_database_migrated_by_wrangler_is_used_as_is_by_the_gateway() {
    let c = d1();
    let lease = D1Lease::acquire(&c).await;
    wrangler("apply", &lease.binding());
    let rows = query(&c, &lease.name, "SELECT name FROM d1_migrations").await;
    assert_eq!(
        rows.len(),
        migration_files().len(),
        "wrangler recorded its migrations: {rows:?}"
    );
    // Re-running 0001 would fail on the existing tables, so the gateway starting proves it
    // read wrangler's record.
    let gw = spawn_on(&lease.database_url()).await;
    let jwt = gw.admin().await;
    let (_, key) = gw.create_key(&jwt, json!({"name": "after wrangler"})).await;
    assert!(key.starts_with("sk-"));
    let rows = query(&c, &lease.name, "SELECT name FROM d1_migrations").await;
    assert_eq!(rows.len(), migration_files().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local D1 Worker: TEST_D1_URL, TEST_D1_API_BASE (.ci/run starts it)"]
async fn a_budget_for_ten_admits_exactly_ten_requests_across_two_replicas_on_d1() {
    let c = d1();
    // The lease outlives both gateways.
    let lease = D1Lease::acquire(&c).await;
    let r = two_replicas(&lease.database_url()).await;
    budget_for_ten_admits_exactly_ten(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local D1 Worker: TEST_D1_URL, TEST_D1_API_BASE (.ci/run starts it)"]
async fn a_key_disabled_through_one_replica_is_refused_by_the_other_within_five_seconds_on_d1() {
    let c = d1();
    let lease = D1Lease::acquire(&c).await;
    let r = two_replicas(&lease.database_url()).await;
    disabled_key_is_refused_by_the_other_replica_within_five_seconds(&r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local D1 Worker: TEST_D1_URL, TEST_D1_API_BASE (.ci/run starts it)"]
async fn an_idle_lease_on_one_replica_returns_to_the_balance_the_other_reads_on_d1() {
    let c = d1();
    let lease = D1Lease::acquire(&c).await;
    let r = two_replicas(&lease.database_url()).await;
    an_idle_lease_returns_to_the_shared_balance(&r).await;
}
