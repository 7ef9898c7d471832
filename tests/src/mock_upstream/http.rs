//! The raw HTTP/1.1 server: keep-alive connections, Content-Length and chunked request
//! bodies, and responses written in exactly the pieces the options ask for.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::router;
use super::state::State;

/// A hanging connection discards what it reads beyond this.
const MAX_BUFFERED: usize = 64 * 1024;

/// What to do with one request.
pub(crate) enum Action {
    Respond(Response),
    /// Read until the client closes; never answer.
    Hang,
    /// Write these bytes verbatim, then close.
    Raw(Vec<u8>),
}

pub(crate) struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Body,
    /// Stream: events sent before closing abruptly. Full body: close after half of it.
    pub drop_after: Option<usize>,
    pub head_delay: Duration,
    /// Pause between body writes of a stream.
    pub delay: Duration,
    pub chunk_bytes: Option<usize>,
}

pub(crate) enum Body {
    /// Sent with Content-Length.
    Full(Vec<u8>),
    /// Sent chunked, one HTTP chunk per TCP write; one entry per SSE event.
    Events(Vec<Bytes>),
}

/// Accepts connections until `cancel` fires.
pub(crate) async fn serve(listener: TcpListener, state: Arc<State>, cancel: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // E.g. EMFILE under load: back off instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        // Each write must leave at once, or split-boundary tests would test nothing.
        let _ = stream.set_nodelay(true);
        state.bump(&state.connections);
        let (state, cancel) = (state.clone(), cancel.clone());
        tokio::spawn(async move {
            let conn = Conn {
                stream,
                buf: BytesMut::with_capacity(8 * 1024),
                state,
            };
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = conn.run() => {}
            }
        });
    }
}

pub(super) struct Conn {
    pub(super) stream: TcpStream,
    /// Bytes read but not consumed yet (the next request may already be in here).
    pub(super) buf: BytesMut,
    pub(super) state: Arc<State>,
}

impl Conn {
    async fn run(mut self) {
        loop {
            let request = match self.read_request().await {
                Ok(Some(request)) => request,
                Ok(None) => return,
                Err(_) => {
                    let _ = self.write(&head(400, "text/plain", 0, false)).await;
                    return;
                }
            };
            let close = request
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
            let options = self.state.options();
            let seq = self.state.request_count() + 1;
            let action = router::route(&request, self.state.next_reply(), &options, seq);
            self.state.record(request);
            let keep_open = match action {
                Action::Respond(response) => self.respond(response).await,
                Action::Hang => {
                    self.hang().await;
                    false
                }
                Action::Raw(bytes) => {
                    let _ = self.write(&bytes).await;
                    false
                }
            };
            if !keep_open || close {
                return;
            }
        }
    }

    /// Writes one response; false when the connection must (or did) close.
    async fn respond(&mut self, response: Response) -> bool {
        if !response.head_delay.is_zero() && self.pause(response.head_delay).await {
            self.state.bump(&self.state.disconnects);
            return false;
        }
        let ok = match response.body {
            Body::Full(body) => {
                let end = match response.drop_after {
                    Some(_) => body.len() / 2,
                    None => body.len(),
                };
                let head = head(response.status, response.content_type, body.len(), false);
                let pieces = split(&body[..end], response.chunk_bytes);
                self.write(&head).await.is_ok() && self.write_all(pieces, false).await.is_ok()
            }
            Body::Events(events) => {
                let state = self.state.clone();
                let _active = state.stream_guard();
                let sent = response
                    .drop_after
                    .unwrap_or(events.len())
                    .min(events.len());
                let pieces = match response.chunk_bytes {
                    Some(_) => split(&events[..sent].concat(), response.chunk_bytes),
                    None => events[..sent].to_vec(),
                };
                let head = head(response.status, response.content_type, 0, true);
                let ok = self.write(&head).await.is_ok()
                    && self.write_all_paced(pieces, response.delay).await;
                ok && (response.drop_after.is_some() || self.write(b"0\r\n\r\n").await.is_ok())
            }
        };
        if !ok {
            self.state.bump(&self.state.disconnects);
        }
        ok && response.drop_after.is_none()
    }

    async fn write_all(&mut self, pieces: Vec<Bytes>, chunked: bool) -> io::Result<()> {
        for piece in pieces {
            self.write_piece(&piece, chunked).await?;
        }
        Ok(())
    }

    /// Writes HTTP chunks with `delay` between them; false if the client went away.
    async fn write_all_paced(&mut self, pieces: Vec<Bytes>, delay: Duration) -> bool {
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 && !delay.is_zero() && self.pause(delay).await {
                return false;
            }
            if self.write_piece(piece, true).await.is_err() {
                return false;
            }
        }
        true
    }

    async fn write_piece(&mut self, piece: &[u8], chunked: bool) -> io::Result<()> {
        if !chunked {
            return self.write(piece).await;
        }
        // Size line, data and CRLF in one write, so one TCP write = one HTTP chunk.
        let mut frame = format!("{:x}\r\n", piece.len()).into_bytes();
        frame.extend_from_slice(piece);
        frame.extend_from_slice(b"\r\n");
        self.write(&frame).await
    }

    pub(super) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Waits `duration` while watching the socket; true if the client closed it.
    async fn pause(&mut self, duration: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + duration;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return false,
                read = self.stream.read_buf(&mut self.buf) => match read {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => {} // early next request: kept in `buf`
                },
            }
        }
    }

    async fn hang(&mut self) {
        loop {
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) if self.buf.len() > MAX_BUFFERED => self.buf.clear(),
                Ok(_) => {}
            }
        }
        self.state.bump(&self.state.disconnects);
    }
}

fn split(bytes: &[u8], chunk_bytes: Option<usize>) -> Vec<Bytes> {
    match chunk_bytes {
        Some(size) => bytes
            .chunks(size.max(1))
            .map(Bytes::copy_from_slice)
            .collect(),
        None if bytes.is_empty() => Vec::new(),
        None => vec![Bytes::copy_from_slice(bytes)],
    }
}

fn head(status: u16, content_type: &str, len: usize, chunked: bool) -> Vec<u8> {
    let framing = match chunked {
        true => "transfer-encoding: chunked\r\ncache-control: no-cache".to_string(),
        false => format!("content-length: {len}"),
    };
    format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\n{framing}\r\n\
         x-mock-upstream: 1\r\n\r\n",
        reason(status)
    )
    .into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}
