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
    let valid = email.len() <= 254
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

pub fn short_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad(format!(
            "{field} must be at most {max} bytes without control characters"
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
