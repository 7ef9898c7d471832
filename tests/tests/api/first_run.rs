//! Secure first run on the real binary: without `INITIAL_ADMIN_PASSWORD` the root
//! password is random, logged once, and must be changed; `gateway reset-admin-password`
//! recovers a lost one. Runs on whichever backend the suite uses (SQLite, PostgreSQL, D1).

use integration_tests::gateway_process::{run_subcommand, GatewayProcess};
use integration_tests::gateway_support::{DEFAULT_ADMIN_PASSWORD, TEST_JWT_SECRET};
use integration_tests::test_db::{database_env, fresh_database};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const LOG_PREFIX: &str = "initial admin password: ";

/// POSTs/PUTs/GETs JSON on a gateway process; returns (status, body).
async fn call(
    method: reqwest::Method,
    url: String,
    jwt: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut req = client.request(method, url);
    if let Some(t) = jwt {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn login(gw: &GatewayProcess, password: &str) -> (u16, Value) {
    call(
        reqwest::Method::POST,
        format!("{}/api/user/login", gw.url),
        None,
        Some(json!({"username": "admin", "password": password})),
    )
    .await
}

async fn get(gw: &GatewayProcess, path: &str, jwt: &str) -> u16 {
    call(
        reqwest::Method::GET,
        format!("{}{path}", gw.url),
        Some(jwt),
        None,
    )
    .await
    .0
}

/// The passwords the log printed with `initial admin password:`, at WARN.
fn logged_passwords(log: &[String]) -> Vec<String> {
    log.iter()
        .filter_map(|line| {
            let (head, pw) = line.split_once(LOG_PREFIX)?;
            assert!(head.contains("WARN"), "not logged at WARN: {line}");
            Some(pw.trim().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_start_logs_a_random_password_that_must_be_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _lease) = fresh_database(dir.path()).await;
    let gw = GatewayProcess::start(dir.path(), &db, &[]);
    let log = gw.log();
    let passwords = logged_passwords(&log);
    assert_eq!(passwords.len(), 1, "log: {log:#?}");
    let initial = &passwords[0];
    assert!(initial.len() >= 16, "weak generated password {initial:?}");
    let console = format!("web console at {}/", gw.url);
    assert!(
        log.iter().any(|l| l.contains(&console)),
        "the start-up log should name the console URL ({console}): {log:#?}"
    );

    // The well-known default no longer opens the gateway.
    let (status, body) = login(&gw, DEFAULT_ADMIN_PASSWORD).await;
    assert_eq!(status, 401, "{body}");

    let (status, body) = login(&gw, initial).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["must_change_password"], true, "{body}");
    let jwt = body["data"]["token"].as_str().expect("token").to_string();
    assert_eq!(
        get(&gw, "/api/user", &jwt).await,
        403,
        "admin action before the change"
    );

    let (status, body) = call(
        reqwest::Method::PUT,
        format!("{}/api/user/self", gw.url),
        Some(&jwt),
        Some(json!({"current_password": initial, "password": "my-own-admin-password"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = login(&gw, "my-own-admin-password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["user"]["must_change_password"], false,
        "{body}"
    );
    let jwt = body["data"]["token"].as_str().expect("token").to_string();
    assert_eq!(get(&gw, "/api/user", &jwt).await, 200);
    drop(gw);

    // A restart on the same database prints no password: the user exists.
    let again = GatewayProcess::start(dir.path(), &db, &[]);
    let log = again.log();
    assert!(logged_passwords(&log).is_empty(), "log: {log:#?}");
    assert!(
        !log.iter().any(|l| l.contains(initial.as_str())),
        "{log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_admin_password_is_used_as_given_and_never_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _lease) = fresh_database(dir.path()).await;
    let chosen = "operator-chosen-password";
    let gw = GatewayProcess::start(dir.path(), &db, &[("INITIAL_ADMIN_PASSWORD", chosen)]);
    let log = gw.log();
    assert!(logged_passwords(&log).is_empty(), "{log:#?}");
    assert!(!log.iter().any(|l| l.contains(chosen)), "{log:#?}");
    let (status, body) = login(&gw, chosen).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["user"]["must_change_password"], false,
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_admin_password_recovers_a_lost_password_and_ends_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _lease) = fresh_database(dir.path()).await;

    // Before any start the database has no admin: a clear failure, not a new user.
    let out = run_subcommand(dir.path(), &db, &["reset-admin-password"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("no user 'admin'"), "stderr: {stderr}");

    let lost = "a-password-nobody-remembers";
    let gw = GatewayProcess::start(dir.path(), &db, &[("INITIAL_ADMIN_PASSWORD", lost)]);
    let (status, body) = login(&gw, lost).await;
    assert_eq!(status, 200, "{body}");
    let old_jwt = body["data"]["token"].as_str().expect("token").to_string();

    // Run while the gateway is up, as an operator would on the same host.
    let out = run_subcommand(dir.path(), &db, &["reset-admin-password"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let new = stdout
        .lines()
        .find_map(|l| l.strip_prefix("new admin password: "))
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
        .trim()
        .to_string();
    assert!(new.len() >= 16, "{new:?}");
    assert!(!stdout.contains(lost) && !stderr.contains(lost));

    let (status, _) = login(&gw, lost).await;
    assert_eq!(status, 401, "the old password still works");
    // The running gateway re-reads the user within its 5 s cache.
    let deadline = Instant::now() + Duration::from_secs(8);
    while get(&gw, "/api/user/self", &old_jwt).await != 401 {
        assert!(
            Instant::now() < deadline,
            "the old session survived the reset"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = login(&gw, &new).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["must_change_password"], true, "{body}");
    let jwt = body["data"]["token"].as_str().expect("token");
    assert_eq!(get(&gw, "/api/user", jwt).await, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_subcommands_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("gateway.db").display());
    // Without JWT_SECRET the gateway would generate one into the data directory.
    let out = run_subcommand(dir.path(), &db, &["reset-admin"], &[("JWT_SECRET", "")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("reset-admin-password"), "{stderr}");
    let created: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(created.is_empty(), "nothing is created: {created:?}");
}

/// Replicas starting together on one empty database: both see no user, both try to
/// create `admin`, exactly one succeeds and only that one has a password to print.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_replicas_create_and_print_one_admin_password() {
    use gateway::services::dispatch::ledger::{Ledger, GATHER};
    use gateway::services::root_user;
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _lease) = fresh_database(dir.path()).await;
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), db),
        ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
    ]);
    vars.extend(database_env());
    let settings = gateway::settings::Settings::from_map(&vars).expect("settings");
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = gateway::store::connect(&settings).await.expect("store");
        let (ledger, _task) = Ledger::spawn(store.clone(), GATHER);
        let state = gateway::state::AppState::new(settings.clone(), store, ledger)
            .await
            .expect("state");
        replicas.push(state);
    }
    let (a, b) = tokio::join!(root_user::seed(&replicas[0]), root_user::seed(&replicas[1]));
    let printed: Vec<String> = [a.expect("seed a"), b.expect("seed b")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(replicas[0].store.count_users().await.expect("count"), 1);
    let admin = replicas[1]
        .store
        .user_by_username("admin")
        .await
        .expect("read")
        .expect("admin exists");
    assert!(admin.must_change_password);
}
