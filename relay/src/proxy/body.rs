//! The request body on its way up: streamed, size-capped and idle-timed, never buffered.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::http::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::web::{Bytes, Payload};
use futures_util::Stream;
use tokio::time::{sleep, Instant, Sleep};

use crate::error::RelayError;

/// Why the upload stream stopped; carried through awc's boxed body error and downcast.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body exceeds {0} bytes")]
    TooLarge(u64),
    #[error("request body stalled")]
    Stalled,
    #[error("request body could not be read: {0}")]
    Client(String),
}

/// How the body is framed upstream: as the caller framed it.
pub enum UpstreamBody {
    Empty,
    Sized(u64, LimitedPayload),
    Chunked(LimitedPayload),
}

impl UpstreamBody {
    /// Picks the framing from the caller's headers; a declared length over the limit is
    /// refused before any upstream connection is made.
    pub fn new(
        headers: &HeaderMap,
        payload: Payload,
        max: u64,
        idle: Duration,
    ) -> Result<Self, RelayError> {
        let limited = LimitedPayload::new(payload, max, idle);
        if let Some(value) = headers.get(CONTENT_LENGTH) {
            let length: u64 = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| RelayError::BadRequest("invalid Content-Length".into()))?;
            if length > max {
                return Err(RelayError::BodyTooLarge(max));
            }
            return Ok(Self::Sized(length, limited));
        }
        if headers.contains_key(TRANSFER_ENCODING) {
            return Ok(Self::Chunked(limited));
        }
        Ok(Self::Empty)
    }
}

/// The caller's payload with a byte cap and an idle timer.
pub struct LimitedPayload {
    inner: Payload,
    seen: u64,
    max: u64,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl LimitedPayload {
    fn new(inner: Payload, max: u64, idle: Duration) -> Self {
        Self {
            inner,
            seen: 0,
            max,
            idle,
            timer: Box::pin(sleep(idle)),
            done: false,
        }
    }

    fn fail(&mut self, err: BodyError) -> Poll<Option<Result<Bytes, BodyError>>> {
        self.done = true;
        Poll::Ready(Some(Err(err)))
    }
}

impl Stream for LimitedPayload {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen = self.seen.saturating_add(chunk.len() as u64);
                if self.seen > self.max {
                    let max = self.max;
                    return self.fail(BodyError::TooLarge(max));
                }
                let deadline = Instant::now() + self.idle;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => self.fail(BodyError::Client(err.to_string())),
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => self.fail(BodyError::Stalled),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
