//! 职工医保个人账户 as an append-only ledger (`account_movements`): the balance on a date is the
//! sum of the movements dated up to it. The gateway appends payments and restorations in the
//! settlement's own transaction (`GatewayTx::account_movement`); reference data and the
//! register append only what adds money (opening balance, 划入, interest).

use crate::register::INSUTYPE_EMPLOYEE;
use crate::{append_log, date_of, date_value, now_text, refused, LogLine, Operator, Result, Store};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use yibao_core::{Date, Fen};

/// 期初余额 (1 January, from reference data).
pub const OPENING: &str = "opening";
/// 划入 (monthly credit from contributions).
pub const CREDIT: &str = "credit";
/// 利息.
pub const INTEREST: &str = "interest";
/// 支付 at a settlement (negative).
pub const PAYMENT: &str = "payment";
/// 撤销退回 at a reversal (positive).
pub const RESTORATION: &str = "restoration";

/// A kind's Chinese name, for people.
pub fn kind_name(kind: &str) -> &'static str {
    match kind {
        OPENING => "期初余额",
        CREDIT => "划入",
        INTEREST => "利息",
        PAYMENT => "结算支付",
        RESTORATION => "撤销退回",
        _ => "其他",
    }
}

/// One movement of a personal account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountMovement {
    pub on_date: Date,
    pub kind: String,
    pub amount_fen: Fen,
    /// The settlement (`setl_id`) or the source it came from.
    pub reference: String,
}

/// A personal account on a date: its balance and its movements up to it, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub balance_fen: Fen,
    pub movements: Vec<AccountMovement>,
}

impl Store {
    /// The personal account of `psn_no` as of `on` (every movement dated up to it).
    pub async fn account(&self, psn_no: &str, on: Date) -> Result<Account> {
        let rows = sqlx::query(
            "SELECT on_date, kind, amount_fen, ref FROM account_movements \
             WHERE psn_no = $1 AND on_date <= $2 ORDER BY on_date, id",
        )
        .bind(psn_no)
        .bind(date_value(on))
        .fetch_all(&self.pool)
        .await?;
        let mut account = Account::default();
        for r in &rows {
            let m = AccountMovement {
                on_date: date_of(r, 0)?,
                kind: r.try_get(1)?,
                amount_fen: r.try_get(2)?,
                reference: r.try_get(3)?,
            };
            account.balance_fen += m.amount_fen;
            account.movements.push(m);
        }
        Ok(account)
    }
}

/// What a run of 划入 or interest recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreditReport {
    /// Persons credited now.
    pub persons: usize,
    /// Persons already credited for the same period (left as they were).
    pub already: usize,
    pub total_fen: Fen,
}

impl Store {
    /// 个人账户划入 for the month starting `month` of every unit's staff (the core's rule,
    /// `yibao_core::account::account_credits`, as the units' payments stand on `as_of`),
    /// dated `as_of`. A person credited for that unit and month before is left alone, so a
    /// rerun adds only what became due since (a unit that has paid meanwhile). One
    /// transaction with its operation-log line.
    pub async fn credit_accounts(
        &self,
        op: &Operator,
        month: Date,
        as_of: Date,
    ) -> Result<CreditReport> {
        let month = month.month_first();
        let year = month.year();
        let rule = self
            .policy(year, INSUTYPE_EMPLOYEE)
            .await?
            .and_then(|p| p.contribution.as_ref()?.employee.clone());
        let Some(rule) = rule else {
            return refused(format!(
                "没有 {year} 年度职工医保的缴费规则（政策的 [contribution.employee]）：请先 yibao policy load"
            ));
        };
        let mut tx = self.pool.begin().await?;
        let units: Vec<String> = sqlx::query("SELECT unit_no FROM employers ORDER BY unit_no")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let period = format!("{year}-{:02}", month.month());
        let mut report = CreditReport::default();
        for unit in &units {
            let facts = crate::employee::unit_facts(&mut tx, unit, year).await?;
            let births =
                births(&mut tx, facts.staff.iter().map(|(e, _)| e.psn_no.as_str())).await?;
            let credits = yibao_core::account::account_credits(
                &rule,
                &facts,
                |p| births.get(p).copied(),
                month,
                as_of,
            );
            let reference = format!("{unit} {period}");
            for (psn_no, amount) in credits {
                let m = (as_of, CREDIT, amount, reference.as_str());
                report.record_once(&mut tx, &psn_no, m).await?;
            }
        }
        crate::journal::post_account_movements(
            &mut tx,
            &self.policies,
            year,
            CREDIT,
            as_of,
            report.total_fen,
        )
        .await?;
        let detail = format!(
            "单位 {}，划入 {} 人，合计 {} 元；此前已划入 {} 人",
            units.len(),
            report.persons,
            yibao_core::format_fen(report.total_fen),
            report.already
        );
        append_log(
            &mut tx,
            op,
            &LogLine::done("个人账户划入", &period, &detail),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Interest for `year` on every personal account (the policy's `[account]
    /// interest_rate`, on the daily balances), dated 31 December. An account that has the
    /// year's interest already is left alone.
    pub async fn credit_interest(&self, op: &Operator, year: u16) -> Result<CreditReport> {
        let rate = self
            .policy(year, INSUTYPE_EMPLOYEE)
            .await?
            .and_then(|p| p.account.as_ref()?.interest_rate);
        let Some(rate) = rate else {
            return refused(format!(
                "{year} 年度职工医保政策没有个人账户利率（[account] interest_rate）"
            ));
        };
        let Some(dec31) = Date::from_ymd(u32::from(year), 12, 31) else {
            return refused(format!("年度 {year} 无效"));
        };
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT psn_no, on_date, amount_fen FROM account_movements ORDER BY psn_no, on_date, id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut by_person: Vec<(String, Vec<(Date, Fen)>)> = Vec::new();
        for r in &rows {
            let psn_no: String = r.try_get(0)?;
            let m = (date_of(r, 1)?, r.try_get(2)?);
            match by_person.last_mut() {
                Some((p, v)) if *p == psn_no => v.push(m),
                _ => by_person.push((psn_no, vec![m])),
            }
        }
        let reference = format!("{year} 年度");
        let mut report = CreditReport::default();
        for (psn_no, movements) in &by_person {
            let amount = yibao_core::account::interest(movements, year, rate);
            let m = (dec31, INTEREST, amount, reference.as_str());
            report.record_once(&mut tx, psn_no, m).await?;
        }
        crate::journal::post_account_movements(
            &mut tx,
            &self.policies,
            year,
            INTEREST,
            dec31,
            report.total_fen,
        )
        .await?;
        let detail = format!(
            "年利率 {rate}，计息 {} 人，合计 {} 元；此前已计息 {} 人",
            report.persons,
            yibao_core::format_fen(report.total_fen),
            report.already
        );
        append_log(
            &mut tx,
            op,
            &LogLine::done("个人账户计息", &reference, &detail),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// Birth dates of `persons`.
async fn births<'a>(
    conn: &mut AnyConnection,
    persons: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Date>> {
    let mut out = HashMap::new();
    for p in persons {
        if out.contains_key(p) {
            continue;
        }
        let row = sqlx::query("SELECT brdy FROM persons WHERE psn_no = $1")
            .bind(p)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(r) = row {
            out.insert(p.to_string(), date_of(&r, 0)?);
        }
    }
    Ok(out)
}

impl CreditReport {
    /// Records movement `(on, kind, amount, reference)` of `psn_no` unless one of that kind
    /// and reference is there already (counted as such); a zero amount records nothing.
    async fn record_once(
        &mut self,
        conn: &mut AnyConnection,
        psn_no: &str,
        (on, kind, amount, reference): (Date, &str, Fen, &str),
    ) -> Result<()> {
        if moved(conn, psn_no, kind, reference).await? {
            self.already += 1;
        } else if amount > 0 {
            insert(conn, psn_no, on, kind, amount, reference).await?;
            self.persons += 1;
            self.total_fen += amount;
        }
        Ok(())
    }
}

/// Whether `psn_no` has a movement of `kind` with `reference` already.
async fn moved(
    conn: &mut AnyConnection,
    psn_no: &str,
    kind: &str,
    reference: &str,
) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM account_movements WHERE psn_no = $1 AND kind = $2 AND ref = $3")
            .bind(psn_no)
            .bind(kind)
            .bind(reference)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

async fn insert(
    conn: &mut AnyConnection,
    psn_no: &str,
    on: Date,
    kind: &str,
    amount: Fen,
    reference: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO account_movements (psn_no, on_date, kind, amount_fen, ref, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(psn_no)
    .bind(date_value(on))
    .bind(kind)
    .bind(amount)
    .bind(reference)
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
