//! The audit rules file (`rules/*.toml`): which families are screened, with which id,
//! severity and parameters. Parsed and validated like the policy file: every problem is
//! reported at once, each with its key path, line and reason in Chinese; unknown keys are
//! refused.

use super::{Family, Severity};
use crate::money::{parse_scaled, Fen, Ratio};
use crate::policy::shape;
use crate::policy::PolicyIssue;
use serde::Deserialize;
use std::fmt;

/// One family's rule as the file gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The rule's id in the findings (`rule`).
    pub id: String,
    pub severity: Severity,
}

/// Validated audit rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRules {
    pub name: String,
    /// `med_type` codes of inpatient stays (住院).
    pub inpatient_med_types: Vec<String>,
    /// `med_type` codes of outpatient visits (门诊).
    pub outpatient_med_types: Vec<String>,
    /// Diagnosis group: the first this many characters of the ICD-10 code, the dot left out.
    pub diagnosis_group_chars: usize,
    /// The rule of each family screened, in [`Family::ALL`] order (`None`: not screened).
    pub rules: [Option<Rule>; Family::COUNT],
    /// SPLIT_ADMISSION: days after discharge within which a re-admission is suspect.
    pub split_window_days: i64,
    /// SPLIT_ADMISSION: only re-admissions to the same institution.
    pub split_same_institution: bool,
    /// HIGH_COST_OUTLIER: a stay above this multiple of its peer group's median, in ppm.
    pub outlier_multiple: Ratio,
    /// HIGH_COST_OUTLIER: peer groups with fewer stays are not judged.
    pub outlier_min_peers: usize,
    /// PRESCRIPTION_LIMIT: the drug total of one outpatient visit above this, fen.
    pub prescription_limit: Fen,
    /// PRESCRIPTION_LIMIT: the `med_type`s it applies to (普通门诊).
    pub prescription_med_types: Vec<String>,
    /// MINOR_ADMISSION: ICD-10 prefixes of diagnoses normally treated as outpatients.
    pub outpatient_diagnoses: Vec<String>,
}

/// The reference rules file, built into the binaries (`yibao audit`, the gateway): used when
/// no other rules file is given.
pub const REFERENCE_RULES: &str = include_str!("../../../../rules/sample-county-2024-audit.toml");
/// How messages name [`REFERENCE_RULES`].
pub const REFERENCE_RULES_NAME: &str = "rules/sample-county-2024-audit.toml（内置）";

impl AuditRules {
    /// The reference rules ([`REFERENCE_RULES`]).
    pub fn reference() -> AuditRules {
        AuditRules::from_toml(REFERENCE_RULES_NAME, REFERENCE_RULES)
            .expect("the built-in reference rules are valid (tested)")
    }

    /// The rule of `family`, when screened.
    pub fn rule(&self, family: Family) -> Option<&Rule> {
        self.rules[family as usize].as_ref()
    }

    /// Parses and validates a rules file; `file` names it in messages.
    pub fn from_toml(file: &str, text: &str) -> Result<AuditRules, RulesError> {
        let raw: RawRules = shape::parse(text).map_err(|issues| RulesError {
            file: file.to_string(),
            issues,
        })?;
        let mut issues = Vec::new();
        let rules = validate(raw, &mut issues);
        if issues.is_empty() {
            return Ok(rules);
        }
        for i in &mut issues {
            i.line = shape::line_of_key(text, &i.key);
        }
        Err(RulesError {
            file: file.to_string(),
            issues,
        })
    }
}

/// Every problem of one rules file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesError {
    pub file: String,
    pub issues: Vec<PolicyIssue>,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::policy::write_issues(f, "审核规则文件", &self.file, &self.issues)
    }
}

impl std::error::Error for RulesError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    meta: RawMeta,
    visits: RawVisits,
    duplicate_charge: Option<RawRule>,
    over_quantity: Option<RawRule>,
    sex_conflict: Option<RawRule>,
    age_conflict: Option<RawRule>,
    out_of_indication: Option<RawRule>,
    split_admission: Option<RawSplit>,
    overlapping_stay: Option<RawRule>,
    high_cost_outlier: Option<RawOutlier>,
    prescription_limit: Option<RawPrescription>,
    minor_admission: Option<RawMinor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinor {
    id: String,
    severity: String,
    diagnoses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVisits {
    inpatient_med_types: Vec<String>,
    outpatient_med_types: Vec<String>,
    diagnosis_group_chars: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    severity: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    id: String,
    severity: String,
    window_days: i64,
    #[serde(default)]
    same_institution: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutlier {
    id: String,
    severity: String,
    multiple_of_median: String,
    min_peer_stays: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrescription {
    id: String,
    severity: String,
    max_drug_amount: String,
    med_types: Vec<String>,
}

fn issue(issues: &mut Vec<PolicyIssue>, key: impl Into<String>, reason: impl Into<String>) {
    issues.push(PolicyIssue {
        key: key.into(),
        reason: reason.into(),
        line: None,
    });
}

/// An integer in `range`, or an issue at `key`.
fn bounded(
    issues: &mut Vec<PolicyIssue>,
    key: &str,
    v: i64,
    range: std::ops::RangeInclusive<i64>,
) -> i64 {
    if range.contains(&v) {
        v
    } else {
        issue(
            issues,
            key,
            format!("应在 {} 到 {} 之间：{v}", range.start(), range.end()),
        );
        *range.start()
    }
}

fn rule(
    issues: &mut Vec<PolicyIssue>,
    section: &str,
    id: String,
    severity: &str,
    seen: &mut Vec<String>,
) -> Rule {
    let id = id.trim().to_string();
    if id.is_empty() {
        issue(issues, format!("{section}.id"), "规则编号不能为空");
    } else if seen.contains(&id) {
        issue(
            issues,
            format!("{section}.id"),
            format!("规则编号重复：{id:?}"),
        );
    }
    seen.push(id.clone());
    let severity = Severity::parse(severity).unwrap_or_else(|| {
        issue(
            issues,
            format!("{section}.severity"),
            format!("严重程度应为 违规 / 可疑 / 待核实：{severity:?}"),
        );
        Severity::Violation
    });
    Rule { id, severity }
}

fn med_types(issues: &mut Vec<PolicyIssue>, key: &str, list: Vec<String>) -> Vec<String> {
    if list.is_empty() {
        issue(issues, key, "至少列出一个医疗类别 med_type");
    }
    for (i, t) in list.iter().enumerate() {
        if t.trim().is_empty() {
            issue(issues, format!("{key}[{i}]"), "医疗类别不能为空");
        }
    }
    list.into_iter().map(|t| t.trim().to_string()).collect()
}

fn validate(raw: RawRules, issues: &mut Vec<PolicyIssue>) -> AuditRules {
    if raw.meta.name.trim().is_empty() {
        issue(issues, "meta.name", "规则集名称不能为空");
    }
    let inpatient = med_types(
        issues,
        "visits.inpatient_med_types",
        raw.visits.inpatient_med_types,
    );
    let outpatient = med_types(
        issues,
        "visits.outpatient_med_types",
        raw.visits.outpatient_med_types,
    );
    for (i, t) in outpatient.iter().enumerate() {
        if inpatient.contains(t) {
            issue(
                issues,
                format!("visits.outpatient_med_types[{i}]"),
                format!("医疗类别 {t:?} 已列为住院"),
            );
        }
    }
    let chars = bounded(
        issues,
        "visits.diagnosis_group_chars",
        raw.visits.diagnosis_group_chars,
        1..=7,
    );
    let mut seen = Vec::new();
    let mut rules: [Option<Rule>; Family::COUNT] = Default::default();
    let mut plain = |family: Family, r: Option<RawRule>, issues: &mut Vec<PolicyIssue>| {
        if let Some(r) = r {
            rules[family as usize] =
                Some(rule(issues, family.section(), r.id, &r.severity, &mut seen));
        }
    };
    plain(Family::DuplicateCharge, raw.duplicate_charge, issues);
    plain(Family::OverQuantity, raw.over_quantity, issues);
    plain(Family::SexConflict, raw.sex_conflict, issues);
    plain(Family::AgeConflict, raw.age_conflict, issues);
    plain(Family::OutOfIndication, raw.out_of_indication, issues);
    plain(Family::OverlappingStay, raw.overlapping_stay, issues);
    let (mut window, mut same_institution) = (15, false);
    if let Some(s) = raw.split_admission {
        window = bounded(
            issues,
            "split_admission.window_days",
            s.window_days,
            1..=365,
        );
        same_institution = s.same_institution;
        plain(
            Family::SplitAdmission,
            Some(RawRule {
                id: s.id,
                severity: s.severity,
            }),
            issues,
        );
    }
    let (mut multiple, mut min_peers) = (Ratio::from_ppm(3_000_000), 30);
    if let Some(o) = raw.high_cost_outlier {
        let key = "high_cost_outlier.multiple_of_median";
        match parse_scaled(&o.multiple_of_median, 6) {
            Ok(ppm) if (1_000_001..=1_000_000_000).contains(&ppm) => {
                multiple = Ratio::from_ppm(ppm)
            }
            Ok(_) => issue(
                issues,
                key,
                format!("应大于 1、不超过 1000：{:?}", o.multiple_of_median),
            ),
            Err(e) => issue(
                issues,
                key,
                format!("不是有效的小数：{:?}，{e}", o.multiple_of_median),
            ),
        }
        min_peers = bounded(
            issues,
            "high_cost_outlier.min_peer_stays",
            o.min_peer_stays,
            1..=1_000_000,
        ) as usize;
        plain(
            Family::HighCostOutlier,
            Some(RawRule {
                id: o.id,
                severity: o.severity,
            }),
            issues,
        );
    }
    let mut prescription_limit = 8_000;
    let mut prescription_med_types = Vec::new();
    if let Some(p) = raw.prescription_limit {
        prescription_med_types = med_types(issues, "prescription_limit.med_types", p.med_types);
        let key = "prescription_limit.max_drug_amount";
        match crate::money::parse_yuan(&p.max_drug_amount) {
            Ok(v) if v > 0 => prescription_limit = v,
            Ok(_) => issue(
                issues,
                key,
                format!("金额应大于 0：{:?}", p.max_drug_amount),
            ),
            Err(e) => issue(
                issues,
                key,
                format!(
                    "不是有效金额（元，最多两位小数）：{:?}，{e}",
                    p.max_drug_amount
                ),
            ),
        }
        plain(
            Family::PrescriptionLimit,
            Some(RawRule {
                id: p.id,
                severity: p.severity,
            }),
            issues,
        );
    }
    let mut outpatient_diagnoses = Vec::new();
    if let Some(m) = raw.minor_admission {
        if m.diagnoses.is_empty() {
            issue(
                issues,
                "minor_admission.diagnoses",
                "至少列出一个诊断编码前缀",
            );
        }
        for (i, d) in m.diagnoses.iter().enumerate() {
            let d = d.trim().to_uppercase();
            if d.is_empty() {
                issue(
                    issues,
                    format!("minor_admission.diagnoses[{i}]"),
                    "诊断编码前缀不能为空",
                );
            }
            outpatient_diagnoses.push(d);
        }
        plain(
            Family::MinorAdmission,
            Some(RawRule {
                id: m.id,
                severity: m.severity,
            }),
            issues,
        );
    }
    AuditRules {
        name: raw.meta.name.trim().to_string(),
        inpatient_med_types: inpatient,
        outpatient_med_types: outpatient,
        diagnosis_group_chars: chars as usize,
        rules,
        split_window_days: window,
        split_same_institution: same_institution,
        outlier_multiple: multiple,
        outlier_min_peers: min_peers,
        prescription_limit,
        prescription_med_types,
        outpatient_diagnoses,
    }
}
