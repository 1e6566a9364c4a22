//! Validation of a policy file: every problem is reported with its key path (`basic.inpatient.rates[0].ratio`).

use super::*;
use crate::funds::Payer;

/// Which tilt effects make sense in a section.
#[derive(Clone, Copy)]
struct TiltUse {
    deductible: bool,
    threshold: bool,
}

#[derive(Default)]
pub(crate) struct Validator {
    pub(crate) issues: Vec<PolicyIssue>,
    categories: Vec<String>,
}

impl Validator {
    pub(crate) fn issue(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.issues.push(PolicyIssue {
            key: key.into(),
            reason: reason.into(),
            line: None,
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

    /// `meta.admdvs`: a 6-digit 统筹区 code.
    pub(crate) fn admdvs(&mut self, admdvs: &str) {
        if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
            self.issue(
                "meta.admdvs",
                format!("统筹区编码应为 6 位数字：{admdvs:?}"),
            );
        }
    }

    /// `meta.year`.
    pub(crate) fn year(&mut self, year: i64) {
        if !(1990..=2199).contains(&year) {
            self.issue("meta.year", format!("年度不合理：{year}"));
        }
    }

    pub(crate) fn ratio(&mut self, key: &str, text: &str) -> Ratio {
        Ratio::parse(text).unwrap_or_else(|e| {
            self.issue(key, format!("比例应为 0 到 1 之间的小数：{text:?}，{e}"));
            Ratio::ZERO
        })
    }

    /// `key` for everyone, `key_retired` (when given) for the retired.
    fn ratio_by_status(
        &mut self,
        key: &str,
        text: &str,
        retired: Option<&String>,
    ) -> ByStatus<Ratio> {
        let in_service = self.ratio(key, text);
        ByStatus {
            in_service,
            retired: retired.map_or(in_service, |r| self.ratio(&format!("{key}_retired"), r)),
        }
    }

    fn yuan_by_status(&mut self, key: &str, text: &str, retired: Option<&String>) -> ByStatus<Fen> {
        let in_service = self.yuan(key, text);
        ByStatus {
            in_service,
            retired: retired.map_or(in_service, |r| self.yuan(&format!("{key}_retired"), r)),
        }
    }

    pub(crate) fn level(&mut self, key: &str, text: &str) -> Level {
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

    pub(crate) fn med_types(&mut self, key: &str, list: &[String]) -> Vec<String> {
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

    pub(super) fn policy(&mut self, raw: RawPolicy) -> Policy {
        let m = &raw.meta;
        self.admdvs(&m.admdvs);
        if m.insutype.len() != 3 || !m.insutype.bytes().all(|b| b.is_ascii_digit()) {
            self.issue(
                "meta.insutype",
                format!("险种类型应为 3 位数字：{:?}", m.insutype),
            );
        }
        self.year(m.year);
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
        let over_cap = raw.over_cap.as_ref().map(|o| self.over_cap(o, &basic));
        let subsidy = raw.subsidy.as_ref().map(|o| self.subsidy(o));
        let account = raw.account.as_ref().map(|a| self.account("account", a));
        let family_aid = raw.family_aid.as_ref().map(|a| {
            if a.interest_rate.is_some() {
                let reason = "家庭共济不计息：利率属于 [account]";
                self.issue("family_aid.interest_rate", reason);
            }
            self.account("family_aid", a)
        });
        let contribution = raw
            .contribution
            .as_ref()
            .map(|c| crate::contribution::validate(self, c, m.year));
        let fund_pay_types = self.fund_pay_types(
            &raw,
            &supplementary,
            [
                (critical.is_some(), &[Payer::Critical][..]),
                (assistance.is_some(), &[Payer::Assistance]),
                (ceiling.is_some(), &[Payer::Other, Payer::Hospital]),
                (over_cap.is_some(), &[Payer::LargeAmount]),
                (subsidy.is_some(), &[Payer::CivilServant]),
                (account.is_some(), &[Payer::Account]),
            ],
        );

        let books = raw.books.as_ref().map(|b| {
            let mut payers: Vec<Payer> = fund_pay_types.iter().map(|t| t.payer).collect();
            // 家庭共济 pays from a family member's personal account, whatever this scheme.
            if family_aid.is_some() {
                payers.push(Payer::Account);
            }
            crate::books::books(b, &payers, |k, r| self.issue(k, r))
        });
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
            over_cap,
            subsidy,
            account,
            family_aid,
            contribution,
            fund_pay_types,
            books,
        };
        self.check_med_type_overlap(&policy);
        policy
    }

    /// `[fund_pay_types]`, with one for every payer this policy's layers can pay.
    fn fund_pay_types(
        &mut self,
        raw: &RawPolicy,
        supplementary: &[Supplementary],
        layers: [(bool, &[Payer]); 6],
    ) -> crate::funds::FundPayTypes {
        let mut required = vec![Payer::Basic];
        for (has, payers) in layers {
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
        let rates = self.inpatient_rates(k, ip);
        let repeat = self.repeat_rule(k, ip);
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
                rates: self.outpatient_rates(k, o),
                annual_deductible: self.yuan_by_status(
                    &format!("{k}.annual_deductible"),
                    &o.annual_deductible,
                    o.annual_deductible_retired.as_ref(),
                ),
                annual_cap: self.yuan_by_status(
                    &format!("{k}.annual_cap"),
                    &o.annual_cap,
                    o.annual_cap_retired.as_ref(),
                ),
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

    /// `basic.inpatient.rates`: one row for each level and 备案 status.
    fn inpatient_rates(&mut self, k: &str, ip: &RawInpatient) -> Vec<RateRow> {
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
                    ratio: self.ratio_by_status(
                        &format!("{rk}.ratio"),
                        &r.ratio,
                        r.ratio_retired.as_ref(),
                    ),
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
        rates
    }

    /// `basic.outpatient`: `levels` with one `ratio`, or `rates` with a ratio per level.
    fn outpatient_rates(&mut self, k: &str, o: &RawOutpatient) -> Vec<(Level, ByStatus<Ratio>)> {
        let mut rates: Vec<(Level, ByStatus<Ratio>)> = match (&o.ratio, o.rates.is_empty()) {
            (Some(r), true) => {
                let ratio =
                    self.ratio_by_status(&format!("{k}.ratio"), r, o.ratio_retired.as_ref());
                let levels = self.levels(&format!("{k}.levels"), &o.levels);
                levels.into_iter().map(|l| (l, ratio)).collect()
            }
            (None, false) if o.levels.is_empty() && o.ratio_retired.is_none() => o
                .rates
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let rk = format!("{k}.rates[{i}]");
                    (
                        self.level(&format!("{rk}.level"), &r.level),
                        self.ratio_by_status(
                            &format!("{rk}.ratio"),
                            &r.ratio,
                            r.ratio_retired.as_ref(),
                        ),
                    )
                })
                .collect(),
            _ => {
                let reason = "应给出 levels 与 ratio（各等级同一比例），或 [[rates]]（每个等级一个比例），二者只取其一";
                self.issue(k, reason);
                Vec::new()
            }
        };
        let n = rates.len();
        rates.sort_by_key(|(l, _)| *l);
        rates.dedup_by_key(|(l, _)| *l);
        if rates.len() != n {
            self.issue(format!("{k}.rates"), "同一等级出现了不止一次");
        }
        rates
    }

    /// `basic.inpatient.repeat_admission`.
    fn repeat_rule(&mut self, k: &str, ip: &RawInpatient) -> RepeatRule {
        match &ip.repeat_admission {
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
                    "schedule" => match &r.factors {
                        Some(f) if !f.is_empty() => RepeatRule::Schedule(
                            f.iter()
                                .enumerate()
                                .map(|(i, t)| self.ratio(&format!("{rk}.factors[{i}]"), t))
                                .collect(),
                        ),
                        _ => {
                            let reason =
                                "mode = \"schedule\" 需要 factors（第 2、3…次住院起付线的系数，最后一个用于以后各次）";
                            self.issue(format!("{rk}.factors"), reason);
                            RepeatRule::None
                        }
                    },
                    other => {
                        let reason = format!("应为 none、factor、step 或 schedule：{other:?}");
                        self.issue(format!("{rk}.mode"), reason);
                        RepeatRule::None
                    }
                }
            }
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
                    (Some(r), None) => ChronicRatio::Fixed(self.ratio_by_status(
                        &format!("{ck}.ratio"),
                        r,
                        cl.ratio_retired.as_ref(),
                    )),
                    (None, Some("inpatient")) => ChronicRatio::FromInpatient,
                    (None, Some(other)) => {
                        let reason = format!("目前只支持 \"inpatient\"（按住院比例）：{other:?}");
                        self.issue(format!("{ck}.ratio_from"), reason);
                        ChronicRatio::Fixed(ByStatus::same(Ratio::ZERO))
                    }
                    _ => {
                        self.issue(ck.clone(), "ratio 与 ratio_from 须且只能给出一个");
                        ChronicRatio::Fixed(ByStatus::same(Ratio::ZERO))
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

    fn over_cap(&mut self, o: &RawOverCap, basic: &Basic) -> OverCap {
        let k = "over_cap";
        let codes: Vec<&str> = basic
            .chronic
            .iter()
            .flat_map(|c| c.classes.iter().map(|cl| cl.code.as_str()))
            .collect();
        for (i, c) in o.chronic_classes.iter().enumerate() {
            if !codes.contains(&c.as_str()) {
                let reason = format!("门诊慢特病类别 {c:?} 未在 basic.chronic.classes 中定义");
                self.issue(format!("{k}.chronic_classes[{i}]"), reason);
            }
        }
        OverCap {
            name: o.name.clone(),
            med_types: self.med_types(&format!("{k}.med_types"), &o.med_types),
            chronic_classes: o.chronic_classes.clone(),
            ratio: self.ratio_by_status(&format!("{k}.ratio"), &o.ratio, o.ratio_retired.as_ref()),
            annual_cap: self.opt_yuan(&format!("{k}.annual_cap"), o.annual_cap.as_ref()),
        }
    }

    fn account(&mut self, k: &str, a: &RawAccount) -> Account {
        Account {
            name: a.name.clone(),
            pays_full_ownpay: a.pays_full_ownpay,
            pays_over_limit: a.pays_over_limit,
            interest_rate: a
                .interest_rate
                .as_deref()
                .map(|r| self.ratio(&format!("{k}.interest_rate"), r)),
        }
    }

    fn subsidy(&mut self, o: &RawSubsidy) -> Subsidy {
        let k = "subsidy";
        let flag = match o.person_flag.as_str() {
            "civil_servant" => PersonFlag::CivilServant,
            other => {
                let reason = format!("人员标志应为 civil_servant（公务员）：{other:?}");
                self.issue(format!("{k}.person_flag"), reason);
                PersonFlag::CivilServant
            }
        };
        Subsidy {
            name: o.name.clone(),
            med_types: self.med_types(&format!("{k}.med_types"), &o.med_types),
            flag,
            ratio: self.ratio_by_status(&format!("{k}.ratio"), &o.ratio, o.ratio_retired.as_ref()),
            annual_cap: self.opt_yuan(&format!("{k}.annual_cap"), o.annual_cap.as_ref()),
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
