//! `yibao`: the one binary. Thin: parses arguments, calls the adapters, reports in Chinese.

// std's `println!`, `print!` and `eprintln!` panic when stdout or stderr is closed or full
// (`yibao settle … | head -1`, `> /dev/full`: exit 101). These shadow them in every module
// below (macro_rules scope is textual, so they must stay above the `mod` lines): each write
// goes through `out`, which ends the process with a clear status instead.
macro_rules! println {
    () => { $crate::out::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! print {
    ($($arg:tt)*) => { $crate::out::stdout(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::out::stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

mod out;
mod outfile;

mod audit;
mod bench;
mod bench_fund;
mod bench_gateway;
mod demo;
mod funds;
mod indicators_xlsx;
mod payments;
mod register;
mod serve;
mod user;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use yibao_files::{load_dir, load_policies, load_policy, run_batch, BatchOptions};

/// glibc's malloc spent about a fifth of the gateway's CPU under load (arenas, locks,
/// consolidation); mimalloc's thread-local heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// yibao 医保核心经办系统
#[derive(Parser)]
#[command(
    name = "yibao",
    version,
    about = "yibao 医保核心经办系统（城乡居民/职工医保一站式结算）"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 批量结算：按顺序结算 JSONL 结算单，每行输出一条结果
    Settle(SettleArgs),
    /// 生成可复现的合成数据（参考数据目录 + 结算单）
    Gen(GenArgs),
    /// 智能审核：规则筛查（screen）、按标注评估（eval）、机构指标（indicators）
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// 生成可复现的参保登记名册（CSV，§4 格式）
    GenRoster(GenRosterArgs),
    /// 演示：生成示范县数据、结算、打印汇总和一张明白卡
    Demo(demo::DemoArgs),
    /// 性能基准：引擎吞吐、端到端吞吐、内存
    Bench(bench::BenchArgs),
    /// 加载参考数据目录和政策到数据库（§3）
    Load(register::LoadArgs),
    /// 参保登记：名册导入、重复参保报告
    Enrol {
        #[command(subcommand)]
        command: register::EnrolCommand,
    },
    /// 职工医保：参保单位、职工、缴费基数、单位缴款、缓缴协议
    Employer {
        #[command(subcommand)]
        command: register::EmployerCommand,
    },
    /// 人员：资格查询、锁定、解锁
    Person {
        #[command(subcommand)]
        command: register::PersonCommand,
    },
    /// 人员类别（特困、低保、建档立卡等）认定与终止
    Category {
        #[command(subcommand)]
        command: register::CategoryCommand,
    },
    /// 职工个人账户：余额与变动、按月划入、年度计息
    Account {
        #[command(subcommand)]
        command: register::AccountCommand,
    },
    /// 基金账簿：核对复式记账分录
    Ledger {
        #[command(subcommand)]
        command: funds::LedgerCommand,
    },
    /// 基金报告：收支、结余、受益率、可支付月数（JSON 或 Excel）
    Fund {
        #[command(subcommand)]
        command: funds::FundCommand,
    },
    /// 大病保险承办：保费拨付、赔付结算、年终盈亏调节
    Insurer {
        #[command(subcommand)]
        command: payments::InsurerCommand,
    },
    /// 门诊慢特病、异地就医备案：申请、审核、终止
    Registration {
        #[command(subcommand)]
        command: register::RegistrationCommand,
    },
    /// 医院网关：按国家医保接口规范实时结算（HTTP）
    Serve(serve::ServeArgs),
    /// 控制台用户：新建（密码从标准输入读一行）、停用
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// 定点机构接口密钥：签发、撤销
    Keys {
        #[command(subcommand)]
        command: serve::KeysCommand,
    },
    /// 性能基准：医院网关结算（2207）每秒笔数与延迟，可对照 pgbench
    BenchGateway(bench_gateway::BenchGatewayArgs),
    /// 性能基准：一个县一年的基金账簿（批量结算写入库中后，fund report 与 ledger check 的用时）
    BenchFund(bench_fund::BenchFundArgs),
    /// 性能基准：数据库资格查询每秒次数
    BenchStore(bench::BenchStoreArgs),
    /// 政策文件操作
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// 校验政策文件并打印摘要
    Check {
        /// 政策文件（TOML）
        file: PathBuf,
    },
    /// 校验并把政策存入数据库（该年度、该险种此后按它计算缴费与资格）
    Load {
        /// 政策文件（TOML）
        file: PathBuf,
        #[command(flatten)]
        db: register::DbArg,
    },
}

#[derive(clap::Args)]
struct SettleArgs {
    /// 政策文件（TOML），如 policies/sample-county-2024.toml；可重复，每个险种一个
    /// （每人按其险种 insutype 的政策结算）
    #[arg(long, required = true)]
    policy: Vec<PathBuf>,
    /// 参考数据目录（institutions.csv、catalog.csv、persons.jsonl）
    #[arg(long)]
    data: PathBuf,
    /// 结算单文件（JSONL，每行一条）；"-" 表示标准输入
    #[arg(long)]
    claims: PathBuf,
    /// 结果输出文件；缺省为标准输出
    #[arg(long)]
    out: Option<PathBuf>,
    /// 在每条成功结果中附上逐项、逐层的计算说明
    #[arg(long)]
    explain: bool,
    /// 并行线程数（按人员分区，输出顺序不变）
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// 人员取自数据库（参保登记）而不是 persons.jsonl；机构和目录仍取自 --data
    #[arg(long)]
    database: Option<String>,
}

#[derive(clap::Args)]
struct GenArgs {
    /// 输出目录（写入 institutions.csv、catalog.csv、persons.jsonl、claims.jsonl）
    #[arg(long)]
    out: PathBuf,
    /// 城乡居民参保人数（insutype 390）
    #[arg(long, default_value_t = 10_000)]
    persons: usize,
    /// 城镇职工参保人数（insutype 310，排在居民之后；含退休、公务员、个人账户余额）；缺省 0
    #[arg(long, default_value_t = 0)]
    employees: usize,
    /// 结算单条数；缺省按人均就诊率推算
    #[arg(long)]
    claims: Option<usize>,
    /// 随机种子（相同种子生成完全相同的数据）
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// 年度
    #[arg(long, default_value_t = 2024)]
    year: i32,
    /// 每千条中故意注入的错误记录数（演示拒付用）；缺省 0
    #[arg(long, default_value_t = 0)]
    bad_per_mille: u32,
    /// 智能审核真值：每个疑点规则族注入的比例（小数，如 0.005 = 每族约千分之五的结算单），
    /// 并写出标注文件 audit-labels.csv；缺省不注入（生成的文件与不带此项时逐字节相同）
    #[arg(long)]
    audit_rate: Option<String>,
}

#[derive(clap::Args)]
struct GenRosterArgs {
    /// 输出文件（CSV）
    #[arg(long)]
    out: PathBuf,
    /// 人数
    #[arg(long, default_value_t = 10_000)]
    persons: usize,
    /// 随机种子
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// 参保年度
    #[arg(long, default_value_t = 2024)]
    year: i32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Settle(a) => settle(a),
        Command::Gen(a) => gen(a),
        Command::Audit { command } => audit::run(command),
        Command::GenRoster(a) => gen_roster(a),
        Command::Demo(a) => demo::run(a),
        Command::Bench(a) => bench::run(a),
        Command::BenchStore(a) => bench::run_store(a),
        Command::BenchFund(a) => bench_fund::run(a),
        Command::BenchGateway(a) => bench_gateway::run(a),
        Command::Load(a) => register::load(a),
        Command::Serve(a) => serve::serve(a),
        Command::User { command } => user::user(command),
        Command::Keys { command } => serve::keys(command),
        Command::Enrol { command } => match register::enrol(command) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Employer { command } => register::employer(command),
        Command::Person { command } => register::person(command),
        Command::Account { command } => register::account(command),
        Command::Ledger { command } => match funds::ledger(command) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Fund { command } => funds::fund(command),
        Command::Insurer { command } => payments::insurer(command),
        Command::Category { command } => register::category(command),
        Command::Registration { command } => register::registration(command),
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => policy_check(file),
        Command::Policy {
            command: PolicyCommand::Load { file, db },
        } => register::policy_load(&file, &db),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = out::broken_output(&e) {
                out::output_failed("标准输出", io);
            }
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn settle(a: SettleArgs) -> Result<()> {
    if a.jobs == 0 || a.jobs > 256 {
        bail!("--jobs={} 无效：应为 1 到 256 之间的整数", a.jobs);
    }
    let policies = load_policies(&a.policy).map_err(anyhow::Error::msg)?;
    let refdata = match &a.database {
        None => load_dir(&a.data).map_err(anyhow::Error::msg)?,
        Some(url) => {
            let mut r = yibao_core::RefData::default();
            yibao_files::refdir::load_institutions(&a.data.join("institutions.csv"), &mut r)
                .map_err(anyhow::Error::msg)?;
            yibao_files::refdir::load_catalog(&a.data.join("catalog.csv"), &mut r)
                .map_err(anyhow::Error::msg)?;
            register::block_on(async {
                let store = register::open(&register::DbArg {
                    database: Some(url.clone()),
                })
                .await?;
                store.add_persons_to(&mut r).await?;
                Ok(r)
            })?
        }
    };
    let input: Box<dyn io::BufRead> = if a.claims.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        let f = File::open(&a.claims)
            .with_context(|| format!("无法打开结算单文件 {}", a.claims.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    let mut out_file = match &a.out {
        Some(p) => {
            let claims = (a.claims.as_os_str() != "-").then_some(a.claims.as_path());
            let inputs: Vec<&std::path::Path> = claims
                .into_iter()
                .chain(a.policy.iter().map(|p| p.as_path()))
                .collect();
            Some(outfile::OutFile::create(p, &inputs)?)
        }
        None => None,
    };
    let output: Box<dyn Write + '_> = match &mut out_file {
        Some(f) => Box::new(f),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };
    let opts = BatchOptions {
        jobs: a.jobs,
        explain: a.explain,
        ..BatchOptions::default()
    };
    let stats =
        run_batch(&policies, &refdata, input, output, opts).context("结算过程中读写失败")?;
    if let Some(f) = out_file {
        f.commit()?;
    }
    let mut summary = format!(
        "已处理 {} 条：结算 {}，撤销 {}，拒绝 {}",
        stats.records, stats.settled, stats.reversed, stats.rejected
    );
    if !stats.rejected_by_code.is_empty() {
        let parts: Vec<String> = stats
            .rejected_by_code
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        summary.push_str(&format!("（{}）", parts.join("，")));
    }
    if let Some(kib) = bench::peak_rss_kib() {
        summary.push_str(&format!("；峰值内存 {:.1} MiB", kib as f64 / 1024.0));
    }
    eprintln!("{summary}");
    Ok(())
}

fn gen(a: GenArgs) -> Result<()> {
    let audit_ppm = match &a.audit_rate {
        None => 0,
        Some(t) => match yibao_core::money::parse_scaled(t, 6) {
            Ok(v) if (1..=100_000).contains(&v) => v as u32,
            _ => bail!("--audit-rate={t:?} 无效：应为 0.000001 到 0.1 之间的小数"),
        },
    };
    let cfg = yibao_gen::GenConfig {
        audit_ppm,
        seed: a.seed,
        persons: a.persons,
        employees: a.employees,
        year: a.year,
        claims: a.claims,
        bad_per_mille: a.bad_per_mille,
        ..yibao_gen::GenConfig::default()
    };
    let s = yibao_gen::generate(&cfg, &a.out)
        .with_context(|| format!("生成数据到 {} 失败", a.out.display()))?;
    let employees = if s.employees > 0 {
        format!("（其中职工 {}，退休 {}）", s.employees, s.retirees)
    } else {
        String::new()
    };
    eprintln!(
        "已生成到 {}：机构 {}，目录项目 {}，参保人 {}{employees}，结算单 {}（其中撤销 {}，错误记录 {}）",
        a.out.display(),
        s.institutions,
        s.catalog_items,
        s.persons,
        s.claims,
        s.reversals,
        s.bad
    );
    if audit_ppm > 0 {
        eprintln!("审核疑点标注 {} 条：audit-labels.csv", s.audit_labels);
    }
    Ok(())
}

fn gen_roster(a: GenRosterArgs) -> Result<()> {
    if !(2000..=2100).contains(&a.year) {
        bail!("--year={} 无效：应为 2000 到 2100", a.year);
    }
    let mut f = outfile::OutFile::create(&a.out, &[])?;
    let s = yibao_gen::write_roster_csv(&mut f, a.seed, a.persons, a.year)
        .with_context(|| format!("写入 {} 失败", a.out.display()))?;
    f.commit()?;
    eprintln!(
        "已生成名册 {}：{} 人，{} 户，困难人群 {} 人",
        a.out.display(),
        s.rows,
        s.households,
        s.poor
    );
    Ok(())
}

fn policy_check(file: PathBuf) -> Result<()> {
    let p = load_policy(&file).map_err(anyhow::Error::msg)?;
    println!("政策《{}》校验通过", p.name);
    println!(
        "  统筹区 {}，险种 {}，年度 {}",
        p.admdvs, p.insutype, p.year
    );
    println!(
        "  人员类别：{}",
        p.categories
            .iter()
            .map(|c| format!("{}（{}）", c.code, c.name))
            .collect::<Vec<_>>()
            .join("、")
    );
    println!(
        "  统筹基金年度限额 {} 元",
        yibao_core::format_fen(p.basic.annual_cap)
    );
    if let Some(c) = &p.critical {
        println!(
            "  {}：起付线 {} 元，{} 段",
            c.name,
            yibao_core::format_fen(c.threshold),
            c.segments.len()
        );
    }
    if let Some(a) = &p.assistance {
        println!("  {}：{} 类救助对象", a.name, a.rules.len());
    }
    for s in &p.supplementary {
        println!("  {}：比例 {}", s.name, s.ratio);
    }
    if let Some(c) = &p.ceiling {
        println!("  {}：个人负担上限 {}", c.name, c.share);
    }
    Ok(())
}
