//! SSE encoding helpers (re-exported from [`crate::sse`]).

use bytes::{BufMut, Bytes, BytesMut};

use super::{DONE_EVENT, KEEP_ALIVE};

/// Encodes an unnamed event: one `data:` line per line of `data`, then a blank line.
pub fn encode_data(data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 8);
    put_data_lines(&mut out, data);
    out.put_u8(b'\n');
    out.freeze()
}

/// Encodes a named event (`event:` line, `data:` lines, blank line).
pub fn encode_event(event: &str, data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + event.len() + 16);
    put_field(&mut out, "event", &single_line(event));
    put_data_lines(&mut out, data);
    out.put_u8(b'\n');
    out.freeze()
}

/// Encodes a comment (`: text`); line breaks in `text` become spaces.
pub fn encode_comment(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 4);
    out.put_slice(b": ");
    out.put_slice(single_line(text).as_bytes());
    out.put_slice(b"\n\n");
    out.freeze()
}

/// `data: [DONE]\n\n` as `Bytes`.
pub fn done_event() -> Bytes {
    Bytes::from_static(DONE_EVENT)
}

/// `: keep-alive\n\n` as `Bytes`.
pub fn keep_alive() -> Bytes {
    Bytes::from_static(KEEP_ALIVE)
}

pub(super) fn put_field(out: &mut BytesMut, name: &str, value: &str) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_u8(b'\n');
}

pub(super) fn put_data_lines(out: &mut BytesMut, data: &str) {
    // Any of the three terminators would end the line on the reading side.
    let mut rest = data.as_bytes();
    out.reserve(rest.len() + 8);
    loop {
        match memchr::memchr2(b'\r', b'\n', rest) {
            Some(i) => {
                put_data_line(out, &rest[..i]);
                let skip = if rest[i..].starts_with(b"\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                put_data_line(out, rest);
                break;
            }
        }
    }
}

fn put_data_line(out: &mut BytesMut, line: &[u8]) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(line);
    out.extend_from_slice(b"\n");
}

// A newline in an event name or id would inject fields; flatten it instead.
pub(super) fn single_line(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains(['\r', '\n']) {
        value.replace(['\r', '\n'], " ").into()
    } else {
        value.into()
    }
}
