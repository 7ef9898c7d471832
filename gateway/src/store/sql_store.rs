//! The `Store` implementation shared by every backend.

use super::sql::{Query, Row, SqlBackend};
use super::{Paged, StoreResult};
use std::sync::Arc;

pub struct SqlStore {
    pub(crate) db: Arc<dyn SqlBackend>,
    /// This process's id in `replicas`: the owner of the quota leases it records.
    pub(crate) replica: String,
}

impl SqlStore {
    pub fn new(db: Arc<dyn SqlBackend>, replica: String) -> Self {
        SqlStore { db, replica }
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
        let count = Query {
            sql: format!("SELECT COUNT(*) AS n{}", filter.sql),
            params: filter.params.clone(),
        };
        let total = self
            .db
            .fetch_optional(count)
            .await?
            .map_or(0, |r| r.i64("n"));
        let mut list = Query {
            sql: format!("SELECT {columns}{} ORDER BY {order} LIMIT ", filter.sql),
            params: filter.params,
        };
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
