//! 参保登记名册 (roster) files (`interface.md` §4): `.xlsx` (first sheet) or `.csv` (UTF-8 or
//! GB18030) with a Chinese header row. Every data row is checked on its own and against the
//! other rows of the file; each problem becomes a [`RowError`] naming the spreadsheet row,
//! the column and the value, so an operator can fix the whole file in one round. What only
//! the database can know (already enrolled elsewhere) is checked by the store.
//!
//! The library never prints and never panics on bad input: a file that cannot be a roster at
//! all is a [`RosterError`], everything else is a value in [`Roster::errors`].
//!
//! ```no_run
//! let roster = yibao_roster::read_roster(std::path::Path::new("名册.xlsx"))?;
//! for e in &roster.errors {
//!     eprintln!("{e}");
//! }
//! # Ok::<(), yibao_roster::RosterError>(())
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use yibao_core::money::parse_yuan;
use yibao_core::refdata::validate_certno;
use yibao_core::Date;

/// The columns, in the contract's order (the order in a file may differ).
pub const COLUMNS: [&str; 10] = [
    "证件号码",
    "姓名",
    "性别",
    "出生日期",
    "户号",
    "与户主关系",
    "人员类别",
    "参保年度",
    "个人缴费",
    "财政补助",
];

const C_CERTNO: usize = 0;
const C_NAME: usize = 1;
const C_SEX: usize = 2;
const C_BRDY: usize = 3;
const C_HOUSEHOLD: usize = 4;
const C_RELATION: usize = 5;
const C_CATEGORY: usize = 6;
const C_YEAR: usize = 7;
const C_PERSONAL: usize = 8;
const C_SUBSIDY: usize = 9;

/// Relations to the head of household (GB/T 4761 style codes): code, the name shown, and
/// every name accepted besides the code itself.
pub const RELATIONS: [(&str, &str, &[&str]); 8] = [
    (
        "01",
        "本人/户主",
        &["本人", "户主", "本人/户主", "本人或户主"],
    ),
    ("10", "配偶", &["配偶"]),
    ("20", "子女", &["子女"]),
    (
        "30",
        "孙子女或外孙子女",
        &["孙子女", "外孙子女", "孙子女或外孙子女"],
    ),
    ("50", "父母", &["父母", "父亲", "母亲"]),
    (
        "60",
        "祖父母或外祖父母",
        &["祖父母", "外祖父母", "祖父母或外祖父母"],
    ),
    ("70", "兄弟姐妹", &["兄弟姐妹"]),
    ("99", "其他", &["其他"]),
];

/// Person categories: code and Chinese name.
pub const CATEGORIES: [(&str, &str); 3] = [("pk", "建档立卡"), ("db", "低保"), ("tk", "特困")];

/// The code of the relation "本人/户主".
pub const RELATION_HEAD: &str = "01";

/// Longest 姓名, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest 户号, in characters (letters and digits only).
pub const MAX_HOUSEHOLD_CHARS: usize = 30;
/// Accepted 参保年度.
pub const YEARS: std::ops::RangeInclusive<u16> = 2000..=2100;

/// A row without any problem, ready for the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRow {
    /// Spreadsheet row number (header = 1), to point back at the file.
    pub row: usize,
    /// 18-character resident ID; upper-case `X` when the check character is X.
    pub certno: String,
    pub name: String,
    /// `1` male, `2` female.
    pub gend: String,
    pub brdy: Date,
    /// 户号
    pub household: String,
    /// Relation code (`01` 本人/户主, `10` 配偶 … see [`RELATIONS`]).
    pub relation: String,
    /// The relation's Chinese name as shown to people (`本人/户主`, `配偶` …).
    pub relation_name: &'static str,
    /// `pk` / `db` / `tk`, in the file's order, without repeats.
    pub categories: Vec<String>,
    pub year: u16,
    /// 个人缴费 in fen.
    pub personal_fen: i64,
    /// 财政补助 in fen.
    pub subsidy_fen: i64,
}

/// One problem with one row. `column` is the Chinese header name, or empty when the problem
/// concerns the whole row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Spreadsheet row number (header = 1).
    pub row: usize,
    pub column: String,
    /// The cell as read (trimmed), in full; [`Display`](fmt::Display) shortens it.
    pub value: String,
    /// Why, in Chinese.
    pub reason: String,
}

/// Characters of a value shown by [`RowError`]'s `Display`.
const SHOWN_CHARS: usize = 40;

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            return write!(f, "第 {} 行：{}", self.row, self.reason);
        }
        let mut chars = self.value.char_indices();
        let (value, more) = match chars.nth(SHOWN_CHARS) {
            Some((at, _)) => (&self.value[..at], "…"),
            None => (self.value.as_str(), ""),
        };
        write!(
            f,
            "第 {} 行「{}」值 \"{value}{more}\"：{}",
            self.row, self.column, self.reason
        )
    }
}

/// A roster read and checked.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    /// Data rows read (fully empty rows not counted).
    pub rows_read: usize,
    /// Rows without any problem, in file order.
    pub rows: Vec<RosterRow>,
    /// Every problem, in row order (a row may have several).
    pub errors: Vec<RowError>,
}

/// A file that cannot be read as a roster at all (unreadable, wrong type, no header, a
/// required column missing): nothing of it can be imported.
#[derive(Debug, thiserror::Error)]
#[error("名册文件 {file}：{reason}")]
pub struct RosterError {
    pub file: String,
    pub reason: String,
}

/// Reads and checks a roster file: `.xlsx` (first sheet) or `.csv` (UTF-8 with or without
/// BOM, else GB18030), chosen by the extension.
pub fn read_roster(path: &Path) -> Result<Roster, RosterError> {
    let fail = |reason: String| RosterError {
        file: path.display().to_string(),
        reason,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => {
            let bytes = std::fs::read(path).map_err(|e| fail(format!("无法读取：{e}")))?;
            read_csv(&bytes).map_err(fail)
        }
        "xlsx" => read_xlsx(path).map_err(fail),
        "" => Err(fail("没有扩展名：应为 .xlsx 或 .csv".into())),
        _ => Err(fail(format!("不支持的文件类型 .{ext}：应为 .xlsx 或 .csv"))),
    }
}

/// Reads and checks a roster held in memory as CSV bytes (UTF-8 with or without BOM, else
/// GB18030); for callers that receive the file over the network.
pub fn read_roster_csv_bytes(bytes: &[u8]) -> Result<Roster, String> {
    read_csv(bytes)
}

// ---------------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------------

/// A cell as read: text, or a number or date typed in a spreadsheet.
#[derive(Clone, Copy, Debug)]
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Date(Date),
}

const EMPTY: Cell<'static> = Cell::Text("");

impl<'a> Cell<'a> {
    /// The trimmed text; a number in its shortest exact decimal form (never an exponent).
    fn text(self) -> Cow<'a, str> {
        match self {
            Cell::Text(t) => Cow::Borrowed(t.trim()),
            Cell::Number(n) => Cow::Owned(format!("{n}")),
            Cell::Date(d) => Cow::Owned(d.to_string()),
        }
    }

    fn is_blank(self) -> bool {
        matches!(self, Cell::Text(t) if t.trim().is_empty())
    }
}

fn read_csv(bytes: &[u8]) -> Result<Roster, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text: Cow<str> = match std::str::from_utf8(bytes) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => {
            let (t, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return Err("既不是 UTF-8 也不是 GB18030 编码的文本".into());
            }
            t
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rec = csv::StringRecord::new();
    let mut checker: Option<Checker> = None;
    // Spreadsheet row numbers: the csv reader skips empty lines, which a spreadsheet shows as
    // rows, and a quoted line break stays inside one row. A record's first line is its last
    // line less the line breaks inside it; its row is that less the breaks of earlier records.
    let mut row = 0usize;
    let mut inner_breaks = 0u64;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(format!("第 {} 行无法解析：{e}", row + 1)),
        }
        let end = rdr.position();
        let terminated = (end.byte() as usize)
            .checked_sub(1)
            .and_then(|i| text.as_bytes().get(i))
            .is_some_and(|b| matches!(b, b'\n' | b'\r'));
        let breaks = rec.as_slice().bytes().filter(|&b| b == b'\n').count() as u64;
        let first_line = end
            .line()
            .saturating_sub(u64::from(terminated))
            .saturating_sub(breaks);
        row = (first_line.saturating_sub(inner_breaks) as usize).max(row + 1);
        inner_breaks += breaks;
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match &mut checker {
            None => checker = Some(Checker::new(rec.iter().map(Cell::Text))?),
            Some(c) => c.row(row, |i| rec.get(i).map_or(EMPTY, Cell::Text)),
        }
    }
    Ok(checker.ok_or("文件为空：缺少表头")?.finish())
}

fn read_xlsx(path: &Path) -> Result<Roster, String> {
    use calamine::{open_workbook, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| format!("不是有效的 xlsx 文件：{e}"))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or("工作簿中没有工作表")?
        .map_err(|e| format!("第一个工作表无法读取：{e}"))?;
    let (first_row, first_col) = range
        .start()
        .map_or((0, 0), |(r, c)| (r as usize, c as usize));
    let mut checker: Option<Checker> = None;
    for (i, cells) in range.rows().enumerate() {
        if cells.iter().all(|c| data_cell(c).is_blank()) {
            continue;
        }
        // Columns are counted from A even when the sheet's used range starts further right.
        let cell = |col: usize| {
            col.checked_sub(first_col)
                .and_then(|c| cells.get(c))
                .map_or(EMPTY, data_cell)
        };
        match &mut checker {
            None => checker = Some(Checker::new((0..first_col + cells.len()).map(cell))?),
            Some(c) => c.row(first_row + i + 1, cell),
        }
    }
    Ok(checker.ok_or("第一个工作表为空：缺少表头")?.finish())
}

fn data_cell(d: &calamine::Data) -> Cell<'_> {
    use calamine::Data;
    match d {
        Data::Empty => EMPTY,
        Data::String(s) => Cell::Text(s),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(n) => Cell::Number(*n as f64),
        Data::Bool(true) => Cell::Text("TRUE"),
        Data::Bool(false) => Cell::Text("FALSE"),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            Date::from_ymd(u32::from(y), u32::from(m), u32::from(day))
                .map_or(Cell::Number(d.as_f64()), Cell::Date)
        }
        Data::DateTime(d) => Cell::Number(d.as_f64()),
        Data::DateTimeIso(s) => {
            Date::parse(s.get(..10).unwrap_or(s)).map_or(Cell::Text(s), Cell::Date)
        }
        Data::DurationIso(s) => Cell::Text(s),
        Data::Error(_) => Cell::Text("#错误"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// A row's place in its household (户号 and 参保年度), for the one-head rule.
struct Member {
    household: u32,
    row: usize,
    head: bool,
    /// No problem of its own (before the household rule).
    valid: bool,
}

/// The state of one pass over a file: where the columns are, what was seen.
struct Checker {
    at: [usize; 10],
    roster: Roster,
    /// First row of each 证件号码: well-formed ones by number, others by text.
    first_by_number: HashMap<u64, usize>,
    first_by_text: HashMap<String, usize>,
    /// 户号 → (参保年度, household index).
    households: HashMap<String, Vec<(u16, u32)>>,
    household_names: Vec<(String, u16)>,
    members: Vec<Member>,
}

impl Checker {
    fn new<'a>(header: impl Iterator<Item = Cell<'a>>) -> Result<Checker, String> {
        let header: Vec<Cow<str>> = header.map(Cell::text).collect();
        // Templates often mark required columns with `*`.
        let name_of = |h: &str| h.trim_start_matches('*').trim().to_string();
        let mut at = [0usize; 10];
        let mut missing = Vec::new();
        let mut twice = Vec::new();
        for (i, col) in COLUMNS.iter().enumerate() {
            let mut found = header
                .iter()
                .enumerate()
                .filter(|(_, h)| name_of(h) == *col)
                .map(|(p, _)| p);
            match found.next() {
                Some(p) => at[i] = p,
                None => missing.push(*col),
            }
            if found.next().is_some() {
                twice.push(*col);
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "表头缺少列：{}（表头应为 {}）",
                missing.join("、"),
                COLUMNS.join(",")
            ));
        }
        if !twice.is_empty() {
            return Err(format!("表头中的列重复：{}", twice.join("、")));
        }
        Ok(Checker {
            at,
            roster: Roster::default(),
            first_by_number: HashMap::new(),
            first_by_text: HashMap::new(),
            households: HashMap::new(),
            household_names: Vec::new(),
            members: Vec::new(),
        })
    }

    /// Checks one non-empty data row; `cell(i)` is the cell in file column `i`.
    fn row<'c>(&mut self, row: usize, cell: impl Fn(usize) -> Cell<'c>) {
        self.roster.rows_read += 1;
        let at = self.at;
        let get = |c: usize| cell(at[c]);
        let errors_before = self.roster.errors.len();
        let mut errs = Errs {
            row,
            errors: &mut self.roster.errors,
        };
        let parsed = check_row(&get, &mut errs);

        // The same ID earlier in the file.
        if let Some(certno) = &parsed.certno_text {
            let first = match certno_number(certno) {
                Some(n) => *self.first_by_number.entry(n).or_insert(row),
                None => *self.first_by_text.entry(certno.clone()).or_insert(row),
            };
            if first != row {
                errs.push(C_CERTNO, certno, format!("证件号码与第 {first} 行重复"));
            }
        }
        let valid = self.roster.errors.len() == errors_before;

        if let (Some(h), Some(year)) = (&parsed.household, parsed.year) {
            if !self.households.contains_key(h.as_str()) {
                self.households.insert(h.clone(), Vec::new());
            }
            let list = self.households.get_mut(h.as_str()).expect("inserted above");
            let household = match list.iter().find(|(y, _)| *y == year) {
                Some(&(_, i)) => i,
                None => {
                    let i = self.household_names.len() as u32;
                    self.household_names.push((h.clone(), year));
                    list.push((year, i));
                    i
                }
            };
            self.members.push(Member {
                household,
                row,
                head: parsed.relation.is_some_and(|r| r.0 == RELATION_HEAD),
                valid,
            });
        }
        if valid {
            if let Some(r) = parsed.into_row(row) {
                self.roster.rows.push(r);
            }
        }
    }

    /// The household rule (exactly one 本人/户主 per 户号 and year), then the result.
    fn finish(mut self) -> Roster {
        // First head of each household, and whether it is valid.
        let mut head: Vec<Option<(usize, bool)>> = vec![None; self.household_names.len()];
        for m in &self.members {
            let h = &mut head[m.household as usize];
            if m.head && h.is_none() {
                *h = Some((m.row, m.valid));
            }
        }
        let mut rejected = HashSet::new();
        for m in &self.members {
            let (hh, year) = &self.household_names[m.household as usize];
            let (column, value, reason) = match head[m.household as usize] {
                None => (
                    C_HOUSEHOLD,
                    hh.as_str(),
                    format!("户号 {hh} 在 {year} 年度没有「本人/户主」行，每户须有且只有一位户主"),
                ),
                Some((first, _)) if m.head && first != m.row => (
                    C_RELATION,
                    "本人/户主",
                    format!("户号 {hh} 在 {year} 年度已在第 {first} 行有户主，每户只能有一位户主"),
                ),
                Some((first, false)) if m.valid && !m.head => (
                    C_HOUSEHOLD,
                    hh.as_str(),
                    format!("户号 {hh} 的户主（第 {first} 行）有错误，本户成员须与户主一同导入"),
                ),
                _ => continue,
            };
            self.roster.errors.push(RowError {
                row: m.row,
                column: COLUMNS[column].into(),
                value: value.into(),
                reason,
            });
            if m.valid {
                rejected.insert(m.row);
            }
        }
        if !rejected.is_empty() {
            self.roster.rows.retain(|r| !rejected.contains(&r.row));
        }
        // By row, then in the order of the contract's columns (whole-row problems last);
        // stable, so a cell's problems keep the order they were found in.
        self.roster.errors.sort_by_key(|e| {
            let col = COLUMNS.iter().position(|c| *c == e.column);
            (e.row, col.unwrap_or(COLUMNS.len()))
        });
        self.roster
    }
}

/// Pushes the problems of one row.
struct Errs<'e> {
    row: usize,
    errors: &'e mut Vec<RowError>,
}

impl Errs<'_> {
    fn push(&mut self, column: usize, value: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            column: COLUMNS[column].into(),
            value: value.into(),
            reason: reason.into(),
        });
    }

    fn empty(&mut self, column: usize) {
        self.push(column, "", "必填项为空");
    }
}

/// What could be read of one row (each field `None` when it had a problem).
#[derive(Default)]
struct Parsed {
    /// The ID as typed (upper-cased), for the duplicate check, even when malformed.
    certno_text: Option<String>,
    certno_ok: bool,
    name: Option<String>,
    gend: Option<&'static str>,
    brdy: Option<Date>,
    household: Option<String>,
    relation: Option<(&'static str, &'static str)>,
    categories: Option<Vec<String>>,
    year: Option<u16>,
    personal: Option<i64>,
    subsidy: Option<i64>,
}

impl Parsed {
    fn into_row(self, row: usize) -> Option<RosterRow> {
        let (relation, relation_name) = self.relation?;
        if !self.certno_ok {
            return None;
        }
        Some(RosterRow {
            row,
            certno: self.certno_text?,
            name: self.name?,
            gend: self.gend?.to_string(),
            brdy: self.brdy?,
            household: self.household?,
            relation: relation.to_string(),
            relation_name,
            categories: self.categories?,
            year: self.year?,
            personal_fen: self.personal?,
            subsidy_fen: self.subsidy?,
        })
    }
}

/// A well-formed ID (17 digits and a digit or X) as a number, for a cheap duplicate index.
fn certno_number(certno: &str) -> Option<u64> {
    let b = certno.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let last = match b[17] {
        c @ b'0'..=b'9' => u64::from(c - b'0'),
        b'X' => 10,
        _ => return None,
    };
    let body = b[..17]
        .iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
    Some(body * 11 + last)
}

/// Parses `YYYY-MM-DD` or `YYYY/MM/DD`, month and day with one or two digits (as Excel
/// writes dates into CSV).
fn parse_date(text: &str) -> Option<Date> {
    let sep = if text.contains('/') { '/' } else { '-' };
    let mut parts = text.split(sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
        || ![y, m, d]
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Checks every cell of one row, pushing every problem found.
fn check_row<'c>(get: &dyn Fn(usize) -> Cell<'c>, errs: &mut Errs) -> Parsed {
    let mut p = Parsed::default();

    // 证件号码. A number cell cannot hold 18 digits exactly.
    let mut id: Option<(Date, &'static str)> = None;
    match get(C_CERTNO) {
        c @ Cell::Number(_) => {
            let t = c.text();
            errs.push(
                C_CERTNO,
                &t,
                "证件号码须以文本格式填写（数字格式会丢失位数，请将单元格设为文本后重新输入）",
            );
            p.certno_text = Some(t.into_owned());
        }
        c => {
            let t = c.text();
            if t.is_empty() {
                errs.empty(C_CERTNO);
            } else {
                let t = if t.ends_with('x') {
                    t.to_uppercase()
                } else {
                    t.into_owned()
                };
                match validate_certno(&t) {
                    Ok(v) => {
                        id = Some(v);
                        p.certno_ok = true;
                    }
                    Err(e) => errs.push(C_CERTNO, &t, e),
                }
                p.certno_text = Some(t);
            }
        }
    }

    // 姓名
    let name = get(C_NAME).text();
    if name.is_empty() {
        errs.empty(C_NAME);
    } else if name.chars().count() > MAX_NAME_CHARS {
        errs.push(C_NAME, &name, format!("姓名超过 {MAX_NAME_CHARS} 个字"));
    } else if name.chars().any(char::is_control) {
        errs.push(C_NAME, &name, "姓名含有控制字符（如换行、制表符）");
    } else {
        p.name = Some(name.into_owned());
    }

    // 性别
    let sex = get(C_SEX).text();
    p.gend = match &*sex {
        "男" | "1" => Some("1"),
        "女" | "2" => Some("2"),
        "" => {
            errs.empty(C_SEX);
            None
        }
        other => {
            errs.push(C_SEX, other, "应为 男 或 女（或 1、2）");
            None
        }
    };
    if let (Some(g), Some((_, id_sex))) = (p.gend, id) {
        if g != id_sex {
            errs.push(
                C_SEX,
                &sex,
                format!(
                    "与证件号码的性别位（第 17 位{}，应为{}）不一致",
                    if id_sex == "1" {
                        "为奇数"
                    } else {
                        "为偶数"
                    },
                    if id_sex == "1" { "男" } else { "女" }
                ),
            );
            p.gend = None;
        }
    }

    // 参保年度 (before 出生日期, which must not lie after the year).
    let year = get(C_YEAR).text();
    p.year = match year.parse::<u16>() {
        Ok(y) if YEARS.contains(&y) && year.len() == 4 => Some(y),
        _ if year.is_empty() => {
            errs.empty(C_YEAR);
            None
        }
        _ => {
            errs.push(
                C_YEAR,
                &year,
                format!("应为 {} 到 {} 之间的四位年份", YEARS.start(), YEARS.end()),
            );
            None
        }
    };

    // 出生日期
    let brdy_cell = get(C_BRDY);
    let brdy_text = brdy_cell.text();
    p.brdy = match brdy_cell {
        Cell::Date(d) => Some(d),
        _ if brdy_text.is_empty() => {
            errs.empty(C_BRDY);
            None
        }
        _ => {
            let d = parse_date(&brdy_text);
            if d.is_none() {
                errs.push(
                    C_BRDY,
                    &brdy_text,
                    "不是有效日期（应为 YYYY-MM-DD 或 YYYY/MM/DD）",
                );
            }
            d
        }
    };
    if let (Some(b), Some(y)) = (p.brdy, p.year) {
        if b.year() > y {
            errs.push(C_BRDY, &brdy_text, format!("出生日期晚于参保年度 {y} 年末"));
            p.brdy = None;
        }
    }
    if let (Some(b), Some((id_brdy, _))) = (p.brdy, id) {
        if b != id_brdy {
            errs.push(
                C_BRDY,
                &brdy_text,
                format!("与证件号码中的出生日期 {id_brdy} 不一致"),
            );
            p.brdy = None;
        }
    }

    // 户号
    let household = get(C_HOUSEHOLD).text();
    if household.is_empty() {
        errs.empty(C_HOUSEHOLD);
    } else if household.len() > MAX_HOUSEHOLD_CHARS
        || !household.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        errs.push(
            C_HOUSEHOLD,
            &household,
            format!("户号应为 1 到 {MAX_HOUSEHOLD_CHARS} 位字母或数字"),
        );
    } else {
        p.household = Some(household.into_owned());
    }

    // 与户主关系: the code or a name; a number cell `1` is the code `01` typed as a number.
    let relation_cell = get(C_RELATION);
    let relation = match relation_cell {
        Cell::Number(n) if n.fract() == 0.0 && (1.0..=99.0).contains(&n) => {
            Cow::Owned(format!("{:02}", n as u32))
        }
        c => c.text(),
    };
    p.relation = RELATIONS
        .iter()
        .find(|(code, _, names)| *code == relation || names.contains(&&*relation))
        .map(|(code, name, _)| (*code, *name));
    if p.relation.is_none() {
        if relation.is_empty() {
            errs.empty(C_RELATION);
        } else {
            errs.push(
                C_RELATION,
                &relation_cell.text(),
                "应为 本人/户主(01)、配偶(10)、子女(20)、孙子女或外孙子女(30)、父母(50)、\
                 祖父母或外祖父母(60)、兄弟姐妹(70)、其他(99) 之一",
            );
        }
    }

    // 人员类别
    let cats = get(C_CATEGORY).text();
    let mut categories: Vec<String> = Vec::new();
    let mut cats_ok = true;
    for part in cats.split([';', '；']).map(str::trim) {
        if part.is_empty() {
            if cats.contains([';', '；']) {
                errs.push(C_CATEGORY, &cats, "分号之间缺少人员类别");
                cats_ok = false;
            }
            continue;
        }
        match CATEGORIES
            .iter()
            .find(|(code, name)| code.eq_ignore_ascii_case(part) || *name == part)
        {
            Some((code, name)) if categories.iter().any(|c| c == code) => {
                errs.push(C_CATEGORY, &cats, format!("人员类别 {name}（{code}）重复"));
                cats_ok = false;
            }
            Some((code, _)) => categories.push((*code).to_string()),
            None => {
                errs.push(
                    C_CATEGORY,
                    &cats,
                    format!(
                        "人员类别「{part}」无效：应为 pk/db/tk 或 建档立卡/低保/特困，多个用 ; 分隔"
                    ),
                );
                cats_ok = false;
            }
        }
    }
    if cats_ok {
        p.categories = Some(categories);
    }

    // 个人缴费, 财政补助
    let mut amount = |col: usize| -> Option<i64> {
        let t = get(col).text();
        if t.is_empty() {
            errs.push(col, "", "必填项为空（没有请填 0）");
            return None;
        }
        match parse_yuan(&t) {
            Ok(v) if v < 0 => {
                errs.push(col, &t, "金额不能为负数");
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                errs.push(
                    col,
                    &t,
                    format!("不是有效金额（以元为单位，最多两位小数）：{e}"),
                );
                None
            }
        }
    };
    p.personal = amount(C_PERSONAL);
    p.subsidy = amount(C_SUBSIDY);
    p
}

// ---------------------------------------------------------------------------------------------
// Errors file
// ---------------------------------------------------------------------------------------------

/// Writes the problems as CSV `行号,列,值,原因`, UTF-8 with BOM so that Excel shows the
/// Chinese correctly; the operator fixes the roster from it.
pub fn write_errors_csv(mut w: impl Write, errors: &[RowError]) -> io::Result<()> {
    w.write_all(b"\xEF\xBB\xBF")?;
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["行号", "列", "值", "原因"])?;
    for e in errors {
        out.write_record([e.row.to_string().as_str(), &e.column, &e.value, &e.reason])?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_excel_writes_them() {
        assert_eq!(parse_date("2024-01-01"), Date::parse("2024-01-01"));
        assert_eq!(parse_date("2024/1/1"), Date::parse("2024-01-01"));
        assert_eq!(parse_date("2024/12/31"), Date::parse("2024-12-31"));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024/01-01"), None);
        assert_eq!(parse_date("24-01-01"), None);
        assert_eq!(parse_date("2024-001-01"), None);
        assert_eq!(parse_date("2024-+1-01"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn certno_numbers_are_distinct() {
        assert_ne!(
            certno_number("11010519491231002X"),
            certno_number("110105194912310020")
        );
        assert_eq!(certno_number("11010519491231002x"), None);
        assert_eq!(certno_number("1101051949123100２X"), None);
        assert!(certno_number("999999999999999999").is_some());
    }

    #[test]
    fn long_values_are_shortened_on_a_char_boundary() {
        let e = RowError {
            row: 3,
            column: "姓名".into(),
            value: "张".repeat(60),
            reason: "姓名超过 50 个字".into(),
        };
        let s = e.to_string();
        assert!(s.starts_with(&format!("第 3 行「姓名」值 \"{}…\"", "张".repeat(40))));
        assert!(s.ends_with("：姓名超过 50 个字"));
    }
}
