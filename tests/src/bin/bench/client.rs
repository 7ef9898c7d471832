//! The load generator's HTTP/1.1 client: one keep-alive TCP connection per virtual user,
//! a pre-encoded request written in one call, the response parsed with `httparse` and
//! de-chunked by hand, SSE events timed as they complete. The same code, byte for byte
//! the same request apart from the key, runs against every path.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one request/response exchange measured.
#[derive(Debug, Clone)]
pub struct Sample {
    pub status: u16,
    /// From writing the request to the last body byte.
    pub total: Duration,
    /// From writing the request to the first complete SSE data event (streams).
    pub first_event: Option<Duration>,
    /// SSE data events received (including `[DONE]`).
    pub events: u32,
    /// Longest pause between two consecutive SSE events.
    pub max_gap: Duration,
    /// Whether `data: [DONE]` arrived.
    pub done: bool,
    /// The start of the body of a non-200 answer, for the error report.
    pub error_body: String,
    /// Whether the connection can carry another request.
    pub reusable: bool,
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

pub struct Conn {
    io: TcpStream,
    buf: BytesMut,
}

const MAX_HEAD: usize = 64 * 1024;

impl Conn {
    pub async fn connect(port: u16) -> Result<Conn, String> {
        let io = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        io.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            io,
            buf: BytesMut::with_capacity(16 * 1024),
        })
    }

    async fn fill(&mut self) -> Result<(), String> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) => Err("connection closed by server".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// Sends `request` and reads the whole response; `sse` turns on event counting.
    pub async fn exchange(&mut self, request: &[u8], sse: bool) -> Result<Sample, String> {
        self.buf.clear();
        let start = Instant::now();
        self.io
            .write_all(request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let (status, framing, close) = self.read_head().await?;
        let mut body = Body::new(start, sse, status != 200);
        let mut reusable = !close;
        match framing {
            Framing::Length(n) => {
                while self.buf.len() < n {
                    self.fill().await?;
                }
                let data = self.buf.split_to(n);
                body.bytes(&data, Instant::now());
            }
            Framing::Chunked => self.read_chunked(&mut body).await?,
            Framing::UntilClose => {
                reusable = false;
                loop {
                    let data = self.buf.split();
                    body.bytes(&data, Instant::now());
                    if self.fill().await.is_err() {
                        break;
                    }
                }
            }
        }
        Ok(body.finish(status, reusable))
    }

    async fn read_head(&mut self) -> Result<(u16, Framing, bool), String> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 48];
            let mut res = httparse::Response::new(&mut headers);
            match res.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = res.code.unwrap_or(0);
                    let mut framing = Framing::UntilClose;
                    let mut close = res.version == Some(0);
                    for h in res.headers.iter() {
                        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
                        if h.name.eq_ignore_ascii_case("content-length") {
                            let n = value.parse().map_err(|_| "bad content-length")?;
                            framing = Framing::Length(n);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && value.to_ascii_lowercase().contains("chunked")
                        {
                            framing = Framing::Chunked;
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            close = value.eq_ignore_ascii_case("close");
                        }
                    }
                    self.buf.advance(len);
                    // A 1xx would need another head; none of the servers sends one.
                    return Ok((status, framing, close));
                }
                Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => self.fill().await?,
                Ok(httparse::Status::Partial) => return Err("response head too large".into()),
                Err(e) => return Err(format!("bad response head: {e}")),
            }
        }
    }

    async fn line_end(&mut self) -> Result<usize, String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                return Ok(i);
            }
            if self.buf.len() > MAX_HEAD {
                return Err("chunk size line too long".into());
            }
            self.fill().await?;
        }
    }

    async fn read_chunked(&mut self, body: &mut Body) -> Result<(), String> {
        loop {
            let eol = self.line_end().await?;
            let line = std::str::from_utf8(&self.buf[..eol]).map_err(|_| "bad chunk size")?;
            let hex = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(hex, 16).map_err(|_| "bad chunk size")?;
            self.buf.advance(eol + 2);
            if size == 0 {
                // Trailer lines up to the empty one.
                loop {
                    let eol = self.line_end().await?;
                    self.buf.advance(eol + 2);
                    if eol == 0 {
                        return Ok(());
                    }
                }
            }
            // Data as it arrives (a big chunk may span many reads), then the CRLF.
            let mut left = size;
            while left > 0 {
                if self.buf.is_empty() {
                    self.fill().await?;
                }
                let take = left.min(self.buf.len());
                let data = self.buf.split_to(take);
                body.bytes(&data, Instant::now());
                left -= take;
            }
            while self.buf.len() < 2 {
                self.fill().await?;
            }
            if &self.buf[..2] != b"\r\n" {
                return Err("chunk not followed by CRLF".into());
            }
            self.buf.advance(2);
        }
    }
}

/// Accumulates what the body tells: SSE events and their timing, or an error's text.
struct Body {
    start: Instant,
    sse: bool,
    keep_error: bool,
    error_body: Vec<u8>,
    pending: Vec<u8>,
    events: u32,
    first_event: Option<Duration>,
    last_event: Option<Instant>,
    max_gap: Duration,
    done: bool,
}

impl Body {
    fn new(start: Instant, sse: bool, keep_error: bool) -> Body {
        Body {
            start,
            sse,
            keep_error,
            error_body: Vec::new(),
            pending: Vec::new(),
            events: 0,
            first_event: None,
            last_event: None,
            max_gap: Duration::ZERO,
            done: false,
        }
    }

    fn bytes(&mut self, data: &[u8], now: Instant) {
        if data.is_empty() {
            return;
        }
        if self.keep_error {
            let room = 300usize.saturating_sub(self.error_body.len());
            self.error_body
                .extend_from_slice(&data[..room.min(data.len())]);
            return;
        }
        if !self.sse {
            return;
        }
        self.pending.extend_from_slice(data);
        let mut from = 0;
        while let Some((end, sep)) = event_end(&self.pending[from..]) {
            let event = &self.pending[from..from + end];
            if event.starts_with(b"data:") || find(event, b"\ndata:").is_some() {
                self.events += 1;
                match self.last_event {
                    Some(last) => self.max_gap = self.max_gap.max(now - last),
                    None => self.first_event = Some(now - self.start),
                }
                self.last_event = Some(now);
                if find(event, b"[DONE]").is_some() {
                    self.done = true;
                }
            }
            from += end + sep;
        }
        self.pending.drain(..from);
    }

    fn finish(self, status: u16, reusable: bool) -> Sample {
        Sample {
            status,
            total: self.start.elapsed(),
            first_event: self.first_event,
            events: self.events,
            max_gap: self.max_gap,
            done: self.done,
            error_body: String::from_utf8_lossy(&self.error_body).into_owned(),
            reusable,
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// End of the first SSE event in `buf` and the length of its blank-line separator
/// (`\n\n` or `\n\r\n`, which covers `\r\n\r\n`).
fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(at) = buf[i..].iter().position(|b| *b == b'\n') {
        let nl = i + at;
        match (buf.get(nl + 1), buf.get(nl + 2)) {
            (Some(b'\n'), _) => return Some((nl, 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((nl, 3)),
            _ => i = nl + 1,
        }
    }
    None
}

/// A POST of `body` to `path` with the bearer `key`, encoded once.
pub fn request(port: u16, path: &str, key: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nAccept: */*\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_on_blank_lines() {
        assert_eq!(event_end(b"data: a\n\ndata: b"), Some((7, 2)));
        assert_eq!(event_end(b"data: a\r\n\r\n"), Some((8, 3)));
        assert_eq!(event_end(b"data: a\n"), None);
    }
}
