//! Edits one top-level field of a JSON object in its raw bytes, leaving every other byte
//! (key order, spacing, number spelling, unknown fields) exactly as the client wrote it.
//! Pass-through needs this: re-serialising a parsed body would normalise all of that.

/// Where a top-level field's value is: `Some(None)` when the object lacks the key, `None`
/// when `raw` is not a well-formed object.
type Span = Option<(usize, usize)>;

fn value_span(raw: &[u8], key: &str) -> Option<Span> {
    let mut i = skip_ws(raw, 0);
    if raw.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(raw, i);
        match raw.get(i)? {
            b'}' => return Some(None),
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(raw, i)?;
        let this_key: String = serde_json::from_slice(&raw[i..key_end]).ok()?;
        i = skip_ws(raw, key_end);
        if raw.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(raw, i + 1);
        let end = skip_value(raw, start)?;
        if this_key == key {
            return Some(Some((start, end)));
        }
        i = end;
    }
}

fn skip_ws(raw: &[u8], mut i: usize) -> usize {
    while raw.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (which holds `"`).
fn skip_string(raw: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match raw.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index just past the value starting at `i`.
fn skip_value(raw: &[u8], i: usize) -> Option<usize> {
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

    #[test]
    fn what_is_not_an_object_is_refused() {
        assert!(set_field(b"[1]", "model", b"1").is_none());
        assert!(set_field(br#"{"model": "#, "model", b"1").is_none());
    }
}
