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

mod check;

use check::*;

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

/// Rows of a roster, header included: Excel's maximum (1,048,576). A file with more rows, or
/// a cell on a row or column beyond Excel's last, cannot be a roster.
pub const MAX_ROWS: usize = 1_048_576;
/// Excel's last column (XFD).
const MAX_COLUMNS: usize = 16_384;
/// Longest cell of a data row, in characters; a longer cell is a problem of its row (the
/// value kept is its start).
pub const MAX_CELL_CHARS: usize = 1_000;
/// Largest CSV roster, in bytes (a roster of Excel's maximum rows is about 120 MB).
pub const MAX_CSV_BYTES: u64 = 256 << 20;
/// Largest part of an xlsx (a sheet's XML, the shared strings) once decompressed, in bytes,
/// by what the zip declares and by what it really holds (Excel's maximum rows of a roster
/// make a sheet of about 500 MB).
pub const MAX_XLSX_PART_BYTES: u64 = 1 << 30;
/// All parts of an xlsx together, decompressed.
pub const MAX_XLSX_BYTES: u64 = 2 << 30;
/// Longest run of an xlsx part's XML without markup (`<` or `>`): the text of one cell or
/// one tag. Excel's longest cell (32,767 characters) takes at most 8 bytes a character as
/// XML (`&#x4E00;`), so anything Excel writes passes, and is then held to [`MAX_CELL_CHARS`].
const MAX_XML_RUN: u64 = 256 << 10;
/// Parts (files) in an xlsx.
const MAX_XLSX_PARTS: usize = 10_000;

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
    /// The cell as read (trimmed), in full up to [`MAX_CELL_CHARS`] characters (a longer cell
    /// keeps its start); [`Display`](fmt::Display) shortens it.
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
            use std::io::Read;
            let f = std::fs::File::open(path).map_err(|e| fail(format!("无法读取：{e}")))?;
            let mut bytes = Vec::new();
            f.take(MAX_CSV_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| fail(format!("无法读取：{e}")))?;
            if bytes.len() as u64 > MAX_CSV_BYTES {
                return Err(fail(format!(
                    "文件超过 {} MB 的上限，不是可用的名册",
                    MAX_CSV_BYTES >> 20
                )));
            }
            read_csv(&bytes).map_err(fail)
        }
        "xlsx" => read_xlsx(path).map_err(fail),
        "" => Err(fail("没有扩展名：应为 .xlsx 或 .csv".into())),
        _ => Err(fail(format!("不支持的文件类型 .{ext}：应为 .xlsx 或 .csv"))),
    }
}

/// Reads and checks a roster held in memory as CSV bytes (UTF-8 with or without BOM, else
/// GB18030); for callers that receive the file over the network. More than
/// [`MAX_CSV_BYTES`] is refused.
pub fn read_roster_csv_bytes(bytes: &[u8]) -> Result<Roster, String> {
    if bytes.len() as u64 > MAX_CSV_BYTES {
        return Err(format!(
            "文件超过 {} MB 的上限，不是可用的名册",
            MAX_CSV_BYTES >> 20
        ));
    }
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
        if row > MAX_ROWS {
            return Err(too_many_rows());
        }
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

fn too_many_rows() -> String {
    format!("超过 Excel 的最大行数 {MAX_ROWS}，不是可用的名册")
}

/// Reads the first sheet as a stream of cells, one row at a time, after [`check_xlsx_sizes`]
/// bounded what calamine will decompress. Memory: the shared strings, the current row and
/// the checker's per-row state, never the whole sheet.
fn read_xlsx(path: &Path) -> Result<Roster, String> {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    check_xlsx_sizes(path)?;
    let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| format!("不是有效的 xlsx 文件：{e}"))?;
    let first = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or("工作簿中没有工作表")?;
    let mut cells = wb
        .worksheet_cells_reader(&first)
        .map_err(|e| format!("第一个工作表无法读取：{e}"))?;
    // The size the sheet declares refuses a too-large sheet at once; the cells are still
    // counted as they come, a declaration may be missing or false.
    if cells.dimensions().end.0 as usize >= MAX_ROWS {
        return Err(too_many_rows());
    }
    let mut checker: Option<Checker> = None;
    // The current row (spreadsheet row number, header = 1) and its cells by column from A.
    let mut row_no = 0usize;
    let mut row: Vec<Data> = Vec::new();
    let flush = |row_no: usize, row: &mut Vec<Data>, checker: &mut Option<Checker>| {
        if row.iter().all(|c| data_cell(c).is_blank()) {
            row.clear();
            return Ok(());
        }
        let cell = |col: usize| row.get(col).map_or(EMPTY, data_cell);
        match checker {
            None => *checker = Some(Checker::new((0..row.len()).map(cell))?),
            Some(c) => c.row(row_no, cell),
        }
        row.clear();
        Ok::<(), String>(())
    };
    loop {
        let next = cells
            .next_cell()
            .map_err(|e| format!("第一个工作表无法读取：{e}"))?;
        let Some(c) = next else { break };
        let (r, col) = c.get_position();
        let (r, col) = (r as usize + 1, col as usize);
        if r > MAX_ROWS {
            return Err(too_many_rows());
        }
        if col >= MAX_COLUMNS {
            return Err(format!(
                "第 {r} 行的单元格超出 Excel 的最大列数 {MAX_COLUMNS}，不是可用的名册"
            ));
        }
        if r != row_no {
            flush(row_no, &mut row, &mut checker)?;
            row_no = r;
        }
        let value = Data::from(c.get_value().clone());
        if matches!(value, Data::Empty) {
            continue;
        }
        if row.len() <= col {
            row.resize(col + 1, Data::Empty);
        }
        row[col] = value;
    }
    flush(row_no, &mut row, &mut checker)?;
    Ok(checker.ok_or("第一个工作表为空：缺少表头")?.finish())
}

/// Bounds an xlsx before calamine reads it: at most [`MAX_XLSX_PARTS`] parts, each at most
/// [`MAX_XLSX_PART_BYTES`] decompressed (as declared and as really decompressed: every part
/// is read through once, counting, without keeping it), [`MAX_XLSX_BYTES`] together, and no
/// run of more than [`MAX_XML_RUN`] bytes without markup (one enormous cell or tag). A zip
/// bomb or a multi-gigabyte cell is refused in a pass of bounded memory.
fn check_xlsx_sizes(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("无法读取：{e}"))?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|e| format!("不是有效的 xlsx 文件：{e}"))?;
    if zip.len() > MAX_XLSX_PARTS {
        return Err(format!(
            "xlsx 中有 {} 个部件，超过上限 {MAX_XLSX_PARTS}，不是可用的名册",
            zip.len()
        ));
    }
    let too_big = |name: &str, n: u64| {
        format!(
            "xlsx 中的 {name} 解压后有 {n} 字节以上，超过上限 {MAX_XLSX_PART_BYTES} 字节，不是可用的名册"
        )
    };
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| format!("不是有效的 xlsx 文件：{e}"))?;
        let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        let declared = part.size();
        if declared > MAX_XLSX_PART_BYTES {
            return Err(too_big(&name, declared));
        }
        let (mut seen, mut run) = (0u64, 0u64);
        loop {
            let n = match part.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("xlsx 中的 {name} 无法解压：{e}")),
            };
            seen += n as u64;
            if seen > MAX_XLSX_PART_BYTES {
                return Err(too_big(&name, seen));
            }
            for &b in &buf[..n] {
                if b == b'<' || b == b'>' {
                    run = 0;
                } else {
                    run += 1;
                    if run > MAX_XML_RUN {
                        return Err(format!(
                            "xlsx 中的 {name} 有超过 {MAX_XML_RUN} 字节的单元格或标记，不是可用的名册"
                        ));
                    }
                }
            }
        }
        total += seen;
        if total > MAX_XLSX_BYTES {
            return Err(format!(
                "xlsx 解压后超过 {MAX_XLSX_BYTES} 字节的上限，不是可用的名册"
            ));
        }
    }
    Ok(())
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
// Spreadsheet cells written out
// ---------------------------------------------------------------------------------------------

/// Characters that make a spreadsheet read a cell as a formula (CSV/formula injection,
/// OWASP): `=`, `+`, `-`, `@`, and tab or carriage return before them.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would take `text` for a formula (it begins with `=`, `+`, `-`, `@`,
/// tab or carriage return). Names and codes never begin so; amounts are checked as numbers.
pub fn is_formula(text: &str) -> bool {
    text.starts_with(FORMULA_STARTS)
}

/// A cell as yibao writes it into any CSV or xlsx: a value a spreadsheet would take for a
/// formula gets a leading `'` (OWASP's advice), so it shows as the text it is. Every writer
/// of spreadsheet cells calls this one function.
pub fn neutralise_cell(text: &str) -> Cow<'_, str> {
    if is_formula(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors file
// ---------------------------------------------------------------------------------------------

/// Writes the problems as CSV `行号,列,值,原因`, UTF-8 with BOM so that Excel shows the
/// Chinese correctly; the operator fixes the roster from it. Every cell passes through
/// [`neutralise_cell`]: a rejected value such as `=HYPERLINK(…)` is shown, never run.
pub fn write_errors_csv(mut w: impl Write, errors: &[RowError]) -> io::Result<()> {
    w.write_all(b"\xEF\xBB\xBF")?;
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["行号", "列", "值", "原因"])?;
    for e in errors {
        let row = e.row.to_string();
        let cells = [row.as_str(), &e.column, &e.value, &e.reason].map(neutralise_cell);
        out.write_record(cells.iter().map(|c| c.as_bytes()))?;
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
