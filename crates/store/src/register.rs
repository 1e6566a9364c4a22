//! The register (参保登记): persons, households, categories, registrations (备案), enrolment,
//! contributions, locks, and the employee side (units, bases, payments, deferrals).
//! Every change is an insert; every operator action goes to the operation log.

use crate::{date_of, date_value, now_text, refused, Operator, Result, Store};
use sqlx::{AnyConnection, Row};
use yibao_core::refdata::validate_certno;
use yibao_core::{Date, DateRange};

/// 险种 of resident basic medical insurance (城乡居民).
pub const INSUTYPE_RESIDENT: &str = "390";
/// 险种 of employee basic medical insurance (城镇职工).
pub const INSUTYPE_EMPLOYEE: &str = "310";

/// A person to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPerson {
    pub certno: String,
    pub name: String,
    /// `1` male, `2` female.
    pub gend: String,
    pub brdy: Date,
}

/// Checks a person's ID against his sex and birth date (GB 11643).
pub fn check_person(p: &NewPerson) -> Result<()> {
    let (brdy, sex) = validate_certno(&p.certno)
        .map_err(|e| crate::StoreError::Refused(format!("证件号码 {}：{e}", p.certno)))?;
    if brdy != p.brdy {
        return refused(format!(
            "证件号码 {} 中的出生日期 {brdy} 与出生日期 {} 不一致",
            p.certno, p.brdy
        ));
    }
    if sex != p.gend {
        return refused(format!(
            "证件号码 {} 的性别位（{}）与性别 {} 不一致",
            p.certno,
            if sex == "1" { "男" } else { "女" },
            p.gend
        ));
    }
    if p.name.trim().is_empty() {
        return refused("姓名不能为空");
    }
    Ok(())
}

/// The `psn_no` of the person with this ID, if registered.
pub(crate) async fn psn_no_of(conn: &mut AnyConnection, certno: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT psn_no FROM persons WHERE certno = $1")
        .bind(certno)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// The next free person number (`P` + 11 digits).
pub(crate) async fn next_psn_seq(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM persons")
        .fetch_one(&mut *conn)
        .await?;
    let n: i64 = row.try_get(0)?;
    Ok(n + 1)
}

pub(crate) fn psn_no_for(seq: i64) -> String {
    format!("P{seq:011}")
}

/// A 门诊慢特病 or 异地就医 registration's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationKind {
    /// 门诊慢特病
    Chronic,
    /// 异地就医备案
    Offsite,
}

impl RegistrationKind {
    pub fn code(self) -> &'static str {
        match self {
            RegistrationKind::Chronic => "chronic",
            RegistrationKind::Offsite => "offsite",
        }
    }
}

/// Where a registration stands (申请 → 审核通过 / 驳回 → 到期 / 终止).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    Applied,
    Approved,
    Rejected,
    Terminated,
    Expired,
}

impl RegistrationState {
    fn code(self) -> &'static str {
        match self {
            RegistrationState::Applied => "applied",
            RegistrationState::Approved => "approved",
            RegistrationState::Rejected => "rejected",
            RegistrationState::Terminated => "terminated",
            RegistrationState::Expired => "expired",
        }
    }

    fn from_code(c: &str) -> Option<RegistrationState> {
        Some(match c {
            "applied" => RegistrationState::Applied,
            "approved" => RegistrationState::Approved,
            "rejected" => RegistrationState::Rejected,
            "terminated" => RegistrationState::Terminated,
            "expired" => RegistrationState::Expired,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            RegistrationState::Applied => "申请",
            RegistrationState::Approved => "审核通过",
            RegistrationState::Rejected => "驳回",
            RegistrationState::Terminated => "终止",
            RegistrationState::Expired => "到期",
        }
    }
}

/// A registration as it stands on a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub reg_no: String,
    pub psn_no: String,
    pub kind: RegistrationKind,
    pub dise_codg: String,
    pub valid: DateRange,
    /// The last recorded decision, or 到期 when approved and past `valid.to`.
    pub state: RegistrationState,
    /// The day it was terminated (终止), if it was.
    pub terminated_on: Option<Date>,
}

impl Registration {
    /// The dates it gives benefits: approved, inside its validity, before any termination.
    pub fn effective(&self) -> Option<DateRange> {
        let approved = matches!(
            self.state,
            RegistrationState::Approved
                | RegistrationState::Expired
                | RegistrationState::Terminated
        );
        if !approved {
            return None;
        }
        let to = match self.terminated_on {
            Some(t) => t.add_days(-1)?.min(self.valid.to),
            None => self.valid.to,
        };
        (self.valid.from <= to).then_some(DateRange {
            from: self.valid.from,
            to,
        })
    }
}

fn check_range(what: &str, r: DateRange) -> Result<()> {
    if r.from > r.to {
        return refused(format!("{what}的起始日期 {} 晚于终止日期 {}", r.from, r.to));
    }
    Ok(())
}

impl Store {
    async fn person_exists(&self, conn: &mut AnyConnection, psn_no: &str) -> Result<()> {
        let row = sqlx::query("SELECT 1 FROM persons WHERE psn_no = $1")
            .bind(psn_no)
            .fetch_optional(&mut *conn)
            .await?;
        if row.is_none() {
            return refused(format!("人员编号 psn_no={psn_no:?} 不存在"));
        }
        Ok(())
    }

    /// The `psn_no` given to an ID number, if registered.
    pub async fn psn_no_by_certno(&self, certno: &str) -> Result<Option<String>> {
        let mut conn = self.pool.acquire().await?;
        psn_no_of(&mut conn, &certno.trim().to_uppercase()).await
    }

    /// Registers a person (or returns the `psn_no` already given to this ID).
    pub async fn register_person(&self, op: &Operator, p: &NewPerson) -> Result<String> {
        check_person(p)?;
        let mut tx = self.pool.begin().await?;
        if let Some(existing) = psn_no_of(&mut tx, &p.certno).await? {
            return Ok(existing);
        }
        let psn_no = psn_no_for(next_psn_seq(&mut tx).await?);
        sqlx::query(
            "INSERT INTO persons (psn_no, certno, name, gend, brdy, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&psn_no)
        .bind(&p.certno)
        .bind(&p.name)
        .bind(&p.gend)
        .bind(date_value(p.brdy))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.log(op, "登记人员", &psn_no, "", "成功").await?;
        Ok(psn_no)
    }

    /// Enrols a person in a scheme for a year, in a household (户) with a relation to its head.
    pub async fn enrol(
        &self,
        op: &Operator,
        psn_no: &str,
        insutype: &str,
        year: u16,
        hh_no: &str,
        relation: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        let dup = sqlx::query("SELECT hh_no FROM enrolments WHERE psn_no = $1 AND year = $2")
            .bind(psn_no)
            .bind(i64::from(year))
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = dup {
            let other: String = r.try_get(0)?;
            return refused(format!(
                "人员 {psn_no} 已在 {year} 年度参保（户号 {other}），不能重复参保"
            ));
        }
        insert_enrolment(&mut tx, psn_no, insutype, year, hh_no, relation).await?;
        tx.commit().await?;
        self.log(
            op,
            "参保登记",
            psn_no,
            &format!("{insutype} {year} 户号 {hh_no}"),
            "成功",
        )
        .await
    }

    /// Records a payment or subsidy toward a year's contribution.
    pub async fn record_contribution(&self, op: &Operator, c: &Contribution) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, &c.psn_no).await?;
        insert_contribution(&mut tx, c).await?;
        tx.commit().await?;
        self.log(
            op,
            "记录缴费",
            &c.psn_no,
            &format!("{} {} {} 分 {}", c.year, c.source, c.amount_fen, c.paid_on),
            "成功",
        )
        .await
    }

    /// Grants a category (pk/db/tk …) for a date range, as a list from civil affairs arrives.
    pub async fn grant_category(
        &self,
        op: &Operator,
        psn_no: &str,
        code: &str,
        range: DateRange,
        source: &str,
    ) -> Result<()> {
        check_range("人员类别有效期", range)?;
        if code.trim().is_empty() {
            return refused("人员类别代码不能为空");
        }
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        insert_category(&mut tx, psn_no, code, range, None, source).await?;
        tx.commit().await?;
        self.log(
            op,
            "认定人员类别",
            psn_no,
            &format!("{code} {}–{}", range.from, range.to),
            "成功",
        )
        .await
    }

    /// Ends a category on `last_day` (e.g. someone leaves the 低保 list mid-year): every
    /// current span of that code reaching past `last_day` is superseded by one ending then.
    pub async fn end_category(
        &self,
        op: &Operator,
        psn_no: &str,
        code: &str,
        last_day: Date,
        source: &str,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        let spans = current_categories(&mut tx, psn_no).await?;
        let mut ended = 0;
        for (id, c, r) in spans
            .into_iter()
            .filter(|(_, c, r)| c == code && r.to > last_day)
        {
            // A span that had not started yet by then disappears (an empty span).
            let to = last_day.max(r.from.add_days(-1).unwrap_or(r.from));
            let new = DateRange { from: r.from, to };
            insert_category(&mut tx, psn_no, &c, new, Some(id), source).await?;
            ended += 1;
        }
        tx.commit().await?;
        self.log(
            op,
            "终止人员类别",
            psn_no,
            &format!("{code} 止于 {last_day}"),
            "成功",
        )
        .await?;
        Ok(ended)
    }

    /// Files a registration (申请); returns its number.
    pub async fn apply_registration(
        &self,
        op: &Operator,
        psn_no: &str,
        kind: RegistrationKind,
        dise_codg: &str,
        valid: DateRange,
    ) -> Result<String> {
        check_range("备案有效期", valid)?;
        if kind == RegistrationKind::Chronic && dise_codg.trim().is_empty() {
            return refused("门诊慢特病备案必须填写病种编码 dise_codg");
        }
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM registrations")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let reg_no = format!("R{:011}", n + 1);
        sqlx::query(
            "INSERT INTO registrations (reg_no, psn_no, kind, dise_codg, valid_from, valid_to, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&reg_no)
        .bind(psn_no)
        .bind(kind.code())
        .bind(dise_codg.trim())
        .bind(date_value(valid.from))
        .bind(date_value(valid.to))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            &reg_no,
            RegistrationState::Applied,
            valid.from,
            op,
            "",
        )
        .await?;
        tx.commit().await?;
        self.log(
            op,
            "备案申请",
            psn_no,
            &format!("{reg_no} {} {dise_codg}", kind.code()),
            "成功",
        )
        .await?;
        Ok(reg_no)
    }

    /// 审核通过 or 驳回 an application.
    pub async fn decide_registration(
        &self,
        op: &Operator,
        reg_no: &str,
        approve: bool,
        on: Date,
        note: &str,
    ) -> Result<()> {
        let to = if approve {
            RegistrationState::Approved
        } else {
            RegistrationState::Rejected
        };
        self.transition(op, reg_no, &[RegistrationState::Applied], to, on, note)
            .await
    }

    /// 终止 an approved registration from `effective` on.
    pub async fn terminate_registration(
        &self,
        op: &Operator,
        reg_no: &str,
        effective: Date,
        note: &str,
    ) -> Result<()> {
        self.transition(
            op,
            reg_no,
            &[RegistrationState::Approved],
            RegistrationState::Terminated,
            effective,
            note,
        )
        .await
    }

    async fn transition(
        &self,
        op: &Operator,
        reg_no: &str,
        from: &[RegistrationState],
        to: RegistrationState,
        on: Date,
        note: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let Some(reg) = registration(&mut tx, reg_no, on).await? else {
            return refused(format!("备案号 reg_no={reg_no:?} 不存在"));
        };
        if !from.contains(&reg.state) {
            let result = format!(
                "备案 {reg_no} 当前状态为「{}」，不能{}",
                reg.state.name(),
                to.name()
            );
            drop(tx);
            self.log(op, "备案状态变更", reg_no, to.name(), &result)
                .await?;
            return refused(result);
        }
        insert_event(&mut tx, reg_no, to, on, op, note).await?;
        tx.commit().await?;
        self.log(
            op,
            "备案状态变更",
            reg_no,
            &format!("{} {on}", to.name()),
            "成功",
        )
        .await
    }

    /// A registration as it stands on `on`.
    pub async fn registration(&self, reg_no: &str, on: Date) -> Result<Option<Registration>> {
        let mut conn = self.pool.acquire().await?;
        registration(&mut conn, reg_no, on).await
    }

    /// 锁定 a person from `from` (an enrolee under investigation).
    pub async fn lock_person(
        &self,
        op: &Operator,
        psn_no: &str,
        from: Date,
        reason: &str,
    ) -> Result<()> {
        if reason.trim().is_empty() {
            return refused("锁定必须填写原因");
        }
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        insert_lock(
            &mut tx,
            psn_no,
            DateRange {
                from,
                to: far_future(),
            },
            reason,
            None,
        )
        .await?;
        tx.commit().await?;
        self.log(op, "锁定人员", psn_no, reason, "成功").await
    }

    /// Lifts every current lock of a person from `on` (the lock ends the day before).
    pub async fn unlock_person(&self, op: &Operator, psn_no: &str, on: Date) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        let mut n = 0;
        for (id, range, reason) in current_locks(&mut tx, psn_no).await? {
            if range.to >= on {
                let to = on
                    .add_days(-1)
                    .unwrap_or(on)
                    .max(range.from.add_days(-1).unwrap_or(range.from));
                insert_lock(
                    &mut tx,
                    psn_no,
                    DateRange {
                        from: range.from,
                        to,
                    },
                    &reason,
                    Some(id),
                )
                .await?;
                n += 1;
            }
        }
        tx.commit().await?;
        self.log(op, "解除锁定", psn_no, &on.to_string(), "成功")
            .await?;
        Ok(n)
    }
}

/// A payment or subsidy (source: `personal`, `assistance` 医疗救助代缴, `central`,
/// `provincial`, `city`, `county`, `fiscal`, `unit` …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub psn_no: String,
    pub insutype: String,
    pub year: u16,
    pub source: String,
    pub amount_fen: i64,
    pub paid_on: Date,
}

/// The last day any open-ended range runs to.
pub fn far_future() -> Date {
    Date::from_ymd(2199, 12, 31).expect("a real date")
}

pub(crate) async fn insert_enrolment(
    conn: &mut AnyConnection,
    psn_no: &str,
    insutype: &str,
    year: u16,
    hh_no: &str,
    relation: &str,
) -> Result<()> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO enrolments (psn_no, insutype, year, hh_no, school, recorded_at) \
         VALUES ($1, $2, $3, $4, '', $5)",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(i64::from(year))
    .bind(hh_no)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    // Employees are enrolled through their unit, not a household.
    if insutype == INSUTYPE_EMPLOYEE {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO household_members (hh_no, psn_no, relation, year, recorded_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hh_no)
    .bind(psn_no)
    .bind(relation)
    .bind(i64::from(year))
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_contribution(conn: &mut AnyConnection, c: &Contribution) -> Result<()> {
    sqlx::query(
        "INSERT INTO contributions (psn_no, insutype, year, source, amount_fen, paid_on, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.psn_no)
    .bind(&c.insutype)
    .bind(i64::from(c.year))
    .bind(&c.source)
    .bind(c.amount_fen)
    .bind(date_value(c.paid_on))
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_category(
    conn: &mut AnyConnection,
    psn_no: &str,
    code: &str,
    range: DateRange,
    supersedes: Option<i64>,
    source: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO person_categories (psn_no, code, valid_from, valid_to, supersedes, source, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(psn_no)
    .bind(code)
    .bind(date_value(range.from))
    .bind(date_value(range.to))
    .bind(supersedes)
    .bind(source)
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Current (not superseded, not empty) category spans: `(id, code, range)`.
pub(crate) async fn current_categories(
    conn: &mut AnyConnection,
    psn_no: &str,
) -> Result<Vec<(i64, String, DateRange)>> {
    current_spans(conn, "person_categories", "code", psn_no).await
}

/// Current (not superseded, not empty) dated rows of `table` for a person:
/// `(id, label_column, range)`. `table` and `label` are this crate's own names.
async fn current_spans(
    conn: &mut AnyConnection,
    table: &'static str,
    label: &'static str,
    psn_no: &str,
) -> Result<Vec<(i64, String, DateRange)>> {
    let rows = sqlx::query(&format!(
        "SELECT id, {label}, valid_from, valid_to FROM {table} c WHERE psn_no = $1 \
         AND NOT EXISTS (SELECT 1 FROM {table} s WHERE s.supersedes = c.id) ORDER BY id"
    ))
    .bind(psn_no)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let range = DateRange {
            from: date_of(r, 2)?,
            to: date_of(r, 3)?,
        };
        if range.from <= range.to {
            out.push((r.try_get(0)?, r.try_get(1)?, range));
        }
    }
    Ok(out)
}

async fn insert_event(
    conn: &mut AnyConnection,
    reg_no: &str,
    state: RegistrationState,
    effective: Date,
    op: &Operator,
    note: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registration_events (reg_no, state, effective, operator, note, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(reg_no)
    .bind(state.code())
    .bind(date_value(effective))
    .bind(&op.0)
    .bind(note)
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn registration(
    conn: &mut AnyConnection,
    reg_no: &str,
    on: Date,
) -> Result<Option<Registration>> {
    let rows = sqlx::query(&registrations_sql("r.reg_no = $1"))
        .bind(reg_no)
        .fetch_all(&mut *conn)
        .await?;
    Ok(fold_registrations(&rows, on)?.into_iter().next())
}

/// Registrations joined with their events (one query), by person, registration, event.
fn registrations_sql(condition: &str) -> String {
    format!(
        "SELECT r.reg_no, r.psn_no, r.kind, r.dise_codg, r.valid_from, r.valid_to, \
         COALESCE(e.state, ''), COALESCE(e.effective, 0) \
         FROM registrations r LEFT JOIN registration_events e ON e.reg_no = r.reg_no \
         WHERE {condition} ORDER BY r.psn_no, r.reg_no, e.id"
    )
}

/// One registration row joined with one of its events (none when it has no events).
pub(crate) struct RegistrationRow {
    pub(crate) reg_no: String,
    pub(crate) psn_no: String,
    pub(crate) kind: String,
    pub(crate) dise_codg: String,
    pub(crate) valid_from: i64,
    pub(crate) valid_to: i64,
    /// The event's state code and effective date.
    pub(crate) event: Option<(String, i64)>,
}

/// Folds one joined row into `out` (rows come by registration, events in order).
pub(crate) fn fold_registration_row(out: &mut Vec<Registration>, r: RegistrationRow) -> Result<()> {
    if out.last().is_none_or(|last| last.reg_no != r.reg_no) {
        out.push(Registration {
            reg_no: r.reg_no,
            psn_no: r.psn_no,
            kind: match r.kind.as_str() {
                "chronic" => RegistrationKind::Chronic,
                _ => RegistrationKind::Offsite,
            },
            dise_codg: r.dise_codg,
            valid: DateRange {
                from: crate::date_from_value(r.valid_from)?,
                to: crate::date_from_value(r.valid_to)?,
            },
            state: RegistrationState::Applied,
            terminated_on: None,
        });
    }
    let (Some(reg), Some((code, effective))) = (out.last_mut(), r.event) else {
        return Ok(());
    };
    reg.state = RegistrationState::from_code(&code).unwrap_or(reg.state);
    if reg.state == RegistrationState::Terminated {
        reg.terminated_on = Some(crate::date_from_value(effective)?);
    }
    Ok(())
}

/// An approved registration whose validity ended before `on` is 已到期 on `on`.
pub(crate) fn settle_registration_states(regs: &mut [Registration], on: Date) {
    for reg in regs {
        if reg.state == RegistrationState::Approved && on > reg.valid.to {
            reg.state = RegistrationState::Expired;
        }
    }
}

/// Each registration with its state on `on`, folded from its events in order.
fn fold_registrations(rows: &[sqlx::any::AnyRow], on: Date) -> Result<Vec<Registration>> {
    let mut out: Vec<Registration> = Vec::new();
    for r in rows {
        let state: String = r.try_get(6)?;
        fold_registration_row(
            &mut out,
            RegistrationRow {
                reg_no: r.try_get(0)?,
                psn_no: r.try_get(1)?,
                kind: r.try_get(2)?,
                dise_codg: r.try_get(3)?,
                valid_from: r.try_get(4)?,
                valid_to: r.try_get(5)?,
                event: (!state.is_empty())
                    .then(|| r.try_get(7))
                    .transpose()?
                    .map(|d| (state, d)),
            },
        )?;
    }
    settle_registration_states(&mut out, on);
    Ok(out)
}

async fn insert_lock(
    conn: &mut AnyConnection,
    psn_no: &str,
    range: DateRange,
    reason: &str,
    supersedes: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO locks (psn_no, valid_from, valid_to, reason, supersedes, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(psn_no)
    .bind(date_value(range.from))
    .bind(date_value(range.to))
    .bind(reason)
    .bind(supersedes)
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Current locks: `(id, range, reason)`.
pub(crate) async fn current_locks(
    conn: &mut AnyConnection,
    psn_no: &str,
) -> Result<Vec<(i64, DateRange, String)>> {
    let spans = current_spans(conn, "locks", "reason", psn_no).await?;
    Ok(spans
        .into_iter()
        .map(|(id, reason, range)| (id, range, reason))
        .collect())
}
