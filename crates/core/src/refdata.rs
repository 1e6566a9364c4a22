//! Reference data the engine reads: institutions, the catalog (目录) and insured persons.
//!
//! Built from already-split fields by the adapters; every value is validated here, so the
//! same rules hold whether the data came from files, a database or the gateway.

use crate::date::{Date, DateRange};
use crate::money::{parse_scaled, DecimalError, Ratio};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Decimal places of unit prices and quantities (the national interface's numeric(16,6)).
pub const PRICE_SCALE: u32 = 6;
/// Scaled units per fen at [`PRICE_SCALE`].
pub const PRICE_UNITS_PER_FEN: i64 = 10_000;
/// The largest unit price or quantity accepted (10^10 yuan / units), scaled.
pub const MAX_PRICE_SCALED: i64 = 10_000_000_000_000_000;

/// Institution level (医院等级), as the data directory spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// `1` 一级 / 乡镇卫生院 / 村卫生室
    L1,
    /// `2` 二级 / 县级医院
    L2,
    /// `3` 三级 / 市级医院
    L3,
    /// `3P` 省级三级医院
    L3P,
    /// `OUT` 省外（异地就医）
    Out,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::L1, Level::L2, Level::L3, Level::L3P, Level::Out];

    pub fn parse(code: &str) -> Option<Level> {
        Some(match code {
            "1" => Level::L1,
            "2" => Level::L2,
            "3" => Level::L3,
            "3P" => Level::L3P,
            "OUT" => Level::Out,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Level::L1 => "1",
            Level::L2 => "2",
            Level::L3 => "3",
            Level::L3P => "3P",
            Level::Out => "OUT",
        }
    }
}

/// Catalog class: 甲类 (A), 乙类 (B), 丙类/目录外 (C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemClass {
    A,
    B,
    C,
}

impl ItemClass {
    pub fn name(self) -> &'static str {
        match self {
            ItemClass::A => "甲类",
            ItemClass::B => "乙类",
            ItemClass::C => "丙类",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Institution {
    pub code: String,
    pub name: String,
    pub level: Level,
}

#[derive(Clone, Debug)]
pub struct CatalogItem {
    pub code: String,
    pub name: String,
    /// `drug` / `service` / `material`
    pub kind: String,
    pub class: ItemClass,
    /// 先行自付比例 (class B only; zero otherwise).
    pub selfpay_prop: Ratio,
    /// 限价, unit price scaled by 10^[`PRICE_SCALE`].
    pub price_limit: Option<i64>,
    /// Audit limits (限定支付范围 and the like); engine ignores them.
    pub sex_limit: Option<u8>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub max_qty_per_day: Option<i64>,
    pub indication: Vec<String>,
}

/// A person category held over a date range (`pk` 建档立卡, `db` 低保, `tk` 特困 …).
#[derive(Clone, Debug)]
pub struct CategorySpan {
    pub code: String,
    pub range: DateRange,
}

/// An approved 门诊慢特病 registration (备案).
#[derive(Clone, Debug)]
pub struct ChronicRegistration {
    pub dise_codg: String,
    pub range: DateRange,
}

#[derive(Clone, Debug)]
pub struct Person {
    pub psn_no: String,
    pub certno: String,
    pub name: String,
    /// `1` male, `2` female.
    pub gend: String,
    pub brdy: Date,
    /// Years with a paid enrolment.
    pub enrolments: Vec<u16>,
    pub categories: Vec<CategorySpan>,
    pub chronic: Vec<ChronicRegistration>,
    /// 异地就医备案 validity ranges.
    pub offsite: Vec<DateRange>,
    /// Periods without benefits although enrolled (待遇暂停: arrears without a deferral,
    /// 锁定 under investigation, the waiting period after a late payment).
    pub suspensions: Vec<Suspension>,
    /// The scheme the person is insured under, and what the employee scheme needs of them.
    pub scheme: Scheme,
    /// 个人账户家庭共济: family members whose personal accounts may pay for this person.
    pub family_aid: Vec<FamilyAid>,
}

/// An approved 个人账户家庭共济 registration: `holder`'s account may pay this person's part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyAid {
    /// The account holder's `psn_no`.
    pub holder: String,
    pub range: DateRange,
}

/// The person's scheme (险种) and status in it (`interface.md` §1, employee fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheme {
    /// `310` 职工 / `390` 城乡居民 (absent in the data: 390).
    pub insutype: String,
    /// 退休 (ratios by status: `ratio_retired` and the like in the policy).
    pub retired: bool,
    /// Covered by 公务员医疗补助.
    pub civil_servant: bool,
    /// 个人账户 balance on 1 January of the policy year, fen.
    pub acct_balance: crate::money::Fen,
}

impl Default for Scheme {
    fn default() -> Scheme {
        Scheme {
            insutype: crate::enrolment::INSUTYPE_RESIDENT.to_string(),
            retired: false,
            civil_servant: false,
            acct_balance: 0,
        }
    }
}

/// A period without benefits, and why (shown to the hospital and the person).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspension {
    pub range: DateRange,
    pub reason: String,
}

impl Person {
    pub fn enrolled(&self, year: u16) -> bool {
        self.enrolments.contains(&year)
    }

    /// The suspension in force on `on`, if any.
    pub fn suspension_on(&self, on: Date) -> Option<&Suspension> {
        self.suspensions.iter().find(|s| s.range.contains(on))
    }

    pub fn holds_category(&self, code: &str, on: Date) -> bool {
        self.categories
            .iter()
            .any(|c| c.code == code && c.range.contains(on))
    }

    pub fn offsite_registered(&self, on: Date) -> bool {
        self.offsite.iter().any(|r| r.contains(on))
    }

    /// The account holder whose personal account may pay for this person on `on` (the first
    /// registration in force).
    pub fn aid_holder(&self, on: Date) -> Option<&str> {
        self.family_aid
            .iter()
            .find(|a| a.range.contains(on))
            .map(|a| a.holder.as_str())
    }
}

/// A problem with one reference record, in Chinese, naming the field and value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}={value:?}：{reason}")]
pub struct RefError {
    pub field: &'static str,
    pub value: String,
    pub reason: String,
}

fn ref_err(field: &'static str, value: &str, reason: impl Into<String>) -> RefError {
    RefError {
        field,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Parses a unit price (yuan) or quantity into units of 10^-6.
pub fn parse_price_scaled(text: &str) -> Result<i64, DecimalError> {
    let v = parse_scaled(text, PRICE_SCALE)?;
    if v.abs() > MAX_PRICE_SCALED {
        return Err(DecimalError::OutOfRange);
    }
    Ok(v)
}

/// Textual fields of one catalog row, before validation.
#[derive(Debug, Default)]
pub struct CatalogRow<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub class: &'a str,
    pub selfpay_prop: &'a str,
    pub price_limit: &'a str,
    pub sex_limit: &'a str,
    pub age_min: &'a str,
    pub age_max: &'a str,
    pub max_qty_per_day: &'a str,
    pub indication: &'a str,
}

/// Columns of `catalog.csv`, required first (`interface.md` §1).
pub const CATALOG_COLUMNS: [&str; 11] = [
    "code",
    "name",
    "kind",
    "class",
    "selfpay_prop",
    "price_limit",
    "sex_limit",
    "age_min",
    "age_max",
    "max_qty_per_day",
    "indication",
];

/// A catalogue row as written, in [`CATALOG_COLUMNS`] order (for storing it as given).
pub type CatalogFields = [String; 11];

/// The core's view of a catalogue row written as [`CatalogFields`].
pub fn catalog_row(f: &CatalogFields) -> CatalogRow<'_> {
    CatalogRow {
        code: &f[0],
        name: &f[1],
        kind: &f[2],
        class: &f[3],
        selfpay_prop: &f[4],
        price_limit: &f[5],
        sex_limit: &f[6],
        age_min: &f[7],
        age_max: &f[8],
        max_qty_per_day: &f[9],
        indication: &f[10],
    }
}

/// A reference data directory as read and validated: its data, the catalogue rows as
/// written (a store keeps them as given), and where it came from (for the operation log).
#[derive(Debug, Default)]
pub struct ReferenceSet {
    pub source: String,
    pub data: RefData,
    pub catalog: Vec<CatalogFields>,
}

impl CatalogItem {
    pub fn from_row(row: &CatalogRow<'_>) -> Result<CatalogItem, RefError> {
        let code = row.code.trim();
        if code.is_empty() {
            return Err(ref_err("code", code, "目录编码不能为空"));
        }
        if !matches!(row.kind.trim(), "drug" | "service" | "material") {
            return Err(ref_err(
                "kind",
                row.kind,
                "类别应为 drug（药品）/service（诊疗项目）/material（医用耗材）",
            ));
        }
        let class = match row.class.trim() {
            "A" => ItemClass::A,
            "B" => ItemClass::B,
            "C" => ItemClass::C,
            _ => {
                return Err(ref_err(
                    "class",
                    row.class,
                    "目录等级应为 A（甲类）/B（乙类）/C（丙类）",
                ))
            }
        };
        let prop_text = row.selfpay_prop.trim();
        let selfpay_prop = match (class, prop_text.is_empty()) {
            (ItemClass::B, true) => {
                return Err(ref_err(
                    "selfpay_prop",
                    prop_text,
                    "乙类项目必须给出先行自付比例",
                ))
            }
            (ItemClass::B, false) => Ratio::parse(prop_text).map_err(|e| {
                ref_err(
                    "selfpay_prop",
                    prop_text,
                    format!("先行自付比例应为 0 到 1 之间的小数（{e}）"),
                )
            })?,
            (_, true) => Ratio::ZERO,
            (_, false) => {
                return Err(ref_err(
                    "selfpay_prop",
                    prop_text,
                    "只有乙类项目可以有先行自付比例",
                ))
            }
        };
        let limit_text = row.price_limit.trim();
        let price_limit = if limit_text.is_empty() {
            None
        } else {
            let v = parse_price_scaled(limit_text).map_err(|e| {
                ref_err(
                    "price_limit",
                    limit_text,
                    format!("限价不是有效金额（{e}）"),
                )
            })?;
            if v < 0 {
                return Err(ref_err("price_limit", limit_text, "限价不能为负数"));
            }
            Some(v)
        };
        let opt_u32 = |field: &'static str, text: &str| -> Result<Option<u32>, RefError> {
            let t = text.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<u32>()
                .map(Some)
                .map_err(|_| ref_err(field, t, "应为非负整数"))
        };
        let sex_limit = match row.sex_limit.trim() {
            "" => None,
            "1" => Some(1),
            "2" => Some(2),
            other => {
                return Err(ref_err(
                    "sex_limit",
                    other,
                    "性别限定应为 1（男）或 2（女）",
                ))
            }
        };
        let max_qty_text = row.max_qty_per_day.trim();
        let max_qty_per_day = if max_qty_text.is_empty() {
            None
        } else {
            Some(
                parse_price_scaled(max_qty_text)
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| ref_err("max_qty_per_day", max_qty_text, "每日限量应为正数"))?,
            )
        };
        Ok(CatalogItem {
            code: code.to_string(),
            name: row.name.trim().to_string(),
            kind: row.kind.trim().to_string(),
            class,
            selfpay_prop,
            price_limit,
            sex_limit,
            age_min: opt_u32("age_min", row.age_min)?,
            age_max: opt_u32("age_max", row.age_max)?,
            max_qty_per_day,
            indication: row
                .indication
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

impl Institution {
    pub fn new(code: &str, name: &str, level: &str) -> Result<Institution, RefError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(ref_err("code", code, "机构编码不能为空"));
        }
        let level = Level::parse(level.trim())
            .ok_or_else(|| ref_err("level", level, "医院等级应为 1、2、3、3P 或 OUT"))?;
        Ok(Institution {
            code: code.to_string(),
            name: name.trim().to_string(),
            level,
        })
    }
}

/// GB 11643-1999 check character of the first 17 digits (ISO 7064 MOD 11-2).
pub fn gb11643_check_char(first17: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const MAP: &[u8; 11] = b"10X98765432";
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(MAP[(sum % 11) as usize])
}

/// An ID number masked for logs and lists (脱敏): the region and the check character stay.
/// `11010519491231002X` → `110105********002X`.
pub fn mask_certno(certno: &str) -> String {
    let chars: Vec<char> = certno.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let keep_tail = 4;
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 6 || i >= chars.len() - keep_tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// A name masked for logs and lists: the surname stays (`张三丰` → `张**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// Validates an 18-character resident ID number (公民身份号码, GB 11643): digits, check
/// character, a real birth date. Returns the birth date and the sex digit's meaning
/// (`1` male for odd, `2` female for even).
pub fn validate_certno(certno: &str) -> Result<(Date, &'static str), String> {
    let b = certno.as_bytes();
    if b.len() != 18 {
        return Err(format!(
            "身份证号码应为 18 位，实际 {} 位",
            certno.chars().count()
        ));
    }
    if !b[..17].iter().all(u8::is_ascii_digit) {
        return Err("身份证号码前 17 位应为数字".into());
    }
    let expected = gb11643_check_char(&b[..17]).unwrap_or(b'?');
    let given = b[17].to_ascii_uppercase();
    if given != expected {
        return Err(format!(
            "身份证号码校验位错误：应为 {}，实际 {}",
            expected as char, given as char
        ));
    }
    let birth = Date::parse_compact(&certno[6..14])
        .ok_or_else(|| format!("身份证号码中的出生日期 {} 不是真实日期", &certno[6..14]))?;
    let sex = if (b[16] - b'0') % 2 == 1 { "1" } else { "2" };
    Ok((birth, sex))
}

/// Institutions and catalog: read by every settlement, shared between [`RefData`]s.
#[derive(Default, Debug, Clone)]
struct Tables {
    institutions: Vec<Institution>,
    catalog: Vec<CatalogItem>,
    institution_index: FxHashMap<String, u32>,
    catalog_index: FxHashMap<String, u32>,
}

/// All reference data, indexed for the engine's look-ups. Institutions and the catalog are
/// held behind an `Arc` so that a caller settling one person at a time (the gateway) can
/// pair them with just that person without copying them ([`RefData::sharing_tables`]).
#[derive(Default, Debug)]
pub struct RefData {
    tables: Arc<Tables>,
    pub persons: Vec<Person>,
    person_index: FxHashMap<String, u32>,
}

impl RefData {
    /// Institutions, indexed by [`RefData::institution`].
    pub fn institutions(&self) -> &[Institution] {
        &self.tables.institutions
    }

    /// Catalog items, indexed by [`RefData::item`].
    pub fn catalog(&self) -> &[CatalogItem] {
        &self.tables.catalog
    }

    /// The same institutions and catalog (shared, not copied) with no persons.
    pub fn sharing_tables(&self) -> RefData {
        RefData {
            tables: Arc::clone(&self.tables),
            persons: Vec::new(),
            person_index: FxHashMap::default(),
        }
    }

    pub fn add_institution(&mut self, inst: Institution) -> Result<(), RefError> {
        let t = Arc::make_mut(&mut self.tables);
        if t.institution_index.contains_key(&inst.code) {
            return Err(ref_err("code", &inst.code, "机构编码重复"));
        }
        t.institution_index
            .insert(inst.code.clone(), t.institutions.len() as u32);
        t.institutions.push(inst);
        Ok(())
    }

    pub fn add_catalog_item(&mut self, item: CatalogItem) -> Result<(), RefError> {
        let t = Arc::make_mut(&mut self.tables);
        if t.catalog_index.contains_key(&item.code) {
            return Err(ref_err("code", &item.code, "目录编码重复"));
        }
        t.catalog_index
            .insert(item.code.clone(), t.catalog.len() as u32);
        t.catalog.push(item);
        Ok(())
    }

    pub fn add_person(&mut self, person: Person) -> Result<(), RefError> {
        if person.psn_no.is_empty() {
            return Err(ref_err("psn_no", "", "人员编号不能为空"));
        }
        if self.person_index.contains_key(&person.psn_no) {
            return Err(ref_err("psn_no", &person.psn_no, "人员编号重复"));
        }
        self.person_index
            .insert(person.psn_no.clone(), self.persons.len() as u32);
        self.persons.push(person);
        Ok(())
    }

    pub fn institution(&self, code: &str) -> Option<u32> {
        self.tables.institution_index.get(code).copied()
    }

    pub fn item(&self, code: &str) -> Option<u32> {
        self.tables.catalog_index.get(code).copied()
    }

    pub fn person(&self, psn_no: &str) -> Option<u32> {
        self.person_index.get(psn_no).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask_certno("11010519491231002X"), "110105********002X");
        assert_eq!(mask_certno("123"), "***");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn certno_check() {
        // From the reference persons file.
        assert_eq!(
            validate_certno("990101194001010008").unwrap().0.to_string(),
            "1940-01-01"
        );
        assert!(validate_certno("990101194001010009").is_err());
        assert!(validate_certno("99010119400101000").is_err());
        assert!(validate_certno("990101194002300002").is_err());
        // The well-known GB 11643 example.
        assert_eq!(validate_certno("11010519491231002X").unwrap().1, "2");
    }

    #[test]
    fn catalog_rows_validated() {
        let mut row = CatalogRow {
            code: "D1",
            kind: "drug",
            class: "B",
            selfpay_prop: "0.10",
            price_limit: "12.5",
            ..Default::default()
        };
        let item = CatalogItem::from_row(&row).unwrap();
        assert_eq!(item.price_limit, Some(12_500_000));
        row.selfpay_prop = "";
        assert_eq!(
            CatalogItem::from_row(&row).unwrap_err().field,
            "selfpay_prop"
        );
        row.selfpay_prop = "0.1";
        row.class = "X";
        assert_eq!(CatalogItem::from_row(&row).unwrap_err().field, "class");
        row.class = "A";
        assert_eq!(
            CatalogItem::from_row(&row).unwrap_err().field,
            "selfpay_prop"
        );
    }
}
