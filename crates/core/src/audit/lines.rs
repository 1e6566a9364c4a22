//! Rules on one claim's lines: 重复收费, 超数量, 性别/年龄不符, 超适应症, 大处方.

use super::{item_label, qty_text, quoted, AuditRules, Family, Finding, ScreenClaim};
use crate::claim::Line;
use crate::money::{div_round_half_up, format_fen, Fen};
use crate::refdata::RefData;

/// Appends the findings on `c`'s lines to `out`.
pub(super) fn claim_findings(
    rules: &AuditRules,
    refdata: &RefData,
    c: &ScreenClaim,
    out: &mut Vec<Finding>,
) {
    if rules.rule(Family::DuplicateCharge).is_some() || rules.rule(Family::OverQuantity).is_some() {
        same_day_groups(rules, refdata, c, out);
    }
    for (i, l) in c.lines.iter().enumerate() {
        restrictions(rules, refdata, c, i, l, out);
    }
    if rules.rule(Family::PrescriptionLimit).is_some() {
        prescription(rules, refdata, c, out);
    }
}

/// Lines of one item on one day: billed more than once (DUPLICATE_CHARGE), or more than
/// `max_qty_per_day` (OVER_QUANTITY; a line without a date spreads over the visit's days).
fn same_day_groups(rules: &AuditRules, refdata: &RefData, c: &ScreenClaim, out: &mut Vec<Finding>) {
    // (item, date or none, line index): sorted, lines of one item and day are adjacent.
    let mut keyed: Vec<(u32, Option<u32>, usize)> = c
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.item, l.date.map(|d| d.as_u32()), i))
        .collect();
    keyed.sort_unstable();
    let catalog = refdata.catalog();
    let mut start = 0;
    while start < keyed.len() {
        let (item, date, _) = keyed[start];
        let mut end = start + 1;
        while end < keyed.len() && (keyed[end].0, keyed[end].1) == (item, date) {
            end += 1;
        }
        let repeated = end - start > 1 && rules.rule(Family::DuplicateCharge).is_some();
        let limited = catalog[item as usize].max_qty_per_day.is_some()
            && rules.rule(Family::OverQuantity).is_some();
        if repeated || limited {
            let group: Vec<usize> = keyed[start..end].iter().map(|k| k.2).collect();
            if repeated {
                duplicate(refdata, c, &group, out);
            }
            if limited {
                over_quantity(refdata, c, &group, date.is_none(), out);
            }
        }
        start = end;
    }
}

fn line_numbers(group: &[usize]) -> String {
    let n: Vec<String> = group.iter().map(|i| (i + 1).to_string()).collect();
    n.join("、")
}

fn duplicate(refdata: &RefData, c: &ScreenClaim, group: &[usize], out: &mut Vec<Finding>) {
    let first = &c.lines[group[0]];
    let extra: Fen = group[1..].iter().map(|&i| c.lines[i].amount).sum();
    let quantities: Vec<String> = group.iter().map(|&i| qty_text(c.lines[i].qty)).collect();
    out.push(Finding {
        claim: c.seq,
        family: Family::DuplicateCharge,
        detail: group[1] as u32,
        amount: extra,
        message: format!(
            "{} 在 {} 同一次就诊中收费 {} 次（第 {} 条明细，数量 {}），重复收费 {} 元",
            item_label(refdata, first.item),
            c.line_date(first),
            group.len(),
            line_numbers(group),
            quantities.join("、"),
            format_fen(extra)
        ),
    });
}

fn over_quantity(
    refdata: &RefData,
    c: &ScreenClaim,
    group: &[usize],
    undated: bool,
    out: &mut Vec<Finding>,
) {
    let first = &c.lines[group[0]];
    let Some(max) = refdata.catalog()[first.item as usize].max_qty_per_day else {
        return;
    };
    let days = if undated {
        (c.enddate.day_number() - c.begndate.day_number()).max(1)
    } else {
        1
    };
    let qty: i64 = group.iter().map(|&i| c.lines[i].qty).sum();
    let limit = max.saturating_mul(days);
    if qty <= limit {
        return;
    }
    let amount: Fen = group.iter().map(|&i| c.lines[i].amount).sum();
    let at_stake = div_round_half_up(
        i128::from(amount) * i128::from(qty - limit),
        i128::from(qty),
    ) as Fen;
    let when = if undated {
        format!("{} 至 {}（{days} 天）", c.begndate, c.enddate)
    } else {
        c.line_date(first).to_string()
    };
    out.push(Finding {
        claim: c.seq,
        family: Family::OverQuantity,
        detail: group[0] as u32,
        amount: at_stake,
        message: format!(
            "{} 在 {when} 收费数量 {}（第 {} 条明细），超过每日限量 max_qty_per_day={} × {days} 天 = {}，超出部分 {} 元",
            item_label(refdata, first.item),
            qty_text(qty),
            line_numbers(group),
            qty_text(max),
            qty_text(limit),
            format_fen(at_stake)
        ),
    });
}

/// 性别、年龄、限定支付范围 of one line.
fn restrictions(
    rules: &AuditRules,
    refdata: &RefData,
    c: &ScreenClaim,
    i: usize,
    l: &Line,
    out: &mut Vec<Finding>,
) {
    let it = &refdata.catalog()[l.item as usize];
    let person = &refdata.persons[c.person as usize];
    let date = c.line_date(l);
    let head = || {
        format!(
            "第 {} 条明细 {}（{}，数量 {}，金额 {} 元）",
            i + 1,
            item_label(refdata, l.item),
            date,
            qty_text(l.qty),
            format_fen(l.amount)
        )
    };
    let mut push = |family: Family, message: String| {
        if rules.rule(family).is_some() {
            out.push(Finding {
                claim: c.seq,
                family,
                detail: i as u32,
                amount: l.amount,
                message,
            });
        }
    };
    if let Some(sex) = it.sex_limit {
        let gend = person.gend.trim();
        if matches!(gend, "1" | "2") && gend != sex.to_string() {
            push(
                Family::SexConflict,
                format!(
                    "{} 限{}性使用（sex_limit={sex}），参保人 {} 性别为{}（gend={gend}）",
                    head(),
                    sex_name(sex),
                    person.psn_no,
                    sex_name(if gend == "1" { 1 } else { 2 })
                ),
            );
        }
    }
    let age = person.brdy.age_on(date);
    let below = it.age_min.is_some_and(|m| age < m);
    let above = it.age_max.is_some_and(|m| age > m);
    if below || above {
        let range = |v: Option<u32>| v.map_or("不限".to_string(), |a| a.to_string());
        push(
            Family::AgeConflict,
            format!(
                "{} 限 {} 岁使用（age_min={}，age_max={}），参保人 {} 当日 {age} 岁",
                head(),
                age_span(it.age_min, it.age_max),
                range(it.age_min),
                range(it.age_max),
                person.psn_no
            ),
        );
    }
    if !it.indication.is_empty() {
        let diag = &c.dise_codg;
        let fits = it.indication.iter().any(|p| {
            !diag.is_empty()
                && diag.len() >= p.len()
                && diag.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        });
        if !fits {
            push(
                Family::OutOfIndication,
                format!(
                    "{} 限定支付范围 indication={}，就诊诊断 dise_codg={} 不在其内",
                    head(),
                    it.indication.join(";"),
                    quoted(&c.dise_codg)
                ),
            );
        }
    }
}

/// `6 至 14`, `14 及以下`, `60 及以上`.
fn age_span(min: Option<u32>, max: Option<u32>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a} 至 {b}"),
        (None, Some(b)) => format!("{b} 及以下"),
        (Some(a), None) => format!("{a} 及以上"),
        (None, None) => "不限".into(),
    }
}

fn sex_name(sex: u8) -> &'static str {
    if sex == 1 {
        "男"
    } else {
        "女"
    }
}

/// 大处方: the drugs of one outpatient visit above the limit.
fn prescription(rules: &AuditRules, refdata: &RefData, c: &ScreenClaim, out: &mut Vec<Finding>) {
    if !rules
        .prescription_med_types
        .iter()
        .any(|t| **t == *c.med_type)
    {
        return;
    }
    let drugs: Vec<usize> = (0..c.lines.len())
        .filter(|&i| refdata.catalog()[c.lines[i].item as usize].kind == "drug")
        .collect();
    let total: Fen = drugs.iter().map(|&i| c.lines[i].amount).sum();
    if total <= rules.prescription_limit {
        return;
    }
    let excess = total - rules.prescription_limit;
    out.push(Finding {
        claim: c.seq,
        family: Family::PrescriptionLimit,
        detail: drugs[0] as u32,
        amount: excess,
        message: format!(
            "门诊处方药品合计 {} 元（第 {} 条明细），超过单张处方限额 max_drug_amount={} 元，超出 {} 元",
            format_fen(total),
            line_numbers(&drugs),
            format_fen(rules.prescription_limit),
            format_fen(excess)
        ),
    });
}
