//! The `Store` implementation shared by every backend.

use super::sql::SqlBackend;
use std::sync::Arc;

pub struct SqlStore {
    pub(crate) db: Arc<dyn SqlBackend>,
}

impl SqlStore {
    pub fn new(db: Arc<dyn SqlBackend>) -> Self {
        SqlStore { db }
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
