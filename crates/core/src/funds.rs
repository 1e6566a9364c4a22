//! Who pays a settlement's money, by the national fund pay types of `setldetail`
//! (`fund_pay_type`, e.g. 390100 城乡居民基本医疗保险基金). The codes and names are policy
//! data (`[fund_pay_types]` in the policy file), not code: local lists add codes, and an
//! employee scheme's basic fund is 310100 where a resident scheme's is 390100.

use crate::engine::Amounts;
use crate::money::Fen;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// A payer of a settlement: one amount field of [`Amounts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payer {
    /// `hifp_pay` 基本医疗保险统筹基金
    Basic,
    /// `hifmi_pay` 大病保险
    Critical,
    /// `cvlserv_pay` 公务员医疗补助
    CivilServant,
    /// `hifob_pay` 大额医疗费用补助
    LargeAmount,
    /// `maf_pay` 医疗救助
    Assistance,
    /// `oth_pay` 其他基金（兜底等）
    Other,
    /// `acct_pay` 个人账户
    Account,
    /// `hosp_part_amt` 医院负担/垫付
    Hospital,
}

impl Payer {
    pub const ALL: [Payer; 8] = [
        Payer::Basic,
        Payer::Critical,
        Payer::CivilServant,
        Payer::LargeAmount,
        Payer::Assistance,
        Payer::Other,
        Payer::Account,
        Payer::Hospital,
    ];

    /// The national field of [`Amounts`] this payer pays.
    pub fn field(self) -> &'static str {
        match self {
            Payer::Basic => "hifp_pay",
            Payer::Critical => "hifmi_pay",
            Payer::CivilServant => "cvlserv_pay",
            Payer::LargeAmount => "hifob_pay",
            Payer::Assistance => "maf_pay",
            Payer::Other => "oth_pay",
            Payer::Account => "acct_pay",
            Payer::Hospital => "hosp_part_amt",
        }
    }

    pub fn of_field(field: &str) -> Option<Payer> {
        Payer::ALL.into_iter().find(|p| p.field() == field)
    }

    /// What this payer pays in `a`.
    pub fn amount(self, a: &Amounts) -> Fen {
        match self {
            Payer::Basic => a.hifp_pay,
            Payer::Critical => a.hifmi_pay,
            Payer::CivilServant => a.cvlserv_pay,
            Payer::LargeAmount => a.hifob_pay,
            Payer::Assistance => a.maf_pay,
            Payer::Other => a.oth_pay,
            Payer::Account => a.acct_pay,
            Payer::Hospital => a.hosp_part_amt,
        }
    }

    /// Whether the amount is a fund's payment (counted in `fund_pay_sumamt`); the personal
    /// account and the hospital's share are not.
    pub fn is_fund(self) -> bool {
        !matches!(self, Payer::Account | Payer::Hospital)
    }
}

/// A national fund pay type code: six digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FundCode(u32);

impl FundCode {
    pub fn parse(text: &str) -> Option<FundCode> {
        (text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| FundCode(text.parse().unwrap_or_default()))
    }
}

impl fmt::Display for FundCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// One payer's fund pay type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundPayType {
    pub payer: Payer,
    pub code: FundCode,
    pub name: String,
}

/// The policy's fund pay types, one per payer it can pay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FundPayTypes(Vec<FundPayType>);

impl FundPayTypes {
    pub fn of(&self, payer: Payer) -> Option<&FundPayType> {
        self.0.iter().find(|t| t.payer == payer)
    }

    pub fn iter(&self) -> impl Iterator<Item = &FundPayType> {
        self.0.iter()
    }

    /// The lines of a settlement's `setldetail`: every payer with a non-zero amount, in
    /// [`Payer::ALL`] order, each with the in-scope base.
    pub fn lines(&self, a: &Amounts) -> FundLines {
        let mut out = FundLines::default();
        for t in &self.0 {
            let amount = t.payer.amount(a);
            if amount != 0 {
                out.push(FundLine {
                    payer: t.payer,
                    code: t.code,
                    base: a.inscp_scp_amt,
                    amount,
                });
            }
        }
        out
    }
}

/// One `setldetail` line: a payer, its fund pay type, the in-scope base and the amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundLine {
    pub payer: Payer,
    pub code: FundCode,
    /// `inscp_scp_amt` of the settlement.
    pub base: Fen,
    pub amount: Fen,
}

impl FundLine {
    /// The same line taken back (a reversal's `setldetail`).
    pub fn negated(self) -> FundLine {
        FundLine {
            base: -self.base,
            amount: -self.amount,
            ..self
        }
    }
}

/// The fund lines of one settlement (at most one per payer, so no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundLines {
    lines: [FundLine; Payer::ALL.len()],
    len: usize,
}

impl Default for FundLines {
    fn default() -> FundLines {
        let none = FundLine {
            payer: Payer::Basic,
            code: FundCode(0),
            base: 0,
            amount: 0,
        };
        FundLines {
            lines: [none; Payer::ALL.len()],
            len: 0,
        }
    }
}

impl FundLines {
    fn push(&mut self, line: FundLine) {
        if self.len < self.lines.len() {
            self.lines[self.len] = line;
            self.len += 1;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &FundLine> {
        self.lines[..self.len].iter()
    }

    /// The funds' lines only (what `fund_pay_sumamt` adds up).
    pub fn funds(&self) -> impl Iterator<Item = &FundLine> {
        self.iter().filter(|l| l.payer.is_fund())
    }
}

/// `[fund_pay_types]` as written: `hifp_pay = { code = "390100", name = "…" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFundPayType {
    code: String,
    name: String,
}

pub(crate) type RawFundPayTypes = BTreeMap<String, RawFundPayType>;

/// Reads `[fund_pay_types]`, requiring a type for each payer in `required`; problems go to
/// `issue(key, reason)`.
pub(crate) fn fund_pay_types(
    raw: Option<&RawFundPayTypes>,
    required: &[Payer],
    mut issue: impl FnMut(String, String),
) -> FundPayTypes {
    let mut out: Vec<FundPayType> = Vec::new();
    let empty = RawFundPayTypes::new();
    let raw = raw.unwrap_or(&empty);
    for (field, t) in raw {
        let key = format!("fund_pay_types.{field}");
        let Some(payer) = Payer::of_field(field) else {
            let fields: Vec<&str> = Payer::ALL.iter().map(|p| p.field()).collect();
            issue(key, format!("应为 {} 之一", fields.join("、")));
            continue;
        };
        let Some(code) = FundCode::parse(&t.code) else {
            issue(
                format!("{key}.code"),
                format!("基金支付类型应为 6 位数字：{:?}", t.code),
            );
            continue;
        };
        if t.name.trim().is_empty() {
            issue(format!("{key}.name"), "名称不能为空".into());
            continue;
        }
        out.push(FundPayType {
            payer,
            code,
            name: t.name.trim().to_string(),
        });
    }
    for p in required {
        if !out.iter().any(|t| t.payer == *p) {
            issue(
                format!("fund_pay_types.{}", p.field()),
                "缺少：本政策有这一支付项，需给出其国家基金支付类型代码与名称".into(),
            );
        }
    }
    out.sort_by_key(|t| t.payer);
    FundPayTypes(out)
}
