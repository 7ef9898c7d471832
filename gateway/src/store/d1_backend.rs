//! Cloudflare D1 over its HTTP query API (`POST {base}/accounts/{account}/d1/database/{db}/query`).
//!
//! Every call is one HTTPS round trip; `batch` uses the API's `{"batch": [...]}` form, which D1
//! runs as one transaction. Migrations are the `migrations/sqlite` files, recorded in
//! `d1_migrations` exactly as `wrangler d1 migrations apply` records them, so either tool can
//! apply them and the other sees it. Neither the API token nor SQL parameters are ever logged.

use super::sql::{DbError, Param, Query, Row, SqlBackend, Value};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The table and columns wrangler uses to track applied migrations (same DDL text).
const MIGRATIONS_TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS d1_migrations(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);";
/// Integers beyond this lose precision as JSON numbers in the Workers runtime; they are sent
/// as text, which SQLite converts back exactly wherever an INTEGER column is involved.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
const ATTEMPTS: u32 = 3;
const MAX_ERROR_LEN: usize = 300;

pub struct D1Backend {
    client: reqwest::Client,
    query_url: String,
    token: String,
    /// Requests in flight, bounded like a connection pool: D1 runs one database's queries
    /// one at a time anyway, so more only queue at Cloudflare (and a burst of a hundred
    /// made the local Workers runtime restart mid-request).
    in_flight: tokio::sync::Semaphore,
}

/// `d1://<account_id>/<database_id>` split into its two ids.
pub fn parse_d1_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("d1://")
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL: expected d1://<account_id>/<database_id>"))?;
    let rest = rest.trim_end_matches('/');
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match rest.split_once('/') {
        Some((account, db)) if valid(account) && valid(db) => {
            Ok((account.to_string(), db.to_string()))
        }
        _ => anyhow::bail!("DATABASE_URL: expected d1://<account_id>/<database_id>"),
    }
}

impl D1Backend {
    /// Builds the client for `d1://…` and applies pending migrations.
    pub async fn connect(
        url: &str,
        api_base: &str,
        token: Option<&str>,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        let (account, database) = parse_d1_url(url)?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| anyhow::anyhow!("CLOUDFLARE_API_TOKEN: is required for d1://"))?;
        let base = url::Url::parse(api_base)
            .map_err(|_| anyhow::anyhow!("D1_API_BASE: is not an absolute URL"))?;
        let loopback = matches!(base.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if base.scheme() != "https" && !(base.scheme() == "http" && loopback) {
            // The API token travels in every request: plain HTTP only to this machine.
            anyhow::bail!(
                "D1_API_BASE: must be https:// (http:// only for a loopback test server)"
            );
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(max_connections as usize)
            .tcp_keepalive(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("llm-gateway/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        let backend = D1Backend {
            client: builder.build()?,
            query_url: format!(
                "{}/accounts/{account}/d1/database/{database}/query",
                api_base.trim_end_matches('/')
            ),
            token: token.to_string(),
            in_flight: tokio::sync::Semaphore::new(max_connections.max(1) as usize),
        };
        backend.migrate().await?;
        Ok(backend)
    }

    /// Applies the `migrations/sqlite` files not yet named in `d1_migrations`, each together
    /// with its record in one multi-statement query (one D1 batch), as wrangler does.
    async fn migrate(&self) -> anyhow::Result<()> {
        self.send(&json!({ "sql": MIGRATIONS_TABLE_DDL })).await?;
        let mut applied = self.applied_migrations().await?;
        for m in sqlx::migrate!("../migrations/sqlite").iter() {
            let name = migration_file_name(m.version, &m.description);
            if applied.contains(&name) {
                continue;
            }
            anyhow::ensure!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
                "migration file name {name:?} must be plain ASCII"
            );
            let sql = format!(
                "{}\nINSERT INTO d1_migrations (name) values ('{name}');",
                m.sql
            );
            log::info!("D1: applying migration {name}");
            if let Err(e) = self.send(&json!({ "sql": sql })).await {
                // Another replica may have applied it at the same moment.
                applied = self.applied_migrations().await?;
                if !applied.contains(&name) {
                    return Err(anyhow::anyhow!("D1 migration {name} failed: {e}"));
                }
            }
        }
        Ok(())
    }

    async fn applied_migrations(&self) -> anyhow::Result<HashSet<String>> {
        let rows = self
            .fetch_all(Query::new("SELECT name FROM d1_migrations ORDER BY id"))
            .await?;
        Ok(rows.iter().filter_map(|r| r.opt_string("name")).collect())
    }

    /// Posts one request body; retries only where the query cannot have run (connection not
    /// made, or the API refused it with 429).
    async fn send(&self, body: &Json) -> Result<Vec<QueryResult>, DbError> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| DbError::Unavailable("D1 client closed".into()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .client
                .post(&self.query_url)
                .bearer_auth(&self.token)
                .json(body)
                .send()
                .await;
            let res = match res {
                Ok(r) => r,
                Err(e) if e.is_connect() && attempt < ATTEMPTS => {
                    log::warn!("D1: cannot connect to the API (attempt {attempt}); retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(DbError::Unavailable(format!(
                        "D1 request failed: {}",
                        e.without_url()
                    )))
                }
            };
            let status = res.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS && attempt < ATTEMPTS {
                let wait = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map_or_else(|| backoff(attempt), |s| Duration::from_secs(s.min(5)));
                log::warn!("D1: API rate limit hit (attempt {attempt}); retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            let text = res.text().await.map_err(|e| {
                DbError::Other(format!("D1 response unreadable: {}", e.without_url()))
            })?;
            return parse_envelope(status.as_u16(), &text);
        }
    }

    async fn run(&self, q: Query) -> Result<QueryResult, DbError> {
        let body = json!({ "sql": q.sql, "params": encode_params(q.all_params()) });
        self.send(&body)
            .await?
            .pop()
            .ok_or_else(|| DbError::Other("D1 returned no result".into()))
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.min(4))
}

/// The name wrangler records for a migration: the file name, `0001_init.sql`. sqlx keeps the
/// version as a number and the description with `_` turned into spaces; the files use four
/// digits (checked by a test below).
fn migration_file_name(version: i64, description: &str) -> String {
    format!("{version:04}_{}.sql", description.replace(' ', "_"))
}

fn encode_params<'a>(params: impl Iterator<Item = &'a Param>) -> Vec<Json> {
    params
        .map(|p| match p {
            Param::Null => Json::Null,
            Param::Int(v) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(v) => json!(v),
            Param::Int(v) => Json::String(v.to_string()),
            Param::Text(s) => Json::String(s.to_string()),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    #[serde(default)]
    result: Option<Vec<QueryResult>>,
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Default, Deserialize)]
struct QueryResult {
    #[serde(default)]
    results: Option<Vec<serde_json::Map<String, Json>>>,
    #[serde(default = "yes")]
    success: bool,
    #[serde(default)]
    meta: Meta,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    changes: Option<f64>,
}

/// Reads the API's `{success, errors, messages, result}` envelope.
fn parse_envelope(status: u16, text: &str) -> Result<Vec<QueryResult>, DbError> {
    let env: Envelope = serde_json::from_str(text).map_err(|_| {
        let message = format!(
            "D1 answered HTTP {status} with a body that is not its JSON envelope: {:?}",
            excerpt(text)
        );
        // A 5xx without the API's envelope comes from a proxy or the runtime in front of
        // D1, not from the query: the database is unreachable for now.
        if status >= 500 {
            DbError::Unavailable(message)
        } else {
            DbError::Other(message)
        }
    })?;
    if (200..300).contains(&status) && env.success {
        let results = env.result.unwrap_or_default();
        if results.iter().any(|r| !r.success) {
            return Err(DbError::Other("D1 reported a failed statement".into()));
        }
        return Ok(results);
    }
    let messages: Vec<&str> = env.errors.iter().map(|e| e.message.as_str()).collect();
    if messages
        .iter()
        .any(|m| m.contains("UNIQUE constraint failed"))
    {
        return Err(DbError::Unique);
    }
    if env.errors.iter().any(|e| e.code == 10000) || matches!(status, 401 | 403) {
        return Err(DbError::Other(format!(
            "D1 refused the credentials (HTTP {status}); check CLOUDFLARE_API_TOKEN"
        )));
    }
    let mut joined = messages.join("; ");
    if joined.len() > MAX_ERROR_LEN {
        let cut = (0..=MAX_ERROR_LEN)
            .rev()
            .find(|&i| joined.is_char_boundary(i))
            .unwrap_or(0);
        joined.truncate(cut);
        joined.push('…');
    }
    Err(DbError::Other(format!(
        "D1 error (HTTP {status}): {joined}"
    )))
}

/// The start of a body for an error message.
fn excerpt(text: &str) -> &str {
    let cut = (0..=MAX_ERROR_LEN.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    &text[..cut]
}

fn to_value(v: Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Int(i64::from(b)),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(f)) => Value::Real(f),
            (None, None) => Value::Text(n.to_string()),
        },
        Json::String(s) => Value::Text(s),
        other => Value::Text(other.to_string()),
    }
}

fn to_rows(r: QueryResult) -> Vec<Row> {
    r.results
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            Row(m
                .into_iter()
                .map(|(k, v)| (k, to_value(v)))
                .collect::<HashMap<_, _>>())
        })
        .collect()
}

#[async_trait]
impl SqlBackend for D1Backend {
    async fn execute(&self, q: Query) -> Result<u64, DbError> {
        let r = self.run(q).await?;
        // `changes` is a JSON number; a negative or fractional one would be a D1 bug.
        Ok(r.meta.changes.map_or(0, |c| c.max(0.0) as u64))
    }

    async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, DbError> {
        Ok(to_rows(self.run(q).await?))
    }

    async fn batch(&self, qs: Vec<Query>) -> Result<(), DbError> {
        if qs.is_empty() {
            return Ok(());
        }
        let batch: Vec<Json> = qs
            .iter()
            .map(|q| json!({ "sql": q.sql, "params": encode_params(q.all_params()) }))
            .collect();
        self.send(&json!({ "batch": batch })).await.map(|_| ())
    }

    async fn batch_returns_row(&self, qs: Vec<Query>) -> Result<bool, DbError> {
        let batch: Vec<Json> = qs
            .iter()
            .map(|q| json!({ "sql": q.sql, "params": encode_params(q.all_params()) }))
            .collect();
        let mut results = self.send(&json!({ "batch": batch })).await?;
        Ok(results.pop().is_some_and(|r| !to_rows(r).is_empty()))
    }

    fn postgres(&self) -> bool {
        false
    }

    /// The client itself keeps no such state; `Reachability` does.
    fn in_doubt(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d1_urls_name_an_account_and_a_database() {
        assert_eq!(
            parse_d1_url("d1://acc-1/0b2c-9f").unwrap(),
            ("acc-1".to_string(), "0b2c-9f".to_string())
        );
        for bad in [
            "d1://",
            "d1://acc",
            "d1://acc/",
            "d1://a/b/c",
            "d1://a/b?x=1",
            "sqlite://x",
        ] {
            assert!(parse_d1_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn migration_names_are_the_file_names_wrangler_records() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let names: Vec<String> = sqlx::migrate!("../migrations/sqlite")
            .iter()
            .map(|m| migration_file_name(m.version, &m.description))
            .collect();
        assert_eq!(
            names, files,
            "migration files must be named NNNN_description.sql"
        );
    }

    #[test]
    fn large_integers_travel_as_text() {
        let p =
            encode_params([Param::Int(5), Param::Int(i64::MAX), Param::Null, "x".into()].iter());
        assert_eq!(
            p,
            vec![
                json!(5),
                json!(i64::MAX.to_string()),
                Json::Null,
                json!("x")
            ]
        );
    }

    #[test]
    fn rows_map_json_values() {
        let body = r#"{"success":true,"errors":[],"messages":[],"result":[{"results":[
            {"a":1,"b":1.5,"c":"t","d":null}],"success":true,"meta":{"changes":1}}]}"#;
        let mut r = parse_envelope(200, body).unwrap();
        let row = to_rows(r.remove(0)).remove(0);
        assert_eq!(row.0["a"], Value::Int(1));
        assert_eq!(row.0["b"], Value::Real(1.5));
        assert_eq!(row.0["c"], Value::Text("t".into()));
        assert_eq!(row.0["d"], Value::Null);
    }

    #[test]
    fn unique_violations_and_api_errors_are_told_apart() {
        let unique = r#"{"result":null,"success":false,"messages":[],"errors":[{"code":7500,
            "message":"UNIQUE constraint failed: users.username: SQLITE_CONSTRAINT"}]}"#;
        assert!(matches!(parse_envelope(400, unique), Err(DbError::Unique)));
        let auth = r#"{"result":null,"success":false,"messages":[],"errors":[{"code":10000,"message":"Authentication error"}]}"#;
        let e = parse_envelope(400, auth).unwrap_err().to_string();
        assert!(e.contains("CLOUDFLARE_API_TOKEN"), "{e}");
        assert!(parse_envelope(502, "<html>bad gateway</html>").is_err());
    }
}
