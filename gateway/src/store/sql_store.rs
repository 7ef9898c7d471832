//! The `Store` implementation shared by every backend.

use super::sql::{Query, Row, SqlBackend};
use super::{Paged, StoreResult};
use std::sync::Arc;

pub struct SqlStore {
    pub(crate) db: Arc<dyn SqlBackend>,
    /// This process's id in `replicas`: the owner of the quota leases it records.
    pub(crate) replica: String,
    /// The generation of this replica's current registration (`store/replicas.rs`).
    pub(crate) generation: std::sync::atomic::AtomicI64,
    /// Most parameters one statement may bind (D1 allows 100).
    pub(crate) bind_limit: usize,
}

/// Parameters per statement on SQLite (its own limit is 32,766) and PostgreSQL (65,535):
/// what multi-row INSERTs stay under.
pub const SQL_BIND_LIMIT: usize = 1000;
/// Cloudflare D1's bound-parameter limit per statement.
pub const D1_BIND_LIMIT: usize = 100;

impl SqlStore {
    pub fn new(db: Arc<dyn SqlBackend>, replica: String, bind_limit: usize) -> Self {
        SqlStore {
            db,
            replica,
            generation: std::sync::atomic::AtomicI64::new(0),
            bind_limit,
        }
    }

    /// One page of `SELECT {columns}{filter} ORDER BY {order}` plus the filter's total.
    /// `filter` is the `FROM … WHERE …` part with its parameters; `order` is fixed text.
    pub(crate) async fn paged<T>(
        &self,
        columns: &str,
        filter: Query,
        order: &str,
        page: Page,
        map: fn(&Row) -> T,
    ) -> StoreResult<Paged<T>> {
        let count = Query::with_params(
            format!("SELECT COUNT(*) AS n{}", filter.sql),
            filter.params.clone(),
        );
        let total = self
            .db
            .fetch_optional(count)
            .await?
            .map_or(0, |r| r.i64("n"));
        let mut list = Query::with_params(
            format!("SELECT {columns}{} ORDER BY {order} LIMIT ", filter.sql),
            filter.params,
        );
        list.push_bind(page.size)
            .push(" OFFSET ")
            .push_bind(page.offset());
        let items = self.db.fetch_all(list).await?.iter().map(map).collect();
        Ok(Paged {
            items,
            total,
            page: page.page,
            page_size: page.size,
        })
    }
}

/// Caps and normalises paging parameters (`p` from 1, `page_size` at most 100).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: i64,
    pub size: i64,
}

impl Page {
    pub const MAX_SIZE: i64 = 100;

    pub fn new(page: Option<i64>, size: Option<i64>) -> Self {
        Page {
            page: page.unwrap_or(1).max(1),
            size: size.unwrap_or(20).clamp(1, Self::MAX_SIZE),
        }
    }
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.size)
    }
}
