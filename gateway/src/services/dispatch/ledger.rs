//! The settlement writer: one background task applies settlements (quota refunds or
//! charges, counters, the log row), coalescing whatever is queued into one batch so
//! SQLite's single writer is not hit once per request. Graceful shutdown drains it.

use crate::store::ledger::Settlement;
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

enum Msg {
    Settle(Box<Settlement>, Option<oneshot::Sender<()>>),
    Close,
}

#[derive(Clone)]
pub struct Ledger {
    tx: mpsc::UnboundedSender<Msg>,
}

const MAX_BATCH: usize = 256;

impl Ledger {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Arc<dyn Store>) -> (Ledger, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(run(store, rx));
        (Ledger { tx }, handle)
    }

    /// Queues a settlement and waits until it is written.
    pub async fn settle(&self, s: Settlement) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Settle(Box::new(s), Some(ack))).is_ok() {
            let _ = done.await;
        } else {
            log::error!("settlement lost: ledger writer has stopped");
        }
    }

    /// Queues a settlement without waiting (from `Drop`, when a client went away).
    pub fn settle_detached(&self, s: Settlement) {
        if self.tx.send(Msg::Settle(Box::new(s), None)).is_err() {
            log::error!("settlement lost: ledger writer has stopped");
        }
    }

    /// Asks the writer to finish what is queued and stop.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Close);
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut closing = false;
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Settle(s, ack) => {
                    batch.push(*s);
                    acks.extend(ack);
                }
                Msg::Close => closing = true,
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            write(&*store, &batch).await;
        }
        for a in acks {
            let _ = a.send(());
        }
        if closing && rx.is_empty() {
            break;
        }
    }
}

/// Writes a batch; if the batch fails, each item is retried alone so one bad row
/// cannot lose the others.
async fn write(store: &dyn Store, batch: &[Settlement]) {
    if let Err(e) = store.settle(batch).await {
        log::warn!(
            "settlement batch of {} failed ({e}); retrying one by one",
            batch.len()
        );
        for s in batch {
            let mut attempts = 0;
            while let Err(e) = store.settle(std::slice::from_ref(s)).await {
                attempts += 1;
                if attempts >= 3 {
                    log::error!(
                        "settlement for request {} failed permanently: {e}",
                        s.log.request_id
                    );
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempts)).await;
            }
        }
    }
}
