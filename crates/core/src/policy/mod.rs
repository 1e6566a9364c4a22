//! The benefit policy as data: one region, scheme and year in one TOML file.
//!
//! Loading parses the text (pure: the caller reads the file) and validates every number and
//! reference; problems are reported all at once with the file, the key path and the reason.
//! No benefit number lives in Rust code: everything below comes from the file.

use crate::money::{parse_yuan, Fen, Ratio};
use crate::refdata::Level;
use serde::Deserialize;
use std::fmt;

pub(crate) mod shape;
mod validate;

pub(crate) use validate::Validator;

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
    /// 大额医疗费用补助: what an annual cap cut off of the pool base (`hifob_pay`).
    pub over_cap: Option<OverCap>,
    /// A layer for persons holding a flag (公务员医疗补助, `cvlserv_pay`).
    pub subsidy: Option<Subsidy>,
    /// 个人账户 paying what is left of the person's part (`acct_pay`).
    pub account: Option<Account>,
    /// 个人账户家庭共济: a family member's account paying what is left after the person's own
    /// (`acct_mulaid_pay`), for persons with an approved registration.
    pub family_aid: Option<Account>,
    /// 缴费 rules (residents' shares and subsidies; employees' rates, accounts, arrears).
    pub contribution: Option<crate::contribution::ContributionPolicy>,
    /// The national fund pay type of each payer (`setldetail`).
    pub fund_pay_types: crate::funds::FundPayTypes,
    /// 基金会计: the chart of accounts and posting rules of this policy's fund.
    pub books: Option<crate::books::Books>,
}

#[derive(Clone, Debug)]
pub struct CategoryDef {
    pub code: String,
    pub name: String,
}

/// A value that may differ by the person's status: 在职 (in service) or 退休 (retired). In the
/// file a key gives it for everyone and `key_retired`, when present, for the retired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByStatus<T> {
    pub in_service: T,
    pub retired: T,
}

impl<T: Copy> ByStatus<T> {
    pub fn same(v: T) -> ByStatus<T> {
        ByStatus {
            in_service: v,
            retired: v,
        }
    }

    pub fn get(&self, retired: bool) -> T {
        if retired {
            self.retired
        } else {
            self.in_service
        }
    }
}

impl<T: Copy + Ord> ByStatus<T> {
    /// The larger of the two (a bound that holds whatever the status).
    pub fn max(&self) -> T {
        self.in_service.max(self.retired)
    }
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
    /// 统筹基金支付比例, by status.
    pub ratio: ByStatus<Ratio>,
}

/// 多次住院起付线: how the deductible falls for the second and later admissions of a year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepeatRule {
    /// Every admission pays the full deductible.
    None,
    /// Second and later: `round(deductible × factor)` (e.g. 0.5, halved).
    Factor(Ratio),
    /// The n-th admission (n ≥ 2): `max(floor, deductible − step × (n − 1))`.
    Step { step: Fen, floor: Fen },
    /// The (n+1)-th admission pays `round(deductible × factors[n − 1])`, the last factor for
    /// every later one (e.g. `["0.5", "0"]`: half for the second, none from the third).
    Schedule(Vec<Ratio>),
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

/// 门诊统筹 / 门诊共济 (ordinary outpatient pooling).
#[derive(Clone, Debug)]
pub struct Outpatient {
    pub med_types: Vec<String>,
    /// The levels where outpatient pooling pays, each with its ratio; at other levels lines
    /// are classified but nothing is paid.
    pub rates: Vec<(Level, ByStatus<Ratio>)>,
    pub annual_deductible: ByStatus<Fen>,
    pub annual_cap: ByStatus<Fen>,
    pub tilts: Vec<Tilt>,
}

impl Outpatient {
    /// The ratio at `level`, or `None` where outpatient pooling does not pay.
    pub fn ratio_at(&self, level: Level) -> Option<ByStatus<Ratio>> {
        self.rates
            .iter()
            .find(|(l, _)| *l == level)
            .map(|(_, r)| *r)
    }
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
    Fixed(ByStatus<Ratio>),
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

/// 大额医疗费用补助: when an annual cap cut the basic fund's payment, the part of the pool
/// base the payment does not cover, `ob = pb − min(pb, round(hifp_pay / ratio))`, is paid at
/// `ratio` up to `annual_cap` (`hifob_pay`).
#[derive(Clone, Debug)]
pub struct OverCap {
    pub name: String,
    pub med_types: Vec<String>,
    /// For 门诊慢特病 visits: the classes (codes) it applies to; empty = every class.
    pub chronic_classes: Vec<String>,
    pub ratio: ByStatus<Ratio>,
    pub annual_cap: Option<Fen>,
}

/// A person flag a layer can apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonFlag {
    /// 公务员 (`civil_servant` in the person data).
    CivilServant,
}

/// A layer for persons holding a flag, on the in-scope part nobody has paid yet
/// (`inscp_scp_amt − hifp_pay − hifob_pay`): 公务员医疗补助 (`cvlserv_pay`).
#[derive(Clone, Debug)]
pub struct Subsidy {
    pub name: String,
    pub med_types: Vec<String>,
    pub flag: PersonFlag,
    pub ratio: ByStatus<Ratio>,
    pub annual_cap: Option<Fen>,
}

/// 个人账户: pays last, up to its balance, the person's part except what `pays_full_ownpay`
/// and `pays_over_limit` leave out, when the visit asks for it (`acct_used_flag`).
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    /// Whether the account may pay 全自费 (`fulamt_ownpay_amt`).
    pub pays_full_ownpay: bool,
    /// Whether the account may pay 超限价 (`overlmt_selfpay`).
    pub pays_over_limit: bool,
    /// Annual interest rate on the daily balances (`account::interest`), if the scheme pays any.
    pub interest_rate: Option<Ratio>,
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
        load(file, text, |v, raw: RawPolicy| v.policy(raw))
    }
}

/// Parses `text` as `R`, reporting every shape problem, then validates it with `validate`,
/// reporting every value problem, each with the line of its key. Every file in the policy's
/// format goes through here (the benefit policy, the payment agreement).
pub(crate) fn load<R: serde::de::DeserializeOwned, T>(
    file: &str,
    text: &str,
    validate: impl FnOnce(&mut Validator, R) -> T,
) -> Result<T, PolicyError> {
    let error = |issues| PolicyError {
        file: file.to_string(),
        issues,
    };
    let raw: R = shape::parse(text).map_err(error)?;
    let mut v = Validator::default();
    let value = validate(&mut v, raw);
    if v.issues.is_empty() {
        return Ok(value);
    }
    let mut issues = v.issues;
    for i in &mut issues {
        i.line = shape::line_of_key(text, &i.key);
    }
    Err(error(issues))
}

/// The policies of one run, at most one per scheme (`yibao settle --policy` repeated): each
/// person is settled under the policy of their `insutype`.
#[derive(Clone, Debug)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    /// Refuses an empty set and two policies for one scheme, in Chinese.
    pub fn new(policies: Vec<Policy>) -> Result<PolicySet, String> {
        if policies.is_empty() {
            return Err("至少需要一个政策文件".into());
        }
        for (i, p) in policies.iter().enumerate() {
            if let Some(q) = policies[..i].iter().find(|q| q.insutype == p.insutype) {
                return Err(format!(
                    "政策《{}》与《{}》都是险种 {}：每个险种只能加载一个政策",
                    q.name, p.name, p.insutype
                ));
            }
        }
        Ok(PolicySet { policies })
    }

    pub fn one(policy: Policy) -> PolicySet {
        PolicySet {
            policies: vec![policy],
        }
    }

    /// The policy of scheme `insutype`.
    pub fn of(&self, insutype: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.insutype == insutype)
    }

    /// The policy to settle a record of person `psn_no` under: their scheme's, or (unknown
    /// person, scheme not loaded) the first, whose validation then refuses the record with
    /// the code §2 orders first (`UNKNOWN_PERSON`, …, `NOT_ENROLLED`).
    pub fn for_person(&self, refdata: &crate::refdata::RefData, psn_no: Option<&str>) -> &Policy {
        psn_no
            .and_then(|n| refdata.person(n))
            .and_then(|i| self.of(&refdata.persons[i as usize].scheme.insutype))
            .unwrap_or(&self.policies[0])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.policies.iter()
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
    /// The line (1-based) the problem is on, when known: of the problem of the file's
    /// shape (syntax, unknown key, value type), or of the key (or its nearest enclosing key
    /// or table) a value error names.
    pub line: Option<usize>,
}

/// Every problem found in one policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    pub issues: Vec<PolicyIssue>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_issues(f, "政策文件", &self.file, &self.issues)
    }
}

/// `{what} {file} 有 N 处错误：` and one line per issue (line, key path, reason).
pub(crate) fn write_issues(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    file: &str,
    issues: &[PolicyIssue],
) -> fmt::Result {
    write!(f, "{what} {file} 有 {} 处错误：", issues.len())?;
    for i in issues {
        write!(f, "\n  ")?;
        if let Some(line) = i.line {
            write!(f, "第 {line} 行 ")?;
        }
        if i.key.is_empty() {
            write!(f, "{}", i.reason)?;
        } else {
            write!(f, "{}：{}", i.key, i.reason)?;
        }
    }
    Ok(())
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
    over_cap: Option<RawOverCap>,
    subsidy: Option<RawSubsidy>,
    account: Option<RawAccount>,
    family_aid: Option<RawAccount>,
    contribution: Option<crate::contribution::RawContribution>,
    fund_pay_types: Option<crate::funds::RawFundPayTypes>,
    books: Option<crate::books::RawBooks>,
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
    ratio_retired: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepeat {
    mode: String,
    factor: Option<String>,
    step: Option<String>,
    floor: Option<String>,
    factors: Option<Vec<String>>,
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
    /// With `ratio`: the levels paid at that one ratio. Or `rates`, a ratio per level.
    #[serde(default)]
    levels: Vec<String>,
    ratio: Option<String>,
    ratio_retired: Option<String>,
    #[serde(default)]
    rates: Vec<RawLevelRatio>,
    annual_deductible: String,
    annual_deductible_retired: Option<String>,
    annual_cap: String,
    annual_cap_retired: Option<String>,
    #[serde(default)]
    tilts: Vec<RawTilt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevelRatio {
    level: String,
    ratio: String,
    ratio_retired: Option<String>,
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
    ratio_retired: Option<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverCap {
    name: String,
    med_types: Vec<String>,
    #[serde(default)]
    chronic_classes: Vec<String>,
    ratio: String,
    ratio_retired: Option<String>,
    annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubsidy {
    name: String,
    med_types: Vec<String>,
    person_flag: String,
    ratio: String,
    ratio_retired: Option<String>,
    annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: String,
    #[serde(default)]
    pays_full_ownpay: bool,
    #[serde(default)]
    pays_over_limit: bool,
    interest_rate: Option<String>,
}
