//! Rules across a person's visits (分解住院, 就诊时间重叠) and against the peer group
//! (高额费用异常).

use super::{diagnosis_group, AuditRules, Family, Finding, ScreenClaim};
use crate::money::{format_fen, Fen};
use crate::refdata::{Level, RefData};
use rustc_hash::FxHashMap;

/// Appends the findings across one person's claims to `out`.
pub(super) fn person_findings(
    rules: &AuditRules,
    refdata: &RefData,
    claims: &[&ScreenClaim],
    out: &mut Vec<Finding>,
) {
    // Stays in order of admission, then input.
    let mut stays: Vec<&ScreenClaim> = claims
        .iter()
        .copied()
        .filter(|c| c.inpatient(rules))
        .collect();
    stays.sort_by_key(|c| (c.begndate, c.enddate, c.seq));
    if rules.rule(Family::SplitAdmission).is_some() {
        for (k, b) in stays.iter().enumerate() {
            if let Some(a) = stays[..k].iter().rev().find(|a| split_pair(rules, a, b)) {
                out.push(split_finding(rules, refdata, a, b));
            }
        }
    }
    if rules.rule(Family::OverlappingStay).is_some() {
        for b in claims {
            let other = stays
                .iter()
                .find(|a| a.seq != b.seq && overlaps(rules, a, b));
            if let Some(a) = other {
                out.push(overlap_finding(rules, refdata, a, b));
            }
        }
    }
}

/// `b` re-admits for `a`'s diagnosis group within the window after `a`'s discharge.
fn split_pair(rules: &AuditRules, a: &ScreenClaim, b: &ScreenClaim) -> bool {
    let gap = b.begndate.day_number() - a.enddate.day_number();
    (0..=rules.split_window_days).contains(&gap)
        && (!rules.split_same_institution || a.institution == b.institution)
        && diagnosis_group(&a.dise_codg, rules.diagnosis_group_chars)
            == diagnosis_group(&b.dise_codg, rules.diagnosis_group_chars)
}

fn split_finding(
    rules: &AuditRules,
    refdata: &RefData,
    a: &ScreenClaim,
    b: &ScreenClaim,
) -> Finding {
    let gap = b.begndate.day_number() - a.enddate.day_number();
    let total = b.total();
    Finding {
        claim: b.seq,
        family: Family::SplitAdmission,
        detail: 0,
        amount: total,
        message: format!(
            "出院 {} 天后再次入院：结算单 {}（{}，{} 至 {}，诊断 {}）出院后，{} 于 {} 入院（{}，诊断 {}，诊断组 {}），\
             在 window_days={} 天内且诊断组相同，本次住院费用 {} 元",
            gap,
            a.claim_id,
            institution_name(refdata, a.institution),
            a.begndate,
            a.enddate,
            a.dise_codg,
            b.claim_id,
            b.begndate,
            institution_name(refdata, b.institution),
            b.dise_codg,
            diagnosis_group(&b.dise_codg, rules.diagnosis_group_chars),
            rules.split_window_days,
            format_fen(total)
        ),
    }
}

/// Visit `b` overlaps stay `a` at another institution and is the later of the two: an
/// outpatient visit strictly between `a`'s admission and discharge, or a stay admitted
/// after `a` (or as `a` but later in the input) whose nights overlap `a`'s.
fn overlaps(rules: &AuditRules, a: &ScreenClaim, b: &ScreenClaim) -> bool {
    if a.institution == b.institution {
        return false;
    }
    if b.inpatient(rules) {
        (a.begndate, a.seq) < (b.begndate, b.seq)
            && b.begndate < a.enddate
            && a.begndate < b.enddate
    } else {
        a.begndate < b.enddate && b.begndate < a.enddate
    }
}

fn overlap_finding(
    rules: &AuditRules,
    refdata: &RefData,
    a: &ScreenClaim,
    b: &ScreenClaim,
) -> Finding {
    let total = b.total();
    let kind = if b.inpatient(rules) {
        "住院"
    } else {
        "门诊"
    };
    Finding {
        claim: b.seq,
        family: Family::OverlappingStay,
        detail: 0,
        amount: total,
        message: format!(
            "{kind}就诊 {}（{}，{} 至 {}）与另一机构的住院 {}（{}，{} 至 {}）时间重叠，本次费用 {} 元",
            b.claim_id,
            institution_name(refdata, b.institution),
            b.begndate,
            b.enddate,
            a.claim_id,
            institution_name(refdata, a.institution),
            a.begndate,
            a.enddate,
            format_fen(total)
        ),
    }
}

fn institution_name(refdata: &RefData, i: u32) -> String {
    let inst = &refdata.institutions()[i as usize];
    format!("{} {}", inst.code, inst.name)
}

/// Median 住院费用 of each peer group (diagnosis group, institution level).
pub(super) struct PeerMedians {
    medians: FxHashMap<(String, Level), (Fen, usize)>,
}

impl PeerMedians {
    pub(super) fn new(rules: &AuditRules, refdata: &RefData, claims: &[ScreenClaim]) -> Self {
        let mut totals: FxHashMap<(String, Level), Vec<Fen>> = FxHashMap::default();
        if rules.rule(Family::HighCostOutlier).is_some() {
            for c in claims.iter().filter(|c| c.inpatient(rules)) {
                totals
                    .entry(peer_key(rules, refdata, c))
                    .or_default()
                    .push(c.total());
            }
        }
        let medians = totals
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                (k, (v[(v.len() - 1) / 2], v.len()))
            })
            .collect();
        PeerMedians { medians }
    }

    /// HIGH_COST_OUTLIER of stay `c`: above the multiple of its peer group's median.
    pub(super) fn outlier(
        &self,
        rules: &AuditRules,
        refdata: &RefData,
        c: &ScreenClaim,
        out: &mut Vec<Finding>,
    ) {
        if rules.rule(Family::HighCostOutlier).is_none() || !c.inpatient(rules) {
            return;
        }
        let key = peer_key(rules, refdata, c);
        let Some(&(median, peers)) = self.medians.get(&key) else {
            return;
        };
        let total = c.total();
        let multiple = rules.outlier_multiple.ppm();
        if peers < rules.outlier_min_peers
            || i128::from(total) * 1_000_000 <= i128::from(median) * i128::from(multiple)
        {
            return;
        }
        out.push(Finding {
            claim: c.seq,
            family: Family::HighCostOutlier,
            detail: 0,
            amount: total - median,
            message: format!(
                "住院费用 {} 元，是同组（诊断组 {}、医院等级 {}，{peers} 例）中位数 {} 元的 {} 倍，\
                 超过 multiple_of_median={} 倍；高出中位数 {} 元",
                format_fen(total),
                key.0,
                key.1.code(),
                format_fen(median),
                times(total, median),
                super::qty_text(multiple),
                format_fen(total - median)
            ),
        });
    }
}

fn peer_key(rules: &AuditRules, refdata: &RefData, c: &ScreenClaim) -> (String, Level) {
    (
        diagnosis_group(&c.dise_codg, rules.diagnosis_group_chars),
        refdata.institutions()[c.institution as usize].level,
    )
}

/// `a / b` with one decimal, for messages.
fn times(a: Fen, b: Fen) -> String {
    if b <= 0 {
        return "∞".into();
    }
    let tenths = crate::money::div_round_half_up(i128::from(a) * 10, i128::from(b));
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// MINOR_ADMISSION (小病大治): a stay for a diagnosis the rules list as treated as outpatients.
pub(super) fn minor_admission(rules: &AuditRules, c: &ScreenClaim, out: &mut Vec<Finding>) {
    if rules.rule(Family::MinorAdmission).is_none() || !c.inpatient(rules) {
        return;
    }
    let diag = c.dise_codg.to_uppercase();
    let Some(prefix) = rules
        .outpatient_diagnoses
        .iter()
        .find(|p| diag.starts_with(p.as_str()))
    else {
        return;
    };
    let total = c.total();
    out.push(Finding {
        claim: c.seq,
        family: Family::MinorAdmission,
        detail: 0,
        amount: total,
        message: format!(
            "住院 {} 至 {} 的诊断 dise_codg={} 属于通常门诊治疗的病种（diagnoses 含 {prefix}），住院费用 {} 元",
            c.begndate,
            c.enddate,
            super::quoted(&c.dise_codg),
            format_fen(total)
        ),
    });
}
