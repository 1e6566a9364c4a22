//! The reference data directory (`interface.md` §1): `institutions.csv`, `catalog.csv`,
//! `persons.jsonl`. Every problem names the file, the line, the field and the value.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use yibao_core::date::{Date, DateRange};
use yibao_core::enrolment::INSUTYPE_RESIDENT;
use yibao_core::money::parse_yuan;
pub use yibao_core::refdata::{catalog_row, CatalogFields, CATALOG_COLUMNS};
use yibao_core::refdata::{
    validate_certno, CatalogItem, CategorySpan, ChronicRegistration, FamilyAid, Institution,
    Person, RefData, ReferenceSet, Scheme,
};

/// A problem loading the data directory.
#[derive(Debug)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based line (CSV: the header is line 1); 0 when the whole file is at fault.
    pub line: u64,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}：{}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{} 第 {} 行：{}",
                self.file.display(),
                self.line,
                self.message
            )
        }
    }
}

impl std::error::Error for LoadError {}

fn err(file: &Path, line: u64, message: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn read(file: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(file).map_err(|e| err(file, 0, format!("无法读取文件：{e}")))
}

/// Loads a complete data directory.
pub fn load_dir(dir: &Path) -> Result<RefData, LoadError> {
    let mut data = RefData::default();
    load_institutions(&dir.join("institutions.csv"), &mut data)?;
    load_catalog(&dir.join("catalog.csv"), &mut data)?;
    load_persons(&dir.join("persons.jsonl"), &mut data)?;
    Ok(data)
}

/// Reads a complete data directory, keeping the catalogue rows as written (for a store).
pub fn read_reference(dir: &Path) -> Result<ReferenceSet, LoadError> {
    let mut data = RefData::default();
    load_institutions(&dir.join("institutions.csv"), &mut data)?;
    let catalog = load_catalog_rows(&dir.join("catalog.csv"), &mut data)?;
    load_persons(&dir.join("persons.jsonl"), &mut data)?;
    Ok(ReferenceSet {
        source: dir.display().to_string(),
        data,
        catalog,
    })
}

/// Reads a UTF-8 CSV with a header; calls `row` with (line number, field by column name).
fn for_each_csv_row(
    file: &Path,
    required: &[&str],
    mut row: impl FnMut(u64, &dyn Fn(&str) -> String) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let bytes = read(file)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| err(file, 1, format!("表头无法读取：{e}")))?
        .clone();
    for name in required {
        if !headers.iter().any(|h| h.trim() == *name) {
            return Err(err(file, 1, format!("表头缺少列 {name}")));
        }
    }
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = rec.map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { .. } => err(file, line, "不是有效的 UTF-8 文本"),
            csv::ErrorKind::UnequalLengths { .. } => err(file, line, "列数与表头不一致"),
            _ => err(file, line, format!("无法解析：{e}")),
        })?;
        let get = |name: &str| -> String {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .and_then(|i| rec.get(i))
                .unwrap_or("")
                .to_string()
        };
        row(line, &get)?;
    }
    Ok(())
}

pub fn load_institutions(file: &Path, data: &mut RefData) -> Result<(), LoadError> {
    for_each_csv_row(file, &["code", "name", "level"], |line, get| {
        let inst = Institution::new(&get("code"), &get("name"), &get("level"))
            .map_err(|e| err(file, line, e.to_string()))?;
        data.add_institution(inst)
            .map_err(|e| err(file, line, e.to_string()))
    })
}

pub fn load_catalog(file: &Path, data: &mut RefData) -> Result<(), LoadError> {
    load_catalog_rows(file, data).map(drop)
}

/// Loads `catalog.csv` into `data` and returns its rows as written.
pub fn load_catalog_rows(file: &Path, data: &mut RefData) -> Result<Vec<CatalogFields>, LoadError> {
    let mut rows = Vec::new();
    for_each_csv_row(file, &CATALOG_COLUMNS[..6], |line, get| {
        let fields: CatalogFields = CATALOG_COLUMNS.map(get);
        let item = CatalogItem::from_row(&catalog_row(&fields))
            .map_err(|e| err(file, line, e.to_string()))?;
        data.add_catalog_item(item)
            .map_err(|e| err(file, line, e.to_string()))?;
        rows.push(fields);
        Ok(())
    })?;
    Ok(rows)
}

#[derive(Deserialize)]
struct RawSpan {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    dise_codg: Option<String>,
    #[serde(default)]
    holder: Option<String>,
    from: String,
    to: String,
}

#[derive(Deserialize)]
struct RawPerson {
    psn_no: String,
    certno: String,
    name: String,
    gend: String,
    brdy: String,
    #[serde(default)]
    enrolments: Vec<i64>,
    #[serde(default)]
    categories: Vec<RawSpan>,
    #[serde(default)]
    chronic: Vec<RawSpan>,
    #[serde(default)]
    offsite: Vec<RawSpan>,
    /// 个人账户家庭共济 (this project's field): `[{holder, from, to}]`.
    #[serde(default)]
    family_aid: Vec<RawSpan>,
    insutype: Option<String>,
    retired: Option<bool>,
    civil_servant: Option<bool>,
    acct_balance: Option<serde_json::Value>,
}

/// The employee fields of a `persons.jsonl` record (`interface.md` §1): absent `insutype`
/// is 390 城乡居民; on a 310 person absent flags are false and an absent balance 0.
fn scheme(raw: &RawPerson) -> Result<Scheme, String> {
    let insutype = raw
        .insutype
        .clone()
        .unwrap_or_else(|| INSUTYPE_RESIDENT.to_string());
    if insutype.len() != 3 || !insutype.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "insutype={insutype:?} 应为 3 位数字的险种代码（310 职工 / 390 城乡居民）"
        ));
    }
    let acct_balance = match &raw.acct_balance {
        None | Some(serde_json::Value::Null) => 0,
        Some(v) => {
            let text = match v {
                serde_json::Value::String(t) => t.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Err(format!("acct_balance={v} 应为金额（元）")),
            };
            match parse_yuan(&text) {
                Ok(f) if f >= 0 => f,
                Ok(_) => return Err(format!("acct_balance={text:?} 不能为负数")),
                Err(e) => return Err(format!("acct_balance={text:?} 不是有效金额：{e}")),
            }
        }
    };
    Ok(Scheme {
        insutype,
        retired: raw.retired.unwrap_or(false),
        civil_servant: raw.civil_servant.unwrap_or(false),
        acct_balance,
    })
}

fn range(field: &str, s: &RawSpan) -> Result<DateRange, String> {
    let from =
        Date::parse(&s.from).ok_or_else(|| format!("{field}.from={:?} 不是有效日期", s.from))?;
    let to = Date::parse(&s.to).ok_or_else(|| format!("{field}.to={:?} 不是有效日期", s.to))?;
    if from > to {
        return Err(format!("{field} 的起始日期 {from} 晚于终止日期 {to}"));
    }
    Ok(DateRange { from, to })
}

/// Validates one `persons.jsonl` record.
pub fn person_from_json(text: &str) -> Result<Person, String> {
    let raw: RawPerson =
        serde_json::from_str(text).map_err(|e| format!("不是有效的人员记录：{e}"))?;
    // The sex digit is not checked against `gend` here: the reference data directory (§1)
    // does not promise it (the sample's IDs use sequence 000 for men); roster import (§4) does.
    let (birth, _sex) =
        validate_certno(&raw.certno).map_err(|m| format!("certno={:?}：{m}", raw.certno))?;
    let brdy = Date::parse(&raw.brdy).ok_or_else(|| format!("brdy={:?} 不是有效日期", raw.brdy))?;
    if brdy != birth {
        return Err(format!(
            "brdy={} 与身份证号码中的出生日期 {birth} 不一致",
            raw.brdy
        ));
    }
    if raw.gend != "1" && raw.gend != "2" {
        return Err(format!("gend={:?} 应为 1（男）或 2（女）", raw.gend));
    }
    let mut enrolments = Vec::with_capacity(raw.enrolments.len());
    for &y in &raw.enrolments {
        let year = u16::try_from(y)
            .ok()
            .filter(|y| (1990..=2199).contains(y))
            .ok_or_else(|| format!("enrolments 中的年度 {y} 不合理"))?;
        enrolments.push(year);
    }
    let mut categories = Vec::new();
    for s in &raw.categories {
        let code = s
            .code
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or("categories 缺少 code")?;
        categories.push(CategorySpan {
            code,
            range: range("categories", s)?,
        });
    }
    let mut chronic = Vec::new();
    for s in &raw.chronic {
        let dise_codg = s
            .dise_codg
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or("chronic 缺少 dise_codg")?;
        chronic.push(ChronicRegistration {
            dise_codg,
            range: range("chronic", s)?,
        });
    }
    let offsite = raw
        .offsite
        .iter()
        .map(|s| range("offsite", s))
        .collect::<Result<_, _>>()?;
    let scheme = scheme(&raw)?;
    let mut family_aid = Vec::new();
    for s in &raw.family_aid {
        let holder = s
            .holder
            .clone()
            .filter(|h| !h.trim().is_empty() && *h != raw.psn_no)
            .ok_or("family_aid 须给出另一人的账户持有人 holder")?;
        family_aid.push(FamilyAid {
            holder,
            range: range("family_aid", s)?,
        });
    }
    Ok(Person {
        psn_no: raw.psn_no,
        certno: raw.certno,
        name: raw.name,
        gend: raw.gend,
        brdy,
        enrolments,
        categories,
        chronic,
        offsite,
        suspensions: Vec::new(),
        scheme,
        family_aid,
    })
}

pub fn load_persons(file: &Path, data: &mut RefData) -> Result<(), LoadError> {
    let bytes = read(file)?;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let text =
            std::str::from_utf8(line).map_err(|_| err(file, line_no, "不是有效的 UTF-8 文本"))?;
        if text.trim().is_empty() {
            continue;
        }
        let person = person_from_json(text).map_err(|m| err(file, line_no, m))?;
        data.add_person(person)
            .map_err(|e| err(file, line_no, e.to_string()))?;
    }
    Ok(())
}
