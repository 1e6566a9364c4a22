//! 参保登记名册 (roster) files (`interface.md` §4): `.xlsx` (first sheet) or `.csv` (UTF-8 or
//! GB18030) with a Chinese header row. Every data row is checked on its own and against the
//! other rows of the file; each problem becomes a [`RowError`] naming the spreadsheet row,
//! the column and the value. What only the database can know (already enrolled elsewhere)
//! is checked by the store.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use yibao_core::money::parse_yuan;
use yibao_core::refdata::validate_certno;
use yibao_core::Date;

/// The columns, in the contract's order.
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

/// Relations to the head of household: code (GB/T 4761 style) and the names accepted.
const RELATIONS: [(&str, &[&str]); 8] = [
    ("01", &["本人", "户主", "本人/户主"]),
    ("10", &["配偶"]),
    ("20", &["子女", "子", "女"]),
    ("30", &["孙子女", "外孙子女", "孙子女或外孙子女"]),
    ("50", &["父母", "父亲", "母亲"]),
    ("60", &["祖父母", "外祖父母", "祖父母或外祖父母"]),
    ("70", &["兄弟姐妹"]),
    ("99", &["其他"]),
];

/// Categories: code and Chinese name.
const CATEGORIES: [(&str, &str); 3] = [("pk", "建档立卡"), ("db", "低保"), ("tk", "特困")];

/// The code of the relation "本人/户主".
pub const RELATION_HEAD: &str = "01";

/// A valid row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRow {
    /// Spreadsheet row number (header = 1).
    pub row: usize,
    /// Upper-case `X` when the check character is X.
    pub certno: String,
    pub name: String,
    /// `1` male, `2` female.
    pub gend: String,
    pub brdy: Date,
    /// 户号
    pub household: String,
    /// Relation code (`01` 本人/户主 …).
    pub relation: String,
    /// `pk` / `db` / `tk`.
    pub categories: Vec<String>,
    pub year: u16,
    pub personal_fen: i64,
    pub subsidy_fen: i64,
}

/// One problem with one row (or the whole row when `column` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: String = self.value.chars().take(40).collect();
        let more = if self.value.chars().count() > 40 {
            "…"
        } else {
            ""
        };
        if self.column.is_empty() {
            write!(f, "第 {} 行：{}", self.row, self.reason)
        } else {
            write!(
                f,
                "第 {} 行「{}」值 \"{value}{more}\"：{}",
                self.row, self.column, self.reason
            )
        }
    }
}

/// A roster read and checked.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    /// Data rows read (empty rows not counted).
    pub rows_read: usize,
    /// Rows without any problem.
    pub rows: Vec<RosterRow>,
    /// Every problem, in row order.
    pub errors: Vec<RowError>,
}

/// A file that cannot be read as a roster at all.
#[derive(Debug, thiserror::Error)]
#[error("名册文件 {file}：{reason}")]
pub struct RosterError {
    pub file: String,
    pub reason: String,
}

/// Reads and checks a roster file.
pub fn read_roster(path: &Path) -> Result<Roster, RosterError> {
    let file = path.display().to_string();
    let fail = |reason: String| RosterError {
        file: file.clone(),
        reason,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let grid = match ext.as_str() {
        "csv" => {
            let bytes = std::fs::read(path).map_err(|e| fail(format!("无法读取：{e}")))?;
            csv_grid(&bytes).map_err(fail)?
        }
        "xlsx" => xlsx_grid(path).map_err(fail)?,
        _ => {
            return Err(fail(format!(
                "不支持的文件类型 {ext:?}：应为 .xlsx 或 .csv"
            )))
        }
    };
    check_grid(grid).map_err(fail)
}

/// A cell as read: text, or a number or date from a spreadsheet.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(Date),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.trim().to_string(),
            Cell::Number(n) => format!("{n}"),
            Cell::Date(d) => d.to_string(),
        }
    }
}

/// Rows of cells with their spreadsheet row numbers; the first is the header.
type Grid = Vec<(usize, Vec<Cell>)>;

fn csv_grid(bytes: &[u8]) -> Result<Grid, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => {
            let (t, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return Err("既不是 UTF-8 也不是 GB18030 编码的文本".into());
            }
            t
        }
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("第 {} 行无法解析：{e}", i + 1))?;
        grid.push((
            i + 1,
            rec.iter().map(|c| Cell::Text(c.to_string())).collect(),
        ));
    }
    Ok(grid)
}

fn xlsx_grid(path: &Path) -> Result<Grid, String> {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| format!("不是有效的 xlsx 文件：{e}"))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or("工作簿中没有工作表")?
        .map_err(|e| format!("第一个工作表无法读取：{e}"))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut grid = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let mut cells = vec![Cell::Text(String::new()); first_col];
        for c in row {
            cells.push(match c {
                Data::Empty => Cell::Text(String::new()),
                Data::String(s) => Cell::Text(s.clone()),
                Data::Float(f) => Cell::Number(*f),
                Data::Int(n) => Cell::Number(*n as f64),
                Data::Bool(b) => Cell::Text(b.to_string()),
                Data::DateTime(d) => excel_date(d.as_f64())
                    .map(Cell::Date)
                    .unwrap_or_else(|| Cell::Text(d.to_string())),
                Data::DateTimeIso(s) => Cell::Text(s.get(..10).unwrap_or(s).to_string()),
                Data::DurationIso(s) => Cell::Text(s.clone()),
                Data::Error(e) => Cell::Text(format!("#{e:?}")),
            });
        }
        grid.push((first_row + i + 1, cells));
    }
    Ok(grid)
}

/// An Excel date serial (1900 system) as a date.
fn excel_date(serial: f64) -> Option<Date> {
    let days = serial.floor() as i64;
    // Serial 60 is Excel's fictitious 1900-02-29; from 61 on, serial n is 1899-12-30 + n.
    let base = Date::from_ymd(1900, 1, 1)?;
    if days >= 61 {
        base.add_days(days - 2)
    } else if days >= 1 {
        base.add_days(days - 1)
    } else {
        None
    }
}

fn check_grid(grid: Grid) -> Result<Roster, String> {
    let mut it = grid.into_iter().skip_while(|(_, cells)| is_blank(cells));
    let Some((_, header)) = it.next() else {
        return Err("文件为空：缺少表头".into());
    };
    let header: Vec<String> = header.iter().map(Cell::text).collect();
    let mut at = [0usize; 10];
    let mut missing = Vec::new();
    for (i, name) in COLUMNS.iter().enumerate() {
        match header.iter().position(|h| h == name) {
            Some(p) => at[i] = p,
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        return Err(format!("表头缺少列：{}", missing.join("、")));
    }
    let mut roster = Roster::default();
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for (row, cells) in it {
        if is_blank(&cells) {
            continue;
        }
        roster.rows_read += 1;
        let get = |i: usize| {
            cells
                .get(at[i])
                .cloned()
                .unwrap_or(Cell::Text(String::new()))
        };
        let before = roster.errors.len();
        let parsed = check_row(row, &get, &mut roster.errors);
        if let Some(r) = parsed {
            match first_row_of.get(&r.certno) {
                Some(&first) => roster.errors.push(RowError {
                    row,
                    column: COLUMNS[0].into(),
                    value: r.certno.clone(),
                    reason: format!("与第 {first} 行的证件号码重复"),
                }),
                None => {
                    first_row_of.insert(r.certno.clone(), row);
                    if roster.errors.len() == before {
                        roster.rows.push(r);
                    }
                }
            }
        }
    }
    check_households(&mut roster);
    roster.errors.sort_by_key(|e| e.row);
    Ok(roster)
}

fn is_blank(cells: &[Cell]) -> bool {
    cells.iter().all(|c| c.text().is_empty())
}

/// Checks one row; pushes every problem; returns the row when its ID could be read (for the
/// duplicate check) — the caller keeps it only when no problem was pushed.
fn check_row(
    row: usize,
    get: &dyn Fn(usize) -> Cell,
    errors: &mut Vec<RowError>,
) -> Option<RosterRow> {
    let mut bad = |col: usize, value: &str, reason: String| {
        errors.push(RowError {
            row,
            column: COLUMNS[col].into(),
            value: value.to_string(),
            reason,
        })
    };
    let required = |c: &Cell| -> Option<String> { Some(c.text()).filter(|t| !t.is_empty()) };

    // 证件号码: a number cell cannot hold 18 digits exactly.
    let certno_cell = get(0);
    let certno = match &certno_cell {
        Cell::Number(_) => {
            bad(
                0,
                &certno_cell.text(),
                "证件号码必须以文本格式填写（数字格式会丢失位数）".into(),
            );
            None
        }
        c => match required(c) {
            None => {
                bad(0, "", "必填项为空".into());
                None
            }
            Some(t) => Some(t.to_uppercase()),
        },
    };
    let id = certno.as_deref().and_then(|c| match validate_certno(c) {
        Ok(v) => Some(v),
        Err(e) => {
            bad(0, c, e);
            None
        }
    });

    let name = required(&get(1));
    match &name {
        None => bad(1, "", "必填项为空".into()),
        Some(n) if n.chars().count() > 50 => bad(1, n, "姓名超过 50 个字".into()),
        _ => {}
    }

    let sex_text = get(2).text();
    let gend = match sex_text.as_str() {
        "男" | "1" => Some("1"),
        "女" | "2" => Some("2"),
        "" => {
            bad(2, "", "必填项为空".into());
            None
        }
        other => {
            bad(2, other, "应为 男 或 女".into());
            None
        }
    };

    let year_text = get(7).text();
    let year = match year_text.parse::<u16>() {
        Ok(y) if (2000..=2100).contains(&y) => Some(y),
        _ if year_text.is_empty() => {
            bad(7, "", "必填项为空".into());
            None
        }
        _ => {
            bad(7, &year_text, "应为 2000 到 2100 之间的四位年份".into());
            None
        }
    };

    let brdy_cell = get(3);
    let brdy = match &brdy_cell {
        Cell::Date(d) => Some(*d),
        c => {
            let t = c.text();
            if t.is_empty() {
                bad(3, "", "必填项为空".into());
                None
            } else {
                match Date::parse(&t.replace('/', "-")) {
                    Some(d) => Some(d),
                    None => {
                        bad(3, &t, "不是有效日期（应为 YYYY-MM-DD）".into());
                        None
                    }
                }
            }
        }
    };
    if let (Some(b), Some(y)) = (brdy, year) {
        if b.year() > y {
            bad(3, &b.to_string(), format!("出生日期晚于参保年度 {y}"));
        }
    }
    if let (Some((id_brdy, id_sex)), Some(c)) = (id, certno.as_deref()) {
        if let Some(b) = brdy {
            if b != id_brdy {
                bad(
                    3,
                    &b.to_string(),
                    format!("与证件号码 {c} 中的出生日期 {id_brdy} 不一致"),
                );
            }
        }
        if let Some(g) = gend {
            if g != id_sex {
                bad(
                    2,
                    &sex_text,
                    format!(
                        "与证件号码 {c} 的性别位（{}）不一致",
                        if id_sex == "1" { "男" } else { "女" }
                    ),
                );
            }
        }
    }

    let household = required(&get(4));
    match &household {
        None => bad(4, "", "必填项为空".into()),
        Some(h) if h.chars().count() > 30 || !h.chars().all(|c| c.is_ascii_alphanumeric()) => {
            bad(4, h, "户号应为 1 到 30 位字母或数字".into())
        }
        _ => {}
    }

    let rel_text = get(5).text();
    let relation = RELATIONS
        .iter()
        .find(|(code, names)| *code == rel_text || names.contains(&rel_text.as_str()))
        .map(|(code, _)| code.to_string());
    if relation.is_none() {
        if rel_text.is_empty() {
            bad(5, "", "必填项为空".into());
        } else {
            bad(
                5,
                &rel_text,
                "应为 本人/户主、配偶、子女、孙子女、父母、祖父母、兄弟姐妹、其他 之一".into(),
            );
        }
    }

    let cat_text = get(6).text();
    let mut categories = Vec::new();
    let mut cats_ok = true;
    for part in cat_text
        .split([';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match CATEGORIES
            .iter()
            .find(|(code, name)| *code == part || *name == part)
        {
            Some((code, _)) if categories.contains(&code.to_string()) => {
                bad(6, &cat_text, format!("人员类别 {part} 重复"));
                cats_ok = false;
            }
            Some((code, _)) => categories.push(code.to_string()),
            None => {
                bad(
                    6,
                    &cat_text,
                    format!(
                        "人员类别 {part} 无效：应为 pk/db/tk 或 建档立卡/低保/特困，多个用 ; 分隔"
                    ),
                );
                cats_ok = false;
            }
        }
    }

    let mut amount = |col: usize| -> Option<i64> {
        let cell = get(col);
        let t = cell.text();
        if t.is_empty() {
            bad(col, "", "必填项为空（没有请填 0）".into());
            return None;
        }
        match parse_yuan(&t) {
            Ok(v) if v < 0 => {
                bad(col, &t, "金额不能为负数".into());
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                bad(col, &t, format!("不是有效金额（元，最多两位小数）：{e}"));
                None
            }
        }
    };
    let personal = amount(8);
    let subsidy = amount(9);

    let certno = certno?;
    Some(RosterRow {
        row,
        certno,
        name: name.unwrap_or_default(),
        gend: gend.unwrap_or_default().to_string(),
        brdy: brdy.unwrap_or(Date::from_ymd(1900, 1, 1)?),
        household: household.unwrap_or_default(),
        relation: relation.unwrap_or_default(),
        categories: if cats_ok { categories } else { Vec::new() },
        year: year.unwrap_or_default(),
        personal_fen: personal.unwrap_or_default(),
        subsidy_fen: subsidy.unwrap_or_default(),
    })
}

/// Each household (户号 and year) has exactly one 本人/户主 among the valid rows.
fn check_households(roster: &mut Roster) {
    let mut heads: HashMap<(String, u16), Vec<usize>> = HashMap::new();
    let mut members: HashMap<(String, u16), Vec<usize>> = HashMap::new();
    for r in &roster.rows {
        let key = (r.household.clone(), r.year);
        members.entry(key.clone()).or_default().push(r.row);
        if r.relation == RELATION_HEAD {
            heads.entry(key).or_default().push(r.row);
        }
    }
    let mut bad_rows = std::collections::HashSet::new();
    for (key, rows) in &members {
        let h = heads.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if h.is_empty() {
            for &row in rows {
                roster.errors.push(RowError {
                    row,
                    column: COLUMNS[4].into(),
                    value: key.0.clone(),
                    reason: format!("户号 {} 在 {} 年度没有「本人/户主」", key.0, key.1),
                });
                bad_rows.insert(row);
            }
        } else {
            for &row in &h[1..] {
                roster.errors.push(RowError {
                    row,
                    column: COLUMNS[5].into(),
                    value: "本人/户主".into(),
                    reason: format!("户号 {} 已在第 {} 行有户主", key.0, h[0]),
                });
                bad_rows.insert(row);
            }
        }
    }
    roster.rows.retain(|r| !bad_rows.contains(&r.row));
}

/// Writes the problems as CSV `行号,列,值,原因` (UTF-8 with BOM, so Excel opens it).
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
    fn excel_serials() {
        assert_eq!(excel_date(45292.0), Date::parse("2024-01-01"));
        assert_eq!(excel_date(1.0), Date::parse("1900-01-01"));
        assert_eq!(excel_date(61.0), Date::parse("1900-03-01"));
    }
}
