//! The backend-neutral SQL layer: one SQL text (SQLite dialect, `?` placeholders) runs on
//! SQLite and PostgreSQL through sqlx and on D1 over HTTP. Backends only move parameters
//! and rows; every query lives in the `Store` implementation.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Int(i64),
    Text(Text),
}

/// A text value that need not be a copy of its own: a log row's endpoint is a constant
/// and its price JSON is shared with the price memo. A row is freed on the settlement
/// writer's thread, and each text it owns is a block freed across threads (~100
/// instructions with the allocation and the copy).
#[derive(Clone)]
pub enum Text {
    Owned(String),
    Shared(Arc<str>),
    Static(&'static str),
    /// The name of a shared record (the cached user, key or channel a request used).
    Name(Arc<dyn Named>),
}

/// A record with a name a log row can refer to instead of copying.
pub trait Named: Send + Sync {
    fn name(&self) -> &str;
}

impl Text {
    pub fn as_str(&self) -> &str {
        match self {
            Text::Owned(s) => s,
            Text::Shared(s) => s,
            Text::Static(s) => s,
            Text::Name(r) => r.name(),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Static("")
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(v: String) -> Self {
        Text::Owned(v)
    }
}
impl From<&'static str> for Text {
    fn from(v: &'static str) -> Self {
        Text::Static(v)
    }
}
impl From<Arc<str>> for Text {
    fn from(v: Arc<str>) -> Self {
        Text::Shared(v)
    }
}
impl From<Text> for Param {
    fn from(v: Text) -> Self {
        Param::Text(v)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Param::Int(i64::from(v))
    }
}
impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Text::Owned(v.to_string()))
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Text::Owned(v))
    }
}
impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// A column value read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One result row, columns by name.
#[derive(Debug, Default, Clone)]
pub struct Row(pub HashMap<String, Value>);

impl Row {
    pub fn i64(&self, col: &str) -> i64 {
        self.opt_i64(col).unwrap_or(0)
    }
    pub fn opt_i64(&self, col: &str) -> Option<i64> {
        match self.0.get(col) {
            Some(Value::Int(v)) => Some(*v),
            // Saturating cast is intended: aggregates may come back as REAL on D1.
            Some(Value::Real(v)) => Some(*v as i64),
            Some(Value::Text(s)) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn bool(&self, col: &str) -> bool {
        self.i64(col) != 0
    }
    pub fn string(&self, col: &str) -> String {
        self.opt_string(col).unwrap_or_default()
    }
    pub fn opt_string(&self, col: &str) -> Option<String> {
        match self.0.get(col) {
            Some(Value::Text(s)) => Some(s.clone()),
            Some(Value::Int(v)) => Some(v.to_string()),
            _ => None,
        }
    }
}

/// SQL text plus its parameters, built up piece by piece for dynamic filters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub sql: String,
    pub params: Vec<Param>,
    /// Further parameters, bound after `params` in order: rows of values shared with
    /// their owner (the ledger's log rows), so a batch built, retried or split again does
    /// not copy their texts.
    pub rows: Vec<Arc<[Param]>>,
    /// How many leading values of each of `rows` are bound (`None`: all of them).
    pub row_width: Option<usize>,
}

impl Query {
    pub fn new(sql: &str) -> Self {
        Query::with_params(sql.to_string(), Vec::new())
    }

    /// `sql` with these parameters already bound (a filter's, reused by another query).
    pub fn with_params(sql: String, params: Vec<Param>) -> Self {
        Query {
            sql,
            params,
            rows: Vec::new(),
            row_width: None,
        }
    }

    /// Every parameter in binding order: `params`, then each of `rows` (its first
    /// `row_width` values).
    pub fn all_params(&self) -> impl Iterator<Item = &Param> {
        let width = self.row_width.unwrap_or(usize::MAX);
        self.params
            .iter()
            .chain(self.rows.iter().flat_map(move |r| r.iter().take(width)))
    }

    /// How many parameters [`Query::all_params`] gives.
    pub fn param_count(&self) -> usize {
        let width = |r: &Arc<[Param]>| self.row_width.map_or(r.len(), |w| w.min(r.len()));
        self.params.len() + self.rows.iter().map(width).sum::<usize>()
    }
    pub fn bind(mut self, p: impl Into<Param>) -> Self {
        self.params.push(p.into());
        self
    }
    /// Appends SQL text (never user input).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }
    /// Appends a `?` placeholder bound to `p`.
    pub fn push_bind(&mut self, p: impl Into<Param>) -> &mut Self {
        self.sql.push('?');
        self.params.push(p.into());
        self
    }
}

/// What a backend must do: run statements and return rows. `batch` runs all statements
/// atomically (a transaction on sqlx backends, a batch on D1).
#[async_trait]
pub trait SqlBackend: Send + Sync {
    async fn execute(&self, q: Query) -> Result<u64, DbError>;
    async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, DbError>;
    async fn batch(&self, qs: Vec<Query>) -> Result<(), DbError>;
    /// Runs all statements atomically like `batch`; whether the last one returned a row
    /// (a guarded take's `RETURNING`).
    async fn batch_returns_row(&self, qs: Vec<Query>) -> Result<bool, DbError>;
    /// Whether this is PostgreSQL, for the few statements whose best form differs (a
    /// data-modifying `WITH` there, a batch guarded by `changes()` on SQLite and D1).
    /// No default: a wrapper that forgot to ask its inner backend would answer wrongly.
    fn postgres(&self) -> bool;
    /// Whether the database may be unreachable right now: found down, or a query has
    /// been waiting for it unusually long (the first sign of an outage). No default, for
    /// the same reason as `postgres`.
    fn in_doubt(&self) -> bool;
    async fn fetch_optional(&self, q: Query) -> Result<Option<Row>, DbError> {
        Ok(self.fetch_all(q).await?.into_iter().next())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unique constraint violated")]
    Unique,
    #[error("database error: {0}")]
    Other(String),
    /// The database could not be reached (pool timeout, connection or network failure):
    /// the caller may try again later; nothing is known to have been written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Escapes `%`, `_` and the escape character for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 2);
    out.push('%');
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL (no `?` appears in our SQL
/// literals, which are fixed text).
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut in_string = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            numbered_placeholders("SELECT '?' , a FROM t WHERE x = ? AND y = ?"),
            "SELECT '?' , a FROM t WHERE x = $1 AND y = $2"
        );
    }
}
