//! Roster files: xlsx (text, number and date cells), CSV in UTF-8, UTF-8 with BOM and
//! GB18030, and a roster with a bad row of every kind, each problem at its exact row and
//! column.

use std::path::PathBuf;
use yibao_roster::{read_roster, write_errors_csv, Roster, RowError};

const HEADER: &str =
    "证件号码,姓名,性别,出生日期,户号,与户主关系,人员类别,参保年度,个人缴费,财政补助";

/// A unique path in the temp directory.
fn temp(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "yibao-roster-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A GB 11643 resident ID: region 110105, birth `yyyymmdd`, sequence (odd = male).
fn id(birth: &str, seq: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("110105{birth}{seq:03}");
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

fn write_csv(name: &str, rows: &[String]) -> PathBuf {
    let path = temp(name);
    std::fs::write(&path, rows.join("\r\n")).unwrap();
    path
}

/// (row, column) of every problem, in order.
fn places(r: &Roster) -> Vec<(usize, &str)> {
    r.errors
        .iter()
        .map(|e| (e.row, e.column.as_str()))
        .collect()
}

fn good_csv() -> String {
    [
        HEADER.to_string(),
        format!(
            "{},李四,女,1949-12-31,H1,本人,,2024,380,670",
            id("19491231", 2)
        ),
        format!(
            "{},王五,男,1949/12/31,H1,配偶,,2024,380.00,670.00",
            id("19491231", 1)
        ),
        format!(
            "{},钱七,女,2010-05-04,H1,子女,低保,2024,0,670",
            id("20100504", 4)
        ),
        format!(
            "{},赵六,男,1980-1-1,H2,户主,特困;建档立卡,2024,0,670",
            id("19800101", 3)
        ),
        ",,,,,,,,,".to_string(),
    ]
    .join("\n")
}

#[test]
fn csv_in_every_encoding() {
    let text = good_csv();
    let utf8 = temp("u.csv");
    std::fs::write(&utf8, &text).unwrap();
    let bom = temp("b.csv");
    std::fs::write(&bom, [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat()).unwrap();
    let gb = temp("g.csv");
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    assert!(std::str::from_utf8(&bytes).is_err(), "really GB18030");
    std::fs::write(&gb, &bytes).unwrap();
    let in_memory = yibao_roster::read_roster_csv_bytes(&bytes).unwrap();
    assert_eq!((in_memory.rows.len(), in_memory.errors.len()), (4, 0));
    let upper = temp("U.CSV");
    std::fs::write(&upper, &text).unwrap();
    for path in [utf8, bom, gb, upper] {
        let r = read_roster(&path).unwrap();
        assert!(r.errors.is_empty(), "{path:?}: {:?}", r.errors);
        assert_eq!(r.rows_read, 4, "the empty row is skipped");
        assert_eq!(r.rows.len(), 4);
        let first = &r.rows[0];
        assert_eq!(
            (first.row, first.name.as_str(), first.gend.as_str()),
            (2, "李四", "2")
        );
        assert_eq!(first.brdy.to_string(), "1949-12-31");
        assert_eq!(
            (first.relation.as_str(), first.relation_name),
            ("01", "本人/户主")
        );
        assert_eq!(
            (first.year, first.personal_fen, first.subsidy_fen),
            (2024, 38_000, 67_000)
        );
        assert_eq!(r.rows[1].personal_fen, 38_000);
        assert_eq!(r.rows[1].brdy.to_string(), "1949-12-31", "YYYY/MM/DD");
        assert_eq!(r.rows[1].relation, "10");
        assert_eq!(r.rows[2].categories, vec!["db"]);
        assert_eq!(r.rows[3].categories, vec!["tk", "pk"]);
        assert_eq!(
            r.rows[3].brdy.to_string(),
            "1980-01-01",
            "one-digit month and day"
        );
        assert_eq!(
            (r.rows[3].relation.as_str(), r.rows[3].gend.as_str()),
            ("01", "1")
        );
    }
}

#[test]
fn columns_in_any_order_extra_columns_and_marked_headers() {
    let rows = vec![
        "序号,*姓名,财政补助,个人缴费,参保年度,人员类别,与户主关系,户号,出生日期,性别,证件号码,备注"
            .to_string(),
        format!(
            "1, 李四 ,670,380,2024,,01,H1,1949-12-31,2,{},x",
            id("19491231", 2).to_lowercase()
        ),
    ];
    let r = read_roster(&write_csv("order.csv", &rows)).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.rows[0].name, "李四", "cells are trimmed");
    assert_eq!(r.rows[0].gend, "2");
    assert_eq!(r.rows[0].relation_name, "本人/户主");
}

#[test]
fn lower_case_x_is_normalised() {
    let x = (0..1000)
        .map(|s| id("19700101", s))
        .find(|i| i.ends_with('X'))
        .unwrap();
    let sex = if x.as_bytes()[16] % 2 == 1 {
        "男"
    } else {
        "女"
    };
    let rows = vec![
        HEADER.to_string(),
        format!(
            "{},甲,{sex},1970-01-01,H1,本人,,2024,380,670",
            x.to_lowercase()
        ),
        format!("{x},乙,{sex},1970-01-01,H2,本人,,2024,380,670"),
    ];
    let r = read_roster(&write_csv("x.csv", &rows)).unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].certno, x);
    assert_eq!(places(&r), vec![(3, "证件号码")], "{:?}", r.errors);
    assert!(r.errors[0].reason.contains("第 2 行"));
}

#[test]
fn every_kind_of_bad_row_is_named() {
    let head = id("19800101", 1);
    let long_name = "名".repeat(51);
    let long_hh = "H".repeat(31);
    let rows: Vec<String> = vec![
        HEADER.into(),
        /* 2 */ format!("{head},户主甲,男,1980-01-01,H1,本人,,2024,380,670"),
        /* 3 */
        format!(
            "{},配偶,女,1982-02-02,H1,10,,2024,380,670",
            id("19820202", 2)
        ),
        /* 4 */ ",空号,女,1990-01-01,H1,子女,,2024,380,670".into(),
        /* 5 */ "11010519900101002,短号,女,1990-01-01,H1,子女,,2024,380,670".into(),
        /* 6 */ "1101051990010100A2,字母,女,1990-01-01,H1,子女,,2024,380,670".into(),
        /* 7 */
        format!(
            "{},校验,女,1990-01-01,H1,子女,,2024,380,670",
            bad_check(&id("19900101", 4))
        ),
        /* 8 */
        format!(
            "{},日期,女,1990-01-01,H1,子女,,2024,380,670",
            id("19901301", 4)
        ),
        /* 9 */
        format!(
            "{},性别,女,1990-01-01,H1,子女,,2024,380,670",
            id("19900101", 5)
        ),
        /* 10 */
        format!(
            "{},生日,女,1990-01-02,H1,子女,,2024,380,670",
            id("19900101", 6)
        ),
        /* 11 */
        format!(
            "{},未来,女,2025-03-01,H1,子女,,2024,380,670",
            id("20250301", 2)
        ),
        /* 12 */ format!("{},,女,1990-01-01,H1,子女,,2024,380,670", id("19900101", 8)),
        /* 13 */
        format!(
            "{},{long_name},女,1990-01-01,H1,子女,,2024,380,670",
            id("19900101", 10)
        ),
        /* 14 */
        format!(
            "{},性别值,未知,1990-01-01,H1,子女,,2024,380,670",
            id("19900101", 12)
        ),
        /* 15 */
        format!(
            "{},日期值,女,1990-02-30,H1,子女,,2024,380,670",
            id("19900101", 14)
        ),
        /* 16 */
        format!(
            "{},无户号,女,1990-01-01,,子女,,2024,380,670",
            id("19900101", 16)
        ),
        /* 17 */
        format!(
            "{},户号符,女,1990-01-01,H-1,子女,,2024,380,670",
            id("19900101", 18)
        ),
        /* 18 */
        format!(
            "{},户号长,女,1990-01-01,{long_hh},子女,,2024,380,670",
            id("19900101", 20)
        ),
        /* 19 */
        format!(
            "{},关系,女,1990-01-01,H1,朋友,,2024,380,670",
            id("19900101", 22)
        ),
        /* 20 */
        format!(
            "{},无关系,女,1990-01-01,H1,,,2024,380,670",
            id("19900101", 24)
        ),
        /* 21 */
        format!(
            "{},类别,女,1990-01-01,H1,子女,xx,2024,380,670",
            id("19900101", 26)
        ),
        /* 22 */
        format!(
            "{},类别重,女,1990-01-01,H1,子女,pk;建档立卡,2024,380,670",
            id("19900101", 28)
        ),
        /* 23 */
        format!(
            "{},年度,女,1990-01-01,H1,子女,,1999,380,670",
            id("19900101", 30)
        ),
        /* 24 */
        format!(
            "{},无年度,女,1990-01-01,H1,子女,,,380,670",
            id("19900101", 32)
        ),
        /* 25 */
        format!(
            "{},负数,女,1990-01-01,H1,子女,,2024,-1,670",
            id("19900101", 34)
        ),
        /* 26 */
        format!(
            "{},小数,女,1990-01-01,H1,子女,,2024,1.234,abc",
            id("19900101", 36)
        ),
        /* 27 */
        format!(
            "{},无金额,女,1990-01-01,H1,子女,,2024,,670",
            id("19900101", 38)
        ),
        /* 28 */ format!("{head},重复,男,1980-01-01,H1,子女,,2024,380,670"),
        /* 29 */ format!("{head},再重复,男,1980-01-01,H9,本人,,2024,380,670"),
        /* 30 */
        format!(
            "{},无户主甲,女,1990-01-01,H2,子女,,2024,380,670",
            id("19900101", 40)
        ),
        /* 31 */
        format!(
            "{},无户主乙,女,1990-01-01,H2,配偶,,2024,380,670",
            id("19900101", 42)
        ),
        /* 32 */
        format!(
            "{},两户主,女,1990-01-01,H1,户主,,2024,380,670",
            id("19900101", 44)
        ),
        /* 33 */
        format!(
            "{},坏户主,女,1990-01-01,H3,本人,,2024,-380,670",
            id("19900101", 46)
        ),
        /* 34 */
        format!(
            "{},好成员,女,1990-01-01,H3,子女,,2024,380,670",
            id("19900101", 48)
        ),
        /* 35 */
        format!(
            "{},多错,x,1990-01-01,H1,朋友,,abc,-5,670",
            id("19900101", 50)
        ),
        /* 36 */
        format!(
            "{},次年,女,1990-01-01,H1,子女,,2025,380,670",
            id("19900101", 52)
        ),
        /* 37 */
        format!(
            "{},全角,女,1990-01-01,H1,20,低保；特困,2024,0,670",
            id("19900101", 54)
        ),
    ];
    let path = write_csv("bad.csv", &rows);
    let r = read_roster(&path).unwrap();
    let expect = [
        (4, "证件号码", "必填项为空"),
        (5, "证件号码", "18 位"),
        (6, "证件号码", "前 17 位应为数字"),
        (7, "证件号码", "校验位"),
        (8, "证件号码", "出生日期"),
        (9, "性别", "性别位"),
        (10, "出生日期", "不一致"),
        (11, "出生日期", "晚于参保年度 2024"),
        (12, "姓名", "必填项为空"),
        (13, "姓名", "超过 50"),
        (14, "性别", "男 或 女"),
        (15, "出生日期", "有效日期"),
        (16, "户号", "必填项为空"),
        (17, "户号", "字母或数字"),
        (18, "户号", "字母或数字"),
        (19, "与户主关系", "应为"),
        (20, "与户主关系", "必填项为空"),
        (21, "人员类别", "「xx」无效"),
        (22, "人员类别", "重复"),
        (23, "参保年度", "四位年份"),
        (24, "参保年度", "必填项为空"),
        (25, "个人缴费", "负数"),
        (26, "个人缴费", "小数位数过多"),
        (26, "财政补助", "不是有效金额"),
        (27, "个人缴费", "必填项为空"),
        (28, "证件号码", "与第 2 行重复"),
        (29, "证件号码", "与第 2 行重复"),
        (30, "户号", "H2 在 2024 年度没有「本人/户主」"),
        (31, "户号", "H2 在 2024 年度没有「本人/户主」"),
        (32, "与户主关系", "已在第 2 行有户主"),
        (33, "个人缴费", "负数"),
        (34, "户号", "户主（第 33 行）有错误"),
        (35, "性别", "男 或 女"),
        (35, "与户主关系", "应为"),
        (35, "参保年度", "四位年份"),
        (35, "个人缴费", "负数"),
        (36, "户号", "H1 在 2025 年度没有「本人/户主」"),
    ];
    let got: Vec<(usize, &str, &str)> = r
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        got.iter().map(|g| (g.0, g.1)).collect::<Vec<_>>(),
        expect.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>(),
        "{got:#?}"
    );
    for ((row, col, reason), (_, _, needle)) in got.iter().zip(expect) {
        assert!(
            reason.contains(needle),
            "row {row} {col}: {reason:?} lacks {needle:?}"
        );
    }
    // Valid rows pass, and only they.
    let valid: Vec<usize> = r.rows.iter().map(|r| r.row).collect();
    assert_eq!(valid, vec![2, 3, 37]);
    assert_eq!(r.rows[2].categories, vec!["db", "tk"]);
    assert_eq!(
        (r.rows[2].relation.as_str(), r.rows[2].relation_name),
        ("20", "子女")
    );
    assert_eq!(r.rows_read, 36);
    // Messages name row, column and value.
    let dup = r.errors.iter().find(|e| e.row == 28).unwrap();
    assert_eq!(
        dup.to_string(),
        format!("第 28 行「证件号码」值 \"{head}\"：证件号码与第 2 行重复")
    );
    let long = r.errors.iter().find(|e| e.row == 13).unwrap();
    assert_eq!(long.value, long_name, "the value is kept in full");
    assert!(long
        .to_string()
        .contains(&format!("\"{}…\"", "名".repeat(40))));

    // The errors file: BOM, header, one record per problem.
    let mut out = Vec::new();
    write_errors_csv(&mut out, &r.errors).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("\u{feff}行号,列,值,原因\n"));
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let back: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(back.len(), r.errors.len());
    assert_eq!(&back[0][0], "4");
    assert_eq!(&back[0][1], "证件号码");
}

/// The ID with a wrong check character.
fn bad_check(good: &str) -> String {
    let last = if good.ends_with('1') { '2' } else { '1' };
    format!("{}{last}", &good[..17])
}

#[test]
fn row_numbers_follow_the_spreadsheet() {
    // An empty line is a row in a spreadsheet; a quoted line break is not a new row.
    let text = format!(
        "{HEADER}\n\n{},\"李\n四\",女,1949-12-31,H1,本人,,2024,380,670\n{},王五,男,1949-12-31,H1,配偶,,2024,x,670\n",
        id("19491231", 2),
        id("19491231", 1)
    );
    let path = temp("lines.csv");
    std::fs::write(&path, text).unwrap();
    let r = read_roster(&path).unwrap();
    assert_eq!(
        places(&r),
        vec![(3, "姓名"), (4, "个人缴费")],
        "{:?}",
        r.errors
    );
    assert!(r.errors[0].reason.contains("控制字符"));
    // Old Mac line ends, and no line end after the last row.
    let text = format!(
        "{HEADER}\r{},李四,女,1949-12-31,H1,本人,,2024,y,670\r{},王五,男,1949-12-31,H1,配偶,,2024,x,670",
        id("19491231", 2),
        id("19491231", 1)
    );
    std::fs::write(&path, text).unwrap();
    let r = read_roster(&path).unwrap();
    assert_eq!(
        places(&r),
        vec![(2, "个人缴费"), (3, "个人缴费")],
        "{:?}",
        r.errors
    );
}

#[test]
fn xlsx_with_text_number_and_date_cells() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let path = temp("r.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    // The sheet starts at column B, row 2 (a title row above is empty).
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(1, c as u16 + 1, h).unwrap();
    }
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    // Row 3: numbers as numbers, the birth date as a real date cell, relation typed 1.
    ws.write_string(2, 1, id("19491231", 2)).unwrap();
    ws.write_string(2, 2, "李四").unwrap();
    ws.write_string(2, 3, "女").unwrap();
    ws.write_datetime_with_format(
        2,
        4,
        ExcelDateTime::from_ymd(1949, 12, 31).unwrap(),
        &date_fmt,
    )
    .unwrap();
    ws.write_number(2, 5, 1001).unwrap();
    ws.write_number(2, 6, 1).unwrap();
    ws.write_number(2, 8, 2024).unwrap();
    ws.write_number(2, 9, 380.5).unwrap();
    ws.write_number(2, 10, 670).unwrap();
    // Row 4: the ID typed as a number loses digits; an amount with three decimals.
    ws.write_number(3, 1, 110105194912310011.0).unwrap();
    ws.write_string(3, 2, "王五").unwrap();
    ws.write_number(3, 3, 1).unwrap();
    ws.write_string(3, 4, "1949/12/31").unwrap();
    ws.write_string(3, 5, "1001").unwrap();
    ws.write_string(3, 6, "配偶").unwrap();
    ws.write_string(3, 8, "2024").unwrap();
    ws.write_number(3, 9, 380.123).unwrap();
    ws.write_string(3, 10, "670").unwrap();
    // Row 5: a valid spouse with a formula-like float amount (0.1 + 0.2 is not 0.30).
    ws.write_string(4, 1, id("19491231", 1)).unwrap();
    ws.write_string(4, 2, "赵六").unwrap();
    ws.write_string(4, 3, "男").unwrap();
    ws.write_datetime_with_format(
        4,
        4,
        ExcelDateTime::from_ymd(1949, 12, 31).unwrap(),
        &date_fmt,
    )
    .unwrap();
    ws.write_number(4, 5, 1001).unwrap();
    ws.write_string(4, 6, "10").unwrap();
    ws.write_string(4, 7, "db").unwrap();
    ws.write_number(4, 8, 2024).unwrap();
    ws.write_number(4, 9, 0.1 + 0.2).unwrap();
    ws.write_number(4, 10, 670.0).unwrap();
    wb.save(&path).unwrap();

    let r = read_roster(&path).unwrap();
    assert_eq!(r.rows_read, 3);
    assert_eq!(r.rows.len(), 1, "{:?}", r.errors);
    let row = &r.rows[0];
    assert_eq!(row.row, 3);
    assert_eq!(row.brdy.to_string(), "1949-12-31");
    assert_eq!(
        (row.household.as_str(), row.relation.as_str()),
        ("1001", "01")
    );
    assert_eq!(
        (row.year, row.personal_fen, row.subsidy_fen),
        (2024, 38_050, 67_000)
    );
    assert_eq!(
        places(&r),
        vec![(4, "证件号码"), (4, "个人缴费"), (5, "个人缴费")],
        "{:?}",
        r.errors
    );
    assert!(r.errors[0].reason.contains("文本格式"));
    assert_eq!(r.errors[1].value, "380.123");
    assert_eq!(r.errors[2].value, "0.30000000000000004");
}

#[test]
fn unusable_files_are_refused_whole() {
    let refused = |name: &str, bytes: &[u8]| {
        let p = temp(name);
        std::fs::write(&p, bytes).unwrap();
        let e = read_roster(&p).unwrap_err().to_string();
        assert!(e.contains(name), "names the file: {e}");
        e
    };
    assert!(refused("x.txt", b"x").contains(".xlsx 或 .csv"));
    assert!(refused("noext", b"x").contains(".xlsx 或 .csv"));
    let e = refused("nohead.csv", "证件号码,姓名\n1,2".as_bytes());
    assert!(
        e.contains("表头缺少列") && e.contains("户号") && e.contains("财政补助"),
        "{e}"
    );
    let e = refused("twice.csv", format!("{HEADER},姓名\n").as_bytes());
    assert!(e.contains("列重复") && e.contains("姓名"), "{e}");
    assert!(refused("empty.csv", b"").contains("为空"));
    assert!(refused("blank.csv", b",,,\n\n  ,\n").contains("为空"));
    assert!(refused("junk.csv", &[0xff, 0xfe, 0x00, 0x81, 0x30]).contains("编码"));
    assert!(refused("junk.xlsx", b"not a zip").contains("xlsx"));
    let missing = temp("missing.csv");
    assert!(read_roster(&missing)
        .unwrap_err()
        .to_string()
        .contains("无法读取"));
}

#[test]
fn odd_but_readable_files_never_panic() {
    // Header only.
    let r = read_roster(&write_csv("h.csv", &[HEADER.into()])).unwrap();
    assert_eq!((r.rows_read, r.rows.len(), r.errors.len()), (0, 0, 0));
    // Short rows, a huge cell, control characters and stray quotes.
    let huge = "9".repeat(1_000_000);
    let rows = vec![
        HEADER.into(),
        "1".into(),
        format!("{huge},{huge},{huge},{huge},{huge},{huge},{huge},{huge},{huge},{huge}"),
        "\u{0},\"a\"\"b,\u{7},,,,,,,".into(),
    ];
    let r = read_roster(&write_csv("odd.csv", &rows)).unwrap();
    assert_eq!(r.rows_read, 3);
    assert!(r.rows.is_empty());
    assert!(r.errors.iter().all(|e| (2..=4).contains(&e.row)));
    assert!(r
        .errors
        .iter()
        .any(|e| e.row == 3 && e.column == "出生日期"));
    let shown = r.errors.iter().find(|e| e.row == 3).unwrap().to_string();
    assert!(shown.chars().count() < 200, "{shown}");
    // Pseudo-random bytes after a valid header.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..50 {
        let mut bytes = format!("{HEADER}\n").into_bytes();
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            const PIECES: [&str; 20] = [
                ",", "\n", "\"", "0", "1", "2", "9", "X", "x", "-", "/", ".", ";", "；", "男",
                "女", "本人", "H", "\r", "2024",
            ];
            bytes.extend_from_slice(PIECES[(seed % 20) as usize].as_bytes());
            if round % 2 == 1 {
                bytes.push(seed as u8);
            }
        }
        let p = temp("rand.csv");
        std::fs::write(&p, &bytes).unwrap();
        let _ = read_roster(&p);
    }
}

#[test]
fn row_errors_display_in_chinese() {
    let e = RowError {
        row: 7,
        column: "性别".into(),
        value: "未知".into(),
        reason: "应为 男 或 女".into(),
    };
    assert_eq!(e.to_string(), "第 7 行「性别」值 \"未知\"：应为 男 或 女");
    let whole = RowError {
        row: 8,
        column: String::new(),
        value: String::new(),
        reason: "整行无效".into(),
    };
    assert_eq!(whole.to_string(), "第 8 行：整行无效");
}

#[test]
fn formulas_are_refused_as_names_and_never_written_live() {
    let formulas = [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "=HYPERLINK(\"http://x\",\"点我\")",
    ];
    let mut rows = vec![HEADER.to_string()];
    for (i, f) in formulas.iter().enumerate() {
        let quoted = format!("\"{}\"", f.replace('"', "\"\""));
        rows.push(format!(
            "{},{quoted},女,1949-12-31,H{i},本人,,2024,380,670",
            id("19491231", 2 + 2 * i as u32)
        ));
    }
    // A tab before the formula is trimmed away and the rest refused all the same.
    rows.push(format!(
        "{},\"\t=1+1\",女,1949-12-31,H9,本人,,2024,380,670",
        id("19491231", 20)
    ));
    let r = read_roster(&write_csv("formula.csv", &rows)).unwrap();
    assert!(r.rows.is_empty(), "{:?}", r.rows);
    let names: Vec<&str> = r
        .errors
        .iter()
        .filter(|e| e.column == "姓名")
        .map(|e| e.value.as_str())
        .collect();
    assert_eq!(names.len(), formulas.len() + 1, "{:?}", r.errors);
    assert!(r.errors.iter().all(|e| e.reason.contains("公式")));

    // The errors file shows every such value as text: a leading ' before = + - @ tab CR.
    let mut more = r.errors.clone();
    more.push(RowError {
        row: 99,
        column: "个人缴费".into(),
        value: "-5".into(),
        reason: "金额不能为负数".into(),
    });
    let mut out = Vec::new();
    write_errors_csv(&mut out, &more).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    for rec in rdr.records().map(Result::unwrap) {
        for cell in rec.iter() {
            assert!(!yibao_roster::is_formula(cell), "{cell:?} in {rec:?}");
        }
    }
    assert!(text.contains("'=cmd|' /C calc'!A0"), "{text}");
    assert!(text.contains("'-5"), "{text}");
    assert_eq!(yibao_roster::neutralise_cell("李四"), "李四");
    assert_eq!(yibao_roster::neutralise_cell("\r=1"), "'\r=1");
}

/// An xlsx with the header and one data row whose 姓名 is `name`.
fn xlsx_with_name(file: &str, name: &str) -> PathBuf {
    let path = temp(file);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    let certno = id("19491231", 2);
    let row = [
        certno.as_str(),
        name,
        "女",
        "1949-12-31",
        "H1",
        "本人",
        "",
        "2024",
        "380",
        "670",
    ];
    for (c, v) in row.iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    wb.save(&path).unwrap();
    path
}

#[test]
fn hostile_xlsx_files_are_refused_in_bounded_memory() {
    // A cell longer than any roster value is a problem of its row; the value kept is its start.
    let r = read_roster(&xlsx_with_name("long.xlsx", &"长".repeat(2_000))).unwrap();
    assert!(r.rows.is_empty());
    let e = &r.errors[0];
    assert_eq!((e.row, e.column.as_str()), (2, "姓名"));
    assert_eq!(e.value.chars().count(), yibao_roster::MAX_CELL_CHARS);
    assert!(e.reason.contains("2000 个字符"), "{}", e.reason);

    // A cell longer than Excel allows (here 1 MB of text; a 3 GB one is refused the same way,
    // after reading 256 KiB of it) makes the file unusable before calamine reads it.
    let path = xlsx_with_name("huge.xlsx", "PLACEHOLDER");
    rewrite_part(&path, "xl/sharedStrings.xml", |xml| {
        xml.replace("PLACEHOLDER", &"a".repeat(1 << 20))
    });
    let e = read_roster(&path).unwrap_err().to_string();
    assert!(e.contains("超过 262144 字节的单元格"), "{e}");

    // A part whose declared decompressed size is enormous (a zip bomb) is refused on sight.
    let path = xlsx_with_name("bomb.xlsx", "李四");
    let mut bytes = std::fs::read(&path).unwrap();
    let name = b"xl/worksheets/sheet1.xml";
    let central = (0..bytes.len() - 46)
        .find(|&i| bytes[i..].starts_with(b"PK\x01\x02") && bytes[i + 46..].starts_with(name))
        .expect("the sheet's central directory entry");
    bytes[central + 24..central + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let e = read_roster(&path).unwrap_err().to_string();
    assert!(
        e.contains("xl/worksheets/sheet1.xml") && e.contains("超过上限"),
        "{e}"
    );
}

#[test]
fn more_rows_than_excel_holds_is_not_a_roster() {
    let row = format!(
        "{},李四,女,1949-12-31,H1,本人,,2024,380,670",
        id("19491231", 2)
    );
    // The header, then empty lines up to row 1,048,576 and a data row: still a roster.
    let mut text = format!("{HEADER}\n");
    text.push_str(&"\n".repeat(yibao_roster::MAX_ROWS - 2));
    text.push_str(&row);
    let path = temp("max.csv");
    std::fs::write(&path, &text).unwrap();
    let r = read_roster(&path).unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].row, yibao_roster::MAX_ROWS);
    // One row more is not.
    text.insert(HEADER.len(), '\n');
    std::fs::write(&path, &text).unwrap();
    let e = read_roster(&path).unwrap_err().to_string();
    assert!(e.contains("最大行数 1048576"), "{e}");
}

/// Rewrites one part of a zip (xlsx) through `edit`, keeping the others.
fn rewrite_part(path: &std::path::Path, part: &str, edit: impl Fn(String) -> String) {
    use std::io::{Read, Write};
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if name == part {
            data = edit(String::from_utf8(data).unwrap()).into_bytes();
        }
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}
