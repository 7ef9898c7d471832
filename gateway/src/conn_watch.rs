//! A deadline for the request heads that actix-web leaves unbounded.
//!
//! actix-http times out only a connection's *first* request head: on a kept-alive
//! connection, once a byte of the next head has arrived, neither its head timer nor its
//! keep-alive timer runs, so a client can hold the connection with half a head forever.
//! Each connection therefore gets a watchdog on its worker thread: when the connection has
//! had no request in progress for `KEEP_ALIVE + REQUEST_HEADER_TIMEOUT_SECS + WRITE_SLACK`
//! (longer than actix lets an idle connection live), the socket is shut down.

use std::any::Any;
use std::cell::Cell;
use std::os::fd::AsFd;
use std::rc::{Rc, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// actix-web's default keep-alive, which the server keeps.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Room for the end of an answer, already handed to actix, to reach a slow reader: a
/// connection counts as idle from when its answer's body ended, not from its last byte sent.
pub const WRITE_SLACK: Duration = Duration::from_secs(10);

/// One connection's activity, kept in its connection data. Requests only update it; the
/// watchdog reads it when its own timer fires (at most once per limit), so a request costs
/// no wake-up of the watchdog.
pub struct ConnState {
    busy: Cell<u32>,
    idle_since: Cell<Instant>,
    /// Wakes the watchdog when the connection ends, so its copy of the socket goes at once.
    closed: Rc<Notify>,
}

impl Drop for ConnState {
    fn drop(&mut self) {
        self.closed.notify_one();
    }
}

/// Marks the connection busy while a request (and its answer) is in progress.
pub struct Busy(Rc<ConnState>);

impl Busy {
    pub fn start(state: &Rc<ConnState>) -> Self {
        state.busy.set(state.busy.get().saturating_add(1));
        Busy(state.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let s = &self.0;
        s.busy.set(s.busy.get().saturating_sub(1));
        s.idle_since.set(Instant::now());
    }
}

/// The connection data the middleware looks up.
#[derive(Clone)]
pub struct ConnHandle(pub Rc<ConnState>);

/// `HttpServer::on_connect`: starts the watchdog of a plain TCP connection.
pub fn on_connect(conn: &dyn Any, data: &mut actix_web::dev::Extensions, limit: Duration) {
    let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
        return;
    };
    // A duplicate of the socket, so it can be shut down later; dropped as soon as the
    // connection ends so it never keeps a closed connection's socket alive.
    let Ok(fd) = tcp.as_fd().try_clone_to_owned() else {
        return;
    };
    let closed = Rc::new(Notify::new());
    let state = Rc::new(ConnState {
        busy: Cell::new(0),
        idle_since: Cell::new(Instant::now()),
        closed: closed.clone(),
    });
    let weak = Rc::downgrade(&state);
    data.insert(ConnHandle(state));
    actix_web::rt::spawn(watch(weak, closed, std::net::TcpStream::from(fd), limit));
}

async fn watch(
    state: Weak<ConnState>,
    closed: Rc<Notify>,
    socket: std::net::TcpStream,
    limit: Duration,
) {
    loop {
        // While a request is in progress, look again a limit later; once idle, sleep
        // until the idle time reaches the limit, then look again: a request that came and
        // went meanwhile has moved `idle_since` on, and the sleep starts over from there.
        let wake = {
            let Some(s) = state.upgrade() else {
                return;
            };
            if s.busy.get() > 0 {
                Instant::now() + limit
            } else {
                let at = s.idle_since.get() + limit;
                if Instant::now() >= at {
                    log::debug!("closing a connection that sent no complete request head in time");
                    let _ = socket.shutdown(std::net::Shutdown::Both);
                    return;
                }
                at
            }
        };
        tokio::select! {
            _ = closed.notified() => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}
