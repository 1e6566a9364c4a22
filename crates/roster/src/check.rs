//! The checks of a roster's rows: each on its own, and against the other rows of the file
//! (the same ID twice, one head per household).

use super::*;

/// A row's place in its household (户号 and 参保年度), for the one-head rule.
pub(super) struct Member {
    household: u32,
    row: usize,
    head: bool,
    /// No problem of its own (before the household rule).
    valid: bool,
}

/// The state of one pass over a file: where the columns are, what was seen.
pub(super) struct Checker {
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
    pub(super) fn new<'a>(header: impl Iterator<Item = Cell<'a>>) -> Result<Checker, String> {
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
    pub(super) fn row<'c>(&mut self, row: usize, cell: impl Fn(usize) -> Cell<'c>) {
        self.roster.rows_read += 1;
        let at = self.at;
        // A cell longer than any roster value makes the row unusable; its start is kept.
        let mut too_long = false;
        for (c, &i) in at.iter().enumerate() {
            let text = cell(i).text();
            if let Some((cut, _)) = text.char_indices().nth(MAX_CELL_CHARS) {
                self.roster.errors.push(RowError {
                    row,
                    column: COLUMNS[c].into(),
                    value: text[..cut].to_string(),
                    reason: format!(
                        "单元格有 {} 个字符，超过上限 {MAX_CELL_CHARS}，本行不能导入",
                        text.chars().count()
                    ),
                });
                too_long = true;
            }
        }
        if too_long {
            return;
        }
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
    pub(super) fn finish(mut self) -> Roster {
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
pub(super) struct Errs<'e> {
    row: usize,
    errors: &'e mut Vec<RowError>,
}

impl Errs<'_> {
    pub(super) fn push(&mut self, column: usize, value: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            column: COLUMNS[column].into(),
            value: value.into(),
            reason: reason.into(),
        });
    }

    pub(super) fn empty(&mut self, column: usize) {
        self.push(column, "", "必填项为空");
    }
}

/// What could be read of one row (each field `None` when it had a problem).
#[derive(Default)]
pub(super) struct Parsed {
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
    pub(super) fn into_row(self, row: usize) -> Option<RosterRow> {
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
pub(super) fn certno_number(certno: &str) -> Option<u64> {
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
pub(super) fn parse_date(text: &str) -> Option<Date> {
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
pub(super) fn check_row<'c>(get: &dyn Fn(usize) -> Cell<'c>, errs: &mut Errs) -> Parsed {
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
    } else if is_formula(&name) {
        errs.push(
            C_NAME,
            &name,
            "姓名不能以 = + - @ 开头（电子表格会把它当作公式执行）",
        );
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
