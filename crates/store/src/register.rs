//! The register (参保登记): persons, households, categories, registrations (备案), enrolment,
//! contributions, locks, and the employee side (units, bases, payments, deferrals).
//! Every change is an insert; every operator action goes to the operation log.

use crate::{
    append_log, date_of, date_value, now_text, refused, LogLine, Operator, Result, Store,
    StoreError,
};
use sqlx::{AnyConnection, Row};
use yibao_core::enrolment as rules;
use yibao_core::{Date, DateRange};

pub use yibao_core::contribution::far_future;
pub use yibao_core::enrolment::{
    NewPerson, Registration, RegistrationKind, RegistrationState, INSUTYPE_EMPLOYEE,
    INSUTYPE_RESIDENT,
};

/// Checks a person's ID against his sex and birth date (GB 11643), and his name.
pub fn check_person(p: &NewPerson) -> Result<()> {
    rule(rules::check_person(p))
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

/// A core rule's refusal as the store's.
pub(crate) fn rule<T>(r: std::result::Result<T, String>) -> Result<T> {
    r.map_err(StoreError::Refused)
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
        append_log(&mut tx, op, &LogLine::done("登记人员", &psn_no, "")).await?;
        tx.commit().await?;
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
            return refused(rules::already_enrolled(psn_no, year, &other));
        }
        insert_enrolment(&mut tx, psn_no, insutype, year, hh_no, relation).await?;
        let detail = format!("{insutype} {year} 户号 {hh_no}");
        append_log(&mut tx, op, &LogLine::done("参保登记", psn_no, &detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a payment or subsidy toward a year's contribution.
    pub async fn record_contribution(&self, op: &Operator, c: &Contribution) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, &c.psn_no).await?;
        let id = insert_contribution(&mut tx, c).await?;
        let reference = yibao_core::books::EntryKind::Contribution.reference(&id.to_string());
        let amounts = [(c.source.as_str(), c.amount_fen)];
        crate::journal::post_contributions(
            &mut tx,
            &self.policies,
            &reference,
            &c.insutype,
            c.year,
            c.paid_on,
            &amounts,
        )
        .await?;
        let detail = format!("{} {} {} 分 {}", c.year, c.source, c.amount_fen, c.paid_on);
        append_log(&mut tx, op, &LogLine::done("记录缴费", &c.psn_no, &detail)).await?;
        tx.commit().await?;
        Ok(())
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
        rule(rules::check_category_grant(code, range))?;
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        insert_category(&mut tx, psn_no, code, range, None, source).await?;
        let detail = format!("{code} {}–{}", range.from, range.to);
        append_log(&mut tx, op, &LogLine::done("认定人员类别", psn_no, &detail)).await?;
        tx.commit().await?;
        Ok(())
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
        let mut ended = 0;
        for (id, c, r) in current_categories(&mut tx, psn_no).await? {
            let Some(new) = rules::ended_span(r, last_day).filter(|_| c == code) else {
                continue;
            };
            insert_category(&mut tx, psn_no, &c, new, Some(id), source).await?;
            ended += 1;
        }
        let detail = format!("{code} 止于 {last_day}");
        append_log(&mut tx, op, &LogLine::done("终止人员类别", psn_no, &detail)).await?;
        tx.commit().await?;
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
        rule(rules::check_application(kind, dise_codg, valid))?;
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        if kind == RegistrationKind::FamilyAid {
            family_holder(&mut tx, psn_no, dise_codg.trim(), valid).await?;
        }
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
        let detail = format!("{reg_no} {} {dise_codg}", kind.code());
        append_log(&mut tx, op, &LogLine::done("备案申请", psn_no, &detail)).await?;
        tx.commit().await?;
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

    /// A registration's next state, with its log line; a refused transition writes only
    /// its (refusal's) log line.
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
        const ACTION: &str = "备案状态变更";
        if let Some(result) = reg.refuse_transition(from, to) {
            append_log(
                &mut tx,
                op,
                &LogLine::new(ACTION, reg_no, to.name(), &result),
            )
            .await?;
            tx.commit().await?;
            return refused(result);
        }
        insert_event(&mut tx, reg_no, to, on, op, note).await?;
        let detail = format!("{} {on}", to.name());
        append_log(&mut tx, op, &LogLine::done(ACTION, reg_no, &detail)).await?;
        tx.commit().await?;
        Ok(())
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
        rule(rules::check_lock(reason))?;
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        insert_lock(&mut tx, psn_no, rules::lock_span(from), reason, None).await?;
        append_log(&mut tx, op, &LogLine::done("锁定人员", psn_no, reason)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts every current lock of a person from `on` (the lock ends the day before).
    pub async fn unlock_person(&self, op: &Operator, psn_no: &str, on: Date) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        self.person_exists(&mut tx, psn_no).await?;
        let mut n = 0;
        for (id, range, reason) in current_locks(&mut tx, psn_no).await? {
            if let Some(lifted) = rules::unlocked_span(range, on) {
                insert_lock(&mut tx, psn_no, lifted, &reason, Some(id)).await?;
                n += 1;
            }
        }
        let detail = on.to_string();
        append_log(&mut tx, op, &LogLine::done("解除锁定", psn_no, &detail)).await?;
        tx.commit().await?;
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

/// Inserts `c`, returning its id.
pub(crate) async fn insert_contribution(conn: &mut AnyConnection, c: &Contribution) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO contributions (psn_no, insutype, year, source, amount_fen, paid_on, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&c.psn_no)
    .bind(&c.insutype)
    .bind(i64::from(c.year))
    .bind(&c.source)
    .bind(c.amount_fen)
    .bind(date_value(c.paid_on))
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
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
            kind: RegistrationKind::from_code(&r.kind),
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
    reg.apply_event(&code, crate::date_from_value(effective)?);
    Ok(())
}

pub(crate) use yibao_core::enrolment::settle_registration_states;

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

/// 家庭共济: the holder is another person, insured as an employee (个人账户) in the
/// registration's first year.
async fn family_holder(
    conn: &mut sqlx::AnyConnection,
    psn_no: &str,
    holder: &str,
    valid: DateRange,
) -> Result<()> {
    if holder == psn_no {
        return refused(format!("家庭共济的账户持有人 holder={holder:?} 不能是本人"));
    }
    let row = sqlx::query("SELECT insutype FROM enrolments WHERE psn_no = $1 AND year = $2")
        .bind(holder)
        .bind(i64::from(valid.from.year()))
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) if r.try_get::<String, _>(0)? == INSUTYPE_EMPLOYEE => Ok(()),
        Some(_) | None => refused(format!(
            "家庭共济的账户持有人 holder={holder:?} 在 {} 年度不是职工医保参保人，没有个人账户",
            valid.from.year()
        )),
    }
}
