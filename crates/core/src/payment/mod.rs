//! 协议与支付方式 (the payment agreement): how the bureau pays each institution (拨付) and
//! settles with the 大病 insurer, as data in its own TOML file, apart from the benefit policy.
//!
//! Loading reuses the benefit policy's machinery (`policy::load`): the same shape check
//! (unknown keys, value types, with lines), the same `Validator` (every bad value named by
//! key path, in Chinese) and the same `PolicyError`. The calculators (`statement`, `settle`, `insurer`) are pure
//! functions of plain inputs that the store fills; each result explains every line.

use crate::explain::Yuan;
use crate::money::{parse_scaled, Fen, Ratio};
use crate::policy::{PolicyError, Validator};
use crate::refdata::Level;
use serde::Serialize;
use std::fmt;

mod insurer;
mod settle;
mod statement;
mod validate;

pub use insurer::{
    insurer_corridor, insurer_premium_schedule, Corridor, Instalment, PremiumSchedule,
};
pub use settle::{
    per_diem_payment, quarterly_quota_check, single_disease_payment, year_end_global_budget,
    BudgetZone, PerDiem, QuotaCheck, SingleDiseasePay, YearEnd,
};
pub use statement::{
    global_budget_advance, institution_quarter_quota, monthly_statement, visit_payment, Advance,
    Deduction, MedTypeTotals, MonthlyStatement, PayerTotals, SettledVisit, VisitPayment,
};

/// One explained line of a result: what it is, how much, and how it was computed (citing the
/// parameter of the agreement it used), in Chinese.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayLine {
    pub item: String,
    pub amount: Yuan,
    pub how: String,
}

impl PayLine {
    pub(crate) fn new(item: &str, amount: Fen, how: String) -> PayLine {
        PayLine {
            item: item.to_string(),
            amount: Yuan(amount),
            how,
        }
    }
}

/// An assessment score (考核得分), 0 to 100 points with at most one decimal, kept in tenths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score(i64);

impl Score {
    pub fn from_tenths(tenths: i64) -> Option<Score> {
        (0..=1000).contains(&tenths).then_some(Score(tenths))
    }

    pub fn points(points: i64) -> Option<Score> {
        Score::from_tenths(points.checked_mul(10)?)
    }

    /// `92.5`, `90`: 0 to 100, at most one decimal.
    pub fn parse(text: &str) -> Option<Score> {
        Score::from_tenths(parse_scaled(text, 1).ok()?)
    }

    pub fn tenths(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 10 == 0 {
            write!(f, "{} 分", self.0 / 10)
        } else {
            write!(f, "{}.{} 分", self.0 / 10, self.0 % 10)
        }
    }
}

/// The validated payment agreement of one 统筹区 and year.
#[derive(Clone, Debug)]
pub struct PaymentPolicy {
    pub name: String,
    pub admdvs: String,
    pub year: u16,
    pub institutions: Vec<Agreement>,
    pub global_budget: Option<GlobalBudgetRule>,
    pub quota: Option<QuotaRule>,
    pub per_diem: Option<PerDiemRule>,
    pub single_disease: Vec<SingleDisease>,
    pub insurer: Option<InsurerRule>,
}

/// One institution's agreement (定点协议): its level and main payment method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub fixmedins_code: String,
    pub name: String,
    pub level: Level,
    pub method: Method,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// 按项目付费: the month's actual fund payments, net of audit deductions.
    FeeForService,
    /// 总额控制: monthly advance of a twelfth of the yearly `budget` of 统筹基金 (`hifp_pay`),
    /// less the withheld quality reserve; elastic settlement at year end.
    GlobalBudget { budget: Fen },
    /// 次均定额: paid monthly by actual, the 统筹 payment per admission checked per quarter.
    PerAdmissionQuota,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::FeeForService => "按项目付费",
            Method::GlobalBudget { .. } => "总额控制",
            Method::PerAdmissionQuota => "次均定额",
        }
    }
}

/// 总额控制 (global budget) year-end rule, one for every budget institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalBudgetRule {
    /// 质量保证金 withheld from each monthly advance (e.g. 10%).
    pub quality_reserve_share: Ratio,
    /// 弹性区间: overrun up to this share of the budget is paid at `overrun_paid_ratio`.
    pub overrun_band: Ratio,
    pub overrun_paid_ratio: Ratio,
    /// 结余留用: this share of the saving under the budget is paid, at most `saving_cap` of the budget.
    pub saving_share: Ratio,
    pub saving_cap: Ratio,
    /// Score at or above which the reserve is returned in full.
    pub reserve_full_score: Score,
    /// Below `reserve_full_score` and at or above this: the reserve × score / 100; below: nothing.
    pub reserve_min_score: Score,
}

/// 次均定额: 统筹基金 (`hifp_pay`) per admission by level, for the listed inpatient `med_types`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaRule {
    pub med_types: Vec<String>,
    pub quotas: Vec<(Level, Fen)>,
}

/// 按床日付费 for long psychiatric stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerDiemRule {
    pub med_types: Vec<String>,
    /// The institutions (`fixmedins_code`) whose long stays are paid per diem.
    pub institutions: Vec<String>,
    /// Stays of at most this many bed days are paid fee-for-service; longer stays pay these
    /// days fee-for-service (pro rata) and each later day at its class's `per_day`.
    pub short_stay_days: u32,
    pub classes: Vec<PerDiemClass>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerDiemClass {
    pub code: String,
    pub name: String,
    /// ICD-10 prefixes.
    pub prefixes: Vec<String>,
    /// 统筹基金 paid per bed day beyond the short-stay days.
    pub per_day: Fen,
}

impl PerDiemRule {
    pub fn class_of(&self, dise_codg: &str) -> Option<&PerDiemClass> {
        self.classes
            .iter()
            .find(|c| matches_prefix(&c.prefixes, dise_codg))
    }
}

/// 单病种: a listed disease with a fixed standard by level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleDisease {
    pub code: String,
    pub name: String,
    pub med_types: Vec<String>,
    pub prefixes: Vec<String>,
    pub standards: Vec<DiseaseStandard>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiseaseStandard {
    pub level: Level,
    /// 定额标准 (the whole cost of the treatment, fund and patient together).
    pub amount: Fen,
    /// The patient's fixed share of the standard.
    pub patient_ratio: Ratio,
}

/// 大病保险承办: premium, payment dates and the year-end corridor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsurerRule {
    pub name: String,
    /// 筹资标准 per insured person per year.
    pub premium_per_insured: Fen,
    /// Months (1–12, increasing) whose last day each instalment is due by.
    pub due_months: Vec<u32>,
    /// 经营管理费用 as a share of the premium.
    pub admin_cost_share: Ratio,
    /// 盈利率上限: profit up to this share of the premium kept by the insurer.
    pub profit_cap: Ratio,
    /// 亏损率上限: loss up to this share of the premium borne by the insurer.
    pub loss_cap: Ratio,
    /// The fund's share of the loss beyond `loss_cap` (the rest is the insurer's).
    pub fund_share_beyond_loss_cap: Ratio,
}

impl InsurerRule {
    /// 经营管理费用 = round(premium × admin_cost_share).
    pub fn admin_cost(&self, premium: Fen) -> Fen {
        crate::money::apply_ratio(premium, self.admin_cost_share)
    }
}

pub(crate) fn matches_prefix(prefixes: &[String], dise_codg: &str) -> bool {
    prefixes.iter().any(|p| dise_codg.starts_with(p.as_str()))
}

impl PaymentPolicy {
    /// Parses and validates a payment agreement (pure: the caller reads the file). `file`
    /// names the source in error messages, as for [`crate::Policy::from_toml`].
    pub fn from_toml(file: &str, text: &str) -> Result<PaymentPolicy, PolicyError> {
        crate::policy::load(file, text, validate::payment)
    }

    pub fn agreement(&self, fixmedins_code: &str) -> Option<&Agreement> {
        self.institutions
            .iter()
            .find(|a| a.fixmedins_code == fixmedins_code)
    }

    /// 次均定额 per admission at `level`.
    pub fn quota_for(&self, level: Level) -> Option<Fen> {
        let q = self.quota.as_ref()?;
        q.quotas.iter().find(|(l, _)| *l == level).map(|(_, f)| *f)
    }

    /// The 单病种 a visit of `med_type` with diagnosis `dise_codg` falls under, with its
    /// standard at `level`; the first listed that matches.
    pub fn single_disease_for(
        &self,
        level: Level,
        med_type: &str,
        dise_codg: &str,
    ) -> Option<(&SingleDisease, DiseaseStandard)> {
        self.single_disease.iter().find_map(|d| {
            if !d.med_types.iter().any(|m| m == med_type) || !matches_prefix(&d.prefixes, dise_codg)
            {
                return None;
            }
            d.standards
                .iter()
                .find(|s| s.level == level)
                .map(|s| (d, *s))
        })
    }
}
