//! `yibao audit indicators --format xlsx`: 机构指标 (one row an institution, with its rank on
//! each indicator) and 按月趋势 (one row an institution-month). Text cells go through
//! `yibao_roster::neutralise_cell`, so a name such as `=HYPERLINK(…)` is shown, never run.

use anyhow::{Context, Result};
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use yibao_core::audit::eval::ratio_text;
use yibao_core::audit::indicators::InstitutionIndicators;
use yibao_core::money::format_fen;
use yibao_core::RefData;
use yibao_roster::neutralise_cell;

/// The indicators ranked: larger first (the institution an auditor looks at first), those
/// without a value last; rank 1-based, ties share a rank.
fn ranks(
    list: &[InstitutionIndicators],
    value: impl Fn(&InstitutionIndicators) -> Option<i64>,
) -> Vec<Option<usize>> {
    list.iter()
        .map(|i| {
            let v = value(i)?;
            Some(
                1 + list
                    .iter()
                    .filter(|o| value(o).is_some_and(|w| w > v))
                    .count(),
            )
        })
        .collect()
}

fn text(ws: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<()> {
    ws.write_string(row, col, neutralise_cell(s).as_ref())?;
    Ok(())
}

fn header(ws: &mut Worksheet, cols: &[&str], head: &Format) -> Result<()> {
    for (c, name) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, head)?;
    }
    Ok(())
}

const COLUMNS: [&str; 11] = [
    "机构编码",
    "机构名称",
    "等级",
    "住院人次",
    "门诊人次",
    "医疗费总额（元）",
    "次均住院费用（元）",
    "药占比",
    "自费（丙类）占比",
    "每百门诊人次住院数",
    "再入院率",
];

/// Writes the indicator columns of `i` on `row`.
fn indicator_row(
    ws: &mut Worksheet,
    refdata: &RefData,
    row: u32,
    i: &InstitutionIndicators,
    first: u16,
) -> Result<()> {
    let inst = &refdata.institutions()[i.institution as usize];
    let ratio = |v: Option<i64>| v.map(|p| ratio_text(Some(p))).unwrap_or_default();
    let cells = [
        inst.code.clone(),
        inst.name.clone(),
        inst.level.code().to_string(),
        i.admissions.to_string(),
        i.outpatient_visits.to_string(),
        format_fen(i.total),
        i.cost_per_admission().map(format_fen).unwrap_or_default(),
        ratio(i.drug_share_ppm()),
        ratio(i.selfpay_share_ppm()),
        ratio(i.admissions_per_100_outpatient_ppm()),
        ratio(i.readmission_rate_ppm()),
    ];
    for (c, v) in cells.iter().enumerate() {
        text(ws, row, first + c as u16, v)?;
    }
    Ok(())
}

/// The workbook of `list` (the year) and `months` (month by month).
pub fn workbook(
    refdata: &RefData,
    list: &[InstitutionIndicators],
    months: &[((u16, u32), Vec<InstitutionIndicators>)],
) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let head = Format::new().set_bold().set_background_color("#DDEBF7");
    {
        let ws = wb.add_worksheet().set_name("机构指标")?;
        let mut cols = COLUMNS.to_vec();
        cols.extend([
            "次均住院费用排名",
            "药占比排名",
            "自费占比排名",
            "再入院率排名",
        ]);
        header(ws, &cols, &head)?;
        let rank_cols = [
            ranks(list, InstitutionIndicators::cost_per_admission),
            ranks(list, InstitutionIndicators::drug_share_ppm),
            ranks(list, InstitutionIndicators::selfpay_share_ppm),
            ranks(list, InstitutionIndicators::readmission_rate_ppm),
        ];
        for (n, i) in list.iter().enumerate() {
            let row = n as u32 + 1;
            indicator_row(ws, refdata, row, i, 0)?;
            for (k, r) in rank_cols.iter().enumerate() {
                if let Some(r) = r[n] {
                    ws.write_number(row, (COLUMNS.len() + k) as u16, r as f64)?;
                }
            }
        }
        ws.autofit();
    }
    {
        let ws = wb.add_worksheet().set_name("按月趋势")?;
        let mut cols = vec!["月份"];
        cols.extend(COLUMNS);
        header(ws, &cols, &head)?;
        let mut row = 1;
        for ((year, month), list) in months {
            for i in list {
                text(ws, row, 0, &format!("{year}-{month:02}"))?;
                indicator_row(ws, refdata, row, i, 1)?;
                row += 1;
            }
        }
        ws.autofit();
    }
    wb.save_to_buffer().context("无法生成 xlsx")
}
