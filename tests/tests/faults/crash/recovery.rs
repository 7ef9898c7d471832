//! The recovery itself, on the suite's backend: a dead replica's leases go back exactly
//! once even when several replicas return them at the same moment; a graceful stop retires
//! the replica; a replica taken for dead while alive registers again.

use gateway::store::ledger::Holder;
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::test_db;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const BALANCE: i64 = 1_000_000;
const TAKE: i64 = 1_000;

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
