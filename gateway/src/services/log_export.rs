//! `GET /api/log/export`: the filtered logs as CSV or JSON lines, streamed in keyset
//! pages (`id > last ORDER BY id LIMIT n`) so memory stays flat however long the range.

use crate::store::logs::{LogEntry, LogFilter};
use crate::store::Store;
use bytes::Bytes;
use futures_util::Stream;
use std::sync::Arc;

/// Rows per database query (and per chunk sent).
pub const PAGE_ROWS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn parse(raw: Option<&str>) -> Option<Format> {
        match raw.map(str::trim).unwrap_or("csv") {
            "" | "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

/// What the export writes, and for whom.
pub struct Export {
    pub store: Arc<dyn Store>,
    pub filter: LogFilter,
    pub format: Format,
    /// Users' own exports leave out which channel served them, as the log list does.
    pub with_channel: bool,
}

const CHANNEL_COLUMNS: [&str; 3] = ["channel_id", "channel_name", "upstream_model"];

fn columns(with_channel: bool) -> Vec<&'static str> {
    let all = [
        "id",
        "created_at",
        "user_id",
        "username",
        "token_id",
        "token_name",
        "channel_id",
        "channel_name",
        "model_name",
        "upstream_model",
        "endpoint",
        "is_stream",
        "status_code",
        "prompt_tokens",
        "completion_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "reasoning_tokens",
        "quota",
        "price",
        "latency_ms",
        "first_byte_ms",
        "request_id",
        "ip",
        "error",
        "warnings",
        "output_cap",
        "unbilled_quota",
    ];
    all.into_iter()
        .filter(|c| with_channel || !CHANNEL_COLUMNS.contains(c))
        .collect()
}

fn field(e: &LogEntry, column: &str) -> String {
    let r = &e.row;
    match column {
        "id" => e.id.to_string(),
        "created_at" => r.created_at.to_string(),
        "user_id" => r.user_id.to_string(),
        "username" => r.username.to_string(),
        "token_id" => r.token_id.to_string(),
        "token_name" => r.token_name.to_string(),
        "channel_id" => r.channel_id.to_string(),
        "channel_name" => r.channel_name.to_string(),
        "model_name" => r.model_name.clone(),
        "upstream_model" => r.upstream_model.clone(),
        "endpoint" => r.endpoint.to_string(),
        "is_stream" => r.is_stream.to_string(),
        "status_code" => r.status_code.to_string(),
        "prompt_tokens" => r.prompt_tokens.to_string(),
        "completion_tokens" => r.completion_tokens.to_string(),
        "cache_read_tokens" => r.cache_read_tokens.to_string(),
        "cache_write_tokens" => r.cache_write_tokens.to_string(),
        "cache_write_1h_tokens" => r.cache_write_1h_tokens.to_string(),
        "reasoning_tokens" => r.reasoning_tokens.to_string(),
        "quota" => r.quota.to_string(),
        "price" => r.price.to_string(),
        "latency_ms" => r.latency_ms.to_string(),
        "first_byte_ms" => r.first_byte_ms.to_string(),
        "request_id" => r.request_id.to_string(),
        "ip" => r.ip.clone(),
        "error" => r.error.clone(),
        "warnings" => r.warnings.clone(),
        "output_cap" => r.output_cap.to_string(),
        "unbilled_quota" => r.unbilled_quota.to_string(),
        _ => String::new(),
    }
}

fn encode_csv(rows: &[LogEntry], header: bool, with_channel: bool) -> Result<Bytes, String> {
    let cols = columns(with_channel);
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 200));
    if header {
        w.write_record(&cols).map_err(|e| e.to_string())?;
    }
    for e in rows {
        w.write_record(cols.iter().map(|c| field(e, c)))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map(Bytes::from).map_err(|e| e.to_string())
}

fn encode_jsonl(rows: &[LogEntry], with_channel: bool) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(rows.len() * 300);
    for e in rows {
        let mut v = serde_json::to_value(e).map_err(|e| e.to_string())?;
        if let (false, Some(o)) = (with_channel, v.as_object_mut()) {
            for c in CHANNEL_COLUMNS {
                o.remove(c);
            }
        }
        serde_json::to_writer(&mut out, &v).map_err(|e| e.to_string())?;
        out.push(b'\n');
    }
    Ok(Bytes::from(out))
}

struct Cursor {
    export: Export,
    after: i64,
    first: bool,
    done: bool,
}

/// The export as a byte stream: a CSV header (even for no rows), then one chunk per page.
/// A database failure mid-way ends the stream with an error, which cuts the response
/// short rather than passing a partial file off as complete.
pub fn stream(export: Export) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let cursor = Cursor {
        export,
        after: 0,
        first: true,
        done: false,
    };
    futures_util::stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        let page = c
            .export
            .store
            .logs_after(&c.export.filter, c.after, PAGE_ROWS)
            .await;
        let rows = match page {
            Ok(rows) => rows,
            Err(e) => {
                log::error!("log export stopped: {e}");
                crate::metrics::database_error("api");
                c.done = true;
                return Some((Err(actix_web::error::ErrorInternalServerError(e)), c));
            }
        };
        c.done = i64::try_from(rows.len()).unwrap_or(0) < PAGE_ROWS;
        if let Some(last) = rows.last() {
            c.after = last.id;
        }
        let header = std::mem::replace(&mut c.first, false);
        let with_channel = c.export.with_channel;
        let chunk = match c.export.format {
            Format::Csv => encode_csv(&rows, header, with_channel),
            Format::JsonLines => encode_jsonl(&rows, with_channel),
        };
        match chunk {
            Ok(b) => Some((Ok(b), c)),
            Err(e) => {
                c.done = true;
                Some((Err(actix_web::error::ErrorInternalServerError(e)), c))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::logs::NewLog;

    fn entry(id: i64, error: &str) -> LogEntry {
        LogEntry {
            id,
            row: NewLog {
                model_name: "m".into(),
                channel_name: "secret-channel".into(),
                error: error.into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines_and_users_get_no_channel() {
        let rows = [entry(1, "bad, \"quoted\"\nline")];
        let text = String::from_utf8(encode_csv(&rows, true, false).unwrap().to_vec()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let headers = r.headers().unwrap().clone();
        assert!(!headers.iter().any(|h| h.starts_with("channel")));
        let rec = r.records().next().unwrap().unwrap();
        let error_col = headers.iter().position(|h| h == "error").unwrap();
        assert_eq!(&rec[error_col], "bad, \"quoted\"\nline");
        assert!(!text.contains("secret-channel"));
    }

    #[test]
    fn formats_parse_and_unknown_ones_are_refused() {
        assert_eq!(Format::parse(None), Some(Format::Csv));
        assert_eq!(Format::parse(Some("jsonl")), Some(Format::JsonLines));
        assert_eq!(Format::parse(Some("xml")), None);
    }
}
