//! A replica taken for dead while it was only cut off from the database. From the
//! database's side that looks like any other replica whose heartbeat went stale: another
//! replica returns its leases. Here replica `a` is recovered by replica `b` while `a` is
//! alive and serving (what a cut longer than `REPLICA_STALE_SECS` comes to once `a` is
//! back). Until its next heartbeat tells it, `a` keeps answering from the leases in its
//! memory and its writer may still hold settlements of the gone registration; those are
//! charged once, from the balance itself, and nothing `a` held goes back a second time.
//! After `a` registered again it serves as before. On every backend of the suite.

use gateway::store::ledger::Holder;
use integration_tests::gateway_support::{TestGateway, ADMIN_PASSWORD};
use integration_tests::mock_upstream::MockUpstream;
use integration_tests::test_db;
use integration_tests::v1_support::wait_until;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

const BALANCE: i64 = 1_000_000;
const KEY_BUDGET: i64 = 500_000;

/// Two replicas on one database, a channel to the mock, a limited key.
struct World {
    a: TestGateway,
    b: TestGateway,
    jwt: String,
    key_id: i64,
    key: String,
    _mock: MockUpstream,
    _d1_lease: Option<test_db::D1Lease>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, d1_lease) = test_db::fresh_database(dir.path()).await;
        let base = [
            ("DATABASE_URL", url.as_str()),
            ("INITIAL_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ];
        // Settlements may wait up to 10 s in a's writer (flushes hurry it), so a recovery
        // finds some still queued; its heartbeat (every second) notices within a second.
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
        World {
            a,
            b,
            jwt,
            key_id,
            key,
            _mock: mock,
            _d1_lease: d1_lease,
            _dir: dir,
        }
    }

    /// One chat through `a`, which must be answered: a take that finds the registration
    /// gone registers anew and takes again.
    async fn chat(&self) {
        let a = &self.a;
        let r = a
            .send(
                a.client
                    .post(format!("{}/v1/chat/completions", a.url))
                    .bearer_auth(&self.key)
                    .json(&json!({"model": "gpt-4o", "max_tokens": 16,
                        "messages": [{"role": "user", "content": "hi"}]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    async fn chats(&self, n: usize) -> usize {
        for _ in 0..n {
            self.chat().await;
        }
        n
    }

    /// `b` returns `a`'s leases as if `a` were dead; what `a` had outstanding.
    async fn recover_a(&self) -> i64 {
        let id = self.a.state.store.replica_id().to_string();
        self.b
            .state
            .store
            .recover_replica(&id, i64::MAX)
            .await
            .expect("db")
    }

    async fn wait_for_new_registration(&self, before: i64) {
        let again = wait_until(Duration::from_secs(10), || async {
            self.a.state.store.generation() != before
        })
        .await;
        assert!(again, "a registered again at its next heartbeat");
    }

    /// Once every settlement is written and every idle lease is back, the database alone
    /// must balance: one log row per answer, the logs add up to what was used, and the
    /// user and the key paid each answer exactly once.
    async fn assert_books(&self, answered: usize) {
        let a = &self.a;
        let settled = wait_until(Duration::from_secs(20), || async {
            a.state.ledger.flush().await;
            let quota = &a.state.quota;
            a.state.ledger.pending() == 0
                && quota.held(Holder::User(1)) == 0
                && quota.held(Holder::Token(self.key_id)) == 0
        })
        .await;
        assert!(settled, "a's settlements written and its leases given back");
        let store = &self.b.state.store;
        let user = store.user_by_id(1).await.expect("db").expect("root user");
        let token = store
            .token_by_id(self.key_id)
            .await
            .expect("db")
            .expect("key");
        let rows = logs(&self.b, &self.jwt).await;
        let logged: i64 = rows
            .iter()
            .map(|l| l["quota"].as_i64().expect("quota"))
            .sum();
        let served = rows.iter().filter(|l| l["status_code"] == 200).count();
        assert_eq!(served, answered, "one log row per answer");
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
}

/// Every log row, through `gw`'s admin API.
async fn logs(gw: &TestGateway, jwt: &str) -> Vec<serde_json::Value> {
    let mut rows = Vec::new();
    for page in 1.. {
        let r = gw
            .get(&format!("/api/log?page_size=100&p={page}"), Some(jwt))
            .await;
        let items = r.data()["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        rows.extend(items);
    }
    rows
}

/// Settlements queued at the recovery, answers served from the recovered leases, answers
/// after the new registration, one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_recovered_while_alive_charges_its_late_settlements_once() {
    let w = World::new().await;
    let before = w.a.state.store.generation();
    let mut answered = w.chats(3).await;
    assert!(
        w.a.state.ledger.pending() > 0,
        "settlements were still queued at the recovery"
    );
    assert!(
        w.recover_a().await > 0,
        "a held leases when it was recovered"
    );
    answered += w.chats(3).await;
    w.wait_for_new_registration(before).await;
    answered += w.chats(3).await;
    w.assert_books(answered).await;
}

/// The same while eight clients keep `a` busy: the recovery lands in the middle of takes,
/// settlements and batches being written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_recovered_under_load_keeps_the_books_exact() {
    let w = World::new().await;
    let before = w.a.state.store.generation();
    let stop = Instant::now() + Duration::from_secs(4);
    let load = futures_util::future::join_all((0..8).map(|_| async {
        let mut answered = 0;
        while Instant::now() < stop {
            w.chat().await;
            answered += 1;
        }
        answered
    }));
    let recover = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        w.recover_a().await
    };
    let (answered, returned) = tokio::join!(load, recover);
    let answered: usize = answered.into_iter().sum();
    assert!(returned > 0, "a held leases when it was recovered");
    w.wait_for_new_registration(before).await;
    let answered = answered + w.chats(2).await;
    assert!(answered > 20, "only {answered} answered");
    w.assert_books(answered).await;
}
