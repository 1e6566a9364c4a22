//! SQLite's group-commit engine, as the gateway uses it (see `crate::gateway`). It knows no
//! table and no gateway type: it is given statements (SQL with `$1..$n` and their values)
//! and the version keys they write, and it reads through its own connections.
//!
//! - [`readers`]: SQLite's own reading connections (rusqlite), used in the calling thread.
//! - [`versions`]: write versions of keys, and which keys have writes in flight.
//! - [`committer`]: the writer's turn, the writing connection and the queue of transactions
//!   waiting for it; a group is committed in one SQLite transaction on a blocking thread
//!   (one by one when the group fails), then the write-ahead log is synced (coalesced by
//!   group number) before anyone is answered.
//! - [`checkpoint`]: the background checkpointer (PASSIVE), completed by the committer.
//!
//! Statistics: how long transactions held the writer's turn, and the groups committed.

mod checkpoint;
mod committer;
mod readers;
mod versions;

pub(crate) use committer::{Turn, WriterGuard};
pub(crate) use readers::rows;
pub(crate) use versions::VersionKey;

use crate::{fault, refused, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A value bound to a statement.
#[derive(Clone, Debug)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            Param::Int(v) => rusqlite::types::ToSqlOutput::from(*v),
            Param::Text(v) => rusqlite::types::ToSqlOutput::from(v.as_str()),
        })
    }
}

/// A statement kept until its transaction commits: SQL with its own `$1..$n`, and their
/// values.
#[derive(Debug)]
pub(crate) struct Statement {
    pub sql: &'static str,
    pub params: Vec<Param>,
}

/// The engine of one SQLite database file (see the module documentation).
#[derive(Debug)]
pub(crate) struct SqliteEngine {
    /// The database file.
    path: PathBuf,
    /// The store's pool (the background checkpointer's connections).
    pool: sqlx::AnyPool,
    readers: readers::Readers,
    versions: versions::WriteVersions,
    committer: committer::Committer,
    held: WriterHeld,
    /// Tests: the writing connection refuses to write (`PRAGMA query_only`), see
    /// [`SqliteEngine::set_read_only`].
    read_only: AtomicBool,
}

/// Transactions written (committed alone or queued for a group) and the time they held
/// the writer's turn, from taking it to queuing their writes: the serial stretch of the
/// computation (the commits are counted by the committer).
#[derive(Debug, Default)]
struct WriterHeld {
    transactions: AtomicU64,
    nanos: AtomicU64,
}

impl SqliteEngine {
    pub(crate) fn new(path: PathBuf, pool: sqlx::AnyPool) -> SqliteEngine {
        SqliteEngine {
            path,
            pool,
            readers: Default::default(),
            versions: Default::default(),
            committer: Default::default(),
            held: Default::default(),
            read_only: AtomicBool::new(false),
        }
    }

    /// The database file, as given.
    pub(crate) fn file(&self) -> &Path {
        &self.path
    }

    /// The database file the engine's own connections open.
    fn checked_path(&self) -> Result<&Path> {
        let path = self.path.as_path();
        if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
            return refused(format!(
                "网关需要 SQLite 数据库文件，不能用内存数据库：{}",
                path.display()
            ));
        }
        Ok(path)
    }

    /// A connection of SQLite's own to the database file (the writer and the readers).
    fn connection(&self) -> Result<rusqlite::Connection> {
        Ok(rusqlite::Connection::open_with_flags(
            self.checked_path()?,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?)
    }

    /// The version of `key` now (see [`versions`]).
    pub(crate) fn version(&self, key: VersionKey) -> u64 {
        self.versions.get(key)
    }

    /// The version of `key`, when no write of it is in flight.
    pub(crate) fn settled(&self, key: VersionKey) -> Option<u64> {
        self.versions.settled(key)
    }

    /// How many transactions have been written, and how long they held the writer's turn
    /// altogether.
    pub(crate) fn writer_held(&self) -> (u64, std::time::Duration) {
        (
            self.held.transactions.load(Ordering::Relaxed),
            std::time::Duration::from_nanos(self.held.nanos.load(Ordering::Relaxed)),
        )
    }

    /// In how many commits (groups) transactions were written, the time spent committing
    /// altogether, and how many times the write-ahead log was synced.
    pub(crate) fn commit_groups(&self) -> (u64, std::time::Duration, u64) {
        let c = &self.committer;
        (
            c.groups.load(Ordering::Relaxed),
            std::time::Duration::from_nanos(c.busy_nanos.load(Ordering::Relaxed)),
            c.syncs.load(Ordering::Relaxed),
        )
    }

    /// Whether the writing connection can write now: a write rolled back on it (it fails
    /// when the connection is `query_only` or the file went read-only). `None` when it is
    /// not open (nothing committed yet since start): the caller probes another way. Waits
    /// for a commit under way.
    pub(crate) async fn writer_can_write(&self) -> Option<Result<()>> {
        let writer = std::sync::Arc::clone(&self.committer.conn)
            .lock_owned()
            .await;
        if writer.is_none() {
            // Not open: it opens `query_only` if so set (tests), else the caller probes.
            return self.read_only.load(Ordering::SeqCst).then(|| {
                Err(crate::StoreError::Fault(
                    "写连接为只读（query_only）".to_string(),
                ))
            });
        }
        // Off the async workers: the write may wait for another process's lock.
        let probe = tokio::task::spawn_blocking(move || -> Result<()> {
            let Some(w) = writer.as_ref() else {
                return Ok(());
            };
            w.conn.execute_batch("BEGIN IMMEDIATE")?;
            let probe = w
                .conn
                .execute_batch("UPDATE register_generation SET gen = gen WHERE id = 1");
            w.conn.execute_batch("ROLLBACK")?;
            Ok(probe?)
        })
        .await;
        Some(probe.unwrap_or_else(|e| fault(format!("写入检查未完成：{e}"))))
    }

    /// Tests: makes the writing connection refuse to write (`PRAGMA query_only = ON`), or
    /// lets it write again. Applied to the open connection (once the commit under way, if
    /// any, is done) and to each one opened later (a failed commit lets its connection go).
    /// Commits then fail with SQLite's own error ("attempt to write a readonly database").
    pub(crate) async fn set_read_only(&self, on: bool) -> Result<()> {
        self.read_only.store(on, Ordering::SeqCst);
        let mut writer = self.committer.conn.lock().await;
        if let Some(w) = writer.as_mut() {
            w.conn.pragma_update(None, "query_only", on)?;
        }
        Ok(())
    }
}

/// Binds a statement's `$n` parameters (SQLite numbers named parameters by first use)
/// to `params[n - 1]`.
fn bind_dollars<P: rusqlite::ToSql>(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[P],
) -> Result<()> {
    for i in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok());
        let Some(p) = n.and_then(|n| n.checked_sub(1)).and_then(|n| params.get(n)) else {
            return fault(format!(
                "SQL 参数 {} 无值（内部错误）",
                stmt.parameter_name(i).unwrap_or("?")
            ));
        };
        stmt.raw_bind_parameter(i, p)?;
    }
    Ok(())
}
