//! The writer's turn, SQLite's writing connection and the transactions queued for it.
//!
//! A transaction takes the turn ([`SqliteEngine::turn`]), computes, and gives its
//! statements to [`SqliteEngine::commit`]: queued, the turn given up, and whoever next
//! holds the writing connection commits everything queued in one SQLite transaction; each
//! queued transaction is answered only once its group has committed and the write-ahead
//! log is synced. A transaction that must read something in flight first takes the writing
//! connection with nothing queued ([`SqliteEngine::drained`]) and then commits alone.

use super::{bind_dollars, checkpoint, SqliteEngine, Statement, VersionKey};
use crate::{fault, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The writer's turn and the writing connection (see the module documentation). Holding
/// the connection's lock is the right to commit. The connection is SQLite's own (rusqlite,
/// not sqlx): a group is committed in one call on a blocking thread, its statements
/// prepared once per connection and only bound after that.
#[derive(Debug, Default)]
pub(super) struct Committer {
    /// The writer's turn, taken up front by transactions.
    turn: Arc<tokio::sync::Mutex<()>>,
    pub(super) conn: Arc<tokio::sync::Mutex<Option<Writer>>>,
    queue: std::sync::Mutex<Vec<Queued>>,
    /// Groups committed (numbered from 1, in commit order), the number of the last one
    /// made durable (its lock is taken while the write-ahead log is synced: one `fdatasync`
    /// at a time), and how many syncs there were.
    commits: AtomicU64,
    synced: std::sync::Mutex<u64>,
    pub(super) syncs: AtomicU64,
    /// Commits (groups) made, and the time spent making them.
    pub(super) groups: AtomicU64,
    pub(super) busy_nanos: AtomicU64,
    /// The background checkpointer runs; something was committed since it last looked;
    /// it asks the committer to complete a checkpoint.
    checkpointing: AtomicBool,
    pub(super) written: AtomicBool,
    pub(super) checkpoint_due: AtomicBool,
}

/// SQLite's writing connection and its write-ahead log file. The connection commits
/// without syncing (`synchronous = NORMAL`); the committer then makes the log durable
/// itself (`fdatasync`) before anyone is answered, after letting the connection go, so that
/// the next group commits while this one's sync runs. One sync covers every commit made
/// before it began, so a group whose commit an earlier sync covered does not sync again.
/// (With `synchronous = FULL` each commit syncs while holding the
/// connection: measured 2,626/2,957 against 3,267/3,466 settlements/s.)
#[derive(Debug)]
pub(crate) struct Writer {
    pub(super) conn: rusqlite::Connection,
    /// The `-wal` file. Opened afresh for each sync, so that it is the log commits now go
    /// to; a log SQLite removed (when the last connection closed) was checkpointed into the
    /// database and synced first.
    wal: Arc<std::path::PathBuf>,
}

/// The writing connection's lock (the right to commit).
pub(crate) type WriterGuard = tokio::sync::OwnedMutexGuard<Option<Writer>>;

/// The writer's turn, held by one transaction at a time from its first read to queuing its
/// writes.
#[derive(Debug)]
pub(crate) struct Turn {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    since: std::time::Instant,
}

/// A transaction's writes, waiting for the writing connection.
#[derive(Debug)]
struct Queued {
    statements: Vec<Statement>,
    touched: Vec<VersionKey>,
    /// Where its outcome goes (`None`: the committer's caller takes it).
    done: Option<tokio::sync::oneshot::Sender<Result<()>>>,
}

impl Committer {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Queued>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes group `group` durable, with every group committed before this sync begins
    /// (`fdatasync` of the write-ahead log), unless a sync since its commit already did.
    fn sync(&self, wal: &std::path::Path, group: u64) -> Result<()> {
        use Ordering::{Acquire, Relaxed};
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= group {
            return Ok(());
        }
        // Every group numbered up to here has committed: it is in the file synced now.
        let upto = self.commits.load(Acquire);
        self.syncs.fetch_add(1, Relaxed);
        std::fs::File::open(wal)
            .and_then(|f| f.sync_data())
            .or_else(|e| fault(format!("预写日志（WAL）{} 落盘失败：{e}", wal.display())))?;
        *synced = upto;
        Ok(())
    }
}

impl SqliteEngine {
    /// Takes the writer's turn (waiting for the transaction that holds it).
    pub(crate) async fn turn(&self) -> Turn {
        let turn = Arc::clone(&self.committer.turn).lock_owned().await;
        Turn {
            _turn: turn,
            since: std::time::Instant::now(),
        }
    }

    /// The writing connection, once everything queued has been committed.
    pub(crate) async fn drained(self: &Arc<Self>) -> Result<WriterGuard> {
        loop {
            let conn = Arc::clone(&self.committer.conn).lock_owned().await;
            if self.committer.lock_queue().is_empty() {
                return Ok(conn);
            }
            self.commit_queued(conn).await?;
        }
    }

    /// Commits a transaction's `statements` (all or none), which write `touched`, and
    /// gives its `turn` up. With `conn` (the writing connection, taken by
    /// [`drained`](Self::drained)) commits alone, now; else queues them for a group and
    /// waits for its outcome (committing the queue itself when the connection is free
    /// first). A failed commit is the transaction's error (SQLite's own: a store fault).
    pub(crate) async fn commit(
        self: &Arc<Self>,
        turn: Turn,
        conn: Option<WriterGuard>,
        statements: Vec<Statement>,
        touched: Vec<VersionKey>,
    ) -> Result<()> {
        use Ordering::Relaxed;
        let held = turn.since.elapsed();
        for key in &touched {
            self.versions.queued(*key);
        }
        let mut queued = Queued {
            statements,
            touched,
            done: None,
        };
        self.held.transactions.fetch_add(1, Relaxed);
        self.held
            .nanos
            .fetch_add(u64::try_from(held.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        let Some(mut conn) = conn else {
            let (tx, rx) = tokio::sync::oneshot::channel();
            queued.done = Some(tx);
            self.committer.lock_queue().push(queued);
            drop(turn);
            return self.queued_outcome(rx).await;
        };
        // Read something in flight, so took the writing connection: commit alone, now. The
        // turn can go first: what this writes is marked in flight, and a transaction that
        // reads it waits for the connection.
        drop(turn);
        if let Err(e) = self.open_writer(&mut conn) {
            for key in &queued.touched {
                self.versions.done(*key);
            }
            return Err(e);
        }
        let mine = self.commit_group(conn, vec![queued], false).await?;
        mine.unwrap_or_else(|| fault("网关写连接不可用（内部错误）"))
    }

    /// The outcome of a queued transaction. Either a committer takes its writes along, or,
    /// once the connection is free and they are still queued, this one commits the queue.
    /// (Waiting for the connection only to find one's writes committed would make each
    /// waiter in line commit a group of the few that arrived meanwhile.) Should the
    /// connection not open, the writes stay queued for the next committer: this request is
    /// answered as a system error, and its repeat gets whichever answer was recorded.
    async fn queued_outcome(
        self: &Arc<Self>,
        mut rx: tokio::sync::oneshot::Receiver<Result<()>>,
    ) -> Result<()> {
        let outcome = tokio::select! {
            biased;
            outcome = &mut rx => outcome,
            conn = Arc::clone(&self.committer.conn).lock_owned() => {
                match rx.try_recv() {
                    Ok(outcome) => Ok(outcome),
                    Err(_) => {
                        self.commit_queued(conn).await?;
                        rx.await
                    }
                }
            }
        };
        outcome.unwrap_or_else(|_| fault("网关提交结果丢失（内部错误）"))
    }

    /// Commits everything queued through the connection whose lock `conn` is (and lets it
    /// go). When the connection cannot be opened, what is queued stays queued.
    async fn commit_queued(self: &Arc<Self>, mut conn: WriterGuard) -> Result<()> {
        self.open_writer(&mut conn)?;
        let queued = std::mem::take(&mut *self.committer.lock_queue());
        // Nothing is being written meanwhile: this completes the checkpoint (the frames
        // written since the background one), and the next write starts the log afresh
        // instead of growing it.
        let checkpoint = self.committer.checkpoint_due.swap(false, Ordering::AcqRel);
        if queued.is_empty() && !checkpoint {
            return Ok(());
        }
        self.commit_group(conn, queued, checkpoint).await?;
        Ok(())
    }

    /// Opens SQLite's writing connection if it is not open (and starts the background
    /// checkpointer with the first one).
    fn open_writer(self: &Arc<Self>, conn: &mut WriterGuard) -> Result<()> {
        if conn.is_some() {
            return Ok(());
        }
        let c = self.connection()?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        // As the pool's connections (`Store::open`), but without syncing on commit (see
        // `Writer`) and without automatic checkpoints: they are the background
        // checkpointer's (see `checkpoint`).
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0;",
        )?;
        if self.read_only.load(Ordering::SeqCst) {
            c.execute_batch("PRAGMA query_only = ON;")?;
        }
        // Every statement a transaction writes, prepared once.
        c.set_prepared_statement_cache_capacity(64);
        // A read opens the log (creating the file if need be); the directory is synced so
        // that a log created now survives a power loss.
        c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
        let db = self.checked_path()?;
        let mut wal_path = db.as_os_str().to_os_string();
        wal_path.push("-wal");
        let wal = std::path::PathBuf::from(wal_path);
        if let Err(e) = std::fs::File::open(&wal) {
            return fault(format!("无法打开预写日志 {}：{e}", wal.display()));
        }
        let dir = match db.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        **conn = Some(Writer {
            conn: c,
            wal: Arc::new(wal),
        });
        if !self.committer.checkpointing.swap(true, Ordering::AcqRel) {
            tokio::spawn(checkpoint::checkpoints(
                Arc::downgrade(self),
                self.pool.clone(),
            ));
        }
        Ok(())
    }

    /// Commits `queued` in one SQLite transaction; when that fails (a msgid or nonce a
    /// concurrent request recorded, say), each on its own, so that one's failure is its
    /// own; then, with `checkpoint`, completes the checkpoint. Runs on a blocking thread
    /// that owns the connection's lock until the commit is made; the versions are bumped
    /// there, the lock let go, the log synced, and only then is every outcome sent (or,
    /// with no receiver, returned): a caller that goes away (its request dropped) stops
    /// neither the commit nor the answers of the others in the group.
    async fn commit_group(
        self: &Arc<Self>,
        mut conn: WriterGuard,
        queued: Vec<Queued>,
        checkpoint: bool,
    ) -> Result<Option<Result<()>>> {
        let engine = Arc::clone(self);
        let work = tokio::task::spawn_blocking(move || {
            use Ordering::{Relaxed, Release};
            let committer = &engine.committer;
            let started = std::time::Instant::now();
            let wal = conn.as_ref().map(|w| Arc::clone(&w.wal));
            let (outcomes, failed) = match conn.as_mut() {
                Some(w) => commit_each(&mut w.conn, &queued, checkpoint),
                None => (Vec::new(), false),
            };
            // This group's number, in commit order (taken while the connection is held).
            let group = committer.commits.fetch_add(1, Ordering::AcqRel) + 1;
            if failed {
                // Let the connection go after a failure (the next committer opens a fresh
                // one).
                *conn = None;
            }
            if !queued.is_empty() {
                committer.groups.fetch_add(1, Relaxed);
                committer.busy_nanos.fetch_add(
                    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                    Relaxed,
                );
                committer.written.store(true, Release);
            }
            for q in &queued {
                for key in &q.touched {
                    engine.versions.done(*key);
                }
            }
            // The next group may commit while this one's log is synced.
            drop(conn);
            let synced = match (&wal, outcomes.iter().any(Result::is_ok)) {
                (Some(wal), true) => committer.sync(wal, group),
                _ => Ok(()),
            };
            answer(queued, outcomes, &synced)
        });
        work.await
            .or_else(|e| fault(format!("网关提交线程失败（内部错误）：{e}")))
    }
}

/// Commits the statements of `queued` in one transaction, else each transaction's alone;
/// then, with `checkpoint`, completes the checkpoint. The outcomes, in `queued`'s order,
/// and whether something failed.
fn commit_each(
    c: &mut rusqlite::Connection,
    queued: &[Queued],
    checkpoint: bool,
) -> (Vec<Result<()>>, bool) {
    let mut outcomes: Vec<Result<()>> = Vec::with_capacity(queued.len());
    let mut failed = false;
    let all: Vec<&Statement> = queued.iter().flat_map(|q| q.statements.iter()).collect();
    match sqlite_commit(c, &all) {
        Ok(()) => outcomes.extend(queued.iter().map(|_| Ok(()))),
        Err(e) if queued.len() == 1 => {
            failed = true;
            outcomes.push(Err(e));
        }
        Err(_) => {
            failed = true;
            for q in queued {
                let one: Vec<&Statement> = q.statements.iter().collect();
                outcomes.push(sqlite_commit(c, &one));
            }
        }
    }
    if checkpoint {
        let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
    (outcomes, failed)
}

/// Sends each queued transaction its outcome (a commit not made durable, `synced` an error,
/// fails); the outcome of the one with no receiver is returned.
fn answer(
    queued: Vec<Queued>,
    mut outcomes: Vec<Result<()>>,
    synced: &Result<()>,
) -> Option<Result<()>> {
    let mut mine = None;
    for (i, q) in queued.into_iter().enumerate() {
        let outcome = match outcomes.get_mut(i) {
            Some(o) => std::mem::replace(o, Ok(())),
            None => fault("网关写连接不可用（内部错误）"),
        };
        let outcome = match (outcome, synced) {
            (Ok(()), Err(e)) => fault(e.to_string()),
            (o, _) => o,
        };
        match q.done {
            Some(tx) => drop(tx.send(outcome)),
            None => mine = Some(outcome),
        }
    }
    mine
}

/// Writes `statements` in one SQLite transaction (BEGIN IMMEDIATE … COMMIT; rolled back on
/// failure), each prepared once per connection and bound by its `$n` names.
fn sqlite_commit(conn: &mut rusqlite::Connection, statements: &[&Statement]) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for s in statements {
        let mut stmt = tx.prepare_cached(s.sql)?;
        bind_dollars(&mut stmt, &s.params)?;
        stmt.raw_execute()?;
    }
    tx.commit()?;
    Ok(())
}
