//! The graceful stop and its grace (`SHUTDOWN_GRACE_SECS`).
//!
//! SIGTERM or SIGINT (or `StopHandle::stop`) starts it: the server stops accepting, and
//! requests in flight may run on for the grace. Streams still open when it is over end
//! themselves with an error event and a log row that says the shutdown cut them (not the
//! client); anything actix has to drop after that is labelled the same way.

use std::future::pending;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How much longer actix waits than the grace, so streams ended at the grace can send
/// their last event and settle normally before workers are dropped.
pub const FORCED_STOP_MARGIN_SECS: u64 = 3;

pub struct Shutdown {
    /// When the stop began; `None` while serving.
    began: watch::Sender<Option<Instant>>,
    grace: Duration,
}

impl Shutdown {
    pub fn new(grace: Duration) -> Arc<Self> {
        Arc::new(Shutdown {
            began: watch::channel(None).0,
            grace,
        })
    }

    /// Records the start of the stop (once).
    pub fn begin(&self) {
        self.began.send_if_modified(|b| {
            if b.is_some() {
                return false;
            }
            *b = Some(Instant::now());
            true
        });
    }

    pub fn watch(&self) -> ShutdownWatch {
        ShutdownWatch {
            began: self.began.subscribe(),
            grace: self.grace,
        }
    }
}

/// A view of the shutdown for code that runs on the HTTP workers.
#[derive(Clone)]
pub struct ShutdownWatch {
    began: watch::Receiver<Option<Instant>>,
    grace: Duration,
}

impl ShutdownWatch {
    /// Resolves when a stop has begun and its grace is over; never while serving.
    pub async fn grace_over(&mut self) {
        loop {
            let began = *self.began.borrow_and_update();
            if let Some(t) = began {
                tokio::time::sleep_until((t + self.grace).into()).await;
                return;
            }
            if self.began.changed().await.is_err() {
                pending::<()>().await;
            }
        }
    }

    /// Whether the grace of a stop is already over (what cut a request dropped now).
    pub fn is_over(&self) -> bool {
        self.began
            .borrow()
            .is_some_and(|t| t.elapsed() >= self.grace)
    }

    /// The log row's words for a request the shutdown cut.
    pub fn cut_message(&self) -> String {
        format!(
            "cut by the gateway's shutdown (SHUTDOWN_GRACE_SECS={} over)",
            self.grace.as_secs()
        )
    }
}

/// Resolves on SIGTERM or SIGINT, having recorded the start of the stop.
pub async fn on_signal(shutdown: Arc<Shutdown>) {
    wait_for_signal().await;
    log::info!("stop signal received; finishing requests in flight");
    shutdown.begin();
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("cannot listen for SIGTERM/SIGINT; stop the gateway with SIGKILL");
        return pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        pending::<()>().await;
    }
}

/// Stops the server the way SIGTERM does, or at once (`graceful = false`).
#[derive(Clone)]
pub struct StopHandle {
    pub(crate) server: actix_web::dev::ServerHandle,
    pub(crate) shutdown: Arc<Shutdown>,
}

impl StopHandle {
    pub async fn stop(&self, graceful: bool) {
        if graceful {
            self.shutdown.begin();
        }
        self.server.stop(graceful).await;
    }
}
