//! `yibao audit screen` (智能审核筛查, interface §5) and `yibao audit eval` (precision and
//! recall per family against a labels file).

use crate::outfile::OutFile;
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use yibao_core::audit::eval::{ratio_text, score};
use yibao_core::audit::rules::{REFERENCE_RULES, REFERENCE_RULES_NAME};
use yibao_core::audit::{AuditRules, Family, ScreenClaim};
use yibao_core::RefData;
use yibao_files::audit::{read_claims, read_flags, read_labels, screen_claims, write_findings};
use yibao_files::load_dir;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// 智能审核筛查：按规则筛查全部结算单，每条疑点输出一行 JSON
    Screen(ScreenArgs),
    /// 评估：按标注文件计算各规则族的精确率与召回率
    Eval(EvalArgs),
    /// 机构指标（JSON 或 xlsx）：次均住院费用、药占比、自费（丙类）占比、每百门诊人次住院数、再入院率；xlsx 另有排名与按月趋势
    Indicators(IndicatorsArgs),
}

#[derive(clap::Args)]
pub struct Input {
    /// 参考数据目录（institutions.csv、catalog.csv、persons.jsonl）
    #[arg(long)]
    data: Option<PathBuf>,
    /// 结算单文件（JSONL，与 yibao settle 相同；撤销记录使其目标不再筛查）
    #[arg(long)]
    claims: Option<PathBuf>,
    /// 审核规则文件（TOML）；缺省为内置的 rules/sample-county-2024-audit.toml
    #[arg(long)]
    rules: Option<PathBuf>,
    /// 并行线程数（按人员分组；结果与单线程逐字节相同）
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

#[derive(clap::Args)]
pub struct ScreenArgs {
    #[command(flatten)]
    input: Input,
    /// 输出文件（JSONL）；缺省为标准输出
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct IndicatorsArgs {
    #[command(flatten)]
    screen: ScreenArgs,
    /// 输出格式：json（缺省）或 xlsx（中文表头：机构指标（含排名）、按月趋势；须给 --out）
    #[arg(long, default_value = "json")]
    format: String,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// 筛查结果（yibao audit screen 的输出）；不给时用 --data、--claims 当场筛查
    #[arg(long)]
    flags: Option<PathBuf>,
    /// 标注文件（CSV：claim_id,family，如 yibao gen --audit-rate 写出的 audit-labels.csv）
    #[arg(long)]
    labels: PathBuf,
    #[command(flatten)]
    input: Input,
    /// 输出 JSON 而不是表格
    #[arg(long)]
    json: bool,
}

pub fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Screen(a) => screen(a),
        AuditCommand::Eval(a) => eval(a),
        AuditCommand::Indicators(a) => indicators(a),
    }
}

pub(crate) fn load_rules(path: Option<&Path>) -> Result<AuditRules> {
    let (name, text) = match path {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p)
                .with_context(|| format!("无法读取审核规则文件 {}", p.display()))?,
        ),
        None => (
            REFERENCE_RULES_NAME.to_string(),
            REFERENCE_RULES.to_string(),
        ),
    };
    AuditRules::from_toml(&name, &text).map_err(anyhow::Error::msg)
}

/// The rules, reference data and claims of `input`, with the reading's counts reported.
fn read_input(input: &Input) -> Result<(AuditRules, RefData, Vec<ScreenClaim>)> {
    if input.jobs == 0 || input.jobs > 256 {
        bail!("--jobs={} 无效：应为 1 到 256 之间的整数", input.jobs);
    }
    let (Some(data), Some(claims_path)) = (&input.data, &input.claims) else {
        bail!("需要 --data（参考数据目录）和 --claims（结算单文件）");
    };
    let rules = load_rules(input.rules.as_deref())?;
    let refdata = load_dir(data).map_err(anyhow::Error::msg)?;
    let reader: Box<dyn io::BufRead> = if claims_path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let f = File::open(claims_path)
            .with_context(|| format!("无法打开结算单文件 {}", claims_path.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let (claims, stats) = read_claims(&refdata, reader, input.jobs).context("读取结算单失败")?;
    eprintln!(
        "已读 {} 条记录：结算单 {}，撤销 {}，不能筛查 {}，忽略 {}（规则《{}》）",
        stats.records,
        claims.len(),
        stats.reversed,
        stats.unreadable,
        stats.ignored,
        rules.name
    );
    for e in &stats.examples {
        eprintln!("  不能筛查：{e}");
    }
    Ok((rules, refdata, claims))
}

/// Reads the inputs and screens; writes the findings JSONL to `out`.
fn screen_to<W: Write>(input: &Input, out: W) -> Result<()> {
    let (rules, refdata, claims) = read_input(input)?;
    let findings = screen_claims(&rules, &refdata, &claims, input.jobs)?;
    write_findings(&rules, &claims, &findings, out).context("写出审核结果失败")?;
    eprintln!("疑点 {} 条", findings.len());
    Ok(())
}

/// Runs `fill` into `--out` (written whole or not at all) or standard output.
fn to_out(a: &ScreenArgs, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match &a.out {
        Some(p) => {
            let inputs: Vec<&Path> = a
                .input
                .claims
                .iter()
                .chain(a.input.rules.iter())
                .map(|p| p.as_path())
                .filter(|p| p.as_os_str() != "-")
                .collect();
            let mut f = OutFile::create(p, &inputs)?;
            fill(&mut f)?;
            f.commit()
        }
        None => fill(&mut BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    }
}

fn indicators(a: IndicatorsArgs) -> Result<()> {
    let xlsx = match a.format.as_str() {
        "json" => false,
        "xlsx" => true,
        other => bail!("--format={other} 无效：应为 json 或 xlsx"),
    };
    if xlsx && a.screen.out.is_none() {
        bail!("--format xlsx 需要 --out 文件");
    }
    let a = a.screen;
    to_out(&a, |out| {
        let (rules, refdata, claims) = read_input(&a.input)?;
        use yibao_core::audit::indicators::{indicators, monthly};
        let list = indicators(&rules, &refdata, &claims);
        if xlsx {
            let months = monthly(&rules, &refdata, &claims);
            out.write_all(&crate::indicators_xlsx::workbook(&refdata, &list, &months)?)?;
        } else {
            let json = yibao_files::audit::indicators_json(&refdata, &list);
            writeln!(out, "{json}")?;
        }
        out.flush()?;
        Ok(())
    })
}

fn screen(a: ScreenArgs) -> Result<()> {
    to_out(&a, |out| screen_to(&a.input, out))
}

fn eval(a: EvalArgs) -> Result<()> {
    let flags = match &a.flags {
        Some(p) => {
            let f = File::open(p).with_context(|| format!("无法打开审核结果 {}", p.display()))?;
            read_flags(BufReader::new(f)).map_err(anyhow::Error::msg)?
        }
        None => {
            let mut buf = Vec::new();
            screen_to(&a.input, &mut buf)?;
            read_flags(buf.as_slice()).map_err(anyhow::Error::msg)?
        }
    };
    let f = File::open(&a.labels)
        .with_context(|| format!("无法打开标注文件 {}", a.labels.display()))?;
    let labels = read_labels(BufReader::new(f)).map_err(anyhow::Error::msg)?;
    let scores = score(&flags, &labels);
    if a.json {
        let rows: Vec<serde_json::Value> = scores
            .iter()
            .map(|s| {
                serde_json::json!({
                    "family": s.family,
                    "flagged": s.flagged,
                    "labelled": s.labelled,
                    "hits": s.hits,
                    "precision": s.precision_ppm().map(|p| ratio_text(Some(p))),
                    "recall": s.recall_ppm().map(|p| ratio_text(Some(p))),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "families": rows }));
        return Ok(());
    }
    println!("规则族\t名称\t疑点数\t标注数\t命中\t精确率\t召回率");
    for s in &scores {
        let name = Family::parse(&s.family).map_or("", Family::name);
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            s.family,
            name,
            s.flagged,
            s.labelled,
            s.hits,
            ratio_text(s.precision_ppm()),
            ratio_text(s.recall_ppm())
        );
    }
    Ok(())
}
