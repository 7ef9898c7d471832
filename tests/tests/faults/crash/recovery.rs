//! The recovery itself, on the suite's backend: a dead replica's leases go back exactly
//! once even when several replicas return them at the same moment; a graceful stop retires
//! the replica; a replica taken for dead while alive registers again.

use gateway::store::ledger::Holder;
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::mock_upstream::MockUpstream;
use integration_tests::test_db;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const BALANCE: i64 = 1_000_000;
const TAKE: i64 = 1_000;
const KEY_BUDGET: i64 = 500_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_recovering_one_dead_replica_together_return_its_leases_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _d1_lease) = test_db::fresh_database(dir.path()).await;
    let vars = [
        ("DATABASE_URL", url.as_str()),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let dead = TestGateway::spawn_with(&vars).await;
    let a = TestGateway::spawn_with(&vars).await;
    let b = TestGateway::spawn_with(&vars).await;
    let jwt = a.admin().await;
    let r = a
        .put("/api/user/1", Some(&jwt), json!({"quota": BALANCE}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Quota the "dead" replica took and recorded as its lease, then never settled.
    for _ in 0..3 {
        let taken = dead
            .state
            .store
            .take_quota(Holder::User(1), TAKE, TAKE)
            .await
            .expect("db");
        assert!(taken.is_some());
    }
    let balance = |gw: &TestGateway| {
        let store = gw.state.store.clone();
        async move {
            let user = store.user_by_id(1).await.expect("db").expect("root user");
            user.quota
        }
    };
    assert_eq!(balance(&a).await, BALANCE - 3 * TAKE);

    let dead_id = dead.state.store.replica_id().to_string();
    let recoveries: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { &a } else { &b }.state.store.clone();
            let id = dead_id.clone();
            tokio::spawn(async move { store.recover_replica(&id, i64::MAX).await })
        })
        .collect();
    for r in recoveries {
        r.await.expect("task").expect("recovery written");
    }
    assert_eq!(
        balance(&a).await,
        BALANCE,
        "eight concurrent recoveries returned the 3,000 taken exactly once"
    );
    let left = a
        .state
        .store
        .recover_replica(&dead_id, i64::MAX)
        .await
        .expect("db");
    assert_eq!(
        left, 0,
        "nothing is outstanding for the dead replica any more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_retires_the_replica_and_returns_whatever_its_record_still_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _d1_lease) = test_db::fresh_database(dir.path()).await;
    let vars = [
        ("DATABASE_URL", url.as_str()),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let mut stopping = TestGateway::spawn_with(&vars).await;
    let other = TestGateway::spawn_with(&vars).await;
    let jwt = other.admin().await;
    let r = other
        .put("/api/user/1", Some(&jwt), json!({"quota": BALANCE}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A take whose answer was lost: recorded for the replica, unknown to its memory.
    let taken = stopping
        .state
        .store
        .take_quota(Holder::User(1), TAKE, TAKE)
        .await
        .expect("db");
    assert!(taken.is_some());
    let id = stopping.state.store.replica_id().to_string();
    stopping.stop().await;

    let user = other.state.store.user_by_id(1).await.expect("db");
    assert_eq!(
        user.expect("root user").quota,
        BALANCE,
        "the take went back"
    );
    let listed = other
        .state
        .store
        .stale_replicas(i64::MAX)
        .await
        .expect("db");
    assert!(!listed.contains(&id), "the stopped replica is forgotten");
    let left = other
        .state
        .store
        .recover_replica(&id, i64::MAX)
        .await
        .expect("db");
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_taken_for_dead_while_alive_registers_again_at_its_next_heartbeat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _d1_lease) = test_db::fresh_database(dir.path()).await;
    let vars = [
        ("DATABASE_URL", url.as_str()),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("REPLICA_STALE_SECS", "3"),
    ];
    let alive = TestGateway::spawn_with(&vars).await;
    let other = TestGateway::spawn_with(&vars).await;
    let id = alive.state.store.replica_id().to_string();
    let listed = || async {
        other
            .state
            .store
            .stale_replicas(i64::MAX)
            .await
            .expect("db")
    };
    assert!(listed().await.contains(&id));
    other
        .state
        .store
        .recover_replica(&id, i64::MAX)
        .await
        .expect("db");
    assert!(!listed().await.contains(&id));
    let back = integration_tests::v1_support::wait_until(Duration::from_secs(5), || async {
        listed().await.contains(&id)
    })
    .await;
    assert!(
        back,
        "the replica registered again within a heartbeat (1 s)"
    );
}

/// A replica taken for dead while it was only cut off (here: recovered by another replica
/// while its heartbeat was fresh, which is what a cut longer than `REPLICA_STALE_SECS`
/// looks like from the database) keeps answering from its leases until its next heartbeat
/// tells it, and its settlement writer may still hold settlements of the gone
/// registration. Those are charged once, from the balance itself; nothing it held goes
/// back a second time; after it registered again it serves as before. The user's and the
/// key's books balance exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_recovered_while_alive_charges_its_late_settlements_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _d1_lease) = test_db::fresh_database(dir.path()).await;
    let base = [
        ("DATABASE_URL", url.as_str()),
        ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    // Settlements wait up to 10 s in the writer (the flushes below hurry it), so the
    // recovery finds some still queued; the heartbeat (every second) notices the recovery
    // within a second.
    let mut vars = base.to_vec();
    vars.extend([
        ("REPLICA_STALE_SECS", "3"),
        ("SETTLEMENT_INTERVAL_MS", "10000"),
    ]);
    let a = TestGateway::spawn_with(&vars).await;
    let b = TestGateway::spawn_with(&base).await;
    let mock = MockUpstream::start().await;
    let jwt = a.admin().await;
    let r = a
        .put("/api/user/1", Some(&jwt), json!({"quota": BALANCE}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    a.create_channel(
        &jwt,
        json!({"name": "mock", "type": 1, "key": "sk-upstream-key-0000",
        "base_url": mock.url(), "models": ["gpt-4o"]}),
    )
    .await;
    let (key_id, key) = a
        .create_key(
            &jwt,
            json!({"name": "k", "remain_quota": KEY_BUDGET, "unlimited_quota": false}),
        )
        .await;
    let chats = |n: usize| {
        let (a, key) = (&a, key.clone());
        async move {
            let mut answered = 0;
            for _ in 0..n {
                let r = a
                    .send(
                        a.client
                            .post(format!("{}/v1/chat/completions", a.url))
                            .bearer_auth(&key)
                            .json(&json!({"model": "gpt-4o", "max_tokens": 16,
                                "messages": [{"role": "user", "content": "hi"}]})),
                    )
                    .await;
                // The instant between dropping the gone registration's leases and
                // registering again answers 503 with the reason; anything else is a bug.
                match r.status {
                    StatusCode::OK => answered += 1,
                    StatusCode::SERVICE_UNAVAILABLE if r.text.contains("registering") => {}
                    other => panic!("unexpected {other}: {}", r.text),
                }
            }
            answered
        }
    };

    let before = a.state.store.generation();
    let mut answered = chats(3).await;
    let queued = a.state.ledger.pending();
    assert!(queued > 0, "settlements were still queued at the recovery");
    let id = a.state.store.replica_id().to_string();
    let returned = b
        .state
        .store
        .recover_replica(&id, i64::MAX)
        .await
        .expect("db");
    assert!(returned > 0, "a held leases when it was recovered");
    answered += chats(3).await;
    let registered_again =
        integration_tests::v1_support::wait_until(Duration::from_secs(10), || async {
            a.state.store.generation() != before
        })
        .await;
    assert!(registered_again, "a registered again at its next heartbeat");
    answered += chats(3).await;
    assert!(answered >= 7, "only {answered} of 9 answered");

    // Every settlement written and every idle lease back: the database alone must balance.
    let settled = integration_tests::v1_support::wait_until(Duration::from_secs(15), || async {
        a.state.ledger.flush().await;
        let quota = &a.state.quota;
        a.state.ledger.pending() == 0
            && quota.held(Holder::User(1)) == 0
            && quota.held(Holder::Token(key_id)) == 0
    })
    .await;
    assert!(settled, "a's settlements written and its leases given back");
    a.state.ledger.flush().await;
    let store = &b.state.store;
    let user = store.user_by_id(1).await.expect("db").expect("root user");
    let token = store.token_by_id(key_id).await.expect("db").expect("key");
    let logs = b.get("/api/log?page_size=100", Some(&jwt)).await;
    let rows = logs.data()["items"].as_array().cloned().unwrap_or_default();
    let logged: i64 = rows
        .iter()
        .map(|l| l["quota"].as_i64().expect("quota"))
        .sum();
    let served = rows.iter().filter(|l| l["status_code"] == 200).count();
    assert_eq!(
        served, answered,
        "one log row per answer ({queued} were queued at the recovery)"
    );
    assert!(user.used_quota > 0);
    assert_eq!(
        logged, user.used_quota,
        "the logs add up to what the user used"
    );
    assert_eq!(
        user.quota + user.used_quota,
        BALANCE,
        "the user paid each answer once: nothing returned twice, nothing served free"
    );
    assert_eq!(token.used_quota, user.used_quota);
    assert_eq!(token.remain_quota + token.used_quota, KEY_BUDGET);
}
