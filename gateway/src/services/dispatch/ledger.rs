//! The settlement writer: one background task applies settlements (quota returns,
//! counters, the log row), coalescing whatever is queued into one batch so the database
//! is not hit once per request and requests never wait for it. Reads through `/api` call
//! `flush` first, so a user reading their balance or logs sees every request that has
//! already answered. Graceful shutdown drains it.

use crate::store::ledger::{Holder, LedgerEntry, Settlement};
use crate::store::Store;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

enum Msg {
    Entry(LedgerEntry),
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
}

const MAX_BATCH: usize = 512;
/// How long the writer gathers entries before it writes them: long enough that a busy
/// gateway writes a few dozen transactions a second, short enough that a crash loses
/// little.
pub const GATHER: Duration = Duration::from_millis(20);
/// The same for D1, where every batch is a call to Cloudflare's rate-limited API.
pub const GATHER_D1: Duration = Duration::from_secs(1);

impl Ledger {
    /// Starts the writer task on the current runtime; it writes every `gather`.
    pub fn spawn(store: Arc<dyn Store>, gather: Duration) -> (Ledger, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let hurry = Arc::new(Notify::new());
        let handle = tokio::spawn(run(store, rx, pending.clone(), hurry.clone(), gather));
        (Ledger { tx, pending, hurry }, handle)
    }

    /// Queues a settlement; it is written in the next batch.
    pub fn settle(&self, s: Settlement) {
        self.push(LedgerEntry::Settle(Box::new(s)));
    }

    /// Queues quota a lease gives back to its holder's balance.
    pub fn give_back(&self, holder: Holder, amount: i64) {
        if amount != 0 {
            self.push(LedgerEntry::Return { holder, amount });
        }
    }

    fn push(&self, e: LedgerEntry) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(Msg::Entry(e)).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            log::error!("settlement lost: ledger writer has stopped");
        }
    }

    /// Waits until everything queued before this call is written; says whether anything
    /// was queued.
    pub async fn flush(&self) -> bool {
        if self.pending.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            self.hurry.notify_one();
            let _ = done.await;
        }
        true
    }

    /// Asks the writer to finish what is queued and stop.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Close);
        self.hurry.notify_one();
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    pending: Arc<AtomicUsize>,
    hurry: Arc<Notify>,
    gather: Duration,
) {
    let mut closing = false;
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
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Entry(e) => batch.push(e),
                Msg::Flush(ack) => acks.push(ack),
                Msg::Close => closing = true,
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            write(&*store, &batch).await;
            pending.fetch_sub(batch.len(), Ordering::SeqCst);
        }
        for a in acks {
            let _ = a.send(());
        }
        if closing && rx.is_empty() {
            break;
        }
    }
}

/// Writes a batch; if the batch fails, each entry is retried alone so one bad row
/// cannot lose the others.
async fn write(store: &dyn Store, batch: &[LedgerEntry]) {
    if let Err(e) = store.apply(batch).await {
        log::warn!(
            "settlement batch of {} failed ({e}); retrying one by one",
            batch.len()
        );
        for entry in batch {
            let mut attempts = 0;
            while let Err(e) = store.apply(std::slice::from_ref(entry)).await {
                attempts += 1;
                if attempts >= 3 {
                    match entry {
                        LedgerEntry::Settle(s) => log::error!(
                            "settlement for request {} failed permanently: {e}",
                            s.log.request_id
                        ),
                        LedgerEntry::Return { holder, amount } => log::error!(
                            "returning {amount} quota to {holder:?} failed permanently: {e}"
                        ),
                    }
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempts)).await;
            }
        }
    }
}
