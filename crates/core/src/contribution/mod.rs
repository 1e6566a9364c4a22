//! 缴费 (contributions) as data and pure functions: what a resident owes and when a paid
//! enrolment gives benefits; what an employee and his unit owe a month, what goes to the
//! personal account, and how arrears accrue late fees (滞纳金) and suspend benefits unless a
//! deferral agreement (缓缴协议) is in force. The numbers are in the policy's
//! `[contribution]` section; the store supplies the facts (payments, bases, deferrals).

use crate::money::{apply_ratio, div_round_half_up, Fen, Ratio, PPM_ONE};
use crate::policy::Validator;
use crate::{Date, DateRange};
use serde::Deserialize;

mod employee;
mod resident;
#[cfg(test)]
mod tests;

pub use employee::*;
pub use resident::*;

// ---------------------------------------------------------------------------------------------
// Policy section
// ---------------------------------------------------------------------------------------------

/// `[contribution]`: either part may be absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributionPolicy {
    pub resident: Option<ResidentRule>,
    pub employee: Option<EmployeeRule>,
}

/// 城乡居民: a fixed personal share and fiscal subsidies per person and year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentRule {
    /// 个人缴费标准 per person and year.
    pub personal: Fen,
    /// 集中缴费期: paid in full within it, benefits run the whole year.
    pub window: DateRange,
    /// 待遇等待期 after a payment outside the window.
    pub waiting_days: i64,
    /// 财政补助 by source (中央、省级、市级、县级).
    pub subsidies: Vec<Subsidy>,
    /// 医疗救助代缴: the share of the personal contribution paid for a category.
    pub assistance: Vec<(String, Ratio)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subsidy {
    pub source: String,
    pub name: String,
    pub amount: Fen,
}

/// 城镇职工: rates of the monthly base, personal-account allocation, arrears.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmployeeRule {
    /// 缴费基数下限 / 上限 (monthly).
    pub base_floor: Fen,
    pub base_ceiling: Fen,
    /// 单位缴费比例, 个人缴费比例.
    pub unit_rate: Ratio,
    pub personal_rate: Ratio,
    /// A month's contribution is due on this day of the month (1–28).
    pub due_day: u32,
    /// 滞纳金 per day on the amount owed (万分之五 = 0.0005).
    pub late_fee_per_day: Ratio,
    /// Benefits stop this many days after the due date of an unpaid month.
    pub suspend_after_days: i64,
    /// 在职 allocation: the personal contribution plus a ratio of the base by age band.
    pub account_active: Vec<AgeBand>,
    /// 退休 allocation: a ratio of the monthly pension or a fixed monthly amount.
    pub account_retiree: RetireeAccount,
}

/// 退休人员个人账户划入.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetireeAccount {
    /// A ratio of the monthly pension (`account_retiree = "0.02"`).
    OfPension(Ratio),
    /// A fixed amount a month (`account_retiree_amount = "80"`).
    Fixed(Fen),
}

/// Ages up to `upto_age` (inclusive; `None` = any older age).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeBand {
    pub upto_age: Option<u32>,
    pub ratio: Ratio,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContribution {
    resident: Option<RawResident>,
    employee: Option<RawEmployee>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResident {
    personal: String,
    window_from: String,
    window_to: String,
    waiting_days: i64,
    #[serde(default)]
    subsidy: Vec<RawSubsidy>,
    #[serde(default)]
    assistance: Vec<RawAssistance>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubsidy {
    source: String,
    name: String,
    amount: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssistance {
    category: String,
    share: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmployee {
    base_floor: String,
    base_ceiling: String,
    unit_rate: String,
    personal_rate: String,
    due_day: i64,
    late_fee_per_day: String,
    suspend_after_days: i64,
    account_active: Vec<RawBand>,
    account_retiree: Option<String>,
    account_retiree_amount: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    upto_age: Option<i64>,
    ratio: String,
}

pub(crate) fn validate(v: &mut Validator, raw: &RawContribution, year: i64) -> ContributionPolicy {
    let resident = raw.resident.as_ref().map(|r| validate_resident(v, r, year));
    let employee = raw.employee.as_ref().map(|e| validate_employee(v, e));
    ContributionPolicy { resident, employee }
}

/// `[contribution.resident]`.
fn validate_resident(v: &mut Validator, r: &RawResident, year: i64) -> ResidentRule {
    let k = "contribution.resident";
    let date = |v: &mut Validator, key: &str, text: &str| {
        Date::parse(text).unwrap_or_else(|| {
            v.issue(
                format!("{k}.{key}"),
                format!("不是有效日期（应为 YYYY-MM-DD）：{text:?}"),
            );
            Date::from_ymd(1990, 1, 1).expect("a real date")
        })
    };
    let window = DateRange {
        from: date(v, "window_from", &r.window_from),
        to: date(v, "window_to", &r.window_to),
    };
    if window.from > window.to {
        v.issue(format!("{k}.window_to"), "集中缴费期的结束日期早于开始日期");
    }
    if i64::from(window.to.year()) > year {
        v.issue(
            format!("{k}.window_to"),
            format!("集中缴费期应在 {year} 年度结束前"),
        );
    }
    if !(0..=366).contains(&r.waiting_days) {
        v.issue(
            format!("{k}.waiting_days"),
            format!("等待期应为 0 到 366 天：{}", r.waiting_days),
        );
    }
    let mut subsidies: Vec<Subsidy> = Vec::new();
    for (i, s) in r.subsidy.iter().enumerate() {
        if s.source.trim().is_empty() || subsidies.iter().any(|o| o.source == s.source) {
            v.issue(
                format!("{k}.subsidy[{i}].source"),
                format!("补助来源为空或重复：{:?}", s.source),
            );
        }
        subsidies.push(Subsidy {
            source: s.source.clone(),
            name: s.name.clone(),
            amount: v.yuan(&format!("{k}.subsidy[{i}].amount"), &s.amount),
        });
    }
    let mut assistance: Vec<(String, Ratio)> = Vec::new();
    for (i, a) in r.assistance.iter().enumerate() {
        let key = format!("{k}.assistance[{i}].category");
        if !v.knows_category(&a.category) {
            v.issue(
                key,
                format!("人员类别 {:?} 未在 [[category]] 中定义", a.category),
            );
        } else if assistance.iter().any(|(c, _)| *c == a.category) {
            v.issue(key, format!("人员类别 {:?} 重复", a.category));
        }
        let share = v.ratio(&format!("{k}.assistance[{i}].share"), &a.share);
        assistance.push((a.category.clone(), share));
    }
    ResidentRule {
        personal: v.yuan(&format!("{k}.personal"), &r.personal),
        window,
        waiting_days: r.waiting_days,
        subsidies,
        assistance,
    }
}

/// `[contribution.employee]`.
fn validate_employee(v: &mut Validator, e: &RawEmployee) -> EmployeeRule {
    let k = "contribution.employee";
    let base_floor = v.yuan(&format!("{k}.base_floor"), &e.base_floor);
    let base_ceiling = v.yuan(&format!("{k}.base_ceiling"), &e.base_ceiling);
    if base_floor > base_ceiling {
        v.issue(format!("{k}.base_ceiling"), "缴费基数上限低于下限");
    }
    if !(1..=28).contains(&e.due_day) {
        v.issue(
            format!("{k}.due_day"),
            format!("缴费截止日应为每月 1 到 28 日：{}", e.due_day),
        );
    }
    if !(0..=3660).contains(&e.suspend_after_days) {
        v.issue(
            format!("{k}.suspend_after_days"),
            format!("天数不合理：{}", e.suspend_after_days),
        );
    }
    let account_active = validate_bands(v, k, &e.account_active);
    let account_retiree = match (&e.account_retiree, &e.account_retiree_amount) {
        (Some(r), None) => RetireeAccount::OfPension(v.ratio(&format!("{k}.account_retiree"), r)),
        (None, Some(a)) => RetireeAccount::Fixed(v.yuan(&format!("{k}.account_retiree_amount"), a)),
        _ => {
            v.issue(
                format!("{k}.account_retiree"),
                "退休人员个人账户划入应给出 account_retiree（养老金比例）\
                 或 account_retiree_amount（每月定额）二者之一",
            );
            RetireeAccount::Fixed(0)
        }
    };
    EmployeeRule {
        base_floor,
        base_ceiling,
        unit_rate: v.ratio(&format!("{k}.unit_rate"), &e.unit_rate),
        personal_rate: v.ratio(&format!("{k}.personal_rate"), &e.personal_rate),
        due_day: e.due_day.clamp(1, 28) as u32,
        late_fee_per_day: v.ratio(&format!("{k}.late_fee_per_day"), &e.late_fee_per_day),
        suspend_after_days: e.suspend_after_days,
        account_active,
        account_retiree,
    }
}

/// `contribution.employee.account_active`: age bands, youngest first, the last without an
/// upper age.
fn validate_bands(v: &mut Validator, k: &str, raw: &[RawBand]) -> Vec<AgeBand> {
    let mut account_active: Vec<AgeBand> = Vec::new();
    for (i, b) in raw.iter().enumerate() {
        let key = format!("{k}.account_active[{i}]");
        let upto_age = match b.upto_age {
            Some(a) if (0..=150).contains(&a) => Some(a as u32),
            Some(a) => {
                v.issue(format!("{key}.upto_age"), format!("年龄不合理：{a}"));
                None
            }
            None => None,
        };
        if let Some(prev) = account_active.last() {
            let ordered = match (prev.upto_age, upto_age) {
                (Some(p), Some(a)) => a > p,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !ordered {
                v.issue(
                    format!("{key}.upto_age"),
                    "年龄段应按年龄从小到大排列，不限年龄的一段放在最后",
                );
            }
        }
        account_active.push(AgeBand {
            upto_age,
            ratio: v.ratio(&format!("{key}.ratio"), &b.ratio),
        });
    }
    if account_active.last().is_none_or(|b| b.upto_age.is_some()) {
        v.issue(
            format!("{k}.account_active"),
            "最后一段应不限年龄（省略 upto_age）",
        );
    }
    account_active
}

/// The last day an open-ended range runs to.
pub fn far_future() -> Date {
    Date::from_ymd(2199, 12, 31).expect("a real date")
}

fn days(r: DateRange) -> i64 {
    (r.to.day_number() - r.from.day_number() + 1).max(0)
}

/// Days of `r` not inside any of `holes`.
fn days_outside(r: DateRange, holes: &[DateRange]) -> i64 {
    subtract(&[r], holes).into_iter().map(days).sum()
}

/// Sorted, merged ranges.
fn merge(mut ranges: Vec<DateRange>) -> Vec<DateRange> {
    ranges.sort_by_key(|r| r.from);
    let mut out: Vec<DateRange> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            // Overlapping or adjacent (the last day of the calendar has no next day).
            Some(last) if r.from <= last.to || last.to.add_days(1).is_some_and(|d| r.from <= d) => {
                last.to = last.to.max(r.to);
            }
            _ => out.push(r),
        }
    }
    out
}

/// `ranges` minus `holes`.
fn subtract(ranges: &[DateRange], holes: &[DateRange]) -> Vec<DateRange> {
    let mut out = ranges.to_vec();
    for h in holes {
        let mut next = Vec::new();
        for r in out {
            if h.to < r.from || h.from > r.to {
                next.push(r);
                continue;
            }
            if h.from > r.from {
                if let Some(to) = h.from.add_days(-1) {
                    next.push(DateRange { from: r.from, to });
                }
            }
            if h.to < r.to {
                if let Some(from) = h.to.add_days(1) {
                    next.push(DateRange { from, to: r.to });
                }
            }
        }
        out = next;
    }
    out
}
