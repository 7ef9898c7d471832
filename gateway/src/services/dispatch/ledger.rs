//! The settlement writer: one background task applies settlements (quota returns,
//! counters, the log row), coalescing whatever is queued into one batch so the database
//! is not hit once per request and requests never wait for it. Reads through `/api` call
//! `flush` first, so a user reading their balance or logs sees every request that has
//! already answered. Graceful shutdown drains it.

use crate::metrics::Metrics;
use crate::store::ledger::{Holder, LedgerEntry, Settlement};
use crate::store::{DbError, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify};

enum Msg {
    /// The entry and when it was queued (for the writer-lag metric).
    Entry(LedgerEntry, Instant),
    Flush(oneshot::Sender<()>),
    Close,
}

#[derive(Clone)]
pub struct Ledger {
    tx: mpsc::UnboundedSender<Msg>,
    /// Entries queued but not yet written; lets `flush` skip the queue when it is empty.
    pending: Arc<AtomicUsize>,
    /// Cuts the writer's gathering short (flush, shutdown).
    hurry: Arc<Notify>,
    /// Whether the writer's last try failed, and how many tries have failed so far.
    stalled: watch::Sender<Stall>,
    /// When the writer began the try it is waiting on, if any.
    trying_since: Arc<Mutex<Option<Instant>>>,
    metrics: Arc<Metrics>,
}

const MAX_BATCH: usize = 512;
/// Paid requests are refused (503) while this many settlements wait to be written, so an
/// outage bounds memory instead of letting the queue grow without end.
pub const MAX_BACKLOG: usize = 50_000;
/// How long the writer gathers entries before it writes them (`SETTLEMENT_INTERVAL_MS`).
/// A transaction costs far more than the rows in it (on SQLite, the WAL commit of every
/// page it touches; on D1, a call to Cloudflare's rate-limited API), so an idle gateway
/// should not pay one per request. Nothing waits on it: `/api` reads flush first, quota
/// is admitted from leases, and graceful stops drain it. What a longer interval risks is
/// only a SIGKILL's loss: the requests answered in its last interval are not billed (their
/// reservations go back through the lease records). A full batch is written at once.
pub const GATHER: Duration = Duration::from_millis(1000);
/// A try unanswered this long means the writer is behind (see `Ledger::behind`).
const SLOW_TRY: Duration = Duration::from_millis(250);
/// How often the writer forgets old batch ids.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Ledger {
    /// Starts the writer task on the current runtime; it writes every `gather`.
    pub fn spawn(
        store: Arc<dyn Store>,
        gather: Duration,
        metrics: Arc<Metrics>,
    ) -> (Ledger, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let hurry = Arc::new(Notify::new());
        let (stalled, _) = watch::channel(Stall::default());
        let trying_since = Arc::new(Mutex::new(None));
        let writer = Writer {
            store,
            pending: pending.clone(),
            hurry: hurry.clone(),
            stalled: stalled.clone(),
            trying_since: trying_since.clone(),
            gather,
            metrics: metrics.clone(),
        };
        let handle = tokio::spawn(run(writer, rx));
        (
            Ledger {
                tx,
                pending,
                hurry,
                stalled,
                trying_since,
                metrics,
            },
            handle,
        )
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Settlements queued and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Entries queued and not yet written: grows only while the database is unreachable.
    pub fn backlog(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Whether settlements are not being written now: the writer's last try failed, or
    /// the one it is on has waited for the database for a while. Quota given back then
    /// would only wait in the queue, so idle leases are kept (they still pay for requests).
    pub fn behind(&self) -> bool {
        self.stalled.borrow().stalled
            || lock(&self.trying_since).is_some_and(|t| t.elapsed() >= SLOW_TRY)
    }

    /// Queues a settlement; it is written in the next batch.
    pub fn settle(&self, s: Settlement) {
        self.push(LedgerEntry::Settle(s));
    }

    /// Queues quota a lease taken under `generation` gives back to its holder's balance.
    pub fn give_back(&self, holder: Holder, amount: i64, generation: i64) {
        if amount != 0 {
            self.push(LedgerEntry::Return {
                holder,
                amount,
                generation,
            });
        }
    }

    fn push(&self, e: LedgerEntry) {
        // A full batch need not wait out the interval; waking the writer once, as the
        // queue crosses the mark, is enough (it then drains without sleeping).
        if self.pending.fetch_add(1, Ordering::SeqCst) + 1 == MAX_BATCH {
            self.hurry.notify_one();
        }
        if self.tx.send(Msg::Entry(e, Instant::now())).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            log::error!("settlement lost: ledger writer has stopped");
        }
    }

    /// Waits until everything queued before this call is written; says whether anything
    /// was queued. While the database does not take the writer's batches it waits only
    /// for the writer's next try (which it hurries), so readers fail fast instead of
    /// hanging for the length of an outage.
    pub async fn flush(&self) -> bool {
        if self.pending.load(Ordering::SeqCst) == 0 {
            return false;
        }
        // Counted before the writer is hurried, so the try it makes now is the one awaited.
        let mut stall = self.stalled.subscribe();
        let failed_before = stall.borrow_and_update().failures;
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            self.hurry.notify_one();
            let give_up = async {
                if stall
                    .wait_for(|s| s.failures > failed_before)
                    .await
                    .is_err()
                {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = done => {}
                () = give_up => log::debug!("flush: the settlement writer is waiting for the database"),
            }
        }
        true
    }

    /// Asks the writer to finish what is queued and stop.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Close);
        self.hurry.notify_one();
    }
}

/// The writer's failed tries, watched by flushes.
#[derive(Debug, Default, Clone, Copy)]
struct Stall {
    stalled: bool,
    failures: u64,
}

/// What the writer task owns.
struct Writer {
    store: Arc<dyn Store>,
    pending: Arc<AtomicUsize>,
    hurry: Arc<Notify>,
    stalled: watch::Sender<Stall>,
    trying_since: Arc<Mutex<Option<Instant>>>,
    gather: Duration,
    metrics: Arc<Metrics>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn run(w: Writer, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let Writer {
        store,
        pending,
        hurry,
        stalled,
        trying_since,
        gather,
        metrics,
    } = w;
    let tries = Tries {
        hurry: &hurry,
        stalled: &stalled,
        trying_since: &trying_since,
    };
    let mut closing = false;
    let mut last_pruned = tokio::time::Instant::now();
    while let Some(first) = rx.recv().await {
        // Gather for a moment: one transaction per few milliseconds instead of one per
        // request keeps the database's writer mostly idle under load. The writer sleeps
        // rather than waiting on the queue meanwhile, so queueing a settlement does not
        // wake another thread each time; a flush or shutdown cuts the sleep short.
        if !matches!(first, Msg::Flush(_) | Msg::Close) && rx.len() < MAX_BATCH {
            tokio::select! {
                () = tokio::time::sleep(gather) => {}
                () = hurry.notified() => {}
            }
        }
        let mut batch = Vec::new();
        let mut oldest: Option<Instant> = None;
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Entry(e, queued) => {
                    oldest.get_or_insert(queued);
                    batch.push(e);
                }
                Msg::Flush(ack) => acks.push(ack),
                Msg::Close => closing = true,
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let began = Instant::now();
            write(&*store, &batch, &tries).await;
            pending.fetch_sub(batch.len(), Ordering::SeqCst);
            let lag = oldest.map_or(0.0, |t| t.elapsed().as_secs_f64());
            metrics.settlement_written(began.elapsed().as_secs_f64(), lag);
            if last_pruned.elapsed() >= PRUNE_EVERY {
                last_pruned = tokio::time::Instant::now();
                forget_old_batches(&*store).await;
            }
        }
        for a in acks {
            let _ = a.send(());
        }
        if closing && rx.is_empty() {
            break;
        }
    }
}

/// How long a failing write waits before the next try, at most: one cheap try a second
/// while the database is away, so settlements resume within a second of its return.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Tries of a batch the database keeps refusing (while it answers) before it is split,
/// and of a single entry before it is given up as unwritable.
const REFUSALS_BEFORE_SPLIT: u32 = 3;
const REFUSALS_BEFORE_GIVING_UP: u32 = 10;
/// Batch ids are kept this long: far longer than any retry of the same batch.
const KEEP_BATCH_IDS_SECS: i64 = 24 * 3600;

/// Writes a batch exactly once. Each try carries the same id, recorded in the same
/// transaction as the batch's effects, so after a failure whose outcome is unknown (a
/// commit whose answer was lost, which D1 over HTTP can produce) the writer asks whether
/// the id is there instead of applying the batch a second time. While the database is
/// unreachable it retries without end (nothing is dropped); a batch the database keeps
/// refusing is split so one bad entry cannot hold the others back.
async fn write(store: &dyn Store, batch: &[LedgerEntry], tries: &Tries<'_>) {
    let id = crate::util::new_id().to_string();
    let mut refusals = 0u32;
    let mut attempt = 0u32;
    loop {
        tries.begin();
        let err = match store.apply(&id, batch).await {
            Ok(()) => return tries.succeeded(),
            Err(e) => e,
        };
        tries.failed();
        crate::metrics::database_error("settlement");
        attempt += 1;
        match store.batch_written(&id).await {
            Ok(true) => return tries.succeeded(),
            // Only a database that answers and still refuses counts against the batch;
            // an unreachable one is waited for without end.
            Ok(false) if !matches!(err, DbError::Unavailable(_)) => refusals += 1,
            _ => {}
        }
        if refusals >= REFUSALS_BEFORE_SPLIT && batch.len() > 1 {
            log::warn!(
                "settlement batch of {} failed {refusals} times ({err}); writing its entries one by one",
                batch.len()
            );
            for entry in batch {
                Box::pin(write(store, std::slice::from_ref(entry), tries)).await;
            }
            return;
        }
        if refusals >= REFUSALS_BEFORE_GIVING_UP {
            give_up(&batch[0], &err);
            return;
        }
        log::warn!("settlement batch not written (try {attempt}): {err}; retrying");
        tries.pause(backoff(attempt)).await;
    }
}

/// What the writer's tries tell the rest of the ledger: a failing writer marks itself
/// stalled (flushes stop waiting for it), and a flush cuts its pause short so a reader
/// arriving after the database came back does not wait for the backoff.
struct Tries<'a> {
    hurry: &'a Notify,
    stalled: &'a watch::Sender<Stall>,
    trying_since: &'a Mutex<Option<Instant>>,
}

impl Tries<'_> {
    fn begin(&self) {
        *lock(self.trying_since) = Some(Instant::now());
    }

    fn failed(&self) {
        *lock(self.trying_since) = None;
        self.stalled.send_modify(|s| {
            s.stalled = true;
            s.failures += 1;
        });
    }

    fn succeeded(&self) {
        *lock(self.trying_since) = None;
        self.stalled
            .send_if_modified(|s| std::mem::replace(&mut s.stalled, false));
    }

    async fn pause(&self, wait: Duration) {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = self.hurry.notified() => {}
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64 << attempt.min(7)).min(MAX_BACKOFF)
}

/// An entry the database refused ten times while answering other queries: a defect, not
/// an outage. Its figures go to the log so an operator can reconcile by hand.
fn give_up(entry: &LedgerEntry, err: &crate::store::DbError) {
    match entry {
        LedgerEntry::Settle(s) => log::error!(
            "settlement for request {} cannot be written ({err}): user {} used {} (returns: key {}, user {})",
            s.log.request_id(),
            s.user_id,
            s.actual,
            s.token_return,
            s.user_return
        ),
        LedgerEntry::Return { holder, amount, .. } => {
            log::error!("returning {amount} quota to {holder:?} cannot be written ({err})")
        }
    }
}

/// Drops batch ids old enough that no retry can still ask for them.
async fn forget_old_batches(store: &dyn Store) {
    if let Err(e) = store
        .forget_batches(crate::util::now() - KEEP_BATCH_IDS_SECS)
        .await
    {
        log::warn!("could not forget old settlement batch ids: {e}");
    }
}
