//! Claims as they arrive (drafts of text fields) and as the engine settles them (validated).
//!
//! Validation happens in one place, in the order `interface.md` §2 fixes, so the batch CLI and
//! the gateway reject the same record with the same code.

use crate::date::Date;
use crate::money::{parse_yuan, Fen, MAX_LINES_PER_CLAIM};
use crate::policy::{Policy, VisitKind};
use crate::refdata::{parse_price_scaled, RefData, PRICE_UNITS_PER_FEN};
use std::fmt;

/// One field of an incoming record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Val<'a> {
    #[default]
    Missing,
    /// A JSON string's content, or a JSON number's text.
    Text(&'a str),
    /// Present but neither a string nor a number (object, array, bool, null).
    WrongType,
}

impl<'a> Val<'a> {
    pub fn text(self) -> Option<&'a str> {
        match self {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A fee line before validation.
#[derive(Clone, Debug, Default)]
pub struct LineDraft<'a> {
    pub code: Val<'a>,
    pub price: Val<'a>,
    pub qty: Val<'a>,
    pub amount: Val<'a>,
    pub date: Val<'a>,
}

/// The lines of a draft: present as a list (of text, or already checked), or missing / not a
/// list.
#[derive(Clone, Debug)]
pub enum LinesDraft<'a> {
    List(Vec<LineDraft<'a>>),
    /// Lines checked when they were uploaded ([`stored_line`]), against the same catalog.
    Checked(Vec<Line>),
    Missing,
    WrongType,
}

/// A settlement record before validation (`interface.md` §2).
#[derive(Clone, Debug)]
pub struct ClaimDraft<'a> {
    pub claim_id: &'a str,
    pub psn_no: Val<'a>,
    pub fixmedins_code: Val<'a>,
    pub med_type: Val<'a>,
    pub begndate: Val<'a>,
    pub enddate: Val<'a>,
    pub dise_codg: Val<'a>,
    pub lines: LinesDraft<'a>,
    /// `"1"` use the personal account (also when missing) / `"0"` do not.
    pub acct_used_flag: Val<'a>,
}

/// A validated fee line. Prices and quantities are scaled by 10^6 (numeric(16,6)).
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub item: u32,
    pub price: i64,
    pub qty: i64,
    pub amount: Fen,
    pub date: Option<Date>,
}

/// A validated claim, ready to settle.
#[derive(Clone, Debug)]
pub struct Claim<'a> {
    pub claim_id: &'a str,
    pub person: u32,
    pub institution: u32,
    pub med_type: &'a str,
    pub kind: VisitKind,
    pub begndate: Date,
    pub enddate: Date,
    pub dise_codg: &'a str,
    /// For 门诊慢特病: (class, group) of the diagnosis.
    pub chronic_group: Option<(usize, usize)>,
    pub lines: Vec<Line>,
    /// Whether the personal account pays (`acct_used_flag`).
    pub use_account: bool,
}

impl Claim<'_> {
    /// Annual accumulators are keyed by the calendar year of the end date.
    pub fn year(&self) -> u16 {
        self.enddate.year()
    }
}

/// Rejection codes of `interface.md` §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectCode {
    UnknownPerson,
    UnknownInstitution,
    UnknownItem,
    NotEnrolled,
    NotRegistered,
    InvalidClaim,
    DuplicateClaim,
    UnknownClaim,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::UnknownPerson => "UNKNOWN_PERSON",
            RejectCode::UnknownInstitution => "UNKNOWN_INSTITUTION",
            RejectCode::UnknownItem => "UNKNOWN_ITEM",
            RejectCode::NotEnrolled => "NOT_ENROLLED",
            RejectCode::NotRegistered => "NOT_REGISTERED",
            RejectCode::InvalidClaim => "INVALID_CLAIM",
            RejectCode::DuplicateClaim => "DUPLICATE_CLAIM",
            RejectCode::UnknownClaim => "UNKNOWN_CLAIM",
        }
    }
}

/// Why a record was not settled; `message` is a Chinese sentence naming the field and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}：{}", self.code.as_str(), self.message)
    }
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Rejection {
        Rejection::new(RejectCode::InvalidClaim, message)
    }
}

/// Shortens a value for a message so a huge input cannot make a huge message.
pub fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if text.chars().count() <= MAX_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX_CHARS).collect();
        format!("{head:?}…")
    }
}

pub(crate) fn require<'a>(field: impl std::fmt::Display, v: Val<'a>) -> Result<&'a str, Rejection> {
    match v {
        Val::Text(t) => Ok(t),
        Val::Missing => Err(Rejection::invalid(format!("缺少字段 {field}"))),
        Val::WrongType => Err(Rejection::invalid(format!(
            "字段 {field} 的类型错误：应为字符串或数字"
        ))),
    }
}

/// Validates a draft against the policy and reference data, in the order of §2:
/// `UNKNOWN_PERSON`, `UNKNOWN_INSTITUTION`, header `INVALID_CLAIM`, `NOT_ENROLLED`,
/// line by line (`UNKNOWN_ITEM`, then that line's `INVALID_CLAIM`), `NOT_REGISTERED`.
/// (`DUPLICATE_CLAIM` comes first and needs the ledger: see [`crate::ledger::settle`].)
pub fn validate<'a>(
    policy: &Policy,
    refdata: &RefData,
    draft: &ClaimDraft<'a>,
) -> Result<Claim<'a>, Rejection> {
    let (psn_no, person) = person_of(refdata, draft)?;
    let institution = institution_of(refdata, draft)?;

    let med_type = require("med_type", draft.med_type)?;
    let kind = policy.visit_kind(med_type).ok_or_else(|| {
        Rejection::invalid(format!(
            "医疗类别 med_type={} 不在政策《{}》中",
            shown(med_type),
            policy.name
        ))
    })?;
    let (begndate, enddate) = visit_dates(draft)?;
    if enddate.year() != policy.year {
        return Err(Rejection::invalid(format!(
            "结束日期 enddate={enddate} 不在政策《{}》的年度 {} 内",
            policy.name, policy.year
        )));
    }
    let dise_codg = diagnosis(draft)?;
    let use_account = match draft.acct_used_flag {
        Val::Missing => true,
        Val::Text(t) => match t.trim() {
            "1" => true,
            "0" => false,
            other => {
                return Err(Rejection::invalid(format!(
                    "个人账户使用标志 acct_used_flag={} 应为 \"1\"（使用）或 \"0\"（不使用）",
                    shown(other)
                )))
            }
        },
        Val::WrongType => {
            return Err(Rejection::invalid(
                "字段 acct_used_flag 的类型错误：应为字符串或数字",
            ))
        }
    };
    line_count(&draft.lines)?;

    covered(policy, &refdata.persons[person as usize], psn_no, enddate)?;

    let lines = checked_lines(refdata, draft)?;

    let chronic_group = if kind == VisitKind::Chronic {
        Some(chronic_registration(
            policy, refdata, person, dise_codg, enddate,
        )?)
    } else {
        None
    };

    Ok(Claim {
        claim_id: draft.claim_id,
        person,
        institution,
        med_type,
        kind,
        begndate,
        enddate,
        dise_codg,
        chronic_group,
        lines,
        use_account,
    })
}

/// The person of a draft (`psn_no`): its text and reference-data index, or `UNKNOWN_PERSON`.
pub(crate) fn person_of<'a>(
    refdata: &RefData,
    draft: &ClaimDraft<'a>,
) -> Result<(&'a str, u32), Rejection> {
    let psn_no = require("psn_no", draft.psn_no)?;
    let person = refdata.person(psn_no).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownPerson,
            format!("人员编号 psn_no={} 不存在", shown(psn_no)),
        )
    })?;
    Ok((psn_no, person))
}

/// The institution of a draft (`fixmedins_code`), or `UNKNOWN_INSTITUTION`.
pub(crate) fn institution_of(refdata: &RefData, draft: &ClaimDraft<'_>) -> Result<u32, Rejection> {
    let fixmedins_code = require("fixmedins_code", draft.fixmedins_code)?;
    refdata.institution(fixmedins_code).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownInstitution,
            format!(
                "定点医药机构编码 fixmedins_code={} 不存在",
                shown(fixmedins_code)
            ),
        )
    })
}

/// `begndate` and `enddate` of a draft: valid dates, the first not after the second.
pub(crate) fn visit_dates(draft: &ClaimDraft<'_>) -> Result<(Date, Date), Rejection> {
    let date = |field: &str, v: Val<'_>| -> Result<Date, Rejection> {
        let t = require(field, v)?;
        Date::parse(t).ok_or_else(|| {
            Rejection::invalid(format!(
                "{field}={} 不是有效日期（应为 YYYY-MM-DD）",
                shown(t)
            ))
        })
    };
    let begndate = date("begndate", draft.begndate)?;
    let enddate = date("enddate", draft.enddate)?;
    if begndate > enddate {
        return Err(Rejection::invalid(format!(
            "开始日期 begndate={begndate} 晚于结束日期 enddate={enddate}"
        )));
    }
    Ok((begndate, enddate))
}

/// The lines of a draft, each checked against the catalog ([`validate_line`]), once their
/// number is ([`line_count`]).
pub(crate) fn checked_lines(
    refdata: &RefData,
    draft: &ClaimDraft<'_>,
) -> Result<Vec<Line>, Rejection> {
    let count = line_count(&draft.lines)?;
    Ok(match &draft.lines {
        LinesDraft::List(drafts) => {
            let mut lines = Vec::with_capacity(count);
            for (i, l) in drafts.iter().enumerate() {
                lines.push(validate_line(refdata, i + 1, l, &LineFieldNames::BATCH)?);
            }
            lines
        }
        LinesDraft::Checked(lines) => lines.clone(),
        LinesDraft::Missing | LinesDraft::WrongType => Vec::new(),
    })
}

/// `dise_codg` of a draft, trimmed (missing: empty).
pub(crate) fn diagnosis<'a>(draft: &ClaimDraft<'a>) -> Result<&'a str, Rejection> {
    match draft.dise_codg {
        Val::Text(t) => Ok(t.trim()),
        Val::Missing => Ok(""),
        Val::WrongType => Err(Rejection::invalid("字段 dise_codg 的类型错误：应为字符串")),
    }
}

/// The number of lines of a draft, refused when there are none, too many, or no list.
fn line_count(lines: &LinesDraft<'_>) -> Result<usize, Rejection> {
    let count = match lines {
        LinesDraft::List(l) => l.len(),
        LinesDraft::Checked(l) => l.len(),
        LinesDraft::Missing => return Err(Rejection::invalid("缺少费用明细 lines")),
        LinesDraft::WrongType => {
            return Err(Rejection::invalid("费用明细 lines 的类型错误：应为数组"));
        }
    };
    if count == 0 {
        return Err(Rejection::invalid("费用明细 lines 为空"));
    }
    if count > MAX_LINES_PER_CLAIM {
        return Err(Rejection::invalid(format!(
            "费用明细 lines 有 {count} 条，超过上限 {MAX_LINES_PER_CLAIM}"
        )));
    }
    Ok(count)
}

/// `NOT_ENROLLED` unless the person is insured under the policy's scheme, enrolled and paid
/// for the year of `enddate` and not suspended on it.
fn covered(
    policy: &Policy,
    p: &crate::refdata::Person,
    psn_no: &str,
    enddate: Date,
) -> Result<(), Rejection> {
    if p.scheme.insutype != policy.insutype {
        return Err(Rejection::new(
            RejectCode::NotEnrolled,
            format!(
                "人员 {} 参加的险种为 {}，没有加载该险种的政策（已加载《{}》，险种 {}）",
                shown(psn_no),
                p.scheme.insutype,
                policy.name,
                policy.insutype
            ),
        ));
    }
    if !p.enrolled(enddate.year()) {
        return Err(Rejection::new(
            RejectCode::NotEnrolled,
            format!(
                "人员 {} 未参保或未缴费：{} 年度",
                shown(psn_no),
                enddate.year()
            ),
        ));
    }
    if let Some(susp) = p.suspension_on(enddate) {
        return Err(Rejection::new(
            RejectCode::NotEnrolled,
            format!(
                "人员 {} 在 {enddate} 待遇暂停（{}，{} 至 {}）",
                shown(psn_no),
                susp.reason,
                susp.range.from,
                susp.range.to
            ),
        ));
    }
    Ok(())
}

/// The names a caller's fee-line fields go by, for messages.
#[derive(Clone, Copy, Debug)]
pub struct LineFieldNames {
    pub code: &'static str,
    pub price: &'static str,
    pub qty: &'static str,
    pub amount: &'static str,
    pub date: &'static str,
}

impl LineFieldNames {
    /// `interface.md` §2 (batch).
    pub const BATCH: LineFieldNames = LineFieldNames {
        code: "code",
        price: "price",
        qty: "qty",
        amount: "amount",
        date: "date",
    };
    /// The national interface (2204 / 2301 `feedetail`).
    pub const NATIONAL: LineFieldNames = LineFieldNames {
        code: "med_list_codg",
        price: "pric",
        qty: "cnt",
        amount: "det_item_fee_sumamt",
        date: "fee_ocur_time",
    };
}

/// Validates fee line number `n` (1-based): the item is in the catalog, price and quantity
/// are numbers (price not negative, quantity positive), and the amount is price × quantity
/// rounded half up to the fen.
pub fn validate_line(
    refdata: &RefData,
    n: usize,
    l: &LineDraft<'_>,
    names: &LineFieldNames,
) -> Result<Line, Rejection> {
    // Formatted only when a message needs it.
    let at = |field: &'static str| LineField { n, field };
    let code = require(at(names.code), l.code)?;
    let item = item_of(refdata, n, names.code, code)?;
    let scaled = |field: &'static str, v: Val<'_>| -> Result<i64, Rejection> {
        let t = require(at(field), v)?;
        parse_price_scaled(t).map_err(|e| {
            Rejection::invalid(format!("{}={} 不是有效数值：{e}", at(field), shown(t)))
        })
    };
    let price = scaled(names.price, l.price)?;
    if price < 0 {
        return Err(Rejection::invalid(format!(
            "{} 为负数：{}",
            at(names.price),
            shown(l.price.text().unwrap_or_default())
        )));
    }
    let qty = scaled(names.qty, l.qty)?;
    if qty <= 0 {
        return Err(Rejection::invalid(format!(
            "{} 必须大于 0：{}",
            at(names.qty),
            shown(l.qty.text().unwrap_or_default())
        )));
    }
    let amount_text = require(at(names.amount), l.amount)?;
    let amount = parse_yuan(amount_text).map_err(|e| {
        Rejection::invalid(format!(
            "{}={} 不是有效金额：{e}",
            at(names.amount),
            shown(amount_text)
        ))
    })?;
    let expected = line_amount(price, qty);
    if amount != expected {
        return Err(Rejection::invalid(format!(
            "{}={} 不等于单价 × 数量（应为 {}）",
            at(names.amount),
            shown(amount_text),
            crate::money::format_fen(expected)
        )));
    }
    let date = match l.date {
        Val::Missing => None,
        v => {
            let t = require(at(names.date), v)?;
            Some(Date::parse(t).ok_or_else(|| {
                Rejection::invalid(format!("{}={} 不是有效日期", at(names.date), shown(t)))
            })?)
        }
    };
    Ok(Line {
        item,
        price,
        qty,
        amount,
        date,
    })
}

/// The catalog index of line `n`'s item `code` (its field is `field`), or `UNKNOWN_ITEM`.
fn item_of(refdata: &RefData, n: usize, field: &str, code: &str) -> Result<u32, Rejection> {
    refdata.item(code).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownItem,
            format!("第 {n} 条明细的项目编码 {field}={} 不在目录中", shown(code)),
        )
    })
}

/// A fee line as stored after [`validate_line`] checked it (price and quantity scaled by
/// 10^6): its item looked up again and its amount checked against price × quantity, so a
/// stored line settles exactly as the uploaded one would.
pub fn stored_line(
    refdata: &RefData,
    n: usize,
    code: &str,
    price: i64,
    qty: i64,
    amount: Fen,
    date: Option<Date>,
) -> Result<Line, Rejection> {
    let item = item_of(refdata, n, LineFieldNames::NATIONAL.code, code)?;
    if price < 0 || qty <= 0 || amount != line_amount(price, qty) {
        return Err(Rejection::invalid(format!(
            "第 {n} 条明细（{}）的金额 {} 不等于单价 × 数量",
            shown(code),
            crate::money::format_fen(amount)
        )));
    }
    Ok(Line {
        item,
        price,
        qty,
        amount,
        date,
    })
}

/// "第 n 条明细的 field", for messages.
struct LineField {
    n: usize,
    field: &'static str,
}

impl std::fmt::Display for LineField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第 {} 条明细的 {}", self.n, self.field)
    }
}

/// `round(price × qty)` to the fen, half up; both scaled by 10^6.
pub fn line_amount(price: i64, qty: i64) -> Fen {
    scaled_product_fen(price, qty)
}

/// `round(a × b)` in fen where `a` is yuan and `b` a quantity, both scaled by 10^6.
pub fn scaled_product_fen(a: i64, b: i64) -> Fen {
    const QTY_SCALE: i128 = 1_000_000;
    crate::money::div_round_half_up(
        i128::from(a) * i128::from(b),
        QTY_SCALE * i128::from(PRICE_UNITS_PER_FEN),
    ) as Fen
}

/// The (class, group) of a 门诊慢特病 diagnosis, if the person holds a registration valid on
/// `on` for that same group.
fn chronic_registration(
    policy: &Policy,
    refdata: &RefData,
    person: u32,
    dise_codg: &str,
    on: Date,
) -> Result<(usize, usize), Rejection> {
    let chronic = policy.basic.chronic.as_ref();
    let group = chronic.and_then(|c| c.group_of(dise_codg));
    let Some((class, gi)) = group else {
        return Err(Rejection::new(
            RejectCode::NotRegistered,
            format!(
                "诊断 dise_codg={} 不属于任何门诊慢特病病种",
                shown(dise_codg)
            ),
        ));
    };
    let chronic = chronic.expect("group found implies chronic rules");
    let p = &refdata.persons[person as usize];
    let registered = p
        .chronic
        .iter()
        .any(|r| r.range.contains(on) && chronic.group_of(&r.dise_codg) == Some((class, gi)));
    if registered {
        Ok((class, gi))
    } else {
        let cl = &chronic.classes[class];
        Err(Rejection::new(
            RejectCode::NotRegistered,
            format!(
                "人员在 {on} 没有有效的门诊慢特病备案：病种 {}（{}，诊断 dise_codg={}）",
                cl.groups[gi].name,
                cl.name,
                shown(dise_codg)
            ),
        ))
    }
}
