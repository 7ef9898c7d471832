//! Durable quota leases: which replica holds how much of which balance, and the replicas'
//! heartbeats. A take records itself here in the same statement (PostgreSQL) or batch
//! (SQLite, D1) as the balance change; settlements and returns take it off in their batch
//! (`store/ledger.rs`). A replica whose heartbeat is stale is dead: `recover_replica`
//! returns everything it still had outstanding to the balances, in one batch that claims
//! the dead replica's row first, so two replicas recovering it at once return it once.
//!
//! Every registration has a fresh `generation`. Takes are recorded, and settlements and
//! returns are applied as returns, only while the replica's row still has the generation
//! they were made under. A replica that was only cut off, taken for dead and recovered
//! meanwhile keeps serving from memory until its next heartbeat tells it; what it then
//! writes under the old generation is a plain charge, since the recovery already gave
//! back everything that generation had taken.

use super::holder::Holder;
use super::sql::Query;
use super::sql_store::SqlStore;
use super::StoreResult;
use async_trait::async_trait;
use std::sync::atomic::Ordering;

#[async_trait]
pub trait ReplicaStore {
    /// This process's replica id, the owner of the leases it records.
    fn replica_id(&self) -> &str;
    /// The generation of this replica's current registration (0 before the first).
    fn generation(&self) -> i64;
    /// Creates (or renews) this replica's row with a fresh heartbeat and a new generation.
    async fn register_replica(&self, now: i64) -> StoreResult<()>;
    /// Refreshes this replica's heartbeat; `false` when its row is gone or has another
    /// generation (another replica found it stale and returned its leases).
    async fn heartbeat(&self, now: i64) -> StoreResult<bool>;
    /// Whether this replica's row still has its current generation.
    async fn is_registered(&self) -> StoreResult<bool>;
    /// Other replicas whose last heartbeat is older than `before`.
    async fn stale_replicas(&self, before: i64) -> StoreResult<Vec<String>>;
    /// Returns every unsettled part of `replica`'s leases to its balances and forgets the
    /// replica, if its heartbeat is older than `stale_before` (`i64::MAX`: whatever it is).
    /// Says how much was outstanding just before (for the log).
    async fn recover_replica(&self, replica: &str, stale_before: i64) -> StoreResult<i64>;
}

/// Whether the replica's row still has the generation a statement acts for (binds the id
/// and the generation). A macro, so the statements that use it are constants (`concat!`).
macro_rules! registered {
    () => {
        "EXISTS (SELECT 1 FROM replicas WHERE id = ? AND generation = ?)"
    };
}
pub(crate) use registered;

/// Takes quota from a key and records it in the replica's lease, in one statement, while
/// the replica's generation is registered. The row is locked for share until the commit,
/// so a recovery (which deletes it) waits for the take and then sees its record.
const TAKE_TOKEN_PG: &str = "WITH registered AS (SELECT 1 FROM replicas \
     WHERE id = ? AND generation = ? FOR SHARE), \
     taken AS (UPDATE tokens SET remain_quota = remain_quota - ? \
     WHERE id = ? AND status = 1 AND unlimited_quota = 0 AND remain_quota >= ? \
     AND EXISTS (SELECT 1 FROM registered) RETURNING id) \
     INSERT INTO quota_leases (replica_id, holder_kind, holder_id, outstanding) \
     SELECT ?, 0, id, ? FROM taken \
     ON CONFLICT (replica_id, holder_kind, holder_id) \
     DO UPDATE SET outstanding = quota_leases.outstanding + excluded.outstanding \
     RETURNING outstanding";
/// The same for a user.
const TAKE_USER_PG: &str = "WITH registered AS (SELECT 1 FROM replicas \
     WHERE id = ? AND generation = ? FOR SHARE), \
     taken AS (UPDATE users SET quota = quota - ? \
     WHERE id = ? AND status = 1 AND quota >= ? \
     AND EXISTS (SELECT 1 FROM registered) RETURNING id) \
     INSERT INTO quota_leases (replica_id, holder_kind, holder_id, outstanding) \
     SELECT ?, 1, id, ? FROM taken \
     ON CONFLICT (replica_id, holder_kind, holder_id) \
     DO UPDATE SET outstanding = quota_leases.outstanding + excluded.outstanding \
     RETURNING outstanding";
const TAKE_TOKEN: &str = concat!(
    "UPDATE tokens SET remain_quota = remain_quota - ? \
     WHERE id = ? AND status = 1 AND unlimited_quota = 0 AND remain_quota >= ? AND ",
    registered!()
);
const TAKE_USER: &str = concat!(
    "UPDATE users SET quota = quota - ? WHERE id = ? AND status = 1 AND quota >= ? AND ",
    registered!()
);
/// Records a take in the lease, only when the statement before it changed a row.
const RECORD_TAKE: &str =
    "INSERT INTO quota_leases (replica_id, holder_kind, holder_id, outstanding) \
     SELECT ?, ?, ?, ? WHERE changes() = 1 \
     ON CONFLICT (replica_id, holder_kind, holder_id) \
     DO UPDATE SET outstanding = quota_leases.outstanding + excluded.outstanding \
     RETURNING outstanding";

/// A replica's registration: its id and the generation its leases belong to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub replica: &'a str,
    pub generation: i64,
}

impl<'a> Owner<'a> {
    /// `store`'s current registration, whose leases its takes and batches act for.
    pub(crate) fn of(store: &'a SqlStore) -> Self {
        Owner {
            replica: &store.replica,
            generation: store.generation.load(Ordering::SeqCst),
        }
    }
}

/// One take: whose balance, how much, the balance it needs, for which registration.
pub(crate) struct Take<'a> {
    pub owner: Owner<'a>,
    pub holder: Holder,
    pub amount: i64,
    pub at_least: i64,
}

/// The take and its lease record: one statement on PostgreSQL (a data-modifying `WITH`),
/// a two-statement batch on SQLite and D1 whose second statement runs only when the first
/// changed a row (`changes()`; writers are serialised there, nothing comes between). Either
/// way the last statement returns a row exactly when the quota was taken.
pub(crate) fn take_queries(postgres: bool, t: &Take<'_>) -> Vec<Query> {
    let (kind, id) = t.holder.key();
    if postgres {
        let sql = if kind == 0 {
            TAKE_TOKEN_PG
        } else {
            TAKE_USER_PG
        };
        return vec![Query::new(sql)
            .bind(t.owner.replica)
            .bind(t.owner.generation)
            .bind(t.amount)
            .bind(id)
            .bind(t.at_least)
            .bind(t.owner.replica)
            .bind(t.amount)];
    }
    let take = if kind == 0 { TAKE_TOKEN } else { TAKE_USER };
    vec![
        Query::new(take)
            .bind(t.amount)
            .bind(id)
            .bind(t.at_least)
            .bind(t.owner.replica)
            .bind(t.owner.generation),
        Query::new(RECORD_TAKE)
            .bind(t.owner.replica)
            .bind(kind)
            .bind(id)
            .bind(t.amount),
    ]
}

/// Takes `amount` off the replica's lease record of one balance: quota it no longer holds
/// because a request spent it or it went back to the balance in the same batch. Nothing
/// when the generation is gone: the recovery deleted that record.
pub(crate) fn lease_release_query(owner: Owner<'_>, holder: Holder, amount: i64) -> Query {
    let (kind, id) = holder.key();
    const RELEASE: &str = concat!(
        "UPDATE quota_leases SET outstanding = outstanding - ? \
         WHERE replica_id = ? AND holder_kind = ? AND holder_id = ? AND ",
        registered!()
    );
    Query::new(RELEASE)
        .bind(amount)
        .bind(owner.replica)
        .bind(kind)
        .bind(id)
        .bind(owner.replica)
        .bind(owner.generation)
}

/// On PostgreSQL, the first statement of a settlement batch: locks the replica's row for
/// share until the commit, so a recovery deleting it runs wholly before or after the
/// batch, and every statement of the batch sees the generation the same way.
pub(crate) fn hold_registration_query(replica: &str) -> Query {
    Query::new("SELECT 1 FROM replicas WHERE id = ? FOR SHARE").bind(replica)
}

/// What a dead replica had outstanding of one kind of balance, per holder row.
const OUTSTANDING_OF: &str = "(SELECT CAST(COALESCE(SUM(l.outstanding), 0) AS BIGINT) \
     FROM quota_leases l \
     WHERE l.replica_id = ? AND l.holder_kind = ? AND l.holder_id = ";

/// The recovery batch. It starts by deleting the dead replica's row (only while its
/// heartbeat is still stale): on PostgreSQL a second recoverer blocks on that row until the
/// first commits, and its later statements then see the leases already gone; SQLite and D1
/// run the writes of one batch alone. Every later statement runs only once the row is gone.
fn recovery_queries(replica: &str, stale_before: i64) -> Vec<Query> {
    let gone = "NOT EXISTS (SELECT 1 FROM replicas WHERE id = ?)";
    let users = format!(
        "UPDATE users SET quota = quota + {OUTSTANDING_OF}users.id) \
         WHERE id IN (SELECT holder_id FROM quota_leases \
         WHERE replica_id = ? AND holder_kind = 1 AND outstanding <> 0) AND {gone}"
    );
    let tokens = format!(
        "UPDATE tokens SET remain_quota = remain_quota + {OUTSTANDING_OF}tokens.id), \
         status = CASE WHEN status = 4 AND unlimited_quota = 0 \
         AND remain_quota + {OUTSTANDING_OF}tokens.id) > 0 THEN 1 ELSE status END \
         WHERE id IN (SELECT holder_id FROM quota_leases \
         WHERE replica_id = ? AND holder_kind = 0 AND outstanding <> 0) AND {gone}"
    );
    vec![
        Query::new("DELETE FROM replicas WHERE id = ? AND heartbeat_at < ?")
            .bind(replica)
            .bind(stale_before),
        Query::new(&users)
            .bind(replica)
            .bind(1)
            .bind(replica)
            .bind(replica),
        Query::new(&tokens)
            .bind(replica)
            .bind(0)
            .bind(replica)
            .bind(0)
            .bind(replica)
            .bind(replica),
        Query::new(&format!(
            "DELETE FROM quota_leases WHERE replica_id = ? AND {gone}"
        ))
        .bind(replica)
        .bind(replica),
    ]
}

#[async_trait]
impl ReplicaStore for SqlStore {
    fn replica_id(&self) -> &str {
        &self.replica
    }

    fn generation(&self) -> i64 {
        self.generation.load(Ordering::SeqCst)
    }

    async fn register_replica(&self, now: i64) -> StoreResult<()> {
        // Positive and never 0 (the column's default, which no registration uses).
        let generation = (rand::random::<i64>() & i64::MAX).max(1);
        let q = Query::new(
            "INSERT INTO replicas (id, started_at, heartbeat_at, generation) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, \
             generation = excluded.generation",
        )
        .bind(self.replica.as_str())
        .bind(now)
        .bind(now)
        .bind(generation);
        self.db.execute(q).await?;
        self.generation.store(generation, Ordering::SeqCst);
        Ok(())
    }

    async fn heartbeat(&self, now: i64) -> StoreResult<bool> {
        let q = Query::new("UPDATE replicas SET heartbeat_at = ? WHERE id = ? AND generation = ?")
            .bind(now)
            .bind(self.replica.as_str())
            .bind(self.generation());
        Ok(self.db.execute(q).await? > 0)
    }

    async fn is_registered(&self) -> StoreResult<bool> {
        let q = Query::new(concat!("SELECT 1 AS registered WHERE ", registered!()))
            .bind(self.replica.as_str())
            .bind(self.generation());
        Ok(self.db.fetch_optional(q).await?.is_some())
    }

    async fn stale_replicas(&self, before: i64) -> StoreResult<Vec<String>> {
        let q = Query::new("SELECT id FROM replicas WHERE heartbeat_at < ? AND id <> ?")
            .bind(before)
            .bind(self.replica.as_str());
        let rows = self.db.fetch_all(q).await?;
        Ok(rows.iter().map(|r| r.string("id")).collect())
    }

    async fn recover_replica(&self, replica: &str, stale_before: i64) -> StoreResult<i64> {
        let q = Query::new(
            "SELECT CAST(COALESCE(SUM(outstanding), 0) AS BIGINT) AS n \
             FROM quota_leases WHERE replica_id = ?",
        )
        .bind(replica);
        let outstanding = self.db.fetch_optional(q).await?.map_or(0, |r| r.i64("n"));
        self.db
            .batch(recovery_queries(replica, stale_before))
            .await?;
        Ok(outstanding)
    }
}
