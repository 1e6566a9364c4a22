//! Assertions where money moves, checked in release builds at the point of recording (as
//! TigerBeetle does): a settlement whose amounts break the split identities, pay a negative
//! amount, or push a counter past its cap is a fault — the ledger records nothing of it.

use crate::engine::{Settlement, YearAccumulators};
use crate::money::Fen;
use crate::policy::Policy;
use std::fmt;

/// A broken invariant: a defect in the engine or the policy, never the caller's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "结算不变量被破坏（未记账）：{}", self.0)
    }
}

impl std::error::Error for Violation {}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Violation> {
    if ok {
        Ok(())
    } else {
        Err(Violation(what()))
    }
}

/// Checks a settlement about to be recorded, with the person-year's accumulators `after` it.
pub fn settlement(
    policy: &Policy,
    s: &Settlement,
    after: &YearAccumulators,
) -> Result<(), Violation> {
    let a = &s.amounts;
    for (name, v) in a.fields() {
        ensure(v >= 0, || format!("{name} 为负数 {v} 分"))?;
    }
    ensure(
        a.fulamt_ownpay_amt + a.overlmt_selfpay + a.preselfpay_amt + a.inscp_scp_amt
            == a.medfee_sumamt,
        || format!("全自费 + 超限价 + 先行自付 + 政策范围内 ≠ 总费用：{a:?}"),
    )?;
    ensure(
        a.hifp_pay + a.hifmi_pay + a.cvlserv_pay + a.hifob_pay + a.maf_pay + a.oth_pay
            == a.fund_pay_sumamt,
        || format!("各基金支付之和 ≠ 基金支付合计：{a:?}"),
    )?;
    ensure(
        a.fund_pay_sumamt + a.psn_part_amt + a.hosp_part_amt == a.medfee_sumamt,
        || format!("基金支付 + 个人负担 + 医院负担 ≠ 总费用：{a:?}"),
    )?;
    ensure(
        a.acct_pay + a.acct_mulaid_pay + a.psn_cash_pay == a.psn_part_amt,
        || format!("个人账户 + 共济 + 现金 ≠ 个人负担：{a:?}"),
    )?;
    let lines: Fen = s.funds.funds().map(|l| l.amount).sum();
    ensure(lines == a.fund_pay_sumamt, || {
        format!(
            "基金分项合计 {lines} 分 ≠ 基金支付合计 {} 分（政策 [fund_pay_types] 缺少某支付项？）",
            a.fund_pay_sumamt
        )
    })?;
    caps(policy, &s.delta, after)?;
    counters_not_negative(after)
}

/// The personal account, and a family member's account under 家庭共济, pay no more than
/// their balances and never leave them below zero.
pub fn account(s: &Settlement, balance: Fen, aid_balance: Fen) -> Result<(), Violation> {
    ensure(s.amounts.acct_pay <= balance.max(0), || {
        format!(
            "个人账户支付 {} 分超过余额 {balance} 分",
            s.amounts.acct_pay
        )
    })?;
    ensure(s.amounts.acct_mulaid_pay <= aid_balance.max(0), || {
        format!(
            "家庭共济支付 {} 分超过共济账户余额 {aid_balance} 分",
            s.amounts.acct_mulaid_pay
        )
    })
}

/// Checks the accumulators a reversal leaves behind.
pub fn reversal(after: &YearAccumulators) -> Result<(), Violation> {
    counters_not_negative(after)
}

fn counters_not_negative(after: &YearAccumulators) -> Result<(), Violation> {
    ensure(after.to_array().iter().all(|&v| v >= 0), || {
        format!("年度累计值出现负数：{after:?}")
    })
}

/// No counter this settlement added to ends above its cap.
fn caps(
    policy: &Policy,
    delta: &YearAccumulators,
    after: &YearAccumulators,
) -> Result<(), Violation> {
    let check = |name: &str, added: Fen, total: Fen, cap: Option<Fen>| {
        ensure(added == 0 || cap.is_none_or(|c| total <= c), || {
            format!(
                "{name} 年度累计 {total} 分超过封顶 {} 分",
                cap.unwrap_or_default()
            )
        })
    };
    let b = &policy.basic;
    check(
        "统筹基金",
        delta.basic_paid,
        after.basic_paid,
        Some(b.annual_cap),
    )?;
    if let Some(o) = &b.outpatient {
        check(
            "门诊统筹",
            delta.outpatient_paid,
            after.outpatient_paid,
            Some(o.annual_cap.max()),
        )?;
    }
    if let Some(c) = &b.chronic {
        for (i, class) in c.classes.iter().enumerate() {
            let cap = class
                .annual_cap
                .map(|(base, extra)| base + extra * (class.groups.len() as Fen - 1).max(0));
            check(
                &class.name,
                delta.chronic_paid[i],
                after.chronic_paid[i],
                cap,
            )?;
        }
    }
    if let Some(c) = &policy.critical {
        check(
            &c.name,
            delta.critical_paid,
            after.critical_paid,
            c.annual_cap,
        )?;
    }
    for (i, s) in policy.supplementary.iter().enumerate() {
        check(
            &s.name,
            delta.supplementary_paid[i],
            after.supplementary_paid[i],
            s.annual_cap,
        )?;
    }
    if let Some(m) = &policy.assistance {
        check(
            &m.name,
            delta.assistance_paid,
            after.assistance_paid,
            m.annual_cap,
        )?;
    }
    if let Some(o) = &policy.over_cap {
        check(
            &o.name,
            delta.over_cap_paid,
            after.over_cap_paid,
            o.annual_cap,
        )?;
    }
    if let Some(o) = &policy.subsidy {
        check(
            &o.name,
            delta.subsidy_paid,
            after.subsidy_paid,
            o.annual_cap,
        )?;
    }
    Ok(())
}
