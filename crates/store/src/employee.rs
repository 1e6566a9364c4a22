//! 城镇职工 in the register: employer units, employments, declared bases, unit payments and
//! deferral agreements. What each must satisfy, and dues, arrears, late fees and
//! suspensions, are the core's rules (`yibao_core::employer`, `yibao_core::contribution`)
//! over these facts.

use crate::register::{rule, INSUTYPE_EMPLOYEE};
use crate::{append_log, date_of, date_value, now_text, refused, LogLine, Operator, Result, Store};
use sqlx::{AnyConnection, Row};
use yibao_core::employer::{self as rules, Employment, UnitFacts};
use yibao_core::{Date, DateRange};

impl Store {
    /// Registers an employer unit.
    pub async fn add_employer(&self, op: &Operator, unit_no: &str, name: &str) -> Result<()> {
        rule(rules::check_employer(unit_no, name))?;
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM employers WHERE unit_no = $1")
            .bind(unit_no)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return refused(format!("单位编号 {unit_no} 已登记"));
        }
        sqlx::query("INSERT INTO employers (unit_no, name, recorded_at) VALUES ($1, $2, $3)")
            .bind(unit_no)
            .bind(name)
            .bind(now_text())
            .execute(&mut *tx)
            .await?;
        append_log(&mut tx, op, &LogLine::done("登记参保单位", unit_no, name)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an employment and enrols the person in 职工医保 for each year it touches.
    pub async fn employ(&self, op: &Operator, e: &Employment) -> Result<()> {
        rule(rules::check_employment(e))?;
        let mut tx = self.pool.begin().await?;
        employer_exists(&mut tx, &e.unit_no).await?;
        let person = sqlx::query("SELECT 1 FROM persons WHERE psn_no = $1")
            .bind(&e.psn_no)
            .fetch_optional(&mut *tx)
            .await?;
        if person.is_none() {
            return refused(format!("人员编号 psn_no={:?} 不存在", e.psn_no));
        }
        sqlx::query(
            "INSERT INTO employments (psn_no, unit_no, valid_from, valid_to, retired, pension_fen, \
             civil_servant, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.psn_no)
        .bind(&e.unit_no)
        .bind(date_value(e.valid.from))
        .bind(date_value(e.valid.to))
        .bind(i64::from(e.retired))
        .bind(e.pension_fen)
        .bind(i64::from(e.civil_servant))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        for year in rules::employment_years(e) {
            let other = sqlx::query(
                "SELECT insutype, hh_no FROM enrolments WHERE psn_no = $1 AND year = $2",
            )
            .bind(&e.psn_no)
            .bind(i64::from(year))
            .fetch_optional(&mut *tx)
            .await?;
            match other {
                Some(r) => {
                    let insutype: String = r.try_get(0)?;
                    if insutype != INSUTYPE_EMPLOYEE {
                        return refused(rules::enrolled_elsewhere(&e.psn_no, year, &insutype));
                    }
                }
                None => {
                    crate::register::insert_enrolment(
                        &mut tx,
                        &e.psn_no,
                        INSUTYPE_EMPLOYEE,
                        year,
                        &e.unit_no,
                        "",
                    )
                    .await?;
                }
            }
        }
        let detail = format!(
            "单位 {} {}–{}{}",
            e.unit_no,
            e.valid.from,
            e.valid.to,
            if e.retired { " 退休" } else { "" }
        );
        let detail = if e.civil_servant {
            format!("{detail} 公务员")
        } else {
            detail
        };
        append_log(
            &mut tx,
            op,
            &LogLine::done("职工参保登记", &e.psn_no, &detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Declares an employee's monthly contribution base (缴费基数) for a year.
    pub async fn declare_base(
        &self,
        op: &Operator,
        psn_no: &str,
        unit_no: &str,
        year: u16,
        base_fen: i64,
    ) -> Result<()> {
        rule(rules::check_base(base_fen))?;
        let mut tx = self.pool.begin().await?;
        employer_exists(&mut tx, unit_no).await?;
        sqlx::query(
            "INSERT INTO contribution_bases (psn_no, unit_no, year, base_fen, recorded_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(psn_no)
        .bind(unit_no)
        .bind(i64::from(year))
        .bind(base_fen)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        let detail = format!("单位 {unit_no} {year} 年 {base_fen} 分/月");
        append_log(&mut tx, op, &LogLine::done("申报缴费基数", psn_no, &detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a unit's payment (applied to its oldest dues first), with its entry.
    pub async fn record_unit_payment(
        &self,
        op: &Operator,
        unit_no: &str,
        amount_fen: i64,
        paid_on: Date,
    ) -> Result<()> {
        rule(rules::check_unit_payment(amount_fen))?;
        let mut tx = self.pool.begin().await?;
        employer_exists(&mut tx, unit_no).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO unit_payments (unit_no, amount_fen, paid_on, recorded_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(unit_no)
        .bind(amount_fen)
        .bind(date_value(paid_on))
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        // The books: the whole remittance (the unit's share and the staff's withheld) as
        // income of the year it was paid in.
        let reference = yibao_core::books::EntryKind::Contribution.reference(&format!("unit-{id}"));
        crate::journal::post_contributions(
            &mut tx,
            &self.policies,
            &reference,
            crate::register::INSUTYPE_EMPLOYEE,
            paid_on.year(),
            paid_on,
            &[(UNIT_SOURCE, amount_fen)],
        )
        .await?;
        let detail = format!("{amount_fen} 分 {paid_on}");
        append_log(&mut tx, op, &LogLine::done("单位缴款", unit_no, &detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a deferral agreement (缓缴协议).
    pub async fn add_deferral(
        &self,
        op: &Operator,
        agreement_no: &str,
        unit_no: &str,
        valid: DateRange,
    ) -> Result<()> {
        rule(rules::check_deferral(valid))?;
        let mut tx = self.pool.begin().await?;
        employer_exists(&mut tx, unit_no).await?;
        let exists = sqlx::query("SELECT 1 FROM deferrals WHERE agreement_no = $1")
            .bind(agreement_no)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return refused(format!("缓缴协议号 {agreement_no} 已存在"));
        }
        sqlx::query(
            "INSERT INTO deferrals (agreement_no, unit_no, valid_from, valid_to, recorded_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(agreement_no)
        .bind(unit_no)
        .bind(date_value(valid.from))
        .bind(date_value(valid.to))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        let detail = format!("{agreement_no} {}–{}", valid.from, valid.to);
        append_log(
            &mut tx,
            op,
            &LogLine::done("签订缓缴协议", unit_no, &detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The facts of a unit for `year`.
    pub async fn unit_facts(&self, unit_no: &str, year: u16) -> Result<UnitFacts> {
        let mut conn = self.pool.acquire().await?;
        unit_facts(&mut conn, unit_no, year).await
    }
}

async fn employer_exists(conn: &mut AnyConnection, unit_no: &str) -> Result<()> {
    let row = sqlx::query("SELECT 1 FROM employers WHERE unit_no = $1")
        .bind(unit_no)
        .fetch_optional(&mut *conn)
        .await?;
    if row.is_none() {
        return refused(format!("单位编号 unit_no={unit_no:?} 不存在"));
    }
    Ok(())
}

pub(crate) async fn unit_facts(
    conn: &mut sqlx::AnyConnection,
    unit_no: &str,
    year: u16,
) -> Result<UnitFacts> {
    let Some(u) = sqlx::query("SELECT name FROM employers WHERE unit_no = $1")
        .bind(unit_no)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return refused(format!("单位编号 unit_no={unit_no:?} 不存在"));
    };
    let mut facts = UnitFacts {
        unit_no: unit_no.to_string(),
        name: u.try_get(0)?,
        ..Default::default()
    };
    let y = i64::from(year);
    let rows = sqlx::query(
        "SELECT e.psn_no, e.valid_from, e.valid_to, e.retired, e.pension_fen, e.civil_servant, \
         COALESCE((SELECT b.base_fen FROM contribution_bases b WHERE b.psn_no = e.psn_no \
         AND b.unit_no = e.unit_no AND b.year = $2 ORDER BY b.id DESC LIMIT 1), 0) \
         FROM employments e WHERE e.unit_no = $1 AND e.valid_from <= $3 AND e.valid_to >= $4 ORDER BY e.id",
    )
    .bind(unit_no)
    .bind(y)
    .bind(y * 10_000 + 1231)
    .bind(y * 10_000 + 101)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        facts.staff.push((
            Employment {
                psn_no: r.try_get(0)?,
                unit_no: unit_no.to_string(),
                valid: DateRange {
                    from: date_of(r, 1)?,
                    to: date_of(r, 2)?,
                },
                retired: r.try_get::<i64, _>(3)? != 0,
                pension_fen: r.try_get(4)?,
                civil_servant: r.try_get::<i64, _>(5)? != 0,
            },
            r.try_get(6)?,
        ));
    }
    for r in sqlx::query(
        "SELECT paid_on, amount_fen FROM unit_payments WHERE unit_no = $1 ORDER BY paid_on, id",
    )
    .bind(unit_no)
    .fetch_all(&mut *conn)
    .await?
    {
        facts.payments.push((date_of(&r, 0)?, r.try_get(1)?));
    }
    for r in sqlx::query(
        "SELECT valid_from, valid_to FROM deferrals WHERE unit_no = $1 ORDER BY valid_from",
    )
    .bind(unit_no)
    .fetch_all(&mut *conn)
    .await?
    {
        facts.deferrals.push(DateRange {
            from: date_of(&r, 0)?,
            to: date_of(&r, 1)?,
        });
    }
    Ok(facts)
}

/// The contribution source of a unit's remittance in the books (`[books.income]`).
pub const UNIT_SOURCE: &str = "unit";
