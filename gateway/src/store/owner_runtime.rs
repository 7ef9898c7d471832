//! Runs every database call on the runtime that opened the store.
//!
//! actix-web serves requests on worker threads, each with a runtime of its own. A pooled
//! connection (a PostgreSQL socket, a D1 HTTP connection) belongs to the runtime that
//! opened it, so connections opened while serving requests die with their worker when the
//! server stops, and the shutdown's last settlements then fail on them: a commit whose
//! answer can no longer be read looks like a failure although it happened, and a retry
//! applied it twice (the graceful-stop accounting flake). Opening and using every
//! connection on the store's own runtime, which outlives the HTTP workers, removes that.

use super::sql::{DbError, Query, Row, SqlBackend};
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;
use tokio::runtime::Handle;

pub struct OwnerRuntime {
    inner: Arc<dyn SqlBackend>,
    owner: Handle,
}

impl OwnerRuntime {
    /// Wraps `inner`; calls run on the current runtime from now on.
    pub fn new(inner: Arc<dyn SqlBackend>) -> Self {
        OwnerRuntime {
            inner,
            owner: Handle::current(),
        }
    }

    async fn on_owner<T, F>(
        &self,
        call: impl FnOnce(Arc<dyn SqlBackend>) -> F,
    ) -> Result<T, DbError>
    where
        F: Future<Output = Result<T, DbError>> + Send + 'static,
        T: Send + 'static,
    {
        self.owner
            .spawn(call(self.inner.clone()))
            .await
            .map_err(|e| DbError::Other(format!("database task ended: {e}")))?
    }
}

#[async_trait]
impl SqlBackend for OwnerRuntime {
    async fn execute(&self, q: Query) -> Result<u64, DbError> {
        self.on_owner(|db| async move { db.execute(q).await }).await
    }

    async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, DbError> {
        self.on_owner(|db| async move { db.fetch_all(q).await })
            .await
    }

    async fn batch(&self, qs: Vec<Query>) -> Result<(), DbError> {
        self.on_owner(|db| async move { db.batch(qs).await }).await
    }

    async fn batch_returns_row(&self, qs: Vec<Query>) -> Result<bool, DbError> {
        self.on_owner(|db| async move { db.batch_returns_row(qs).await })
            .await
    }

    fn postgres(&self) -> bool {
        self.inner.postgres()
    }

    fn in_doubt(&self) -> bool {
        self.inner.in_doubt()
    }
}
