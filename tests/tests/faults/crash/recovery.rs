//! The recovery itself, on the suite's backend: a dead replica's leases go back exactly
//! once even when several replicas return them at the same moment.

use gateway::store::ledger::Holder;
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::test_db;
use reqwest::StatusCode;
use serde_json::json;

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
        assert!(taken);
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
