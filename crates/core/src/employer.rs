//! 城镇职工 in the register as pure functions over plain data: what an employer unit, an
//! employment, a declared base, a unit payment or a deferral agreement must satisfy, and a
//! unit's monthly dues and arrears from the facts a store holds about it.

use crate::contribution::{Arrears, EmployeeRule};
use crate::date::{Date, DateRange};
use crate::money::Fen;

/// An employment (在职 or 退休) of a person at a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employment {
    pub psn_no: String,
    pub unit_no: String,
    pub valid: DateRange,
    pub retired: bool,
    /// Monthly pension (退休人员), fen.
    pub pension_fen: i64,
    /// 公务员 (机关事业单位): covered by 公务员医疗补助.
    pub civil_servant: bool,
}

/// What the register knows about one unit's contributions for a year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitFacts {
    pub unit_no: String,
    pub name: String,
    /// `(employment, declared monthly base in fen)` for the year.
    pub staff: Vec<(Employment, i64)>,
    /// `(paid_on, amount_fen)`, oldest first.
    pub payments: Vec<(Date, i64)>,
    /// Deferral agreements (缓缴协议).
    pub deferrals: Vec<DateRange>,
}

/// Checks a unit to register.
pub fn check_employer(unit_no: &str, name: &str) -> Result<(), String> {
    if unit_no.trim().is_empty() || name.trim().is_empty() {
        return Err("单位编号和单位名称不能为空".into());
    }
    Ok(())
}

/// Checks an employment to record.
pub fn check_employment(e: &Employment) -> Result<(), String> {
    if e.valid.from > e.valid.to {
        return Err(format!(
            "任职起始日期 {} 晚于终止日期 {}",
            e.valid.from, e.valid.to
        ));
    }
    if e.pension_fen < 0 {
        return Err(format!("养老金 pension={} 不能为负数", e.pension_fen));
    }
    Ok(())
}

/// The years an employment enrols its person in 职工医保 (at most a century of them).
pub fn employment_years(e: &Employment) -> std::ops::RangeInclusive<u16> {
    e.valid.from.year()..=e.valid.to.year().min(e.valid.from.year() + 100)
}

/// Why a person enrolled for `year` in another scheme (`insutype`) cannot be employed then.
pub fn enrolled_elsewhere(psn_no: &str, year: u16, insutype: &str) -> String {
    format!(
        "人员 {psn_no} 已在 {year} 年度参加险种 {insutype}，需先办理居民医保停保才能参加职工医保"
    )
}

/// Checks a declared monthly base (缴费基数).
pub fn check_base(base_fen: Fen) -> Result<(), String> {
    if base_fen < 0 {
        return Err(format!("缴费基数 base={base_fen} 不能为负数"));
    }
    Ok(())
}

/// Checks a unit's payment.
pub fn check_unit_payment(amount_fen: Fen) -> Result<(), String> {
    if amount_fen <= 0 {
        return Err(format!("缴款金额 amount={amount_fen} 必须大于 0"));
    }
    Ok(())
}

/// Checks a deferral agreement's validity.
pub fn check_deferral(valid: DateRange) -> Result<(), String> {
    if valid.from > valid.to {
        return Err(format!(
            "缓缴协议起始日期 {} 晚于终止日期 {}",
            valid.from, valid.to
        ));
    }
    Ok(())
}

/// A unit's monthly dues for `year` (months due by `as_of`), and its arrears.
pub fn unit_arrears(rule: &EmployeeRule, facts: &UnitFacts, year: u16, as_of: Date) -> Arrears {
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
