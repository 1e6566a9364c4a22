//! The funds' payments out and recoveries (`fund_transfers`): 拨付 to institutions, the 大病
//! insurer's premium, its monthly reimbursement of the 大病 layer the fund advanced, and the
//! year-end corridor. Each is a row with its statement and a journal entry, written with the
//! operation-log line in one transaction; a reference posts once. The amounts come from the
//! core's calculators (`yibao_core::payment`) and the entries from the policy's chart.

use crate::journal::{post, StoredEntry};
use crate::{append_log, date_value, now_text, refused, LogLine, Operator, Result, Store};
use sqlx::Row;
use yibao_core::books::{Entry, EntryKind};
use yibao_core::engine::Amounts;
use yibao_core::payment::SettledVisit;
use yibao_core::{Date, Fen};

/// One payment out or recovery, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub kind: EntryKind,
    /// Unique within the kind (e.g. `390:H001:2024-03`).
    pub id: String,
    pub insutype: String,
    /// The institution's code, or `insurer`.
    pub party: String,
    pub year: u16,
    /// `YYYY-MM`, `YYYY-Qn` or `YYYY`.
    pub period: String,
    pub on_date: Date,
    pub amount_fen: Fen,
    /// The statement it pays (JSON).
    pub document: String,
}

impl Transfer {
    pub fn reference(&self) -> String {
        self.kind.reference(&self.id)
    }
}

impl Store {
    /// Records `t` and its entry (built by the caller from the policy's chart under
    /// `t.reference()`; `None` when nothing moves) with the log line. Refused when that
    /// reference was recorded before (a month is paid once).
    pub async fn record_transfer(
        &self,
        op: &Operator,
        t: &Transfer,
        entry: Option<&Entry<'_>>,
    ) -> Result<()> {
        let reference = t.reference();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("SELECT amount_fen FROM fund_transfers WHERE reference = $1")
            .bind(&reference)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = done {
            let amount: i64 = r.try_get(0)?;
            return refused(format!(
                "{} {} {} 已于此前记录（{} 元），不能重复",
                t.kind.name(),
                t.party,
                t.period,
                yibao_core::format_fen(amount)
            ));
        }
        sqlx::query(
            "INSERT INTO fund_transfers (reference, kind, insutype, party, year, period, \
             amount_fen, document, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&reference)
        .bind(t.kind.code())
        .bind(&t.insutype)
        .bind(&t.party)
        .bind(i64::from(t.year))
        .bind(&t.period)
        .bind(t.amount_fen)
        .bind(&t.document)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        if let Some(e) = entry {
            if e.reference != reference || e.kind != t.kind {
                return Err(crate::StoreError::Fault(format!(
                    "分录 {} 与所记的 {reference} 不符",
                    e.reference
                )));
            }
            post(&mut tx, StoredEntry::of(e, &t.insutype, t.year, t.on_date)).await?;
        }
        let detail = format!("{} {} 元", t.period, yibao_core::format_fen(t.amount_fen));
        append_log(
            &mut tx,
            op,
            &LogLine::done(t.kind.name(), &t.party, &detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The transfers of `kind` for `insutype` and `year`: (party, period, fen), in order.
    pub async fn transfers(
        &self,
        kind: EntryKind,
        insutype: &str,
        year: u16,
    ) -> Result<Vec<(String, String, Fen)>> {
        let rows = sqlx::query(
            "SELECT party, period, amount_fen FROM fund_transfers \
             WHERE kind = $1 AND insutype = $2 AND year = $3 ORDER BY period, party",
        )
        .bind(kind.code())
        .bind(insutype)
        .bind(i64::from(year))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// Credits less debits of `account`'s sub-account `sub` over every entry (what the funds
    /// still owe an institution, on the payable).
    pub async fn owed(&self, account: &str, sub: &str) -> Result<Fen> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(credit_fen) - SUM(debit_fen), 0) AS BIGINT) \
             FROM journal_postings WHERE account = $1 AND sub = $2",
        )
        .bind(account)
        .bind(sub)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    /// Persons enrolled in `insutype` for `year` (the 大病 premium is per insured person).
    pub async fn enrolled_count(&self, insutype: &str, year: u16) -> Result<u64> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) FROM enrolments WHERE insutype = $1 AND year = $2")
                .bind(insutype)
                .bind(i64::from(year))
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Net debits to `account` (all sub-accounts) of `insutype`'s entries of `kinds` booked
    /// from `from` to `to`.
    pub async fn account_net(
        &self,
        insutype: &str,
        account: &str,
        kinds: &[EntryKind],
        from: Date,
        to: Date,
    ) -> Result<Fen> {
        let mut total = 0;
        for kind in kinds {
            let r = sqlx::query(
                "SELECT CAST(COALESCE(SUM(p.debit_fen) - SUM(p.credit_fen), 0) AS BIGINT) \
                 FROM journal_entries e JOIN journal_postings p ON p.reference = e.reference \
                 WHERE e.insutype = $1 AND p.account = $2 AND e.kind = $3 \
                 AND e.on_date >= $4 AND e.on_date <= $5",
            )
            .bind(insutype)
            .bind(account)
            .bind(kind.code())
            .bind(date_value(from))
            .bind(date_value(to))
            .fetch_one(&self.pool)
            .await?;
            total += r.try_get::<i64, _>(0)?;
        }
        Ok(total)
    }

    /// The settlements of `insutype` whose visit ended in `year`-`month`, as the payment
    /// calculators read them (amounts from the answer stored with each; reversed ones marked).
    pub async fn settled_visits(
        &self,
        insutype: &str,
        year: u16,
        month: u32,
    ) -> Result<Vec<SettledVisit>> {
        let from = i64::from(year) * 10_000 + i64::from(month) * 100;
        let rows = sqlx::query(
            "SELECT s.setl_id, s.fixmedins_code, v.med_type, v.dise_codg, v.begndate, \
             v.enddate, s.output, CASE WHEN r.setl_id IS NULL THEN 0 ELSE 1 END \
             FROM settlements s JOIN visits v ON v.mdtrt_id = s.mdtrt_id \
             LEFT JOIN settlement_reversals r ON r.setl_id = s.setl_id \
             WHERE s.insutype = $1 AND v.enddate > $2 AND v.enddate < $3 ORDER BY s.setl_id",
        )
        .bind(insutype)
        .bind(from)
        .bind(from + 100)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let setl_id: String = r.try_get(0)?;
            let begndate = crate::date_of(r, 4)?;
            let enddate = crate::date_of(r, 5)?;
            let output: String = r.try_get(6)?;
            let amounts = stored_amounts(&setl_id, &output)?;
            out.push(SettledVisit {
                fixmedins_code: r.try_get(1)?,
                med_type: r.try_get(2)?,
                dise_codg: r.try_get(3)?,
                begndate,
                enddate,
                bed_days: u32::try_from((enddate.day_number() - begndate.day_number()).max(1))
                    .unwrap_or(1),
                amounts,
                reversed: r.try_get::<i64, _>(7)? != 0,
                setl_id,
            });
        }
        Ok(out)
    }
}

/// The amounts of a stored answer's `setlinfo` (what the institution was told).
fn stored_amounts(setl_id: &str, output: &str) -> Result<Amounts> {
    let fault = |what: &str| crate::StoreError::Fault(format!("结算 {setl_id} 的应答{what}"));
    let v: serde_json::Value = serde_json::from_str(output).map_err(|_| fault("不是 JSON"))?;
    let info = &v["setlinfo"];
    let fen = |field: &str| -> Result<Fen> {
        match info[field].as_str() {
            None => Ok(0),
            Some(t) => yibao_core::money::parse_yuan(t)
                .map_err(|_| fault(&format!("字段 {field}={t:?} 不是金额"))),
        }
    };
    Ok(Amounts {
        medfee_sumamt: fen("medfee_sumamt")?,
        fulamt_ownpay_amt: fen("fulamt_ownpay_amt")?,
        overlmt_selfpay: fen("overlmt_selfpay")?,
        preselfpay_amt: fen("preselfpay_amt")?,
        inscp_scp_amt: fen("inscp_scp_amt")?,
        act_pay_dedc: fen("act_pay_dedc")?,
        hifp_pay: fen("hifp_pay")?,
        hifmi_pay: fen("hifmi_pay")?,
        cvlserv_pay: fen("cvlserv_pay")?,
        hifob_pay: fen("hifob_pay")?,
        maf_pay: fen("maf_pay")?,
        oth_pay: fen("oth_pay")?,
        hosp_part_amt: fen("hosp_part_amt")?,
        fund_pay_sumamt: fen("fund_pay_sumamt")?,
        psn_part_amt: fen("psn_part_amt")?,
        acct_pay: fen("acct_pay")?,
        acct_mulaid_pay: fen("acct_mulaid_pay")?,
        psn_cash_pay: fen("psn_cash_pay")?,
    })
}
