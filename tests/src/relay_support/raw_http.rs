//! Minimal HTTP/1.1 reading and writing over raw sockets, for servers and clients whose
//! exact bytes the tests need to see or control.

use std::collections::HashMap;

use tokio::io::{AsyncRead, AsyncReadExt};

/// A parsed request or response head; header names are lower-cased, repeats joined by `, `.
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// Method for requests, empty for responses.
    pub method: String,
    /// Path for requests, empty for responses.
    pub path: String,
    /// Status for responses, 0 for requests.
    pub status: u16,
    pub headers: HashMap<String, String>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

const MAX_HEAD: usize = 64 * 1024;

/// Reads one head; returns it with whatever body bytes came along. `None` on EOF/garbage.
pub async fn read_head<R: AsyncRead + Unpin>(
    io: &mut R,
    is_request: bool,
) -> Option<(Head, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = parse_head(&buf[..end + 4], is_request)?;
            return Some((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    }
}

fn parse_head(bytes: &[u8], is_request: bool) -> Option<Head> {
    let mut raw_headers = [httparse::EMPTY_HEADER; 128];
    let mut head = Head::default();
    let parsed: Vec<(String, String)>;
    if is_request {
        let mut req = httparse::Request::new(&mut raw_headers);
        req.parse(bytes).ok()?;
        head.method = req.method?.to_owned();
        head.path = req.path?.to_owned();
        parsed = collect(req.headers);
    } else {
        let mut res = httparse::Response::new(&mut raw_headers);
        res.parse(bytes).ok()?;
        head.status = res.code?;
        parsed = collect(res.headers);
    }
    for (name, value) in parsed {
        head.headers
            .entry(name)
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    Some(head)
}

fn collect(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// Reads the body that follows `head` (Content-Length, chunked, or until EOF for
/// responses without framing), starting from `already` read bytes.
pub async fn read_body<R: AsyncRead + Unpin>(
    io: &mut R,
    head: &Head,
    mut already: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    if let Some(length) = head.header("content-length") {
        let length: usize = length.trim().parse().unwrap_or(0);
        while already.len() < length {
            let mut chunk = vec![0u8; 64 * 1024];
            let n = io.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            already.extend_from_slice(&chunk[..n]);
        }
        already.truncate(length);
        return Ok(already);
    }
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if !chunked && !head.method.is_empty() {
        return Ok(Vec::new()); // a request without framing has no body
    }
    loop {
        if chunked {
            if let Some(body) = decode_chunked(&already) {
                return Ok(body);
            }
        }
        let mut chunk = vec![0u8; 64 * 1024];
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Ok(if chunked {
                decode_chunked(&already).unwrap_or_default()
            } else {
                already
            });
        }
        already.extend_from_slice(&chunk[..n]);
    }
}

/// Decodes a complete chunked body; `None` while the terminating chunk is missing.
pub fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Encodes one chunk of a chunked body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}
