//! Settlements of the payment methods beyond fee-for-service: 总额控制 year end, 次均定额 per
//! quarter, 按床日 and 单病种 per stay. Pure functions; every amount explained.

use super::*;
use crate::money::{apply_ratio, div_round_half_up, format_fen};

/// Where the year's actual fell against the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BudgetZone {
    /// 未超预算（含持平）
    Under,
    /// 超预算，在弹性区间内
    WithinBand,
    /// 超出弹性区间
    BeyondBand,
}

/// 总额控制年终清算.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearEnd {
    pub zone: BudgetZone,
    pub budget: Fen,
    /// The year's 统筹基金 after audit deductions (the monthly statements' `hifp_approved`).
    pub actual: Fen,
    /// Under budget: budget − actual; the share of it paid (结余留用), capped.
    pub saving: Fen,
    pub saving_bonus: Fen,
    /// round(budget × overrun_band) and round(budget × saving_cap).
    pub band: Fen,
    pub saving_cap: Fen,
    /// Over budget: actual − budget; the part within the band paid at the ratio.
    pub overrun: Fen,
    pub overrun_paid: Fen,
    /// The overrun beyond the band.
    pub beyond_band: Fen,
    /// Everything of the overrun not paid (the band's unpaid share and all beyond it).
    pub borne_by_hospital: Fen,
    /// 年终认定额: what the year's work earns before the reserve is assessed.
    pub recognized: Fen,
    pub score: Score,
    pub reserve_withheld: Fen,
    pub reserve_returned: Fen,
    pub reserve_forfeited: Fen,
    /// recognized − reserve_forfeited: what the institution gets for the year.
    pub total_due: Fen,
    pub advances_paid: Fen,
    /// total_due − advances_paid: positive paid to the institution, negative recovered (追回).
    pub balance: Fen,
    pub lines: Vec<PayLine>,
}

/// 总额控制 year-end elastic settlement.
///
/// - Under budget: actual + min(round(saving × `saving_share`), round(budget × `saving_cap`)).
/// - Over, within round(budget × `overrun_band`): budget + round(overrun × `overrun_paid_ratio`).
/// - Beyond the band: budget + round(band × `overrun_paid_ratio`); the rest borne by the hospital.
/// - 质量保证金 returned by score: at or above `reserve_full_score` in full; at or above
///   `reserve_min_score` round(reserve × score / 100); below, nothing. What is not returned
///   is forfeited from the recognised amount.
///
/// `advances_paid` are the net advances (after withholding), `reserve_withheld` the year's
/// withheld reserve (together the gross advances).
pub fn year_end_global_budget(
    budget: Fen,
    actual: Fen,
    advances_paid: Fen,
    reserve_withheld: Fen,
    score: Score,
    rule: &GlobalBudgetRule,
) -> YearEnd {
    let band = apply_ratio(budget, rule.overrun_band);
    let saving = (budget - actual).max(0);
    let overrun = (actual - budget).max(0);
    let zone = if overrun == 0 {
        BudgetZone::Under
    } else if overrun <= band {
        BudgetZone::WithinBand
    } else {
        BudgetZone::BeyondBand
    };
    let saving_cap = apply_ratio(budget, rule.saving_cap);
    let saving_bonus = apply_ratio(saving, rule.saving_share).min(saving_cap);
    let overrun_paid = apply_ratio(overrun.min(band), rule.overrun_paid_ratio);
    let beyond_band = overrun - overrun.min(band);
    let borne_by_hospital = overrun - overrun_paid;
    let recognized = actual.min(budget) + saving_bonus + overrun_paid;
    let reserve_returned = if score >= rule.reserve_full_score {
        reserve_withheld
    } else if score >= rule.reserve_min_score {
        div_round_half_up(
            i128::from(reserve_withheld) * i128::from(score.tenths()),
            1000,
        ) as Fen
    } else {
        0
    };
    let reserve_forfeited = reserve_withheld - reserve_returned;
    let total_due = recognized - reserve_forfeited;
    let mut e = YearEnd {
        zone,
        budget,
        actual,
        band,
        saving_cap,
        saving,
        saving_bonus,
        overrun,
        overrun_paid,
        beyond_band,
        borne_by_hospital,
        recognized,
        score,
        reserve_withheld,
        reserve_returned,
        reserve_forfeited,
        total_due,
        advances_paid,
        balance: total_due - advances_paid,
        lines: Vec::new(),
    };
    e.lines = year_end_lines(&e, rule);
    e
}

/// The year end's lines, each amount with how it was found.
fn year_end_lines(e: &YearEnd, rule: &GlobalBudgetRule) -> Vec<PayLine> {
    let y = |f: Fen| format_fen(f);
    let mut lines = vec![PayLine::new(
        "年度预算",
        e.budget,
        "协议文件 [[institution]] 的 budget".to_string(),
    )];
    lines.push(PayLine::new(
        "年度实际（审核后统筹基金）",
        e.actual,
        "全年各月审核后统筹基金之和".to_string(),
    ));
    match e.zone {
        BudgetZone::Under => lines.push(PayLine::new(
            "结余留用",
            e.saving_bonus,
            format!(
                "结余 {} 元 × 留用比例 {}（global_budget.saving_share）= {} 元，上限为预算 × {}（global_budget.saving_cap）= {} 元，取较小者",
                y(e.saving),
                rule.saving_share,
                y(apply_ratio(e.saving, rule.saving_share)),
                rule.saving_cap,
                y(e.saving_cap)
            ),
        )),
        _ => {
            lines.push(PayLine::new(
                "弹性区间内超支支付",
                e.overrun_paid,
                format!(
                    "超支 {} 元中弹性区间（预算 × {} = {} 元，global_budget.overrun_band）内的 {} 元 × 支付比例 {}（global_budget.overrun_paid_ratio）",
                    y(e.overrun),
                    rule.overrun_band,
                    y(e.band),
                    y(e.overrun.min(e.band)),
                    rule.overrun_paid_ratio
                ),
            ));
            lines.push(PayLine::new(
                "医院承担的超支",
                e.borne_by_hospital,
                format!(
                    "超支 {} 元 − 弹性区间内支付 {} 元（其中超出弹性区间的 {} 元全部由医院承担）",
                    y(e.overrun),
                    y(e.overrun_paid),
                    y(e.beyond_band)
                ),
            ));
        }
    }
    lines.push(PayLine::new(
        "年终认定额",
        e.recognized,
        "min(实际, 预算) + 结余留用 + 弹性区间内超支支付".to_string(),
    ));
    let how = if e.score >= rule.reserve_full_score {
        format!(
            "考核得分 {} ≥ {}（global_budget.reserve_full_score），全额返还",
            e.score, rule.reserve_full_score
        )
    } else if e.score >= rule.reserve_min_score {
        format!(
            "考核得分 {} 低于全额返还线 {}、不低于 {}（global_budget.reserve_min_score）：保证金 {} 元 × 得分 ÷ 100",
            e.score,
            rule.reserve_full_score,
            rule.reserve_min_score,
            y(e.reserve_withheld)
        )
    } else {
        format!(
            "考核得分 {} 低于 {}（global_budget.reserve_min_score），不予返还",
            e.score, rule.reserve_min_score
        )
    };
    lines.push(PayLine::new("返还质量保证金", e.reserve_returned, how));
    lines.push(PayLine::new(
        "扣留质量保证金",
        e.reserve_forfeited,
        format!(
            "预留保证金 {} 元 − 返还 {} 元",
            y(e.reserve_withheld),
            y(e.reserve_returned)
        ),
    ));
    lines.push(PayLine::new(
        "全年应拨付",
        e.total_due,
        "年终认定额 − 扣留质量保证金".to_string(),
    ));
    lines.push(PayLine::new(
        "已预拨（净额）",
        e.advances_paid,
        "各月预拨净额之和".to_string(),
    ));
    lines.push(PayLine::new(
        if e.balance >= 0 {
            "年终补拨"
        } else {
            "年终追回"
        },
        e.balance.abs(),
        "全年应拨付 − 已预拨".to_string(),
    ));
    lines
}

/// 次均定额 quarterly check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaCheck {
    pub quota_per_admission: Fen,
    pub admissions: u64,
    /// quota × admissions
    pub allowed: Fen,
    /// The quarter's 统筹基金 (`hifp_pay`, after audit deductions) for those admissions.
    pub actual: Fen,
    /// round(actual / admissions), shown only.
    pub average: Fen,
    /// max(0, actual − allowed), deducted from the next payment.
    pub deduction: Fen,
    pub lines: Vec<PayLine>,
}

/// The quota caps the 统筹基金 payment (`hifp_pay`) per admission, not the medical cost: it is
/// the fund's money the bureau controls. Admissions paid per diem or per disease are the
/// caller's to leave out.
pub fn quarterly_quota_check(quota_per_admission: Fen, admissions: u64, actual: Fen) -> QuotaCheck {
    let allowed = quota_per_admission * admissions as Fen;
    let average = if admissions == 0 {
        0
    } else {
        div_round_half_up(i128::from(actual), i128::from(admissions)) as Fen
    };
    let deduction = (actual - allowed).max(0);
    let y = |f: Fen| format_fen(f);
    let lines = vec![
        PayLine::new(
            "定额总额",
            allowed,
            format!(
                "次均定额 {} 元（per_admission_quota.quota.per_admission）× {admissions} 人次",
                y(quota_per_admission)
            ),
        ),
        PayLine::new(
            "实际统筹支付",
            actual,
            format!("本季度住院统筹基金（审核后）之和，次均 {} 元", y(average)),
        ),
        PayLine::new(
            "超定额扣减",
            deduction,
            format!("max(0, 实际 {} 元 − 定额总额 {} 元)", y(actual), y(allowed)),
        ),
    ];
    QuotaCheck {
        quota_per_admission,
        admissions,
        allowed,
        actual,
        average,
        deduction,
        lines,
    }
}

/// 按床日 settlement of one stay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerDiem {
    pub class_code: String,
    pub bed_days: u32,
    /// Days paid fee-for-service (at most the short-stay quota) and days paid per diem.
    pub short_days: u32,
    pub long_days: u32,
    /// round(fund_paid × short_days / bed_days): the fee-for-service part.
    pub short_part: Fen,
    /// fund_paid − short_part: what the settlement paid for the long days.
    pub long_actual: Fen,
    /// per_day × long_days
    pub standard: Fen,
    /// short_part + standard
    pub payable: Fen,
    /// max(0, long_actual − standard): 超支不补.
    pub borne_by_hospital: Fen,
    /// max(0, standard − long_actual): 结余留用.
    pub kept_by_hospital: Fen,
    /// payable − fund_paid, added to (or, negative, taken from) the institution's payment.
    pub adjustment: Fen,
    pub lines: Vec<PayLine>,
}

/// A stay under `rule`, or `None` when its diagnosis is in no class (fee-for-service then).
/// `fund_paid` is the stay's 统筹基金 (`hifp_pay`); `per_day` is 统筹基金 per bed day. A stay
/// of at most `short_stay_days` is paid fee-for-service; a longer one pays those days pro rata
/// of its fund payment and each further day at the standard, whatever it cost.
pub fn per_diem_payment(
    rule: &PerDiemRule,
    dise_codg: &str,
    bed_days: u32,
    fund_paid: Fen,
) -> Option<PerDiem> {
    let class = rule.class_of(dise_codg)?;
    let short_days = bed_days.min(rule.short_stay_days);
    let long_days = bed_days - short_days;
    let short_part = if long_days == 0 {
        fund_paid
    } else {
        div_round_half_up(
            i128::from(fund_paid) * i128::from(short_days),
            i128::from(bed_days),
        ) as Fen
    };
    let long_actual = fund_paid - short_part;
    let standard = class.per_day * Fen::from(long_days);
    let payable = short_part + standard;
    let borne_by_hospital = (long_actual - standard).max(0);
    let kept_by_hospital = (standard - long_actual).max(0);
    let y = |f: Fen| format_fen(f);
    let mut lines = vec![PayLine::new(
        "短期住院部分（按项目）",
        short_part,
        if long_days == 0 {
            format!(
                "住院 {bed_days} 天，不超过短期住院 {} 天（per_diem.short_stay_days），统筹基金 {} 元按项目付费",
                rule.short_stay_days,
                y(fund_paid)
            )
        } else {
            format!(
                "统筹基金 {} 元 × {short_days} 天 ÷ {bed_days} 天（前 {} 天按项目，per_diem.short_stay_days）",
                y(fund_paid),
                rule.short_stay_days
            )
        },
    )];
    if long_days > 0 {
        lines.push(PayLine::new(
            "床日付费部分",
            standard,
            format!(
                "{}（{}）床日标准 {} 元/天 × {long_days} 天",
                class.name,
                class.code,
                y(class.per_day)
            ),
        ));
        lines.push(PayLine::new(
            "超标准由医院承担",
            borne_by_hospital,
            format!(
                "max(0, 后段实际统筹 {} 元 − 床日标准 {} 元)",
                y(long_actual),
                y(standard)
            ),
        ));
        lines.push(PayLine::new(
            "结余由医院留用",
            kept_by_hospital,
            format!(
                "max(0, 床日标准 {} 元 − 后段实际统筹 {} 元)",
                y(standard),
                y(long_actual)
            ),
        ));
    }
    lines.push(PayLine::new(
        "应付统筹基金",
        payable,
        "短期住院部分 + 床日付费部分".to_string(),
    ));
    Some(PerDiem {
        class_code: class.code.clone(),
        bed_days,
        short_days,
        long_days,
        short_part,
        long_actual,
        standard,
        payable,
        borne_by_hospital,
        kept_by_hospital,
        adjustment: payable - fund_paid,
        lines,
    })
}

/// 单病种 settlement of one stay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleDiseasePay {
    pub code: String,
    pub standard: Fen,
    /// round(standard × patient_ratio): the patient pays this fixed share.
    pub patient_share: Fen,
    /// standard − patient_share: the fund pays this whatever the stay cost.
    pub payable: Fen,
    /// max(0, medfee_sumamt − standard): 超出标准由医院承担.
    pub borne_by_hospital: Fen,
    /// max(0, standard − medfee_sumamt): 结余归医院.
    pub kept_by_hospital: Fen,
    /// payable − fund_paid (the settlement's 统筹基金).
    pub adjustment: Fen,
    pub lines: Vec<PayLine>,
}

/// A listed disease's stay: the fund pays the standard less the patient's fixed share; the
/// cost above the standard is the hospital's, a cost below it leaves the hospital the rest.
/// `standard` is the disease's row for the institution's level ([`PaymentPolicy::single_disease_for`]).
pub fn single_disease_payment(
    disease: &SingleDisease,
    standard: DiseaseStandard,
    medfee_sumamt: Fen,
    fund_paid: Fen,
) -> SingleDiseasePay {
    let patient_share = apply_ratio(standard.amount, standard.patient_ratio);
    let payable = standard.amount - patient_share;
    let borne_by_hospital = (medfee_sumamt - standard.amount).max(0);
    let kept_by_hospital = (standard.amount - medfee_sumamt).max(0);
    let y = |f: Fen| format_fen(f);
    let lines = vec![
        PayLine::new(
            "病种定额标准",
            standard.amount,
            format!(
                "{}（{}）在 {} 级机构的标准（single_disease.standard.amount）",
                disease.name,
                disease.code,
                standard.level.code()
            ),
        ),
        PayLine::new(
            "个人负担",
            patient_share,
            format!(
                "标准 {} 元 × 个人负担比例 {}（single_disease.standard.patient_ratio）",
                y(standard.amount),
                standard.patient_ratio
            ),
        ),
        PayLine::new(
            "应付统筹基金",
            payable,
            "病种定额标准 − 个人负担".to_string(),
        ),
        PayLine::new(
            "超标准由医院承担",
            borne_by_hospital,
            format!("max(0, 实际费用 {} 元 − 标准)", y(medfee_sumamt)),
        ),
        PayLine::new(
            "结余归医院",
            kept_by_hospital,
            format!("max(0, 标准 − 实际费用 {} 元)", y(medfee_sumamt)),
        ),
        PayLine::new(
            "对结算统筹基金的调整",
            payable - fund_paid,
            format!(
                "应付 {} 元 − 结算时统筹基金 {} 元",
                y(payable),
                y(fund_paid)
            ),
        ),
    ];
    SingleDiseasePay {
        code: disease.code.clone(),
        standard: standard.amount,
        patient_share,
        payable,
        borne_by_hospital,
        kept_by_hospital,
        adjustment: payable - fund_paid,
        lines,
    }
}
