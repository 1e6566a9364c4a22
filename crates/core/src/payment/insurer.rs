//! 大病保险承办: the premium schedule and the year-end profit/loss corridor (盈亏调节).

use super::*;
use crate::date::Date;
use crate::money::{apply_ratio, div_round_half_up, format_fen, PPM_ONE};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instalment {
    /// The last day of a due month (`insurer.due_months`).
    pub due: Date,
    pub amount: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PremiumSchedule {
    pub insured_count: u64,
    /// premium_per_insured × insured_count
    pub total: Fen,
    pub instalments: Vec<Instalment>,
    pub lines: Vec<PayLine>,
}

/// The last day of `month` of `year`.
fn month_end(year: u16, month: u32) -> Option<Date> {
    let next = if month == 12 {
        Date::from_ymd(u32::from(year) + 1, 1, 1)
    } else {
        Date::from_ymd(u32::from(year), month + 1, 1)
    };
    next?.add_days(-1)
}

/// The year's premium in instalments due by the end of each due month: round(total / n)
/// each, the last taking the rest so that they sum to the total exactly. `None` for a year
/// outside the calendar (1900–2198).
pub fn insurer_premium_schedule(
    rule: &InsurerRule,
    insured_count: u64,
    year: u16,
) -> Option<PremiumSchedule> {
    let total = rule
        .premium_per_insured
        .checked_mul(Fen::try_from(insured_count).ok()?)?;
    let n = rule.due_months.len() as i128;
    let each = div_round_half_up(i128::from(total), n) as Fen;
    let mut instalments = Vec::with_capacity(rule.due_months.len());
    let mut lines = vec![PayLine::new(
        "全年保费",
        total,
        format!(
            "筹资标准 {} 元/人（insurer.premium_per_insured）× 参保 {insured_count} 人",
            format_fen(rule.premium_per_insured)
        ),
    )];
    for (i, &m) in rule.due_months.iter().enumerate() {
        let last = i + 1 == rule.due_months.len();
        let amount = if last {
            total - each * (rule.due_months.len() as Fen - 1)
        } else {
            each
        };
        let due = month_end(year, m)?;
        lines.push(PayLine::new(
            &format!("第 {} 期保费（{due} 前拨付）", i + 1),
            amount,
            if last {
                "全年保费 − 前几期之和（使各期合计恰好等于全年保费）".to_string()
            } else {
                format!("全年保费 ÷ {n} 期，四舍五入到分（insurer.due_months）")
            },
        ));
        instalments.push(Instalment { due, amount });
    }
    Some(PremiumSchedule {
        insured_count,
        total,
        instalments,
        lines,
    })
}

/// The year-end corridor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corridor {
    pub premium: Fen,
    pub claims: Fen,
    pub admin_cost: Fen,
    /// premium − claims − admin_cost: profit when positive, loss when negative.
    pub result: Fen,
    /// round(result × 10^6 / premium): the 盈亏率 in ppm (shown; the caps compare amounts).
    pub rate_ppm: i64,
    pub kept_by_insurer: Fen,
    pub returned_to_fund: Fen,
    pub borne_by_insurer: Fen,
    pub borne_by_fund: Fen,
    pub lines: Vec<PayLine>,
}

/// rate = (premium − claims − admin) / premium. A profit up to round(premium × `profit_cap`)
/// is kept by the insurer, the rest returned to the fund. A loss up to round(premium ×
/// `loss_cap`) is borne by the insurer; of the rest the fund bears round(rest ×
/// `fund_share_beyond_loss_cap`) and the insurer what remains. The caps are compared as
/// amounts so that no rounding of the rate moves a fen. Panics unless `premium` > 0 (a
/// corridor without premium is a fault of the caller).
pub fn insurer_corridor(
    premium: Fen,
    claims: Fen,
    admin_cost: Fen,
    rule: &InsurerRule,
) -> Corridor {
    assert!(premium > 0, "premium must be positive");
    let result = premium - claims - admin_cost;
    let rate_ppm = div_round_half_up(
        i128::from(result) * i128::from(PPM_ONE),
        i128::from(premium),
    ) as i64;
    let profit_cap = apply_ratio(premium, rule.profit_cap);
    let loss_cap = apply_ratio(premium, rule.loss_cap);
    let profit = result.max(0);
    let loss = (-result).max(0);
    let kept_by_insurer = profit.min(profit_cap);
    let returned_to_fund = profit - kept_by_insurer;
    let beyond = loss - loss.min(loss_cap);
    let borne_by_fund = apply_ratio(beyond, rule.fund_share_beyond_loss_cap);
    let borne_by_insurer = loss - borne_by_fund;
    let y = |f: Fen| format_fen(f);
    let rate = Ratio::from_ppm(rate_ppm.abs());
    let mut lines = vec![PayLine::new(
        if result >= 0 { "盈余" } else { "亏损" },
        result.abs(),
        format!(
            "保费 {} 元 − 赔付 {} 元 − 经营管理费用 {} 元；{}率 {rate}",
            y(premium),
            y(claims),
            y(admin_cost),
            if result >= 0 { "盈利" } else { "亏损" }
        ),
    )];
    if result >= 0 {
        lines.push(PayLine::new(
            "承办机构留存",
            kept_by_insurer,
            format!(
                "盈余不超过保费 × {}（insurer.profit_cap）= {} 元的部分",
                rule.profit_cap,
                y(profit_cap)
            ),
        ));
        lines.push(PayLine::new(
            "返还基金",
            returned_to_fund,
            "盈余 − 承办机构留存".to_string(),
        ));
    } else {
        lines.push(PayLine::new(
            "承办机构承担（上限内）",
            loss.min(loss_cap),
            format!(
                "亏损不超过保费 × {}（insurer.loss_cap）= {} 元的部分",
                rule.loss_cap,
                y(loss_cap)
            ),
        ));
        lines.push(PayLine::new(
            "基金分担",
            borne_by_fund,
            format!(
                "超出上限的亏损 {} 元 × {}（insurer.fund_share_beyond_loss_cap）",
                y(beyond),
                rule.fund_share_beyond_loss_cap
            ),
        ));
        lines.push(PayLine::new(
            "承办机构承担（合计）",
            borne_by_insurer,
            "亏损 − 基金分担".to_string(),
        ));
    }
    Corridor {
        premium,
        claims,
        admin_cost,
        result,
        rate_ppm,
        kept_by_insurer,
        returned_to_fund,
        borne_by_insurer,
        borne_by_fund,
        lines,
    }
}
