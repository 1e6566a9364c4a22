//! Roster files: xlsx (text, number and date cells), CSV in UTF-8, UTF-8 with BOM and
//! GB18030, and a roster with a bad row of every kind.

use std::path::PathBuf;
use yibao_roster::{read_roster, write_errors_csv, RowError};

const HEADER: &str =
    "证件号码,姓名,性别,出生日期,户号,与户主关系,人员类别,参保年度,个人缴费,财政补助";

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yibao-roster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn good_csv() -> String {
    [
        HEADER,
        "11010519491231002X,李四,女,1949-12-31,H1,本人,,2024,380,670",
        "110105194912310011,王五,男,1949/12/31,H1,配偶,,2024,380.00,670.00",
        "110105201005050044,钱七,女,2010-05-05,H1,子女,低保,2024,0,670",
        "110105198001010032,赵六,男,1980-01-01,H2,户主,特困;建档立卡,2024,0,670",
        ",,,,,,,,,",
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
    for path in [utf8, bom, gb] {
        let r = read_roster(&path).unwrap();
        assert!(r.errors.is_empty(), "{path:?}: {:?}", r.errors);
        assert_eq!(r.rows_read, 4, "the empty row is skipped");
        assert_eq!(r.rows[0].name, "李四");
        assert_eq!(r.rows[0].row, 2);
        assert_eq!(r.rows[1].personal_fen, 38_000);
        assert_eq!(r.rows[1].relation, "10");
        assert_eq!(r.rows[2].categories, vec!["db"]);
        assert_eq!(r.rows[3].categories, vec!["tk", "pk"]);
        assert_eq!(r.rows[3].relation, "01");
        assert_eq!(r.rows[3].gend, "1");
    }
}

#[test]
fn xlsx_with_text_number_and_date_cells() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let path = temp("r.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    // Row 2: numbers as numbers, the birth date as a real date cell.
    ws.write_string(1, 0, "11010519491231002X").unwrap();
    ws.write_string(1, 1, "李四").unwrap();
    ws.write_string(1, 2, "女").unwrap();
    ws.write_datetime_with_format(
        1,
        3,
        ExcelDateTime::from_ymd(1949, 12, 31).unwrap(),
        &date_fmt,
    )
    .unwrap();
    ws.write_string(1, 4, "H1").unwrap();
    ws.write_string(1, 5, "户主").unwrap();
    ws.write_number(1, 7, 2024).unwrap();
    ws.write_number(1, 8, 380.5).unwrap();
    ws.write_number(1, 9, 670).unwrap();
    // Row 3: the ID typed as a number loses digits: refused with a clear reason.
    ws.write_number(2, 0, 110105194912310011.0).unwrap();
    ws.write_string(2, 1, "王五").unwrap();
    ws.write_string(2, 2, "男").unwrap();
    ws.write_string(2, 3, "1949-12-31").unwrap();
    ws.write_string(2, 4, "H1").unwrap();
    ws.write_string(2, 5, "配偶").unwrap();
    ws.write_string(2, 7, "2024").unwrap();
    ws.write_number(2, 8, 380.123).unwrap();
    ws.write_string(2, 9, "670").unwrap();
    wb.save(&path).unwrap();

    let r = read_roster(&path).unwrap();
    assert_eq!(r.rows_read, 2);
    assert_eq!(r.rows.len(), 1, "{:?}", r.errors);
    let row = &r.rows[0];
    assert_eq!(row.brdy.to_string(), "1949-12-31");
    assert_eq!(
        (row.year, row.personal_fen, row.subsidy_fen),
        (2024, 38_050, 67_000)
    );
    let cols: Vec<(usize, &str)> = r
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str()))
        .collect();
    assert!(cols.contains(&(3, "证件号码")), "{:?}", r.errors);
    assert!(cols.contains(&(3, "个人缴费")), "{:?}", r.errors);
}

#[test]
fn every_kind_of_bad_row_is_named() {
    let rows = [
        HEADER,
        /* 2 */ "11010519491231002X,李四,女,1949-12-31,H1,本人,,2024,380,670",
        /* 3 */ "11010519491231002,短号,女,1949-12-31,H1,子女,,2024,380,670",
        /* 4 */ "110105194912310021,校验,女,1949-12-31,H1,子女,,2024,380,670",
        /* 5 */ "110105194913310021,日期,女,1949-12-31,H1,子女,,2024,380,670",
        /* 6 */ "110105194912310011,性别,女,1949-12-31,H1,子女,,2024,380,670",
        /* 7 */ "110105198001010032,生日,男,1980-01-02,H1,子女,,2024,380,670",
        /* 8 */ "110105201005050044,,女,2010-05-05,H1,子女,,2024,380,670",
        /* 9 */ "110105198001010059,关系,男,1980-01-01,H1,朋友,,2024,380,670",
        /* 10 */ "110105195001010012,类别,男,1950-01-01,H1,父母,xx;pk,2024,380,670",
        /* 11 */ "110105195101010036,金额,男,1951-01-01,H1,兄弟姐妹,,2024,-1,6.701",
        /* 12 */ "110105195201010017,年度,男,1952-01-01,H1,其他,,24,380,670",
        /* 13 */ "11010519491231002X,重复,女,1949-12-31,H1,其他,,2024,380,670",
        /* 14 */ "110105195301010014,户号,男,1953-01-01,H-9,其他,,2024,380,670",
        /* 15 */ "110105195401010011,无户主,男,1954-01-01,H7,子女,,2024,380,670",
        /* 16 */ "110105195501010019,两户主,男,1955-01-01,H1,户主,,2024,380,670",
        /* 17 */ "110105195601010016,性别值,未知,1956-01-01,H1,其他,,2024,380,670",
        /* 18 */ "110105195701010013,日期值,男,1957-13-01,H1,其他,,2024,380,670",
    ];
    let path = temp("bad.csv");
    std::fs::write(&path, rows.join("\r\n")).unwrap();
    let r = read_roster(&path).unwrap();
    let has = |row: usize, col: &str, needle: &str| {
        r.errors
            .iter()
            .any(|e| e.row == row && e.column == col && e.to_string().contains(needle))
    };
    let expect = [
        (3, "证件号码", "18 位"),
        (4, "证件号码", "校验位"),
        (5, "证件号码", "出生日期"),
        (6, "性别", "性别位"),
        (7, "出生日期", "不一致"),
        (8, "姓名", "必填"),
        (9, "与户主关系", "朋友"),
        (10, "人员类别", "xx"),
        (11, "个人缴费", "负数"),
        (11, "财政补助", "6.701"),
        (12, "参保年度", "四位年份"),
        (13, "证件号码", "第 2 行"),
        (14, "户号", "字母或数字"),
        (15, "户号", "没有「本人/户主」"),
        (16, "与户主关系", "已在第 2 行有户主"),
        (17, "性别", "男 或 女"),
        (18, "出生日期", "有效日期"),
    ];
    for (row, col, needle) in expect {
        assert!(
            has(row, col, needle),
            "row {row} {col} {needle}: {:#?}",
            r.errors
        );
    }
    assert_eq!(r.rows.iter().map(|r| r.row).collect::<Vec<_>>(), vec![2]);
    assert_eq!(r.rows_read, 17);
    // The errors file: BOM, header, one line per problem.
    let mut out = Vec::new();
    write_errors_csv(&mut out, &r.errors).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("\u{feff}行号,列,值,原因\n"));
    assert_eq!(text.lines().count(), r.errors.len() + 1);
}

#[test]
fn unusable_files_are_refused_whole() {
    let p = temp("x.txt");
    std::fs::write(&p, "x").unwrap();
    assert!(read_roster(&p)
        .unwrap_err()
        .to_string()
        .contains(".xlsx 或 .csv"));
    let p = temp("nohead.csv");
    std::fs::write(&p, "证件号码,姓名\n1,2").unwrap();
    let e = read_roster(&p).unwrap_err().to_string();
    assert!(e.contains("表头缺少列") && e.contains("户号"), "{e}");
    let p = temp("empty.csv");
    std::fs::write(&p, "").unwrap();
    assert!(read_roster(&p).unwrap_err().to_string().contains("为空"));
    let p = temp("junk.csv");
    std::fs::write(&p, [0xffu8, 0xfe, 0x00, 0x81, 0x30]).unwrap();
    assert!(read_roster(&p).is_err());
    let p = temp("junk.xlsx");
    std::fs::write(&p, b"not a zip").unwrap();
    assert!(read_roster(&p).unwrap_err().to_string().contains("xlsx"));
    let _ = RowError {
        row: 1,
        column: String::new(),
        value: String::new(),
        reason: String::new(),
    };
}
