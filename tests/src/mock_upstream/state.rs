//! State shared between the handle and the server tasks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::reply::{MockOptions, RecordedRequest, Reply};

pub(crate) struct State {
    pub replies: Mutex<VecDeque<Reply>>,
    pub options: Mutex<MockOptions>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub connections: AtomicUsize,
    pub disconnects: AtomicUsize,
    pub active_streams: AtomicUsize,
    /// Woken on every change, so waiters need no polling.
    pub changed: Notify,
}

/// Locks ignoring poison: a panicking test thread must not break every later assertion.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub fn new(options: MockOptions) -> Self {
        Self {
            replies: Mutex::new(VecDeque::new()),
            options: Mutex::new(options),
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            disconnects: AtomicUsize::new(0),
            active_streams: AtomicUsize::new(0),
            changed: Notify::new(),
        }
    }

    pub fn counter(&self, counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    pub fn bump(&self, counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    pub fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
        self.changed.notify_waiters();
    }

    pub fn request_count(&self) -> usize {
        lock(&self.requests).len()
    }

    pub fn next_reply(&self) -> Reply {
        lock(&self.replies).pop_front().unwrap_or(Reply::Default)
    }

    pub fn options(&self) -> MockOptions {
        lock(&self.options).clone()
    }

    /// Marks a stream as active until the guard drops (also on cancellation).
    pub fn stream_guard(&self) -> StreamGuard<'_> {
        self.bump(&self.active_streams);
        StreamGuard(self)
    }

    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so a change in between is not missed.
            let notified = self.changed.notified();
            if done(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done(self);
            }
        }
    }
}

pub(crate) struct StreamGuard<'a>(&'a State);

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        self.0.active_streams.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}
