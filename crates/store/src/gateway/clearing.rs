//! Clearing with the institutions (national interface 3202, 3203/3204, 9101/9102): the
//! gateway's files, the clearing applications and their cancellations (migration 0009), read
//! and written through [`GatewayTx`] so that they commit with the message that made them.
//!
//! None of these rows is read ahead: every read here first commits what is queued (SQLite),
//! so their writes need no version key.

use super::rows::{settlement_of, Cols, SETTLEMENT_SELECT};
use super::tx::GatewayTx;
use super::writes::{bind_params, GatewayWrite};
use super::SettlementRecord;
use crate::sqlite_engine::{self, Param, Statement};
use crate::{date_value, now_text, Result};
use yibao_core::Date;

/// A file the gateway keeps: uploaded by an institution (9101) or made for it (3202).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayFile {
    pub file_qury_no: String,
    /// The institution that owns it: the only one that may download or use it.
    pub fixmedins_code: String,
    pub filename: String,
    /// `upload` (9101) or `result` (3202).
    pub kind: String,
    pub size_bytes: i64,
    /// The bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
    pub msgid: String,
    /// Beijing time, `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
    /// The last moment it may be downloaded, as `created_at`.
    pub dld_endtime: String,
}

/// A clearing application (3203 清算申请), amounts in fen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClearingApplication {
    pub clr_appy_evt_id: String,
    pub fixmedins_code: String,
    pub clr_type: String,
    pub clr_way: String,
    /// `yyyyMM`.
    pub setlym: String,
    pub psntime: i64,
    pub medfee_sumamt: i64,
    pub med_sumfee: i64,
    pub fund_appy_sum: i64,
    pub cash_payamt: i64,
    pub acct_pay: i64,
    pub begndate: Date,
    pub enddate: Date,
    pub msgid: String,
    /// Whether a cancellation (3204) is recorded.
    pub cancelled: bool,
}

/// The clearing writes of a transaction (one kind of [`GatewayWrite`]).
#[derive(Debug)]
pub(super) enum ClearingWrite {
    File(GatewayFile),
    Application {
        application: ClearingApplication,
        at: String,
    },
    Cancellation {
        clr_appy_evt_id: String,
        msgid: String,
        at: String,
    },
}

const INSERT_FILE: &str = "INSERT INTO gateway_files (file_qury_no, fixmedins_code, filename, \
     kind, size_bytes, content, msgid, created_at, dld_endtime) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const FILE_SELECT: &str = "SELECT file_qury_no, fixmedins_code, filename, kind, size_bytes, \
     content, msgid, created_at, dld_endtime FROM gateway_files WHERE file_qury_no = $1";
const INSERT_APPLICATION: &str = "INSERT INTO clearing_applications (clr_appy_evt_id, \
     fixmedins_code, clr_type, clr_way, setlym, psntime, medfee_sumamt, med_sumfee, \
     fund_appy_sum, cash_payamt, acct_pay, begndate, enddate, msgid, applied_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const APPLICATION_COLUMNS: &str = "SELECT a.clr_appy_evt_id, a.fixmedins_code, a.clr_type, \
     a.clr_way, a.setlym, a.psntime, a.medfee_sumamt, a.med_sumfee, a.fund_appy_sum, \
     a.cash_payamt, a.acct_pay, a.begndate, a.enddate, a.msgid, \
     (SELECT COUNT(*) FROM clearing_cancellations c WHERE c.clr_appy_evt_id = a.clr_appy_evt_id) \
     FROM clearing_applications a";
const INSERT_CANCELLATION: &str = "INSERT INTO clearing_cancellations (clr_appy_evt_id, \
     msgid, cancelled_at) VALUES ($1, $2, $3)";

impl ClearingWrite {
    /// Appends the statements this write is.
    pub(super) fn lower(self, out: &mut Vec<Statement>) {
        use Param::{Int, Text};
        let (sql, params) = match self {
            ClearingWrite::File(f) => (
                INSERT_FILE,
                vec![
                    Text(f.file_qury_no),
                    Text(f.fixmedins_code),
                    Text(f.filename),
                    Text(f.kind),
                    Int(f.size_bytes),
                    Text(f.content_base64),
                    Text(f.msgid),
                    Text(f.created_at),
                    Text(f.dld_endtime),
                ],
            ),
            ClearingWrite::Application { application: a, at } => (
                INSERT_APPLICATION,
                vec![
                    Text(a.clr_appy_evt_id),
                    Text(a.fixmedins_code),
                    Text(a.clr_type),
                    Text(a.clr_way),
                    Text(a.setlym),
                    Int(a.psntime),
                    Int(a.medfee_sumamt),
                    Int(a.med_sumfee),
                    Int(a.fund_appy_sum),
                    Int(a.cash_payamt),
                    Int(a.acct_pay),
                    Int(date_value(a.begndate)),
                    Int(date_value(a.enddate)),
                    Text(a.msgid),
                    Text(at),
                ],
            ),
            ClearingWrite::Cancellation {
                clr_appy_evt_id,
                msgid,
                at,
            } => (
                INSERT_CANCELLATION,
                vec![Text(clr_appy_evt_id), Text(msgid), Text(at)],
            ),
        };
        out.push(Statement { sql, params });
    }
}

fn file_of(r: &impl Cols) -> Result<GatewayFile> {
    Ok(GatewayFile {
        file_qury_no: r.text(0)?,
        fixmedins_code: r.text(1)?,
        filename: r.text(2)?,
        kind: r.text(3)?,
        size_bytes: r.int(4)?,
        content_base64: r.text(5)?,
        msgid: r.text(6)?,
        created_at: r.text(7)?,
        dld_endtime: r.text(8)?,
    })
}

fn application_of(r: &impl Cols) -> Result<ClearingApplication> {
    Ok(ClearingApplication {
        clr_appy_evt_id: r.text(0)?,
        fixmedins_code: r.text(1)?,
        clr_type: r.text(2)?,
        clr_way: r.text(3)?,
        setlym: r.text(4)?,
        psntime: r.int(5)?,
        medfee_sumamt: r.int(6)?,
        med_sumfee: r.int(7)?,
        fund_appy_sum: r.int(8)?,
        cash_payamt: r.int(9)?,
        acct_pay: r.int(10)?,
        begndate: r.date(11)?,
        enddate: r.date(12)?,
        msgid: r.text(13)?,
        cancelled: r.int(14)? > 0,
    })
}

impl GatewayTx {
    /// Rows of `sql` with `params`, each decoded by `sqlite` or `postgres` (the same
    /// function, for the two kinds of row). Commits what is queued first (SQLite).
    async fn clearing_rows<T>(
        &mut self,
        sql: &str,
        params: &[Param],
        sqlite: impl FnMut(&rusqlite::Row<'_>) -> Result<T>,
        postgres: impl FnMut(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        if let Some(engine) = self.sqlite_ready(None).await? {
            let refs: Vec<&dyn rusqlite::ToSql> =
                params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
            return engine.read(|c| sqlite_engine::rows(c, sql, &refs, sqlite));
        }
        let rows = bind_params(sqlx::query(sql), params)
            .fetch_all(self.db()?)
            .await?;
        rows.iter().map(postgres).collect()
    }

    /// Serialises this transaction with every other that takes the same `key` until it
    /// ends (an institution's month of clearing, an application): PostgreSQL through a
    /// transaction-scoped advisory lock; SQLite's transactions are serialised by the
    /// writer's turn already.
    pub async fn lock_clearing(&mut self, key: &str) -> Result<()> {
        if let crate::Backend::Postgres = self.backend() {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("clearing:{key}"))
                .execute(self.db()?)
                .await?;
        }
        Ok(())
    }

    /// Keeps file `f` (it commits with the message).
    pub fn insert_file(&mut self, f: &GatewayFile) {
        self.push_write(GatewayWrite::Clearing(ClearingWrite::File(f.clone())));
    }

    /// The file `file_qury_no`, whoever owns it.
    pub async fn file(&mut self, file_qury_no: &str) -> Result<Option<GatewayFile>> {
        let p = [Param::Text(file_qury_no.into())];
        Ok(self
            .clearing_rows(FILE_SELECT, &p, |r| file_of(r), file_of)
            .await?
            .pop())
    }

    /// The settlements of institution `fixmedins_code` of `clr_type` settled from `from` to
    /// `to` (inclusive), reversed ones included (with their flag), by `setl_id`.
    pub async fn settlements_between(
        &mut self,
        fixmedins_code: &str,
        clr_type: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<SettlementRecord>> {
        let sql = format!(
            "{SETTLEMENT_SELECT} WHERE s.fixmedins_code = $1 AND s.clr_type = $2 \
             AND s.setl_date >= $3 AND s.setl_date <= $4 ORDER BY s.setl_id"
        );
        let p = [
            Param::Text(fixmedins_code.into()),
            Param::Text(clr_type.into()),
            Param::Int(date_value(from)),
            Param::Int(date_value(to)),
        ];
        self.clearing_rows(&sql, &p, |r| settlement_of(r), settlement_of)
            .await
    }

    /// Keeps a clearing application (3203).
    pub fn insert_clearing_application(&mut self, a: &ClearingApplication) {
        self.push_write(GatewayWrite::Clearing(ClearingWrite::Application {
            application: a.clone(),
            at: now_text(),
        }));
    }

    /// The clearing application `clr_appy_evt_id`, with whether it is cancelled.
    pub async fn clearing_application(
        &mut self,
        clr_appy_evt_id: &str,
    ) -> Result<Option<ClearingApplication>> {
        let sql = format!("{APPLICATION_COLUMNS} WHERE a.clr_appy_evt_id = $1");
        let p = [Param::Text(clr_appy_evt_id.into())];
        Ok(self
            .clearing_rows(&sql, &p, |r| application_of(r), application_of)
            .await?
            .pop())
    }

    /// The applications (cancelled or not) of an institution for a month and `clr_type`.
    pub async fn clearing_applications(
        &mut self,
        fixmedins_code: &str,
        setlym: &str,
        clr_type: &str,
    ) -> Result<Vec<ClearingApplication>> {
        let sql = format!(
            "{APPLICATION_COLUMNS} WHERE a.fixmedins_code = $1 AND a.setlym = $2 \
             AND a.clr_type = $3 ORDER BY a.clr_appy_evt_id"
        );
        let p = [
            Param::Text(fixmedins_code.into()),
            Param::Text(setlym.into()),
            Param::Text(clr_type.into()),
        ];
        self.clearing_rows(&sql, &p, |r| application_of(r), application_of)
            .await
    }

    /// Keeps the cancellation (3204) of application `clr_appy_evt_id` (a new row: the
    /// application stays).
    pub fn insert_clearing_cancellation(&mut self, clr_appy_evt_id: &str, msgid: &str) {
        self.push_write(GatewayWrite::Clearing(ClearingWrite::Cancellation {
            clr_appy_evt_id: clr_appy_evt_id.into(),
            msgid: msgid.into(),
            at: now_text(),
        }));
    }
}
