//! SQLite's write batches on a connection and a thread of their own.
//!
//! Every request's settlement ends up in a batch (`store/ledger.rs`): one log row of 28
//! columns plus its share of the balance updates. Through sqlx's `Any` driver each bound
//! value is converted twice, copied into owned arguments and sent to sqlx's connection
//! thread, which cost about three times what SQLite itself spends inserting the row
//! (docs/performance.md). Here the batch's statements run on a plain SQLite connection,
//! prepared once and kept, with the values bound straight from our `Param`s.
//!
//! Reads and everything else stay on the sqlx pool; both open the same file in WAL mode,
//! where one writer and any number of readers work side by side, and a second writer
//! waits on the busy timeout as it would between two pooled connections.

use super::sql::{DbError, Param, Query};
use rusqlite::{ffi, Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Distinct statement texts a batch may hold: the ledger's five updates, its six log
/// INSERT sizes, the lease statements and the few admin batches.
const STATEMENT_CACHE: usize = 64;
/// As long as the pooled connections wait for a busy database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

struct Job {
    queries: Vec<Query>,
    done: oneshot::Sender<Result<(), DbError>>,
}

pub struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens `path` (already created and migrated by the pool) and starts the thread that
    /// owns the connection; it ends when the writer is dropped.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let mut conn = conn;
                for job in queue {
                    // The caller may have stopped waiting; the batch was applied (or not)
                    // either way, which the ledger finds out by its id.
                    let _ = job.done.send(apply(&mut conn, &job.queries));
                }
            })?;
        Ok(SqliteWriter { jobs })
    }

    /// Runs `queries` in one transaction.
    pub async fn batch(&self, queries: Vec<Query>) -> Result<(), DbError> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job { queries, done }).map_err(stopped)?;
        answer.await.map_err(stopped)?
    }
}

/// The writer's thread is gone (its queue or its answer dropped).
fn stopped<E>(_: E) -> DbError {
    DbError::Other("the SQLite writer thread has stopped".into())
}

fn apply(conn: &mut Connection, queries: &[Query]) -> Result<(), DbError> {
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads first
    // could find another writer ahead of it and fail instead of waiting.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    for q in queries {
        let mut statement = tx.prepare_cached(&q.sql).map_err(map_err)?;
        for (i, p) in q.params.iter().enumerate() {
            let at = i + 1;
            match p {
                Param::Null => statement.raw_bind_parameter(at, rusqlite::types::Null),
                Param::Int(v) => statement.raw_bind_parameter(at, v),
                Param::Text(s) => statement.raw_bind_parameter(at, s.as_str()),
            }
            .map_err(map_err)?;
        }
        // Stepped to the end rather than `execute`d: a statement in a batch may return
        // rows (`RETURNING`, a guard's SELECT), which `execute` refuses.
        let mut rows = statement.raw_query();
        while rows.next().map_err(map_err)?.is_some() {}
    }
    tx.commit().map_err(map_err)
}

fn map_err(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == ErrorCode::ConstraintViolation
                && matches!(
                    f.extended_code,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            DbError::Unique
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::DiskFull
            ) =>
        {
            DbError::Unavailable(e.to_string())
        }
        _ => DbError::Other(e.to_string()),
    }
}
