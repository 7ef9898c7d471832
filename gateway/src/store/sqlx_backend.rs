//! SQLite and PostgreSQL through sqlx's `Any` driver, so both share the SQL text.

use super::sql::{numbered_placeholders, DbError, Param, Query, Row, SqlBackend, Value};
use super::sqlite_writer::SqliteWriter;
use async_trait::async_trait;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Column, Row as _};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// How long a query waits for a connection from PostgreSQL's pool, connecting included.
/// sqlx keeps retrying a refused connection until this passes, so it is how long a
/// request waits before its 503 while the server is down.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// The same for SQLite, where a wait only ever means a busy writer.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqlxBackend {
    pool: AnyPool,
    postgres: bool,
    /// SQLite's write batches, on a file database (an in-memory one exists only inside
    /// the pool's connections).
    writer: Option<SqliteWriter>,
}

/// sqlx's own defaults, kept for PostgreSQL.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);
const POOL_MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 60);

impl SqlxBackend {
    /// Connects, applies the migrations of the URL's dialect and tunes SQLite (WAL, busy timeout).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres");
        let url = if postgres {
            url.to_string()
        } else {
            prepare_sqlite_url(url)?
        };
        let file = match postgres {
            true => None,
            false => sqlite_file(&url)?,
        };
        let size = if postgres {
            max_connections
        } else {
            max_connections.min(8)
        };
        // Connections to an SQLite file are kept for the process's life: opening one reads
        // the whole schema (~1M instructions), which would otherwise fall on a request
        // each time a connection is recycled. (Each connection to `:memory:` is a database
        // of its own; PostgreSQL's are recycled as usual.)
        let keep = file.is_some();
        let pool = AnyPoolOptions::new()
            .max_connections(size)
            .idle_timeout((!keep).then_some(POOL_IDLE_TIMEOUT))
            .max_lifetime((!keep).then_some(POOL_MAX_LIFETIME))
            .acquire_timeout(if postgres {
                PG_ACQUIRE_TIMEOUT
            } else {
                SQLITE_ACQUIRE_TIMEOUT
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if !postgres {
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let mut writer = None;
        if postgres {
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        } else {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            if keep && size >= 2 {
                // Two connections from the start, both opened after the migrations (a
                // connection opened before them reads the schema again on its first use):
                // a second one is otherwise opened the first time two background reads
                // (cache refreshes, the heartbeat) overlap, inside some request.
                let (mut a, mut b) = tokio::try_join!(pool.acquire(), pool.acquire())?;
                for conn in [&mut a, &mut b] {
                    sqlx::query("SELECT count(*) FROM sqlite_master")
                        .execute(&mut **conn)
                        .await?;
                }
            }
            if let Some(path) = file {
                let warm = super::ledger::log_insert_texts(super::sql_store::SQL_BIND_LIMIT);
                writer = Some(SqliteWriter::open(&path, warm)?);
            }
        }
        Ok(SqlxBackend {
            pool,
            postgres,
            writer,
        })
    }

    fn sql(&self, q: &Query) -> String {
        if self.postgres {
            numbered_placeholders(&q.sql)
        } else {
            q.sql.clone()
        }
    }
}

/// Makes sure the SQLite file's directory exists and the file is created on first start.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let dir = crate::settings::data_dir(url);
    std::fs::create_dir_all(&dir)?;
    if url.contains(":memory:") || url.contains("mode=") {
        return Ok(url.to_string());
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}mode=rwc"))
}

/// The file an SQLite URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)?;
    Ok(Some(options.get_filename().to_path_buf()))
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>,
    params: impl Iterator<Item = &'q Param>,
) -> sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>> {
    for p in params {
        query = match p {
            Param::Null => query.bind(Option::<i64>::None),
            Param::Int(v) => query.bind(*v),
            Param::Text(s) => query.bind(s.as_str()),
        };
    }
    query
}

fn map_err(e: sqlx::Error) -> DbError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Unique,
        // PostgreSQL's "connection exception" (08…) and "operator intervention" (57P…:
        // shutting down, starting up, connection terminated) classes.
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
        {
            DbError::Unavailable(e.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => DbError::Unavailable(e.to_string()),
        _ => DbError::Other(e.to_string()),
    }
}

fn convert_row(row: &AnyRow) -> Row {
    let mut map = HashMap::with_capacity(row.columns().len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            v.map_or(Value::Null, Value::Int)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            v.map_or(Value::Null, Value::Text)
        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            v.map_or(Value::Null, Value::Real)
        } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
            v.map_or(Value::Null, |x| Value::Int(i64::from(x)))
        } else {
            Value::Null
        };
        map.insert(col.name().to_string(), v);
    }
    Row(map)
}

#[async_trait]
impl SqlBackend for SqlxBackend {
    async fn execute(&self, q: Query) -> Result<u64, DbError> {
        let sql = self.sql(&q);
        let res = bind_all(sqlx::query(&sql), q.all_params())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(res.rows_affected())
    }

    async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, DbError> {
        let sql = self.sql(&q);
        let rows = bind_all(sqlx::query(&sql), q.all_params())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(convert_row).collect())
    }

    async fn batch(&self, qs: Vec<Query>) -> Result<(), DbError> {
        self.batch_returns_row(qs).await.map(|_| ())
    }

    async fn batch_returns_row(&self, qs: Vec<Query>) -> Result<bool, DbError> {
        // On SQLite the writer's connection runs every batch: its statements stay prepared,
        // and a pooled connection would only wait for that writer's lock anyway.
        if let Some(writer) = &self.writer {
            return writer.batch(qs).await;
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let mut returned = false;
        for q in &qs {
            let sql = self.sql(q);
            returned = !bind_all(sqlx::query(&sql), q.all_params())
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .is_empty();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(returned)
    }

    fn postgres(&self) -> bool {
        self.postgres
    }

    /// The pool itself keeps no such state; `Reachability` does.
    fn in_doubt(&self) -> bool {
        false
    }
}
