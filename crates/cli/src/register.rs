//! Register commands against the store: `load`, `person`, `category`, `registration`.
//! Thin: parse, call yibao-store, report in Chinese. Personal data is masked in output.

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;
use yibao_core::refdata::{mask_certno, mask_name};
use yibao_core::{Date, DateRange};
use yibao_store::{Operator, RegistrationKind, Store};

#[derive(clap::Args)]
pub struct DbArg {
    /// 数据库地址：缺省为内嵌 SQLite（./yibao-data/yibao.db）；或 postgres://用户@主机:端口/库名
    #[arg(long)]
    pub database: Option<String>,
}

/// Runs an async store task on a small runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("无法启动异步运行时")?
        .block_on(f)
}

pub async fn open(db: &DbArg) -> Result<Store> {
    Store::open(db.database.as_deref())
        .await
        .map_err(|e| anyhow!("无法打开数据库：{e}"))
}

pub fn parse_date(field: &str, text: &str) -> Result<Date> {
    Date::parse(text.trim())
        .ok_or_else(|| anyhow!("{field}={text:?} 不是有效日期（应为 YYYY-MM-DD）"))
}

#[derive(clap::Args)]
pub struct LoadArgs {
    /// 政策文件（TOML）
    #[arg(long)]
    pub policy: PathBuf,
    /// 参考数据目录（institutions.csv、catalog.csv、persons.jsonl）
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
}

/// Reads and validates a policy file: the policy and its TOML text.
pub fn read_policy(file: &std::path::Path) -> Result<(yibao_core::Policy, String)> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("无法读取政策文件 {}", file.display()))?;
    let policy = yibao_core::Policy::from_toml(&file.display().to_string(), &source)
        .map_err(|e| anyhow!("{e}"))?;
    Ok((policy, source))
}

impl LoadArgs {
    /// Opens the store and loads the policy and the reference data directory into it.
    pub async fn load(&self, op: &Operator) -> Result<(Store, yibao_store::LoadReport)> {
        let (policy, source) = read_policy(&self.policy)?;
        let store = open(&self.db).await?;
        let reference = yibao_files::refdir::read_reference(&self.data)
            .map_err(|e| anyhow!("载入参考数据失败：{e}"))?;
        let r = yibao_store::load_reference(&store, op, &policy, &source, &reference)
            .await
            .map_err(|e| anyhow!("载入参考数据失败：{e}"))?;
        Ok((store, r))
    }
}

pub fn load(a: LoadArgs) -> Result<()> {
    block_on(async {
        let (_, r) = a.load(&Operator::from_env()).await?;
        println!(
            "已加载政策《{}》；机构 {}，目录项目 {}，新增人员 {}，已有人员 {}",
            r.policy, r.institutions, r.catalog_items, r.persons_added, r.persons_already_there
        );
        Ok(())
    })
}

pub fn policy_load(file: &std::path::Path, db: &DbArg) -> Result<()> {
    let (policy, source) = read_policy(file)?;
    block_on(async {
        open(db)
            .await?
            .load_policy(&Operator::from_env(), &policy, &source)
            .await?;
        println!(
            "已存入政策《{}》（{} 年度，险种 {}）",
            policy.name, policy.year, policy.insutype
        );
        Ok(())
    })
}

#[derive(clap::Subcommand)]
pub enum PersonCommand {
    /// 查询人员在某日的待遇资格（参保、缴费、类别、备案、暂停或锁定）
    Show {
        /// 人员编号
        #[arg(long, conflicts_with = "certno")]
        psn_no: Option<String>,
        /// 证件号码
        #[arg(long)]
        certno: Option<String>,
        /// 日期（缺省为今天）
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// 锁定人员（稽核调查中），自某日起待遇暂停
    Lock {
        psn_no: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 解除锁定，自某日起恢复待遇
    Unlock {
        psn_no: String,
        #[arg(long)]
        on: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// An employee's status and personal account (balance and movements up to `on`).
async fn print_employee_account(store: &Store, psn_no: &str, on: Date) -> Result<()> {
    if let Some(p) = store.person_on(psn_no, on).await? {
        println!(
            "  职工状态：{}；公务员医疗补助：{}",
            if p.scheme.retired { "退休" } else { "在职" },
            if p.scheme.civil_servant {
                "享受"
            } else {
                "不享受"
            }
        );
    }
    let account = store.account(psn_no, on).await?;
    println!(
        "  个人账户余额：{} 元（截至 {on}，{} 笔变动）",
        yibao_core::format_fen(account.balance_fen),
        account.movements.len()
    );
    for m in &account.movements {
        let sign = if m.amount_fen >= 0 { "+" } else { "" };
        println!(
            "    {} {} {sign}{} 元 {}",
            m.on_date,
            yibao_store::account::kind_name(&m.kind),
            yibao_core::format_fen(m.amount_fen),
            m.reference
        );
    }
    Ok(())
}

pub fn person(c: PersonCommand) -> Result<()> {
    let op = Operator::from_env();
    match c {
        PersonCommand::Show {
            psn_no,
            certno,
            date,
            db,
        } => {
            let on = match date {
                Some(d) => parse_date("--date", &d)?,
                None => yibao_store::today(),
            };
            block_on(async {
                let store = open(&db).await?;
                let psn_no = match (psn_no, certno) {
                    (Some(p), _) => p,
                    (None, Some(c)) => store
                        .psn_no_by_certno(&c)
                        .await?
                        .ok_or_else(|| anyhow!("证件号码 {} 未登记", mask_certno(&c)))?,
                    (None, None) => bail!("请给出 --psn-no 或 --certno"),
                };
                let Some(p) = store.person(&psn_no).await? else {
                    bail!("人员编号 psn_no={psn_no:?} 不存在");
                };
                let e = store
                    .eligibility(&psn_no, on)
                    .await?
                    .ok_or_else(|| anyhow!("人员编号 psn_no={psn_no:?} 不存在"))?;
                println!(
                    "人员 {}（{}，{}）于 {on}：",
                    psn_no,
                    mask_name(&p.name),
                    mask_certno(&p.certno)
                );
                match (&e.insutype, &e.hh_no) {
                    (Some(t), Some(h)) => println!(
                        "  参保：险种 {t}，户号 {h}，{}",
                        if e.paid { "已缴费" } else { "未缴费" }
                    ),
                    _ => println!("  参保：{} 年度未参保", on.year()),
                }
                if e.insutype.as_deref() == Some(yibao_core::enrolment::INSUTYPE_EMPLOYEE) {
                    print_employee_account(&store, &psn_no, on).await?;
                }
                println!(
                    "  人员类别：{}",
                    if e.categories.is_empty() {
                        "无".to_string()
                    } else {
                        e.categories.join("、")
                    }
                );
                for r in &e.registrations {
                    println!(
                        "  备案 {}：{} {}，{}–{}，{}",
                        r.reg_no,
                        r.kind.name(),
                        r.dise_codg,
                        r.valid.from,
                        r.valid.to,
                        r.state.name()
                    );
                }
                if let Some(s) = &e.suspension {
                    println!(
                        "  待遇暂停：{}（{}–{}）",
                        s.reason, s.range.from, s.range.to
                    );
                }
                println!(
                    "  结论：{}",
                    if e.eligible {
                        "可享受待遇"
                    } else {
                        "不能享受待遇"
                    }
                );
                Ok(())
            })
        }
        PersonCommand::Lock {
            psn_no,
            from,
            reason,
            db,
        } => {
            let from = parse_date("--from", &from)?;
            block_on(async {
                open(&db)
                    .await?
                    .lock_person(&op, &psn_no, from, &reason)
                    .await?;
                println!("已锁定人员 {psn_no}，自 {from} 起待遇暂停");
                Ok(())
            })
        }
        PersonCommand::Unlock { psn_no, on, db } => {
            let on = parse_date("--on", &on)?;
            block_on(async {
                let n = open(&db).await?.unlock_person(&op, &psn_no, on).await?;
                println!("已解除人员 {psn_no} 的 {n} 项锁定，自 {on} 起恢复待遇");
                Ok(())
            })
        }
    }
}

#[derive(clap::Subcommand)]
pub enum CategoryCommand {
    /// 认定人员类别（如民政低保名单到达），带有效期
    Grant {
        psn_no: String,
        /// 类别代码，如 pk、db、tk
        #[arg(long)]
        code: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// 来源（名单批次）
        #[arg(long, default_value = "经办录入")]
        source: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 终止人员类别：有效期截至某日
    End {
        psn_no: String,
        #[arg(long)]
        code: String,
        /// 最后一天
        #[arg(long)]
        last_day: String,
        #[arg(long, default_value = "经办录入")]
        source: String,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn category(c: CategoryCommand) -> Result<()> {
    let op = Operator::from_env();
    match c {
        CategoryCommand::Grant {
            psn_no,
            code,
            from,
            to,
            source,
            db,
        } => {
            let range = DateRange {
                from: parse_date("--from", &from)?,
                to: parse_date("--to", &to)?,
            };
            block_on(async {
                open(&db)
                    .await?
                    .grant_category(&op, &psn_no, &code, range, &source)
                    .await?;
                println!("已认定 {psn_no} 为 {code}：{}–{}", range.from, range.to);
                Ok(())
            })
        }
        CategoryCommand::End {
            psn_no,
            code,
            last_day,
            source,
            db,
        } => {
            let last = parse_date("--last-day", &last_day)?;
            block_on(async {
                let n = open(&db)
                    .await?
                    .end_category(&op, &psn_no, &code, last, &source)
                    .await?;
                println!("已将 {psn_no} 的 {code} 类别截至 {last}（{n} 段）");
                Ok(())
            })
        }
    }
}

#[derive(clap::Subcommand)]
pub enum RegistrationCommand {
    /// 备案申请（门诊慢特病 chronic 或异地就医 offsite）
    Apply {
        psn_no: String,
        /// chronic 门诊慢特病 / offsite 异地就医 / family 个人账户家庭共济
        #[arg(long, value_parser = ["chronic", "offsite", "family"])]
        kind: String,
        /// 病种编码（门诊慢特病必填）
        #[arg(long, default_value = "")]
        dise_codg: String,
        /// 家庭共济：账户持有人（职工）的人员编号
        #[arg(long, default_value = "")]
        holder: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 审核通过
    Approve {
        reg_no: String,
        #[arg(long)]
        on: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 驳回
    Reject {
        reg_no: String,
        #[arg(long)]
        on: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 终止（自某日起不再享受）
    Terminate {
        reg_no: String,
        #[arg(long)]
        on: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn registration(c: RegistrationCommand) -> Result<()> {
    let op = Operator::from_env();
    match c {
        RegistrationCommand::Apply {
            psn_no,
            kind,
            dise_codg,
            holder,
            from,
            to,
            db,
        } => {
            let kind = RegistrationKind::from_code(&kind);
            // A 家庭共济 registration's subject is the holder (stored where a 门诊慢特病's
            // diagnosis is).
            let dise_codg = if kind == RegistrationKind::FamilyAid {
                holder
            } else {
                dise_codg
            };
            let range = DateRange {
                from: parse_date("--from", &from)?,
                to: parse_date("--to", &to)?,
            };
            block_on(async {
                let reg = open(&db)
                    .await?
                    .apply_registration(&op, &psn_no, kind, &dise_codg, range)
                    .await?;
                println!("已受理备案申请，备案号 {reg}");
                Ok(())
            })
        }
        RegistrationCommand::Approve {
            reg_no,
            on,
            note,
            db,
        } => {
            let on = parse_date("--on", &on)?;
            block_on(async {
                open(&db)
                    .await?
                    .decide_registration(&op, &reg_no, true, on, &note)
                    .await?;
                println!("备案 {reg_no} 审核通过");
                Ok(())
            })
        }
        RegistrationCommand::Reject {
            reg_no,
            on,
            note,
            db,
        } => {
            let on = parse_date("--on", &on)?;
            block_on(async {
                open(&db)
                    .await?
                    .decide_registration(&op, &reg_no, false, on, &note)
                    .await?;
                println!("备案 {reg_no} 已驳回");
                Ok(())
            })
        }
        RegistrationCommand::Terminate {
            reg_no,
            on,
            note,
            db,
        } => {
            let on = parse_date("--on", &on)?;
            block_on(async {
                open(&db)
                    .await?
                    .terminate_registration(&op, &reg_no, on, &note)
                    .await?;
                println!("备案 {reg_no} 自 {on} 起终止");
                Ok(())
            })
        }
    }
}

#[derive(clap::Subcommand)]
pub enum EmployerCommand {
    /// 登记参保单位
    Add {
        unit_no: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 职工参保（在职或退休），自动登记各年度职工医保参保
    Employ {
        unit_no: String,
        #[arg(long)]
        psn_no: String,
        #[arg(long)]
        from: String,
        #[arg(long, default_value = "2199-12-31")]
        to: String,
        /// 退休人员
        #[arg(long)]
        retired: bool,
        /// 退休人员月养老金（元）
        #[arg(long, default_value = "0")]
        pension: String,
        /// 公务员（享受公务员医疗补助）
        #[arg(long)]
        civil_servant: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// 申报职工年度月缴费基数（元）
    Base {
        unit_no: String,
        #[arg(long)]
        psn_no: String,
        #[arg(long)]
        year: u16,
        #[arg(long)]
        base: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 登记单位缴款（元），先抵最早的欠费
    Pay {
        unit_no: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        on: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 登记缓缴协议
    Defer {
        unit_no: String,
        #[arg(long)]
        agreement: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        db: DbArg,
    },
}

fn yuan(field: &str, text: &str) -> Result<i64> {
    yibao_core::money::parse_yuan(text.trim())
        .map_err(|e| anyhow!("{field}={text:?} 不是有效金额（元，最多两位小数）：{e}"))
}

pub fn employer(c: EmployerCommand) -> Result<()> {
    let op = Operator::from_env();
    match c {
        EmployerCommand::Add { unit_no, name, db } => block_on(async {
            open(&db).await?.add_employer(&op, &unit_no, &name).await?;
            println!("已登记参保单位 {unit_no}（{name}）");
            Ok(())
        }),
        EmployerCommand::Employ {
            unit_no,
            psn_no,
            from,
            to,
            retired,
            pension,
            civil_servant,
            db,
        } => {
            let e = yibao_store::Employment {
                psn_no,
                unit_no,
                valid: DateRange {
                    from: parse_date("--from", &from)?,
                    to: parse_date("--to", &to)?,
                },
                retired,
                pension_fen: yuan("--pension", &pension)?,
                civil_servant,
            };
            block_on(async {
                open(&db).await?.employ(&op, &e).await?;
                println!("已登记 {} 在单位 {} 参加职工医保", e.psn_no, e.unit_no);
                Ok(())
            })
        }
        EmployerCommand::Base {
            unit_no,
            psn_no,
            year,
            base,
            db,
        } => {
            let base = yuan("--base", &base)?;
            block_on(async {
                open(&db)
                    .await?
                    .declare_base(&op, &psn_no, &unit_no, year, base)
                    .await?;
                println!(
                    "已申报 {psn_no} {year} 年月缴费基数 {} 元",
                    yibao_core::format_fen(base)
                );
                Ok(())
            })
        }
        EmployerCommand::Pay {
            unit_no,
            amount,
            on,
            db,
        } => {
            let amount = yuan("--amount", &amount)?;
            let on = parse_date("--on", &on)?;
            block_on(async {
                open(&db)
                    .await?
                    .record_unit_payment(&op, &unit_no, amount, on)
                    .await?;
                println!(
                    "已登记单位 {unit_no} 于 {on} 缴款 {} 元",
                    yibao_core::format_fen(amount)
                );
                Ok(())
            })
        }
        EmployerCommand::Defer {
            unit_no,
            agreement,
            from,
            to,
            db,
        } => {
            let range = DateRange {
                from: parse_date("--from", &from)?,
                to: parse_date("--to", &to)?,
            };
            block_on(async {
                open(&db)
                    .await?
                    .add_deferral(&op, &agreement, &unit_no, range)
                    .await?;
                println!("已登记缓缴协议 {agreement}：{}–{}", range.from, range.to);
                Ok(())
            })
        }
    }
}

#[derive(clap::Subcommand)]
pub enum EnrolCommand {
    /// 导入参保登记名册（.xlsx 或 .csv，UTF-8 或 GB18030），默认全部正确才导入
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: DbArg,
        /// 跳过有误的行，导入其余正确的行
        #[arg(long)]
        skip_invalid: bool,
        /// 把问题清单写成 CSV：行号,列,值,原因
        #[arg(long)]
        errors: Option<PathBuf>,
        /// 缴费日期（名册不含缴费日期；缺省为今天）
        #[arg(long)]
        paid_on: Option<String>,
    },
    /// 重复参保报告：两户、两个险种、学校与家庭、疑似一人多证
    Duplicates {
        /// 年度（缺省为全部）
        #[arg(long)]
        year: Option<u16>,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Problems of a roster printed on stderr; `--errors` gets them all.
const SHOWN_PROBLEMS: usize = 20;

pub fn enrol(c: EnrolCommand) -> Result<bool> {
    match c {
        EnrolCommand::Import {
            file,
            db,
            skip_invalid,
            errors,
            paid_on,
        } => {
            let paid_on = match paid_on {
                Some(d) => parse_date("--paid-on", &d)?,
                None => yibao_store::today(),
            };
            // Refused before anything is read when it names the roster itself.
            let errors_out = errors
                .as_ref()
                .map(|p| crate::outfile::OutFile::create(p, &[file.as_path()]).map(|f| (p, f)))
                .transpose()?;
            let started = std::time::Instant::now();
            let roster = yibao_roster::read_roster(&file).map_err(|e| anyhow!("{e}"))?;
            let opts = yibao_store::ImportOptions {
                skip_invalid,
                paid_on,
                file: file.display().to_string(),
            };
            let report = block_on(async {
                let store = open(&db).await?;
                Ok(
                    yibao_store::import_roster(&store, &Operator::from_env(), roster, &opts)
                        .await?,
                )
            })?;
            // The first problems on stderr; the full list only in --errors.
            for e in report.errors.iter().take(SHOWN_PROBLEMS) {
                eprintln!("{e}");
            }
            if report.errors.len() > SHOWN_PROBLEMS {
                eprintln!(
                    "……共 {} 个问题，以上只列出前 {SHOWN_PROBLEMS} 个；完整清单请用 --errors 文件.csv 导出",
                    report.errors.len()
                );
            }
            if let Some((path, mut f)) = errors_out {
                yibao_roster::write_errors_csv(&mut f, &report.errors)
                    .with_context(|| format!("无法写入问题清单 {}", path.display()))?;
                f.commit()?;
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "读取 {} 行，导入 {} 行，拒绝 {} 行，户数 {}；用时 {secs:.1} 秒（{:.0} 行/秒）",
                report.rows_read,
                report.imported,
                report.rejected,
                report.households,
                report.rows_read as f64 / secs.max(1e-9)
            );
            if !report.by_category.is_empty() {
                let parts: Vec<String> = report
                    .by_category
                    .iter()
                    .map(|(c, n)| format!("{} {n}", category_name(c)))
                    .collect();
                println!("按人员类别：{}", parts.join("，"));
            }
            if !report.committed {
                eprintln!("名册有误，未导入任何数据（可用 --skip-invalid 只导入正确的行）");
                return Ok(false);
            }
            Ok(true)
        }
        EnrolCommand::Duplicates { year, db } => {
            let findings = block_on(async {
                let store = open(&db).await?;
                Ok(store.duplicate_report(year).await?)
            })?;
            if findings.is_empty() {
                println!("未发现重复参保");
            }
            for f in &findings {
                println!(
                    "{} 年度 {}：{}（{}）",
                    f.year,
                    f.kind.name(),
                    f.psn_nos.join("、"),
                    f.detail
                );
            }
            Ok(true)
        }
    }
}

fn category_name(code: &str) -> &str {
    match code {
        "pk" => "建档立卡",
        "db" => "低保",
        "tk" => "特困",
        other => other,
    }
}

#[derive(clap::Subcommand)]
pub enum AccountCommand {
    /// 查询个人账户在某日的余额与变动明细
    Show {
        psn_no: String,
        /// 日期（缺省为今天）
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// 按月划入个人账户：在职职工按单位该月缴费是否足额到账，退休人员按养老金
    Credit {
        /// 月份 YYYY-MM
        #[arg(long)]
        month: String,
        /// 划入日（缺省为今天），按此日的缴费到账情况
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        db: DbArg,
    },
    /// 年度计息：按政策利率与每日余额积数，记入 12 月 31 日
    Interest {
        #[arg(long)]
        year: u16,
        #[command(flatten)]
        db: DbArg,
    },
}

/// `--month YYYY-MM` as the month's first day.
pub fn parse_month(text: &str) -> Result<Date> {
    Date::parse(&format!("{}-01", text.trim()))
        .ok_or_else(|| anyhow!("--month={text:?} 不是有效月份（应为 YYYY-MM）"))
}

pub fn account(c: AccountCommand) -> Result<()> {
    let op = Operator::from_env();
    match c {
        AccountCommand::Show { psn_no, date, db } => {
            let on = match date {
                Some(d) => parse_date("--date", &d)?,
                None => yibao_store::today(),
            };
            block_on(async {
                let store = open(&db).await?;
                if store.person_on(&psn_no, on).await?.is_none() {
                    bail!("人员编号 psn_no={psn_no:?} 不存在");
                }
                println!("人员 {psn_no} 于 {on}：");
                print_employee_account(&store, &psn_no, on).await
            })
        }
        AccountCommand::Credit { month, date, db } => {
            let month = parse_month(&month)?;
            let as_of = match date {
                Some(d) => parse_date("--date", &d)?,
                None => yibao_store::today(),
            };
            if as_of < month {
                bail!(
                    "--date={as_of} 早于所划入的月份 {}-{:02}",
                    month.year(),
                    month.month()
                );
            }
            block_on(async {
                let store = open(&db).await?;
                let r = store.credit_accounts(&op, month, as_of).await?;
                println!(
                    "{}-{:02} 个人账户划入：{} 人，合计 {} 元；此前已划入 {} 人（未重复划入）",
                    month.year(),
                    month.month(),
                    r.persons,
                    yibao_core::format_fen(r.total_fen),
                    r.already
                );
                Ok(())
            })
        }
        AccountCommand::Interest { year, db } => block_on(async {
            let store = open(&db).await?;
            let r = store.credit_interest(&op, year).await?;
            println!(
                "{year} 年度个人账户计息：{} 人，合计 {} 元；此前已计息 {} 人（未重复计息）",
                r.persons,
                yibao_core::format_fen(r.total_fen),
                r.already
            );
            Ok(())
        }),
    }
}
