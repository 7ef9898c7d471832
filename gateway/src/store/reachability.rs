//! Fails fast while the database is unreachable.
//!
//! Reaching a database that is down costs time: sqlx retries a refused connection until
//! its acquire timeout, D1's client retries the connect. Paid once per query, a request
//! that reads three cached rows would wait for each of them before its answer or its 503.
//! Once a query finds the database unreachable, every query fails at once and a
//! background check asks the database every `RETRY_AFTER`; its first answer ends the
//! outage for everyone.

use super::sql::{DbError, Query, Row, SqlBackend};
use async_trait::async_trait;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// How often the database is asked again while it is unreachable.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);

pub struct Reachability {
    inner: Arc<dyn SqlBackend>,
    down: Arc<AtomicBool>,
    /// How often the database was found answering again after an outage. A query that
    /// began before the last return and failed after it reports the outage that is over
    /// (a request sent to a dead server that only gave up later), not a new one.
    returns: Arc<AtomicU64>,
    /// Queries under way and when each began: before the first one fails (a connect to a
    /// dead server can take the whole acquire timeout), a long wait is the only sign.
    pending: Pending,
    /// The runtime that outlives every request, for the background check.
    owner: Handle,
}

impl Reachability {
    /// Wraps `inner`; the background check runs on the current runtime.
    pub fn new(inner: Arc<dyn SqlBackend>) -> Self {
        Reachability {
            inner,
            down: Arc::new(AtomicBool::new(false)),
            returns: Arc::default(),
            pending: Pending::default(),
            owner: Handle::current(),
        }
    }

    /// Whether the database was found unreachable and has not answered since.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    async fn guarded<T, F>(&self, call: impl FnOnce(Arc<dyn SqlBackend>) -> F) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        self.guarded_as(Failure::Outage, call).await
    }

    async fn guarded_as<T, F>(
        &self,
        failure: Failure,
        call: impl FnOnce(Arc<dyn SqlBackend>) -> F,
    ) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        if self.is_down() {
            return Err(DbError::Unavailable(
                "the database is unreachable (checked again every 500 ms)".into(),
            ));
        }
        let began = self.returns.load(Ordering::Acquire);
        let result = {
            let _waiting = self.pending.begin();
            call(self.inner.clone()).await
        };
        if matches!(result, Err(DbError::Unavailable(_)))
            && self.returns.load(Ordering::Acquire) == began
            && !self.is_down()
        {
            let outage = Outage {
                owner: self.owner.clone(),
                db: self.inner.clone(),
                down: self.down.clone(),
                returns: self.returns.clone(),
                began,
            };
            match failure {
                Failure::Outage => outage.begin(),
                Failure::Confirm => {
                    self.owner.spawn(outage.confirm());
                }
            }
        }
        result
    }
}

/// What a query's `Unavailable` says about the database.
#[derive(Clone, Copy)]
enum Failure {
    /// It is unreachable: every query fails at once from now on.
    Outage,
    /// Maybe only this call failed: a batch of many statements (the settlement writer's,
    /// a backlog written after an outage) can fail on its own, e.g. a 5xx from D1's worker
    /// for one long request, while the database answers everything else. The database
    /// is taken for unreachable only if a probe right after fails too; the batch's
    /// writer retries it either way.
    Confirm,
}

/// An outage about to begin, as seen by the query that failed.
struct Outage {
    owner: Handle,
    db: Arc<dyn SqlBackend>,
    down: Arc<AtomicBool>,
    returns: Arc<AtomicU64>,
    /// `returns` when the failed query began.
    began: u64,
}

impl Outage {
    fn begin(self) {
        if self.returns.load(Ordering::Acquire) != self.began
            || self.down.swap(true, Ordering::AcqRel)
        {
            return;
        }
        log::warn!("database unreachable: queries fail at once until it answers again");
        self.owner
            .spawn(wait_until_reachable(self.db, self.down, self.returns));
    }

    async fn confirm(self) {
        if let Err(DbError::Unavailable(e)) = self.db.fetch_all(Query::new("SELECT 1")).await {
            log::debug!("a failed batch, and the probe after it failed too: {e}");
            self.begin();
        } else {
            log::warn!("a batch failed as if the database were unreachable, but it answers");
        }
    }
}

/// The start of every query under way (a dropped query's future removes its own).
#[derive(Default)]
struct Pending {
    started: std::sync::Mutex<(u64, std::collections::BTreeMap<u64, std::time::Instant>)>,
}

impl Pending {
    fn begin(&self) -> PendingGuard<'_> {
        let mut g = self.lock();
        let id = g.0;
        g.0 = g.0.wrapping_add(1);
        g.1.insert(id, std::time::Instant::now());
        PendingGuard { pending: self, id }
    }

    fn waiting_longer_than(&self, limit: Duration) -> bool {
        self.lock().1.values().any(|t| t.elapsed() > limit)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, (u64, std::collections::BTreeMap<u64, std::time::Instant>)> {
        self.started
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct PendingGuard<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.pending.lock().1.remove(&self.id);
    }
}

/// Asks the database every `RETRY_AFTER` until it answers, then lets queries through.
async fn wait_until_reachable(
    db: Arc<dyn SqlBackend>,
    down: Arc<AtomicBool>,
    returns: Arc<AtomicU64>,
) {
    loop {
        tokio::time::sleep(RETRY_AFTER).await;
        match db.fetch_all(Query::new("SELECT 1")).await {
            Err(DbError::Unavailable(_)) => continue,
            // Any answer, even a refusal, means the database is reachable.
            _ => break,
        }
    }
    returns.fetch_add(1, Ordering::AcqRel);
    down.store(false, Ordering::Release);
    log::warn!("database reachable again");
}

#[async_trait]
impl SqlBackend for Reachability {
    async fn execute(&self, q: Query) -> Result<u64, DbError> {
        self.guarded(|db| async move { db.execute(q).await }).await
    }

    async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, DbError> {
        self.guarded(|db| async move { db.fetch_all(q).await })
            .await
    }

    async fn batch(&self, qs: Vec<Query>) -> Result<(), DbError> {
        self.guarded_as(Failure::Confirm, |db| async move { db.batch(qs).await })
            .await
    }

    async fn batch_returns_row(&self, qs: Vec<Query>) -> Result<bool, DbError> {
        self.guarded(|db| async move { db.batch_returns_row(qs).await })
            .await
    }

    fn postgres(&self) -> bool {
        self.inner.postgres()
    }

    fn in_doubt(&self) -> bool {
        self.is_down() || self.pending.waiting_longer_than(RETRY_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A backend that is reachable or not, counting the queries that reach it.
    #[derive(Default)]
    struct Switch {
        up: AtomicBool,
        reached: AtomicUsize,
        /// Batches fail as if the database were unreachable even while it is up.
        batches_fail: AtomicBool,
    }

    #[async_trait]
    impl SqlBackend for Switch {
        async fn execute(&self, _: Query) -> Result<u64, DbError> {
            self.reached.fetch_add(1, Ordering::SeqCst);
            if self.up.load(Ordering::SeqCst) {
                Ok(0)
            } else {
                Err(DbError::Unavailable("connection refused".into()))
            }
        }
        async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, DbError> {
            self.execute(q).await.map(|_| Vec::new())
        }
        async fn batch(&self, _: Vec<Query>) -> Result<(), DbError> {
            if self.batches_fail.load(Ordering::SeqCst) {
                return Err(DbError::Unavailable("502 from the worker".into()));
            }
            self.execute(Query::new("")).await.map(|_| ())
        }
        async fn batch_returns_row(&self, _: Vec<Query>) -> Result<bool, DbError> {
            self.execute(Query::new("")).await.map(|_| false)
        }
        fn postgres(&self) -> bool {
            false
        }

        fn in_doubt(&self) -> bool {
            false
        }
    }

    /// A backend that never answers.
    struct Silent;

    #[async_trait]
    impl SqlBackend for Silent {
        async fn execute(&self, _: Query) -> Result<u64, DbError> {
            std::future::pending().await
        }
        async fn fetch_all(&self, _: Query) -> Result<Vec<Row>, DbError> {
            std::future::pending().await
        }
        async fn batch(&self, _: Vec<Query>) -> Result<(), DbError> {
            std::future::pending().await
        }
        async fn batch_returns_row(&self, _: Vec<Query>) -> Result<bool, DbError> {
            std::future::pending().await
        }
        fn postgres(&self) -> bool {
            false
        }
        fn in_doubt(&self) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn a_query_waiting_long_puts_the_database_in_doubt_until_it_ends() {
        let guard = Arc::new(Reachability::new(Arc::new(Silent)));
        assert!(!guard.in_doubt());
        let waiting = guard.clone();
        let query = tokio::spawn(async move { waiting.execute(Query::new("x")).await });
        tokio::time::sleep(RETRY_AFTER / 2).await;
        assert!(!guard.in_doubt(), "a short wait is normal");
        tokio::time::sleep(RETRY_AFTER).await;
        assert!(guard.in_doubt());
        query.abort();
        let _ = query.await;
        assert!(!guard.in_doubt(), "a query given up on no longer counts");
    }

    #[tokio::test]
    async fn queries_fail_at_once_while_down_and_pass_again_once_it_answers() {
        let db = Arc::new(Switch::default());
        let guard = Reachability::new(db.clone());
        assert!(guard.execute(Query::new("x")).await.is_err());
        assert!(guard.is_down());
        let reached = db.reached.load(Ordering::SeqCst);
        for _ in 0..10 {
            assert!(matches!(
                guard.execute(Query::new("x")).await,
                Err(DbError::Unavailable(_))
            ));
        }
        assert_eq!(
            db.reached.load(Ordering::SeqCst),
            reached,
            "refused without asking the database"
        );
        db.up.store(true, Ordering::SeqCst);
        tokio::time::sleep(RETRY_AFTER * 3).await;
        assert!(!guard.is_down(), "the background check saw it answer");
        assert!(guard.execute(Query::new("x")).await.is_ok());
    }

    /// A query that is only answered when let go, then as unreachable.
    #[derive(Default)]
    struct Hanging {
        go: tokio::sync::Notify,
    }

    #[async_trait]
    impl SqlBackend for Hanging {
        async fn execute(&self, _: Query) -> Result<u64, DbError> {
            self.go.notified().await;
            Err(DbError::Unavailable("timed out".into()))
        }
        async fn fetch_all(&self, _: Query) -> Result<Vec<Row>, DbError> {
            Ok(Vec::new())
        }
        async fn batch(&self, _: Vec<Query>) -> Result<(), DbError> {
            Ok(())
        }
        async fn batch_returns_row(&self, _: Vec<Query>) -> Result<bool, DbError> {
            Ok(false)
        }
        fn postgres(&self) -> bool {
            false
        }
        fn in_doubt(&self) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn a_query_sent_during_an_outage_that_fails_after_it_ended_starts_no_new_one() {
        let db = Arc::new(Hanging::default());
        let guard = Arc::new(Reachability::new(db.clone()));
        let stale = {
            let guard = guard.clone();
            tokio::spawn(async move { guard.execute(Query::new("sent during the outage")).await })
        };
        tokio::time::sleep(RETRY_AFTER / 5).await;
        // Another query finds the database unreachable; the check then sees it answer.
        guard.down.store(true, Ordering::SeqCst);
        tokio::spawn(wait_until_reachable(
            db.clone(),
            guard.down.clone(),
            guard.returns.clone(),
        ));
        tokio::time::sleep(RETRY_AFTER * 3).await;
        assert!(!guard.is_down(), "the database answers again");
        db.go.notify_one();
        let failed = stale.await.expect("task");
        assert!(matches!(failed, Err(DbError::Unavailable(_))));
        assert!(
            !guard.is_down(),
            "the late failure of a query sent before the return is not a new outage"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_marks_the_database_down_only_when_a_probe_fails_too() {
        let db = Arc::new(Switch::default());
        db.up.store(true, Ordering::SeqCst);
        db.batches_fail.store(true, Ordering::SeqCst);
        let r = Reachability::new(db.clone());
        assert!(r.batch(vec![Query::new("x")]).await.is_err());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!r.is_down(), "the probe after the batch was answered");
        assert!(r.fetch_all(Query::new("SELECT 1")).await.is_ok());

        db.up.store(false, Ordering::SeqCst);
        assert!(r.batch(vec![Query::new("x")]).await.is_err());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !r.is_down() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "a failed batch and a failed probe begin an outage"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A failed read needs no probe: it begins the outage itself.
        let db = Arc::new(Switch::default());
        let r = Reachability::new(db.clone());
        assert!(r.fetch_all(Query::new("x")).await.is_err());
        assert!(r.is_down());
    }
}
