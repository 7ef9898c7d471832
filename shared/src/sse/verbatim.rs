//! Recognising a chunk of SSE made only of complete events in the exact form the encoder
//! writes (`[event: NAME\n]data: DATA\n\n`, one data line, LF only), so a proxy can pass
//! the chunk on as it came instead of decoding and re-encoding it: the bytes would be the
//! same.

/// Calls `each(name, data)` for every event of `chunk` while it says yes; says whether the
/// whole chunk was such events (and `each` accepted every one). `name` is the `event:`
/// field's value, if the event has one. Nothing is checked for UTF-8: the bytes go out as
/// they came, and whoever reads `data` later checks what it reads.
pub fn each_verbatim_event<'a>(
    chunk: &'a [u8],
    mut each: impl FnMut(Option<&'a [u8]>, &'a [u8]) -> bool,
) -> bool {
    if chunk.is_empty() || memchr::memchr(b'\r', chunk).is_some() {
        return false;
    }
    let mut rest = chunk;
    while !rest.is_empty() {
        let Some((first, after)) = line(rest) else {
            return false;
        };
        let (name, data_line, after) = match first.strip_prefix(b"event: ") {
            Some(name) => match line(after) {
                Some((data_line, after)) if !name.is_empty() => (Some(name), data_line, after),
                _ => return false,
            },
            None => (None, first, after),
        };
        // The blank line that ends the event.
        let Some(after) = after.strip_prefix(b"\n") else {
            return false;
        };
        match data_line.strip_prefix(b"data: ") {
            Some(data) if !data.is_empty() && each(name, data) => {}
            _ => return false,
        }
        rest = after;
    }
    true
}

/// The first line of `b` (without its `\n`) and what follows it.
fn line(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b'\n', b)?;
    Some((&b[..end], &b[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::{encode_data, encode_event};

    fn events(chunk: &[u8]) -> Option<Vec<(Option<String>, String)>> {
        let mut seen = Vec::new();
        let whole = each_verbatim_event(chunk, |name, data| {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            seen.push((name.map(text), text(data)));
            true
        });
        whole.then_some(seen)
    }

    #[test]
    fn what_the_encoder_writes_is_recognised() {
        let chunk = [
            encode_data("{\"a\":1}"),
            encode_event("content_block_delta", "{\"b\":2}"),
        ]
        .concat();
        assert_eq!(
            events(&chunk),
            Some(vec![
                (None, "{\"a\":1}".to_string()),
                (
                    Some("content_block_delta".to_string()),
                    "{\"b\":2}".to_string()
                ),
            ])
        );
    }

    #[test]
    fn anything_else_is_not() {
        for chunk in [
            &b""[..],
            b"data: x\n",
            b"data: x\r\n\r\n",
            b"data: x\ndata: y\n\n",
            b"data:x\n\n",
            b"data: \n\n",
            b"event: \ndata: x\n\n",
            b"event: a\n\n",
            b"id: 1\ndata: x\n\n",
            b": keep-alive\n\n",
            b"\n\n",
            b"data: x\n\ndata: y",
        ] {
            assert_eq!(events(chunk), None, "{:?}", String::from_utf8_lossy(chunk));
        }
    }

    #[test]
    fn a_refused_event_refuses_the_chunk() {
        let chunk = b"data: 1\n\ndata: 2\n\n";
        assert!(!each_verbatim_event(chunk, |_, d| d != b"2"));
    }
}
