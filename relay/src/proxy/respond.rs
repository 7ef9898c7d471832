//! Phase 5: stream the upstream response back chunk by chunk as it arrives.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse};
use awc::body::SizedStream;
use awc::ClientResponse;
use futures_util::stream::LocalBoxStream;
use futures_util::{Stream, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{sleep, Instant, Sleep};

use super::access_log::AccessLog;
use super::headers::client_response_headers;

/// Builds the caller's response; the body holds the concurrency permit and the upstream
/// connection, so both are released the moment the caller goes away.
pub fn stream_back(
    mut upstream: ClientResponse,
    mut log: AccessLog,
    permit: OwnedSemaphorePermit,
    idle: Duration,
) -> HttpResponse {
    let status = upstream.status();
    log.upstream_responded(status.as_u16());
    let mut response = HttpResponse::build(status);
    for (name, value) in client_response_headers(upstream.headers(), log.request_id()).iter() {
        response.append_header((name.clone(), value.clone()));
    }
    if status.is_informational() || status.as_u16() == 204 || status.as_u16() == 304 {
        log.finish("complete");
        return response.finish();
    }
    let length = upstream
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = UpstreamBody {
        inner: upstream.take_payload().boxed_local(),
        timer: Box::pin(sleep(idle)),
        idle,
        restart_timer: false,
        log,
        _permit: permit,
        done: false,
    };
    match length {
        Some(length) => response.body(SizedStream::new(length, body)),
        None => response.streaming(body),
    }
}

/// Why the response body stopped early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("upstream went silent for longer than the idle timeout")]
    Idle,
    #[error("upstream body failed: {0}")]
    Upstream(String),
}

struct UpstreamBody {
    inner: LocalBoxStream<'static, Result<Bytes, awc::error::PayloadError>>,
    timer: Pin<Box<Sleep>>,
    idle: Duration,
    /// Set after yielding a chunk: time spent waiting for the caller to read does not
    /// count as upstream silence.
    restart_timer: bool,
    log: AccessLog,
    _permit: OwnedSemaphorePermit,
    done: bool,
}

impl Stream for UpstreamBody {
    type Item = Result<Bytes, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.restart_timer {
            this.restart_timer = false;
            this.timer.as_mut().reset(Instant::now() + this.idle);
        }
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.log.add_bytes(chunk.len());
                this.restart_timer = true;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                this.done = true;
                this.log.finish("upstream_error");
                Poll::Ready(Some(Err(StreamError::Upstream(err.to_string()))))
            }
            Poll::Ready(None) => {
                this.done = true;
                this.log.finish("complete");
                Poll::Ready(None)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    this.log.finish("idle_timeout");
                    Poll::Ready(Some(Err(StreamError::Idle)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
