//! Minimal OpenAI wire helpers: token usage and the error body.
//!
//! Request and response bodies stay `serde_json::Value` elsewhere so unknown fields pass
//! through untouched; only the parts the gateway must understand are typed here.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Token usage as OpenAI reports it. Missing or `null` counts read as 0; negative or
/// fractional counts are rejected, since upstream usage feeds billing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default, deserialize_with = "count")]
    pub prompt_tokens: u64,
    /// Output tokens (0 for embeddings).
    #[serde(default, deserialize_with = "count")]
    pub completion_tokens: u64,
    /// Usually `prompt + completion`; see [`Usage::total`].
    #[serde(default, deserialize_with = "count")]
    pub total_tokens: u64,
    /// E.g. `{"cached_tokens": 12, "audio_tokens": 0}`, kept as the upstream wrote it;
    /// `None` when it holds nothing but zeros (what the accessors read for absent keys).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "details"
    )]
    pub prompt_tokens_details: Option<Value>,
    /// E.g. `{"reasoning_tokens": 40}`, like `prompt_tokens_details`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "details"
    )]
    pub completion_tokens_details: Option<Value>,
}

impl Usage {
    /// Usage with `total_tokens` computed (saturating).
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            prompt_tokens_details: None,
            completion_tokens_details: None,
        }
    }

    /// The total, falling back to `prompt + completion` when the upstream left it out.
    pub fn total(&self) -> u64 {
        self.total_tokens
            .max(self.prompt_tokens.saturating_add(self.completion_tokens))
    }

    /// True when no tokens at all were reported.
    pub fn is_empty(&self) -> bool {
        self.prompt_tokens == 0 && self.completion_tokens == 0 && self.total_tokens == 0
    }

    /// `prompt_tokens_details.cached_tokens`, if present.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.get("cached_tokens"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// Prompt tokens written to a prompt cache (`prompt_tokens_details.cache_write_tokens`,
    /// as OpenRouter reports them and the gateway sets for Anthropic upstreams), if present.
    pub fn cache_write_tokens(&self) -> u64 {
        detail(self.prompt_tokens_details.as_ref(), "cache_write_tokens")
    }

    /// The part of [`Usage::cache_write_tokens`] written for one hour
    /// (`prompt_tokens_details.cache_write_1h_tokens`).
    pub fn cache_write_1h_tokens(&self) -> u64 {
        detail(self.prompt_tokens_details.as_ref(), "cache_write_1h_tokens")
    }

    /// `completion_tokens_details.reasoning_tokens`, if present (already included in
    /// `completion_tokens`).
    pub fn reasoning_tokens(&self) -> u64 {
        detail(self.completion_tokens_details.as_ref(), "reasoning_tokens")
    }

    /// Reads a usage object straight from its bytes when it is in the common shape: plain
    /// counts and details objects holding nothing but zeros. `None` otherwise (escaped or
    /// repeated keys, non-zero details, anything unusual); the serde reader then decides,
    /// with the same result it would have given. Building serde's tree for the details'
    /// zero counters cost more than the rest of reading an answer's usage.
    pub fn read_plain(raw: &[u8]) -> Option<Usage> {
        Self::read_plain_at(raw, 0).map(|(usage, _)| usage)
    }

    /// [`Usage::read_plain`] of the object starting at `at`, and where that object ends.
    pub fn read_plain_at(raw: &[u8], at: usize) -> Option<(Usage, usize)> {
        // One pass over the bytes: each value is read where it stands instead of being
        // found first and read again.
        let mut r = PlainReader {
            raw,
            at,
            fresh: false,
        };
        r.open()?;
        let mut usage = Usage::default();
        let mut seen = [false; 5];
        while let Some(key) = r.next_key()? {
            let slot = match key {
                b"prompt_tokens" => 0,
                b"completion_tokens" => 1,
                b"total_tokens" => 2,
                b"prompt_tokens_details" => 3,
                b"completion_tokens_details" => 4,
                _ => {
                    r.at = crate::json_splice::skip_value(raw, r.at)?;
                    continue;
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                return None;
            }
            match slot {
                0 => usage.prompt_tokens = r.count()?,
                1 => usage.completion_tokens = r.count()?,
                2 => usage.total_tokens = r.count()?,
                _ => r.zero_details()?,
            }
        }
        Some((usage, r.at))
    }
}

/// The cursor of [`Usage::read_plain`]; every method answers `None` for what it leaves
/// to serde.
struct PlainReader<'a> {
    raw: &'a [u8],
    at: usize,
    /// Just inside an object's `{`: the next member needs no comma.
    fresh: bool,
}

impl PlainReader<'_> {
    fn skip_ws(&mut self) {
        self.at = crate::json_splice::skip_ws(self.raw, self.at);
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.raw.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    fn open(&mut self) -> Option<()> {
        self.eat(b'{')?;
        self.fresh = true;
        Some(())
    }

    /// The next member's key (unquoted, with the cursor on its value), `Some(None)` at the
    /// object's end. Escaped keys are left to serde.
    fn next_key(&mut self) -> Option<Option<&[u8]>> {
        self.skip_ws();
        let fresh = std::mem::replace(&mut self.fresh, false);
        match self.raw.get(self.at)? {
            b'}' => {
                self.at += 1;
                return Some(None);
            }
            b',' if !fresh => self.at += 1,
            b'"' if fresh => {}
            _ => return None,
        }
        self.eat(b'"')?;
        let start = self.at;
        let len = memchr::memchr2(b'"', b'\\', self.raw.get(start..)?)?;
        if self.raw[start + len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        self.eat(b':')?;
        self.skip_ws();
        Some(Some(&self.raw[start..start + len]))
    }

    /// A literal ending where a value may end.
    fn literal(&mut self, word: &[u8]) -> bool {
        let end = self.at + word.len();
        let fits = self.raw.get(self.at..end) == Some(word)
            && self
                .raw
                .get(end)
                .is_some_and(|b| matches!(b, b',' | b'}') || b.is_ascii_whitespace());
        if fits {
            self.at = end;
        }
        fits
    }

    /// A count written as plain digits (or `null`, read as 0).
    fn count(&mut self) -> Option<u64> {
        if self.literal(b"null") {
            return Some(0);
        }
        let digits = self.raw[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.raw[self.at..self.at + digits];
        if digits == 0 || (digits > 1 && text[0] == b'0') {
            return None;
        }
        self.at += digits;
        if !self
            .raw
            .get(self.at)
            .is_some_and(|b| matches!(b, b',' | b'}') || b.is_ascii_whitespace())
        {
            return None;
        }
        text.iter().try_fold(0u64, |n, b| {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
    }

    /// A details value that is `null` or an object of zeros and nulls.
    fn zero_details(&mut self) -> Option<()> {
        if self.literal(b"null") {
            return Some(());
        }
        self.open()?;
        while self.next_key()?.is_some() {
            if !self.literal(b"0") && !self.literal(b"null") {
                return None;
            }
        }
        Some(())
    }
}

fn detail(details: Option<&Value>, key: &str) -> u64 {
    details
        .and_then(|d| d.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    use serde::de::{Error, Unexpected, Visitor};
    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a non-negative whole token count")
        }
        fn visit_u64<E>(self, n: u64) -> Result<u64, E> {
            Ok(n)
        }
        fn visit_i64<E: Error>(self, n: i64) -> Result<u64, E> {
            u64::try_from(n).map_err(|_| E::invalid_value(Unexpected::Signed(n), &self))
        }
        fn visit_f64<E: Error>(self, n: f64) -> Result<u64, E> {
            Err(E::invalid_value(Unexpected::Float(n), &self))
        }
        fn visit_unit<E>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_none<E>(self) -> Result<u64, E> {
            Ok(0)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_any(self)
        }
    }
    deserializer.deserialize_option(Count)
}

/// A details object, read without building a tree when it is all zeros (as in nearly
/// every answer: OpenAI sends four zero counters per answer, and a `Value` tree of them
/// cost more than the rest of reading the usage).
fn details<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    use serde::de::{MapAccess, Visitor};
    use std::borrow::Cow;
    use std::fmt;

    struct Key<'a>(Cow<'a, str>);
    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, k: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(k)))
                }
                fn visit_str<E>(self, k: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(k.to_string())))
                }
            }
            d.deserialize_str(V)
        }
    }

    struct Details;
    impl<'de> Visitor<'de> for Details {
        type Value = Option<Value>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a details object or null")
        }
        fn visit_unit<E>(self) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
            d.deserialize_any(self)
        }
        // Anything else is not details the gateway can read: ignored, as a tree it was
        // never read either.
        fn visit_bool<E>(self, _: bool) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Option<Value>, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Option<Value>, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
            let mut entries: Vec<(Key<'de>, Value)> = Vec::new();
            while let Some((k, v)) = map.next_entry::<Key<'de>, Value>()? {
                entries.push((k, v));
            }
            let zero = |v: &Value| v.as_u64() == Some(0) || v.is_null();
            if entries.iter().all(|(_, v)| zero(v)) {
                return Ok(None);
            }
            let object = entries
                .into_iter()
                .map(|(k, v)| (k.0.into_owned(), v))
                .collect();
            Ok(Some(Value::Object(object)))
        }
    }
    deserializer.deserialize_option(Details)
}

/// OpenAI's error envelope: `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`]. `param` and `code` serialise as `null` when absent, as
/// OpenAI does; on input, numeric codes (seen from compatible servers) become strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// E.g. `invalid_request_error`; see [`crate::error::kind`].
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The offending request parameter, if any.
    #[serde(default, deserialize_with = "lenient_string")]
    pub param: Option<String>,
    /// Machine-readable code, e.g. `insufficient_quota`, `model_not_found`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
}

impl ErrorBody {
    /// An error with `message` and `type`, no param or code.
    pub fn new(message: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.into(),
                param: None,
                code: None,
            },
        }
    }

    /// Sets `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.error.code = Some(code.into());
        self
    }

    /// Sets `param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    /// The body as JSON bytes.
    pub fn to_json(&self) -> String {
        // Serialising plain strings cannot fail; the fallback only satisfies the type.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"error\":{}}"))
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_plain_reader_agrees_with_serde_or_steps_aside() {
        let cases = [
            r#"{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}"#,
            r#"{ "prompt_tokens" : 5 , "completion_tokens": null, "extra": {"a":[1,{"b":"}"}]} }"#,
            r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
                "completion_tokens_details":{"reasoning_tokens":0,"x":null}}"#,
            r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":3}}"#,
            r#"{"prompt_tokens":-1}"#,
            r#"{"prompt_tokens":1.5}"#,
            r#"{"prompt_tokens":01}"#,
            r#"{"prompt_tokens":"5"}"#,
            r#"{"prompt_tokens":5,"prompt_tokens":6}"#,
            r#"{"prompt\u005ftokens":5}"#,
            r#"{"prompt_tokens":99999999999999999999}"#,
            r#"{"completion_tokens_details":null,"total_tokens":3}"#,
            r#"[1]"#,
            r#"{"prompt_tokens":5"#,
            r#" { "prompt_tokens" : 5 , "x" : {"a":[1,{"b":"}"}]} , "total_tokens":5 } "#,
            r#"{"prompt_tokens_details":{},"total_tokens":3}"#,
            r#"{"prompt_tokens_details":{ "a" : 0 , "b":null },"completion_tokens":2}"#,
            r#"{"prompt_tokens_details":{"a":0}"total_tokens":3}"#,
            r#"{,"prompt_tokens":1}"#,
            r#"{"prompt_tokens":1,}"#,
            r#"{"prompt_tokens":1 "total_tokens":1}"#,
            r#"{"prompt_tokens":5x}"#,
            r#"{"prompt_tokens":nullx}"#,
            r#"{"prompt_tokens_details":{"a":00}}"#,
            r#"{"prompt_tokens_details":{"a":0.0}}"#,
            r#"{}"#,
        ];
        for raw in cases {
            let serde = serde_json::from_str::<Usage>(raw).ok();
            if let Some(plain) = Usage::read_plain(raw.as_bytes()) {
                assert_eq!(Some(plain), serde, "{raw}");
            }
        }
        let common = r#"{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,
            "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":null}"#;
        assert_eq!(
            Usage::read_plain(common.as_bytes()),
            Some(Usage {
                total_tokens: 12,
                ..Usage::new(5, 7)
            })
        );
        let spaced = br#" { "prompt_tokens" : 5 , "x" : {"a":[1,{"b":"}"}]} ,
            "prompt_tokens_details" : { "a" : 0 , "b":null } , "total_tokens":5 } "#;
        assert_eq!(
            Usage::read_plain(spaced),
            Some(Usage {
                total_tokens: 5,
                ..Usage::new(5, 0)
            })
        );
        assert_eq!(Usage::read_plain(br#"{"prompt_tokens":-1}"#), None);
        assert_eq!(
            Usage::read_plain(br#"{"prompt_tokens_details":{"cached_tokens":3}}"#),
            None
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn usage_tolerates_missing_and_null_fields() {
        let u: Usage = serde_json::from_value(json!({"prompt_tokens": 5})).unwrap();
        assert_eq!(
            u,
            Usage {
                prompt_tokens: 5,
                ..Usage::default()
            }
        );
        assert_eq!(u.total(), 5);
        let u: Usage = serde_json::from_value(json!({"completion_tokens": null})).unwrap();
        assert!(u.is_empty());
    }

    #[test]
    fn usage_keeps_details_and_rejects_negative_counts() {
        let u: Usage = serde_json::from_value(json!({
            "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 2}
        }))
        .unwrap();
        assert_eq!(u.cached_tokens(), 2);
        assert_eq!(
            serde_json::to_value(&u).unwrap()["prompt_tokens_details"]["cached_tokens"],
            2
        );
        assert!(serde_json::from_value::<Usage>(json!({"prompt_tokens": -1})).is_err());
        assert!(serde_json::from_value::<Usage>(json!({"prompt_tokens": 1.5})).is_err());
    }

    #[test]
    fn all_zero_details_read_as_absent_and_others_are_kept() {
        let u: Usage = serde_json::from_str(
            r#"{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
                "completion_tokens_details":{"reasoning_tokens":40,"audio_tokens":0}}"#,
        )
        .unwrap();
        assert_eq!(u.prompt_tokens_details, None);
        assert_eq!(u.reasoning_tokens(), 40);
        assert_eq!(
            u.completion_tokens_details,
            Some(json!({"reasoning_tokens": 40, "audio_tokens": 0}))
        );
        let u: Usage = serde_json::from_str(
            r#"{"prompt_tokens_details":"x","completion_tokens_details":[1]}"#,
        )
        .unwrap();
        assert!(u.prompt_tokens_details.is_none() && u.completion_tokens_details.is_none());
    }

    #[test]
    fn error_body_serialises_in_openai_shape() {
        let body = ErrorBody::new("no quota", "insufficient_quota").with_code("insufficient_quota");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": {"message": "no quota", "type": "insufficient_quota",
                             "param": null, "code": "insufficient_quota"}})
        );
    }

    #[test]
    fn error_body_parses_numeric_codes_and_missing_fields() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"message":"x","code":429}}"#).unwrap();
        assert_eq!(body.error.code.as_deref(), Some("429"));
        assert_eq!(body.error.kind, "");
        assert_eq!(body.error.param, None);
    }
}
