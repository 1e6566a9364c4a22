//! Employees (城镇职工): what an employee and his unit owe a month, what goes to the personal
//! account, and how a unit's arrears accrue late fees and suspend benefits.

use super::*;

impl Date {
    /// Full years of age on `on` for someone born on `self` (0 before birth). Born on
    /// 29 February: a year older on 1 March in common years.
    pub fn age_on(self, on: Date) -> u32 {
        let years = i64::from(on.year()) - i64::from(self.year());
        let before_birthday = (on.month(), on.day()) < (self.month(), self.day());
        (years - i64::from(before_birthday)).max(0) as u32
    }

    /// The first day of this date's month.
    pub fn month_first(self) -> Date {
        Date::from_ymd(u32::from(self.year()), self.month(), 1).unwrap_or(self)
    }
}

/// Full years of age on `on` for someone born on `brdy` (same as [`Date::age_on`]).
pub fn age_on(brdy: Date, on: Date) -> u32 {
    brdy.age_on(on)
}

/// A month's dues for one employee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthlyDue {
    /// The base after the floor and ceiling.
    pub base: Fen,
    pub unit: Fen,
    pub personal: Fen,
}

impl EmployeeRule {
    /// Dues for a declared monthly base (clamped to the floor and ceiling).
    pub fn monthly_due(&self, declared_base: Fen) -> MonthlyDue {
        let base = declared_base.clamp(self.base_floor, self.base_ceiling.max(self.base_floor));
        MonthlyDue {
            base,
            unit: apply_ratio(base, self.unit_rate),
            personal: apply_ratio(base, self.personal_rate),
        }
    }

    /// 个人账户划入 for a month: 在职 the personal contribution plus the age band's ratio of
    /// the base (age on the month's first day; any day of the month may be passed);
    /// 退休 a ratio of the pension or a fixed amount.
    pub fn account_allocation(
        &self,
        brdy: Date,
        month: Date,
        retired: bool,
        pension: Fen,
        due: &MonthlyDue,
    ) -> Fen {
        if retired {
            return match self.account_retiree {
                RetireeAccount::OfPension(r) => apply_ratio(pension, r),
                RetireeAccount::Fixed(a) => a,
            };
        }
        let age = brdy.age_on(month.month_first());
        let ratio = self
            .account_active
            .iter()
            .find(|b| b.upto_age.is_none_or(|u| age <= u))
            .map_or(Ratio::ZERO, |b| b.ratio);
        due.personal + apply_ratio(due.base, ratio)
    }

    /// The day a month's contribution is due.
    pub fn due_date(&self, month_first: Date) -> Date {
        Date::from_ymd(
            u32::from(month_first.year()),
            month_first.month(),
            self.due_day,
        )
        .unwrap_or(month_first)
    }

    /// Applies payments (oldest dues first) to the monthly dues and works out each month's
    /// late fee as of `as_of` and the periods without benefits.
    pub fn arrears(
        &self,
        dues: &[(Date, Fen)],
        payments: &[(Date, Fen)],
        deferrals: &[DateRange],
        as_of: Date,
    ) -> Arrears {
        let mut months: Vec<MonthStatus> = dues
            .iter()
            .map(|&(m, owed)| MonthStatus {
                month: m,
                due_date: self.due_date(m),
                owed,
                paid: 0,
                paid_in_full_on: (owed <= 0).then_some(self.due_date(m)),
                late_fee: 0,
            })
            .collect();
        months.sort_by_key(|m| m.month);
        // Each month's outstanding amount changes at payment dates: (date, new outstanding).
        let mut steps: Vec<Vec<(Date, Fen)>> = vec![Vec::new(); months.len()];
        let mut sorted = payments.to_vec();
        sorted.sort_by_key(|p| p.0);
        let mut credit: Fen = 0;
        let mut next = 0;
        for (day, amount) in sorted {
            credit += amount;
            while next < months.len() && credit > 0 {
                let m = &mut months[next];
                let take = (m.owed - m.paid).min(credit);
                m.paid += take;
                credit -= take;
                steps[next].push((day, m.owed - m.paid));
                if m.paid >= m.owed {
                    m.paid_in_full_on.get_or_insert(day);
                    next += 1;
                }
            }
        }
        let rate = i128::from(self.late_fee_per_day.ppm());
        let mut suspensions = Vec::new();
        for (m, steps) in months.iter_mut().zip(&steps) {
            if m.owed <= 0 {
                continue;
            }
            // Σ over late days (after the due date, to the payment or as_of, outside any
            // deferral) of the amount outstanding that day × the daily rate; rounded once.
            let end = m.paid_in_full_on.unwrap_or(as_of).min(as_of);
            let mut exact: i128 = 0;
            let mut outstanding = m.owed;
            let mut from = m.due_date.add_days(1);
            let mut step_iter = steps.iter().peekable();
            while let Some(start) = from.filter(|f| *f <= end) {
                // Outstanding changes at the end of a payment day (the payment day still counts).
                while let Some(&&(d, _)) = step_iter.peek() {
                    if d < start {
                        outstanding = step_iter.next().map_or(outstanding, |s| s.1);
                    } else {
                        break;
                    }
                }
                let seg_end = step_iter.peek().map_or(end, |s| s.0.min(end));
                let days = days_outside(
                    DateRange {
                        from: start,
                        to: seg_end,
                    },
                    deferrals,
                );
                exact += i128::from(outstanding) * i128::from(days) * rate;
                from = seg_end.add_days(1);
            }
            m.late_fee = div_round_half_up(exact, i128::from(PPM_ONE)) as Fen;
            // No benefits from the end of the grace period until the month is paid in full.
            if let Some(start) = m.due_date.add_days(self.suspend_after_days + 1) {
                let stop = m.paid_in_full_on.map_or(far_future(), |d| d);
                if start <= stop && m.paid_in_full_on.is_none_or(|d| d >= start) {
                    suspensions.push(DateRange {
                        from: start,
                        to: stop,
                    });
                }
            }
        }
        let suspensions = subtract(&merge(suspensions), deferrals);
        Arrears {
            months,
            suspensions,
            credit,
        }
    }
}

/// One month of an employee's (or a unit's) dues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthStatus {
    /// The month's first day.
    pub month: Date,
    pub due_date: Date,
    pub owed: Fen,
    pub paid: Fen,
    pub paid_in_full_on: Option<Date>,
    /// 滞纳金 accrued as of the day asked.
    pub late_fee: Fen,
}

/// Arrears as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrears {
    pub months: Vec<MonthStatus>,
    /// Periods without benefits (deferrals already taken out), merged and sorted.
    pub suspensions: Vec<DateRange>,
    /// Paid beyond every listed month (溢缴/预缴), left for later months or a refund.
    pub credit: Fen,
}

impl Arrears {
    /// Principal still owed.
    pub fn outstanding(&self) -> Fen {
        self.months.iter().map(|m| (m.owed - m.paid).max(0)).sum()
    }

    pub fn late_fees(&self) -> Fen {
        self.months.iter().map(|m| m.late_fee).sum()
    }

    /// 催缴通知书 for the unit, or `None` when nothing is owed.
    pub fn notice(&self, unit_no: &str, unit_name: &str, as_of: Date) -> Option<CollectionNotice> {
        let months: Vec<(Date, Fen)> = self
            .months
            .iter()
            .filter(|m| m.paid < m.owed && m.due_date < as_of)
            .map(|m| (m.month, m.owed - m.paid))
            .collect();
        (!months.is_empty()).then(|| CollectionNotice {
            unit_no: unit_no.to_string(),
            unit_name: unit_name.to_string(),
            as_of,
            principal: months.iter().map(|m| m.1).sum(),
            late_fee: self.late_fees(),
            months,
        })
    }
}

/// 催缴通知书.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionNotice {
    pub unit_no: String,
    pub unit_name: String,
    pub as_of: Date,
    /// `(month, amount still owed)`.
    pub months: Vec<(Date, Fen)>,
    pub principal: Fen,
    pub late_fee: Fen,
}

impl CollectionNotice {
    /// The notice's text.
    pub fn text(&self) -> String {
        use crate::money::format_fen;
        let list: Vec<String> = self
            .months
            .iter()
            .map(|(m, a)| format!("{} 年 {} 月 {} 元", m.year(), m.month(), format_fen(*a)))
            .collect();
        format!(
            "催缴通知书\n{}（单位编号 {}）：\n截至 {}，贵单位欠缴职工基本医疗保险费 {} 元（{}），\
             按日加收滞纳金 {} 元，合计 {} 元。请于收到本通知之日起 15 日内足额缴纳；\
             欠费期间，参保职工的医疗保险待遇将按规定暂停。确有困难的，可申请签订缓缴协议。",
            self.unit_name,
            self.unit_no,
            self.as_of,
            format_fen(self.principal),
            list.join("，"),
            format_fen(self.late_fee),
            format_fen(self.principal + self.late_fee)
        )
    }
}
