//! 个人账户 (the employee's personal account) over its movements: the balance on a date,
//! interest on the daily balances (积数), and the monthly 划入 of a unit's staff. The store
//! keeps the movements (append-only); the rules are here.

use crate::contribution::EmployeeRule;
use crate::date::Date;
use crate::employer::{unit_arrears, UnitFacts};
use crate::money::{div_round_half_up, Fen, Ratio, PPM_ONE};

/// Days of the year interest is reckoned on (the banks' convention: annual rate / 360).
pub const INTEREST_DAYS_PER_YEAR: i128 = 360;

/// The balance on `on`: every movement `(date, fen)` dated up to it.
pub fn balance_on(movements: &[(Date, Fen)], on: Date) -> Fen {
    movements
        .iter()
        .filter(|(d, _)| *d <= on)
        .map(|(_, f)| f)
        .sum()
}

/// Interest for calendar `year` at the annual `rate` on the daily closing balances
/// (积数计息): `round(Σ balance_day × rate / 360)`, rounded half up once. Negative daily
/// balances (never expected: the account cannot be overdrawn) count as zero.
pub fn interest(movements: &[(Date, Fen)], year: u16, rate: Ratio) -> Fen {
    let Some(first) = Date::from_ymd(u32::from(year), 1, 1) else {
        return 0;
    };
    let mut sorted: Vec<(Date, Fen)> = movements.to_vec();
    sorted.sort_by_key(|(d, _)| *d);
    let mut balance: i128 = 0;
    let mut next = 0;
    let mut product: i128 = 0; // 积数, fen × days
    let mut day = first;
    while day.year() == year {
        while next < sorted.len() && sorted[next].0 <= day {
            balance += i128::from(sorted[next].1);
            next += 1;
        }
        product += balance.max(0);
        match day.add_days(1) {
            Some(d) => day = d,
            None => break,
        }
    }
    div_round_half_up(
        product * i128::from(rate.ppm()),
        INTEREST_DAYS_PER_YEAR * i128::from(PPM_ONE),
    ) as Fen
}

/// 个人账户划入 for the month starting `month` (its first day) of a unit's staff in force
/// then: the in-service when the unit had paid that month in full by `as_of`, the retired
/// (from their pension) always. `brdy` gives a person's birth date (the in-service ratio
/// goes by age); a person it does not know is left out. `(psn_no, fen)` in staff order,
/// zero amounts left out.
pub fn account_credits(
    rule: &EmployeeRule,
    facts: &UnitFacts,
    brdy: impl Fn(&str) -> Option<Date>,
    month: Date,
    as_of: Date,
) -> Vec<(String, Fen)> {
    let month = month.month_first();
    let arrears = unit_arrears(rule, facts, month.year(), as_of);
    let paid = arrears
        .months
        .iter()
        .find(|m| m.month == month)
        .is_some_and(|m| m.paid_in_full_on.is_some_and(|d| d <= as_of));
    facts
        .staff
        .iter()
        .filter(|(e, _)| e.valid.from <= month && e.valid.to >= month)
        .filter(|(e, _)| e.retired || paid)
        .filter_map(|(e, base)| {
            let born = brdy(&e.psn_no)?;
            let due = rule.monthly_due(*base);
            let amount = rule.account_allocation(born, month, e.retired, e.pension_fen, &due);
            (amount > 0).then(|| (e.psn_no.clone(), amount))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn balance_counts_movements_up_to_the_day() {
        let m = [(d("2024-01-01"), 10_000), (d("2024-03-01"), -2_500)];
        assert_eq!(balance_on(&m, d("2024-02-29")), 10_000);
        assert_eq!(balance_on(&m, d("2024-03-01")), 7_500);
        assert_eq!(balance_on(&m, d("2023-12-31")), 0);
    }

    #[test]
    fn interest_by_daily_balances() {
        // 3,600.00 held all of 2024 (366 days) at 1.5%: 360000 × 366 × 0.015 / 360 = 5490 fen.
        let m = [(d("2024-01-01"), 360_000)];
        assert_eq!(interest(&m, 2024, Ratio::parse("0.015").unwrap()), 5_490);
        // Half of it paid out on 1 July (the day's closing balance counts): 182 days at
        // 3,600 and 184 at 1,800: (360000 × 182 + 180000 × 184) × 0.015 / 360 = 4110 fen.
        let m = [(d("2024-01-01"), 360_000), (d("2024-07-01"), -180_000)];
        assert_eq!(interest(&m, 2024, Ratio::parse("0.015").unwrap()), 4_110);
        // Nothing held, nothing earned; movements of other years count only as balance.
        assert_eq!(interest(&[], 2024, Ratio::parse("0.015").unwrap()), 0);
        let m = [(d("2023-06-01"), 36_000)];
        assert_eq!(interest(&m, 2024, Ratio::parse("0.01").unwrap()), 366);
    }
}
