//! Quota reservation and settlement. Each step is a single conditional statement or one
//! atomic batch, so the invariants hold on every backend without interactive transactions
//! (D1 has none) and across replicas sharing one database. Every balance change a replica
//! makes for its leases is mirrored in its `quota_leases` record in the same statement or
//! batch (`store/replicas.rs`), so after a crash the record says what to give back.

pub use super::holder::Holder;
use super::logs::{insert_logs_query, insert_text, LogRow, LogShape, MOST_ROWS_PER_INSERT};
use super::replicas::{
    hold_registration_query, lease_release_query, registered, take_queries, Owner, Take,
};
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
    /// The replica generations the key's and the user's parts were taken under
    /// (`store/replicas.rs`; 0: nothing taken).
    pub token_generation: i64,
    pub user_generation: i64,
}

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveError {
    /// The token is not enabled or its remaining quota is too small.
    Token,
    /// The user is not enabled or its quota is too small.
    User,
}

/// The final accounting of one request: count it, record what it used, give back what the
/// replica does not keep in its lease, and write its log row.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub token_id: i64,
    pub user_id: i64,
    pub channel_id: Option<i64>,
    /// Whether quota was taken from the token's own balance (limited keys only).
    pub token_limited: bool,
    pub actual: i64,
    /// Added to the token's `remain_quota` (negative: used more than was reserved).
    pub token_return: i64,
    /// What this replica still holds of the token's quota after this settlement; the key
    /// is exhausted only when the database balance and this are both gone.
    pub token_held: i64,
    /// Added to the user's `quota`.
    pub user_return: i64,
    /// The generations the reservation's parts were taken under. When one is no longer
    /// registered (the replica was taken for dead and its leases returned), that part is
    /// a plain charge of `actual` and nothing is returned or released.
    pub token_generation: i64,
    pub user_generation: i64,
    pub log: LogRow,
}

/// One write for the background writer.
#[derive(Debug, Clone)]
pub enum LedgerEntry {
    Settle(Settlement),
    /// Quota a replica held in a lease and gives back.
    Return {
        holder: Holder,
        amount: i64,
        /// The generation the lease was taken under: nothing is returned once it is gone.
        generation: i64,
    },
}

#[async_trait]
pub trait LedgerStore {
    /// Takes `amount` from the holder's balance when the holder is enabled and the balance
    /// is at least `at_least`, recording it in this replica's lease in the same statement
    /// (batch on SQLite and D1); the generation it was taken under, if it was taken (never
    /// while this replica's registration is gone).
    async fn take_quota(
        &self,
        holder: Holder,
        amount: i64,
        at_least: i64,
    ) -> StoreResult<Option<i64>>;
    /// Applies several entries in one atomic batch (coalescing writes under load), recording
    /// `batch_id` in the same batch: applying the same id again fails and changes nothing.
    async fn apply(&self, batch_id: &str, entries: &[LedgerEntry]) -> StoreResult<()>;
    /// Whether the batch with this id has been written.
    async fn batch_written(&self, batch_id: &str) -> StoreResult<bool>;
    /// Forgets the ids of batches written before `before` (unix seconds).
    async fn forget_batches(&self, before: i64) -> StoreResult<u64>;
    /// Whether the database may be unreachable now (`SqlBackend::in_doubt`): quota held in
    /// memory is then kept rather than handed to a writer that cannot write it.
    fn in_doubt(&self) -> bool;
}

/// What a batch adds up to for one token or user and one generation.
#[derive(Default)]
struct Totals {
    returned: i64,
    used: i64,
    /// What is charged to the balance itself when the generation is gone: `used` for a
    /// user or a limited key, 0 for an unlimited key.
    plain: i64,
    requests: i64,
    limited: bool,
    /// The replica's lease after the batch's last settlement that touched it.
    held: i64,
}

/// (holder id, generation)
type TotalsKey = (i64, i64);

fn totals_for(all: &mut Vec<(TotalsKey, Totals)>, key: TotalsKey) -> &mut Totals {
    let i = match all.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            all.push((key, Totals::default()));
            all.len() - 1
        }
    };
    &mut all[i].1
}

/// Rows in the next log INSERT when `left` rows remain: as many as the backend binds, up
/// to 32, so a statement's overhead is paid once per many rows; below that a power of two,
/// so batches of every size share six statement texts per row shape, each prepared once
/// per connection (a 32-row INSERT takes ~100k instructions to prepare).
fn insert_size(left: usize, bind_limit: usize, shape: LogShape) -> usize {
    let most = most_rows(bind_limit, shape);
    if left >= most {
        most
    } else {
        1 << left.max(1).ilog2()
    }
}

/// The most rows of `shape` one INSERT takes: as many as the backend binds, up to
/// [`MOST_ROWS_PER_INSERT`].
fn most_rows(bind_limit: usize, shape: LogShape) -> usize {
    (bind_limit / shape.width()).clamp(1, MOST_ROWS_PER_INSERT)
}

/// How many of `rows` (at least one) the next INSERT takes, and its shape: the widest
/// shape among them, as many as that shape allows (`insert_size`).
fn next_insert(rows: &[&LogRow], bind_limit: usize) -> (usize, LogShape) {
    let mut shape = LogShape::Short;
    let mut fit = 0;
    for r in rows {
        let wider = shape.max(r.shape());
        if fit + 1 > most_rows(bind_limit, wider) {
            break;
        }
        shape = wider;
        fit += 1;
    }
    (
        insert_size(fit.max(1), bind_limit, shape).min(rows.len()),
        shape,
    )
}

/// Every log INSERT text `insert_size` can choose with `bind_limit`, for the SQLite writer
/// to prepare when it starts: the first batch of each size would otherwise pay ~100k
/// instructions for it in the middle of serving.
pub(crate) fn log_insert_texts(bind_limit: usize) -> Vec<String> {
    let mut texts = Vec::new();
    for shape in LogShape::ALL {
        let most = most_rows(bind_limit, shape);
        let mut sizes: Vec<usize> = (0..=most.ilog2()).map(|k| 1 << k).collect();
        sizes.push(most);
        sizes.dedup();
        texts.extend(sizes.into_iter().map(|n| insert_text(n, shape)));
    }
    texts
}

/// Adds what a replica's memory stops holding of one balance under one generation: the
/// quota a request spent plus what went back to the balance, or a returned lease.
fn release(all: &mut Vec<(Holder, i64, i64)>, holder: Holder, generation: i64, amount: i64) {
    if amount == 0 {
        return;
    }
    match all
        .iter_mut()
        .find(|(h, g, _)| *h == holder && *g == generation)
    {
        Some((_, _, a)) => *a = a.saturating_add(amount),
        None => all.push((holder, generation, amount)),
    }
}

/// The statements for a batch: settlements are summed per token, user (and generation)
/// and channel (one UPDATE each however many requests they cover), logs go in multi-row
/// INSERTs, lease returns follow, and the replica's lease records last. The batch's id
/// goes first, so a batch already written fails at once. Whether a generation is still
/// registered is decided by each statement (`registered!`); on PostgreSQL the batch holds
/// the replica's row first, so all of them decide alike.
fn batch_queries(
    store: &SqlStore,
    batch_id: &str,
    entries: &[LedgerEntry],
    now: i64,
) -> Vec<Query> {
    let owner = Owner::of(store);
    let mut tokens: Vec<(TotalsKey, Totals)> = Vec::new();
    let mut users: Vec<(TotalsKey, Totals)> = Vec::new();
    let mut channels: Vec<(i64, i64)> = Vec::new();
    let mut logs = Vec::new();
    let mut returns = Vec::new();
    let mut released: Vec<(Holder, i64, i64)> = Vec::new();
    for e in entries {
        match e {
            LedgerEntry::Settle(s) => {
                let (token, user) = (Holder::Token(s.token_id), Holder::User(s.user_id));
                if s.token_limited {
                    let amount = s.actual.saturating_add(s.token_return);
                    release(&mut released, token, s.token_generation, amount);
                }
                let amount = s.actual.saturating_add(s.user_return);
                release(&mut released, user, s.user_generation, amount);
                let t = totals_for(&mut tokens, (s.token_id, s.token_generation));
                t.returned = t.returned.saturating_add(s.token_return);
                t.used = t.used.saturating_add(s.actual);
                t.requests += 1;
                if s.token_limited {
                    t.limited = true;
                    t.held = s.token_held;
                    t.plain = t.plain.saturating_add(s.actual);
                }
                let u = totals_for(&mut users, (s.user_id, s.user_generation));
                u.returned = u.returned.saturating_add(s.user_return);
                u.used = u.used.saturating_add(s.actual);
                u.plain = u.plain.saturating_add(s.actual);
                u.requests += 1;
                if let Some(id) = s.channel_id.filter(|_| s.actual > 0) {
                    match channels.iter_mut().find(|(c, _)| *c == id) {
                        Some((_, used)) => *used = used.saturating_add(s.actual),
                        None => channels.push((id, s.actual)),
                    }
                }
                logs.push(&s.log);
            }
            LedgerEntry::Return {
                holder,
                amount,
                generation,
            } => {
                release(&mut released, *holder, *generation, *amount);
                let owner = Owner {
                    generation: *generation,
                    ..owner
                };
                returns.push(return_query(owner, *holder, *amount));
            }
        }
    }
    let mut out = Vec::with_capacity(
        2 + tokens.len()
            + users.len()
            + channels.len()
            + returns.len()
            + logs.len()
            + released.len(),
    );
    out.push(
        Query::new("INSERT INTO ledger_batches (id, written_at) VALUES (?, ?)")
            .bind(batch_id)
            .bind(now),
    );
    if store.db.postgres() {
        out.push(hold_registration_query(owner.replica));
    }
    for ((id, generation), t) in tokens {
        // Only a settlement of quota actually reserved on the token decides exhaustion: a
        // request refused while another holds the whole balance must not mark the key
        // exhausted, and quota coming back revives it.
        let limited = i64::from(t.limited);
        let left = t.returned.saturating_add(t.held);
        out.push(
            Query::new(concat!(
                "UPDATE tokens SET remain_quota = CASE WHEN ",
                registered!(),
                " THEN remain_quota + ? \
                 WHEN remain_quota >= ? THEN remain_quota - ? ELSE 0 END, \
                 used_quota = used_quota + ?, request_count = request_count + ?, last_used_at = ?, \
                 status = CASE WHEN ? = 1 AND ",
                registered!(),
                " AND unlimited_quota = 0 AND status = 1 AND remain_quota + ? <= 0 THEN 4 \
                 WHEN ? = 1 AND ",
                registered!(),
                " AND unlimited_quota = 0 AND status = 4 AND remain_quota + ? > 0 THEN 1 \
                 ELSE status END WHERE id = ?"
            ))
            .bind(owner.replica)
            .bind(generation)
            .bind(t.returned)
            .bind(t.plain)
            .bind(t.plain)
            .bind(t.used)
            .bind(t.requests)
            .bind(now)
            .bind(limited)
            .bind(owner.replica)
            .bind(generation)
            .bind(left)
            .bind(limited)
            .bind(owner.replica)
            .bind(generation)
            .bind(left)
            .bind(id),
        );
    }
    for ((id, generation), u) in users {
        out.push(
            Query::new(concat!(
                "UPDATE users SET quota = CASE WHEN ",
                registered!(),
                " THEN quota + ? WHEN quota >= ? THEN quota - ? ELSE 0 END, \
                 used_quota = used_quota + ?, request_count = request_count + ? WHERE id = ?"
            ))
            .bind(owner.replica)
            .bind(generation)
            .bind(u.returned)
            .bind(u.plain)
            .bind(u.plain)
            .bind(u.used)
            .bind(u.requests)
            .bind(id),
        );
    }
    for (id, used) in channels {
        out.push(
            Query::new("UPDATE channels SET used_quota = used_quota + ? WHERE id = ?")
                .bind(used)
                .bind(id),
        );
    }
    // In the order they were settled (their ids keep it), as many rows to an INSERT as
    // before shapes existed; each INSERT binds the widest shape among its rows. Splitting
    // into runs of one shape instead cut a mixed batch (streams and plain answers
    // interleaved) into many small INSERTs.
    let mut rest = &logs[..];
    while !rest.is_empty() {
        let (n, shape) = next_insert(rest, store.bind_limit);
        let (head, tail) = rest.split_at(n);
        out.push(insert_logs_query(head, shape));
        rest = tail;
    }
    out.extend(returns);
    out.extend(released.into_iter().map(|(holder, generation, amount)| {
        let owner = Owner {
            generation,
            ..owner
        };
        lease_release_query(owner, holder, amount)
    }));
    out
}

/// A lease given back; nothing once its generation is gone (the recovery returned it).
fn return_query(owner: Owner<'_>, holder: Holder, amount: i64) -> Query {
    let q = match holder {
        Holder::Token(id) => Query::new(concat!(
            "UPDATE tokens SET remain_quota = remain_quota + ?, status = CASE \
             WHEN status = 4 AND unlimited_quota = 0 AND remain_quota + ? > 0 THEN 1 \
             ELSE status END WHERE id = ? AND ",
            registered!()
        ))
        .bind(amount)
        .bind(amount)
        .bind(id),
        Holder::User(id) => Query::new(concat!(
            "UPDATE users SET quota = quota + ? WHERE id = ? AND ",
            registered!()
        ))
        .bind(amount)
        .bind(id),
    };
    q.bind(owner.replica).bind(owner.generation)
}

#[async_trait]
impl LedgerStore for SqlStore {
    fn in_doubt(&self) -> bool {
        self.db.in_doubt()
    }

    async fn take_quota(
        &self,
        holder: Holder,
        amount: i64,
        at_least: i64,
    ) -> StoreResult<Option<i64>> {
        let take = Take {
            owner: Owner::of(self),
            holder,
            amount,
            at_least,
        };
        let taken = self
            .db
            .batch_returns_row(take_queries(self.db.postgres(), &take))
            .await?;
        Ok(taken.then_some(take.owner.generation))
    }

    async fn apply(&self, batch_id: &str, entries: &[LedgerEntry]) -> StoreResult<()> {
        self.db
            .batch(batch_queries(self, batch_id, entries, crate::util::now()))
            .await
    }

    async fn batch_written(&self, batch_id: &str) -> StoreResult<bool> {
        let q = Query::new("SELECT 1 AS written FROM ledger_batches WHERE id = ?").bind(batch_id);
        Ok(self.db.fetch_optional(q).await?.is_some())
    }

    async fn forget_batches(&self, before: i64) -> StoreResult<u64> {
        self.db
            .execute(Query::new("DELETE FROM ledger_batches WHERE written_at < ?").bind(before))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_takes_rows_in_order_with_the_widest_shape_among_them() {
        use super::super::logs::NewLog;
        let short = NewLog::default().into_row();
        let streamed = NewLog {
            is_stream: true,
            ..NewLog::default()
        }
        .into_row();
        let full = NewLog {
            error: "x".into(),
            ..NewLog::default()
        }
        .into_row();
        let plan = |rows: &[&LogRow], limit: usize| {
            let mut out = Vec::new();
            let mut rest = rows;
            while !rest.is_empty() {
                let (n, shape) = next_insert(rest, limit);
                out.push((n, shape));
                rest = &rest[n..];
            }
            out
        };
        let shorts = vec![&short; 40];
        assert_eq!(
            plan(&shorts, 1000),
            vec![(32, LogShape::Short), (8, LogShape::Short)]
        );
        let mixed = [&short, &streamed, &short, &short];
        assert_eq!(plan(&mixed, 1000), vec![(4, LogShape::Streamed)]);
        // D1 binds 100 values: 5 short rows or 3 full ones to a statement.
        let d1 = [
            &short, &short, &short, &short, &full, &short, &short, &short,
        ];
        assert_eq!(
            plan(&d1, 100),
            vec![
                (4, LogShape::Short),
                (3, LogShape::Full),
                (1, LogShape::Short)
            ]
        );
    }

    #[test]
    fn log_inserts_come_in_a_few_sizes() {
        let sizes = |mut left: usize, limit: usize| {
            let mut out = Vec::new();
            while left > 0 {
                let n = insert_size(left, limit, LogShape::Full);
                out.push(n);
                left -= n;
            }
            out
        };
        assert_eq!(sizes(75, 1000), vec![32, 32, 8, 2, 1]);
        assert_eq!(sizes(31, 1000), vec![16, 8, 4, 2, 1]);
        assert_eq!(sizes(7, 100), vec![3, 3, 1]);
        assert_eq!(sizes(2, 100), vec![2]);
        assert_eq!(sizes(1, 1), vec![1]);
        assert_eq!(insert_size(9, 100, LogShape::Short), 5);
        let texts = log_insert_texts(1000);
        assert_eq!(texts.len(), 18);
        assert_eq!(
            texts[5],
            super::super::logs::insert_logs_sql(32, LogShape::Short)
        );
        assert_eq!(
            texts[17],
            super::super::logs::insert_logs_sql(32, LogShape::Full)
        );
        // D1: 5 short rows (1, 2, 4, 5), 5 streamed ones and 3 full ones (1, 2, 3) to a
        // statement.
        assert_eq!(log_insert_texts(100).len(), 11);
    }
}
