//! The register's rules (参保登记) as pure functions over plain data: whether a person may be
//! registered, what a change to a category, a lock or a registration (备案) makes of the
//! spans on record, where a registration stands, what a roster row conflicts with, and the
//! engine's person built from what the register holds. A store reads the rows, calls in
//! here and writes what comes back.

use crate::contribution::far_future;
use crate::date::{Date, DateRange};
use crate::refdata::{
    validate_certno, CategorySpan, ChronicRegistration, FamilyAid, Person, Suspension,
};

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

/// Checks a person's ID against his sex and birth date (GB 11643), and his name.
pub fn check_person(p: &NewPerson) -> Result<(), String> {
    let (brdy, sex) =
        validate_certno(&p.certno).map_err(|e| format!("证件号码 {}：{e}", p.certno))?;
    if brdy != p.brdy {
        return Err(format!(
            "证件号码 {} 中的出生日期 {brdy} 与出生日期 {} 不一致",
            p.certno, p.brdy
        ));
    }
    if sex != p.gend {
        return Err(format!(
            "证件号码 {} 的性别位（{}）与性别 {} 不一致",
            p.certno,
            if sex == "1" { "男" } else { "女" },
            p.gend
        ));
    }
    if p.name.trim().is_empty() {
        return Err("姓名不能为空".into());
    }
    Ok(())
}

/// Checks a person of a reference data directory: as [`check_person`], except that the
/// directory's IDs carry sequence 000 whatever the sex (see #2's note): the check digit
/// and the birth date still have to hold.
pub fn check_reference_person(p: &Person) -> Result<(), String> {
    let strict = check_person(&NewPerson {
        certno: p.certno.clone(),
        name: p.name.clone(),
        gend: p.gend.clone(),
        brdy: p.brdy,
    });
    strict.or_else(|e| match validate_certno(&p.certno) {
        Ok((brdy, _)) if brdy == p.brdy => Ok(()),
        _ => Err(format!("人员 {}：{e}", p.psn_no)),
    })
}

/// Refuses a range that ends before it starts (`what` names it).
pub fn check_range(what: &str, r: DateRange) -> Result<(), String> {
    if r.from > r.to {
        return Err(format!("{what}的起始日期 {} 晚于终止日期 {}", r.from, r.to));
    }
    Ok(())
}

/// Why a person already enrolled for `year` (in household `other_hh`) cannot enrol again.
pub fn already_enrolled(psn_no: &str, year: u16, other_hh: &str) -> String {
    format!("人员 {psn_no} 已在 {year} 年度参保（户号 {other_hh}），不能重复参保")
}

/// Checks a category grant.
pub fn check_category_grant(code: &str, range: DateRange) -> Result<(), String> {
    check_range("人员类别有效期", range)?;
    if code.trim().is_empty() {
        return Err("人员类别代码不能为空".into());
    }
    Ok(())
}

/// What ending a category on `last_day` makes of a current span of it: `None` when the
/// span ends by then anyway, else the span ending then (empty when it had not started).
pub fn ended_span(span: DateRange, last_day: Date) -> Option<DateRange> {
    if span.to <= last_day {
        return None;
    }
    // A span that had not started yet by then disappears (an empty span).
    let to = last_day.max(span.from.add_days(-1).unwrap_or(span.from));
    Some(DateRange {
        from: span.from,
        to,
    })
}

/// Checks a lock's reason.
pub fn check_lock(reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err("锁定必须填写原因".into());
    }
    Ok(())
}

/// A lock from `from` on: open-ended.
pub fn lock_span(from: Date) -> DateRange {
    DateRange {
        from,
        to: far_future(),
    }
}

/// What lifting a lock from `on` makes of a current lock span: `None` when it ended before,
/// else the span ending the day before (empty when it had not started).
pub fn unlocked_span(span: DateRange, on: Date) -> Option<DateRange> {
    if span.to < on {
        return None;
    }
    let to = on
        .add_days(-1)
        .unwrap_or(on)
        .max(span.from.add_days(-1).unwrap_or(span.from));
    Some(DateRange {
        from: span.from,
        to,
    })
}

/// A 门诊慢特病 or 异地就医 registration's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationKind {
    /// 门诊慢特病
    Chronic,
    /// 异地就医备案
    Offsite,
    /// 个人账户家庭共济备案: the person's visits may be paid from a family member's
    /// (the holder's, whose `psn_no` is the registration's `dise_codg`) personal account.
    FamilyAid,
}

impl RegistrationKind {
    pub fn code(self) -> &'static str {
        match self {
            RegistrationKind::Chronic => "chronic",
            RegistrationKind::Offsite => "offsite",
            RegistrationKind::FamilyAid => "family",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RegistrationKind::Chronic => "门诊慢特病",
            RegistrationKind::Offsite => "异地就医",
            RegistrationKind::FamilyAid => "个人账户家庭共济",
        }
    }

    /// The kind stored as `code` (anything else stored is 异地就医, the first kind there was).
    pub fn from_code(code: &str) -> RegistrationKind {
        match code {
            "chronic" => RegistrationKind::Chronic,
            "family" => RegistrationKind::FamilyAid,
            _ => RegistrationKind::Offsite,
        }
    }
}

/// Checks an application (申请) for a registration.
pub fn check_application(
    kind: RegistrationKind,
    dise_codg: &str,
    valid: DateRange,
) -> Result<(), String> {
    check_range("备案有效期", valid)?;
    if kind == RegistrationKind::Chronic && dise_codg.trim().is_empty() {
        return Err("门诊慢特病备案必须填写病种编码 dise_codg".into());
    }
    if kind == RegistrationKind::FamilyAid && dise_codg.trim().is_empty() {
        return Err("家庭共济备案必须填写账户持有人的人员编号 holder".into());
    }
    Ok(())
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
    pub fn code(self) -> &'static str {
        match self {
            RegistrationState::Applied => "applied",
            RegistrationState::Approved => "approved",
            RegistrationState::Rejected => "rejected",
            RegistrationState::Terminated => "terminated",
            RegistrationState::Expired => "expired",
        }
    }

    pub fn from_code(c: &str) -> Option<RegistrationState> {
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

    /// Applies one recorded event (in order): its state, and the day of a termination.
    pub fn apply_event(&mut self, state: &str, effective: Date) {
        self.state = RegistrationState::from_code(state).unwrap_or(self.state);
        if self.state == RegistrationState::Terminated {
            self.terminated_on = Some(effective);
        }
    }

    /// Why it cannot go to `to` when it may only from one of `from` (`None`: it may).
    pub fn refuse_transition(
        &self,
        from: &[RegistrationState],
        to: RegistrationState,
    ) -> Option<String> {
        (!from.contains(&self.state)).then(|| {
            format!(
                "备案 {} 当前状态为「{}」，不能{}",
                self.reg_no,
                self.state.name(),
                to.name()
            )
        })
    }
}

/// An approved registration whose validity ended before `on` is 已到期 on `on`.
pub fn settle_registration_states(regs: &mut [Registration], on: Date) {
    for reg in regs {
        if reg.state == RegistrationState::Approved && on > reg.valid.to {
            reg.state = RegistrationState::Expired;
        }
    }
}

/// A paid enrolment's year, with its suspensions (waiting period, a unit's arrears).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub suspensions: Vec<Suspension>,
}

/// The engine's person from what the register holds: `person`'s own fields, the paid
/// years (`covered`), current category spans, registrations (approved ones count) and
/// current locks `(reason, range)`.
pub fn assemble_person(
    mut person: Person,
    covered: Vec<(u16, Coverage)>,
    categories: Vec<(String, DateRange)>,
    registrations: &[Registration],
    locks: Vec<(String, DateRange)>,
) -> Person {
    for (year, cover) in covered {
        person.enrolments.push(year);
        person.suspensions.extend(cover.suspensions);
    }
    for (code, range) in categories {
        person.categories.push(CategorySpan { code, range });
    }
    for reg in registrations {
        let Some(range) = reg.effective() else {
            continue;
        };
        match reg.kind {
            RegistrationKind::Chronic => person.chronic.push(ChronicRegistration {
                dise_codg: reg.dise_codg.clone(),
                range,
            }),
            RegistrationKind::Offsite => person.offsite.push(range),
            RegistrationKind::FamilyAid => person.family_aid.push(FamilyAid {
                holder: reg.dise_codg.clone(),
                range,
            }),
        }
    }
    for (reason, range) in locks {
        person.suspensions.push(Suspension {
            range,
            reason: format!("人员已锁定：{reason}"),
        });
    }
    person
}

/// What the register already holds of a roster row's ID: the person's particulars and,
/// for the row's year, his enrolment's household and 险种.
#[derive(Clone, Debug)]
pub struct KnownPerson {
    pub name: String,
    pub gend: String,
    pub brdy: Date,
    pub enrolled: Option<(String, String)>,
}

/// A roster row's particulars (§4) that the register may contradict.
#[derive(Clone, Copy, Debug)]
pub struct RosterEntry<'a> {
    pub certno: &'a str,
    pub name: &'a str,
    pub gend: &'a str,
    pub brdy: Date,
    pub household: &'a str,
    pub year: u16,
}

/// Where a roster row contradicts the register: `(column, value, reason)`, in the order
/// 姓名, 性别, 出生日期, then an enrolment already held that year.
pub fn roster_conflicts(
    row: &RosterEntry<'_>,
    known: &KnownPerson,
) -> Vec<(&'static str, String, String)> {
    let mut mismatch = Vec::new();
    if known.name != row.name {
        mismatch.push((
            "姓名",
            row.name.to_string(),
            format!("已登记姓名为 {}", known.name),
        ));
    }
    if known.gend != row.gend {
        mismatch.push((
            "性别",
            row.gend.to_string(),
            "与已登记性别不一致".to_string(),
        ));
    }
    if known.brdy != row.brdy {
        mismatch.push((
            "出生日期",
            row.brdy.to_string(),
            "与已登记出生日期不一致".to_string(),
        ));
    }
    let mut out: Vec<_> = mismatch
        .into_iter()
        .map(|(col, val, why)| (col, val, format!("证件号码 {} {why}", row.certno)))
        .collect();
    if let Some((hh, insutype)) = &known.enrolled {
        let year = row.year;
        let why = if hh == row.household && insutype == INSUTYPE_RESIDENT {
            format!("已在 {year} 年度于本户参保（重复导入）")
        } else if insutype != INSUTYPE_RESIDENT {
            format!("已在 {year} 年度参加险种 {insutype}，不能重复参保")
        } else {
            format!("已在 {year} 年度于户号 {hh} 参保，不能在两户重复参保")
        };
        out.push(("证件号码", row.certno.to_string(), why));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn spans_end_and_locks_lift() {
        let span = DateRange {
            from: d("2024-03-01"),
            to: d("2024-12-31"),
        };
        assert_eq!(ended_span(span, d("2024-12-31")), None);
        assert_eq!(
            ended_span(span, d("2024-06-30")).unwrap().to,
            d("2024-06-30")
        );
        let gone = ended_span(span, d("2024-01-31")).unwrap();
        assert!(gone.from > gone.to, "a span not yet started becomes empty");
        let lock = lock_span(d("2024-05-01"));
        assert_eq!(
            unlocked_span(lock, d("2024-06-01")).unwrap().to,
            d("2024-05-31")
        );
        assert_eq!(unlocked_span(span, d("2025-01-01")), None);
    }

    #[test]
    fn roster_conflicts_name_each_difference() {
        let row = RosterEntry {
            certno: "X",
            name: "张三",
            gend: "1",
            brdy: d("1990-01-01"),
            household: "H1",
            year: 2024,
        };
        let mut known = KnownPerson {
            name: "张三".into(),
            gend: "1".into(),
            brdy: d("1990-01-01"),
            enrolled: None,
        };
        assert!(roster_conflicts(&row, &known).is_empty());
        known.name = "李四".into();
        known.enrolled = Some(("H1".into(), INSUTYPE_RESIDENT.into()));
        let c = roster_conflicts(&row, &known);
        assert_eq!(c[0].0, "姓名");
        assert_eq!(c[1].2, "已在 2024 年度于本户参保（重复导入）");
    }
}
