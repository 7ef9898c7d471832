//! Whose balance quota is taken from, named by the ledger (reservations, settlements) and
//! by the replicas' lease records. Apart from `ledger.rs` so that `replicas.rs` need not
//! import the ledger, which builds its batches from the lease queries; `store::ledger`
//! re-exports it, where the rest of the gateway names it.

/// A balance quota is taken from: a key's `remain_quota` or a user's `quota`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    Token(i64),
    User(i64),
}

impl Holder {
    /// `quota_leases.holder_kind` (0: a key's `remain_quota`, 1: a user's `quota`) and
    /// `holder_id`.
    pub(crate) fn key(self) -> (i64, i64) {
        match self {
            Holder::Token(id) => (0, id),
            Holder::User(id) => (1, id),
        }
    }
}
