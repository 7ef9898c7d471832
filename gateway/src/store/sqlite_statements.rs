//! The SQLite writer's prepared statements, with texts bound where they lie.
//!
//! rusqlite binds every text with `SQLITE_TRANSIENT`: SQLite copies the value into memory
//! of its own and frees it when the bindings are cleared. A log row binds a dozen texts,
//! and those copies and frees cost more than SQLite's insert of the row's numbers
//! (docs/performance.md). Here texts are bound `SQLITE_STATIC`, which tells SQLite to
//! read them in place.
//!
//! That is sound only while the texts outlive every use SQLite makes of them.
//! [`Statements::run`] guarantees it: it borrows the query for the whole call, steps the
//! statement to its end, and resets it before the borrow ends (in [`Running`]'s drop, so
//! an error path does too). A run that bound every parameter leaves its bindings in place:
//! SQLite reads a bound text only when a step evaluates it, and every run binds every
//! parameter again before it steps (replacing or finalizing a static binding does not read
//! it). Clearing them cost as much as binding them. A query with fewer values than the
//! statement has parameters, and a run that fails while binding, clear them, so no stale
//! text is ever stepped over. Nothing may read these statements' bindings outside `run`
//! (`sqlite3_expanded_sql`, a trace callback): between runs they point at freed texts.

use super::sql::{DbError, Param, Query};
use rusqlite::{ffi, Connection, TransactionBehavior};
use std::ffi::{c_char, c_int, CStr};
use std::ptr::{self, NonNull};

/// Statements kept prepared: the ledger's updates, the log INSERT's six sizes, the lease
/// statements and the few admin batches. Past this the oldest is finalized.
const CAPACITY: usize = 64;

/// The writer's connection and the statements prepared on it.
pub struct Batches {
    statements: Statements,
    /// Declared last: it closes after `Statements::drop` has finalized every statement.
    conn: Connection,
}

impl Batches {
    pub fn new(conn: Connection) -> Option<Self> {
        // SAFETY: the handle is used only through `statements`, which `Batches` keeps
        // together with the connection and finalizes before the connection closes.
        let db = NonNull::new(unsafe { conn.handle() })?;
        let cached = Vec::new();
        Some(Batches {
            statements: Statements { db, cached },
            conn,
        })
    }

    /// Prepares statements ahead of their first use; one that fails is logged and left to
    /// fail again where it is used.
    pub fn prepare(&mut self, texts: &[String]) {
        for sql in texts {
            if let Err(e) = self.statements.prepared(sql) {
                log::warn!("the SQLite writer could not prepare a statement ahead: {e}");
            }
        }
    }

    /// Runs `queries` in one transaction.
    pub fn apply(&mut self, queries: &[Query]) -> Result<bool, DbError> {
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads first
        // could find another writer ahead of it and fail instead of waiting.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let mut returned = false;
        for q in queries {
            returned = self.statements.run(q)?;
        }
        tx.commit().map_err(map_err)?;
        Ok(returned)
    }
}

struct Statements {
    db: NonNull<ffi::sqlite3>,
    /// Most recently prepared last; looked up by text (lengths differ, so few compare).
    cached: Vec<(String, NonNull<ffi::sqlite3_stmt>)>,
}

impl Statements {
    /// Runs one query: binds its parameters, steps through every row it returns (a guard's
    /// `SELECT` or a `RETURNING`), and leaves the statement reset (its bindings cleared
    /// unless the query bound every parameter; see the module comment). Says whether it
    /// returned a row.
    pub fn run(&mut self, q: &Query) -> Result<bool, DbError> {
        let stmt = self.prepared(&q.sql)?;
        let given = q.param_count();
        // SAFETY: a live statement of `db`.
        let wanted = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) };
        let bound_all = usize::try_from(wanted).is_ok_and(|w| w == given);
        if !bound_all {
            // Parameters this query leaves unbound read as NULL, not as a previous run's.
            // SAFETY: as above.
            unsafe { ffi::sqlite3_clear_bindings(stmt.as_ptr()) };
        }
        let mut running = Running {
            stmt,
            bound_all: false,
        };
        for (i, p) in q.all_params().enumerate() {
            let at = c_int::try_from(i + 1).map_err(|_| too_big("a parameter list"))?;
            // SAFETY: `stmt` is a live statement of `db`. A text's bytes are borrowed from
            // `q`, which outlives `running`, whose drop clears the binding.
            let rc = unsafe {
                match p {
                    Param::Null => ffi::sqlite3_bind_null(stmt.as_ptr(), at),
                    Param::Int(v) => ffi::sqlite3_bind_int64(stmt.as_ptr(), at, *v),
                    Param::Text(s) => {
                        let len = c_int::try_from(s.len()).map_err(|_| too_big("a text"))?;
                        // An empty `String`'s pointer dangles; a static empty one does not.
                        let text = if s.is_empty() { "" } else { s.as_str() };
                        ffi::sqlite3_bind_text(
                            stmt.as_ptr(),
                            at,
                            text.as_ptr().cast::<c_char>(),
                            len,
                            ffi::SQLITE_STATIC(),
                        )
                    }
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(self.error(rc));
            }
        }
        running.bound_all = bound_all;
        let mut returned = false;
        loop {
            // SAFETY: as above; every parameter is bound.
            match unsafe { ffi::sqlite3_step(running.stmt.as_ptr()) } {
                ffi::SQLITE_ROW => returned = true,
                ffi::SQLITE_DONE => return Ok(returned),
                rc => return Err(self.error(rc)),
            }
        }
    }

    fn prepared(&mut self, sql: &str) -> Result<NonNull<ffi::sqlite3_stmt>, DbError> {
        if let Some((_, stmt)) = self.cached.iter().find(|(text, _)| text == sql) {
            return Ok(*stmt);
        }
        let len = c_int::try_from(sql.len()).map_err(|_| too_big("a statement"))?;
        let mut stmt = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        // SAFETY: `db` is open (see `new`); SQLite reads `len` bytes of `sql` and writes
        // the two out-pointers.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db.as_ptr(),
                sql.as_ptr().cast::<c_char>(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                &mut tail,
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(self.error(rc));
        }
        let Some(stmt) = NonNull::new(stmt) else {
            return Err(DbError::Other(format!("no statement in {sql:?}")));
        };
        // The tail is what follows the first statement; a second one would be ignored.
        let used = (tail as usize).saturating_sub(sql.as_ptr() as usize);
        if !sql.get(used..).unwrap_or("").trim().is_empty() {
            // SAFETY: `stmt` was just prepared and is not kept.
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
            return Err(DbError::Other(format!(
                "more than one statement in {sql:?}"
            )));
        }
        if self.cached.len() >= CAPACITY {
            let (_, oldest) = self.cached.remove(0);
            // SAFETY: reset after its last run; no longer reachable from the cache.
            unsafe { ffi::sqlite3_finalize(oldest.as_ptr()) };
        }
        self.cached.push((sql.to_string(), stmt));
        Ok(stmt)
    }

    /// The connection's error after `rc`, classified like rusqlite's (`map_err`).
    fn error(&self, rc: c_int) -> DbError {
        // SAFETY: `db` is open; the message is copied before any other call can change it.
        let (code, message) = unsafe {
            let code = ffi::sqlite3_extended_errcode(self.db.as_ptr());
            let text = ffi::sqlite3_errmsg(self.db.as_ptr());
            let message = if text.is_null() {
                format!("SQLite error {rc}")
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            };
            (code, message)
        };
        classify(code, message)
    }
}

impl Drop for Statements {
    fn drop(&mut self) {
        for (_, stmt) in self.cached.drain(..) {
            // SAFETY: each was prepared on `db`, which is still open (see `new`).
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
        }
    }
}

/// A statement being run: whatever happens, it ends reset, and without bindings unless
/// every parameter was bound (then the next run replaces them all before it steps).
struct Running {
    stmt: NonNull<ffi::sqlite3_stmt>,
    bound_all: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: a live statement of the writer's connection; both calls are valid in
        // any state and only forget what the run left behind.
        unsafe {
            ffi::sqlite3_reset(self.stmt.as_ptr());
            if !self.bound_all {
                ffi::sqlite3_clear_bindings(self.stmt.as_ptr());
            }
        }
    }
}

fn map_err(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => classify(f.extended_code, e.to_string()),
        _ => DbError::Other(e.to_string()),
    }
}

/// An SQLite error (its extended code) as the rest of the store sees errors.
fn classify(code: c_int, message: String) -> DbError {
    match code & 0xff {
        ffi::SQLITE_CONSTRAINT
            if matches!(
                code,
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            DbError::Unique
        }
        ffi::SQLITE_CANTOPEN | ffi::SQLITE_IOERR | ffi::SQLITE_FULL => {
            DbError::Unavailable(message)
        }
        _ => DbError::Other(message),
    }
}

fn too_big(what: &str) -> DbError {
    DbError::Other(format!("too long for SQLite: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(id: i64, a: &str, b: &str) -> Query {
        Query::new("INSERT INTO t (id, a, b, n) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(a)
            .bind(b.to_string())
            .bind(Param::Null)
    }

    #[test]
    fn texts_bound_in_place_are_written_and_a_failed_batch_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, n INTEGER)")
            .unwrap();
        let mut batches = Batches::new(conn).unwrap();
        batches.prepare(&["SELECT a FROM t".to_string()]);
        batches
            .apply(&[insert(1, "", "h\u{e9}llo"), insert(2, "it's", "z")])
            .unwrap();
        let second = batches.apply(&[insert(3, "a", "b"), insert(1, "dup", "dup")]);
        assert!(matches!(second, Err(DbError::Unique)), "{second:?}");
        let read = |id: i64| -> (String, String, Option<i64>) {
            batches
                .conn
                .query_row("SELECT a, b, n FROM t WHERE id = ?", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap()
        };
        assert_eq!(read(1), (String::new(), "h\u{e9}llo".to_string(), None));
        assert_eq!(read(2).0, "it's");
        let rows: i64 = batches
            .conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2, "the refused batch left nothing behind");
        // The statement that failed was reset: the next batch runs.
        batches.apply(&[insert(3, "a", "b")]).unwrap();
        let two = batches.apply(&[Query::new("SELECT 1; SELECT 2")]);
        assert!(matches!(two, Err(DbError::Other(_))), "{two:?}");
    }
}
