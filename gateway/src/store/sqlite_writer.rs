//! SQLite's write batches on a connection and a thread of their own.
//!
//! Every request's settlement ends up in a batch (`store/ledger.rs`): one log row of 28
//! columns plus its share of the balance updates. Through sqlx's `Any` driver each bound
//! value is converted twice, copied into owned arguments and sent to sqlx's connection
//! thread, which cost about three times what SQLite itself spends inserting the row
//! (docs/performance.md). Here the batch's statements run on a plain SQLite connection,
//! prepared once and kept, with the values bound straight from our `Param`s
//! (`sqlite_statements.rs`).
//!
//! Reads and everything else stay on the sqlx pool; both open the same file in WAL mode,
//! where one writer and any number of readers work side by side, and a second writer
//! waits on the busy timeout as it would between two pooled connections.

use super::sql::{DbError, Query};
use super::sqlite_statements::Batches;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// As long as the pooled connections wait for a busy database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

struct Job {
    queries: Vec<Query>,
    done: oneshot::Sender<Result<bool, DbError>>,
}

pub struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens `path` (already created and migrated by the pool) and starts the thread that
    /// owns the connection; it ends when the writer is dropped.
    /// `warm` names statements to prepare at once (the log INSERT's sizes).
    pub fn open(path: &Path, warm: Vec<String>) -> anyhow::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                // Made here: the prepared statements may not move between threads.
                let Some(mut batches) = Batches::new(conn) else {
                    log::error!("the SQLite writer's connection has no handle");
                    return;
                };
                batches.prepare(&warm);
                for job in queue {
                    // The caller may have stopped waiting; the batch was applied (or not)
                    // either way, which the ledger finds out by its id.
                    let _ = job.done.send(batches.apply(&job.queries));
                }
            })?;
        Ok(SqliteWriter { jobs })
    }

    /// Runs `queries` in one transaction; whether the last one returned a row.
    pub async fn batch(&self, queries: Vec<Query>) -> Result<bool, DbError> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job { queries, done }).map_err(stopped)?;
        answer.await.map_err(stopped)?
    }
}

/// The writer's thread is gone (its queue or its answer dropped).
fn stopped<E>(_: E) -> DbError {
    DbError::Other("the SQLite writer thread has stopped".into())
}
