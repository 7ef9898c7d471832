//! Edits one top-level field of a JSON object in its raw bytes, leaving every other byte
//! (key order, spacing, number spelling, unknown fields) exactly as the client wrote it.
//! Pass-through needs this: re-serialising a parsed body would normalise all of that.

/// Where a top-level field's value is: `Some(None)` when the object lacks the key, `None`
/// when `raw` is not a well-formed object.
type Span = Option<(usize, usize)>;

fn value_span(raw: &[u8], key: &str) -> Option<Span> {
    Some(member_span(raw, key)?.map(|(_, start, end)| (start, end)))
}

/// Where a top-level member is: the start of its key, and its value's start and end.
fn member_span(raw: &[u8], key: &str) -> Option<Option<(usize, usize, usize)>> {
    let mut all = members(raw)?;
    while let Some(span) = all.next_span() {
        let (key_start, key_end, start, end) = span.ok()?;
        if key_matches(&raw[key_start..key_end], key)? {
            return Some(Some((key_start, start, end)));
        }
    }
    Some(None)
}

/// Whether a quoted key spells `key`; escaped keys are decoded first (rare, so only
/// they pay for it).
fn key_matches(quoted: &[u8], key: &str) -> Option<bool> {
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains(&b'\\') {
        return Some(inner == key.as_bytes());
    }
    let decoded: String = serde_json::from_slice(quoted).ok()?;
    Some(decoded == key)
}

pub(crate) fn skip_ws(raw: &[u8], mut i: usize) -> usize {
    while raw.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (which holds `"`).
fn skip_string(raw: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', raw.get(i..)?)?;
        match raw[i] {
            b'"' => return Some(i + 1),
            _ => i += 2,
        }
    }
}

/// The index just past the value starting at `i`.
pub(crate) fn skip_value(raw: &[u8], i: usize) -> Option<usize> {
    match raw.get(i)? {
        b'"' => skip_string(raw, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match raw.get(j)? {
                    b'"' => {
                        j = skip_string(raw, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while raw
                .get(j)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The body with the top-level `key` set to `value` (already JSON-encoded): replaced in
/// place when present, else added as the first field. `None` when `raw` is not a JSON
/// object this scanner can walk (the caller then re-serialises instead).
pub fn set_field(raw: &[u8], key: &str, value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() + value.len() + key.len() + 4);
    match value_span(raw, key)? {
        Some((start, end)) => {
            out.extend_from_slice(&raw[..start]);
            out.extend_from_slice(value);
            out.extend_from_slice(&raw[end..]);
        }
        None => {
            let open = skip_ws(raw, 0);
            if raw.get(open) != Some(&b'{') {
                return None;
            }
            let empty = raw.get(skip_ws(raw, open + 1)) == Some(&b'}');
            out.extend_from_slice(&raw[..=open]);
            out.extend_from_slice(&serde_json::to_vec(key).ok()?);
            out.push(b':');
            out.extend_from_slice(value);
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(&raw[open + 1..]);
        }
    }
    Some(out)
}

/// A walk over the members of the object in `raw`; `None` when `raw` is not an object
/// this scanner can walk. A malformed member ends the walk with an `Err`.
fn members(raw: &[u8]) -> Option<Members<'_>> {
    let i = skip_ws(raw, 0);
    (raw.get(i) == Some(&b'{')).then_some(Members { raw, at: i + 1 })
}

/// See [`members`].
struct Members<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Members<'_> {
    /// The next member's key start and end and value start and end.
    fn next_span(&mut self) -> Option<Result<(usize, usize, usize, usize), ()>> {
        let raw = self.raw;
        let mut i = self.at;
        loop {
            i = skip_ws(raw, i);
            match raw.get(i) {
                Some(b'}') => return None,
                Some(b',') => i += 1,
                Some(b'"') => break,
                _ => return Some(Err(())),
            }
        }
        let member = (|| {
            let key_end = skip_string(raw, i)?;
            let colon = skip_ws(raw, key_end);
            if raw.get(colon) != Some(&b':') {
                return None;
            }
            let start = skip_ws(raw, colon + 1);
            let end = skip_value(raw, start)?;
            Some((i, key_end, start, end))
        })();
        // A malformed member ends the walk.
        self.at = member.map_or(raw.len(), |(_, _, _, end)| end);
        Some(member.ok_or(()))
    }
}

/// The raw bytes of a top-level field's value; `None` when absent or `raw` is not an
/// object this scanner can walk.
pub fn get_field<'a>(raw: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let (start, end) = value_span(raw, key)??;
    Some(&raw[start..end])
}

/// Like [`get_field`], for a field an object usually ends with (an answer's `usage`): the
/// last mention of the key is tried first, and taken when what follows it is provably the
/// rest of the top-level object (the key opens a member, and the members after it run to
/// the closing brace at the end of `raw`). Anything else falls back to the full walk, so
/// the answer is the same; only a long `choices` array is no longer walked.
pub fn get_late_field<'a>(raw: &'a [u8], key: &str) -> Option<&'a [u8]> {
    late_field(raw, key).or_else(|| get_field(raw, key))
}

fn late_field<'a>(raw: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let at = memchr::memmem::rfind(raw, key.as_bytes())?;
    let start = member_value_at(raw, at, key.len())?;
    let end = skip_value(raw, start)?;
    closes_object(raw, end).then_some(&raw[start..end])
}

/// Where the value starts of the member whose key's text (without its quotes) is
/// `raw[at..at + key_len]`; `None` when that mention is not a member's key.
pub fn member_value_at(raw: &[u8], at: usize, key_len: usize) -> Option<usize> {
    let (open, close) = (at.checked_sub(1)?, at + key_len);
    if raw[open] != b'"' || raw.get(close) != Some(&b'"') {
        return None;
    }
    // An unescaped quote right after a `{` or `,` opens a string, and one followed by a
    // colon is a key: the mention is a member, not text inside a string.
    let before = raw[..open].iter().rposition(|b| !b.is_ascii_whitespace())?;
    if !matches!(raw[before], b'{' | b',') {
        return None;
    }
    let colon = skip_ws(raw, close + 1);
    if raw.get(colon) != Some(&b':') {
        return None;
    }
    Some(skip_ws(raw, colon + 1))
}

/// Whether the members from `end` (just past a member's value) run to the closing brace
/// at the end of `raw`: then that member belongs to the top-level object.
pub fn closes_object(raw: &[u8], end: usize) -> bool {
    let mut rest = Members { raw, at: end };
    while let Some(member) = rest.next_span() {
        if member.is_err() {
            return false;
        }
    }
    let brace = skip_ws(raw, rest.at);
    raw.get(brace) == Some(&b'}') && skip_ws(raw, brace + 1) == raw.len()
}

/// The body without the top-level `key` (and one comma next to it); the body unchanged
/// when the key is absent. `None` when `raw` is not an object this scanner can walk.
pub fn remove_field(raw: &[u8], key: &str) -> Option<Vec<u8>> {
    let Some((key_start, _, end)) = member_span(raw, key)? else {
        return Some(raw.to_vec());
    };
    let after = skip_ws(raw, end);
    let (from, to) = if raw.get(after) == Some(&b',') {
        (key_start, skip_ws(raw, after + 1))
    } else {
        // The last member: drop the comma before it instead, if any.
        let mut j = key_start;
        while j > 0 && raw[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        if j > 0 && raw[j - 1] == b',' {
            (j - 1, end)
        } else {
            (key_start, end)
        }
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..from]);
    out.extend_from_slice(&raw[to..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(raw: &str, key: &str, value: &str) -> String {
        String::from_utf8(set_field(raw.as_bytes(), key, value.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn only_the_named_top_level_value_changes() {
        let raw = r#"{ "zeta": {"model": "inner"}, "model" : "a\"b",  "alpha": [1, "}", 2.50e1] }"#;
        assert_eq!(
            set(raw, "model", r#""mapped""#),
            r#"{ "zeta": {"model": "inner"}, "model" : "mapped",  "alpha": [1, "}", 2.50e1] }"#
        );
        assert_eq!(
            set(r#"{"stream":true,"n":1}"#, "n", "2"),
            r#"{"stream":true,"n":2}"#
        );
    }

    #[test]
    fn a_missing_key_is_added_first() {
        assert_eq!(
            set(r#"{"a":1}"#, "model", r#""m""#),
            r#"{"model":"m","a":1}"#
        );
        assert_eq!(set("{ }", "model", r#""m""#), r#"{"model":"m" }"#);
    }

    fn remove(raw: &str, key: &str) -> String {
        String::from_utf8(remove_field(raw.as_bytes(), key).unwrap()).unwrap()
    }

    #[test]
    fn a_field_is_read_and_removed_with_one_comma() {
        let raw = r#"{"a":1, "max_tokens" : 50 ,"b":{"max_tokens":2}}"#;
        assert_eq!(get_field(raw.as_bytes(), "max_tokens"), Some(&b"50"[..]));
        assert_eq!(get_field(raw.as_bytes(), "zzz"), None);
        assert_eq!(
            remove(raw, "max_tokens"),
            r#"{"a":1, "b":{"max_tokens":2}}"#
        );
        assert_eq!(remove(r#"{"a":1, "z":2}"#, "z"), r#"{"a":1}"#);
        assert_eq!(remove(r#"{"z":2}"#, "z"), r#"{}"#);
        assert_eq!(remove(r#"{"a":1}"#, "z"), r#"{"a":1}"#);
        let back: serde_json::Value = serde_json::from_str(&remove(raw, "max_tokens")).unwrap();
        assert_eq!(back["b"]["max_tokens"], 2);
    }

    #[test]
    fn what_is_not_an_object_is_refused() {
        assert!(set_field(b"[1]", "model", b"1").is_none());
        assert!(set_field(br#"{"model": "#, "model", b"1").is_none());
    }

    #[test]
    fn a_late_field_is_found_from_the_end_only_when_it_is_top_level() {
        let cases: &[&str] = &[
            r#"{"choices":[{"usage":{"x":1}}],"usage":{"a":1}}"#,
            r#"{"choices":[], "usage" : {"a":1} , "fp":"usage" }"#,
            r#"{"usage":{"a":1},"choices":[{"usage":{"x":1}}]}"#,
            r#"{"usage":{"a":1},"choices":[{"m":"\"usage\":2}"}]}"#,
            r#"{"choices":[{"usage":{"x":1}}]}"#,
            r#"[{"usage":1}]"#,
            r#"{"a":{"usage":1}}"#,
            r#"{"a":"x","usage":5,}"#,
            r#"{"us\u0061ge":3}"#,
        ];
        for raw in cases {
            assert_eq!(
                get_late_field(raw.as_bytes(), "usage"),
                get_field(raw.as_bytes(), "usage"),
                "{raw}"
            );
        }
        let raw = br#"{"choices":[{"usage":2}],"usage":{"a":1},"fp":"z"}"#;
        assert_eq!(late_field(raw, "usage"), Some(&br#"{"a":1}"#[..]));
        assert_eq!(late_field(br#"{"a":{"usage":1}}"#, "usage"), None);
    }
}
