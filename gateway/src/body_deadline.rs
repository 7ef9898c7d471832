//! A deadline for receiving a request body (`REQUEST_BODY_TIMEOUT_SECS`).
//!
//! actix-web bounds the wait for a request head (`client_request_timeout`) but not for the
//! body: a client that declares a length and stops sending would hold its connection (and
//! a worker's attention) for as long as it likes, on any endpoint, signed in or not. Every
//! request body is therefore read through a stream that fails with `TimedOut` once the
//! deadline has passed; the body readers (`/v1`, `/api` JSON) answer that with 408, and the
//! connection is closed after the answer instead of waiting for the rest of the body.

use crate::state::AppState;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The error a late body ends with; body readers turn it into 408.
pub fn is_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut)
}

pub const TIMEOUT_MESSAGE: &str = "the request body did not arrive in time";

/// What the deadline stream shares with the middleware.
#[derive(Default)]
struct Shared {
    /// The unread rest of a late body. It is kept in the answer's body until that has been
    /// sent: a request body still held makes actix close the connection after the answer,
    /// while a dropped one would be drained, which a stalled client never lets finish.
    parked: RefCell<Option<Payload>>,
}

pin_project_lite::pin_project! {
    /// The answer's body, holding a late request body until the answer is out.
    pub struct HoldBody<B> {
        #[pin]
        body: B,
        parked: Option<Payload>,
        // Keeps the connection counted busy until the answer is out (`conn_watch`).
        busy: Option<crate::conn_watch::Busy>,
    }
}

impl<B: MessageBody> MessageBody for HoldBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.project().body.poll_next(cx)
    }

    fn try_into_bytes(self) -> Result<Bytes, Self> {
        if self.parked.is_some() {
            return Err(self);
        }
        let HoldBody { body, parked, busy } = self;
        body.try_into_bytes()
            .map_err(|body| HoldBody { body, parked, busy })
    }
}

struct DeadlineBody {
    inner: Option<Payload>,
    deadline: Instant,
    /// Made only when the body has to be waited for (see `poll_next`).
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether the body has been found not there yet once.
    waited: bool,
    shared: Rc<Shared>,
}

impl Stream for DeadlineBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(item) = inner.poll_next_unpin(cx) {
            return Poll::Ready(item);
        }
        // actix polls the handler as soon as the head is read, before it hands over the
        // body bytes that came with the head in the same read; they are there at the next
        // poll. So the first wait only asks to be polled again, and the timer (a boxed
        // entry in the runtime's wheel, ~1k instructions made and dropped) is made only
        // for a body that really is late. The deadline still counts from `arm`.
        if !this.waited {
            this.waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        if sleep.as_mut().poll(cx).is_ready() {
            *this.shared.parked.borrow_mut() = this.inner.take();
            let e = io::Error::new(io::ErrorKind::TimedOut, TIMEOUT_MESSAGE);
            return Poll::Ready(Some(Err(PayloadError::Io(e))));
        }
        Poll::Pending
    }
}

/// Whether the request announces a body (a length above zero, or chunks).
fn has_body(req: &ServiceRequest) -> bool {
    let h = req.headers();
    if h.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// A request armed with the deadline: what its answer must keep until it is sent.
pub struct Armed {
    busy: Option<crate::conn_watch::Busy>,
    shared: Option<Rc<Shared>>,
}

/// Puts the request's body (if it announces one) behind the deadline and counts the
/// connection busy. Called by the edge middleware (`middleware::edge`) before the request
/// goes on; [`Armed::finish`] goes with its answer.
pub fn arm(req: &mut ServiceRequest, started: Instant) -> Armed {
    let busy = req
        .conn_data::<crate::conn_watch::ConnHandle>()
        .map(|c| crate::conn_watch::Busy::start(&c.0));
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| Duration::from_secs(s.settings.request_body_timeout_secs));
    let shared = match limit {
        Some(limit) if has_body(req) => {
            let shared = Rc::new(Shared::default());
            let (_, payload) = req.parts_mut();
            let inner = std::mem::replace(payload, Payload::None);
            let body = DeadlineBody {
                inner: Some(inner),
                deadline: started + limit,
                sleep: None,
                waited: false,
                shared: shared.clone(),
            };
            req.set_payload(Payload::Stream {
                payload: Box::pin(body),
            });
            Some(shared)
        }
        _ => None,
    };
    Armed { busy, shared }
}

impl Armed {
    /// The answer, closing the connection after it when the body came too late.
    pub fn finish<B: MessageBody>(
        self,
        mut res: ServiceResponse<B>,
    ) -> ServiceResponse<HoldBody<B>> {
        let parked = self.shared.and_then(|s| s.parked.take());
        if parked.is_some() {
            res.response_mut()
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
        }
        let busy = self.busy;
        res.map_body(|_, body| HoldBody { body, parked, busy })
    }
}
