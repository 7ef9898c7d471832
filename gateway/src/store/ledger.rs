//! Quota reservation and settlement. Each step is a single conditional statement, so the
//! invariants hold on every backend without interactive transactions (D1 has none) and
//! across replicas sharing one database.

use super::logs::{insert_log_query, NewLog};
use super::sql::Query;
use super::sql_store::SqlStore;
use super::StoreResult;
use async_trait::async_trait;

/// What a successful reservation took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reservation {
    /// Taken from the token's `remain_quota` (0 for unlimited tokens).
    pub token_amount: i64,
    /// Taken from the user's `quota`.
    pub user_amount: i64,
    pub token_limited: bool,
}

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveError {
    /// The token is not enabled or its remaining quota is too small.
    Token,
    /// The user is not enabled or its quota is too small.
    User,
}

/// The final accounting of one request: refund or charge the difference between what was
/// reserved and what was used, count the request and write its log row.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub token_id: i64,
    pub user_id: i64,
    pub channel_id: Option<i64>,
    pub reservation: Reservation,
    pub actual: i64,
    pub log: NewLog,
}

#[async_trait]
pub trait LedgerStore {
    async fn reserve(
        &self,
        token_id: i64,
        user_id: i64,
        amount: i64,
    ) -> StoreResult<Result<Reservation, ReserveError>>;
    /// Applies several settlements in one atomic batch (coalescing writes under load).
    async fn settle(&self, items: &[Settlement]) -> StoreResult<()>;
}

fn settlement_queries(s: &Settlement, now: i64, out: &mut Vec<Query>) {
    let token_refund = if s.reservation.token_limited {
        s.reservation.token_amount - s.actual
    } else {
        0
    };
    // Only a settlement of quota actually reserved on the token decides exhaustion: a
    // request refused while another holds the whole balance must not mark the key
    // exhausted, and a refund that brings the balance back above zero revives it.
    let limited = i64::from(s.reservation.token_limited);
    out.push(
        Query::new(
            "UPDATE tokens SET remain_quota = remain_quota + ?, used_quota = used_quota + ?, \
             request_count = request_count + 1, last_used_at = ?, \
             status = CASE \
             WHEN ? = 1 AND unlimited_quota = 0 AND status = 1 AND remain_quota + ? <= 0 THEN 4 \
             WHEN ? = 1 AND unlimited_quota = 0 AND status = 4 AND remain_quota + ? > 0 THEN 1 \
             ELSE status END WHERE id = ?",
        )
        .bind(token_refund)
        .bind(s.actual)
        .bind(now)
        .bind(limited)
        .bind(token_refund)
        .bind(limited)
        .bind(token_refund)
        .bind(s.token_id),
    );
    out.push(
        Query::new(
            "UPDATE users SET quota = quota + ?, used_quota = used_quota + ?, \
             request_count = request_count + 1 WHERE id = ?",
        )
        .bind(s.reservation.user_amount - s.actual)
        .bind(s.actual)
        .bind(s.user_id),
    );
    if let Some(channel_id) = s.channel_id.filter(|_| s.actual > 0) {
        out.push(
            Query::new("UPDATE channels SET used_quota = used_quota + ? WHERE id = ?")
                .bind(s.actual)
                .bind(channel_id),
        );
    }
    out.push(insert_log_query(&s.log));
}

#[async_trait]
impl LedgerStore for SqlStore {
    async fn reserve(
        &self,
        token_id: i64,
        user_id: i64,
        amount: i64,
    ) -> StoreResult<Result<Reservation, ReserveError>> {
        let token = self
            .db
            .fetch_optional(
                Query::new(
                    "UPDATE tokens SET remain_quota = CASE WHEN unlimited_quota = 1 \
                     THEN remain_quota ELSE remain_quota - ? END \
                     WHERE id = ? AND status = 1 AND (unlimited_quota = 1 OR remain_quota >= ?) \
                     RETURNING unlimited_quota",
                )
                .bind(amount)
                .bind(token_id)
                .bind(amount),
            )
            .await?;
        let Some(token) = token else {
            return Ok(Err(ReserveError::Token));
        };
        let token_limited = !token.bool("unlimited_quota");
        let token_amount = if token_limited { amount } else { 0 };
        let user_rows = self
            .db
            .execute(
                Query::new(
                    "UPDATE users SET quota = quota - ? WHERE id = ? AND status = 1 AND quota >= ?",
                )
                .bind(amount)
                .bind(user_id)
                .bind(amount),
            )
            .await?;
        if user_rows == 0 {
            if token_limited {
                self.db
                    .execute(
                        Query::new(
                            "UPDATE tokens SET remain_quota = remain_quota + ? WHERE id = ?",
                        )
                        .bind(amount)
                        .bind(token_id),
                    )
                    .await?;
            }
            return Ok(Err(ReserveError::User));
        }
        Ok(Ok(Reservation {
            token_amount,
            user_amount: amount,
            token_limited,
        }))
    }

    async fn settle(&self, items: &[Settlement]) -> StoreResult<()> {
        let now = crate::util::now();
        let mut qs = Vec::with_capacity(items.len() * 4);
        for s in items {
            settlement_queries(s, now, &mut qs);
        }
        self.db.batch(qs).await
    }
}
