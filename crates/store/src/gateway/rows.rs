//! Gateway rows: decoding (alike from sqlx's rows and from SQLite's own) and the SELECTs
//! that read them.

use super::{FeeLine, SettlementRecord, Visit};
use crate::{fault, Result, StoreError};
use sqlx::Row;
use yibao_core::visit::{VisitKind, VisitState};
use yibao_core::{Date, YearAccumulators};

pub(super) fn counters_text(acc: &YearAccumulators) -> String {
    acc.to_array()
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn counters_of(text: &str) -> Result<YearAccumulators> {
    let mut a = [0i64; YearAccumulators::COUNTERS];
    let mut n = 0;
    for (i, part) in text.split(',').enumerate() {
        let v = part.trim().parse::<i64>().ok();
        match (a.get_mut(i), v) {
            (Some(slot), Some(v)) => *slot = v,
            _ => return fault(format!("数据库中的累计值 {text:?} 无效")),
        }
        n += 1;
    }
    // Rows written before the employee layers hold fewer counters: the rest are zero.
    if n != YearAccumulators::COUNTERS && n != YearAccumulators::COUNTERS_BEFORE_EMPLOYEE {
        return fault(format!("数据库中的累计值 {text:?} 无效"));
    }
    Ok(YearAccumulators::from_array(&a))
}

fn opt_date(v: i64) -> Option<Date> {
    u32::try_from(v).ok().and_then(Date::from_u32)
}

/// The columns of a row, read alike from sqlx's rows and from SQLite's own (the gateway's
/// reads ahead), so that each kind of row is decoded in one place.
pub(crate) trait Cols {
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

pub(super) const VISIT_COLUMNS: &str = visit_columns!();

pub(super) fn visit_of(r: &impl Cols) -> Result<Visit> {
    let kind = r.text(3)?;
    let state = r.text(12)?;
    Ok(Visit {
        mdtrt_id: r.text(0)?,
        fixmedins_code: r.text(1)?,
        psn_no: r.text(2)?,
        kind: VisitKind::from_code(&kind)
            .ok_or_else(|| StoreError::Fault(format!("数据库中的就诊类别 {kind} 无效")))?,
        insutype: r.text(4)?,
        med_type: r.text(5)?,
        ipt_otp_no: r.text(6)?,
        mdtrt_cert_type: r.text(7)?,
        mdtrt_cert_no: r.text(8)?,
        begndate: r.date(9)?,
        enddate: opt_date(r.int(10)?),
        dise_codg: r.text(11)?,
        state: VisitState::from_code(&state)
            .ok_or_else(|| StoreError::Fault(format!("数据库中的就诊状态 {state} 无效")))?,
    })
}

/// The visit `$1`, with the backend's row-lock suffix `lock` (or none).
pub(super) fn visit_select(lock: &str) -> String {
    format!("SELECT {VISIT_COLUMNS} FROM visits WHERE mdtrt_id = $1{lock}")
}

/// The fee lines in force of a visit, in upload order (`$1`: the visit).
pub(super) const LINES_SELECT: &str = "SELECT id, feedetl_sn, chrg_bchno, med_list_codg, pric, \
     cnt, amount_fen, fee_ocur_date FROM fee_lines WHERE mdtrt_id = $1 AND withdrawn = 0 \
     ORDER BY id";

pub(super) fn fee_line_of(r: &impl Cols) -> Result<FeeLine> {
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

pub(super) fn settlement_of(r: &impl Cols) -> Result<SettlementRecord> {
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
        hosp_part_amt: r.int(15)?,
        med_type: r.text(16)?,
    })
}

pub(super) const SETTLEMENT_SELECT: &str = "SELECT s.setl_id, s.mdtrt_id, s.psn_no, \
     s.fixmedins_code, s.insutype, s.clr_type, s.year, s.setl_date, s.medfee_sumamt, \
     s.fund_pay_sumamt, s.acct_pay, s.delta, s.output, s.msgid, \
     CASE WHEN r.setl_id IS NULL THEN 0 ELSE 1 END, s.hosp_part_amt, s.med_type \
     FROM settlements s LEFT JOIN settlement_reversals r ON r.setl_id = s.setl_id";

/// A person's (`$1`) accumulators for a year (`$2`).
pub(super) const ACCUMULATORS_SELECT: &str =
    "SELECT counters FROM accumulators WHERE psn_no = $1 AND year = $2";

/// A BIGINT column (sums of money are cast back to BIGINT in the SQL: PostgreSQL's SUM over
/// BIGINT is NUMERIC, and money never passes through a float).
pub(super) fn r_i64(row: &sqlx::any::AnyRow, i: usize) -> Result<i64> {
    Ok(row.try_get::<i64, _>(i)?)
}

/// The visit `mdtrt_id`; `lock` is the backend's row-lock suffix, or empty.
pub(super) async fn visit_in(
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
pub(super) async fn lines_of(
    conn: &mut sqlx::AnyConnection,
    mdtrt_id: &str,
) -> Result<Vec<FeeLine>> {
    let rows = sqlx::query(LINES_SELECT)
        .bind(mdtrt_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(fee_line_of).collect()
}

/// A person's accumulators for `year` (zero when none stored).
pub(super) async fn accumulators_of(
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
