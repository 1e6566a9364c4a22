//! Institution indicators (机构监控指标) from the screened claims: per institution, the
//! average cost per admission (次均住院费用), 药占比 (drug share), the self-pay share
//! (丙类/目录外 share of the cost), admissions per 100 outpatient visits (住院率) and the
//! re-admission rate (出院后 `split_window_days` 天内再入院的比例, any diagnosis).
//! Ratios are integer ppm; `None` where the denominator is zero.

use super::{by_person, AuditRules, ScreenClaim};
use crate::money::Fen;
use crate::refdata::{ItemClass, RefData};

/// The indicators of one institution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstitutionIndicators {
    /// Index into [`RefData::institutions`].
    pub institution: u32,
    pub admissions: u64,
    pub outpatient_visits: u64,
    /// Cost of all claims (医疗费总额).
    pub total: Fen,
    pub inpatient_total: Fen,
    pub drug_total: Fen,
    /// Cost of 丙类 items.
    pub selfpay_total: Fen,
    /// Admissions within the window after a discharge of the same person (anywhere).
    pub readmissions: u64,
}

fn ratio_ppm(a: i128, b: i128) -> Option<i64> {
    (b > 0).then(|| crate::money::div_round_half_up(a * 1_000_000, b) as i64)
}

impl InstitutionIndicators {
    /// 次均住院费用, fen.
    pub fn cost_per_admission(&self) -> Option<Fen> {
        (self.admissions > 0).then(|| {
            crate::money::div_round_half_up(
                i128::from(self.inpatient_total),
                i128::from(self.admissions),
            ) as Fen
        })
    }

    pub fn drug_share_ppm(&self) -> Option<i64> {
        ratio_ppm(self.drug_total.into(), self.total.into())
    }

    pub fn selfpay_share_ppm(&self) -> Option<i64> {
        ratio_ppm(self.selfpay_total.into(), self.total.into())
    }

    /// Admissions per 100 outpatient visits, in ppm of one (`12.5` per 100 = 12,500,000).
    pub fn admissions_per_100_outpatient_ppm(&self) -> Option<i64> {
        ratio_ppm(
            i128::from(self.admissions) * 100,
            i128::from(self.outpatient_visits),
        )
    }

    pub fn readmission_rate_ppm(&self) -> Option<i64> {
        ratio_ppm(self.readmissions.into(), self.admissions.into())
    }
}

/// The indicators of every institution with a claim, in institution order.
pub fn indicators(
    rules: &AuditRules,
    refdata: &RefData,
    claims: &[ScreenClaim],
) -> Vec<InstitutionIndicators> {
    tally(rules, refdata, claims, |_| true)
}

/// The indicators month by month (by the claim's `enddate`), months in order. A
/// re-admission counts in the month of the second stay, the first may be in any month.
pub fn monthly(
    rules: &AuditRules,
    refdata: &RefData,
    claims: &[ScreenClaim],
) -> Vec<((u16, u32), Vec<InstitutionIndicators>)> {
    let month = |c: &ScreenClaim| (c.enddate.year(), c.enddate.month());
    let mut months: Vec<(u16, u32)> = claims.iter().map(month).collect();
    months.sort_unstable();
    months.dedup();
    months
        .into_iter()
        .map(|m| (m, tally(rules, refdata, claims, |c| month(c) == m)))
        .collect()
}

/// The indicators of the claims `keep` selects.
fn tally(
    rules: &AuditRules,
    refdata: &RefData,
    claims: &[ScreenClaim],
    keep: impl Fn(&ScreenClaim) -> bool,
) -> Vec<InstitutionIndicators> {
    let mut per: Vec<InstitutionIndicators> = (0..refdata.institutions().len() as u32)
        .map(|institution| InstitutionIndicators {
            institution,
            ..Default::default()
        })
        .collect();
    let catalog = refdata.catalog();
    for c in claims.iter().filter(|c| keep(c)) {
        let ind = &mut per[c.institution as usize];
        let total = c.total();
        ind.total += total;
        for l in &c.lines {
            let it = &catalog[l.item as usize];
            if it.kind == "drug" {
                ind.drug_total += l.amount;
            }
            if it.class == ItemClass::C {
                ind.selfpay_total += l.amount;
            }
        }
        if c.inpatient(rules) {
            ind.admissions += 1;
            ind.inpatient_total += total;
        } else if c.outpatient(rules) {
            ind.outpatient_visits += 1;
        }
    }
    for group in by_person(claims) {
        let mut stays: Vec<&ScreenClaim> = group
            .iter()
            .map(|&i| &claims[i as usize])
            .filter(|c| c.inpatient(rules))
            .collect();
        stays.sort_by_key(|c| (c.begndate, c.enddate, c.seq));
        for w in stays.windows(2) {
            let gap = w[1].begndate.day_number() - w[0].enddate.day_number();
            if keep(w[1]) && (0..=rules.split_window_days).contains(&gap) {
                per[w[1].institution as usize].readmissions += 1;
            }
        }
    }
    per.retain(|i| i.admissions + i.outpatient_visits > 0 || i.total > 0);
    per
}
