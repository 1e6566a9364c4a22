//! 月度拨付: one institution's monthly statement from its settled visits and audit deductions,
//! and the 总额控制 monthly advance.
//!
//! What is paid: every fund layer and the personal account (`hifp_pay`, `hifob_pay`,
//! `cvlserv_pay`, `hifmi_pay`, `maf_pay`, `oth_pay`, `acct_pay`, `acct_mulaid_pay`) — the
//! bureau pays the institution for all of them and settles with the insurer and the
//! assistance fund apart. Audit deductions (核减) are taken from the 统筹基金 (`hifp_pay`)
//! of the settlement they name. For a 总额控制 institution the 统筹基金 part is replaced by the
//! month's advance (the actual, net of deductions, is reported and counts toward the year-end
//! settlement); the other layers are paid at actual.
//!
//! A stay paid 按床日 (a long stay of a listed class at a listed institution) or 单病种 (a
//! listed diagnosis with a standard at the institution's level) has its 统筹基金 replaced by
//! what that method pays: the difference (`adjustment`) is added to the approved 统筹基金.

use super::*;
use crate::date::Date;
use crate::engine::Amounts;
use crate::money::{apply_ratio, div_round_half_up, format_fen};

/// One settled visit as the store summarises it (reversed ones are counted apart and pay nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettledVisit {
    pub setl_id: String,
    pub fixmedins_code: String,
    pub med_type: String,
    pub dise_codg: String,
    pub begndate: Date,
    /// The statement month is the month of `enddate` (出院/就诊结束).
    pub enddate: Date,
    pub bed_days: u32,
    pub amounts: Amounts,
    pub reversed: bool,
}

/// An audit deduction (核减) of `amount` fen from the 统筹基金 payment of settlement `setl_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deduction {
    pub setl_id: String,
    pub amount: Fen,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MedTypeTotals {
    pub med_type: String,
    pub visits: u64,
    pub amounts: Amounts,
}

/// Sums by payer layer: [`Amounts`] summed over the visits.
pub type PayerTotals = Amounts;

/// The 总额控制 advance of one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advance {
    pub month: u32,
    /// A twelfth of the budget (December takes what the other eleven months left).
    pub gross: Fen,
    /// The month's 质量保证金, a twelfth of round(budget × share), December likewise.
    pub reserve_withheld: Fen,
    pub net: Fen,
    pub lines: Vec<PayLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthlyStatement {
    pub fixmedins_code: String,
    pub name: String,
    pub method: Method,
    pub year: u16,
    pub month: u32,
    pub visits: u64,
    pub reversed_visits: u64,
    pub by_med_type: Vec<MedTypeTotals>,
    pub totals: PayerTotals,
    pub deductions: Fen,
    /// The stays paid 按床日 and 单病种, by `setl_id`.
    pub per_diem: Vec<(String, PerDiem)>,
    pub single_disease: Vec<(String, SingleDiseasePay)>,
    /// The sum of their adjustments (what the method pays − the settlement's 统筹基金).
    pub method_adjustment: Fen,
    /// 统筹基金 approved: `hifp_pay − deductions + method_adjustment` (a budget institution's actual).
    pub hifp_approved: Fen,
    /// The layers paid at actual besides 统筹基金, and the personal account.
    pub other_layers: Fen,
    pub advance: Option<Advance>,
    pub net_payable: Fen,
    pub lines: Vec<PayLine>,
}

/// How one settled visit's 统筹基金 is paid under the agreement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VisitPayment {
    FeeForService,
    PerDiem(PerDiem),
    SingleDisease(SingleDiseasePay),
}

/// 按床日 for a stay longer than the short-stay days of a listed class at a listed
/// institution; else 单病种 for a listed diagnosis with a standard at the institution's level;
/// else fee-for-service.
pub fn visit_payment(
    policy: &PaymentPolicy,
    agreement: &Agreement,
    v: &SettledVisit,
) -> VisitPayment {
    if let Some(rule) = &policy.per_diem {
        let listed = rule.med_types.contains(&v.med_type)
            && rule.institutions.contains(&agreement.fixmedins_code);
        if let Some(d) = per_diem_payment(rule, &v.dise_codg, v.bed_days, v.amounts.hifp_pay)
            .filter(|d| listed && d.long_days > 0)
        {
            return VisitPayment::PerDiem(d);
        }
    }
    match policy.single_disease_for(agreement.level, &v.med_type, &v.dise_codg) {
        Some((d, s)) => VisitPayment::SingleDisease(single_disease_payment(
            d,
            s,
            v.amounts.medfee_sumamt,
            v.amounts.hifp_pay,
        )),
        None => VisitPayment::FeeForService,
    }
}

/// `total` spread over twelve months: round(total / 12) each month (half up), December the
/// rest, so the twelve sum to `total` exactly; December differs from the others by less than
/// 12 fen (6 fen less to 5 fen more).
fn twelfth(total: Fen, month: u32) -> Fen {
    let each = div_round_half_up(i128::from(total), 12) as Fen;
    if month == 12 {
        total - 11 * each
    } else {
        each
    }
}

/// The advance of `month` (1–12) on a yearly `budget`; the twelve months' gross sum to the
/// budget and their reserves to round(budget × `quality_reserve_share`), exactly.
pub fn global_budget_advance(budget: Fen, rule: &GlobalBudgetRule, month: u32) -> Advance {
    assert!((1..=12).contains(&month), "month {month} out of 1..=12");
    let gross = twelfth(budget, month);
    let yearly_reserve = apply_ratio(budget, rule.quality_reserve_share);
    let reserve_withheld = twelfth(yearly_reserve, month);
    let rest = if month == 12 {
        "12 月为全年减去前 11 个月之和，使全年合计恰好等于"
    } else {
        "四舍五入到分；12 月补足差额，全年合计恰好等于"
    };
    let lines = vec![
        PayLine::new(
            "月度预拨（毛额）",
            gross,
            format!("年度预算 {} 元 ÷ 12，{rest}年度预算", format_fen(budget)),
        ),
        PayLine::new(
            "预留质量保证金",
            reserve_withheld,
            format!(
                "全年保证金 = 预算 {} 元 × 质量保证金比例 {}（global_budget.quality_reserve_share）= {} 元，÷ 12，{rest}全年保证金",
                format_fen(budget),
                rule.quality_reserve_share,
                format_fen(yearly_reserve)
            ),
        ),
        PayLine::new(
            "月度预拨（净额）",
            gross - reserve_withheld,
            "预拨毛额 − 预留质量保证金".to_string(),
        ),
    ];
    Advance {
        month,
        gross,
        reserve_withheld,
        net: gross - reserve_withheld,
        lines,
    }
}

/// `t += a`, field by field. The pattern names every field, so a field added to [`Amounts`]
/// does not compile here until it is summed too.
fn add(t: &mut Amounts, a: &Amounts) {
    let Amounts {
        medfee_sumamt,
        fulamt_ownpay_amt,
        overlmt_selfpay,
        preselfpay_amt,
        inscp_scp_amt,
        act_pay_dedc,
        hifp_pay,
        hifmi_pay,
        cvlserv_pay,
        hifob_pay,
        maf_pay,
        oth_pay,
        hosp_part_amt,
        fund_pay_sumamt,
        psn_part_amt,
        acct_pay,
        acct_mulaid_pay,
        psn_cash_pay,
    } = *a;
    t.medfee_sumamt += medfee_sumamt;
    t.fulamt_ownpay_amt += fulamt_ownpay_amt;
    t.overlmt_selfpay += overlmt_selfpay;
    t.preselfpay_amt += preselfpay_amt;
    t.inscp_scp_amt += inscp_scp_amt;
    t.act_pay_dedc += act_pay_dedc;
    t.hifp_pay += hifp_pay;
    t.hifmi_pay += hifmi_pay;
    t.cvlserv_pay += cvlserv_pay;
    t.hifob_pay += hifob_pay;
    t.maf_pay += maf_pay;
    t.oth_pay += oth_pay;
    t.hosp_part_amt += hosp_part_amt;
    t.fund_pay_sumamt += fund_pay_sumamt;
    t.psn_part_amt += psn_part_amt;
    t.acct_pay += acct_pay;
    t.acct_mulaid_pay += acct_mulaid_pay;
    t.psn_cash_pay += psn_cash_pay;
}

/// The unreversed visits' sums, in all and by `med_type` (sorted by code).
fn tally(visits: &[&SettledVisit]) -> (Amounts, Vec<MedTypeTotals>) {
    let mut totals = Amounts::default();
    let mut by_med_type: Vec<MedTypeTotals> = Vec::new();
    for v in visits.iter().filter(|v| !v.reversed) {
        add(&mut totals, &v.amounts);
        let i = match by_med_type.iter().position(|m| m.med_type == v.med_type) {
            Some(i) => i,
            None => {
                by_med_type.push(MedTypeTotals {
                    med_type: v.med_type.clone(),
                    visits: 0,
                    amounts: Amounts::default(),
                });
                by_med_type.len() - 1
            }
        };
        by_med_type[i].visits += 1;
        add(&mut by_med_type[i].amounts, &v.amounts);
    }
    by_med_type.sort_by(|a, b| a.med_type.cmp(&b.med_type));
    (totals, by_med_type)
}

/// The unreversed visits paid 按床日 and 单病种, by `setl_id`.
type MethodPaid = (Vec<(String, PerDiem)>, Vec<(String, SingleDiseasePay)>);

fn method_paid(
    policy: &PaymentPolicy,
    agreement: &Agreement,
    visits: &[&SettledVisit],
) -> MethodPaid {
    let mut per_diem = Vec::new();
    let mut single_disease = Vec::new();
    for v in visits.iter().filter(|v| !v.reversed) {
        match visit_payment(policy, agreement, v) {
            VisitPayment::FeeForService => {}
            VisitPayment::PerDiem(d) => per_diem.push((v.setl_id.clone(), d)),
            VisitPayment::SingleDisease(d) => single_disease.push((v.setl_id.clone(), d)),
        }
    }
    (per_diem, single_disease)
}

/// The layers besides 统筹基金 that the bureau pays the institution at actual, with their names.
fn other_layer_parts(a: &Amounts) -> [(&'static str, Fen); 7] {
    [
        ("职工大额 hifob_pay", a.hifob_pay),
        ("公务员补助 cvlserv_pay", a.cvlserv_pay),
        ("大病保险 hifmi_pay", a.hifmi_pay),
        ("医疗救助 maf_pay", a.maf_pay),
        ("其他 oth_pay", a.oth_pay),
        ("个人账户 acct_pay", a.acct_pay),
        ("共济账户 acct_mulaid_pay", a.acct_mulaid_pay),
    ]
}

/// The statement of institution `fixmedins_code` for `year`-`month`: of `visits`, those of
/// this institution ending in that month count (others are ignored, so the store may pass a
/// wider slice). Refused, in Chinese: an institution without an agreement, a month outside
/// 1–12, a deduction naming no counted settlement, negative, or above its 统筹基金 payment.
pub fn monthly_statement(
    policy: &PaymentPolicy,
    fixmedins_code: &str,
    year: u16,
    month: u32,
    visits: &[SettledVisit],
    deductions: &[Deduction],
) -> Result<MonthlyStatement, String> {
    let agreement = policy.agreement(fixmedins_code).ok_or_else(|| {
        format!("机构 {fixmedins_code} 没有支付协议（协议文件的 [[institution]]）")
    })?;
    if !(1..=12).contains(&month) {
        return Err(format!("月份应为 1 到 12：{month}"));
    }
    let mine: Vec<&SettledVisit> = visits
        .iter()
        .filter(|v| {
            v.fixmedins_code == fixmedins_code
                && v.enddate.year() == year
                && v.enddate.month() == month
        })
        .collect();
    let reversed_visits = mine.iter().filter(|v| v.reversed).count() as u64;
    let visits_count = mine.len() as u64 - reversed_visits;
    let (totals, by_med_type) = tally(&mine);
    let deducted = check_deductions(&mine, deductions)?;
    let (per_diem, single_disease) = method_paid(policy, agreement, &mine);
    let method_adjustment: Fen = per_diem.iter().map(|(_, d)| d.adjustment).sum::<Fen>()
        + single_disease
            .iter()
            .map(|(_, d)| d.adjustment)
            .sum::<Fen>();
    let hifp_approved = totals.hifp_pay - deducted + method_adjustment;
    let others: Fen = other_layer_parts(&totals).iter().map(|(_, f)| f).sum();
    let advance = match agreement.method {
        Method::GlobalBudget { budget } => {
            let rule = policy
                .global_budget
                .as_ref()
                .ok_or("总额控制需要协议文件的 [global_budget] 节")?;
            Some(global_budget_advance(budget, rule, month))
        }
        _ => None,
    };
    let pool_paid = advance.as_ref().map_or(hifp_approved, |a| a.net);
    let mut s = MonthlyStatement {
        fixmedins_code: fixmedins_code.to_string(),
        name: agreement.name.clone(),
        method: agreement.method,
        year,
        month,
        visits: visits_count,
        reversed_visits,
        by_med_type,
        totals,
        deductions: deducted,
        per_diem,
        single_disease,
        method_adjustment,
        hifp_approved,
        other_layers: others,
        advance,
        net_payable: pool_paid + others,
        lines: Vec::new(),
    };
    s.lines = statement_lines(&s, deductions.len());
    Ok(s)
}

/// The statement's lines, each amount with how it was found.
fn statement_lines(s: &MonthlyStatement, deduction_count: usize) -> Vec<PayLine> {
    let per_diem: Fen = s.per_diem.iter().map(|(_, d)| d.adjustment).sum();
    let single: Fen = s.single_disease.iter().map(|(_, d)| d.adjustment).sum();
    let others_how: Vec<String> = other_layer_parts(&s.totals)
        .iter()
        .map(|(name, f)| format!("{name} {} 元", format_fen(*f)))
        .collect();
    let pool_paid = s.net_payable - s.other_layers;
    let pool_how = match &s.advance {
        Some(_) => "总额控制：统筹基金按月度预拨净额拨付；审核后实际计入年终清算".to_string(),
        None => format!("{}：统筹基金按审核后实际拨付", s.method.name()),
    };
    vec![
        PayLine::new(
            "统筹基金（结算合计）",
            s.totals.hifp_pay,
            format!(
                "本月 {} 人次结算的 hifp_pay 之和（另有 {} 笔已冲正，不计）",
                s.visits, s.reversed_visits
            ),
        ),
        PayLine::new(
            "审核扣款",
            s.deductions,
            format!("{deduction_count} 笔核减之和，从所涉结算的统筹基金中扣除"),
        ),
        PayLine::new(
            "按床日调整",
            per_diem,
            format!(
                "{} 笔长期住院按床日付费（[per_diem]）应付 − 结算时统筹基金",
                s.per_diem.len()
            ),
        ),
        PayLine::new(
            "单病种调整",
            single,
            format!(
                "{} 笔单病种（[[single_disease]]）应付 − 结算时统筹基金",
                s.single_disease.len()
            ),
        ),
        PayLine::new(
            "统筹基金（审核后）",
            s.hifp_approved,
            "统筹基金结算合计 − 审核扣款 + 按床日调整 + 单病种调整".to_string(),
        ),
        PayLine::new(
            "其他支付层与个人账户（按实际）",
            s.other_layers,
            others_how.join(" + "),
        ),
        PayLine::new("统筹基金本月拨付", pool_paid, pool_how),
        PayLine::new(
            "本月应拨付",
            s.net_payable,
            "统筹基金本月拨付 + 其他支付层与个人账户".to_string(),
        ),
    ]
}

/// The deductions' sum, each checked against the settlement it names.
fn check_deductions(mine: &[&SettledVisit], deductions: &[Deduction]) -> Result<Fen, String> {
    let mut by_setl: Vec<(&str, Fen)> = Vec::new();
    for d in deductions {
        let visit = mine
            .iter()
            .find(|v| v.setl_id == d.setl_id && !v.reversed)
            .ok_or_else(|| format!("核减的结算 {} 不在本机构本月的有效结算中", d.setl_id))?;
        if d.amount < 0 {
            return Err(format!(
                "结算 {} 的核减金额为负数：{}",
                d.setl_id,
                format_fen(d.amount)
            ));
        }
        let sum = match by_setl.iter_mut().find(|(s, _)| *s == d.setl_id) {
            Some((_, sum)) => {
                *sum += d.amount;
                *sum
            }
            None => {
                by_setl.push((&d.setl_id, d.amount));
                d.amount
            }
        };
        if sum > visit.amounts.hifp_pay {
            return Err(format!(
                "结算 {} 的核减合计 {} 元超过其统筹基金支付 {} 元",
                d.setl_id,
                format_fen(sum),
                format_fen(visit.amounts.hifp_pay)
            ));
        }
    }
    Ok(by_setl.iter().map(|(_, f)| f).sum())
}

/// The 次均定额 check of quarter `quarter` (1–4) for a `per_admission_quota` institution, or
/// `None` for another method. Counted: this institution's unreversed visits of the quota's
/// `med_types` ending in the quarter, paid fee-for-service (stays paid 按床日 or 单病种 are
/// not); their 统筹基金 net of the deductions naming them.
pub fn institution_quarter_quota(
    policy: &PaymentPolicy,
    fixmedins_code: &str,
    year: u16,
    quarter: u32,
    visits: &[SettledVisit],
    deductions: &[Deduction],
) -> Result<Option<QuotaCheck>, String> {
    let agreement = policy.agreement(fixmedins_code).ok_or_else(|| {
        format!("机构 {fixmedins_code} 没有支付协议（协议文件的 [[institution]]）")
    })?;
    if !(1..=4).contains(&quarter) {
        return Err(format!("季度应为 1 到 4：{quarter}"));
    }
    let (Method::PerAdmissionQuota, Some(rule)) = (agreement.method, &policy.quota) else {
        return Ok(None);
    };
    let quota = policy.quota_for(agreement.level).ok_or_else(|| {
        format!(
            "[per_admission_quota] 没有等级 {} 的定额",
            agreement.level.code()
        )
    })?;
    let months = quarter * 3 - 2..=quarter * 3;
    let counted: Vec<&SettledVisit> = visits
        .iter()
        .filter(|v| {
            v.fixmedins_code == fixmedins_code
                && !v.reversed
                && v.enddate.year() == year
                && months.contains(&v.enddate.month())
                && rule.med_types.contains(&v.med_type)
                && visit_payment(policy, agreement, v) == VisitPayment::FeeForService
        })
        .collect();
    let paid: Fen = counted.iter().map(|v| v.amounts.hifp_pay).sum();
    let deducted: Fen = deductions
        .iter()
        .filter(|d| counted.iter().any(|v| v.setl_id == d.setl_id))
        .map(|d| d.amount)
        .sum();
    Ok(Some(quarterly_quota_check(
        quota,
        counted.len() as u64,
        paid - deducted,
    )))
}
