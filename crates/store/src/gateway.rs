//! What the hospital gateway keeps: institution keys, answered messages (idempotency by
//! `msgid`), visits, fee lines, settlements, reversals and per-person yearly accumulators.
//!
//! Every gateway transaction runs in one [`GatewayTx`]: its business rows, the message it
//! answers and the operation-log line are committed together, before the response is sent.
//! A refusal rolls the transaction back and records only the message and the log line.
//! Concurrent transactions serialise: on SQLite through one process-wide turn (SQLite has
//! one writer anyway; taking it up front avoids upgrade deadlocks), on PostgreSQL through
//! row locks on the visit and the person's accumulators.
//!
//! SQLite commits in groups: a transaction that read ahead ([`Store::read_ahead`]) computes
//! in its turn, queues its writes and gives the turn up; whoever next holds the writing
//! connection commits everything queued in one SQLite transaction ([`Committer`]), and each
//! queued transaction answers only once its group has committed. What is queued is marked
//! in flight, so that no later transaction uses reads ahead of it; a transaction that reads
//! something in flight first takes the writing connection and commits what is queued (and
//! then commits alone); what is not in flight it reads as committed and still joins a group.

use crate::eligibility::{person_record, StoredPerson};
use crate::{date_value, now_text, refused, Backend, Operator, Result, Store};
use sqlx::{Any, Row, Transaction};
use std::sync::Arc;
use yibao_core::visit::{VisitKind, VisitState};
use yibao_core::{Date, YearAccumulators};

/// One answered message's identity, for idempotency and the operation log.
#[derive(Clone, Debug)]
pub struct MessageMeta {
    pub fixmedins_code: String,
    pub msgid: String,
    pub nonce: String,
    pub infno: String,
    /// 经办人 (opter / opter_name as sent).
    pub opter: String,
    /// What the transaction was about (mdtrt_id, setl_id …), for the log.
    pub target: String,
}

/// See [`Store::auth_facts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFacts {
    pub sealed_key: Option<String>,
    pub nonce_used: bool,
    pub answered: Option<String>,
}

/// A visit (就诊) as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub mdtrt_id: String,
    pub fixmedins_code: String,
    pub psn_no: String,
    pub kind: VisitKind,
    pub insutype: String,
    pub med_type: String,
    pub ipt_otp_no: String,
    pub mdtrt_cert_type: String,
    pub mdtrt_cert_no: String,
    pub begndate: Date,
    /// Known once discharged (住院) or from the registration date (门诊).
    pub enddate: Option<Date>,
    pub dise_codg: String,
    pub state: VisitState,
}

/// A fee line in force (or withdrawn) on a visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    pub id: i64,
    pub feedetl_sn: String,
    pub chrg_bchno: String,
    pub med_list_codg: String,
    pub pric: String,
    pub cnt: String,
    pub amount_fen: i64,
    pub fee_ocur_date: Date,
}

/// A new fee line (id assigned on insert).
#[derive(Clone, Debug)]
pub struct NewFeeLine {
    pub feedetl_sn: String,
    pub chrg_bchno: String,
    pub med_list_codg: String,
    pub pric: String,
    pub cnt: String,
    pub amount_fen: i64,
    pub fee_ocur_date: Date,
}

/// A settlement as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRecord {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub clr_type: String,
    pub year: u16,
    pub setl_date: Date,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    pub delta: YearAccumulators,
    /// The `output` object answered (JSON).
    pub output: String,
    pub msgid: String,
    /// Whether a reversal (撤销) has been recorded.
    pub reversed: bool,
}

/// Totals of one institution's settlements (not reversed) for 对总账.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettlementTotals {
    pub count: i64,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
}

fn counters_text(acc: &YearAccumulators) -> String {
    acc.to_array()
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn counters_of(text: &str) -> Result<YearAccumulators> {
    let mut a = [0i64; YearAccumulators::COUNTERS];
    let mut n = 0;
    for (i, part) in text.split(',').enumerate() {
        let v = part.trim().parse::<i64>().ok();
        match (a.get_mut(i), v) {
            (Some(slot), Some(v)) => *slot = v,
            _ => return refused(format!("数据库中的累计值 {text:?} 无效")),
        }
        n += 1;
    }
    if n != YearAccumulators::COUNTERS {
        return refused(format!("数据库中的累计值 {text:?} 无效"));
    }
    Ok(YearAccumulators::from_array(&a))
}

fn opt_date(v: i64) -> Option<Date> {
    u32::try_from(v).ok().and_then(Date::from_u32)
}

/// The columns of a row, read alike from sqlx's rows and from SQLite's own (the gateway's
/// reads ahead), so that each kind of row is decoded in one place.
trait Cols {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn date(&self, i: usize) -> Result<Date> {
        crate::date_from_value(self.int(i)?)
    }
}

impl Cols for sqlx::any::AnyRow {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
}

impl Cols for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
}

fn visit_of(r: &impl Cols) -> Result<Visit> {
    let kind = r.text(3)?;
    let state = r.text(12)?;
    Ok(Visit {
        mdtrt_id: r.text(0)?,
        fixmedins_code: r.text(1)?,
        psn_no: r.text(2)?,
        kind: VisitKind::from_code(&kind)
            .ok_or_else(|| crate::StoreError::Refused(format!("数据库中的就诊类别 {kind} 无效")))?,
        insutype: r.text(4)?,
        med_type: r.text(5)?,
        ipt_otp_no: r.text(6)?,
        mdtrt_cert_type: r.text(7)?,
        mdtrt_cert_no: r.text(8)?,
        begndate: r.date(9)?,
        enddate: opt_date(r.int(10)?),
        dise_codg: r.text(11)?,
        state: VisitState::from_code(&state).ok_or_else(|| {
            crate::StoreError::Refused(format!("数据库中的就诊状态 {state} 无效"))
        })?,
    })
}

/// The fee lines in force of a visit, in upload order (`$1`: the visit).
const LINES_SELECT: &str = "SELECT id, feedetl_sn, chrg_bchno, med_list_codg, pric, cnt, \
     amount_fen, fee_ocur_date FROM fee_lines WHERE mdtrt_id = $1 AND withdrawn = 0 ORDER BY id";

fn fee_line_of(r: &impl Cols) -> Result<FeeLine> {
    Ok(FeeLine {
        id: r.int(0)?,
        feedetl_sn: r.text(1)?,
        chrg_bchno: r.text(2)?,
        med_list_codg: r.text(3)?,
        pric: r.text(4)?,
        cnt: r.text(5)?,
        amount_fen: r.int(6)?,
        fee_ocur_date: r.date(7)?,
    })
}

/// SQLite: the gateway's own reading connections (rusqlite), used in the calling thread.
/// A read ahead or a request's key takes a few rows of indexed tables, tens of microseconds:
/// less than handing the query to a connection's thread and being woken with the rows
/// (sqlx's SQLite connections), which under load cost more than the reads themselves.
#[derive(Debug, Default)]
pub(crate) struct Readers {
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

/// Idle reading connections kept.
const READERS_KEPT: usize = 8;

impl Store {
    /// The SQLite database file the gateway's own connections open.
    fn sqlite_path(&self) -> Result<&std::path::Path> {
        let Some(path) = self.sqlite_file.as_deref() else {
            return refused("网关的 SQLite 连接只用于 SQLite 数据库（内部错误）");
        };
        if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
            return refused(format!(
                "网关需要 SQLite 数据库文件，不能用内存数据库：{}",
                path.display()
            ));
        }
        Ok(path)
    }

    /// A connection of SQLite's own to the store's database file (the gateway's writer and
    /// readers: see [`Committer`] and [`Readers`]).
    fn sqlite_connection(&self) -> Result<rusqlite::Connection> {
        Ok(rusqlite::Connection::open_with_flags(
            self.sqlite_path()?,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?)
    }

    /// Runs `read` on one of SQLite's own reading connections (opened when none is idle).
    fn sqlite_read<T>(&self, read: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        let idle = self
            .readers
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = self.sqlite_connection()?;
                // A reader waits only for what WAL makes readers wait for (recovery).
                c.busy_timeout(std::time::Duration::from_secs(1))?;
                c.execute_batch("PRAGMA query_only = ON;")?;
                c
            }
        };
        let out = read(&conn);
        if out.is_ok() {
            let mut idle = self.readers.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < READERS_KEPT {
                idle.push(conn);
            }
        }
        out
    }
}

/// The rows `sql` gives with `params`, each decoded by `each` (SQLite's own connection).
fn sqlite_rows<T>(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    bind_dollars(&mut stmt, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(each(r)?);
    }
    Ok(out)
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
            return refused(format!(
                "SQL 参数 {} 无值（内部错误）",
                stmt.parameter_name(i).unwrap_or("?")
            ));
        };
        stmt.raw_bind_parameter(i, p)?;
    }
    Ok(())
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            Param::Int(v) => rusqlite::types::ToSqlOutput::from(*v),
            Param::Text(v) => rusqlite::types::ToSqlOutput::from(v.as_str()),
        })
    }
}

const VISIT_COLUMNS: &str = "mdtrt_id, fixmedins_code, psn_no, kind, insutype, med_type, \
     ipt_otp_no, mdtrt_cert_type, mdtrt_cert_no, begndate, enddate, dise_codg, state";

fn settlement_of(r: &impl Cols) -> Result<SettlementRecord> {
    Ok(SettlementRecord {
        setl_id: r.text(0)?,
        mdtrt_id: r.text(1)?,
        psn_no: r.text(2)?,
        fixmedins_code: r.text(3)?,
        insutype: r.text(4)?,
        clr_type: r.text(5)?,
        year: u16::try_from(r.int(6)?).unwrap_or_default(),
        setl_date: r.date(7)?,
        medfee_sumamt: r.int(8)?,
        fund_pay_sumamt: r.int(9)?,
        acct_pay: r.int(10)?,
        delta: counters_of(&r.text(11)?)?,
        output: r.text(12)?,
        msgid: r.text(13)?,
        reversed: r.int(14)? != 0,
    })
}

const SETTLEMENT_SELECT: &str = "SELECT s.setl_id, s.mdtrt_id, s.psn_no, s.fixmedins_code, \
     s.insutype, s.clr_type, s.year, s.setl_date, s.medfee_sumamt, s.fund_pay_sumamt, \
     s.acct_pay, s.delta, s.output, s.msgid, \
     CASE WHEN r.setl_id IS NULL THEN 0 ELSE 1 END \
     FROM settlements s LEFT JOIN settlement_reversals r ON r.setl_id = s.setl_id";

/// Write versions of visits (with their lines) and of persons' accumulators, kept in memory
/// by the process. A gateway transaction counts what it writes as in flight when it queues
/// its writes (in its turn), and its group's committer bumps the versions, and only then
/// stops counting them, once the group has committed. A read made before taking the turn
/// is still current when the versions it saw are unchanged and nothing of it is in flight
/// (SQLite: every gateway write of the database goes through this process's committer).
/// Keys share 65,536 striped slots; a collision only costs a read.
#[derive(Clone, Debug)]
pub(crate) struct WriteVersions {
    slots: Arc<Vec<std::sync::atomic::AtomicU64>>,
    in_flight: Arc<Vec<std::sync::atomic::AtomicU32>>,
}

const VERSION_SLOTS: usize = 1 << 16;

impl Default for WriteVersions {
    fn default() -> WriteVersions {
        WriteVersions {
            slots: Arc::new(
                (0..VERSION_SLOTS)
                    .map(|_| std::sync::atomic::AtomicU64::new(0))
                    .collect(),
            ),
            in_flight: Arc::new(
                (0..VERSION_SLOTS)
                    .map(|_| std::sync::atomic::AtomicU32::new(0))
                    .collect(),
            ),
        }
    }
}

/// SQLite gateway transactions written (committed alone or queued for a group) and the
/// time they held the writer's turn, from taking it to queuing their writes: the serial
/// stretch of the computation (the commits are counted by [`Committer`]).
#[derive(Debug, Default)]
pub(crate) struct WriterHeld {
    transactions: std::sync::atomic::AtomicU64,
    nanos: std::sync::atomic::AtomicU64,
}

/// What a version is kept for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Written {
    Visit(String),
    /// A person's accumulators (any year: a read ahead names the person before it knows
    /// the visit's year).
    Accumulators(String),
}

impl WriteVersions {
    fn index(key: &Written) -> usize {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        (h as usize) % VERSION_SLOTS
    }

    fn get(&self, key: &Written) -> u64 {
        self.slots[Self::index(key)].load(std::sync::atomic::Ordering::Acquire)
    }

    /// The version, when no write of the key is in flight.
    fn settled(&self, key: &Written) -> Option<u64> {
        use std::sync::atomic::Ordering::Acquire;
        let i = Self::index(key);
        // In flight first: a commit bumps the version before it stops counting as in flight.
        (self.in_flight[i].load(Acquire) == 0).then(|| self.slots[i].load(Acquire))
    }

    /// A write of `key` is queued (in its turn, before the turn is given up).
    fn queued(&self, key: &Written) {
        self.in_flight[Self::index(key)].fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A queued write of `key` has committed (or failed): a new version, no longer in flight.
    fn done(&self, key: &Written) {
        use std::sync::atomic::Ordering::AcqRel;
        let i = Self::index(key);
        self.slots[i].fetch_add(1, AcqRel);
        self.in_flight[i].fetch_sub(1, AcqRel);
    }
}

/// SQLite's writing connection and the transactions queued for it (see the module
/// documentation). Holding the connection's lock is the right to commit. The connection is
/// SQLite's own (rusqlite, not sqlx): a group is committed in one call on a blocking
/// thread, its statements prepared once per connection and only bound after that.
#[derive(Debug, Default)]
pub(crate) struct Committer {
    conn: Arc<tokio::sync::Mutex<Option<Writer>>>,
    queue: std::sync::Mutex<Vec<Queued>>,
    /// Groups committed (numbered from 1, in commit order), the number of the last one
    /// made durable (its lock is taken while the write-ahead log is synced: one `fdatasync`
    /// at a time), and how many syncs there were.
    commits: std::sync::atomic::AtomicU64,
    synced: std::sync::Mutex<u64>,
    syncs: std::sync::atomic::AtomicU64,
    /// Commits (groups) made, and the time spent making them.
    groups: std::sync::atomic::AtomicU64,
    busy_nanos: std::sync::atomic::AtomicU64,
    /// The background checkpointer runs; something was committed since it last looked;
    /// it asks the committer to complete a checkpoint.
    checkpointing: std::sync::atomic::AtomicBool,
    written: std::sync::atomic::AtomicBool,
    checkpoint_due: std::sync::atomic::AtomicBool,
}

/// SQLite's writing connection and its write-ahead log file. The connection commits
/// without syncing (`synchronous = NORMAL`); the committer then makes the log durable
/// itself (`fdatasync`) before anyone is answered, after letting the connection go, so that
/// the next group commits while this one's sync runs. One sync covers every commit made
/// before it began, so a group whose commit an earlier sync covered does not sync again.
/// (With `synchronous = FULL` each commit syncs while holding the
/// connection: measured 2,626/2,957 against 3,267/3,466 settlements/s.)
#[derive(Debug)]
struct Writer {
    conn: rusqlite::Connection,
    /// The `-wal` file. Opened afresh for each sync, so that it is the log commits now go
    /// to; a log SQLite removed (when the last connection closed) was checkpointed into the
    /// database and synced first.
    wal: Arc<std::path::PathBuf>,
}

/// A transaction's writes, waiting for the writing connection.
#[derive(Debug)]
struct Queued {
    writes: Vec<PendingWrite>,
    touched: Vec<Written>,
    /// Where its outcome goes (`None`: the committer's caller takes it).
    done: Option<tokio::sync::oneshot::Sender<Result<()>>>,
}

impl Committer {
    /// The writing connection, once everything queued has been committed.
    async fn drained(&self, store: &Store) -> Result<WriterGuard> {
        loop {
            let conn = Arc::clone(&self.conn).lock_owned().await;
            if self.lock_queue().is_empty() {
                return Ok(conn);
            }
            self.commit_queued(conn, store).await?;
        }
    }

    /// Commits everything queued through the connection whose lock `conn` is (and lets it
    /// go). When the connection cannot be opened, what is queued stays queued.
    async fn commit_queued(&self, mut conn: WriterGuard, store: &Store) -> Result<()> {
        open_writer(&mut conn, store)?;
        let queued = std::mem::take(&mut *self.lock_queue());
        // Nothing is being written meanwhile: this completes the checkpoint (the frames
        // written since the background one), and the next write starts the log afresh
        // instead of growing it.
        let checkpoint = self
            .checkpoint_due
            .swap(false, std::sync::atomic::Ordering::AcqRel);
        if queued.is_empty() && !checkpoint {
            return Ok(());
        }
        commit_group(conn, queued, checkpoint, store).await?;
        Ok(())
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Queued>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes group `group` durable, with every group committed before this sync begins
    /// (`fdatasync` of the write-ahead log), unless a sync since its commit already did.
    fn sync(&self, wal: &std::path::Path, group: u64) -> Result<()> {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= group {
            return Ok(());
        }
        // Every group numbered up to here has committed: it is in the file synced now.
        let upto = self.commits.load(Acquire);
        self.syncs.fetch_add(1, Relaxed);
        std::fs::File::open(wal)
            .and_then(|f| f.sync_data())
            .or_else(|e| refused(format!("预写日志（WAL）{} 落盘失败：{e}", wal.display())))?;
        *synced = upto;
        Ok(())
    }
}

/// Opens SQLite's writing connection if it is not open (and starts the background
/// checkpointer with the first one).
fn open_writer(conn: &mut WriterGuard, store: &Store) -> Result<()> {
    if conn.is_some() {
        return Ok(());
    }
    let c = store.sqlite_connection()?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    // As the pool's connections (`Store::open`), but without syncing on commit (see
    // `Writer`) and without automatic checkpoints: they are the background checkpointer's
    // (see `checkpoints`).
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    // Every statement a gateway transaction writes, prepared once.
    c.set_prepared_statement_cache_capacity(64);
    // A read opens the log (creating the file if need be); the directory is synced so that
    // a log created now survives a power loss.
    c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
    let db = store.sqlite_path()?;
    let mut wal_path = db.as_os_str().to_os_string();
    wal_path.push("-wal");
    let wal = std::path::PathBuf::from(wal_path);
    if let Err(e) = std::fs::File::open(&wal) {
        return refused(format!("无法打开预写日志 {}：{e}", wal.display()));
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
    if !store
        .committer
        .checkpointing
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        tokio::spawn(checkpoints(
            Arc::downgrade(&store.committer),
            store.pool.clone(),
        ));
    }
    Ok(())
}

/// How often the background checkpointer looks at the log.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Frames the committer copies itself to complete a checkpoint: what the background one
/// left (written meanwhile) when it is at most this, or everything once the log is this
/// many times longer (a reader held the background one back).
const CHECKPOINT_REST: i64 = 512;
const CHECKPOINT_MAX: i64 = 32_768;

/// SQLite's background checkpointer: while the gateway commits, copies the write-ahead log
/// into the database on its own connection (PASSIVE: never waits for, nor blocks, the
/// committer), so that commits do not stop for it (with automatic checkpoints, one commit
/// in every hundred or so copied a thousand pages and waited for two fsyncs). A log that
/// is only copied alongside writes never starts afresh, so when little is left the
/// committer completes it between two commits. Ends with the store.
async fn checkpoints(committer: std::sync::Weak<Committer>, pool: sqlx::AnyPool) {
    use std::sync::atomic::Ordering::{AcqRel, Release};
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let Some(c) = committer.upgrade() else { break };
        if !c.written.swap(false, AcqRel) {
            continue;
        }
        drop(c);
        let Ok(row) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        else {
            continue;
        };
        let (log, copied) = (
            row.try_get::<i64, _>(1).unwrap_or(0),
            row.try_get::<i64, _>(2).unwrap_or(0),
        );
        if log > 0 && (log - copied <= CHECKPOINT_REST || log >= CHECKPOINT_MAX) {
            if let Some(c) = committer.upgrade() {
                c.checkpoint_due.store(true, Release);
            }
        }
    }
}

/// Commits `queued` in one SQLite transaction; when that fails (a msgid or nonce a
/// concurrent request recorded, say), each on its own, so that one's failure is its own;
/// then, with `checkpoint`, completes the checkpoint. Runs on a blocking thread that owns
/// the connection's lock until the commit is made; the versions are bumped there, the lock
/// let go, the log synced, and only then is every outcome sent (or, with no receiver,
/// returned): a caller that goes away (its request dropped) stops neither the commit nor
/// the answers of the others in the group.
async fn commit_group(
    mut conn: WriterGuard,
    queued: Vec<Queued>,
    checkpoint: bool,
    store: &Store,
) -> Result<Option<Result<()>>> {
    let committer = Arc::clone(&store.committer);
    let versions = store.versions.clone();
    let work = tokio::task::spawn_blocking(move || {
        use std::sync::atomic::Ordering::{Relaxed, Release};
        let started = std::time::Instant::now();
        let mut outcomes: Vec<Result<()>> = Vec::with_capacity(queued.len());
        let mut failed = false;
        let wal = conn.as_ref().map(|w| Arc::clone(&w.wal));
        if let Some(w) = conn.as_mut() {
            let c = &mut w.conn;
            let all: Vec<&PendingWrite> = queued.iter().flat_map(|q| q.writes.iter()).collect();
            match sqlite_commit(c, &all) {
                Ok(()) => outcomes.extend(queued.iter().map(|_| Ok(()))),
                Err(e) if queued.len() == 1 => {
                    failed = true;
                    outcomes.push(Err(e));
                }
                Err(_) => {
                    failed = true;
                    for q in &queued {
                        let one: Vec<&PendingWrite> = q.writes.iter().collect();
                        outcomes.push(sqlite_commit(c, &one));
                    }
                }
            }
            if checkpoint {
                let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        }
        // This group's number, in commit order (taken while the connection is held).
        let group = committer
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1;
        if failed {
            // Let the connection go after a failure (the next committer opens a fresh one).
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
                versions.done(key);
            }
        }
        // The next group may commit while this one's log is synced.
        drop(conn);
        let synced = match (&wal, outcomes.iter().any(Result::is_ok)) {
            (Some(wal), true) => committer.sync(wal, group),
            _ => Ok(()),
        };
        let mut mine = None;
        for (i, q) in queued.into_iter().enumerate() {
            let outcome = match outcomes.get_mut(i) {
                Some(o) => std::mem::replace(o, Ok(())),
                None => refused("网关写连接不可用（内部错误）"),
            };
            let outcome = match (outcome, &synced) {
                (Ok(()), Err(e)) => refused(e.to_string()),
                (o, _) => o,
            };
            match q.done {
                Some(tx) => drop(tx.send(outcome)),
                None => mine = Some(outcome),
            }
        }
        mine
    });
    work.await
        .or_else(|e| refused(format!("网关提交线程失败（内部错误）：{e}")))
}

/// A settlement's reads made ahead of its transaction (SQLite): the visit, its lines in
/// force and the person's accumulators for the visit's year, with the versions they had.
#[derive(Clone, Debug)]
pub struct ReadAhead {
    pub visit: Visit,
    lines: Vec<FeeLine>,
    accumulators: YearAccumulators,
    year: u16,
    versions: [u64; 2],
}

impl Store {
    /// Stores a sealed secret for `institution` (the caller seals it; see `yibao keys`).
    pub async fn insert_key(&self, op: &Operator, institution: &str, sealed: &str) -> Result<()> {
        let known = sqlx::query("SELECT 1 FROM institutions WHERE code = $1")
            .bind(institution)
            .fetch_optional(&self.pool)
            .await?;
        if known.is_none() {
            return refused(format!(
                "机构编码 --institution={institution} 不存在：请先 yibao load 载入定点机构"
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO institution_keys (institution, secret_enc, issued_at, issued_by) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(institution)
        .bind(sealed)
        .bind(now_text())
        .bind(&op.0)
        .execute(&mut *tx)
        .await?;
        log_in(
            &mut tx,
            op,
            "keys.issue",
            institution,
            "签发接口密钥",
            "成功",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes every key of `institution`; how many there were.
    pub async fn revoke_keys(&self, op: &Operator, institution: &str) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let ids = sqlx::query(
            "SELECT k.id FROM institution_keys k WHERE k.institution = $1 \
             AND NOT EXISTS (SELECT 1 FROM key_revocations r WHERE r.key_id = k.id)",
        )
        .bind(institution)
        .fetch_all(&mut *tx)
        .await?;
        for r in &ids {
            let id: i64 = r.try_get(0)?;
            sqlx::query(
                "INSERT INTO key_revocations (key_id, revoked_at, revoked_by) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(now_text())
            .bind(&op.0)
            .execute(&mut *tx)
            .await?;
        }
        log_in(
            &mut tx,
            op,
            "keys.revoke",
            institution,
            &format!("撤销接口密钥 {} 个", ids.len()),
            "成功",
        )
        .await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// What authenticating a request reads, in one query: the newest key of `institution`
    /// not revoked (sealed), whether `nonce` was used by it, the response first given to
    /// its `msgid` — and the register generation, which keeps the persons read since
    /// current (see `eligibility::PersonCache`).
    pub async fn auth_facts(
        &self,
        institution: &str,
        nonce: &str,
        msgid: &str,
    ) -> Result<AuthFacts> {
        const SQL: &str = "SELECT (SELECT k.secret_enc FROM institution_keys k \
             WHERE k.institution = $1 \
             AND NOT EXISTS (SELECT 1 FROM key_revocations r WHERE r.key_id = k.id) \
             ORDER BY k.id DESC LIMIT 1), \
             (SELECT COUNT(*) FROM gateway_messages WHERE fixmedins_code = $1 AND nonce = $2), \
             (SELECT response FROM gateway_messages WHERE fixmedins_code = $1 AND msgid = $3), \
             (SELECT gen FROM register_generation WHERE id = 1)";
        let (sealed_key, nonces, answered, generation) = if self.backend == Backend::Sqlite {
            let rows = self.sqlite_read(|c| {
                sqlite_rows(c, SQL, &[&institution, &nonce, &msgid], |r| {
                    Ok((r.opt_text(0)?, r.int(1)?, r.opt_text(2)?, r.get(3)?))
                })
            })?;
            match rows.into_iter().next() {
                Some(facts) => facts,
                None => return refused("认证查询无结果（内部错误）"),
            }
        } else {
            let row = sqlx::query(SQL)
                .bind(institution)
                .bind(nonce)
                .bind(msgid)
                .fetch_one(&self.pool)
                .await?;
            (
                row.opt_text(0)?,
                r_i64(&row, 1)?,
                row.opt_text(2)?,
                row.try_get(3)?,
            )
        };
        if let Some(generation) = generation {
            self.persons.observe(generation);
        }
        Ok(AuthFacts {
            sealed_key,
            nonce_used: nonces > 0,
            answered,
        })
    }

    /// The response first given to `msgid` of `fixmedins_code`, if any.
    pub async fn answered(&self, fixmedins_code: &str, msgid: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT response FROM gateway_messages WHERE fixmedins_code = $1 AND msgid = $2",
        )
        .bind(fixmedins_code)
        .bind(msgid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Whether `nonce` has been used by `fixmedins_code` before.
    pub async fn nonce_used(&self, fixmedins_code: &str, nonce: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM gateway_messages WHERE fixmedins_code = $1 AND nonce = $2")
                .bind(fixmedins_code)
                .bind(nonce)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// The visit as it stands (not locked: for reads ahead of a transaction).
    pub async fn visit(&self, mdtrt_id: &str) -> Result<Option<Visit>> {
        visit_in(&mut *self.pool.acquire().await?, mdtrt_id, "").await
    }

    /// Reads what settling visit `mdtrt_id` of person `psn_no` (as the request says) needs
    /// before its transaction takes the writer's turn, so that the turn is held for the
    /// computation only: the visit with the person's accumulators for its year in one
    /// query, and its lines. SQLite only (PostgreSQL reads under row locks): `None` there,
    /// or when the visit is unknown or not that person's (the transaction then refuses it).
    pub async fn read_ahead(&self, mdtrt_id: &str, psn_no: &str) -> Result<Option<ReadAhead>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        // Versions first: what is read after them is at least as new.
        let versions = [
            self.versions.get(&Written::Visit(mdtrt_id.to_string())),
            self.versions
                .get(&Written::Accumulators(psn_no.to_string())),
        ];
        let visit_sql = format!(
            "SELECT {VISIT_COLUMNS}, (SELECT a.counters FROM accumulators a \
             WHERE a.psn_no = v.psn_no AND a.year = \
             (CASE WHEN v.enddate > 0 THEN v.enddate ELSE v.begndate END) / 10000) \
             FROM visits v WHERE v.mdtrt_id = $1"
        );
        let read = self.sqlite_read(|c| {
            let visit = sqlite_rows(c, &visit_sql, &[&mdtrt_id], |r| {
                Ok((visit_of(r)?, r.opt_text(13)?))
            })?;
            let Some((visit, counters)) = visit.into_iter().next() else {
                return Ok(None);
            };
            if visit.psn_no != psn_no {
                return Ok(None);
            }
            let lines = sqlite_rows(c, LINES_SELECT, &[&mdtrt_id], |r| fee_line_of(r))?;
            Ok(Some((visit, counters, lines)))
        })?;
        let Some((visit, counters, lines)) = read else {
            return Ok(None);
        };
        let year = visit.enddate.unwrap_or(visit.begndate).year();
        let accumulators = match counters {
            Some(text) => counters_of(&text)?,
            None => YearAccumulators::default(),
        };
        Ok(Some(ReadAhead {
            visit,
            lines,
            accumulators,
            year,
            versions,
        }))
    }

    /// SQLite: how many gateway transactions have been written in this process, and how
    /// long they held the writer's turn altogether (a benchmark compares this with its wall
    /// time).
    pub fn writer_held(&self) -> (u64, std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.writer_held.transactions.load(Relaxed),
            std::time::Duration::from_nanos(self.writer_held.nanos.load(Relaxed)),
        )
    }

    /// SQLite: in how many commits (groups) the gateway's transactions were written, the
    /// time spent committing altogether (the writing connection is busy meanwhile), and how
    /// many times the write-ahead log was synced before answering.
    pub fn commit_groups(&self) -> (u64, std::time::Duration, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.committer;
        (
            c.groups.load(Relaxed),
            std::time::Duration::from_nanos(c.busy_nanos.load(Relaxed)),
            c.syncs.load(Relaxed),
        )
    }

    /// Starts a gateway transaction (see the module documentation).
    pub async fn begin_gateway(&self) -> Result<GatewayTx> {
        let mut held_since = None;
        let conn = match self.backend {
            Backend::Sqlite => {
                let turn = Arc::clone(&self.writer).lock_owned().await;
                held_since = Some(std::time::Instant::now());
                Conn::Sqlite { turn, conn: None }
            }
            Backend::Postgres => Conn::Postgres(self.pool.begin().await?),
        };
        Ok(GatewayTx {
            held_since,
            conn,
            writes: Vec::new(),
            touched: Vec::new(),
            ahead: None,
            backend: self.backend,
            store: self.clone(),
        })
    }

    /// Records a refused message (the business transaction was rolled back) and returns the
    /// response to send; fails as [`GatewayTx::finish`] does when the msgid or nonce was
    /// recorded meanwhile.
    pub async fn record_refusal(
        &self,
        meta: &MessageMeta,
        err_msg: &str,
        response: &str,
    ) -> Result<String> {
        let g = self.begin_gateway().await?;
        g.finish(meta, -1, err_msg, response).await
    }

    /// A settlement by `setl_id`.
    pub async fn settlement(&self, setl_id: &str) -> Result<Option<SettlementRecord>> {
        let row = sqlx::query(&format!("{SETTLEMENT_SELECT} WHERE s.setl_id = $1"))
            .bind(setl_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(settlement_of).transpose()
    }

    /// All settlements, oldest first (for checks and replays).
    pub async fn settlements(&self) -> Result<Vec<SettlementRecord>> {
        let rows = sqlx::query(&format!(
            "{SETTLEMENT_SELECT} ORDER BY s.settled_at, s.setl_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_of).collect()
    }

    /// Every person-year's stored accumulators.
    pub async fn all_accumulators(&self) -> Result<Vec<(String, u16, YearAccumulators)>> {
        let rows =
            sqlx::query("SELECT psn_no, year, counters FROM accumulators ORDER BY psn_no, year")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let year: i64 = r.try_get(1)?;
                let text: String = r.try_get(2)?;
                Ok((
                    r.try_get(0)?,
                    u16::try_from(year).unwrap_or_default(),
                    counters_of(&text)?,
                ))
            })
            .collect()
    }

    /// Person-years whose stored accumulators differ from a replay of their settled history
    /// (the deltas of settlements not reversed), each as `(psn_no, year, stored, replayed)`.
    /// Empty when the books are in step.
    pub async fn accumulator_discrepancies(
        &self,
    ) -> Result<Vec<(String, u16, YearAccumulators, YearAccumulators)>> {
        let mut replay: std::collections::BTreeMap<(String, u16), YearAccumulators> =
            Default::default();
        for s in self.settlements().await?.iter().filter(|s| !s.reversed) {
            replay
                .entry((s.psn_no.clone(), s.year))
                .or_default()
                .add(&s.delta);
        }
        let mut out = Vec::new();
        for (psn_no, year, stored) in self.all_accumulators().await? {
            let replayed = replay.remove(&(psn_no.clone(), year)).unwrap_or_default();
            if replayed != stored {
                out.push((psn_no, year, stored, replayed));
            }
        }
        for ((psn_no, year), replayed) in replay {
            out.push((psn_no, year, YearAccumulators::default(), replayed));
        }
        Ok(out)
    }

    /// Every gateway business row as text (visits with state, fee lines with withdrawal,
    /// settlements, reversals, accumulators): two equal snapshots mean nothing changed.
    pub async fn gateway_snapshot(&self) -> Result<String> {
        let mut out = String::new();
        for (sql, n) in [
            (
                "SELECT mdtrt_id, state, med_type, enddate FROM visits ORDER BY mdtrt_id",
                4,
            ),
            (
                "SELECT id, mdtrt_id, feedetl_sn, withdrawn FROM fee_lines ORDER BY id",
                4,
            ),
            (
                "SELECT setl_id, mdtrt_id, delta FROM settlements ORDER BY setl_id",
                3,
            ),
            (
                "SELECT setl_id, msgid, reversed_at FROM settlement_reversals ORDER BY setl_id",
                3,
            ),
            (
                "SELECT psn_no, year, counters FROM accumulators ORDER BY psn_no, year",
                3,
            ),
        ] {
            for r in sqlx::query(sql).fetch_all(&self.pool).await? {
                for i in 0..n {
                    let v: String = match r.try_get::<String, _>(i) {
                        Ok(s) => s,
                        Err(_) => r.try_get::<i64, _>(i)?.to_string(),
                    };
                    out.push_str(&v);
                    out.push('|');
                }
                out.push('\n');
            }
            out.push_str("--\n");
        }
        Ok(out)
    }

    /// Totals of `fixmedins_code`'s settlements not reversed, by 险种 and 清算类别, with the
    /// settlement date in `[from, to]` (对总账).
    pub async fn settlement_totals(
        &self,
        fixmedins_code: &str,
        insutype: &str,
        clr_type: &str,
        from: Date,
        to: Date,
    ) -> Result<SettlementTotals> {
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(s.medfee_sumamt), 0), COALESCE(SUM(s.fund_pay_sumamt), 0), \
             COALESCE(SUM(s.acct_pay), 0) FROM settlements s \
             WHERE s.fixmedins_code = $1 AND s.insutype = $2 AND s.clr_type = $3 \
             AND s.setl_date >= $4 AND s.setl_date <= $5 \
             AND NOT EXISTS (SELECT 1 FROM settlement_reversals r WHERE r.setl_id = s.setl_id)",
        )
        .bind(fixmedins_code)
        .bind(insutype)
        .bind(clr_type)
        .bind(date_value(from))
        .bind(date_value(to))
        .fetch_one(&self.pool)
        .await?;
        Ok(SettlementTotals {
            count: r_i64(&row, 0)?,
            medfee_sumamt: r_i64(&row, 1)?,
            fund_pay_sumamt: r_i64(&row, 2)?,
            acct_pay: r_i64(&row, 3)?,
        })
    }
}

/// SUM over BIGINT is NUMERIC on PostgreSQL: read either.
fn r_i64(row: &sqlx::any::AnyRow, i: usize) -> Result<i64> {
    if let Ok(v) = row.try_get::<i64, _>(i) {
        return Ok(v);
    }
    let v: f64 = row.try_get(i)?;
    Ok(v as i64)
}

async fn log_in(
    tx: &mut Transaction<'static, Any>,
    op: &Operator,
    action: &str,
    target: &str,
    detail: &str,
    result: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO operation_log (at, operator, action, target, detail, result) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now_text())
    .bind(&op.0)
    .bind(action)
    .bind(target)
    .bind(detail)
    .bind(result)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A value bound to a deferred write.
#[derive(Clone, Debug)]
enum Param {
    Int(i64),
    Text(String),
}

/// A write kept until the transaction commits: SQL with its own `$1..$n`, and their values.
#[derive(Debug)]
struct PendingWrite {
    sql: String,
    params: Vec<Param>,
}

/// SQLite binds at most 32,766 values in one statement batch; stay well below.
const MAX_PARAMS_PER_BATCH: usize = 30_000;

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    params: impl IntoIterator<Item = &'q Param>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        q = match p {
            Param::Int(v) => q.bind(*v),
            Param::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// `sql` with each `$n` made `$(n + offset)`, so that statements can share one batch.
/// (This crate's gateway SQL has no `$` inside string literals.)
fn shift_placeholders(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' || !chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        out.push('$');
        out.push_str(&(n + offset).to_string());
    }
    out
}

type WriterGuard = tokio::sync::OwnedMutexGuard<Option<Writer>>;

/// Where a gateway transaction reads.
enum Conn {
    /// SQLite: the writer's turn, and the writing connection (held, with nothing queued:
    /// committed first) once the transaction reads something in flight
    /// ([`GatewayTx::sqlite_ready`]). Reads go through the gateway's own readers and need
    /// no transaction (nothing else writes these tables meanwhile); the writes go in one
    /// transaction at the end, queued with others' when the writing connection is not held
    /// ([`Committer`]).
    Sqlite {
        turn: tokio::sync::OwnedMutexGuard<()>,
        conn: Option<WriterGuard>,
    },
    /// PostgreSQL: a transaction from the start, whose reads take row locks.
    Postgres(Transaction<'static, Any>),
}

/// One gateway transaction (see the module documentation). Reads happen at once; writes
/// are kept and sent at [`GatewayTx::finish`], all or none: on SQLite in one transaction of
/// the writing connection, possibly with other transactions' (a group).
/// Dropping it without finishing writes nothing.
pub struct GatewayTx {
    /// When this transaction took SQLite's writer's turn.
    held_since: Option<std::time::Instant>,
    conn: Conn,
    writes: Vec<PendingWrite>,
    /// What this transaction writes, to bump once it has committed.
    touched: Vec<Written>,
    /// Reads made ahead and still current ([`GatewayTx::use_read_ahead`]).
    ahead: Option<ReadAhead>,
    backend: Backend,
    store: Store,
}

impl GatewayTx {
    fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Where this transaction reads on PostgreSQL (its transaction). SQLite reads go
    /// through [`Store::sqlite_read`] after [`sqlite_ready`](Self::sqlite_ready).
    fn db(&mut self) -> Result<&mut sqlx::AnyConnection> {
        match &mut self.conn {
            Conn::Postgres(t) => Ok(t),
            Conn::Sqlite { .. } => refused("SQLite 网关交易不经 sqlx 读库（内部错误）"),
        }
    }

    /// SQLite, before reading `key` (`None`: something no key stands for) in this
    /// transaction: when a write of it is queued (in flight), takes the writing connection
    /// and commits the queue, so that the read sees it. A key nothing in the queue writes
    /// reads as committed: the turn is held, so nothing of it can be queued meanwhile, and
    /// the transaction can still be committed in a group.
    async fn sqlite_ready(&mut self, key: Option<Written>) -> Result<()> {
        if let Conn::Sqlite { conn, .. } = &mut self.conn {
            let in_flight = key.is_none_or(|k| self.store.versions.settled(&k).is_none());
            if conn.is_none() && in_flight {
                *conn = Some(self.store.committer.drained(&self.store).await?);
            }
        }
        Ok(())
    }

    fn defer(&mut self, sql: impl Into<String>, params: Vec<Param>) {
        self.writes.push(PendingWrite {
            sql: sql.into(),
            params,
        });
    }

    /// Takes reads made ahead ([`Store::read_ahead`]) when nothing they read has been
    /// written since: then [`visit`](Self::visit), [`lines`](Self::lines) and
    /// [`accumulators`](Self::accumulators) answer from them. Nothing written since includes
    /// writes queued and not yet committed. The turn is held, so they stay current until
    /// this transaction ends.
    pub fn use_read_ahead(&mut self, r: ReadAhead) {
        let versions = &self.store.versions;
        let current = [
            versions.settled(&Written::Visit(r.visit.mdtrt_id.clone())),
            versions.settled(&Written::Accumulators(r.visit.psn_no.clone())),
        ];
        if self.backend == Backend::Sqlite && current == r.versions.map(Some) {
            self.ahead = Some(r);
        }
    }

    /// The visit, locked for this transaction.
    pub async fn visit(&mut self, mdtrt_id: &str) -> Result<Option<Visit>> {
        if let Some(a) = self.ahead.as_ref().filter(|a| a.visit.mdtrt_id == mdtrt_id) {
            return Ok(Some(a.visit.clone()));
        }
        if self.backend == Backend::Sqlite {
            self.sqlite_ready(Some(Written::Visit(mdtrt_id.to_string())))
                .await?;
            return self.store.sqlite_read(|c| {
                Ok(sqlite_rows(c, &visit_select(""), &[&mdtrt_id], |r| visit_of(r))?.pop())
            });
        }
        let lock = self.lock_suffix();
        visit_in(self.db()?, mdtrt_id, lock).await
    }

    pub fn insert_visit(&mut self, v: &Visit) {
        self.touched.push(Written::Visit(v.mdtrt_id.clone()));
        let now = now_text();
        self.defer(
            format!(
                "INSERT INTO visits ({VISIT_COLUMNS}, opened_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ),
            vec![
                Param::Text(v.mdtrt_id.clone()),
                Param::Text(v.fixmedins_code.clone()),
                Param::Text(v.psn_no.clone()),
                Param::Text(v.kind.code().into()),
                Param::Text(v.insutype.clone()),
                Param::Text(v.med_type.clone()),
                Param::Text(v.ipt_otp_no.clone()),
                Param::Text(v.mdtrt_cert_type.clone()),
                Param::Text(v.mdtrt_cert_no.clone()),
                Param::Int(date_value(v.begndate)),
                Param::Int(v.enddate.map_or(0, date_value)),
                Param::Text(v.dise_codg.clone()),
                Param::Text(v.state.code().into()),
                Param::Text(now.clone()),
                Param::Text(now),
            ],
        );
    }

    /// Writes the visit's changeable fields (state, med_type, dates, diagnosis).
    pub fn update_visit(&mut self, v: &Visit) {
        self.touched.push(Written::Visit(v.mdtrt_id.clone()));
        self.defer(
            "UPDATE visits SET state = $1, med_type = $2, enddate = $3, dise_codg = $4, \
             updated_at = $5 WHERE mdtrt_id = $6",
            vec![
                Param::Text(v.state.code().into()),
                Param::Text(v.med_type.clone()),
                Param::Int(v.enddate.map_or(0, date_value)),
                Param::Text(v.dise_codg.clone()),
                Param::Text(now_text()),
                Param::Text(v.mdtrt_id.clone()),
            ],
        );
    }

    /// The visit's fee lines in force, in upload order.
    pub async fn lines(&mut self, mdtrt_id: &str) -> Result<Vec<FeeLine>> {
        if let Some(a) = self.ahead.as_ref().filter(|a| a.visit.mdtrt_id == mdtrt_id) {
            return Ok(a.lines.clone());
        }
        if self.backend == Backend::Sqlite {
            self.sqlite_ready(Some(Written::Visit(mdtrt_id.to_string())))
                .await?;
            return self
                .store
                .sqlite_read(|c| sqlite_rows(c, LINES_SELECT, &[&mdtrt_id], |r| fee_line_of(r)));
        }
        lines_of(self.db()?, mdtrt_id).await
    }

    pub fn insert_lines(&mut self, mdtrt_id: &str, lines: &[NewFeeLine]) {
        self.touched.push(Written::Visit(mdtrt_id.to_string()));
        let now = now_text();
        for l in lines {
            self.defer(
                "INSERT INTO fee_lines (mdtrt_id, feedetl_sn, chrg_bchno, med_list_codg, pric, cnt, \
                 amount_fen, fee_ocur_date, withdrawn, uploaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
                vec![
                    Param::Text(mdtrt_id.into()),
                    Param::Text(l.feedetl_sn.clone()),
                    Param::Text(l.chrg_bchno.clone()),
                    Param::Text(l.med_list_codg.clone()),
                    Param::Text(l.pric.clone()),
                    Param::Text(l.cnt.clone()),
                    Param::Int(l.amount_fen),
                    Param::Int(date_value(l.fee_ocur_date)),
                    Param::Text(now.clone()),
                ],
            );
        }
    }

    /// Withdraws the given lines (by id) of visit `mdtrt_id`.
    pub fn withdraw_lines(&mut self, mdtrt_id: &str, ids: &[i64]) {
        self.touched.push(Written::Visit(mdtrt_id.to_string()));
        for id in ids {
            self.defer(
                "UPDATE fee_lines SET withdrawn = 1 WHERE id = $1",
                vec![Param::Int(*id)],
            );
        }
    }

    /// The engine's person as the store knows it on `on` (see `Store::eligibility`).
    pub async fn person(
        &mut self,
        psn_no: &str,
        on: Date,
    ) -> Result<Option<yibao_core::refdata::Person>> {
        let store = self.store.clone();
        if self.backend == Backend::Sqlite {
            // The register: no gateway transaction writes it, so nothing queued is of it.
            let mut c = store.pool.acquire().await?;
            return Ok(person_record(&mut c, &store.policies, psn_no, on)
                .await?
                .map(|StoredPerson { person, .. }| person));
        }
        Ok(person_record(self.db()?, &store.policies, psn_no, on)
            .await?
            .map(|StoredPerson { person, .. }| person))
    }

    /// The person's accumulators for `year`. With `lock` (the transaction will write them:
    /// a settlement or reversal) locked until this transaction ends; without (a
    /// pre-settlement, which records nothing) only read.
    pub async fn accumulators(
        &mut self,
        psn_no: &str,
        year: u16,
        lock: bool,
    ) -> Result<YearAccumulators> {
        if let Some(a) = self
            .ahead
            .as_ref()
            .filter(|a| a.visit.psn_no == psn_no && a.year == year)
        {
            return Ok(a.accumulators);
        }
        if self.backend == Backend::Postgres && lock {
            // Creates the row if need be and locks it, in one statement.
            let row = sqlx::query(
                "INSERT INTO accumulators (psn_no, year, counters) VALUES ($1, $2, $3) \
                 ON CONFLICT (psn_no, year) DO UPDATE SET counters = accumulators.counters \
                 RETURNING counters",
            )
            .bind(psn_no)
            .bind(i64::from(year))
            .bind(counters_text(&YearAccumulators::default()))
            .fetch_one(self.db()?)
            .await?;
            return counters_of(&row.try_get::<String, _>(0)?);
        }
        if self.backend == Backend::Sqlite {
            self.sqlite_ready(Some(Written::Accumulators(psn_no.to_string())))
                .await?;
            let year = i64::from(year);
            let rows = self.store.sqlite_read(|c| {
                sqlite_rows(c, ACCUMULATORS_SELECT, &[&psn_no, &year], |r| r.text(0))
            })?;
            return match rows.first() {
                Some(text) => counters_of(text),
                None => Ok(YearAccumulators::default()),
            };
        }
        accumulators_of(self.db()?, psn_no, year).await
    }

    pub fn put_accumulators(&mut self, psn_no: &str, year: u16, acc: &YearAccumulators) {
        self.touched.push(Written::Accumulators(psn_no.to_string()));
        self.defer(
            "INSERT INTO accumulators (psn_no, year, counters) VALUES ($1, $2, $3) \
             ON CONFLICT (psn_no, year) DO UPDATE SET counters = excluded.counters",
            vec![
                Param::Text(psn_no.into()),
                Param::Int(i64::from(year)),
                Param::Text(counters_text(acc)),
            ],
        );
    }

    pub fn insert_settlement(&mut self, s: &SettlementRecord) {
        self.defer(
            "INSERT INTO settlements (setl_id, mdtrt_id, psn_no, fixmedins_code, insutype, clr_type, \
             year, setl_date, medfee_sumamt, fund_pay_sumamt, acct_pay, delta, output, settled_at, msgid) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            vec![
                Param::Text(s.setl_id.clone()),
                Param::Text(s.mdtrt_id.clone()),
                Param::Text(s.psn_no.clone()),
                Param::Text(s.fixmedins_code.clone()),
                Param::Text(s.insutype.clone()),
                Param::Text(s.clr_type.clone()),
                Param::Int(i64::from(s.year)),
                Param::Int(date_value(s.setl_date)),
                Param::Int(s.medfee_sumamt),
                Param::Int(s.fund_pay_sumamt),
                Param::Int(s.acct_pay),
                Param::Text(counters_text(&s.delta)),
                Param::Text(s.output.clone()),
                Param::Text(now_text()),
                Param::Text(s.msgid.clone()),
            ],
        );
    }

    /// The settlement `setl_id` (with its reversal flag).
    pub async fn settlement(&mut self, setl_id: &str) -> Result<Option<SettlementRecord>> {
        if self.backend == Backend::Sqlite {
            // Settlements are written under their visit's key, unknown here: commit the queue.
            self.sqlite_ready(None).await?;
            let sql = format!("{SETTLEMENT_SELECT} WHERE s.setl_id = $1");
            return self.store.sqlite_read(|c| {
                Ok(sqlite_rows(c, &sql, &[&setl_id], |r| settlement_of(r))?.pop())
            });
        }
        let row = sqlx::query(&format!("{SETTLEMENT_SELECT} WHERE s.setl_id = $1"))
            .bind(setl_id)
            .fetch_optional(self.db()?)
            .await?;
        row.as_ref().map(settlement_of).transpose()
    }

    pub fn insert_reversal(&mut self, setl_id: &str, msgid: &str) {
        self.defer(
            "INSERT INTO settlement_reversals (setl_id, reversed_at, msgid) VALUES ($1, $2, $3)",
            vec![
                Param::Text(setl_id.into()),
                Param::Text(now_text()),
                Param::Text(msgid.into()),
            ],
        );
    }

    /// Records the message and its log line with every write kept, and commits: all or
    /// none. Fails, keeping nothing, when the same `msgid` or nonce was recorded meanwhile by
    /// a concurrent request (the caller answers that request's way).
    pub async fn finish(
        mut self,
        meta: &MessageMeta,
        infcode: i64,
        err_msg: &str,
        response: &str,
    ) -> Result<String> {
        let result = if infcode == 0 {
            "成功".to_string()
        } else {
            format!("拒绝：{err_msg}")
        };
        // A plain insert, first of the writes: a concurrent repeat of the msgid, or a reused
        // nonce, that committed first makes it fail, and with it the whole transaction; the
        // caller then answers with the first answer, or refuses the replay.
        let message = PendingWrite {
            sql: "INSERT INTO gateway_messages (fixmedins_code, msgid, nonce, infno, infcode, response, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)".into(),
            params: vec![
                Param::Text(meta.fixmedins_code.clone()),
                Param::Text(meta.msgid.clone()),
                Param::Text(meta.nonce.clone()),
                Param::Text(meta.infno.clone()),
                Param::Int(infcode),
                Param::Text(response.into()),
                Param::Text(now_text()),
            ],
        };
        self.writes.insert(0, message);
        self.defer(
            "INSERT INTO operation_log (at, operator, action, target, detail, result) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Param::Text(now_text()),
                Param::Text(format!("{}/{}", meta.fixmedins_code, meta.opter)),
                Param::Text(format!("gateway.{}", meta.infno)),
                Param::Text(meta.target.clone()),
                Param::Text(format!("msgid={}", meta.msgid)),
                Param::Text(result),
            ],
        );
        let writes = std::mem::take(&mut self.writes);
        match self.conn {
            Conn::Postgres(mut tx) => {
                postgres_writes(&mut tx, &writes).await?;
                tx.commit().await?;
            }
            Conn::Sqlite { turn, conn } => {
                let held = self.held_since.map(|since| since.elapsed());
                for key in &self.touched {
                    self.store.versions.queued(key);
                }
                let mut queued = Queued {
                    writes,
                    touched: std::mem::take(&mut self.touched),
                    done: None,
                };
                if let Some(held) = held {
                    use std::sync::atomic::Ordering::Relaxed;
                    let w = &self.store.writer_held;
                    w.transactions.fetch_add(1, Relaxed);
                    w.nanos
                        .fetch_add(u64::try_from(held.as_nanos()).unwrap_or(u64::MAX), Relaxed);
                }
                match conn {
                    // Read something in flight, so took the writing connection: commit alone,
                    // now. The turn can go first: what this writes is marked in flight, and a
                    // transaction that reads it waits for the connection.
                    Some(mut conn) => {
                        drop(turn);
                        open_writer(&mut conn, &self.store)?;
                        let mine = commit_group(conn, vec![queued], false, &self.store).await?;
                        mine.unwrap_or_else(|| refused("网关写连接不可用（内部错误）"))?;
                    }
                    None => {
                        let (tx, mut rx) = tokio::sync::oneshot::channel();
                        queued.done = Some(tx);
                        let committer = &self.store.committer;
                        committer.lock_queue().push(queued);
                        drop(turn);
                        // Either a committer takes this transaction's writes along, or,
                        // once the connection is free and they are still queued, this one
                        // commits the queue. (Waiting for the connection only to find one's
                        // writes committed would make each waiter in line commit a group
                        // of the few that arrived meanwhile.) Should the connection not open,
                        // the writes stay queued for the next committer: this request is
                        // answered as a system error, and its repeat gets whichever answer
                        // was recorded.
                        let outcome = tokio::select! {
                            biased;
                            outcome = &mut rx => outcome,
                            conn = Arc::clone(&committer.conn).lock_owned() => {
                                match rx.try_recv() {
                                    Ok(outcome) => Ok(outcome),
                                    Err(_) => {
                                        committer.commit_queued(conn, &self.store).await?;
                                        rx.await
                                    }
                                }
                            }
                        };
                        outcome.unwrap_or_else(|_| refused("网关提交结果丢失（内部错误）"))?;
                    }
                }
            }
        }
        Ok(response.to_string())
    }
}

/// The visit `$1`, with the backend's row-lock suffix `lock` (or none).
fn visit_select(lock: &str) -> String {
    format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1{lock}")
}

/// The visit `mdtrt_id`; `lock` is the backend's row-lock suffix, or empty.
async fn visit_in(
    conn: &mut sqlx::AnyConnection,
    mdtrt_id: &str,
    lock: &str,
) -> Result<Option<Visit>> {
    let row = sqlx::query(&visit_select(lock))
        .bind(mdtrt_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(visit_of).transpose()
}

/// The fee lines in force of visit `mdtrt_id`, in upload order.
async fn lines_of(conn: &mut sqlx::AnyConnection, mdtrt_id: &str) -> Result<Vec<FeeLine>> {
    let rows = sqlx::query(LINES_SELECT)
        .bind(mdtrt_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(fee_line_of).collect()
}

/// A person's (`$1`) accumulators for a year (`$2`).
const ACCUMULATORS_SELECT: &str =
    "SELECT counters FROM accumulators WHERE psn_no = $1 AND year = $2";

/// A person's accumulators for `year` (zero when none stored).
async fn accumulators_of(
    conn: &mut sqlx::AnyConnection,
    psn_no: &str,
    year: u16,
) -> Result<YearAccumulators> {
    let row = sqlx::query(ACCUMULATORS_SELECT)
        .bind(psn_no)
        .bind(i64::from(year))
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => counters_of(&r.try_get::<String, _>(0)?),
        None => Ok(YearAccumulators::default()),
    }
}

/// One write of a batch: its SQL with placeholders shifted into the batch's, and its values.
type Shifted<'a> = (String, &'a [Param]);

/// Groups `writes` into as few batches as the bound-value limit allows.
fn chunks<'a>(writes: impl IntoIterator<Item = &'a PendingWrite>) -> Vec<Vec<Shifted<'a>>> {
    let mut out: Vec<(usize, Vec<Shifted<'_>>)> = vec![(0, Vec::new())];
    for w in writes {
        if out
            .last()
            .is_some_and(|(n, _)| n + w.params.len() > MAX_PARAMS_PER_BATCH)
        {
            out.push((0, Vec::new()));
        }
        if let Some((n, stmts)) = out.last_mut() {
            stmts.push((shift_placeholders(&w.sql, *n), &w.params));
            *n += w.params.len();
        }
    }
    out.into_iter().map(|(_, stmts)| stmts).collect()
}

/// Writes `writes` in one SQLite transaction (BEGIN IMMEDIATE … COMMIT; rolled back on
/// failure), each statement prepared once per connection and bound by its `$n` names.
fn sqlite_commit(conn: &mut rusqlite::Connection, writes: &[&PendingWrite]) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for w in writes {
        let mut stmt = tx.prepare_cached(&w.sql)?;
        bind_dollars(&mut stmt, &w.params)?;
        stmt.raw_execute()?;
    }
    tx.commit()?;
    Ok(())
}

/// Sends `writes` in the open PostgreSQL transaction as one statement (each write a
/// data-modifying `WITH` clause: one round trip), more only past the bound-value limit.
async fn postgres_writes(tx: &mut sqlx::AnyConnection, writes: &[PendingWrite]) -> Result<()> {
    for group in chunks(writes) {
        if group.is_empty() {
            continue;
        }
        let clauses: Vec<String> = group
            .iter()
            .enumerate()
            .map(|(i, (stmt, _))| format!("w{i} AS ({stmt})"))
            .collect();
        let sql = format!("WITH {} SELECT 1", clauses.join(", "));
        bind_all(sqlx::query(&sql), group.iter().flat_map(|(_, p)| p.iter()))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{shift_placeholders, MessageMeta, Written};
    use yibao_core::YearAccumulators;

    #[test]
    fn placeholders_shift_for_a_shared_batch() {
        assert_eq!(
            shift_placeholders("UPDATE t SET a = $1, b = $12 WHERE c = $2", 10),
            "UPDATE t SET a = $11, b = $22 WHERE c = $12"
        );
        assert_eq!(shift_placeholders("SELECT 1", 5), "SELECT 1");
        assert_eq!(shift_placeholders("a $ b $x", 3), "a $ b $x");
    }

    /// Requests dropped at any moment (a HIS that hangs up; hyper then drops the request's
    /// future), some of them while committing the group that holds other requests' writes:
    /// every request not dropped is answered and recorded, and nothing stays in flight.
    #[test]
    fn dropped_requests_stop_no_other_answer() {
        crate::testing::runtime().block_on(async {
            for (backend, store) in crate::testing::stores("gw_dropped").await {
                let mut answered = Vec::new();
                for round in 0..30u32 {
                    let mut tasks = Vec::new();
                    for i in 0..16 {
                        let store = store.clone();
                        let meta = MessageMeta {
                            fixmedins_code: "H0001".into(),
                            msgid: format!("H0001{round:03}{i:022}"),
                            nonce: format!("n-{round}-{i}"),
                            infno: "2207".into(),
                            opter: "test".into(),
                            target: String::new(),
                        };
                        tasks.push(tokio::spawn(async move {
                            let mut g = store.begin_gateway().await?;
                            let acc = YearAccumulators {
                                admissions: i64::from(round * 16 + i),
                                ..Default::default()
                            };
                            g.put_accumulators(&format!("P{}", i % 4), 2024, &acc);
                            g.finish(&meta, 0, "", "{}").await.map(|_| meta.msgid)
                        }));
                    }
                    for (i, t) in tasks.iter().enumerate() {
                        if i % 2 == 1 {
                            for _ in 0..(i + round as usize) % 5 {
                                tokio::task::yield_now().await;
                            }
                            t.abort();
                        }
                    }
                    for (i, t) in tasks.into_iter().enumerate() {
                        match t.await {
                            Ok(r) => answered.push(r.unwrap_or_else(|e| {
                                panic!("{backend}: 第 {round} 轮第 {i} 笔未被丢弃却失败：{e}")
                            })),
                            Err(e) => assert!(e.is_cancelled(), "{backend}: {e}"),
                        }
                    }
                }
                // One more transaction commits whatever a dropped request left queued.
                let g = store.begin_gateway().await.expect("开始交易");
                let last = MessageMeta {
                    fixmedins_code: "H0001".into(),
                    msgid: format!("H0001999{:022}", 0),
                    nonce: "n-last".into(),
                    infno: "2207".into(),
                    opter: "test".into(),
                    target: String::new(),
                };
                g.finish(&last, 0, "", "{}").await.expect("最后一笔");
                for msgid in &answered {
                    assert_eq!(
                        store
                            .answered("H0001", msgid)
                            .await
                            .expect("读报文")
                            .as_deref(),
                        Some("{}"),
                        "{backend}: 已应答的 {msgid} 应已记录"
                    );
                }
                assert!(answered.len() >= 30 * 8, "{backend}: {}", answered.len());
                for p in 0..4 {
                    let key = Written::Accumulators(format!("P{p}"));
                    assert!(
                        store.versions.settled(&key).is_some(),
                        "{backend}: P{p} 的写入仍在途"
                    );
                }
            }
        });
    }
}
