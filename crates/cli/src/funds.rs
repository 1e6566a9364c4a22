//! `yibao ledger check` and `yibao fund report` (`interface.md` §6): the funds' books as the
//! store keeps them, in JSON or an Excel workbook with Chinese headers.

use crate::outfile::OutFile;
use crate::register::{block_on, open, DbArg};
use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use rust_xlsxwriter::{Format, Formula, Workbook, Worksheet};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::PathBuf;
use yibao_core::format_fen;
use yibao_store::funds::{FundReport, FundStatement};

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// 核对基金账簿：每笔分录借贷相等、科目在科目表中、每笔结算与撤销都已记账、个人账户与缴费对得上
    Check {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
pub enum FundCommand {
    /// 月度拨付结算单：各定点机构本月（按就诊结束日）的人次、各支付项金额、支付方式调整与应拨付额
    Statement {
        /// 月份 YYYY-MM
        #[arg(long)]
        month: String,
        #[command(flatten)]
        a: crate::payments::AgreementArgs,
    },
    /// 总额控制年终清算：按全年结算单、预拨与考核得分，拨付（或追回）年终差额并调整待遇支出
    YearEnd {
        #[arg(long)]
        year: u16,
        /// 考核得分 CSV（机构编码,得分），每家总额控制机构一行
        #[arg(long)]
        scores: PathBuf,
        #[command(flatten)]
        a: crate::payments::AgreementArgs,
    },
    /// 月度拨付：按结算单向各机构拨付，结算单与记账分录同一事务记录，同一机构同一月份只拨付一次
    Pay {
        /// 月份 YYYY-MM
        #[arg(long)]
        month: String,
        #[command(flatten)]
        a: crate::payments::AgreementArgs,
    },
    /// 基金收支报告：收入（按来源）、支出（按支付项，扣除撤销）、上年结余、本年结余、受益率、可支付月数
    Report {
        /// 年度
        #[arg(long)]
        year: u16,
        #[command(flatten)]
        db: DbArg,
        /// 输出格式
        #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
        format: ReportFormat,
        /// 输出文件（缺省为标准输出；xlsx 必须给出）
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Json,
    Xlsx,
}

/// `yibao ledger check`: `Ok(false)` (exit 1) when any violation was found.
pub fn ledger(c: LedgerCommand) -> Result<bool> {
    match c {
        LedgerCommand::Check { db } => block_on(async {
            let store = open(&db).await?;
            let violations = store.ledger_check().await?;
            if violations.is_empty() {
                println!("基金账簿核对通过：每笔分录借贷相等，结算、撤销、缴费均已记账");
                return Ok(true);
            }
            for v in &violations {
                println!("{v}");
            }
            eprintln!("基金账簿核对未通过：{} 处问题", violations.len());
            Ok(false)
        }),
    }
}

pub fn fund(c: FundCommand) -> Result<()> {
    match c {
        FundCommand::Statement { month, a } => crate::payments::statement(&month, &a, false),
        FundCommand::Pay { month, a } => crate::payments::statement(&month, &a, true),
        FundCommand::YearEnd { year, scores, a } => crate::payments::year_end(year, &scores, &a),
        FundCommand::Report {
            year,
            db,
            format,
            out,
        } => {
            let report = block_on(async { Ok(open(&db).await?.fund_report(year).await?) })?;
            if report.funds.is_empty() {
                bail!("没有 {year} 年度带基金科目表（[books]）的政策：请先 yibao policy load");
            }
            match format {
                ReportFormat::Json => {
                    let text = serde_json::to_string_pretty(&report_json(&report))?;
                    match out {
                        Some(path) => {
                            let mut f = OutFile::create(&path, &[])?;
                            writeln!(f, "{text}")?;
                            f.commit()?;
                        }
                        None => println!("{text}"),
                    }
                }
                ReportFormat::Xlsx => {
                    let Some(path) = out else {
                        bail!("--format xlsx 需要 --out 文件");
                    };
                    let bytes = report_xlsx(&report)?;
                    let mut f = OutFile::create(&path, &[])?;
                    f.write_all(&bytes)?;
                    f.commit()?;
                }
            }
            for w in &report.warnings {
                eprintln!("预警：{w}");
            }
            Ok(())
        }
    }
}

fn yuan(f: i64) -> Value {
    Value::String(format_fen(f))
}

/// A ratio in ppm as a decimal string with four places.
fn ppm_text(ppm: i64) -> String {
    format!("{}.{:04}", ppm / 1_000_000, (ppm % 1_000_000) / 100)
}

fn balance_json(prior: i64, income: i64, spending: i64, reserve: i64) -> Value {
    json!({
        "prior": yuan(prior),
        "income": yuan(income),
        "available": yuan(prior + income),
        "spending": yuan(spending),
        "balance": yuan(prior + income - spending),
        "reserve": yuan(reserve),
    })
}

fn fund_json(f: &FundStatement) -> Value {
    let amounts = |m: &mut dyn Iterator<Item = (String, i64)>| -> Map<String, Value> {
        m.map(|(k, v)| (k, yuan(v))).collect()
    };
    json!({
        "insutype": f.insutype,
        "fund": f.fund,
        "income": amounts(&mut f.income.iter().map(|(k, v)| (k.clone(), *v))),
        "expenditure": amounts(&mut f.expenditure.iter().map(|(k, v)| (k.to_string(), *v))),
        "hosp_part_amt": yuan(f.hosp_part_amt),
        "names": f.names,
        "visits": f.visits,
        "visits_by_med_type": f.visits_by_med_type,
        "beneficiaries": f.beneficiaries,
        "enrolled": f.enrolled,
        "benefit_rate": f.benefit_rate_ppm().map(ppm_text),
        "months_left": f.months_left_tenths().map(|t| format!("{}.{}", t / 10, (t % 10).abs())),
        "balance": balance_json(f.prior_balance, f.income_total(), f.spending(), f.reserve),
    })
}

/// The report as §6's JSON: totals over every fund, and each fund's statement.
pub fn report_json(r: &FundReport) -> Value {
    let mut income: std::collections::BTreeMap<String, i64> = Default::default();
    for f in &r.funds {
        for (k, v) in &f.income {
            *income.entry(k.clone()).or_default() += v;
        }
    }
    let sum = |g: fn(&FundStatement) -> i64| r.funds.iter().map(g).sum::<i64>();
    json!({
        "year": r.year,
        "expenditure": r.expenditure().into_iter().map(|(k, v)| (k.to_string(), yuan(v))).collect::<Map<_, _>>(),
        "visits": sum(|f| f.visits),
        "income": income.into_iter().map(|(k, v)| (k, yuan(v))).collect::<Map<_, _>>(),
        "balance": balance_json(
            sum(|f| f.prior_balance),
            sum(FundStatement::income_total),
            sum(FundStatement::spending),
            sum(|f| f.reserve),
        ),
        "funds": r.funds.iter().map(fund_json).collect::<Vec<_>>(),
        "warnings": r.warnings,
    })
}

/// Yuan for a cell (a display value: the exact amount is the JSON's string).
fn cell_yuan(f: i64) -> f64 {
    f as f64 / 100.0
}

/// The report as a workbook: 基金收支总表 (one row a fund, totals as formulas with their
/// values), 收入明细, 支出明细.
pub fn report_xlsx(r: &FundReport) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let head = Format::new().set_bold().set_background_color("#DDEBF7");
    let money = Format::new().set_num_format("#,##0.00");
    {
        let ws = wb.add_worksheet().set_name("基金收支总表")?;
        let cols = [
            "基金",
            "险种",
            "上年结余（元）",
            "本年收入（元）",
            "可用资金（元）",
            "本年支出（元）",
            "年末结余（元）",
            "风险储备金（元）",
            "结算人次",
            "受益率",
            "可支付月数",
        ];
        header(ws, &cols, &head)?;
        for (i, f) in r.funds.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &f.fund)?;
            ws.write_string(row, 1, &f.insutype)?;
            let values = [
                f.prior_balance,
                f.income_total(),
                f.available(),
                f.spending(),
                f.balance(),
                f.reserve,
            ];
            for (c, v) in values.into_iter().enumerate() {
                ws.write_number_with_format(row, c as u16 + 2, cell_yuan(v), &money)?;
            }
            ws.write_number(row, 8, f.visits as f64)?;
            let rate = f.benefit_rate_ppm().map(ppm_text).unwrap_or_default();
            ws.write_string(row, 9, &rate)?;
            let months = f
                .months_left_tenths()
                .map(|t| format!("{}.{}", t / 10, (t % 10).abs()))
                .unwrap_or_default();
            ws.write_string(row, 10, &months)?;
        }
        let total_row = r.funds.len() as u32 + 1;
        ws.write_string_with_format(total_row, 0, "合计", &head)?;
        let totals = [
            r.funds.iter().map(|f| f.prior_balance).sum::<i64>(),
            r.funds.iter().map(FundStatement::income_total).sum(),
            r.funds.iter().map(FundStatement::available).sum(),
            r.funds.iter().map(FundStatement::spending).sum(),
            r.funds.iter().map(FundStatement::balance).sum(),
            r.funds.iter().map(|f| f.reserve).sum(),
        ];
        for (c, v) in totals.into_iter().enumerate() {
            total_formula(ws, total_row, c as u16 + 2, v, &money)?;
        }
        ws.autofit();
    }
    let income = r.funds.iter().flat_map(|f| {
        let name = |k: &str| f.names.get(k).cloned().unwrap_or_default();
        f.income
            .iter()
            .map(move |(k, v)| (f.fund.as_str(), k.clone(), name(k), *v))
    });
    detail_sheet(&mut wb, "收入明细", "来源", income, (&head, &money))?;
    let spent = r.funds.iter().flat_map(|f| {
        let name = |k: &str| f.names.get(k).cloned().unwrap_or_default();
        let hosp = (
            f.fund.as_str(),
            "hosp_part_amt".to_string(),
            "医院负担（不动用基金）".to_string(),
            f.hosp_part_amt,
        );
        f.expenditure
            .iter()
            .map(move |(k, v)| (f.fund.as_str(), k.to_string(), name(k), *v))
            .chain([hosp])
    });
    detail_sheet(&mut wb, "支出明细", "支付项", spent, (&head, &money))?;
    wb.save_to_buffer().context("无法生成 xlsx")
}

/// A sheet of (fund, key, account name, fen) rows under `key_title`, with a total.
fn detail_sheet<'a>(
    wb: &mut Workbook,
    name: &str,
    key_title: &str,
    rows: impl Iterator<Item = (&'a str, String, String, i64)>,
    (head, money): (&Format, &Format),
) -> Result<()> {
    let ws = wb.add_worksheet().set_name(name)?;
    header(ws, &["基金", key_title, "科目名称", "金额（元）"], head)?;
    let (mut row, mut total) = (1u32, 0);
    for (fund, key, account, v) in rows {
        ws.write_string(row, 0, fund)?;
        ws.write_string(row, 1, &key)?;
        ws.write_string(row, 2, &account)?;
        ws.write_number_with_format(row, 3, cell_yuan(v), money)?;
        total += v;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "合计", head)?;
    total_formula(ws, row, 3, total, money)?;
    ws.autofit();
    Ok(())
}

fn header(ws: &mut Worksheet, cols: &[&str], head: &Format) -> Result<()> {
    for (c, name) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, head)?;
    }
    Ok(())
}

/// `=SUM(...)` of the column above `row`, with its value (which the report computed).
fn total_formula(ws: &mut Worksheet, row: u32, col: u16, value: i64, money: &Format) -> Result<()> {
    let letter = rust_xlsxwriter::utility::column_number_to_name(col);
    let f = Formula::new(format!("=SUM({letter}2:{letter}{row})"))
        .set_result(cell_yuan(value).to_string());
    ws.write_formula_with_format(row, col, f, money)?;
    Ok(())
}
