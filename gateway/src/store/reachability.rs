//! Fails fast while the database is unreachable.
//!
//! Reaching a database that is down costs time: sqlx retries a refused connection until
//! its acquire timeout, D1's client retries the connect. Paid once per query, a request
//! that reads three cached rows would wait for each of them before its answer or its 503.
//! After a query finds the database unreachable, every query fails at once for a short
//! while; then one query at a time is let through as a probe, and the first that succeeds
//! ends the outage for everyone.

use super::sql::{DbError, Query, Row, SqlBackend};
use async_trait::async_trait;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long queries fail at once after the database was found unreachable, before the
/// next one tries it again.
pub const RETRY_AFTER: Duration = Duration::from_millis(500);

pub struct Reachability {
    inner: Arc<dyn SqlBackend>,
    /// When the database was last found unreachable; `None` while it answers.
    down_since: Mutex<Option<Instant>>,
    /// One probe at a time while it is down.
    probing: AtomicBool,
}

/// What a query may do now.
enum Pass {
    /// The database answers: go ahead.
    Open,
    /// It is down and this query is the probe.
    Probe,
    /// It is down: fail now.
    Refuse,
}

impl Reachability {
    pub fn new(inner: Arc<dyn SqlBackend>) -> Self {
        Reachability {
            inner,
            down_since: Mutex::new(None),
            probing: AtomicBool::new(false),
        }
    }

    fn down_since(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.down_since.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pass(&self) -> Pass {
        let Some(since) = *self.down_since() else {
            return Pass::Open;
        };
        if since.elapsed() >= RETRY_AFTER
            && self
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Pass::Probe;
        }
        Pass::Refuse
    }

    async fn guarded<T, F>(&self, call: impl FnOnce(Arc<dyn SqlBackend>) -> F) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, DbError>>,
    {
        let _probe = match self.pass() {
            Pass::Refuse => {
                return Err(DbError::Unavailable(
                    "the database was unreachable moments ago; not retried yet".into(),
                ))
            }
            // Ends the probe however this call ends, also when its caller gives up on it.
            Pass::Probe => Some(ProbeTurn(&self.probing)),
            Pass::Open => None,
        };
        let result = call(self.inner.clone()).await;
        let mut since = self.down_since();
        match &result {
            Err(DbError::Unavailable(_)) => {
                if since.is_none() {
                    log::warn!(
                        "database unreachable: queries fail at once, one tries again every {RETRY_AFTER:?}"
                    );
                }
                *since = Some(Instant::now());
            }
            // Any answer, even a refusal, means the database is reachable.
            _ => {
                if since.take().is_some() {
                    log::warn!("database reachable again");
                }
            }
        }
        result
    }
}

struct ProbeTurn<'a>(&'a AtomicBool);

impl Drop for ProbeTurn<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
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
        self.guarded(|db| async move { db.batch(qs).await }).await
    }
}
