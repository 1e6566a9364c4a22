//! 智能审核 (audit screening, `interface.md` §5): every claim screened by rule, every finding
//! with its family, rule, severity, the amount at stake and a Chinese explanation citing the
//! lines and the rule's parameters.
//!
//! Rules are data ([`AuditRules`], from a rules file); screening is pure and deterministic:
//! findings come out in one total order ([`Finding::order`]) whatever order persons are
//! screened in, so a parallel run equals a sequential one. Screening never touches a
//! settlement: it reads claims and reference data and returns findings.

pub mod eval;
pub mod indicators;
mod lines;
pub mod rules;
mod visits;

pub use rules::{AuditRules, Rule, RulesError};

use crate::claim::{
    checked_lines, diagnosis, institution_of, person_of, require, shown, visit_dates, ClaimDraft,
    Line, Rejection,
};
use crate::date::Date;
use crate::money::Fen;
use crate::refdata::RefData;
use rustc_hash::FxHashMap;

/// The families of findings (`interface.md` §5), in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    DuplicateCharge,
    OverQuantity,
    SexConflict,
    AgeConflict,
    OutOfIndication,
    PrescriptionLimit,
    SplitAdmission,
    OverlappingStay,
    HighCostOutlier,
    MinorAdmission,
}

impl Family {
    pub const COUNT: usize = 10;
    pub const ALL: [Family; Family::COUNT] = [
        Family::DuplicateCharge,
        Family::OverQuantity,
        Family::SexConflict,
        Family::AgeConflict,
        Family::OutOfIndication,
        Family::PrescriptionLimit,
        Family::SplitAdmission,
        Family::OverlappingStay,
        Family::HighCostOutlier,
        Family::MinorAdmission,
    ];

    /// The code in findings and labels.
    pub fn code(self) -> &'static str {
        match self {
            Family::DuplicateCharge => "DUPLICATE_CHARGE",
            Family::OverQuantity => "OVER_QUANTITY",
            Family::SexConflict => "SEX_CONFLICT",
            Family::AgeConflict => "AGE_CONFLICT",
            Family::OutOfIndication => "OUT_OF_INDICATION",
            Family::PrescriptionLimit => "PRESCRIPTION_LIMIT",
            Family::SplitAdmission => "SPLIT_ADMISSION",
            Family::OverlappingStay => "OVERLAPPING_STAY",
            Family::HighCostOutlier => "HIGH_COST_OUTLIER",
            Family::MinorAdmission => "MINOR_ADMISSION",
        }
    }

    /// The Chinese name.
    pub fn name(self) -> &'static str {
        match self {
            Family::DuplicateCharge => "重复收费",
            Family::OverQuantity => "超数量",
            Family::SexConflict => "性别不符",
            Family::AgeConflict => "年龄不符",
            Family::OutOfIndication => "超适应症（限定支付范围）",
            Family::PrescriptionLimit => "大处方",
            Family::SplitAdmission => "分解住院",
            Family::OverlappingStay => "就诊时间重叠",
            Family::HighCostOutlier => "高额费用异常",
            Family::MinorAdmission => "小病大治",
        }
    }

    /// The rules file's section.
    pub fn section(self) -> &'static str {
        match self {
            Family::DuplicateCharge => "duplicate_charge",
            Family::OverQuantity => "over_quantity",
            Family::SexConflict => "sex_conflict",
            Family::AgeConflict => "age_conflict",
            Family::OutOfIndication => "out_of_indication",
            Family::PrescriptionLimit => "prescription_limit",
            Family::SplitAdmission => "split_admission",
            Family::OverlappingStay => "overlapping_stay",
            Family::HighCostOutlier => "high_cost_outlier",
            Family::MinorAdmission => "minor_admission",
        }
    }

    pub fn parse(code: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// 违规 (a violation) / 可疑 (suspect) / 待核实 (to verify).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Violation,
    Suspect,
    ToVerify,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Violation => "违规",
            Severity::Suspect => "可疑",
            Severity::ToVerify => "待核实",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim() {
            "违规" => Some(Severity::Violation),
            "可疑" => Some(Severity::Suspect),
            "待核实" => Some(Severity::ToVerify),
            _ => None,
        }
    }
}

/// A claim as screened: validated against the reference data (persons, institutions,
/// catalogue) but not against a policy, and owned, so a year of them can be held.
#[derive(Clone, Debug)]
pub struct ScreenClaim {
    /// Position among the screened claims (input order): the findings' order.
    pub seq: u32,
    pub claim_id: Box<str>,
    pub person: u32,
    pub institution: u32,
    pub med_type: Box<str>,
    pub begndate: Date,
    pub enddate: Date,
    pub dise_codg: Box<str>,
    pub lines: Vec<Line>,
}

impl ScreenClaim {
    /// Builds the screened form of a settlement record, refusing it (with the settlement's
    /// own messages) when the person, institution, dates or a line are wrong.
    pub fn from_draft(
        refdata: &RefData,
        draft: &ClaimDraft<'_>,
        seq: u32,
    ) -> Result<ScreenClaim, Rejection> {
        let (_, person) = person_of(refdata, draft)?;
        let institution = institution_of(refdata, draft)?;
        let med_type = require("med_type", draft.med_type)?.trim();
        let (begndate, enddate) = visit_dates(draft)?;
        let dise_codg = diagnosis(draft)?;
        let lines = checked_lines(refdata, draft)?;
        Ok(ScreenClaim {
            seq,
            claim_id: draft.claim_id.into(),
            person,
            institution,
            med_type: med_type.into(),
            begndate,
            enddate,
            dise_codg: dise_codg.into(),
            lines,
        })
    }

    /// 医疗费总额: the sum of the lines.
    pub fn total(&self) -> Fen {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// The day a line was provided: its own `date`, else the visit's `begndate`.
    pub fn line_date(&self, l: &Line) -> Date {
        l.date.unwrap_or(self.begndate)
    }

    pub fn inpatient(&self, rules: &AuditRules) -> bool {
        rules
            .inpatient_med_types
            .iter()
            .any(|t| **t == *self.med_type)
    }

    pub fn outpatient(&self, rules: &AuditRules) -> bool {
        rules
            .outpatient_med_types
            .iter()
            .any(|t| **t == *self.med_type)
    }
}

/// One finding on one claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// [`ScreenClaim::seq`] of the claim flagged.
    pub claim: u32,
    pub family: Family,
    /// Orders findings of one claim and family (the first line concerned).
    pub detail: u32,
    /// 涉及金额, fen.
    pub amount: Fen,
    pub message: String,
}

impl Finding {
    /// The total order findings are reported in.
    pub fn order(&self) -> (u32, Family, u32) {
        (self.claim, self.family, self.detail)
    }
}

/// The diagnosis group of an ICD-10 code: its first `chars` characters, the dot left out
/// (`J18.9` → `J18`).
pub fn diagnosis_group(code: &str, chars: usize) -> String {
    code.chars()
        .filter(|c| *c != '.')
        .take(chars)
        .flat_map(char::to_uppercase)
        .collect()
}

/// What every person's screening needs besides their own claims: the peer groups' medians.
pub struct Screener<'a> {
    pub rules: &'a AuditRules,
    pub refdata: &'a RefData,
    peers: visits::PeerMedians,
}

impl<'a> Screener<'a> {
    /// Prepares screening of `claims` (all of them: the peer groups are county-wide).
    pub fn new(rules: &'a AuditRules, refdata: &'a RefData, claims: &[ScreenClaim]) -> Self {
        Screener {
            rules,
            refdata,
            peers: visits::PeerMedians::new(rules, refdata, claims),
        }
    }

    /// The findings of one person's claims (any order), in [`Finding::order`].
    pub fn person(&self, claims: &[&ScreenClaim]) -> Vec<Finding> {
        let mut out = Vec::new();
        for c in claims {
            lines::claim_findings(self.rules, self.refdata, c, &mut out);
            self.peers.outlier(self.rules, self.refdata, c, &mut out);
            visits::minor_admission(self.rules, c, &mut out);
        }
        visits::person_findings(self.rules, self.refdata, claims, &mut out);
        out.sort_by_key(Finding::order);
        out
    }
}

/// Groups claim indices by person, persons in order of their first claim.
pub fn by_person(claims: &[ScreenClaim]) -> Vec<Vec<u32>> {
    let mut slot: FxHashMap<u32, usize> = FxHashMap::default();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let g = *slot.entry(c.person).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i as u32);
    }
    groups
}

/// Screens every claim, one person after another; the findings in [`Finding::order`].
pub fn screen(rules: &AuditRules, refdata: &RefData, claims: &[ScreenClaim]) -> Vec<Finding> {
    let screener = Screener::new(rules, refdata, claims);
    let mut all: Vec<Finding> = by_person(claims)
        .iter()
        .flat_map(|g| {
            let mine: Vec<&ScreenClaim> = g.iter().map(|&i| &claims[i as usize]).collect();
            screener.person(&mine)
        })
        .collect();
    all.sort_by_key(Finding::order);
    all
}

/// `项目 CODE（名称）` for messages.
pub(crate) fn item_label(refdata: &RefData, item: u32) -> String {
    let it = &refdata.catalog()[item as usize];
    format!("项目 {}（{}）", it.code, it.name.trim())
}

/// A quantity scaled by 10^6 as a decimal without trailing zeros.
pub(crate) fn qty_text(qty: i64) -> String {
    let whole = qty / 1_000_000;
    let frac = (qty % 1_000_000).abs();
    if frac == 0 {
        return whole.to_string();
    }
    let f = format!("{frac:06}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// For messages: a value as written (shortened).
pub(crate) fn quoted(text: &str) -> String {
    shown(text)
}
