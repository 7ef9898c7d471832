//! Operator limits stored on keys and users (migration 0017). Zero means "no limit".

use super::sql::{Query, Row};
use serde::Serialize;

/// A key's or a user's own limits, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Limits {
    pub rate_limit_per_minute: i64,
    pub tokens_per_minute: i64,
    pub max_concurrency: i64,
    /// Spend per calendar day / week / month, in quota units.
    pub daily_budget: i64,
    pub weekly_budget: i64,
    pub monthly_budget: i64,
}

/// Changes to limits; `None` leaves a field alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitsPatch {
    pub rate_limit_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub max_concurrency: Option<i64>,
    pub daily_budget: Option<i64>,
    pub weekly_budget: Option<i64>,
    pub monthly_budget: Option<i64>,
}

/// The limit columns, in the order `limits_from_row` reads them.
pub const LIMIT_COLUMNS: &str = "rate_limit_per_minute, tokens_per_minute, max_concurrency, \
    daily_budget, weekly_budget, monthly_budget";

impl LimitsPatch {
    /// (column, new value) for each field being set.
    pub fn fields(&self) -> [(&'static str, Option<i64>); 6] {
        [
            ("rate_limit_per_minute", self.rate_limit_per_minute),
            ("tokens_per_minute", self.tokens_per_minute),
            ("max_concurrency", self.max_concurrency),
            ("daily_budget", self.daily_budget),
            ("weekly_budget", self.weekly_budget),
            ("monthly_budget", self.monthly_budget),
        ]
    }

    /// Appends `, column = ?` for each field being set to an UPDATE.
    pub fn push_sets(&self, q: &mut Query) {
        for (col, v) in self.fields() {
            if let Some(v) = v {
                q.push(&format!(", {col} = ")).push_bind(v);
            }
        }
    }

    /// The limits a new row gets (absent fields are 0).
    pub fn to_limits(self) -> Limits {
        Limits {
            rate_limit_per_minute: self.rate_limit_per_minute.unwrap_or(0),
            tokens_per_minute: self.tokens_per_minute.unwrap_or(0),
            max_concurrency: self.max_concurrency.unwrap_or(0),
            daily_budget: self.daily_budget.unwrap_or(0),
            weekly_budget: self.weekly_budget.unwrap_or(0),
            monthly_budget: self.monthly_budget.unwrap_or(0),
        }
    }
}

impl Limits {
    /// Binds the six values in `LIMIT_COLUMNS` order.
    pub fn bind_all(&self, q: Query) -> Query {
        q.bind(self.rate_limit_per_minute)
            .bind(self.tokens_per_minute)
            .bind(self.max_concurrency)
            .bind(self.daily_budget)
            .bind(self.weekly_budget)
            .bind(self.monthly_budget)
    }
}

pub(crate) fn limits_from_row(r: &Row) -> Limits {
    Limits {
        rate_limit_per_minute: r.i64("rate_limit_per_minute"),
        tokens_per_minute: r.i64("tokens_per_minute"),
        max_concurrency: r.i64("max_concurrency"),
        daily_budget: r.i64("daily_budget"),
        weekly_budget: r.i64("weekly_budget"),
        monthly_budget: r.i64("monthly_budget"),
    }
}
