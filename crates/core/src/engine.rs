//! The one settlement engine: a validated claim and the person's year-to-date accumulators in,
//! every payer's amount, the accumulator change and (on request) the explanation out.
//!
//! Pure: no I/O, no clock, no allocation on the hot path unless an explanation is asked for.
//! Layers run in the order of the policy sheet: line classification → 基本医保统筹 →
//! 大病保险 → supplementary layers → 医疗救助 → 兜底.

use crate::claim::{scaled_product_fen, Claim, Line};
use crate::explain::{Explanation, LayerExplanation, LineExplanation, SegmentExplanation, Yuan};
use crate::money::{apply_ratio, div_round_half_up, Fen, Ratio, PPM_ONE};
use crate::policy::{
    ChronicRatio, FundField, Policy, RepeatRule, Tilt, VisitKind, MAX_CHRONIC_CLASSES,
    MAX_SUPPLEMENTARY,
};
use crate::refdata::{CatalogItem, ItemClass, Person, RefData};

/// A person's running totals for one calendar year. Every field is additive, so a settlement's
/// change is itself a `YearAccumulators` and a reversal subtracts exactly what was added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct YearAccumulators {
    /// Settled, not reversed inpatient admissions (for 再次住院起付线).
    pub admissions: i64,
    /// 统筹基金 paid toward the basic annual cap (inpatient + 门诊慢特病).
    pub basic_paid: Fen,
    /// 门诊统筹 deductible used.
    pub outpatient_deductible: Fen,
    /// 门诊统筹 paid.
    pub outpatient_paid: Fen,
    /// 门诊慢特病 paid, per class.
    pub chronic_paid: [Fen; MAX_CHRONIC_CLASSES],
    /// 大病 compliant burden accumulated (`cb`).
    pub critical_base: Fen,
    /// 大病 paid.
    pub critical_paid: Fen,
    /// Supplementary layers paid, per layer.
    pub supplementary_paid: [Fen; MAX_SUPPLEMENTARY],
    /// 医疗救助 base accumulated (`mb`) over visits that qualified.
    pub assistance_base: Fen,
    /// 医疗救助 paid.
    pub assistance_paid: Fen,
    /// 大额医疗费用补助 paid (`over_cap`).
    pub over_cap_paid: Fen,
    /// The person-flag layer paid (公务员医疗补助, `subsidy`).
    pub subsidy_paid: Fen,
    /// 个人账户 paid this year (the batch's balance is the opening balance less this).
    pub account_paid: Fen,
}

impl YearAccumulators {
    fn zip_with(&mut self, other: &YearAccumulators, f: impl Fn(i64, i64) -> i64) {
        self.admissions = f(self.admissions, other.admissions);
        self.basic_paid = f(self.basic_paid, other.basic_paid);
        self.outpatient_deductible = f(self.outpatient_deductible, other.outpatient_deductible);
        self.outpatient_paid = f(self.outpatient_paid, other.outpatient_paid);
        for (a, b) in self.chronic_paid.iter_mut().zip(other.chronic_paid) {
            *a = f(*a, b);
        }
        self.critical_base = f(self.critical_base, other.critical_base);
        self.critical_paid = f(self.critical_paid, other.critical_paid);
        for (a, b) in self
            .supplementary_paid
            .iter_mut()
            .zip(other.supplementary_paid)
        {
            *a = f(*a, b);
        }
        self.assistance_base = f(self.assistance_base, other.assistance_base);
        self.assistance_paid = f(self.assistance_paid, other.assistance_paid);
        self.over_cap_paid = f(self.over_cap_paid, other.over_cap_paid);
        self.subsidy_paid = f(self.subsidy_paid, other.subsidy_paid);
        self.account_paid = f(self.account_paid, other.account_paid);
    }

    pub fn add(&mut self, delta: &YearAccumulators) {
        self.zip_with(delta, |a, b| a + b);
    }

    pub fn subtract(&mut self, delta: &YearAccumulators) {
        self.zip_with(delta, |a, b| a - b);
    }

    pub fn is_zero(&self) -> bool {
        *self == YearAccumulators::default()
    }

    /// Number of counters (the length of [`YearAccumulators::to_array`]).
    pub const COUNTERS: usize = 11 + MAX_CHRONIC_CLASSES + MAX_SUPPLEMENTARY;

    /// Counters a stored row written before the employee layers holds: the ones after are
    /// zero in it (new counters are only ever appended).
    pub const COUNTERS_BEFORE_EMPLOYEE: usize = 8 + MAX_CHRONIC_CLASSES + MAX_SUPPLEMENTARY;

    /// Every counter, in declaration order.
    pub fn to_array(&self) -> [i64; Self::COUNTERS] {
        let mut out = [0; Self::COUNTERS];
        let mut i = 0;
        let mut push = |v: i64| {
            out[i] = v;
            i += 1;
        };
        push(self.admissions);
        push(self.basic_paid);
        push(self.outpatient_deductible);
        push(self.outpatient_paid);
        self.chronic_paid.iter().for_each(|&v| push(v));
        push(self.critical_base);
        push(self.critical_paid);
        self.supplementary_paid.iter().for_each(|&v| push(v));
        push(self.assistance_base);
        push(self.assistance_paid);
        push(self.over_cap_paid);
        push(self.subsidy_paid);
        push(self.account_paid);
        out
    }

    /// The inverse of [`YearAccumulators::to_array`].
    pub fn from_array(a: &[i64; Self::COUNTERS]) -> YearAccumulators {
        let mut it = a.iter().copied();
        let mut next = || it.next().unwrap_or_default();
        YearAccumulators {
            admissions: next(),
            basic_paid: next(),
            outpatient_deductible: next(),
            outpatient_paid: next(),
            chronic_paid: std::array::from_fn(|_| next()),
            critical_base: next(),
            critical_paid: next(),
            supplementary_paid: std::array::from_fn(|_| next()),
            assistance_base: next(),
            assistance_paid: next(),
            over_cap_paid: next(),
            subsidy_paid: next(),
            account_paid: next(),
        }
    }
}

/// What one settlement pays, by the national field names (`interface.md` §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub hifp_pay: Fen,
    pub hifmi_pay: Fen,
    pub cvlserv_pay: Fen,
    pub hifob_pay: Fen,
    pub maf_pay: Fen,
    pub oth_pay: Fen,
    pub hosp_part_amt: Fen,
    pub fund_pay_sumamt: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    /// 个人账户共济支付: paid from a family member's account (家庭共济).
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
}

impl Amounts {
    /// Field names and values in output order.
    pub fn fields(&self) -> [(&'static str, Fen); 18] {
        [
            ("medfee_sumamt", self.medfee_sumamt),
            ("fulamt_ownpay_amt", self.fulamt_ownpay_amt),
            ("overlmt_selfpay", self.overlmt_selfpay),
            ("preselfpay_amt", self.preselfpay_amt),
            ("inscp_scp_amt", self.inscp_scp_amt),
            ("act_pay_dedc", self.act_pay_dedc),
            ("hifp_pay", self.hifp_pay),
            ("hifmi_pay", self.hifmi_pay),
            ("cvlserv_pay", self.cvlserv_pay),
            ("hifob_pay", self.hifob_pay),
            ("maf_pay", self.maf_pay),
            ("oth_pay", self.oth_pay),
            ("hosp_part_amt", self.hosp_part_amt),
            ("fund_pay_sumamt", self.fund_pay_sumamt),
            ("psn_part_amt", self.psn_part_amt),
            ("acct_pay", self.acct_pay),
            ("acct_mulaid_pay", self.acct_mulaid_pay),
            ("psn_cash_pay", self.psn_cash_pay),
        ]
    }
}

/// Everything one settlement causes: what each payer pays, the accumulator change, the
/// per-fund lines (`setldetail`) and, on request, the explanation. Every ledger records this
/// one value (`ledger::LedgerStore`); fund postings and audit findings join it here.
#[derive(Clone, Debug)]
pub struct Settlement {
    /// The person (index into the reference data's persons).
    pub person: u32,
    /// The institution (index into the reference data's institutions).
    pub institution: u32,
    pub amounts: Amounts,
    /// Who pays what, by national fund pay type (from the policy's `[fund_pay_types]`).
    pub funds: crate::funds::FundLines,
    /// The basic fund's effective ratio for this visit (`pool_prop_selfpay` on the wire).
    pub basic_ratio: Ratio,
    /// Year of the accumulators this settlement changes.
    pub year: u16,
    /// What to add to the person's accumulators for `year`.
    pub delta: YearAccumulators,
    /// 家庭共济: what a family member's account paid (their `account_paid` grows by it).
    pub aid: Option<AidPayment>,
    pub explanation: Option<Box<Explanation>>,
}

/// A payment from a family member's personal account (个人账户家庭共济).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AidPayment {
    /// The account holder's `psn_no`.
    pub holder: String,
    /// The holder's index in the reference data, where it holds them (the batch).
    pub holder_index: Option<u32>,
    pub amount: Fen,
}

/// The personal accounts a visit may draw on, before it: the person's own and, under an
/// approved 家庭共济 registration, a family member's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wallets {
    pub own: Fen,
    /// The holder (`psn_no`, index where known) and their balance.
    pub aid: Option<(String, Option<u32>, Fen)>,
}

/// The slice `(before, before + add]` measured above `threshold`: `(lo, hi)` above it.
fn slice_above(before: Fen, add: Fen, threshold: Fen) -> (Fen, Fen) {
    let lo = before.max(threshold) - threshold;
    let hi = (before + add).max(threshold) - threshold;
    (lo, hi)
}

fn first_tilt<'t>(tilts: &'t [Tilt], person: &Person, on: crate::date::Date) -> Option<&'t Tilt> {
    tilts
        .iter()
        .find(|t| t.categories.iter().any(|c| person.holds_category(c, on)))
}

/// How one fee line divides (§2 line classification): 全自费, 超限价自付, 先行自付 and the
/// part within the policy scope. The four always add up to the line's amount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineSplit {
    pub fulamt: Fen,
    pub over: Fen,
    pub pre: Fen,
    pub inscp: Fen,
}

/// Splits a validated line of `item` (the gateway reports this per line in 2204/2301).
pub fn split_line(item: &CatalogItem, line: &Line) -> LineSplit {
    let mut s = LineSplit::default();
    if item.class == ItemClass::C {
        s.fulamt = line.amount;
        return s;
    }
    if let Some(limit) = item.price_limit {
        if line.price > limit {
            s.over = scaled_product_fen(line.price - limit, line.qty);
        }
    }
    let b = line.amount - s.over;
    if item.class == ItemClass::B {
        s.pre = apply_ratio(b, item.selfpay_prop);
    }
    s.inscp = b - s.pre;
    s
}

/// Remaining room under a cap (never negative).
fn room(cap: Fen, used: Fen) -> Fen {
    (cap - used).max(0)
}

/// One computation in progress: its inputs and what is worked out so far. Each layer is a
/// method, run in the order of the policy sheet by [`compute`].
struct Run<'p, 'c> {
    policy: &'p Policy,
    refdata: &'p RefData,
    claim: &'p Claim<'c>,
    acc: &'p YearAccumulators,
    person: &'p Person,
    level: crate::refdata::Level,
    on: crate::date::Date,
    /// 退休 (ratios, deductibles and caps by status).
    retired: bool,
    /// The personal accounts' balances before this visit.
    wallets: &'p Wallets,
    aid: Option<AidPayment>,
    ex: Option<Box<Explanation>>,
    a: Amounts,
    delta: YearAccumulators,
    basic_ratio: Ratio,
    /// The basic layer's base and its payment before any cap (`pb`, `u`).
    pool_base: Fen,
    uncapped: Fen,
}

/// Computes a validated claim against the person's accumulators for the claim's year and
/// the personal accounts' balances before the visit (`Wallets::default()` where none).
/// Does not change anything: the caller applies `delta` (and `aid`) where it keeps state.
pub fn compute(
    policy: &Policy,
    refdata: &RefData,
    claim: &Claim<'_>,
    acc: &YearAccumulators,
    wallets: &Wallets,
    explain: bool,
) -> Settlement {
    let person = &refdata.persons[claim.person as usize];
    let mut run = Run {
        policy,
        refdata,
        claim,
        acc,
        person,
        level: refdata.institutions()[claim.institution as usize].level,
        on: claim.enddate,
        retired: person.scheme.retired,
        wallets,
        aid: None,
        ex: explain.then(Box::<Explanation>::default),
        a: Amounts::default(),
        delta: YearAccumulators::default(),
        basic_ratio: Ratio::ZERO,
        pool_base: 0,
        uncapped: 0,
    };
    run.classify_lines();
    match claim.kind {
        VisitKind::Inpatient => run.basic_inpatient(),
        VisitKind::Outpatient => run.basic_outpatient(),
        VisitKind::Chronic => run.basic_chronic(),
    }
    run.over_cap();
    run.subsidy();
    let compliant_burden = run.critical();
    let (remaining_burden, supplementary_total) = run.supplementary(compliant_burden);
    run.assistance(remaining_burden);
    run.ceiling(supplementary_total);
    run.finish()
}

impl Run<'_, '_> {
    fn applies(&self, med_types: &[String]) -> bool {
        med_types.iter().any(|m| m == self.claim.med_type)
    }

    /// §2 line classification.
    fn classify_lines(&mut self) {
        for line in &self.claim.lines {
            let item = &self.refdata.catalog()[line.item as usize];
            let amount = line.amount;
            let LineSplit {
                fulamt,
                over,
                pre,
                inscp,
            } = split_line(item, line);
            self.a.medfee_sumamt += amount;
            self.a.fulamt_ownpay_amt += fulamt;
            self.a.overlmt_selfpay += over;
            self.a.preselfpay_amt += pre;
            self.a.inscp_scp_amt += inscp;
            if let Some(ex) = self.ex.as_mut() {
                ex.lines
                    .push(LineExplanation::new(item, line, fulamt, over, pre, inscp));
            }
        }
    }

    /// §3 basic fund, inpatient.
    fn basic_inpatient(&mut self) {
        let basic = &self.policy.basic;
        let offsite_registered = self.person.offsite_registered(self.claim.begndate);
        let ip = &basic.inpatient;
        let rate = ip
            .rate(self.level, offsite_registered)
            .expect("policy validation guarantees a rate row for every level");
        let tilt = first_tilt(&ip.tilts, self.person, self.on);
        let mut dedc_std = rate.deductible;
        let mut note = format!("{}级起付线 {}", self.level.code(), Yuan(rate.deductible));
        if tilt.is_some_and(|t| t.waives_deductible_at(self.level)) {
            dedc_std = 0;
            note.push_str("，倾斜政策免起付线");
        } else if self.acc.admissions > 0 {
            dedc_std = match &ip.repeat {
                RepeatRule::None => dedc_std,
                RepeatRule::Factor(f) => apply_ratio(dedc_std, *f),
                RepeatRule::Step { step, floor } => {
                    (dedc_std - step.saturating_mul(self.acc.admissions)).max(*floor)
                }
                RepeatRule::Schedule(factors) => {
                    let n = usize::try_from(self.acc.admissions - 1).unwrap_or(usize::MAX);
                    let f = factors.get(n).or(factors.last()).copied();
                    f.map_or(dedc_std, |f| apply_ratio(dedc_std, f))
                }
            };
            note.push_str(&format!(
                "，年内第 {} 次住院，起付线调整为 {}",
                self.acc.admissions + 1,
                Yuan(dedc_std)
            ));
        }
        self.a.act_pay_dedc = self.a.inscp_scp_amt.min(dedc_std);
        let pool_base = self.a.inscp_scp_amt - self.a.act_pay_dedc;
        self.basic_ratio = rate
            .ratio
            .get(self.retired)
            .plus_capped(tilt.map_or(Ratio::ZERO, |t| t.ratio_points));
        let raw = apply_ratio(pool_base, self.basic_ratio);
        let cap_room = room(basic.annual_cap, self.acc.basic_paid);
        self.a.hifp_pay = raw.min(cap_room);
        (self.pool_base, self.uncapped) = (pool_base, raw);
        self.delta.admissions = 1;
        self.delta.basic_paid = self.a.hifp_pay;
        if let Some(ex) = self.ex.as_mut() {
            ex.layers.push(LayerExplanation {
                layer: "hifp_pay",
                name: format!("{}（住院）", basic.name),
                base: Yuan(pool_base),
                deductible: Some(Yuan(self.a.act_pay_dedc)),
                ratio: Some(self.basic_ratio),
                cap: Some(Yuan(basic.annual_cap)),
                cap_room: Some(Yuan(cap_room)),
                cap_hit: raw > cap_room,
                paid: Yuan(self.a.hifp_pay),
                note,
                ..Default::default()
            });
        }
    }

    /// §3 basic fund, 门诊统筹.
    fn basic_outpatient(&mut self) {
        let basic = &self.policy.basic;
        let op = basic
            .outpatient
            .as_ref()
            .expect("kind implies outpatient rules");
        if let Some(ratio) = op.ratio_at(self.level) {
            let tilt = first_tilt(&op.tilts, self.person, self.on);
            let waived = tilt.is_some_and(|t| t.waives_deductible_at(self.level));
            let annual_deductible = op.annual_deductible.get(self.retired);
            let ded_room = if waived {
                0
            } else {
                room(annual_deductible, self.acc.outpatient_deductible)
            };
            self.a.act_pay_dedc = self.a.inscp_scp_amt.min(ded_room);
            let pool_base = self.a.inscp_scp_amt - self.a.act_pay_dedc;
            self.basic_ratio = ratio
                .get(self.retired)
                .plus_capped(tilt.map_or(Ratio::ZERO, |t| t.ratio_points));
            let raw = apply_ratio(pool_base, self.basic_ratio);
            let annual_cap = op.annual_cap.get(self.retired);
            let cap_room = room(annual_cap, self.acc.outpatient_paid);
            self.a.hifp_pay = raw.min(cap_room);
            (self.pool_base, self.uncapped) = (pool_base, raw);
            self.delta.outpatient_deductible = self.a.act_pay_dedc;
            self.delta.outpatient_paid = self.a.hifp_pay;
            if let Some(ex) = self.ex.as_mut() {
                let note = if waived {
                    "门诊统筹，倾斜政策免起付线".to_string()
                } else {
                    format!(
                        "门诊统筹，{}年度起付线 {}，此前已累计 {}",
                        if self.retired { "退休人员" } else { "" },
                        Yuan(annual_deductible),
                        Yuan(self.acc.outpatient_deductible)
                    )
                };
                ex.layers.push(LayerExplanation {
                    layer: "hifp_pay",
                    name: format!("{}（门诊统筹）", basic.name),
                    base: Yuan(pool_base),
                    deductible: Some(Yuan(self.a.act_pay_dedc)),
                    ratio: Some(self.basic_ratio),
                    cap: Some(Yuan(annual_cap)),
                    cap_room: Some(Yuan(cap_room)),
                    cap_hit: raw > cap_room,
                    paid: Yuan(self.a.hifp_pay),
                    note,
                    ..Default::default()
                });
            }
        } else if let Some(ex) = self.ex.as_mut() {
            ex.layers.push(LayerExplanation {
                layer: "hifp_pay",
                name: format!("{}（门诊统筹）", basic.name),
                note: format!(
                    "门诊统筹仅在指定等级机构支付，{}级机构不支付",
                    self.level.code()
                ),
                ..Default::default()
            });
        }
    }

    /// §3 basic fund, 门诊慢特病.
    fn basic_chronic(&mut self) {
        let basic = &self.policy.basic;
        let offsite_registered = self.person.offsite_registered(self.claim.begndate);
        let chronic = basic.chronic.as_ref().expect("kind implies chronic rules");
        let (ci, gi) = self
            .claim
            .chronic_group
            .expect("validated chronic claim has a group");
        let class = &chronic.classes[ci];
        self.basic_ratio = match class.ratio {
            ChronicRatio::FromInpatient => {
                let ip = &basic.inpatient;
                let rate = ip
                    .rate(self.level, offsite_registered)
                    .expect("policy validation guarantees a rate row for every level");
                let points = first_tilt(&ip.tilts, self.person, self.on)
                    .map_or(Ratio::ZERO, |t| t.ratio_points);
                rate.ratio.get(self.retired).plus_capped(points)
            }
            ChronicRatio::Fixed(r) => {
                let points = first_tilt(&class.tilts, self.person, self.on)
                    .map_or(Ratio::ZERO, |t| t.ratio_points);
                r.get(self.retired).plus_capped(points)
            }
        };
        let raw = apply_ratio(self.a.inscp_scp_amt, self.basic_ratio);
        let mut cap_room = Fen::MAX;
        let mut class_cap = None;
        if let Some((base, per_extra)) = class.annual_cap {
            let groups = approved_groups(self.person, chronic, ci, self.on);
            let cap = base + per_extra * (groups.max(1) - 1);
            class_cap = Some((cap, groups));
            cap_room = room(cap, self.acc.chronic_paid[ci]);
        }
        if class.counts_toward_annual_cap {
            cap_room = cap_room.min(room(basic.annual_cap, self.acc.basic_paid));
        }
        self.a.hifp_pay = raw.min(cap_room);
        (self.pool_base, self.uncapped) = (self.a.inscp_scp_amt, raw);
        self.delta.chronic_paid[ci] = self.a.hifp_pay;
        if class.counts_toward_annual_cap {
            self.delta.basic_paid = self.a.hifp_pay;
        }
        if let Some(ex) = self.ex.as_mut() {
            let mut note = format!(
                "门诊慢特病 {}：{}，无起付线",
                class.name, class.groups[gi].name
            );
            if let Some((cap, groups)) = class_cap {
                note.push_str(&format!(
                    "；已备案 {groups} 个病种，类别年度限额 {}",
                    Yuan(cap)
                ));
            }
            ex.layers.push(LayerExplanation {
                layer: "hifp_pay",
                name: format!("{}（门诊慢特病）", basic.name),
                base: Yuan(self.a.inscp_scp_amt),
                deductible: Some(Yuan(0)),
                ratio: Some(self.basic_ratio),
                cap: class_cap.map(|(c, _)| Yuan(c)),
                cap_room: (cap_room != Fen::MAX).then_some(Yuan(cap_room)),
                cap_hit: raw > cap_room,
                paid: Yuan(self.a.hifp_pay),
                note,
                ..Default::default()
            });
        }
    }

    /// 大额医疗费用补助 (employee sheet §2): what an annual cap cut off of the pool base.
    fn over_cap(&mut self) {
        let Some(oc) = self.policy.over_cap.as_ref() else {
            return;
        };
        let class_ok = match self.claim.chronic_group {
            Some((ci, _)) => {
                oc.chronic_classes.is_empty()
                    || self.policy.basic.chronic.as_ref().is_some_and(|c| {
                        oc.chronic_classes
                            .iter()
                            .any(|code| *code == c.classes[ci].code)
                    })
            }
            None => true,
        };
        if !self.applies(&oc.med_types) || !class_ok {
            return;
        }
        let (pb, hifp) = (self.pool_base, self.a.hifp_pay);
        let over_base = if hifp < self.uncapped {
            // covered = min(pb, round(hifp_pay / ratio)): the base the capped payment covers.
            let ppm = i128::from(self.basic_ratio.ppm());
            let covered = if ppm == 0 {
                pb
            } else {
                div_round_half_up(i128::from(hifp) * i128::from(PPM_ONE), ppm) as Fen
            };
            pb - pb.min(covered)
        } else {
            0
        };
        let ratio = oc.ratio.get(self.retired);
        let raw = apply_ratio(over_base, ratio);
        let cap_room = oc
            .annual_cap
            .map_or(Fen::MAX, |cap| room(cap, self.acc.over_cap_paid));
        self.a.hifob_pay += raw.min(cap_room);
        self.delta.over_cap_paid = raw.min(cap_room);
        if let Some(ex) = self.ex.as_mut() {
            ex.layers.push(LayerExplanation {
                layer: "hifob_pay",
                name: oc.name.clone(),
                base: Yuan(over_base),
                ratio: Some(ratio),
                cap: oc.annual_cap.map(Yuan),
                cap_room: oc.annual_cap.map(|_| Yuan(cap_room)),
                cap_hit: raw > cap_room,
                paid: Yuan(raw.min(cap_room)),
                note: format!(
                    "统筹基金年度限额截去的部分：统筹基数 {} 中统筹支付 {} 未覆盖的部分，{}按 {ratio} 支付",
                    Yuan(pb),
                    Yuan(hifp),
                    status_note(self.retired)
                ),
                ..Default::default()
            });
        }
    }

    /// A layer for persons holding a flag (employee sheet §3, 公务员医疗补助): the in-scope
    /// part nobody has paid yet.
    fn subsidy(&mut self) {
        let Some(sub) = self.policy.subsidy.as_ref() else {
            return;
        };
        let holds = match sub.flag {
            crate::policy::PersonFlag::CivilServant => self.person.scheme.civil_servant,
        };
        if !holds || !self.applies(&sub.med_types) {
            return;
        }
        let base = (self.a.inscp_scp_amt - self.a.hifp_pay - self.a.hifob_pay).max(0);
        let ratio = sub.ratio.get(self.retired);
        let raw = apply_ratio(base, ratio);
        let cap_room = sub
            .annual_cap
            .map_or(Fen::MAX, |cap| room(cap, self.acc.subsidy_paid));
        let paid = raw.min(cap_room);
        self.a.cvlserv_pay += paid;
        self.delta.subsidy_paid = paid;
        if let Some(ex) = self.ex.as_mut() {
            ex.layers.push(LayerExplanation {
                layer: "cvlserv_pay",
                name: sub.name.clone(),
                base: Yuan(base),
                ratio: Some(ratio),
                cap: sub.annual_cap.map(Yuan),
                cap_room: sub.annual_cap.map(|_| Yuan(cap_room)),
                cap_hit: raw > cap_room,
                paid: Yuan(paid),
                note: format!(
                    "政策范围内尚未支付的部分（含起付线，不含先行自付、全自费、超限价），{}按 {ratio} 支付",
                    status_note(self.retired)
                ),
                ..Default::default()
            });
        }
    }

    /// §4 大病保险 on the compliant burden; returns that burden.
    fn critical(&mut self) -> Fen {
        let compliant_burden = self.a.preselfpay_amt + self.a.inscp_scp_amt
            - self.a.hifp_pay
            - self.a.hifob_pay
            - self.a.cvlserv_pay;
        if let Some(cr) = self
            .policy
            .critical
            .as_ref()
            .filter(|c| self.applies(&c.med_types))
        {
            let tilt = first_tilt(&cr.tilts, self.person, self.on);
            let points = tilt.map_or(Ratio::ZERO, |t| t.ratio_points);
            let threshold = match tilt.and_then(|t| t.threshold_factor) {
                Some(f) => apply_ratio(cr.threshold, f),
                None => cr.threshold,
            };
            let (lo, hi) = slice_above(self.acc.critical_base, compliant_burden, threshold);
            let mut exact: i128 = 0;
            let mut seg_ex = Vec::new();
            let mut seg_lo = 0;
            for seg in &cr.segments {
                let seg_hi = seg.upto.unwrap_or(Fen::MAX);
                let part = (hi.min(seg_hi) - lo.max(seg_lo)).max(0);
                if part > 0 {
                    let ratio = seg.ratio.plus_capped(points);
                    exact += i128::from(part) * i128::from(ratio.ppm());
                    if self.ex.is_some() {
                        seg_ex.push(SegmentExplanation {
                            from: Yuan(threshold + lo.max(seg_lo)),
                            to: Yuan(threshold + hi.min(seg_hi)),
                            amount: Yuan(part),
                            ratio,
                        });
                    }
                }
                seg_lo = seg_hi;
            }
            let raw = div_round_half_up(exact, i128::from(PPM_ONE)) as Fen;
            let cap_room = cr
                .annual_cap
                .map_or(Fen::MAX, |cap| room(cap, self.acc.critical_paid));
            self.a.hifmi_pay = raw.min(cap_room);
            self.delta.critical_base = compliant_burden;
            self.delta.critical_paid = self.a.hifmi_pay;
            if let Some(ex) = self.ex.as_mut() {
                ex.layers.push(LayerExplanation {
                    layer: "hifmi_pay",
                    name: cr.name.clone(),
                    base: Yuan(compliant_burden),
                    threshold: Some(Yuan(threshold)),
                    accumulated_before: Some(Yuan(self.acc.critical_base)),
                    segments: seg_ex,
                    cap: cr.annual_cap.map(Yuan),
                    cap_room: cr.annual_cap.map(|_| Yuan(cap_room)),
                    cap_hit: raw > cap_room,
                    paid: Yuan(self.a.hifmi_pay),
                    note: "合规自付 = 先行自付 + 起付线 + 政策范围内统筹未付部分；按年度累计分段"
                        .into(),
                    ..Default::default()
                });
            }
        }

        compliant_burden
    }

    /// Supplementary fixed-share layers on what 大病 left of the compliant burden; returns
    /// what remains of the burden and what the layers paid.
    fn supplementary(&mut self, compliant_burden: Fen) -> (Fen, Fen) {
        let mut remaining_burden = compliant_burden - self.a.hifmi_pay;
        let mut supplementary_total = 0;
        for (i, s) in self.policy.supplementary.iter().enumerate() {
            if !self.applies(&s.med_types)
                || !(s.diseases.is_empty()
                    || s.diseases
                        .iter()
                        .any(|d| self.claim.dise_codg.starts_with(d.as_str())))
                || !(s.categories.is_empty()
                    || s.categories
                        .iter()
                        .any(|c| self.person.holds_category(c, self.on)))
            {
                continue;
            }
            let points =
                first_tilt(&s.tilts, self.person, self.on).map_or(Ratio::ZERO, |t| t.ratio_points);
            let ratio = s.ratio.plus_capped(points);
            let raw = apply_ratio(remaining_burden, ratio);
            let cap_room = s
                .annual_cap
                .map_or(Fen::MAX, |cap| room(cap, self.acc.supplementary_paid[i]));
            let paid = raw.min(cap_room);
            match s.pays_into {
                FundField::OthPay => self.a.oth_pay += paid,
                FundField::CvlservPay => self.a.cvlserv_pay += paid,
                FundField::HifobPay => self.a.hifob_pay += paid,
            }
            self.delta.supplementary_paid[i] = paid;
            if let Some(ex) = self.ex.as_mut() {
                ex.layers.push(LayerExplanation {
                    layer: match s.pays_into {
                        FundField::OthPay => "oth_pay",
                        FundField::CvlservPay => "cvlserv_pay",
                        FundField::HifobPay => "hifob_pay",
                    },
                    name: s.name.clone(),
                    base: Yuan(remaining_burden),
                    ratio: Some(ratio),
                    cap: s.annual_cap.map(Yuan),
                    cap_room: s.annual_cap.map(|_| Yuan(cap_room)),
                    cap_hit: raw > cap_room,
                    paid: Yuan(paid),
                    note: "大病保险后剩余的合规自付按固定比例支付".into(),
                    ..Default::default()
                });
            }
            remaining_burden -= paid;
            supplementary_total += paid;
        }

        (remaining_burden, supplementary_total)
    }

    /// §5 医疗救助 on what remains of the compliant burden.
    fn assistance(&mut self, remaining_burden: Fen) {
        if let Some(asst) = self
            .policy
            .assistance
            .as_ref()
            .filter(|x| self.applies(&x.med_types))
        {
            let rule = asst
                .rules
                .iter()
                .find(|r| self.person.holds_category(&r.category, self.on));
            if let Some(rule) = rule {
                let base = remaining_burden;
                let (lo, hi) = slice_above(self.acc.assistance_base, base, rule.threshold);
                let raw = apply_ratio(hi - lo, rule.ratio);
                let cap_room = asst
                    .annual_cap
                    .map_or(Fen::MAX, |cap| room(cap, self.acc.assistance_paid));
                self.a.maf_pay = raw.min(cap_room);
                self.delta.assistance_base = base;
                self.delta.assistance_paid = self.a.maf_pay;
                if let Some(ex) = self.ex.as_mut() {
                    let cat = self
                        .policy
                        .category_name(&rule.category)
                        .unwrap_or(&rule.category);
                    ex.layers.push(LayerExplanation {
                        layer: "maf_pay",
                        name: asst.name.clone(),
                        base: Yuan(base),
                        threshold: Some(Yuan(rule.threshold)),
                        accumulated_before: Some(Yuan(self.acc.assistance_base)),
                        ratio: Some(rule.ratio),
                        cap: asst.annual_cap.map(Yuan),
                        cap_room: asst.annual_cap.map(|_| Yuan(cap_room)),
                        cap_hit: raw > cap_room,
                        paid: Yuan(self.a.maf_pay),
                        note: format!("救助对象类别：{cat}；年度累计超过起付标准的部分按比例救助"),
                        ..Default::default()
                    });
                }
            }
        }
    }

    /// §6 兜底.
    fn ceiling(&mut self, supplementary_total: Fen) {
        if let Some(ceil) = self
            .policy
            .ceiling
            .as_ref()
            .filter(|c| self.applies(&c.med_types))
        {
            if ceil
                .categories
                .iter()
                .any(|c| self.person.holds_category(c, self.on))
            {
                let burden = self.a.medfee_sumamt
                    - self.a.hifp_pay
                    - self.a.hifmi_pay
                    - supplementary_total
                    - self.a.maf_pay;
                let limit = apply_ratio(self.a.medfee_sumamt, ceil.share);
                let excess = (burden - limit).max(0);
                let hospital = ceil.hospital_levels.contains(&self.level);
                if hospital {
                    self.a.hosp_part_amt = excess;
                } else {
                    self.a.oth_pay += excess;
                }
                if let Some(ex) = self.ex.as_mut() {
                    ex.layers.push(LayerExplanation {
                        layer: if hospital { "hosp_part_amt" } else { "oth_pay" },
                        name: ceil.name.clone(),
                        base: Yuan(burden),
                        ratio: Some(ceil.share),
                        cap: Some(Yuan(limit)),
                        cap_hit: excess > 0,
                        paid: Yuan(excess),
                        note: format!(
                            "个人负担上限为总费用的 {}（{}），超出部分由{}承担",
                            ceil.share,
                            Yuan(limit),
                            if hospital {
                                "医疗机构"
                            } else {
                                "政府兜底资金"
                            }
                        ),
                        ..Default::default()
                    });
                }
            }
        }
    }

    /// What an account under `rule` may pay of the person's part.
    fn account_base(&self, rule: &crate::policy::Account) -> Fen {
        let a = &self.a;
        let mut base = a.psn_part_amt;
        if !rule.pays_full_ownpay {
            base -= a.fulamt_ownpay_amt;
        }
        if !rule.pays_over_limit {
            base -= a.overlmt_selfpay;
        }
        base.max(0)
    }

    /// 个人账户家庭共济: a family member's account pays, up to its balance, what the
    /// person's own account left of what it may pay, when the visit uses accounts.
    fn family_aid(&mut self) {
        let (Some(rule), Some((holder, index, balance))) =
            (self.policy.family_aid.as_ref(), self.wallets.aid.as_ref())
        else {
            return;
        };
        if !self.claim.use_account {
            return;
        }
        let base = (self.account_base(rule) - self.a.acct_pay).max(0);
        let paid = base.min((*balance).max(0));
        self.a.acct_mulaid_pay = paid;
        if paid > 0 {
            self.aid = Some(AidPayment {
                holder: holder.clone(),
                holder_index: *index,
                amount: paid,
            });
        }
        if let Some(ex) = self.ex.as_mut() {
            ex.layers.push(LayerExplanation {
                layer: "acct_mulaid_pay",
                name: rule.name.clone(),
                base: Yuan(base),
                cap: Some(Yuan(*balance)),
                cap_room: Some(Yuan(*balance)),
                cap_hit: base > *balance,
                paid: Yuan(paid),
                note: format!("本人账户之后，由家庭成员 {holder} 的个人账户支付，以其余额为限"),
                ..Default::default()
            });
        }
    }

    /// 个人账户 (employee sheet §5): pays last, up to its balance, what it may of the
    /// person's part, when the visit asks for it.
    fn account(&mut self) {
        let Some(acct) = self.policy.account.as_ref() else {
            return;
        };
        let base = self.account_base(acct);
        let balance = self.wallets.own.max(0);
        let paid = if self.claim.use_account {
            base.min(balance)
        } else {
            0
        };
        self.a.acct_pay = paid;
        self.delta.account_paid = paid;
        if let Some(ex) = self.ex.as_mut() {
            let note = if self.claim.use_account {
                format!(
                    "个人负担中账户可支付的部分（{}{}），以余额 {} 为限",
                    if acct.pays_full_ownpay {
                        "含全自费"
                    } else {
                        "不含全自费"
                    },
                    if acct.pays_over_limit {
                        "、含超限价"
                    } else {
                        "、不含超限价"
                    },
                    Yuan(balance)
                )
            } else {
                "本次就诊不使用个人账户（acct_used_flag=0）".to_string()
            };
            ex.layers.push(LayerExplanation {
                layer: "acct_pay",
                name: acct.name.clone(),
                base: Yuan(base),
                cap: Some(Yuan(balance)),
                cap_room: Some(Yuan(balance)),
                cap_hit: self.claim.use_account && base > balance,
                paid: Yuan(paid),
                note,
                ..Default::default()
            });
        }
    }

    /// §8 totals. (The split identities are checked where the settlement is recorded:
    /// `checks::settlement`.)
    fn finish(mut self) -> Settlement {
        let a = &mut self.a;
        a.fund_pay_sumamt =
            a.hifp_pay + a.hifmi_pay + a.cvlserv_pay + a.hifob_pay + a.maf_pay + a.oth_pay;
        a.psn_part_amt = a.medfee_sumamt - a.fund_pay_sumamt - a.hosp_part_amt;
        self.account();
        self.family_aid();
        let mut a = self.a;
        a.psn_cash_pay = a.psn_part_amt - a.acct_pay - a.acct_mulaid_pay;
        Settlement {
            person: self.claim.person,
            institution: self.claim.institution,
            funds: self.policy.fund_pay_types.lines(&a),
            amounts: a,
            basic_ratio: self.basic_ratio,
            year: self.claim.year(),
            delta: self.delta,
            aid: self.aid,
            explanation: self.ex,
        }
    }
}

/// "退休人员" / "在职人员", for explanations.
fn status_note(retired: bool) -> &'static str {
    if retired {
        "退休人员"
    } else {
        "在职人员"
    }
}

/// Distinct groups of chronic class `class` the person holds a registration for on `on`.
fn approved_groups(
    person: &Person,
    chronic: &crate::policy::Chronic,
    class: usize,
    on: crate::date::Date,
) -> Fen {
    let mut seen = [false; 64];
    let mut n = 0;
    for r in person.chronic.iter().filter(|r| r.range.contains(on)) {
        if let Some((c, g)) = chronic.group_of(&r.dise_codg) {
            if c == class && g < seen.len() && !seen[g] {
                seen[g] = true;
                n += 1;
            }
        }
    }
    n
}
