//! Storage for yibao: SQLite embedded (the default, a file under `./yibao-data/`) or
//! PostgreSQL (`postgres://…`), behind one API. Migrations for both are applied on open.
//!
//! Both databases are reached through `sqlx::Any`, so every query is written once: plain
//! SQL with `$1…` placeholders, BIGINT for dates (`yyyymmdd`), money (fen) and flags.
//! Rows of record (enrolments, contributions, category spans, registration events, locks,
//! payments) are only ever inserted; a change is a new row that supersedes an older one.

pub mod account;
pub mod console;
mod contribution;
mod duplicates;
mod eligibility;
mod employee;
pub mod funds;
mod gateway;
mod import;
pub mod journal;
mod load;
mod register;
mod sqlite_engine;
pub mod testing;
pub mod transfers;

pub use account::{Account, AccountMovement};
pub use duplicates::{DuplicateFinding, DuplicateKind};
pub use eligibility::Eligibility;
pub use gateway::{
    Answered, AuthFacts, ClearingApplication, FeeLine, GatewayFile, GatewayTx, MessageMeta,
    NewFeeLine, ReadAhead, SettlementFinding, SettlementRecord, SettlementTotals, Visit,
};
pub use import::{import_roster, ImportOptions, ImportReport};
pub use yibao_core::employer::{unit_arrears, Employment, UnitFacts};

pub use load::{load_reference, LoadReport};
pub use register::*;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::path::Path;

/// The embedded database when no URL is given.
pub const DEFAULT_SQLITE_PATH: &str = "yibao-data/yibao.db";

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A storage failure or a refused change, in Chinese.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Database(#[from] sqlx::Error),
    /// From the gateway's SQLite connections reached without sqlx (see `gateway`).
    #[error("数据库错误：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库迁移失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A business refusal (a bad value, a wrong state, a rule the store checks): the
    /// caller's to fix; the gateway answers and records it.
    #[error("{0}")]
    Refused(String),
    /// Something the store holds or needs is unusable — a stored value it cannot read, a
    /// failed fsync, a lost commit result, a lock file it cannot open: a fault the caller may
    /// retry, never recorded as an answer.
    #[error("系统故障：{0}")]
    Fault(String),
    #[error("无法创建数据目录 {path}：{source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn refused<T>(message: impl Into<String>) -> Result<T> {
    Err(StoreError::Refused(message.into()))
}

pub(crate) fn fault<T>(message: impl Into<String>) -> Result<T> {
    Err(StoreError::Fault(message.into()))
}

impl StoreError {
    /// Whether this is a refusal (the input is wrong) rather than a fault.
    pub fn is_refusal(&self) -> bool {
        matches!(self, StoreError::Refused(_))
    }
}

/// Who does something (for the operation log).
#[derive(Clone, Debug)]
pub struct Operator(pub String);

impl Operator {
    /// The operator named by `YIBAO_OPERATOR`, else the login name, else `system`.
    pub fn from_env() -> Operator {
        let name = ["YIBAO_OPERATOR", "USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "system".into());
        Operator(name)
    }
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    policies: contribution::PolicyCache,
    /// Persons as the gateway last read them (see `eligibility::PersonCache`).
    persons: eligibility::PersonCache,
    /// SQLite: the gateway's group-commit engine (its readers, writer, committer and
    /// versions: see `sqlite_engine`); `None` on PostgreSQL.
    sqlite: Option<std::sync::Arc<sqlite_engine::SqliteEngine>>,
}

/// The file of a `sqlite:` URL (`sqlite://path?…` or `sqlite:path`).
fn sqlite_file_of(url: &str) -> std::path::PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    std::path::PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// Before SQLite opens the file of `url`: a missing directory is created owner-only (0700)
/// and, when the URL may create the database (`mode=rwc`), a missing file is created 0600
/// — SQLite gives its `-wal` and `-shm` files the database file's mode, so ID numbers are
/// never world-readable. A database or directory this process cannot write is refused here,
/// in Chinese, naming it. (An existing file keeps its mode.)
fn prepare_sqlite_file(url: &str) -> Result<()> {
    let file = sqlite_file_of(url);
    if url.contains("mode=memory") || file.as_os_str().is_empty() || file == Path::new(":memory:") {
        return Ok(());
    }
    let creates = url.contains("mode=rwc");
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if creates && !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir).map_err(|source| StoreError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let read_only = |what: String, e: &dyn std::fmt::Display| {
        StoreError::Fault(format!(
            "{what}不可写（{e}）：数据库需要写入该文件和它所在的目录（SQLite 在那里建 -wal、-shm 文件）"
        ))
    };
    if file.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .map_err(|e| read_only(format!("数据库文件 {} ", file.display()), &e))?;
    } else if creates && dir.exists() {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(&file) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(read_only(format!("数据目录 {} ", dir.display()), &e)),
        }
    }
    // The directory too: the -wal and -shm files are created there.
    if dir.exists() {
        let probe = dir.join(format!(".yibao-write-probe-{}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)
        {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(e) => return Err(read_only(format!("数据目录 {} ", dir.display()), &e)),
        }
    }
    Ok(())
}

/// `e` from opening or first writing the SQLite database of `url`, in Chinese when it is
/// SQLite's "readonly database" (read-only file, directory, file system or `mode=ro`).
fn sqlite_open_error(url: &str, e: StoreError) -> StoreError {
    let text = e.to_string();
    if text.contains("readonly database") || text.contains("read-only") {
        StoreError::Fault(format!(
            "数据库 {} 只读，不能写入（{text}）：请检查该文件与所在目录的写权限、文件系统是否只读，\
             以及 --database 地址是否含 mode=ro",
            sqlite_file_of(url).display()
        ))
    } else {
        e
    }
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens (creating if needed) the database at `url`, or the embedded SQLite file when
    /// `url` is `None`, and applies pending migrations.
    pub async fn open(url: Option<&str>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let url = match url {
            Some(u) => u.to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                Path::new(DEFAULT_SQLITE_PATH).display()
            ),
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return refused(format!(
                "数据库地址 --database={url:?} 无效：应为 sqlite://… 或 postgres://…"
            ));
        };
        if backend == Backend::Sqlite {
            prepare_sqlite_file(&url)?;
        }
        let pool = match backend {
            // One writer at a time is SQLite's nature; WAL lets readers go on meanwhile.
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    // An embedded connection cannot have gone away: no ping (a round trip
                    // to its worker thread) before each use.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA synchronous = FULL")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA busy_timeout = 10000")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(|e| sqlite_open_error(&url, e.into()))?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect(&url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => {
                // A write rolled back: a database SQLite can only read fails here, at once,
                // with its real cause — not at the first transaction.
                let mut c = pool.acquire().await?;
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut *c)
                    .await
                    .map_err(|e| sqlite_open_error(&url, e.into()))?;
                let probe = sqlx::query("CREATE TABLE yibao_write_probe (x INTEGER)")
                    .execute(&mut *c)
                    .await;
                sqlx::query("ROLLBACK").execute(&mut *c).await?;
                probe.map_err(|e| sqlite_open_error(&url, e.into()))?;
                drop(c);
                MIGRATE_SQLITE
                    .run(&pool)
                    .await
                    .map_err(|e| sqlite_open_error(&url, e.into()))?
            }
            Backend::Postgres => MIGRATE_POSTGRES.run(&pool).await?,
        }
        Ok(Store {
            backend,
            policies: Default::default(),
            persons: Default::default(),
            sqlite: (backend == Backend::Sqlite).then(|| {
                std::sync::Arc::new(sqlite_engine::SqliteEngine::new(
                    sqlite_file_of(&url),
                    pool.clone(),
                ))
            }),
            pool,
        })
    }

    /// Claims the database for this process's gateway. SQLite: an exclusive lock on a file
    /// beside the database, held while the returned file is open (the gateway keeps what
    /// it read of its own writes in memory, so one gateway process may serve one SQLite
    /// file). PostgreSQL serialises through row locks and needs none.
    pub fn claim_for_gateway(&self) -> Result<Option<std::fs::File>> {
        let Some(db) = self.sqlite.as_ref().map(|e| e.file()) else {
            return Ok(None);
        };
        let mut name = db.as_os_str().to_os_string();
        name.push(".gateway.lock");
        let path = std::path::PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                StoreError::Fault(format!("无法打开网关锁文件 {}：{e}", path.display()))
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(_) => refused(format!(
                "数据库 {} 已有另一个网关进程（yibao serve）在使用：一个 SQLite 数据库只能由一个网关进程服务",
                db.display()
            )),
        }
    }

    /// After a bulk load, brings PostgreSQL's planner statistics up to date: without them a
    /// freshly imported register is planned as if empty (seen: parallel scans for one
    /// person's rows, 94 look-ups/s instead of 2,263/s at 1M persons).
    pub(crate) async fn refresh_statistics(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(
                "ANALYZE persons, household_members, enrolments, contributions, person_categories, \
                 registrations, registration_events, locks",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Readiness (for `/healthz`): whether the database takes a write (a write rolled back:
    /// on SQLite on the gateway's own writing connection when it is open) and whether its
    /// migrations are exactly this program's. Each check in Chinese: (what, Ok(state) or
    /// Err(why)). Two short statements; nothing is changed.
    pub async fn readiness(&self) -> Vec<(String, std::result::Result<String, String>)> {
        let writable = match self.sqlite.as_ref() {
            Some(engine) => match engine.writer_can_write().await {
                Some(r) => r,
                None => self.write_probe().await,
            },
            None => self.write_probe().await,
        };
        let mut out = vec![(
            "数据库可写".to_string(),
            writable
                .map(|()| "正常".to_string())
                .map_err(|e| format!("不能写入：{e}")),
        )];
        let ours = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        }
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
        let applied = sqlx::query(
            "SELECT CAST(COALESCE(MAX(CASE WHEN success THEN version END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN success THEN 0 ELSE 1 END), 0) AS BIGINT) \
             FROM _sqlx_migrations",
        )
        .fetch_one(&self.pool)
        .await
        .and_then(|row| Ok((row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?)));
        let applied = match applied {
            Ok((_, failed)) if failed > 0 => Err(format!("有 {failed} 个迁移未成功")),
            Ok((max, _)) if max == ours => Ok(format!("正常（版本 {ours}）")),
            Ok((max, _)) => Err(format!("库的迁移版本为 {max}，本程序为 {ours}")),
            Err(e) => Err(format!("无法读取迁移记录：{e}")),
        };
        out.push(("数据库迁移".to_string(), applied));
        out
    }

    /// A write rolled back, through the pool.
    async fn write_probe(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE register_generation SET gen = gen WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// PostgreSQL: writes out dirty buffers now (`CHECKPOINT`; needs superuser or
    /// pg_checkpoint), so that a measurement that follows does not pay for the one before.
    /// SQLite: copies the write-ahead log into the database file.
    pub async fn checkpoint(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Postgres => "CHECKPOINT",
            Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The size of the connection pool.
    pub fn max_connections(&self) -> usize {
        self.pool.options().get_max_connections() as usize
    }

    /// How many gateway transactions may be open at once. PostgreSQL: half the pool (a
    /// transaction holds its connection and may take one more for reads; were every
    /// connection held by one waiting for another, all would wait out the pool timeout).
    /// SQLite: a transaction holds no connection while it waits for its turn or for its
    /// group to commit, and only the one with the turn reads through the writer: no limit
    /// beyond the requests themselves.
    pub fn max_open_transactions(&self) -> usize {
        match self.backend {
            Backend::Postgres => (self.max_connections() / 2).max(1),
            Backend::Sqlite => 4096,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Appends one line to the operation log (who, when, what, result) on its own: for what
    /// changes nothing (a refused change). A change logs with [`append_log`], in its transaction.
    pub async fn log(
        &self,
        op: &Operator,
        action: &str,
        target: &str,
        detail: &str,
        result: &str,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        append_log(&mut conn, op, &LogLine::new(action, target, detail, result)).await
    }

    /// The operation log, oldest first.
    pub async fn operation_log(&self) -> Result<Vec<LogEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, operator, action, target, detail, result FROM operation_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    operator: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    result: r.try_get(6)?,
                })
            })
            .collect()
    }
}

/// What one operation-log line says (the operator and the time are added when written).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogLine<'a> {
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub result: &'a str,
}

impl<'a> LogLine<'a> {
    pub(crate) fn new(
        action: &'a str,
        target: &'a str,
        detail: &'a str,
        result: &'a str,
    ) -> LogLine<'a> {
        LogLine {
            action,
            target,
            detail,
            result,
        }
    }

    /// A successful change's line.
    pub(crate) fn done(action: &'a str, target: &'a str, detail: &'a str) -> LogLine<'a> {
        LogLine::new(action, target, detail, "成功")
    }
}

/// Appends one line to the operation log on `conn`: inside a change's transaction, so
/// that the change and its line are committed together or not at all.
pub(crate) async fn append_log(
    conn: &mut sqlx::AnyConnection,
    op: &Operator,
    line: &LogLine<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO operation_log (at, operator, action, target, detail, result) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now_text())
    .bind(&op.0)
    .bind(line.action)
    .bind(line.target)
    .bind(line.detail)
    .bind(line.result)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One line of the operation log.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub id: i64,
    pub at: String,
    pub operator: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub result: String,
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ` (the adapters' clock; the core has none).
pub fn now_text() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let date = yibao_core::Date::from_ymd(1970, 1, 1)
        .and_then(|d| d.add_days(days))
        .map(|d| d.to_string())
        .unwrap_or_default();
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Today's date (UTC+8, the bureau's calendar).
pub fn today() -> yibao_core::Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + 8 * 3600;
    yibao_core::Date::from_ymd(1970, 1, 1)
        .and_then(|d| d.add_days(secs.div_euclid(86_400)))
        .expect("the clock is within 1900–2199")
}

pub(crate) fn date_value(d: yibao_core::Date) -> i64 {
    i64::from(d.as_u32())
}

pub(crate) fn date_of(row: &AnyRow, i: usize) -> Result<yibao_core::Date> {
    date_from_value(row.try_get(i)?)
}

/// A stored date (`yyyymmdd`).
pub(crate) fn date_from_value(v: i64) -> Result<yibao_core::Date> {
    u32::try_from(v)
        .ok()
        .and_then(yibao_core::Date::from_u32)
        .ok_or_else(|| StoreError::Fault(format!("数据库中的日期值 {v} 无效")))
}

/// A value for [`insert_many`].
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    Null,
}

/// A table that bulk loads write, with its columns.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

pub(crate) static PERSONS: Table = Table {
    name: "persons",
    columns: &["psn_no", "certno", "name", "gend", "brdy", "recorded_at"],
};
pub(crate) static ENROLMENTS: Table = Table {
    name: "enrolments",
    columns: &[
        "psn_no",
        "insutype",
        "year",
        "hh_no",
        "school",
        "recorded_at",
    ],
};
pub(crate) static EMPLOYEE_STATUS: Table = Table {
    name: "employee_status",
    columns: &["psn_no", "year", "retired", "civil_servant", "recorded_at"],
};
pub(crate) static ACCOUNT_MOVEMENTS: Table = Table {
    name: "account_movements",
    columns: &[
        "psn_no",
        "on_date",
        "kind",
        "amount_fen",
        "ref",
        "recorded_at",
    ],
};
pub(crate) static MEMBERS: Table = Table {
    name: "household_members",
    columns: &["hh_no", "psn_no", "relation", "year", "recorded_at"],
};
pub(crate) static CONTRIBUTIONS: Table = Table {
    name: "contributions",
    columns: &[
        "psn_no",
        "insutype",
        "year",
        "source",
        "amount_fen",
        "paid_on",
        "recorded_at",
    ],
};
pub(crate) static CATEGORIES: Table = Table {
    name: "person_categories",
    columns: &[
        "psn_no",
        "code",
        "valid_from",
        "valid_to",
        "supersedes",
        "source",
        "recorded_at",
    ],
};
pub(crate) static REGISTRATIONS: Table = Table {
    name: "registrations",
    columns: &[
        "reg_no",
        "psn_no",
        "kind",
        "dise_codg",
        "valid_from",
        "valid_to",
        "recorded_at",
    ],
};
pub(crate) static EVENTS: Table = Table {
    name: "registration_events",
    columns: &[
        "reg_no",
        "state",
        "effective",
        "operator",
        "note",
        "recorded_at",
    ],
};

/// Rows waiting to be written, per table, flushed in an order that respects foreign keys
/// (persons first) and every few thousand rows so a large load keeps little in memory.
pub(crate) struct Batch {
    tables: [&'static Table; 9],
    rows: [Vec<Vec<Value>>; 9],
    pending: usize,
}

impl Batch {
    const FLUSH_AT: usize = 20_000;

    pub fn new() -> Batch {
        Batch {
            tables: [
                &PERSONS,
                &ENROLMENTS,
                &MEMBERS,
                &CONTRIBUTIONS,
                &CATEGORIES,
                &REGISTRATIONS,
                &EVENTS,
                &EMPLOYEE_STATUS,
                &ACCOUNT_MOVEMENTS,
            ],
            rows: Default::default(),
            pending: 0,
        }
    }

    pub fn push(&mut self, table: &'static Table, row: Vec<Value>) {
        debug_assert_eq!(row.len(), table.columns.len());
        let i = self
            .tables
            .iter()
            .position(|t| std::ptr::eq(*t, table))
            .expect("a table of the batch");
        self.rows[i].push(row);
        self.pending += 1;
    }

    /// Writes out when enough rows are waiting.
    pub async fn maybe_flush(&mut self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        if self.pending >= Self::FLUSH_AT {
            self.flush(conn).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        for (t, rows) in self.tables.iter().zip(self.rows.iter_mut()) {
            insert_many(conn, t.name, t.columns, rows).await?;
            rows.clear();
        }
        self.pending = 0;
        Ok(())
    }
}

/// Inserts `rows` into `table` with multi-row `INSERT`s (a few hundred rows a statement), so
/// a million-row import is thousands of round trips, not millions.
pub(crate) async fn insert_many(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
) -> Result<()> {
    const ROWS_PER_STATEMENT: usize = 500;
    // SQLite's driver maps `$N` names to positions one parameter at a time (quadratic in the
    // number of parameters); plain `?` is positional already.
    let positional = conn.backend_name() == "SQLite";
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                if positional {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${n}"));
                }
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            debug_assert_eq!(row.len(), columns.len());
            for v in row {
                q = match v {
                    Value::Int(i) => q.bind(*i),
                    Value::Text(t) => q.bind(t.clone()),
                    Value::Null => q.bind(Option::<i64>::None),
                };
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
