//! What an outage run measured, the claims checked on it, and the accounts afterwards.

use super::load::{Kind, Sample};
use super::KEY_QUOTA;
use gateway::services::dispatch::ledger::MAX_BACKLOG;
use gateway::store::ledger::Holder;
use integration_tests::v1_support::{V1World, USER_QUOTA};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A request that needs the database gets its 503 within this.
const FAIL_FAST: Duration = Duration::from_secs(5);
/// `/health` answers 503 within a second (plus scheduling slack on a loaded machine).
const HEALTH_WITHIN: Duration = Duration::from_millis(1500);
/// Every request succeeds again this soon after the database is back.
const RECOVERS_WITHIN: Duration = Duration::from_secs(10);
/// A lease holding this much pays for many more requests (one `chat_body` reservation is
/// well under 100), so a request sent while both leases hold it needs no database.
const LEASE_PAYS: i64 = 2_000;

/// Quota this replica holds for the user and the key, and the settlement backlog.
#[derive(Debug, Clone, Copy)]
pub struct LeaseState {
    pub at: Duration,
    pub user: i64,
    pub key: i64,
    pub backlog: usize,
}

/// Samples the leases every 50 ms.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<LeaseState>>,
}

impl Monitor {
    pub fn start(w: &V1World, started: Instant) -> Self {
        let state = w.gw.state.clone();
        let (user, key) = (Holder::User(w.user_id), Holder::Token(w.token_id));
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                seen.push(LeaseState {
                    at: started.elapsed(),
                    user: state.quota.held(user),
                    key: state.quota.held(key),
                    backlog: state.ledger.backlog(),
                });
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        });
        Monitor { stop, task }
    }

    pub async fn finish(self) -> Vec<LeaseState> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("monitor")
    }
}

/// One run: every answer, the leases over time, and when the database went and came.
pub struct Figures {
    pub samples: Vec<Sample>,
    pub leases: Vec<LeaseState>,
    /// `pg_ctl stop -m immediate` / SIGKILL sent, and returned.
    pub killed_at: Duration,
    pub down_at: Duration,
    /// Restart asked, and the database answering again.
    pub restart_at: Duration,
    pub up_at: Duration,
}

fn is_v1(s: &Sample) -> bool {
    matches!(s.kind, Kind::Chat | Kind::Stream)
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

impl Figures {
    /// Requests sent while the database was down, early enough that it stayed down for
    /// as long as they may take to be refused: a request that hangs until the database
    /// is back is counted here, not left out.
    fn during(&self) -> impl Iterator<Item = &Sample> {
        self.samples
            .iter()
            .filter(|s| s.sent >= self.down_at && s.sent + FAIL_FAST <= self.restart_at)
    }

    fn before(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(|s| s.ended() < self.killed_at)
    }

    /// The leases as last sampled at or before `at`.
    fn lease_at(&self, at: Duration) -> Option<LeaseState> {
        self.leases.iter().rev().find(|l| l.at <= at).copied()
    }

    /// A `/v1` request the held leases could pay for, with room in the settlement queue,
    /// from when it was sent to when it was answered.
    fn payable_from_lease(&self, s: &Sample) -> bool {
        let payable = |at| {
            self.lease_at(at).is_some_and(|l: LeaseState| {
                l.user >= LEASE_PAYS && l.key >= LEASE_PAYS && l.backlog < MAX_BACKLOG
            })
        };
        payable(s.sent) && payable(s.ended())
    }

    /// When `/v1` requests last failed after the database came back, from `up_at`.
    fn recovery(&self) -> Duration {
        self.samples
            .iter()
            .filter(|s| is_v1(s) && s.sent >= self.restart_at && s.status != 200)
            .map(|s| s.ended().saturating_sub(self.up_at))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn latencies(&self, kind: fn(&Sample) -> bool, status: u16) -> Vec<Duration> {
        self.during()
            .filter(|s| kind(s) && s.status == status)
            .map(|s| s.took)
            .collect()
    }

    /// The measured figures, for the log and `docs/reliability.md`.
    pub fn report(&self, backend: &str) {
        let v1_before = self.before().filter(|s| is_v1(s)).count();
        let rate = v1_before as f64 / self.killed_at.as_secs_f64();
        let refused = self.latencies(is_v1, 503);
        let api = self.latencies(|s| s.kind == Kind::Api, 503);
        let health = self.latencies(|s| s.kind == Kind::Health, 503);
        let served = self
            .during()
            .filter(|s| is_v1(s) && s.status == 200)
            .count();
        let last_served = self
            .during()
            .filter(|s| is_v1(s) && s.status == 200)
            .map(|s| s.ended().saturating_sub(self.down_at))
            .max()
            .unwrap_or_default();
        let peak_backlog = self.leases.iter().map(|l| l.backlog).max().unwrap_or(0);
        let total = self.samples.iter().filter(|s| is_v1(s)).count();
        let ok = self
            .samples
            .iter()
            .filter(|s| is_v1(s) && s.status == 200)
            .count();
        println!(
            "OUTAGE FIGURES [{backend}]: load {rate:.0} /v1 requests/s before the outage \
             (3 streaming + 3 non-streaming callers, /api and /health probes every 250 ms); \
             database down {:.1} s (killed at {:.1} s, answering again at {:.1} s); \
             /v1 during the outage: {served} answered 200 from held leases (last {:.1} s \
             into the outage), {} refused 503 in p50 {} ms / p95 {} ms / max {} ms; \
             /api 503 p50 {} ms / max {} ms ({}); /health 503 max {} ms ({}); \
             peak settlement backlog {peak_backlog}; /v1 fully recovered {} ms after the \
             database answered; {total} /v1 requests in all, {ok} answered 200",
            (self.up_at - self.down_at).as_secs_f64(),
            self.killed_at.as_secs_f64(),
            self.up_at.as_secs_f64(),
            last_served.as_secs_f64(),
            refused.len(),
            ms(percentile(refused.clone(), 0.5)),
            ms(percentile(refused.clone(), 0.95)),
            ms(percentile(refused, 1.0)),
            ms(percentile(api.clone(), 0.5)),
            ms(percentile(api.clone(), 1.0)),
            api.len(),
            ms(percentile(health.clone(), 1.0)),
            health.len(),
            ms(self.recovery()),
        );
    }

    /// Everything a user must see before, during and after the outage.
    pub fn assert_all(&self) {
        let mut wrong = Vec::new();
        for s in self.samples.iter().filter(|s| s.status == 0) {
            wrong.push(format!("no answer: {s:?}"));
        }
        for s in self.before() {
            if s.status != 200 || !s.complete {
                wrong.push(format!("before the outage: {s:?}"));
            }
        }
        let mut served = 0;
        let mut payable = 0;
        for s in self.during() {
            match (s.kind, s.status) {
                (Kind::Chat | Kind::Stream, 200) if s.complete => served += 1,
                (Kind::Chat | Kind::Stream, 503)
                    if s.code == "database_unavailable" && s.message.contains("database") => {}
                (Kind::Api, 503) if s.message.contains("database") => {}
                (Kind::Health, 503) if s.message.contains("unreachable") => {}
                _ => wrong.push(format!("during the outage: {s:?}")),
            }
            let limit = if s.kind == Kind::Health {
                HEALTH_WITHIN
            } else {
                FAIL_FAST
            };
            if s.status != 200 && s.took > limit {
                wrong.push(format!("{}: took over {limit:?}: {s:?}", s.status));
            }
            if is_v1(s) && self.payable_from_lease(s) {
                payable += 1;
                if s.status != 200 {
                    wrong.push(format!("refused although the leases could pay: {s:?}"));
                }
            }
        }
        let held_at_kill = self.lease_at(self.down_at);
        if held_at_kill.is_some_and(|l| l.user >= LEASE_PAYS && l.key >= LEASE_PAYS)
            && (payable == 0 || served == 0)
        {
            let trace: Vec<_> = self
                .leases
                .iter()
                .filter(|l| l.at >= self.killed_at && l.at <= self.down_at + Duration::from_secs(2))
                .collect();
            wrong.push(format!(
                "the leases held {held_at_kill:?} when the database went, yet {served} requests were served; leases then: {trace:?}"
            ));
        }
        let recovered_by = self.up_at + RECOVERS_WITHIN;
        for s in self.samples.iter().filter(|s| s.sent >= recovered_by) {
            if s.status != 200 || !s.complete {
                wrong.push(format!("after recovery: {s:?}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} wrong answers (first 20):\n{}",
            wrong.len(),
            wrong[..wrong.len().min(20)].join("\n")
        );
    }
}

/// Every log row, read through the export (the admin's view).
async fn all_log_rows(w: &V1World) -> Vec<Value> {
    let r =
        w.gw.get("/api/log/export?format=jsonl", Some(&w.root))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn sum_quota<'a>(rows: impl Iterator<Item = &'a Value>) -> i64 {
    rows.map(|r| r["quota"].as_i64().expect("quota")).sum()
}

/// After recovery, without restarting the gateway: every answered request has exactly one
/// log row, and balance + logged quota = starting balance for the user and the key, both
/// as the API shows them and as stored once the idle leases went back.
pub async fn assert_accounts_add_up(w: &V1World, f: &Figures) {
    let state = &w.gw.state;
    let drained = integration_tests::v1_support::wait_until(Duration::from_secs(60), || async {
        state.ledger.pending() == 0
    })
    .await;
    assert!(
        drained,
        "settlements still queued: {}",
        state.ledger.pending()
    );
    let rows = all_log_rows(w).await;
    let mut by_request: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *by_request
            .entry(r["request_id"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    let twice: Vec<_> = by_request.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "log rows written twice: {twice:?}");
    let answered: Vec<&Sample> = f
        .samples
        .iter()
        .filter(|s| is_v1(s) && s.status == 200)
        .collect();
    let unlogged: Vec<_> = answered
        .iter()
        .filter(|s| {
            s.request_id
                .as_deref()
                .is_none_or(|id| !by_request.contains_key(id))
        })
        .collect();
    println!(
        "OUTAGE ACCOUNTS: {} requests answered 200, {} without a log row, {} log rows",
        answered.len(),
        unlogged.len(),
        rows.len()
    );
    assert!(
        unlogged.is_empty(),
        "answered without a log row: {unlogged:?}"
    );

    let user_logged = sum_quota(rows.iter().filter(|r| r["user_id"] == w.user_id));
    let key_logged = sum_quota(rows.iter().filter(|r| r["token_id"] == w.token_id));
    let user = w.user().await;
    let key = w.token().await;
    assert_eq!(user.quota + user_logged, USER_QUOTA, "user: shown + logged");
    assert_eq!(user.used_quota, user_logged, "user: used = logged");
    assert_eq!(
        key.remain_quota + key_logged,
        KEY_QUOTA,
        "key: shown + logged"
    );
    assert_eq!(key.used_quota, key_logged, "key: used = logged");

    // The idle leases go back; then the database alone holds the exact balances.
    let (user_h, key_h) = (Holder::User(w.user_id), Holder::Token(w.token_id));
    let returned = integration_tests::v1_support::wait_until(Duration::from_secs(15), || async {
        state.quota.held(user_h) == 0 && state.quota.held(key_h) == 0
    })
    .await;
    assert!(returned, "the leases were not given back");
    state.ledger.flush().await;
    let stored_user = state.store.user_by_id(w.user_id).await.expect("db");
    let stored_key = state.store.token_by_id(w.token_id).await.expect("db");
    assert_eq!(
        stored_user.expect("user").quota + user_logged,
        USER_QUOTA,
        "user as stored"
    );
    assert_eq!(
        stored_key.expect("key").remain_quota + key_logged,
        KEY_QUOTA,
        "key as stored"
    );
}
