//! Quota leases: a replica reserves from a block of quota it took from the balance, shows
//! balances as if it held nothing, gives idle leases back, and lets an admin's new balance
//! replace what it holds.

use gateway::services::dispatch::quota_lease::IDLE_RETURN;
use gateway::store::ledger::{Holder, LedgerEntry};
use integration_tests::v1_support::{chat_body, wait_until, V1World, USER_QUOTA};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// Each `chat_body("x")` answer from the default mock costs this much.
const COST: i64 = 32;
const KEY_QUOTA: i64 = 10_000_000;

/// (user quota, key remain_quota) as written in the database, without this replica's lease.
async fn stored(w: &V1World) -> (i64, i64) {
    let state = &w.gw.state;
    state.ledger.flush().await;
    let user = state.store.user_by_id(w.user_id).await.expect("db");
    let token = state.store.token_by_id(w.token_id).await.expect("db");
    (
        user.expect("user").quota,
        token.expect("token").remain_quota,
    )
}

async fn limited_world(env: &[(&str, &str)]) -> V1World {
    V1World::build(
        env,
        USER_QUOTA,
        json!({"name": "k", "remain_quota": KEY_QUOTA, "unlimited_quota": false}),
    )
    .await
}

async fn chats(w: &V1World, n: i64) {
    for _ in 0..n {
        let r = w.chat(chat_body("x")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_read_exact_while_a_lease_is_held_and_the_lease_goes_back_when_idle() {
    let w = limited_world(&[]).await;
    chats(&w, 3).await;
    let (user_quota, key_quota) = (USER_QUOTA - 3 * COST, KEY_QUOTA - 3 * COST);
    assert_eq!(w.user().await.quota, user_quota);
    assert_eq!(w.token().await.remain_quota, key_quota);
    let self_view = w.gw.get("/api/user/self", Some(&w.user_jwt)).await;
    assert_eq!(self_view.data()["quota"], user_quota);
    let key_view =
        w.gw.get(&format!("/api/token/{}", w.token_id), Some(&w.user_jwt))
            .await;
    assert_eq!(key_view.data()["remain_quota"], key_quota);

    let (stored_user, stored_key) = stored(&w).await;
    assert!(
        stored_user < user_quota && stored_key < key_quota,
        "the replica holds a lease: stored {stored_user}/{stored_key}"
    );
    let returned = wait_until(Duration::from_secs(5), || async {
        stored(&w).await == (user_quota, key_quota)
    })
    .await;
    assert!(returned, "idle leases went back: {:?}", stored(&w).await);
    assert_eq!(w.user().await.quota, user_quota);
    w.assert_ledger(USER_QUOTA).await;
}

/// The user's and the key's balance as the API shows them.
async fn shown(w: &V1World) -> (i64, i64) {
    let user = w.gw.get("/api/user/self", Some(&w.user_jwt)).await;
    let key =
        w.gw.get(&format!("/api/token/{}", w.token_id), Some(&w.user_jwt))
            .await;
    (
        user.data()["quota"].as_i64().expect("quota"),
        key.data()["remain_quota"].as_i64().expect("remain_quota"),
    )
}

/// Balances read over and over while idle leases go back read exact every time: a lease
/// handed to the writer between the database read and the addition of what the replica
/// holds used to be in neither, and the balance read short by the whole lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_read_while_idle_leases_go_back_are_exact_every_time() {
    let w = limited_world(&[]).await;
    for round in 1..=3 {
        chats(&w, 1).await;
        let exact = (USER_QUOTA - round * COST, KEY_QUOTA - round * COST);
        assert!(stored(&w).await.0 < exact.0, "the replica holds a lease");
        let mut reads = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // Two readers at once, until the leases are back in the database and a while after.
        loop {
            let (a, b) = tokio::join!(shown(&w), shown(&w));
            assert_eq!((a, b), (exact, exact), "round {round}, read {reads}");
            reads += 2;
            if stored(&w).await == exact || std::time::Instant::now() > deadline {
                break;
            }
        }
        assert_eq!(
            stored(&w).await,
            exact,
            "round {round}: the idle leases went back"
        );
        assert_eq!(shown(&w).await, exact);
    }
    w.assert_ledger(USER_QUOTA).await;
}

/// While a reader is adding what the replica holds to balances it read, idle leases stay
/// where they are; they go back once it is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_leases_wait_for_a_balance_read_in_progress() {
    let w = limited_world(&[]).await;
    chats(&w, 2).await;
    let quota = &w.gw.state.quota;
    let (user, key) = (Holder::User(w.user_id), Holder::Token(w.token_id));
    let steady = quota.steady().await;
    tokio::time::sleep(IDLE_RETURN * 2).await;
    assert!(
        quota.held(user) > 0 && quota.held(key) > 0,
        "a lease went back during a read"
    );
    drop(steady);
    let exact = (USER_QUOTA - 2 * COST, KEY_QUOTA - 2 * COST);
    let returned = wait_until(Duration::from_secs(5), || async {
        stored(&w).await == exact
    })
    .await;
    assert!(
        returned,
        "idle leases went back after the read: {:?}",
        stored(&w).await
    );
    assert_eq!((quota.held(user), quota.held(key)), (0, 0));
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_setting_a_balance_replaces_what_the_replica_holds() {
    let w = limited_world(&[]).await;
    chats(&w, 2).await;
    let r =
        w.gw.put(
            &format!("/api/user/{}", w.user_id),
            Some(&w.root),
            json!({"quota": 50_000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.data()["quota"], 50_000);
    let r =
        w.gw.put(
            &format!("/api/token/{}", w.token_id),
            Some(&w.user_jwt),
            json!({"remain_quota": 40_000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.data()["remain_quota"], 40_000);

    chats(&w, 1).await;
    assert_eq!(w.user().await.quota, 50_000 - COST);
    assert_eq!(w.token().await.remain_quota, 40_000 - COST);
    let settled = wait_until(Duration::from_secs(5), || async {
        stored(&w).await == (50_000 - COST, 40_000 - COST)
    })
    .await;
    assert!(settled, "stored balances: {:?}", stored(&w).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_leases_off_the_database_holds_every_balance_at_once() {
    let w = limited_world(&[("QUOTA_LEASE_REQUESTS", "0")]).await;
    chats(&w, 2).await;
    assert_eq!(
        stored(&w).await,
        (USER_QUOTA - 2 * COST, KEY_QUOTA - 2 * COST)
    );
    w.assert_ledger(USER_QUOTA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_gives_every_lease_back_and_writes_every_settlement() {
    assert_eq!(three_chats_then_a_graceful_stop().await, StopFigures::EXACT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_batch_retried_after_it_was_written_changes_nothing() {
    let w = limited_world(&[("QUOTA_LEASE_REQUESTS", "0")]).await;
    let store = &w.gw.state.store;
    let batch = [LedgerEntry::Return {
        holder: Holder::User(w.user_id),
        amount: 700,
        generation: store.generation(),
    }];
    assert!(!store.batch_written("batch-under-test").await.expect("db"));
    store
        .apply("batch-under-test", &batch)
        .await
        .expect("first write");
    assert!(store.batch_written("batch-under-test").await.expect("db"));
    // The retry of a batch whose answer was lost: refused whole, nothing applied twice.
    assert!(store.apply("batch-under-test", &batch).await.is_err());
    let user = store
        .user_by_id(w.user_id)
        .await
        .expect("db")
        .expect("user");
    assert_eq!(user.quota, USER_QUOTA + 700);
    // Another batch with the same effects but its own id is a different write.
    store
        .apply("another-batch", &batch)
        .await
        .expect("second batch");
    let user = store
        .user_by_id(w.user_id)
        .await
        .expect("db")
        .expect("user");
    assert_eq!(user.quota, USER_QUOTA + 1400);
}

/// How far a user's and a key's stored figures ended from the exact ones after a gateway
/// stopped gracefully (all zero when exact), and the requests the user was charged for.
#[derive(Debug, PartialEq, Eq)]
struct StopFigures {
    user_quota_off: i64,
    user_used_off: i64,
    key_quota_off: i64,
    key_used_off: i64,
    requests: i64,
}

impl StopFigures {
    const EXACT: StopFigures = StopFigures {
        user_quota_off: 0,
        user_used_off: 0,
        key_quota_off: 0,
        key_used_off: 0,
        requests: 3,
    };
}

/// Three chats while the replica holds leases, a graceful stop, then the figures read
/// straight from the database (the gateway is gone).
async fn three_chats_then_a_graceful_stop() -> StopFigures {
    let mut w = limited_world(&[]).await;
    chats(&w, 3).await;
    let (stored_user, _) = stored(&w).await;
    assert!(stored_user < USER_QUOTA - 3 * COST, "a lease is held");
    w.gw.stop().await;
    let store = &w.gw.state.store;
    let user = store
        .user_by_id(w.user_id)
        .await
        .expect("db")
        .expect("user");
    let token = store
        .token_by_id(w.token_id)
        .await
        .expect("db")
        .expect("token");
    StopFigures {
        user_quota_off: user.quota - (USER_QUOTA - 3 * COST),
        user_used_off: user.used_quota - 3 * COST,
        key_quota_off: token.remain_quota - (KEY_QUOTA - 3 * COST),
        key_used_off: token.used_quota - 3 * COST,
        requests: user.request_count,
    }
}

/// Several gateways stopping at once: connections their HTTP workers opened must not be
/// what the last settlements are written on (a commit whose answer is lost with a dying
/// worker was retried and applied twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateways_stopping_together_each_write_their_settlements_exactly_once() {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..6 {
        set.spawn(three_chats_then_a_graceful_stop());
    }
    let mut off = Vec::new();
    while let Some(r) = set.join_next().await {
        let r = r.expect("gateway task");
        if r != StopFigures::EXACT {
            off.push(r);
        }
    }
    assert!(off.is_empty(), "{off:?}");
}
