//! Usage logs: one row per `/v1` request, queried with filters and summarised.

use super::sql::{Param, Query, Row, Text};
use super::sql_store::{Page, SqlStore};
use super::{Paged, StoreResult};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct NewLog {
    pub created_at: i64,
    pub user_id: i64,
    #[schema(value_type = String)]
    pub username: Text,
    pub token_id: i64,
    #[schema(value_type = String)]
    pub token_name: Text,
    /// Absent from the user's own view (`/api/log/self`).
    #[schema(required = false)]
    pub channel_id: i64,
    #[schema(required = false)]
    #[schema(value_type = String)]
    pub channel_name: Text,
    pub model_name: String,
    #[schema(required = false)]
    pub upstream_model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub quota: i64,
    pub latency_ms: i64,
    pub first_byte_ms: i64,
    pub is_stream: bool,
    pub status_code: i64,
    pub error: String,
    #[schema(value_type = String)]
    pub request_id: Text,
    pub ip: String,
    /// The client API called: `chat`, `completions`, `embeddings`, `messages`, `responses`.
    #[schema(value_type = String)]
    pub endpoint: Text,
    /// What a conversion had to drop (e.g. a built-in tool), `; `-separated.
    pub warnings: String,
    /// The output limit the gateway lowered the client's to (the model's maximum or what
    /// the balance could pay for); 0 when it did not lower it.
    pub output_cap: i64,
    /// Cost the balance could not pay (the upstream used more than was reserved and the
    /// balance held no more): not charged, recorded here.
    pub unbilled_quota: i64,
    /// The part of `prompt_tokens` read from a prompt cache.
    pub cache_read_tokens: i64,
    /// The part of `prompt_tokens` written to a prompt cache (either lifetime).
    pub cache_write_tokens: i64,
    /// The part of `cache_write_tokens` written for one hour.
    pub cache_write_1h_tokens: i64,
    /// The part of `completion_tokens` spent reasoning, as the upstream reported it.
    pub reasoning_tokens: i64,
    /// The ratios the quota was computed with, as compact JSON (`model_ratio`,
    /// `completion_ratio`, `cache_read_ratio`, `cache_write_ratio`, `cache_write_1h_ratio`,
    /// `group_ratio`, and `builtin`: the built-in table entry used); empty when unpriced.
    #[schema(value_type = String)]
    pub price: Text,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    pub id: i64,
    #[serde(flatten)]
    pub row: NewLog,
}

/// Filters; `user_id` is forced for the self-service endpoints.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub user_id: Option<i64>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub model_name: Option<String>,
    pub token_name: Option<String>,
    pub channel_id: Option<i64>,
    pub username: Option<String>,
    pub kind: Option<LogKind>,
    pub status_code: Option<i64>,
}

/// How a request ended, as the log filter groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// Answered with a 2xx/3xx.
    Success,
    /// Failed after a channel was chosen: the upstream (or the way to it) failed.
    Error,
    /// Turned away by the gateway before any upstream was called (quota, rate limit,
    /// model not allowed, bad input, no channel).
    Refused,
}

impl LogKind {
    pub fn parse(raw: &str) -> Option<LogKind> {
        match raw {
            "success" => Some(LogKind::Success),
            "error" => Some(LogKind::Error),
            "refused" => Some(LogKind::Refused),
            _ => None,
        }
    }

    /// The condition on `logs`; fixed text, no user input.
    fn condition(self) -> &'static str {
        match self {
            LogKind::Success => " AND status_code >= 200 AND status_code < 400",
            LogKind::Error => " AND (status_code < 200 OR status_code >= 400) AND channel_id <> 0",
            LogKind::Refused => " AND (status_code < 200 OR status_code >= 400) AND channel_id = 0",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UsageTotals {
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub quota: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DailyModelUsage {
    /// Start of the UTC day (unix seconds).
    pub day: i64,
    pub model_name: String,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogStats {
    pub total: UsageTotals,
    pub by_model_day: Vec<DailyModelUsage>,
}

#[async_trait]
pub trait LogStore {
    async fn insert_logs(&self, rows: &[NewLog]) -> StoreResult<()>;
    async fn list_logs(&self, f: &LogFilter, page: Page) -> StoreResult<Paged<LogEntry>>;
    async fn log_stats(&self, f: &LogFilter) -> StoreResult<LogStats>;
    /// Up to `limit` rows matching `f` with an id above `after_id`, in id order: one
    /// keyset page of an export, so no query ever reads more than `limit` rows.
    async fn logs_after(
        &self,
        f: &LogFilter,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogEntry>>;
}

/// Columns one log row binds (D1 allows 100 bound parameters per statement).
pub(crate) const LOG_COLUMNS: usize = 28;

/// The columns of a log row in binding order: first those every row fills, then a
/// stream's timing, then those that are 0 or empty unless the request failed, was
/// converted, capped, cached or reasoned.
const COLUMNS: [&str; LOG_COLUMNS] = [
    "created_at",
    "user_id",
    "username",
    "token_id",
    "token_name",
    "channel_id",
    "channel_name",
    "model_name",
    "upstream_model",
    "prompt_tokens",
    "completion_tokens",
    "quota",
    "latency_ms",
    "status_code",
    "request_id",
    "ip",
    "endpoint",
    "price",
    "first_byte_ms",
    "is_stream",
    "error",
    "warnings",
    "output_cap",
    "unbilled_quota",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
];

/// Which leading columns an INSERT of log rows lists; the rest keep their defaults (0 or
/// ''). Most rows need few: a non-streamed answer without anything unusual binds ten
/// values fewer than a full row, which on SQLite is ~1.7k instructions less per row
/// (binding and the statement's per-column steps).
/// Ordered narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LogShape {
    /// Up to `price`: not streamed, nothing unusual.
    Short,
    /// Up to `is_stream`: streamed, nothing unusual.
    Streamed,
    /// Every column.
    Full,
}

impl LogShape {
    pub(crate) const ALL: [LogShape; 3] = [LogShape::Short, LogShape::Streamed, LogShape::Full];

    /// Values one row binds.
    pub(crate) fn width(self) -> usize {
        match self {
            LogShape::Short => 18,
            LogShape::Streamed => 20,
            LogShape::Full => LOG_COLUMNS,
        }
    }
}

/// The INSERT of `rows` log rows of `shape`.
pub(crate) fn insert_logs_sql(rows: usize, shape: LogShape) -> String {
    let columns = &COLUMNS[..shape.width()];
    let mut sql = format!("INSERT INTO logs ({}) VALUES ", columns.join(", "));
    let placeholders = format!("({})", vec!["?"; columns.len()].join(", "));
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&placeholders);
    }
    sql
}

/// The most log rows one INSERT takes (fewer where the backend binds fewer values). The
/// INSERT texts up to it are made once (each is up to ~2 KB, written placeholder by
/// placeholder); a larger one would be written when it is needed.
pub(crate) const MOST_ROWS_PER_INSERT: usize = 32;

/// [`insert_logs_sql`], remembered.
pub(crate) fn insert_text(rows: usize, shape: LogShape) -> String {
    static KEPT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let kept = KEPT.get_or_init(|| {
        (1..=MOST_ROWS_PER_INSERT)
            .flat_map(|n| LogShape::ALL.map(|shape| insert_logs_sql(n, shape)))
            .collect()
    });
    let at = rows
        .checked_sub(1)
        .map(|i| i * LogShape::ALL.len() + shape as usize);
    match at.and_then(|i| kept.get(i)) {
        Some(text) => text.clone(),
        None => insert_logs_sql(rows, shape),
    }
}

/// One INSERT of `rows`, all of `shape` (see [`LogRow::shape`]).
pub(crate) fn insert_logs_query(rows: &[&LogRow], shape: LogShape) -> Query {
    Query {
        sql: insert_text(rows.len(), shape),
        params: Vec::new(),
        rows: rows.iter().map(|r| r.values.clone()).collect(),
        row_width: Some(shape.width()),
    }
}

/// A log row's values in [`COLUMNS`] order. Shared: the ledger keeps a batch until it is
/// written, and the batch's statements bind these values without copying their texts
/// (before, every text was cloned into the statement and both copies freed).
#[derive(Debug, Clone)]
pub struct LogRow {
    values: Arc<[Param]>,
    shape: LogShape,
}

/// Where `request_id` sits among a row's values.
const REQUEST_ID_AT: usize = 14;

impl LogRow {
    /// For messages about a row that cannot be written.
    pub fn request_id(&self) -> &str {
        match self.values.get(REQUEST_ID_AT) {
            Some(Param::Text(id)) => id,
            _ => "",
        }
    }

    /// The narrowest shape whose left-out columns all hold their defaults.
    pub(crate) fn shape(&self) -> LogShape {
        self.shape
    }
}

impl NewLog {
    /// The row's values, moved out of it in the INSERT's column order (`insert_logs_sql`).
    pub fn into_row(self) -> LogRow {
        // Taken apart field by field, so a field added to `NewLog` but not here fails to
        // compile instead of going unwritten.
        let NewLog {
            created_at,
            user_id,
            username,
            token_id,
            token_name,
            channel_id,
            channel_name,
            model_name,
            upstream_model,
            prompt_tokens,
            completion_tokens,
            quota,
            latency_ms,
            first_byte_ms,
            is_stream,
            status_code,
            error,
            request_id,
            ip,
            endpoint,
            warnings,
            output_cap,
            unbilled_quota,
            cache_read_tokens,
            cache_write_tokens,
            cache_write_1h_tokens,
            reasoning_tokens,
            price,
        } = self;
        // Decided from the fields (a test checks it against the columns each shape leaves
        // out): a walk over the values cost ~250 instructions a row.
        let shape = if !error.is_empty()
            || !warnings.is_empty()
            || output_cap != 0
            || unbilled_quota != 0
            || cache_read_tokens != 0
            || cache_write_tokens != 0
            || cache_write_1h_tokens != 0
            || reasoning_tokens != 0
        {
            LogShape::Full
        } else if is_stream || first_byte_ms != 0 {
            LogShape::Streamed
        } else {
            LogShape::Short
        };
        let values: [Param; LOG_COLUMNS] = [
            created_at.into(),
            user_id.into(),
            username.into(),
            token_id.into(),
            token_name.into(),
            channel_id.into(),
            channel_name.into(),
            model_name.into(),
            upstream_model.into(),
            prompt_tokens.into(),
            completion_tokens.into(),
            quota.into(),
            latency_ms.into(),
            status_code.into(),
            request_id.into(),
            ip.into(),
            endpoint.into(),
            price.into(),
            first_byte_ms.into(),
            is_stream.into(),
            error.into(),
            warnings.into(),
            output_cap.into(),
            unbilled_quota.into(),
            cache_read_tokens.into(),
            cache_write_tokens.into(),
            cache_write_1h_tokens.into(),
            reasoning_tokens.into(),
        ];
        LogRow {
            values: Arc::from(values),
            shape,
        }
    }
}

fn log_from_row(r: &Row) -> LogEntry {
    LogEntry {
        id: r.i64("id"),
        row: NewLog {
            created_at: r.i64("created_at"),
            user_id: r.i64("user_id"),
            username: r.string("username").into(),
            token_id: r.i64("token_id"),
            token_name: r.string("token_name").into(),
            channel_id: r.i64("channel_id"),
            channel_name: r.string("channel_name").into(),
            model_name: r.string("model_name"),
            upstream_model: r.string("upstream_model"),
            prompt_tokens: r.i64("prompt_tokens"),
            completion_tokens: r.i64("completion_tokens"),
            quota: r.i64("quota"),
            latency_ms: r.i64("latency_ms"),
            first_byte_ms: r.i64("first_byte_ms"),
            is_stream: r.bool("is_stream"),
            status_code: r.i64("status_code"),
            error: r.string("error"),
            request_id: r.string("request_id").into(),
            ip: r.string("ip"),
            endpoint: r.string("endpoint").into(),
            warnings: r.string("warnings"),
            output_cap: r.i64("output_cap"),
            unbilled_quota: r.i64("unbilled_quota"),
            cache_read_tokens: r.i64("cache_read_tokens"),
            cache_write_tokens: r.i64("cache_write_tokens"),
            cache_write_1h_tokens: r.i64("cache_write_1h_tokens"),
            reasoning_tokens: r.i64("reasoning_tokens"),
            price: r.string("price").into(),
        },
    }
}

/// The rollup rows matching a log filter: whole days overlapping the range. Filters on
/// how a request ended (`type`, `status_code`) have no rollup counterpart: `None`.
fn rollup_where(f: &LogFilter) -> Option<Query> {
    if f.kind.is_some() || f.status_code.is_some() {
        return None;
    }
    let mut q = Query::new(" FROM usage_daily WHERE 1 = 1");
    if let Some(v) = f.start {
        q.push(" AND day > ").push_bind(v.saturating_sub(86_400));
    }
    if let Some(v) = f.end {
        q.push(" AND day <= ").push_bind(v);
    }
    push_subject(&mut q, f);
    Some(q)
}

fn where_clause(f: &LogFilter) -> Query {
    let mut q = Query::new(" FROM logs WHERE 1 = 1");
    if let Some(v) = f.start {
        q.push(" AND created_at >= ").push_bind(v);
    }
    if let Some(v) = f.end {
        q.push(" AND created_at <= ").push_bind(v);
    }
    push_subject(&mut q, f);
    if let Some(k) = f.kind {
        q.push(k.condition());
    }
    if let Some(v) = f.status_code {
        q.push(" AND status_code = ").push_bind(v);
    }
    q
}

/// The filter's conditions on who and what, columns raw rows and rollups share.
fn push_subject(q: &mut Query, f: &LogFilter) {
    if let Some(v) = f.user_id {
        q.push(" AND user_id = ").push_bind(v);
    }
    if let Some(v) = &f.model_name {
        q.push(" AND model_name = ").push_bind(v.clone());
    }
    if let Some(v) = &f.token_name {
        q.push(" AND token_name = ").push_bind(v.clone());
    }
    if let Some(v) = f.channel_id {
        q.push(" AND channel_id = ").push_bind(v);
    }
    if let Some(v) = &f.username {
        q.push(" AND username = ").push_bind(v.clone());
    }
}

const TOTALS: &str =
    "COUNT(*) AS requests, CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
    CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens, \
    CAST(COALESCE(SUM(quota), 0) AS BIGINT) AS quota";

const ROLLUP_TOTALS: &str = "CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, \
    CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
    CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens, \
    CAST(COALESCE(SUM(quota), 0) AS BIGINT) AS quota";

fn add(into: &mut UsageTotals, t: &UsageTotals) {
    into.requests += t.requests;
    into.prompt_tokens += t.prompt_tokens;
    into.completion_tokens += t.completion_tokens;
    into.quota += t.quota;
}

fn totals_from_row(r: &Row) -> UsageTotals {
    UsageTotals {
        requests: r.i64("requests"),
        prompt_tokens: r.i64("prompt_tokens"),
        completion_tokens: r.i64("completion_tokens"),
        quota: r.i64("quota"),
    }
}

fn with_filter(head: &str, filter: &Query, tail: &str) -> Query {
    Query::with_params(format!("{head}{}{tail}", filter.sql), filter.params.clone())
}

#[async_trait]
impl LogStore for SqlStore {
    async fn insert_logs(&self, rows: &[NewLog]) -> StoreResult<()> {
        self.db
            .batch(
                rows.iter()
                    .map(|r| insert_logs_query(&[&r.clone().into_row()], LogShape::Full))
                    .collect(),
            )
            .await
    }

    async fn list_logs(&self, f: &LogFilter, page: Page) -> StoreResult<Paged<LogEntry>> {
        self.paged("*", where_clause(f), "id DESC", page, log_from_row)
            .await
    }

    async fn logs_after(
        &self,
        f: &LogFilter,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogEntry>> {
        let mut q = where_clause(f);
        q.push(" AND id > ").push_bind(after_id);
        q.push(" ORDER BY id LIMIT ").push_bind(limit);
        let q = with_filter("SELECT *", &q, "");
        Ok(self
            .db
            .fetch_all(q)
            .await?
            .iter()
            .map(log_from_row)
            .collect())
    }

    async fn log_stats(&self, f: &LogFilter) -> StoreResult<LogStats> {
        let filter = where_clause(f);
        let total = self
            .db
            .fetch_optional(with_filter(&format!("SELECT {TOTALS}"), &filter, ""))
            .await?
            .map(|r| totals_from_row(&r))
            .unwrap_or_default();
        let rows = self
            .db
            .fetch_all(with_filter(
                &format!("SELECT (created_at / 86400) * 86400 AS day, model_name, {TOTALS}"),
                &filter,
                " GROUP BY (created_at / 86400) * 86400, model_name ORDER BY day, model_name",
            ))
            .await?;
        let mut by_model_day: Vec<DailyModelUsage> = rows
            .iter()
            .map(|r| DailyModelUsage {
                day: r.i64("day"),
                model_name: r.string("model_name"),
                totals: totals_from_row(r),
            })
            .collect();
        let mut total = total;
        // Days whose raw rows retention has removed are counted from the rollups.
        if let Some(rollups) = rollup_where(f) {
            let rolled = self
                .db
                .fetch_all(with_filter(
                    &format!("SELECT day, model_name, {ROLLUP_TOTALS}"),
                    &rollups,
                    " GROUP BY day, model_name ORDER BY day, model_name",
                ))
                .await?;
            for r in &rolled {
                let t = totals_from_row(r);
                add(&mut total, &t);
                let (day, model_name) = (r.i64("day"), r.string("model_name"));
                match by_model_day
                    .iter_mut()
                    .find(|d| d.day == day && d.model_name == model_name)
                {
                    Some(d) => add(&mut d.totals, &t),
                    None => by_model_day.push(DailyModelUsage {
                        day,
                        model_name,
                        totals: t,
                    }),
                }
            }
            by_model_day.sort_by(|a, b| (a.day, &a.model_name).cmp(&(b.day, &b.model_name)));
        }
        Ok(LogStats {
            total,
            by_model_day,
        })
    }
}

#[cfg(test)]
mod row_tests {
    use super::*;

    #[test]
    fn a_row_holds_every_column_in_the_insert_order() {
        let row = NewLog {
            request_id: "req-1".into(),
            prompt_tokens: 7,
            price: "{}".into(),
            ..NewLog::default()
        }
        .into_row();
        assert_eq!(row.values.len(), LOG_COLUMNS);
        assert_eq!(row.request_id(), "req-1");
        assert_eq!(row.shape(), LogShape::Short);
        let columns = |shape| -> Vec<String> {
            insert_logs_sql(1, shape)
                .split_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(names, _)| names.split(',').map(|c| c.trim().to_string()).collect())
                .unwrap_or_default()
        };
        let full = columns(LogShape::Full);
        assert_eq!(full.len(), LOG_COLUMNS);
        for shape in LogShape::ALL {
            assert_eq!(columns(shape)[..], full[..shape.width()]);
        }
        let at = |name: &str| full.iter().position(|c| c == name);
        assert_eq!(at("request_id"), Some(REQUEST_ID_AT));
        assert!(matches!(
            row.values[at("prompt_tokens").unwrap_or(0)],
            Param::Int(7)
        ));
        assert!(matches!(&row.values[at("price").unwrap_or(0)], Param::Text(p) if p == "{}"));
        // Every column a shape leaves out is one its rows hold at the default: a row that
        // sets it has the narrowest shape that lists it.
        for (at, left_out) in full.iter().enumerate().skip(LogShape::Short.width()) {
            let set: fn(&mut NewLog) = match left_out.as_str() {
                "first_byte_ms" => |l| l.first_byte_ms = 1,
                "is_stream" => |l| l.is_stream = true,
                "error" => |l| l.error = "x".into(),
                "warnings" => |l| l.warnings = "x".into(),
                "output_cap" => |l| l.output_cap = 1,
                "unbilled_quota" => |l| l.unbilled_quota = 1,
                "cache_read_tokens" => |l| l.cache_read_tokens = 1,
                "cache_write_tokens" => |l| l.cache_write_tokens = 1,
                "cache_write_1h_tokens" => |l| l.cache_write_1h_tokens = 1,
                "reasoning_tokens" => |l| l.reasoning_tokens = 1,
                other => panic!("{other} is left out by a shape but not tried here"),
            };
            let wider = LogShape::ALL
                .into_iter()
                .find(|s| s.width() > at)
                .unwrap_or(LogShape::Full);
            let mut log = NewLog::default();
            set(&mut log);
            let row = log.into_row();
            assert_eq!(row.shape(), wider, "{left_out}");
            let left = &row.values[row.shape().width()..];
            assert!(
                left.iter()
                    .all(|p| matches!(p, Param::Int(0))
                        || matches!(p, Param::Text(t) if t.is_empty())),
                "{left_out}"
            );
        }
    }
}
