//! Reading requests off a connection: the head via httparse, then a Content-Length or
//! chunked body.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncReadExt;

use super::http::Conn;
use super::reply::RecordedRequest;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

impl Conn {
    pub(super) async fn read_request(&mut self) -> io::Result<Option<RecordedRequest>> {
        let (method, target, headers, head_len) = loop {
            if !self.buf.is_empty() {
                let mut slots = [httparse::EMPTY_HEADER; 128];
                let mut parsed = httparse::Request::new(&mut slots);
                match parsed.parse(&self.buf).map_err(invalid)? {
                    httparse::Status::Complete(len) => {
                        let headers: Vec<(String, String)> = parsed
                            .headers
                            .iter()
                            .map(|h| {
                                let value = String::from_utf8_lossy(h.value).into_owned();
                                (h.name.to_ascii_lowercase(), value)
                            })
                            .collect();
                        let method = parsed.method.unwrap_or("GET").to_string();
                        let target = parsed.path.unwrap_or("/").to_string();
                        break (method, target, headers, len);
                    }
                    httparse::Status::Partial if self.buf.len() > MAX_HEAD => {
                        return Err(invalid("request head too large"));
                    }
                    httparse::Status::Partial => {}
                }
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return match self.buf.is_empty() {
                    true => Ok(None),
                    false => Err(io::ErrorKind::UnexpectedEof.into()),
                };
            }
        };
        self.buf.advance(head_len);
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.trim().to_ascii_lowercase())
        };
        if find("expect").is_some_and(|v| v == "100-continue") {
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            self.read_chunked().await?
        } else if let Some(len) = find("content-length") {
            let len: usize = len.parse().map_err(invalid)?;
            if len > MAX_BODY {
                return Err(invalid("body too large"));
            }
            self.fill(len).await?;
            self.buf.split_to(len).freeze()
        } else {
            Bytes::new()
        };
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (target, None),
        };
        let json = serde_json::from_slice(&body).ok();
        Ok(Some(RecordedRequest {
            method,
            path,
            query,
            headers,
            body,
            json,
        }))
    }

    async fn read_chunked(&mut self) -> io::Result<Bytes> {
        let mut body = BytesMut::new();
        loop {
            let line = self.read_line().await?;
            let size = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| l.split(';').next())
                .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                .ok_or_else(|| invalid("bad chunk size"))?;
            if size == 0 {
                // Trailers end with an empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body.freeze());
            }
            if body.len() + size > MAX_BODY {
                return Err(invalid("body too large"));
            }
            self.fill(size + 2).await?;
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(invalid("chunk not followed by CRLF"));
            }
            self.buf.advance(size + 2);
        }
    }

    async fn read_line(&mut self) -> io::Result<Bytes> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(pos).freeze();
                self.buf.advance(2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("line too long"));
            }
            self.read_more().await?;
        }
    }

    async fn fill(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            self.read_more().await?;
        }
        Ok(())
    }

    async fn read_more(&mut self) -> io::Result<()> {
        match self.stream.read_buf(&mut self.buf).await? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }
}

fn invalid(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}
