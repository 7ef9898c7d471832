//! Parsing helpers for request fields, shared by the management services.

use crate::error::ApiError;
use serde::{Deserialize, Deserializer};

/// A list given either as a JSON array of strings or as one comma-separated string.
#[derive(Debug, Clone, Default)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            List(Vec<String>),
            Csv(String),
        }
        let items = match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected an array of strings or a comma-separated string")
        })? {
            Raw::List(v) => v,
            Raw::Csv(s) => s.split(',').map(str::to_string).collect(),
        };
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for item in items.into_iter().map(|s| s.trim().to_string()) {
            if !item.is_empty() && !out.contains(&item) {
                out.push(item);
            }
        }
        Ok(StringList(out))
    }
}

/// An integer that may be written with a zero fraction (`2.0`): JSON does not tell the
/// two apart, and JSON Schema's `integer` admits both.
struct Int(i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Int, E> {
                // 2^63 is the first float past i64::MAX.
                const LIMIT: f64 = 9_223_372_036_854_775_808.0;
                if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(Int(v as i64))
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with` for `Option<i64>` fields (with `#[serde(default)]`).
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<Int>::deserialize(d).map(|v| v.map(|i| i.0))
}

/// `deserialize_with` for `Option<Option<i64>>` fields: absent, `null` or a number.
pub fn opt_opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<Int>::deserialize(d).map(|v| Some(v.map(|i| i.0)))
}

/// Distinguishes a field that is absent from one explicitly set to `null`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub fn username(name: &str) -> Result<(), ApiError> {
    let ok_len = (3..=32).contains(&name.len());
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(ApiError::bad(
            "username must be 3 to 32 characters of letters, digits, '_', '.', '-'",
        ))
    }
}

pub fn email(email: &str) -> Result<(), ApiError> {
    if email.is_empty() {
        return Ok(());
    }
    let valid = email.chars().count() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad("email is not a valid address"))
    }
}

/// At most `max` characters (as JSON Schema's `maxLength` counts them), none a control.
pub fn short_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad(format!(
            "{field} must be at most {max} characters without control characters"
        )));
    }
    Ok(())
}

/// Largest quota a user or key may hold (2 000 000 000 USD at the default unit); keeps
/// every balance sum far from integer overflow on every backend.
pub const MAX_QUOTA: i64 = 1_000_000_000_000_000;

pub fn quota(field: &str, v: i64) -> Result<(), ApiError> {
    if !(0..=MAX_QUOTA).contains(&v) {
        return Err(ApiError::bad(format!(
            "{field} must be between 0 and {MAX_QUOTA}"
        )));
    }
    Ok(())
}

pub fn non_negative(field: &str, v: i64) -> Result<(), ApiError> {
    if v < 0 {
        return Err(ApiError::bad(format!("{field} must not be negative")));
    }
    Ok(())
}

/// Group names: short, no separators that could confuse ratio maps.
pub fn group(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(
            "group must be 1 to 64 characters of letters, digits, '_', '-', '.'",
        ))
    }
}

#[cfg(test)]
mod int_tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "opt_int")]
        n: Option<i64>,
    }

    fn n(json: &str) -> Result<Option<i64>, serde_json::Error> {
        serde_json::from_str::<T>(json).map(|t| t.n)
    }

    #[test]
    fn integers_may_have_a_zero_fraction_but_nothing_else() {
        assert_eq!(n(r#"{"n": 2}"#).unwrap(), Some(2));
        assert_eq!(n(r#"{"n": -3.0}"#).unwrap(), Some(-3));
        assert_eq!(n(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(n("{}").unwrap(), None);
        assert!(n(r#"{"n": 1.5}"#).is_err());
        assert!(n(r#"{"n": 1e30}"#).is_err());
        assert!(n(r#"{"n": "2"}"#).is_err());
        assert!(n(r#"{"n": 18446744073709551615}"#).is_err());
    }
}
