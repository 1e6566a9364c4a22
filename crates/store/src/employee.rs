//! 城镇职工 in the register: employer units, employments, declared bases, unit payments and
//! deferral agreements. Dues, arrears, late fees and suspensions are computed by the core's
//! contribution rules from these facts.

use crate::register::INSUTYPE_EMPLOYEE;
use crate::{date_of, date_value, now_text, refused, Operator, Result, Store};
use sqlx::Row;
use yibao_core::contribution::EmployeeRule;
use yibao_core::{Date, DateRange};

/// An employment (在职 or 退休) of a person at a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employment {
    pub psn_no: String,
    pub unit_no: String,
    pub valid: DateRange,
    pub retired: bool,
    /// Monthly pension (退休人员), fen.
    pub pension_fen: i64,
}

/// What the store knows about one unit's contributions for a year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitFacts {
    pub unit_no: String,
    pub name: String,
    /// `(psn_no, employment, declared monthly base in fen)` for the year.
    pub staff: Vec<(Employment, i64)>,
    /// `(paid_on, amount_fen)`, oldest first.
    pub payments: Vec<(Date, i64)>,
    /// Deferral agreements (缓缴协议).
    pub deferrals: Vec<DateRange>,
}

impl Store {
    /// Registers an employer unit.
    pub async fn add_employer(&self, op: &Operator, unit_no: &str, name: &str) -> Result<()> {
        if unit_no.trim().is_empty() || name.trim().is_empty() {
            return refused("单位编号和单位名称不能为空");
        }
        let exists = sqlx::query("SELECT 1 FROM employers WHERE unit_no = $1")
            .bind(unit_no)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_some() {
            return refused(format!("单位编号 {unit_no} 已登记"));
        }
        sqlx::query("INSERT INTO employers (unit_no, name, recorded_at) VALUES ($1, $2, $3)")
            .bind(unit_no)
            .bind(name)
            .bind(now_text())
            .execute(&self.pool)
            .await?;
        self.log(op, "登记参保单位", unit_no, name, "成功").await
    }

    async fn employer_exists(&self, unit_no: &str) -> Result<()> {
        let row = sqlx::query("SELECT 1 FROM employers WHERE unit_no = $1")
            .bind(unit_no)
            .fetch_optional(&self.pool)
            .await?;
        if row.is_none() {
            return refused(format!("单位编号 unit_no={unit_no:?} 不存在"));
        }
        Ok(())
    }

    /// Records an employment and enrols the person in 职工医保 for each year it touches.
    pub async fn employ(&self, op: &Operator, e: &Employment) -> Result<()> {
        if e.valid.from > e.valid.to {
            return refused(format!(
                "任职起始日期 {} 晚于终止日期 {}",
                e.valid.from, e.valid.to
            ));
        }
        if e.pension_fen < 0 {
            return refused(format!("养老金 pension={} 不能为负数", e.pension_fen));
        }
        self.employer_exists(&e.unit_no).await?;
        let mut tx = self.pool.begin().await?;
        let person = sqlx::query("SELECT 1 FROM persons WHERE psn_no = $1")
            .bind(&e.psn_no)
            .fetch_optional(&mut *tx)
            .await?;
        if person.is_none() {
            return refused(format!("人员编号 psn_no={:?} 不存在", e.psn_no));
        }
        sqlx::query(
            "INSERT INTO employments (psn_no, unit_no, valid_from, valid_to, retired, pension_fen, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&e.psn_no)
        .bind(&e.unit_no)
        .bind(date_value(e.valid.from))
        .bind(date_value(e.valid.to))
        .bind(i64::from(e.retired))
        .bind(e.pension_fen)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        for year in e.valid.from.year()..=e.valid.to.year().min(e.valid.from.year() + 100) {
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
                        return refused(format!(
                            "人员 {} 已在 {year} 年度参加险种 {insutype}，需先办理居民医保停保才能参加职工医保",
                            e.psn_no
                        ));
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
        tx.commit().await?;
        self.log(
            op,
            "职工参保登记",
            &e.psn_no,
            &format!(
                "单位 {} {}–{}{}",
                e.unit_no,
                e.valid.from,
                e.valid.to,
                if e.retired { " 退休" } else { "" }
            ),
            "成功",
        )
        .await
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
        if base_fen < 0 {
            return refused(format!("缴费基数 base={base_fen} 不能为负数"));
        }
        self.employer_exists(unit_no).await?;
        sqlx::query(
            "INSERT INTO contribution_bases (psn_no, unit_no, year, base_fen, recorded_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(psn_no)
        .bind(unit_no)
        .bind(i64::from(year))
        .bind(base_fen)
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        self.log(
            op,
            "申报缴费基数",
            psn_no,
            &format!("单位 {unit_no} {year} 年 {base_fen} 分/月"),
            "成功",
        )
        .await
    }

    /// Records a unit's payment (applied to its oldest dues first).
    pub async fn record_unit_payment(
        &self,
        op: &Operator,
        unit_no: &str,
        amount_fen: i64,
        paid_on: Date,
    ) -> Result<()> {
        if amount_fen <= 0 {
            return refused(format!("缴款金额 amount={amount_fen} 必须大于 0"));
        }
        self.employer_exists(unit_no).await?;
        sqlx::query(
            "INSERT INTO unit_payments (unit_no, amount_fen, paid_on, recorded_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(unit_no)
        .bind(amount_fen)
        .bind(date_value(paid_on))
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        self.log(
            op,
            "单位缴款",
            unit_no,
            &format!("{amount_fen} 分 {paid_on}"),
            "成功",
        )
        .await
    }

    /// Records a deferral agreement (缓缴协议).
    pub async fn add_deferral(
        &self,
        op: &Operator,
        agreement_no: &str,
        unit_no: &str,
        valid: DateRange,
    ) -> Result<()> {
        if valid.from > valid.to {
            return refused(format!(
                "缓缴协议起始日期 {} 晚于终止日期 {}",
                valid.from, valid.to
            ));
        }
        self.employer_exists(unit_no).await?;
        let exists = sqlx::query("SELECT 1 FROM deferrals WHERE agreement_no = $1")
            .bind(agreement_no)
            .fetch_optional(&self.pool)
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
        .execute(&self.pool)
        .await?;
        self.log(
            op,
            "签订缓缴协议",
            unit_no,
            &format!("{agreement_no} {}–{}", valid.from, valid.to),
            "成功",
        )
        .await
    }

    /// The facts of a unit for `year`.
    pub async fn unit_facts(&self, unit_no: &str, year: u16) -> Result<UnitFacts> {
        let mut conn = self.pool.acquire().await?;
        unit_facts(&mut conn, unit_no, year).await
    }
}

/// A unit's monthly dues for `year` (months due by `as_of`), and its arrears.
pub fn unit_arrears(
    rule: &EmployeeRule,
    facts: &UnitFacts,
    year: u16,
    as_of: Date,
) -> yibao_core::contribution::Arrears {
    let mut dues = Vec::new();
    for month in 1..=12 {
        let Some(first) = Date::from_ymd(u32::from(year), month, 1) else {
            continue;
        };
        if rule.due_date(first) > as_of {
            break;
        }
        let owed: i64 = facts
            .staff
            .iter()
            .filter(|(e, _)| !e.retired && e.valid.from <= first && e.valid.to >= first)
            .map(|(_, base)| {
                let due = rule.monthly_due(*base);
                due.unit + due.personal
            })
            .sum();
        dues.push((first, owed));
    }
    rule.arrears(&dues, &facts.payments, &facts.deferrals, as_of)
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
        "SELECT e.psn_no, e.valid_from, e.valid_to, e.retired, e.pension_fen, \
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
            },
            r.try_get(5)?,
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
