//! The payment agreement file's raw shape and its validation: every problem with its key path.

use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPayment {
    meta: RawMeta,
    global_budget: Option<RawGlobalBudget>,
    per_admission_quota: Option<RawQuota>,
    per_diem: Option<RawPerDiem>,
    #[serde(default)]
    single_disease: Vec<RawSingleDisease>,
    insurer: Option<RawInsurer>,
    #[serde(default)]
    institution: Vec<RawInstitution>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
    admdvs: String,
    year: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobalBudget {
    quality_reserve_share: String,
    overrun_band: String,
    overrun_paid_ratio: String,
    saving_share: String,
    saving_cap: String,
    reserve_full_score: String,
    reserve_min_score: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    med_types: Vec<String>,
    quota: Vec<RawLevelQuota>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevelQuota {
    level: String,
    per_admission: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerDiem {
    med_types: Vec<String>,
    institutions: Vec<String>,
    short_stay_days: i64,
    class: Vec<RawPerDiemClass>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerDiemClass {
    code: String,
    name: String,
    prefixes: Vec<String>,
    per_day: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSingleDisease {
    code: String,
    name: String,
    med_types: Vec<String>,
    prefixes: Vec<String>,
    standard: Vec<RawStandard>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandard {
    level: String,
    amount: String,
    patient_ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInsurer {
    name: String,
    premium_per_insured: String,
    due_months: Vec<i64>,
    admin_cost_share: String,
    profit_cap: String,
    loss_cap: String,
    fund_share_beyond_loss_cap: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstitution {
    fixmedins_code: String,
    name: String,
    level: String,
    method: String,
    budget: Option<String>,
}

pub(super) fn payment(v: &mut Validator, raw: RawPayment) -> PaymentPolicy {
    let m = &raw.meta;
    v.admdvs(&m.admdvs);
    v.year(m.year);
    let global_budget = raw.global_budget.as_ref().map(|g| global(v, g));
    let quota = raw.per_admission_quota.as_ref().map(|q| quota(v, q));
    let per_diem = raw.per_diem.as_ref().map(|p| per_diem(v, p));
    let single_disease = raw
        .single_disease
        .iter()
        .enumerate()
        .map(|(i, d)| disease(v, &format!("single_disease[{i}]"), d))
        .collect();
    let insurer = raw.insurer.as_ref().map(|r| insurer(v, r));
    let mut policy = PaymentPolicy {
        name: m.name.clone(),
        admdvs: m.admdvs.clone(),
        year: m.year.clamp(0, i64::from(u16::MAX)) as u16,
        institutions: Vec::new(),
        global_budget,
        quota,
        per_diem,
        single_disease,
        insurer,
    };
    for (i, r) in raw.institution.iter().enumerate() {
        let a = institution(v, &format!("institution[{i}]"), r, &policy);
        policy.institutions.push(a);
    }
    if let Some(p) = &policy.per_diem {
        for (i, code) in p.institutions.iter().enumerate() {
            if policy.agreement(code).is_none() {
                v.issue(
                    format!("per_diem.institutions[{i}]"),
                    format!("机构 {code:?} 没有 [[institution]] 协议"),
                );
            }
        }
    }
    policy
}

fn global(v: &mut Validator, g: &RawGlobalBudget) -> GlobalBudgetRule {
    let k = "global_budget";
    let mut score = |name: &str, text: &str| {
        Score::parse(text).unwrap_or_else(|| {
            v.issue(
                format!("{k}.{name}"),
                format!("考核得分应为 0 到 100 之间、最多一位小数：{text:?}"),
            );
            Score(0)
        })
    };
    let reserve_full_score = score("reserve_full_score", &g.reserve_full_score);
    let reserve_min_score = score("reserve_min_score", &g.reserve_min_score);
    if reserve_min_score > reserve_full_score {
        v.issue(
            format!("{k}.reserve_min_score"),
            format!("最低返还得分 {reserve_min_score} 高于全额返还得分 {reserve_full_score}"),
        );
    }
    GlobalBudgetRule {
        quality_reserve_share: v.ratio(
            &format!("{k}.quality_reserve_share"),
            &g.quality_reserve_share,
        ),
        overrun_band: v.ratio(&format!("{k}.overrun_band"), &g.overrun_band),
        overrun_paid_ratio: v.ratio(&format!("{k}.overrun_paid_ratio"), &g.overrun_paid_ratio),
        saving_share: v.ratio(&format!("{k}.saving_share"), &g.saving_share),
        saving_cap: v.ratio(&format!("{k}.saving_cap"), &g.saving_cap),
        reserve_full_score,
        reserve_min_score,
    }
}

/// A positive amount (a budget, a quota, a standard: zero would pay nothing).
fn positive_yuan(v: &mut Validator, key: &str, text: &str) -> Fen {
    let fen = v.yuan(key, text);
    if fen == 0 && v.issues.last().is_none_or(|i| i.key != key) {
        v.issue(key, format!("金额应大于 0：{text:?}"));
    }
    fen
}

/// A level that may appear once in a list (`seen`).
fn unique_level(v: &mut Validator, key: &str, text: &str, seen: &mut Vec<Level>) -> Level {
    let level = v.level(key, text);
    if seen.contains(&level) {
        v.issue(key, format!("医院等级 {text} 重复"));
    }
    seen.push(level);
    level
}

fn quota(v: &mut Validator, q: &RawQuota) -> QuotaRule {
    let k = "per_admission_quota";
    let med_types = v.med_types(&format!("{k}.med_types"), &q.med_types);
    if q.quota.is_empty() {
        v.issue(format!("{k}.quota"), "至少需要一个等级的定额");
    }
    let mut seen = Vec::new();
    let quotas = q
        .quota
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let k = format!("{k}.quota[{i}]");
            let level = unique_level(v, &format!("{k}.level"), &r.level, &mut seen);
            (
                level,
                positive_yuan(v, &format!("{k}.per_admission"), &r.per_admission),
            )
        })
        .collect();
    QuotaRule { med_types, quotas }
}

fn prefixes(v: &mut Validator, key: &str, list: &[String]) -> Vec<String> {
    if list.is_empty() || list.iter().any(|p| p.trim().is_empty()) {
        v.issue(key, "至少需要一个非空的 ICD-10 编码前缀");
    }
    list.to_vec()
}

fn code_and_name(v: &mut Validator, key: &str, code: &str, name: &str, seen: &mut Vec<String>) {
    if code.trim().is_empty() {
        v.issue(format!("{key}.code"), "编码不能为空");
    } else if seen.iter().any(|c| c == code) {
        v.issue(format!("{key}.code"), format!("编码 {code:?} 重复"));
    }
    if name.trim().is_empty() {
        v.issue(format!("{key}.name"), "名称不能为空");
    }
    seen.push(code.to_string());
}

fn per_diem(v: &mut Validator, p: &RawPerDiem) -> PerDiemRule {
    let k = "per_diem";
    let med_types = v.med_types(&format!("{k}.med_types"), &p.med_types);
    if !(1..=366).contains(&p.short_stay_days) {
        v.issue(
            format!("{k}.short_stay_days"),
            format!(
                "短期住院天数应为 1 到 366 之间的整数：{}",
                p.short_stay_days
            ),
        );
    }
    if p.class.is_empty() {
        v.issue(format!("{k}.class"), "至少需要一个床日付费病种类别");
    }
    let mut seen = Vec::new();
    let classes = p
        .class
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let k = format!("{k}.class[{i}]");
            code_and_name(v, &k, &c.code, &c.name, &mut seen);
            PerDiemClass {
                code: c.code.clone(),
                name: c.name.clone(),
                prefixes: prefixes(v, &format!("{k}.prefixes"), &c.prefixes),
                per_day: positive_yuan(v, &format!("{k}.per_day"), &c.per_day),
            }
        })
        .collect();
    PerDiemRule {
        med_types,
        institutions: p.institutions.clone(),
        short_stay_days: p.short_stay_days.clamp(1, 366) as u32,
        classes,
    }
}

fn disease(v: &mut Validator, k: &str, d: &RawSingleDisease) -> SingleDisease {
    code_and_name(v, k, &d.code, &d.name, &mut Vec::new());
    if d.standard.is_empty() {
        v.issue(format!("{k}.standard"), "至少需要一个等级的定额标准");
    }
    let mut seen = Vec::new();
    let standards = d
        .standard
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let k = format!("{k}.standard[{i}]");
            DiseaseStandard {
                level: unique_level(v, &format!("{k}.level"), &s.level, &mut seen),
                amount: positive_yuan(v, &format!("{k}.amount"), &s.amount),
                patient_ratio: v.ratio(&format!("{k}.patient_ratio"), &s.patient_ratio),
            }
        })
        .collect();
    SingleDisease {
        code: d.code.clone(),
        name: d.name.clone(),
        med_types: v.med_types(&format!("{k}.med_types"), &d.med_types),
        prefixes: prefixes(v, &format!("{k}.prefixes"), &d.prefixes),
        standards,
    }
}

fn insurer(v: &mut Validator, r: &RawInsurer) -> InsurerRule {
    let k = "insurer";
    if r.due_months.is_empty() {
        v.issue(format!("{k}.due_months"), "至少需要一次保费拨付");
    }
    for (i, m) in r.due_months.iter().enumerate() {
        if !(1..=12).contains(m) {
            v.issue(
                format!("{k}.due_months[{i}]"),
                format!("月份应为 1 到 12：{m}"),
            );
        } else if i > 0 && r.due_months[i - 1] >= *m {
            v.issue(
                format!("{k}.due_months[{i}]"),
                format!("拨付月份应逐次递增：{} 之后是 {m}", r.due_months[i - 1]),
            );
        }
    }
    InsurerRule {
        name: r.name.clone(),
        premium_per_insured: positive_yuan(
            v,
            &format!("{k}.premium_per_insured"),
            &r.premium_per_insured,
        ),
        due_months: r
            .due_months
            .iter()
            .map(|m| m.clamp(&1, &12).unsigned_abs() as u32)
            .collect(),
        admin_cost_share: v.ratio(&format!("{k}.admin_cost_share"), &r.admin_cost_share),
        profit_cap: v.ratio(&format!("{k}.profit_cap"), &r.profit_cap),
        loss_cap: v.ratio(&format!("{k}.loss_cap"), &r.loss_cap),
        fund_share_beyond_loss_cap: v.ratio(
            &format!("{k}.fund_share_beyond_loss_cap"),
            &r.fund_share_beyond_loss_cap,
        ),
    }
}

fn institution(v: &mut Validator, k: &str, r: &RawInstitution, p: &PaymentPolicy) -> Agreement {
    if r.fixmedins_code.trim().is_empty() {
        v.issue(format!("{k}.fixmedins_code"), "定点医药机构编码不能为空");
    } else if p.agreement(&r.fixmedins_code).is_some() {
        v.issue(
            format!("{k}.fixmedins_code"),
            format!("机构 {:?} 重复：每个机构只能有一份协议", r.fixmedins_code),
        );
    }
    let level = v.level(&format!("{k}.level"), &r.level);
    let method = match r.method.as_str() {
        "fee_for_service" => Method::FeeForService,
        "global_budget" => {
            if p.global_budget.is_none() {
                v.issue(format!("{k}.method"), "总额控制需要 [global_budget] 节");
            }
            match &r.budget {
                Some(b) => Method::GlobalBudget {
                    budget: positive_yuan(v, &format!("{k}.budget"), b),
                },
                None => {
                    v.issue(
                        format!("{k}.budget"),
                        "总额控制的机构须给出年度预算 budget（元）",
                    );
                    Method::GlobalBudget { budget: 0 }
                }
            }
        }
        "per_admission_quota" => {
            if p.quota.is_none() {
                v.issue(
                    format!("{k}.method"),
                    "次均定额需要 [per_admission_quota] 节",
                );
            } else if p.quota_for(level).is_none() {
                v.issue(
                    format!("{k}.level"),
                    format!("[per_admission_quota] 没有等级 {} 的定额", r.level),
                );
            }
            Method::PerAdmissionQuota
        }
        other => {
            v.issue(
                format!("{k}.method"),
                format!(
                    "支付方式 {other:?} 无效（可选：fee_for_service、global_budget、per_admission_quota）"
                ),
            );
            Method::FeeForService
        }
    };
    if r.budget.is_some() && !matches!(method, Method::GlobalBudget { .. }) {
        v.issue(
            format!("{k}.budget"),
            "只有总额控制（global_budget）的机构才有年度预算",
        );
    }
    Agreement {
        fixmedins_code: r.fixmedins_code.clone(),
        name: r.name.clone(),
        level,
        method,
    }
}
