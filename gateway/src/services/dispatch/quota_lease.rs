//! Per-replica quota leases: the hot path reserves and refunds in memory, and the
//! database is touched only to take a block of quota from a balance (one conditional
//! UPDATE) and, in the background, to give it back.
//!
//! Exactness holds because a lease is already deducted from the balance in the database:
//! what one replica holds no other replica can spend, and nothing is spent that was not
//! taken. Blocks are only taken while the balance has room for several, so near the end of
//! a balance every reservation goes to the database one request at a time, exactly as
//! without leases, and no replica strands quota the others need. A lease that goes idle is
//! given back. What a replica holds is added to the balances it shows, so on one replica
//! the numbers a user reads are exact (a reader holds [`QuotaLeases::steady`] from the
//! database read to the addition, so a lease cannot go back in between and be counted
//! nowhere); other replicas see a held amount only once it is given back (within a second
//! or two of idling).
//!
//! Crashes lose nothing: every take is recorded as this replica's lease in the database in
//! the same statement that takes it (`store/replicas.rs`), and every settlement batch and
//! return takes its part off that record in the same transaction as its balance effect. So
//! the record always says what this replica took and has not settled or given back: the
//! free part of its leases, its requests in flight, and its answered requests whose
//! settlement was still queued. After a SIGKILL all of it goes back to the balances
//! (`services/dispatch/replicas.rs`): at once when the replica restarts with the same
//! `REPLICA_ID`, else once its heartbeat is `REPLICA_STALE_SECS` old, by whichever replica
//! notices first. Requests answered but not yet settled are thereby returned, not charged,
//! and have no log row. The same holds with `QUOTA_LEASE_REQUESTS=0` (exact reservations).
//!
//! Quota in memory is tagged with the replica generation it was taken under. A replica
//! that was only cut off may have been taken for dead and recovered: until its heartbeat
//! tells it (it then drops what it holds and registers anew), its requests, refunds and
//! returns still name the old generation, and the ledger's batch, finding that generation
//! gone, charges them plainly and returns nothing (`store/ledger.rs`).

use super::ledger::Ledger;
use crate::store::ledger::{Holder, Reservation, ReserveError};
use crate::store::{DbError, Store, Token, User};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A lease unused this long is given back to its balance.
pub const IDLE_RETURN: Duration = Duration::from_secs(1);
/// A block is taken only while the balance holds this many blocks.
const BLOCK_HEADROOM: i64 = 4;
/// After a balance proved too small for a block, reserve exactly for this long.
const EXACT_FOR: Duration = Duration::from_secs(1);

pub struct QuotaLeases {
    store: Arc<dyn Store>,
    ledger: Ledger,
    requests_per_lease: i64,
    cells: Mutex<crate::util::FastMap<Holder, Arc<Cell>>>,
    /// Held (shared) by readers that add this replica's leases to balances they read from
    /// the database. The sweeper gives nothing back while one is held: a lease handed to
    /// the writer between the read and the addition would be in neither figure, and the
    /// balance would read short by the whole lease.
    steady: tokio::sync::RwLock<()>,
    /// One registration anew at a time (`register_again`).
    renewing: tokio::sync::Mutex<()>,
}

/// What topping a lease up came to.
enum TopUp {
    /// `taken` under `generation`, of which the lease may keep `keep`.
    Taken {
        taken: i64,
        keep: i64,
        generation: i64,
    },
    /// The balance is too small.
    Refused,
    /// This replica's registration was gone and has been made anew: take again.
    Renewed,
}

/// Keeps idle leases where they are while a reader adds them to balances it reads
/// ([`QuotaLeases::steady`]).
pub type Steady<'a> = tokio::sync::RwLockReadGuard<'a, ()>;

#[derive(Default)]
struct Cell {
    lease: Mutex<Lease>,
    /// One top-up at a time per balance, so concurrent misses do not each take a block.
    topping_up: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Lease {
    /// Quota taken from the balance and not reserved by any request.
    held: i64,
    /// The block size while the balance is large; refunds above twice this go back.
    keep: i64,
    last_used: Option<Instant>,
    exact_until: Option<Instant>,
    /// The replica generation `held` was taken under.
    generation: i64,
}

impl Lease {
    /// Keeps at most twice the block size; returns the excess, to go back to the balance.
    fn trim(&mut self) -> i64 {
        let cap = self.keep.saturating_mul(2);
        if self.held > cap {
            let excess = self.held - cap;
            self.held = cap;
            excess
        } else {
            0
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Lease {
    /// Makes the lease the current registration's: what it held under a gone one is
    /// dropped (the recovery returned it to the balance).
    fn adopt(&mut self, current: i64) {
        if self.generation != current {
            self.held = 0;
            self.generation = current;
        }
    }
}

impl Cell {
    /// Takes `amount` from the lease; the generation it was held under.
    fn try_take(&self, amount: i64, current: i64) -> Option<i64> {
        let mut l = lock(&self.lease);
        l.adopt(current);
        l.last_used = Some(Instant::now());
        if l.held >= amount {
            l.held -= amount;
            Some(l.generation)
        } else {
            None
        }
    }

    fn drain(&self) -> (i64, i64) {
        let mut l = lock(&self.lease);
        (std::mem::take(&mut l.held), l.generation)
    }

    /// Puts quota taken under `generation` into the lease; nothing of a gone
    /// registration is put back into memory.
    fn add(&self, amount: i64, keep: Option<i64>, generation: i64, current: i64) {
        if generation != current {
            return;
        }
        let mut l = lock(&self.lease);
        l.adopt(current);
        l.held = l.held.saturating_add(amount);
        if let Some(k) = keep {
            l.keep = k;
        }
    }
}

/// What a settlement does with one balance (`QuotaLeases::refund_capped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refunded {
    /// What the request is charged.
    pub charged: i64,
    /// What goes back to the balance now.
    pub give: i64,
    /// What the lease still holds.
    pub held: i64,
    /// The generation the settlement is written under.
    pub generation: i64,
}

impl QuotaLeases {
    pub fn new(store: Arc<dyn Store>, ledger: Ledger, requests_per_lease: i64) -> Self {
        QuotaLeases {
            store,
            ledger,
            requests_per_lease,
            cells: Mutex::new(Default::default()),
            steady: tokio::sync::RwLock::new(()),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn cell(&self, holder: Holder) -> Arc<Cell> {
        lock(&self.cells).entry(holder).or_default().clone()
    }

    /// Reserves `amount` on the key (unless it is unlimited) and on its user.
    pub async fn reserve(
        &self,
        token: &Token,
        user_id: i64,
        amount: i64,
    ) -> Result<Result<Reservation, ReserveError>, DbError> {
        let token_limited = !token.unlimited_quota;
        let token_holder = Holder::Token(token.id);
        let mut token_generation = 0;
        if token_limited {
            match self.take(token_holder, amount).await? {
                Some(g) => token_generation = g,
                None => return Ok(Err(ReserveError::Token)),
            }
        }
        let user = self.take(Holder::User(user_id), amount).await;
        if !matches!(user, Ok(Some(_))) && token_limited {
            let current = self.store.generation();
            self.cell(token_holder)
                .add(amount, None, token_generation, current);
        }
        let Some(user_generation) = user? else {
            return Ok(Err(ReserveError::User));
        };
        Ok(Ok(Reservation {
            token_amount: if token_limited { amount } else { 0 },
            user_amount: amount,
            token_limited,
            token_generation,
            user_generation,
        }))
    }

    /// Takes `amount` from the holder's lease, topping it up from the balance; the
    /// generation it was taken under, or `None` when the balance is too small.
    async fn take(&self, holder: Holder, amount: i64) -> Result<Option<i64>, DbError> {
        if amount <= 0 {
            return Ok(Some(0));
        }
        let cell = self.cell(holder);
        // A second round only after this replica registered anew (its leases were
        // returned by another replica while it was cut off).
        for _ in 0..2 {
            if let Some(g) = cell.try_take(amount, self.store.generation()) {
                return Ok(Some(g));
            }
            let _turn = cell.topping_up.lock().await;
            if let Some(g) = cell.try_take(amount, self.store.generation()) {
                return Ok(Some(g));
            }
            let (had, had_generation) = cell.drain();
            let topped = self.top_up(holder, &cell, amount - had).await;
            let current = self.store.generation();
            match topped {
                Ok(TopUp::Taken {
                    taken,
                    keep,
                    generation,
                }) => {
                    if had == 0 || had_generation == generation {
                        cell.add(had + taken - amount, Some(keep), generation, current);
                        return Ok(Some(generation));
                    }
                    // What the lease had belongs to a registration found gone meanwhile
                    // (the recovery returned it): the new take alone may not cover this.
                    cell.add(taken, Some(keep), generation, current);
                }
                Ok(TopUp::Renewed) => cell.add(had, None, had_generation, current),
                Ok(TopUp::Refused) => {
                    cell.add(had, None, had_generation, current);
                    return Ok(None);
                }
                Err(e) => {
                    cell.add(had, None, had_generation, current);
                    return Err(e);
                }
            }
        }
        Err(re_registering())
    }

    /// Takes at least `need` from the balance: a block when the balance is large, else
    /// exactly `need`.
    async fn top_up(&self, holder: Holder, cell: &Cell, need: i64) -> Result<TopUp, DbError> {
        let registration = self.store.generation();
        let block = need.saturating_mul(self.requests_per_lease);
        let exact = lock(&cell.lease)
            .exact_until
            .is_some_and(|t| Instant::now() < t);
        let taken = |taken, keep, generation| TopUp::Taken {
            taken,
            keep,
            generation,
        };
        if block > need && !exact {
            let at_least = block.saturating_mul(BLOCK_HEADROOM);
            if let Some(g) = self.store.take_quota(holder, block, at_least).await? {
                return Ok(taken(block, block, g));
            }
            lock(&cell.lease).exact_until = Some(Instant::now() + EXACT_FOR);
        }
        if let Some(g) = self.store.take_quota(holder, need, need).await? {
            return Ok(taken(need, 0, g));
        }
        // Quota given back by this replica may still be queued: write it, look once more.
        if self.ledger.flush().await {
            if let Some(g) = self.store.take_quota(holder, need, need).await? {
                return Ok(taken(need, 0, g));
            }
        }
        // A take also fails while this replica's registration is gone (taken for dead
        // while cut off): that is not the balance's fault. Registered anew meanwhile, the
        // takes above may have named the old one.
        if self.store.generation() != registration {
            return Ok(TopUp::Renewed);
        }
        if !self.store.is_registered().await? {
            self.register_again().await?;
            return Ok(TopUp::Renewed);
        }
        Ok(TopUp::Refused)
    }

    /// Another replica took this one for dead (its heartbeat went stale while it was cut
    /// off from the database) and returned its leases: drops what it holds in memory (its
    /// late settlements become plain charges, `store/ledger.rs`) and registers under a new
    /// generation. Called by the heartbeat and by a take that finds the registration gone,
    /// whichever comes first; the other finds it done.
    pub async fn register_again(&self) -> Result<(), DbError> {
        let _one = self.renewing.lock().await;
        if self.store.is_registered().await? {
            return Ok(());
        }
        log::error!(
            "this replica's heartbeat was stale and another replica returned its quota \
             leases; dropping what it held and registering again"
        );
        self.abandon();
        self.store.register_replica(crate::util::now()).await
    }

    /// Gives `amount` of a reservation taken under `generation` back into the lease;
    /// returns what goes back to the balance now and what the lease still holds. Nothing
    /// moves when the generation is no longer this replica's (the recovery returned it).
    pub fn refund(&self, holder: Holder, amount: i64, generation: i64) -> (i64, i64) {
        let current = self.store.generation();
        let cell = self.cell(holder);
        let mut l = lock(&cell.lease);
        if generation != current {
            return (0, l.held);
        }
        l.adopt(current);
        l.held = l.held.saturating_add(amount);
        l.last_used = Some(Instant::now());
        let give = l.trim();
        (give, l.held)
    }

    /// Settles a reservation of `reserved` taken under `generation` at a cost of
    /// `actual`: the unused part goes back into the lease, and the charge is at most the
    /// reservation plus what the lease holds (both already taken from the balance, so the
    /// balance never goes below zero). When the generation is no longer this replica's,
    /// the recovery gave the reservation back: the whole cost is a plain charge, which
    /// the ledger takes from the balance itself (never below zero either).
    pub fn refund_capped(
        &self,
        holder: Holder,
        reserved: i64,
        actual: i64,
        generation: i64,
    ) -> Refunded {
        let current = self.store.generation();
        let cell = self.cell(holder);
        let mut l = lock(&cell.lease);
        if reserved != 0 && generation != current {
            return Refunded {
                charged: actual,
                give: 0,
                held: l.held,
                generation,
            };
        }
        // From here on the lease is this registration's (what it held under a gone one is
        // dropped): with nothing reserved, the charge comes out of what it holds.
        l.adopt(current);
        let generation = current;
        let charged = actual.min(reserved.saturating_add(l.held.max(0)));
        l.held = l.held.saturating_add(reserved.saturating_sub(charged));
        l.last_used = Some(Instant::now());
        let give = l.trim();
        Refunded {
            charged,
            give,
            held: l.held,
            generation,
        }
    }

    /// Call before reading balances to show with [`show_user`](Self::show_user) or
    /// [`show_token`](Self::show_token), and keep until they are shown: leases stay in
    /// memory meanwhile (the sweeper skips its turn), and what was already given back is
    /// written first, so each amount is counted exactly once.
    pub async fn steady(&self) -> Steady<'_> {
        let guard = self.steady.read().await;
        self.ledger.flush().await;
        guard
    }

    /// What this replica holds of a balance (added to the balance it shows).
    pub fn held(&self, holder: Holder) -> i64 {
        let cell = lock(&self.cells).get(&holder).cloned();
        let current = self.store.generation();
        cell.map_or(0, |c| {
            let l = lock(&c.lease);
            if l.generation == current {
                l.held
            } else {
                0
            }
        })
    }

    /// The key as a reader should see it: its balance includes what this replica holds.
    pub fn show_token(&self, mut t: Token) -> Token {
        if !t.unlimited_quota {
            t.remain_quota = t
                .remain_quota
                .saturating_add(self.held(Holder::Token(t.id)));
        }
        t
    }

    /// The user as a reader should see it (see `show_token`).
    pub fn show_user(&self, mut u: User) -> User {
        u.quota = u.quota.saturating_add(self.held(Holder::User(u.id)));
        u
    }

    /// Gives back this replica's lease on a balance and waits until it is written: before
    /// an admin sets the balance, so the new figure is not inflated later.
    pub async fn release(&self, holder: Holder) {
        let cell = self.cell(holder);
        let _turn = cell.topping_up.lock().await;
        let (amount, generation) = {
            let mut l = lock(&cell.lease);
            l.keep = 0;
            (std::mem::take(&mut l.held), l.generation)
        };
        self.ledger.give_back(holder, amount, generation);
        self.ledger.flush().await;
    }

    /// Forgets what this replica holds without giving it back: another replica found this
    /// one's heartbeat stale and has already returned its leases to the balances.
    fn abandon(&self) {
        for cell in lock(&self.cells).values() {
            let mut l = lock(&cell.lease);
            l.held = 0;
            l.keep = 0;
        }
    }

    /// Gives back every lease unused for `idle_for` and forgets balances nobody uses.
    /// Skips its turn while a reader holds [`steady`](Self::steady).
    pub fn sweep(&self, idle_for: Duration) {
        if let Ok(_no_reader) = self.steady.try_write() {
            self.give_back_idle(idle_for);
        }
    }

    /// Gives back every lease (a graceful stop), once the readers in progress are done.
    pub async fn give_back_all(&self) {
        let _no_reader = self.steady.write().await;
        self.give_back_idle(Duration::ZERO);
    }

    fn give_back_idle(&self, idle_for: Duration) {
        let mut cells = lock(&self.cells);
        cells.retain(|holder, cell| {
            let Ok(_turn) = cell.topping_up.try_lock() else {
                return true;
            };
            let mut l = lock(&cell.lease);
            if l.last_used.is_some_and(|t| t.elapsed() < idle_for) {
                return true;
            }
            self.ledger
                .give_back(*holder, std::mem::take(&mut l.held), l.generation);
            l.keep = 0;
            drop(l);
            Arc::strong_count(cell) > 1
        });
    }
}

fn re_registering() -> DbError {
    DbError::Unavailable(
        "this replica was taken for dead while cut off from the database and is registering \
         again; try again in a few seconds"
            .into(),
    )
}
