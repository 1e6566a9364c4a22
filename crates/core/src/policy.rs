//! The benefit policy as data: one region, scheme and year in one TOML file.
//!
//! Loading parses the text (pure: the caller reads the file) and validates every number and
//! reference; problems are reported all at once with the file, the key path and the reason.
//! No benefit number lives in Rust code: everything below comes from the file.

use crate::money::{parse_yuan, Fen, Ratio};
use crate::refdata::Level;
use serde::Deserialize;
use std::fmt;

/// At most this many 门诊慢特病 classes (accumulator slots are fixed-size).
pub const MAX_CHRONIC_CLASSES: usize = 4;
/// At most this many supplementary layers.
pub const MAX_SUPPLEMENTARY: usize = 4;
/// At most this many 大病 segments.
pub const MAX_SEGMENTS: usize = 16;

// ---------------------------------------------------------------------------------------------
// Validated policy
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    /// 统筹区 (6-digit admdvs).
    pub admdvs: String,
    /// 险种 (insutype), e.g. 390 城乡居民基本医疗保险.
    pub insutype: String,
    pub year: u16,
    pub categories: Vec<CategoryDef>,
    pub basic: Basic,
    pub critical: Option<Critical>,
    pub supplementary: Vec<Supplementary>,
    pub assistance: Option<Assistance>,
    pub ceiling: Option<Ceiling>,
    /// 缴费 rules (residents' shares and subsidies; employees' rates, accounts, arrears).
    pub contribution: Option<crate::contribution::ContributionPolicy>,
    /// The national fund pay type of each payer (`setldetail`).
    pub fund_pay_types: crate::funds::FundPayTypes,
}

#[derive(Clone, Debug)]
pub struct CategoryDef {
    pub code: String,
    pub name: String,
}

/// Which basic-fund rule a `med_type` falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitKind {
    /// 住院
    Inpatient,
    /// 普通门诊（门诊统筹）
    Outpatient,
    /// 门诊慢特病
    Chronic,
}

/// 基本医疗保险统筹基金 (`hifp_pay`).
#[derive(Clone, Debug)]
pub struct Basic {
    pub name: String,
    /// 年度最高支付限额 shared by inpatient and 门诊慢特病.
    pub annual_cap: Fen,
    pub inpatient: Inpatient,
    pub outpatient: Option<Outpatient>,
    pub chronic: Option<Chronic>,
}

/// Whether a rate row applies to visits with or without a 异地就医备案.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsiteMatch {
    Any,
    Registered,
    Unregistered,
}

#[derive(Clone, Debug)]
pub struct RateRow {
    pub level: Level,
    pub offsite: OffsiteMatch,
    /// 起付线
    pub deductible: Fen,
    /// 统筹基金支付比例
    pub ratio: Ratio,
}

/// 多次住院起付线: how the deductible falls for the second and later admissions of a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepeatRule {
    /// Every admission pays the full deductible.
    None,
    /// Second and later: `round(deductible × factor)` (e.g. 0.5, halved).
    Factor(Ratio),
    /// The n-th admission (n ≥ 2): `max(floor, deductible − step × (n − 1))`.
    Step { step: Fen, floor: Fen },
}

/// A population tilt (倾斜政策): what changes for persons holding one of `categories`.
/// Where several tilts match, the first in file order applies.
#[derive(Clone, Debug, Default)]
pub struct Tilt {
    pub categories: Vec<String>,
    /// Points added to the ratio (0.10 = +10 个百分点), never above 100%.
    pub ratio_points: Ratio,
    /// Deductible waived (免起付线), at `waive_levels` only when that list is not empty.
    pub waive_deductible: bool,
    pub waive_levels: Vec<Level>,
    /// Threshold multiplied by this (0.5 = 起付线减半).
    pub threshold_factor: Option<Ratio>,
}

impl Tilt {
    pub fn waives_deductible_at(&self, level: Level) -> bool {
        self.waive_deductible
            && (self.waive_levels.is_empty() || self.waive_levels.contains(&level))
    }
}

#[derive(Clone, Debug)]
pub struct Inpatient {
    pub med_types: Vec<String>,
    pub rates: Vec<RateRow>,
    pub repeat: RepeatRule,
    pub tilts: Vec<Tilt>,
}

impl Inpatient {
    /// The rate row for a level and 备案 status.
    pub fn rate(&self, level: Level, offsite_registered: bool) -> Option<&RateRow> {
        self.rates.iter().find(|r| {
            r.level == level
                && match r.offsite {
                    OffsiteMatch::Any => true,
                    OffsiteMatch::Registered => offsite_registered,
                    OffsiteMatch::Unregistered => !offsite_registered,
                }
        })
    }
}

/// 门诊统筹 (ordinary outpatient pooling).
#[derive(Clone, Debug)]
pub struct Outpatient {
    pub med_types: Vec<String>,
    /// Levels where outpatient pooling pays; elsewhere lines are classified but nothing is paid.
    pub levels: Vec<Level>,
    pub annual_deductible: Fen,
    pub ratio: Ratio,
    pub annual_cap: Fen,
    pub tilts: Vec<Tilt>,
}

/// 门诊慢特病.
#[derive(Clone, Debug)]
pub struct Chronic {
    pub med_types: Vec<String>,
    pub classes: Vec<ChronicClass>,
}

#[derive(Clone, Debug)]
pub struct DiseaseGroup {
    pub name: String,
    /// ICD-10 code prefixes (`I10`, `C`).
    pub prefixes: Vec<String>,
}

impl DiseaseGroup {
    pub fn matches(&self, dise_codg: &str) -> bool {
        self.prefixes
            .iter()
            .any(|p| dise_codg.starts_with(p.as_str()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChronicRatio {
    /// The inpatient rate of the institution's level and 备案 status, with inpatient tilts' points.
    FromInpatient,
    Fixed(Ratio),
}

#[derive(Clone, Debug)]
pub struct ChronicClass {
    pub code: String,
    pub name: String,
    pub groups: Vec<DiseaseGroup>,
    pub ratio: ChronicRatio,
    pub tilts: Vec<Tilt>,
    /// Class cap: `base + per_extra_group × (approved groups of this class − 1)`.
    pub annual_cap: Option<(Fen, Fen)>,
    /// Whether payments also count against the basic annual cap.
    pub counts_toward_annual_cap: bool,
}

impl Chronic {
    /// (class index, group index) of a diagnosis; first match in file order.
    pub fn group_of(&self, dise_codg: &str) -> Option<(usize, usize)> {
        self.classes.iter().enumerate().find_map(|(ci, c)| {
            c.groups
                .iter()
                .position(|g| g.matches(dise_codg))
                .map(|gi| (ci, gi))
        })
    }
}

/// One segment of a 大病 scale, measured on the accumulated amount above the threshold.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Exclusive upper bound above the threshold; `None` = no bound.
    pub upto: Option<Fen>,
    pub ratio: Ratio,
}

/// 大病保险 (`hifmi_pay`).
#[derive(Clone, Debug)]
pub struct Critical {
    pub name: String,
    pub med_types: Vec<String>,
    pub threshold: Fen,
    pub segments: Vec<Segment>,
    pub annual_cap: Option<Fen>,
    pub tilts: Vec<Tilt>,
}

/// Output field a supplementary layer pays into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FundField {
    /// `oth_pay` 其他支付
    OthPay,
    /// `cvlserv_pay` 公务员医疗补助
    CvlservPay,
    /// `hifob_pay` 职工大额医疗费用补助
    HifobPay,
}

/// A fixed-share supplementary layer (e.g. 重大疾病补充保险 18%/27%) on what remains of the
/// compliant burden after 大病, for listed diseases.
#[derive(Clone, Debug)]
pub struct Supplementary {
    pub name: String,
    pub med_types: Vec<String>,
    /// ICD-10 prefixes; empty = every diagnosis.
    pub diseases: Vec<String>,
    /// Only persons holding one of these; empty = everyone.
    pub categories: Vec<String>,
    pub ratio: Ratio,
    pub tilts: Vec<Tilt>,
    pub annual_cap: Option<Fen>,
    pub pays_into: FundField,
}

#[derive(Clone, Debug)]
pub struct AssistanceRule {
    pub category: String,
    pub threshold: Fen,
    pub ratio: Ratio,
}

/// 医疗救助 (`maf_pay`). The first rule (file order) whose category the person holds applies.
#[derive(Clone, Debug)]
pub struct Assistance {
    pub name: String,
    pub med_types: Vec<String>,
    pub rules: Vec<AssistanceRule>,
    pub annual_cap: Option<Fen>,
}

/// 兜底: the registered poor pay at most `share` of the total; the excess is borne by the
/// hospital at `hospital_levels`, by the government (`oth_pay`) elsewhere.
#[derive(Clone, Debug)]
pub struct Ceiling {
    pub name: String,
    pub med_types: Vec<String>,
    pub categories: Vec<String>,
    pub share: Ratio,
    pub hospital_levels: Vec<Level>,
}

impl Policy {
    pub fn visit_kind(&self, med_type: &str) -> Option<VisitKind> {
        let has = |v: &[String]| v.iter().any(|m| m == med_type);
        if has(&self.basic.inpatient.med_types) {
            Some(VisitKind::Inpatient)
        } else if self
            .basic
            .outpatient
            .as_ref()
            .is_some_and(|o| has(&o.med_types))
        {
            Some(VisitKind::Outpatient)
        } else if self
            .basic
            .chronic
            .as_ref()
            .is_some_and(|c| has(&c.med_types))
        {
            Some(VisitKind::Chronic)
        } else {
            None
        }
    }

    pub fn category_name(&self, code: &str) -> Option<&str> {
        self.categories
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name.as_str())
    }

    /// Parses and validates a policy. `file` names the source in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError {
            file: file.to_string(),
            issues: vec![PolicyIssue {
                key: String::new(),
                reason: format!("TOML 格式错误：{}", e.to_string().trim_end()),
            }],
        })?;
        let mut v = Validator::default();
        let policy = v.policy(raw);
        if v.issues.is_empty() {
            Ok(policy)
        } else {
            Err(PolicyError {
                file: file.to_string(),
                issues: v.issues,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyIssue {
    /// Key path such as `basic.inpatient.rates[2].ratio`.
    pub key: String,
    pub reason: String,
}

/// Every problem found in one policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub issues: Vec<PolicyIssue>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "政策文件 {} 有 {} 处错误：",
            self.file,
            self.issues.len()
        )?;
        for i in &self.issues {
            if i.key.is_empty() {
                write!(f, "\n  {}", i.reason)?;
            } else {
                write!(f, "\n  {}：{}", i.key, i.reason)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

// ---------------------------------------------------------------------------------------------
// Raw file shape
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    meta: RawMeta,
    #[serde(default)]
    category: Vec<RawCategory>,
    basic: RawBasic,
    critical: Option<RawCritical>,
    #[serde(default)]
    supplementary: Vec<RawSupplementary>,
    assistance: Option<RawAssistance>,
    ceiling: Option<RawCeiling>,
    contribution: Option<crate::contribution::RawContribution>,
    fund_pay_types: Option<crate::funds::RawFundPayTypes>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
    admdvs: String,
    insutype: String,
    year: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    code: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasic {
    name: String,
    annual_cap: String,
    inpatient: RawInpatient,
    outpatient: Option<RawOutpatient>,
    chronic: Option<RawChronic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInpatient {
    med_types: Vec<String>,
    rates: Vec<RawRate>,
    repeat_admission: Option<RawRepeat>,
    #[serde(default)]
    tilts: Vec<RawTilt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    level: String,
    #[serde(default)]
    offsite: Option<String>,
    deductible: String,
    ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepeat {
    mode: String,
    factor: Option<String>,
    step: Option<String>,
    floor: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTilt {
    categories: Vec<String>,
    ratio_points: Option<String>,
    #[serde(default)]
    waive_deductible: bool,
    #[serde(default)]
    waive_deductible_levels: Vec<String>,
    threshold_factor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutpatient {
    med_types: Vec<String>,
    levels: Vec<String>,
    annual_deductible: String,
    ratio: String,
    annual_cap: String,
    #[serde(default)]
    tilts: Vec<RawTilt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChronic {
    med_types: Vec<String>,
    classes: Vec<RawChronicClass>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChronicClass {
    code: String,
    name: String,
    ratio: Option<String>,
    ratio_from: Option<String>,
    annual_cap: Option<String>,
    cap_per_extra_group: Option<String>,
    #[serde(default = "yes")]
    counts_toward_annual_cap: bool,
    #[serde(default)]
    tilts: Vec<RawTilt>,
    groups: Vec<RawGroup>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    prefixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCritical {
    name: String,
    med_types: Vec<String>,
    threshold: String,
    annual_cap: Option<String>,
    segments: Vec<RawSegment>,
    #[serde(default)]
    tilts: Vec<RawTilt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    upto: Option<String>,
    ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupplementary {
    name: String,
    med_types: Vec<String>,
    #[serde(default)]
    diseases: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    ratio: String,
    annual_cap: Option<String>,
    pays_into: String,
    #[serde(default)]
    tilts: Vec<RawTilt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssistance {
    name: String,
    med_types: Vec<String>,
    annual_cap: Option<String>,
    rules: Vec<RawAssistanceRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssistanceRule {
    category: String,
    threshold: String,
    ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCeiling {
    name: String,
    med_types: Vec<String>,
    categories: Vec<String>,
    share: String,
    hospital_levels: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// Which tilt effects make sense in a section.
#[derive(Clone, Copy)]
struct TiltUse {
    deductible: bool,
    threshold: bool,
}

#[derive(Default)]
pub(crate) struct Validator {
    issues: Vec<PolicyIssue>,
    categories: Vec<String>,
}

impl Validator {
    pub(crate) fn issue(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.issues.push(PolicyIssue {
            key: key.into(),
            reason: reason.into(),
        });
    }

    pub(crate) fn yuan(&mut self, key: &str, text: &str) -> Fen {
        match parse_yuan(text) {
            Ok(v) if v >= 0 => v,
            Ok(_) => {
                self.issue(key, format!("金额不能为负数：{text:?}"));
                0
            }
            Err(e) => {
                self.issue(
                    key,
                    format!("不是有效金额（元，最多两位小数）：{text:?}，{e}"),
                );
                0
            }
        }
    }

    fn opt_yuan(&mut self, key: &str, text: Option<&String>) -> Option<Fen> {
        text.map(|t| self.yuan(key, t))
    }

    pub(crate) fn ratio(&mut self, key: &str, text: &str) -> Ratio {
        Ratio::parse(text).unwrap_or_else(|e| {
            self.issue(key, format!("比例应为 0 到 1 之间的小数：{text:?}，{e}"));
            Ratio::ZERO
        })
    }

    fn level(&mut self, key: &str, text: &str) -> Level {
        Level::parse(text).unwrap_or_else(|| {
            self.issue(key, format!("医院等级应为 1、2、3、3P 或 OUT：{text:?}"));
            Level::L1
        })
    }

    fn levels(&mut self, key: &str, list: &[String]) -> Vec<Level> {
        list.iter()
            .enumerate()
            .map(|(i, t)| self.level(&format!("{key}[{i}]"), t))
            .collect()
    }

    /// Whether `code` is a category defined in `[[category]]`.
    pub(crate) fn knows_category(&self, code: &str) -> bool {
        self.categories.iter().any(|c| c == code)
    }

    pub(crate) fn category_refs(&mut self, key: &str, list: &[String]) -> Vec<String> {
        for (i, c) in list.iter().enumerate() {
            if !self.categories.contains(c) {
                self.issue(
                    format!("{key}[{i}]"),
                    format!("人员类别 {c:?} 未在 [[category]] 中定义"),
                );
            }
        }
        list.to_vec()
    }

    fn med_types(&mut self, key: &str, list: &[String]) -> Vec<String> {
        if list.is_empty() {
            self.issue(key, "至少需要一个医疗类别 (med_type)");
        }
        for (i, m) in list.iter().enumerate() {
            if m.len() != 2 || !m.bytes().all(|b| b.is_ascii_digit()) {
                self.issue(
                    format!("{key}[{i}]"),
                    format!("医疗类别应为两位数字代码：{m:?}"),
                );
            }
        }
        list.to_vec()
    }

    fn tilts(&mut self, key: &str, raw: &[RawTilt], usage: TiltUse) -> Vec<Tilt> {
        raw.iter()
            .enumerate()
            .map(|(i, t)| {
                let k = format!("{key}[{i}]");
                if t.categories.is_empty() {
                    self.issue(format!("{k}.categories"), "倾斜政策须指明人员类别");
                }
                let categories = self.category_refs(&format!("{k}.categories"), &t.categories);
                if !usage.deductible
                    && (t.waive_deductible || !t.waive_deductible_levels.is_empty())
                {
                    self.issue(format!("{k}.waive_deductible"), "此处没有起付线可免");
                }
                if !usage.threshold && t.threshold_factor.is_some() {
                    self.issue(format!("{k}.threshold_factor"), "此处没有起付标准可调整");
                }
                if !t.waive_deductible_levels.is_empty() && !t.waive_deductible {
                    self.issue(
                        format!("{k}.waive_deductible_levels"),
                        "给出了免起付线的等级，但 waive_deductible 不是 true",
                    );
                }
                Tilt {
                    categories,
                    ratio_points: t
                        .ratio_points
                        .as_deref()
                        .map_or(Ratio::ZERO, |r| self.ratio(&format!("{k}.ratio_points"), r)),
                    waive_deductible: t.waive_deductible,
                    waive_levels: self.levels(
                        &format!("{k}.waive_deductible_levels"),
                        &t.waive_deductible_levels,
                    ),
                    threshold_factor: t
                        .threshold_factor
                        .as_deref()
                        .map(|r| self.ratio(&format!("{k}.threshold_factor"), r)),
                }
            })
            .collect()
    }

    fn policy(&mut self, raw: RawPolicy) -> Policy {
        let m = &raw.meta;
        if m.admdvs.len() != 6 || !m.admdvs.bytes().all(|b| b.is_ascii_digit()) {
            self.issue(
                "meta.admdvs",
                format!("统筹区编码应为 6 位数字：{:?}", m.admdvs),
            );
        }
        if m.insutype.len() != 3 || !m.insutype.bytes().all(|b| b.is_ascii_digit()) {
            self.issue(
                "meta.insutype",
                format!("险种类型应为 3 位数字：{:?}", m.insutype),
            );
        }
        if !(1990..=2199).contains(&m.year) {
            self.issue("meta.year", format!("年度不合理：{}", m.year));
        }
        for (i, c) in raw.category.iter().enumerate() {
            if c.code.trim().is_empty() {
                self.issue(format!("category[{i}].code"), "人员类别编码不能为空");
            }
            if self.categories.contains(&c.code) {
                self.issue(
                    format!("category[{i}].code"),
                    format!("人员类别 {:?} 重复", c.code),
                );
            }
            self.categories.push(c.code.clone());
        }
        let categories = raw
            .category
            .iter()
            .map(|c| CategoryDef {
                code: c.code.clone(),
                name: c.name.clone(),
            })
            .collect();

        let basic = self.basic(&raw.basic);
        let critical = raw.critical.as_ref().map(|c| self.critical(c));
        if raw.supplementary.len() > MAX_SUPPLEMENTARY {
            self.issue(
                "supplementary",
                format!("补充保险层最多 {MAX_SUPPLEMENTARY} 个"),
            );
        }
        let supplementary: Vec<Supplementary> = raw
            .supplementary
            .iter()
            .enumerate()
            .map(|(i, s)| self.supplementary(i, s))
            .collect();
        let assistance = raw.assistance.as_ref().map(|a| self.assistance(a));
        let ceiling = raw.ceiling.as_ref().map(|c| self.ceiling(c));
        let contribution = raw
            .contribution
            .as_ref()
            .map(|c| crate::contribution::validate(self, c, m.year));
        let fund_pay_types = self.fund_pay_types(
            &raw,
            &supplementary,
            critical.is_some(),
            assistance.is_some(),
            ceiling.is_some(),
        );

        let policy = Policy {
            name: m.name.clone(),
            admdvs: m.admdvs.clone(),
            insutype: m.insutype.clone(),
            year: m.year.clamp(0, i64::from(u16::MAX)) as u16,
            categories,
            basic,
            critical,
            supplementary,
            assistance,
            ceiling,
            contribution,
            fund_pay_types,
        };
        self.check_med_type_overlap(&policy);
        policy
    }

    /// `[fund_pay_types]`, with one for every payer this policy's layers can pay.
    fn fund_pay_types(
        &mut self,
        raw: &RawPolicy,
        supplementary: &[Supplementary],
        critical: bool,
        assistance: bool,
        ceiling: bool,
    ) -> crate::funds::FundPayTypes {
        use crate::funds::Payer;
        let mut required = vec![Payer::Basic];
        for (has, payers) in [
            (critical, &[Payer::Critical][..]),
            (assistance, &[Payer::Assistance]),
            (ceiling, &[Payer::Other, Payer::Hospital]),
        ] {
            if has {
                required.extend_from_slice(payers);
            }
        }
        for s in supplementary {
            required.push(match s.pays_into {
                FundField::OthPay => Payer::Other,
                FundField::CvlservPay => Payer::CivilServant,
                FundField::HifobPay => Payer::LargeAmount,
            });
        }
        crate::funds::fund_pay_types(raw.fund_pay_types.as_ref(), &required, |k, r| {
            self.issue(k, r)
        })
    }

    fn check_med_type_overlap(&mut self, p: &Policy) {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let sections = [
            (
                "basic.inpatient.med_types",
                Some(&p.basic.inpatient.med_types),
            ),
            (
                "basic.outpatient.med_types",
                p.basic.outpatient.as_ref().map(|o| &o.med_types),
            ),
            (
                "basic.chronic.med_types",
                p.basic.chronic.as_ref().map(|c| &c.med_types),
            ),
        ];
        for (key, list) in sections {
            for m in list.into_iter().flatten() {
                if let Some((_, other)) = seen.iter().find(|(x, _)| *x == m.as_str()) {
                    let reason =
                        format!("医疗类别 {m:?} 已出现在 {other}，同一类别只能属于一种待遇");
                    self.issue(key, reason);
                } else {
                    seen.push((m, key));
                }
            }
        }
    }

    fn basic(&mut self, b: &RawBasic) -> Basic {
        let annual_cap = self.yuan("basic.annual_cap", &b.annual_cap);
        let ip = &b.inpatient;
        let k = "basic.inpatient";
        if ip.rates.is_empty() {
            self.issue(format!("{k}.rates"), "至少需要一个等级的起付线和比例");
        }
        let rates: Vec<RateRow> = ip
            .rates
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let rk = format!("{k}.rates[{i}]");
                let offsite = match r.offsite.as_deref() {
                    None | Some("any") => OffsiteMatch::Any,
                    Some("registered") => OffsiteMatch::Registered,
                    Some("unregistered") => OffsiteMatch::Unregistered,
                    Some(other) => {
                        self.issue(
                            format!("{rk}.offsite"),
                            format!("应为 any、registered（已备案）或 unregistered（未备案）：{other:?}"),
                        );
                        OffsiteMatch::Any
                    }
                };
                RateRow {
                    level: self.level(&format!("{rk}.level"), &r.level),
                    offsite,
                    deductible: self.yuan(&format!("{rk}.deductible"), &r.deductible),
                    ratio: self.ratio(&format!("{rk}.ratio"), &r.ratio),
                }
            })
            .collect();
        // Every level must find exactly one row for each 备案 status.
        if !rates.is_empty() {
            for level in Level::ALL {
                for registered in [false, true] {
                    let n = rates
                        .iter()
                        .filter(|r| {
                            r.level == level
                                && match r.offsite {
                                    OffsiteMatch::Any => true,
                                    OffsiteMatch::Registered => registered,
                                    OffsiteMatch::Unregistered => !registered,
                                }
                        })
                        .count();
                    let status = if registered { "已备案" } else { "未备案" };
                    if n == 0 {
                        let reason =
                            format!("等级 {}（{status}）没有对应的起付线和比例", level.code());
                        self.issue(format!("{k}.rates"), reason);
                    } else if n > 1 {
                        let reason =
                            format!("等级 {}（{status}）有 {n} 行，应只有一行", level.code());
                        self.issue(format!("{k}.rates"), reason);
                    }
                }
            }
        }
        let repeat = match &ip.repeat_admission {
            None => RepeatRule::None,
            Some(r) => {
                let rk = format!("{k}.repeat_admission");
                match r.mode.as_str() {
                    "none" => RepeatRule::None,
                    "factor" => match &r.factor {
                        Some(f) => RepeatRule::Factor(self.ratio(&format!("{rk}.factor"), f)),
                        None => {
                            self.issue(format!("{rk}.factor"), "mode = \"factor\" 需要 factor");
                            RepeatRule::None
                        }
                    },
                    "step" => match &r.step {
                        Some(s) => RepeatRule::Step {
                            step: self.yuan(&format!("{rk}.step"), s),
                            floor: r
                                .floor
                                .as_deref()
                                .map_or(0, |f| self.yuan(&format!("{rk}.floor"), f)),
                        },
                        None => {
                            self.issue(format!("{rk}.step"), "mode = \"step\" 需要 step");
                            RepeatRule::None
                        }
                    },
                    other => {
                        let reason = format!("应为 none、factor 或 step：{other:?}");
                        self.issue(format!("{rk}.mode"), reason);
                        RepeatRule::None
                    }
                }
            }
        };
        let inpatient = Inpatient {
            med_types: self.med_types(&format!("{k}.med_types"), &ip.med_types),
            rates,
            repeat,
            tilts: self.tilts(
                &format!("{k}.tilts"),
                &ip.tilts,
                TiltUse {
                    deductible: true,
                    threshold: false,
                },
            ),
        };
        let outpatient = b.outpatient.as_ref().map(|o| {
            let k = "basic.outpatient";
            Outpatient {
                med_types: self.med_types(&format!("{k}.med_types"), &o.med_types),
                levels: self.levels(&format!("{k}.levels"), &o.levels),
                annual_deductible: self
                    .yuan(&format!("{k}.annual_deductible"), &o.annual_deductible),
                ratio: self.ratio(&format!("{k}.ratio"), &o.ratio),
                annual_cap: self.yuan(&format!("{k}.annual_cap"), &o.annual_cap),
                tilts: self.tilts(
                    &format!("{k}.tilts"),
                    &o.tilts,
                    TiltUse {
                        deductible: true,
                        threshold: false,
                    },
                ),
            }
        });
        let chronic = b.chronic.as_ref().map(|c| self.chronic(c));
        Basic {
            name: b.name.clone(),
            annual_cap,
            inpatient,
            outpatient,
            chronic,
        }
    }

    fn chronic(&mut self, c: &RawChronic) -> Chronic {
        let k = "basic.chronic";
        if c.classes.is_empty() || c.classes.len() > MAX_CHRONIC_CLASSES {
            self.issue(
                format!("{k}.classes"),
                format!("门诊慢特病类别应有 1 到 {MAX_CHRONIC_CLASSES} 个"),
            );
        }
        let classes = c
            .classes
            .iter()
            .enumerate()
            .map(|(i, cl)| {
                let ck = format!("{k}.classes[{i}]");
                let ratio = match (&cl.ratio, cl.ratio_from.as_deref()) {
                    (Some(r), None) => ChronicRatio::Fixed(self.ratio(&format!("{ck}.ratio"), r)),
                    (None, Some("inpatient")) => ChronicRatio::FromInpatient,
                    (None, Some(other)) => {
                        let reason = format!("目前只支持 \"inpatient\"（按住院比例）：{other:?}");
                        self.issue(format!("{ck}.ratio_from"), reason);
                        ChronicRatio::Fixed(Ratio::ZERO)
                    }
                    _ => {
                        self.issue(ck.clone(), "ratio 与 ratio_from 须且只能给出一个");
                        ChronicRatio::Fixed(Ratio::ZERO)
                    }
                };
                let annual_cap = match (&cl.annual_cap, &cl.cap_per_extra_group) {
                    (Some(base), extra) => Some((
                        self.yuan(&format!("{ck}.annual_cap"), base),
                        extra
                            .as_deref()
                            .map_or(0, |e| self.yuan(&format!("{ck}.cap_per_extra_group"), e)),
                    )),
                    (None, Some(_)) => {
                        let reason = "给出了每增加一个病种的限额，但没有 annual_cap";
                        self.issue(format!("{ck}.cap_per_extra_group"), reason);
                        None
                    }
                    (None, None) => None,
                };
                if cl.groups.is_empty() {
                    self.issue(format!("{ck}.groups"), "至少需要一个病种组");
                }
                let groups = cl
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(gi, g)| {
                        if g.prefixes.is_empty() || g.prefixes.iter().any(|p| p.trim().is_empty()) {
                            let reason = "病种组须有非空的 ICD-10 编码前缀";
                            self.issue(format!("{ck}.groups[{gi}].prefixes"), reason);
                        }
                        DiseaseGroup {
                            name: g.name.clone(),
                            prefixes: g.prefixes.clone(),
                        }
                    })
                    .collect();
                ChronicClass {
                    code: cl.code.clone(),
                    name: cl.name.clone(),
                    groups,
                    ratio,
                    tilts: self.tilts(
                        &format!("{ck}.tilts"),
                        &cl.tilts,
                        TiltUse {
                            deductible: false,
                            threshold: false,
                        },
                    ),
                    annual_cap,
                    counts_toward_annual_cap: cl.counts_toward_annual_cap,
                }
            })
            .collect();
        Chronic {
            med_types: self.med_types(&format!("{k}.med_types"), &c.med_types),
            classes,
        }
    }

    fn critical(&mut self, c: &RawCritical) -> Critical {
        let k = "critical";
        if c.segments.is_empty() || c.segments.len() > MAX_SEGMENTS {
            self.issue(
                format!("{k}.segments"),
                format!("分段应有 1 到 {MAX_SEGMENTS} 段"),
            );
        }
        let mut segments: Vec<Segment> = Vec::new();
        let n = c.segments.len();
        for (i, s) in c.segments.iter().enumerate() {
            let sk = format!("{k}.segments[{i}]");
            let upto = s
                .upto
                .as_deref()
                .map(|u| self.yuan(&format!("{sk}.upto"), u));
            if upto.is_none() && i + 1 != n {
                self.issue(format!("{sk}.upto"), "只有最后一段可以不设上限");
            }
            if let (
                Some(u),
                Some(Segment {
                    upto: Some(prev), ..
                }),
            ) = (upto, segments.last())
            {
                if u <= *prev {
                    self.issue(format!("{sk}.upto"), "分段上限必须逐段递增");
                }
            }
            if upto == Some(0) {
                self.issue(format!("{sk}.upto"), "分段上限必须大于 0");
            }
            segments.push(Segment {
                upto,
                ratio: self.ratio(&format!("{sk}.ratio"), &s.ratio),
            });
        }
        Critical {
            name: c.name.clone(),
            med_types: self.med_types(&format!("{k}.med_types"), &c.med_types),
            threshold: self.yuan(&format!("{k}.threshold"), &c.threshold),
            segments,
            annual_cap: self.opt_yuan(&format!("{k}.annual_cap"), c.annual_cap.as_ref()),
            tilts: self.tilts(
                &format!("{k}.tilts"),
                &c.tilts,
                TiltUse {
                    deductible: false,
                    threshold: true,
                },
            ),
        }
    }

    fn supplementary(&mut self, i: usize, s: &RawSupplementary) -> Supplementary {
        let k = format!("supplementary[{i}]");
        let pays_into = match s.pays_into.as_str() {
            "oth_pay" => FundField::OthPay,
            "cvlserv_pay" => FundField::CvlservPay,
            "hifob_pay" => FundField::HifobPay,
            other => {
                let reason = format!("应为 oth_pay、cvlserv_pay 或 hifob_pay：{other:?}");
                self.issue(format!("{k}.pays_into"), reason);
                FundField::OthPay
            }
        };
        Supplementary {
            name: s.name.clone(),
            med_types: self.med_types(&format!("{k}.med_types"), &s.med_types),
            diseases: s.diseases.clone(),
            categories: self.category_refs(&format!("{k}.categories"), &s.categories),
            ratio: self.ratio(&format!("{k}.ratio"), &s.ratio),
            tilts: self.tilts(
                &format!("{k}.tilts"),
                &s.tilts,
                TiltUse {
                    deductible: false,
                    threshold: false,
                },
            ),
            annual_cap: self.opt_yuan(&format!("{k}.annual_cap"), s.annual_cap.as_ref()),
            pays_into,
        }
    }

    fn assistance(&mut self, a: &RawAssistance) -> Assistance {
        let k = "assistance";
        if a.rules.is_empty() {
            self.issue(format!("{k}.rules"), "至少需要一个救助对象类别");
        }
        let rules = a
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let rk = format!("{k}.rules[{i}]");
                self.category_refs(&format!("{rk}.category"), std::slice::from_ref(&r.category));
                AssistanceRule {
                    category: r.category.clone(),
                    threshold: self.yuan(&format!("{rk}.threshold"), &r.threshold),
                    ratio: self.ratio(&format!("{rk}.ratio"), &r.ratio),
                }
            })
            .collect();
        Assistance {
            name: a.name.clone(),
            med_types: self.med_types(&format!("{k}.med_types"), &a.med_types),
            rules,
            annual_cap: self.opt_yuan(&format!("{k}.annual_cap"), a.annual_cap.as_ref()),
        }
    }

    fn ceiling(&mut self, c: &RawCeiling) -> Ceiling {
        let k = "ceiling";
        if c.categories.is_empty() {
            self.issue(format!("{k}.categories"), "兜底须指明适用的人员类别");
        }
        Ceiling {
            name: c.name.clone(),
            med_types: self.med_types(&format!("{k}.med_types"), &c.med_types),
            categories: self.category_refs(&format!("{k}.categories"), &c.categories),
            share: self.ratio(&format!("{k}.share"), &c.share),
            hospital_levels: self.levels(&format!("{k}.hospital_levels"), &c.hospital_levels),
        }
    }
}
