//! `yibao fund statement|pay` (月度拨付) and `yibao insurer premium|claims|corridor` (大病保险承办):
//! the core's payment calculators over what the store holds, each payment recorded with its
//! statement and its journal entry in one transaction.

use crate::register::{block_on, open, parse_month, DbArg};
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yibao_core::books::{Books, EntryKind};
use yibao_core::engine::Amounts;
use yibao_core::format_fen;
use yibao_core::funds::Payer;
use yibao_core::payment::{
    insurer_corridor, insurer_premium_schedule, monthly_statement, year_end_global_budget, Method,
    MonthlyStatement, PayLine, PaymentPolicy, Score,
};
use yibao_core::{Date, Policy};
use yibao_store::transfers::Transfer;
use yibao_store::{Operator, Store};

/// The agreement file and the fund it pays from.
#[derive(clap::Args)]
pub struct AgreementArgs {
    /// 支付协议文件（TOML，例如 policies/sample-county-2024-payment.toml）
    #[arg(long)]
    agreement: PathBuf,
    /// 险种（支付该险种基金的应付款）
    #[arg(long, default_value = "390")]
    insutype: String,
    #[command(flatten)]
    db: DbArg,
}

#[derive(Subcommand)]
pub enum InsurerCommand {
    /// 拨付大病保险保费：第 N 期（按协议的缴费月份），按参保人数与筹资标准
    Premium {
        #[arg(long)]
        year: u16,
        /// 期次（1 起）
        #[arg(long)]
        instalment: usize,
        #[command(flatten)]
        a: AgreementArgs,
    },
    /// 大病保险赔付结算：承办机构归还本月一站式结算中基金垫付的大病保险支付
    Claims {
        /// 月份 YYYY-MM
        #[arg(long)]
        month: String,
        #[command(flatten)]
        a: AgreementArgs,
    },
    /// 年终盈亏调节：按协议的盈利、亏损上限与分担比例
    Corridor {
        #[arg(long)]
        year: u16,
        #[command(flatten)]
        a: AgreementArgs,
    },
}

fn load_agreement(path: &Path) -> Result<PaymentPolicy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("无法读取支付协议文件 {}", path.display()))?;
    let name = path.display().to_string();
    PaymentPolicy::from_toml(&name, &text).map_err(|e| anyhow!("{e}"))
}

/// The year's policy of `insutype` and its chart.
async fn books_of(store: &Store, year: u16, insutype: &str) -> Result<Arc<Policy>> {
    let policy = store
        .policy(year, insutype)
        .await?
        .ok_or_else(|| anyhow!("没有 {year} 年度险种 {insutype} 的政策：请先 yibao policy load"))?;
    if policy.books.is_none() {
        bail!("{year} 年度险种 {insutype} 的政策没有基金科目表 [books]");
    }
    Ok(policy)
}

fn books(policy: &Policy) -> &Books {
    policy.books.as_ref().expect("checked by books_of")
}

fn method_name(m: Method) -> String {
    match m {
        Method::FeeForService => "按项目付费".into(),
        Method::GlobalBudget { budget } => {
            format!("总额控制（年度预算 {} 元）", format_fen(budget))
        }
        Method::PerAdmissionQuota => "次均定额".into(),
    }
}

fn lines_json(lines: &[PayLine]) -> Value {
    serde_json::to_value(lines).unwrap_or(Value::Null)
}

fn amounts_json(a: &Amounts) -> Value {
    a.fields()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(format_fen(*v))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn statement_json(s: &MonthlyStatement) -> Value {
    json!({
        "fixmedins_code": s.fixmedins_code,
        "name": s.name,
        "method": method_name(s.method),
        "period": format!("{}-{:02}", s.year, s.month),
        "visits": s.visits,
        "reversed_visits": s.reversed_visits,
        "by_med_type": s.by_med_type.iter().map(|m| json!({
            "med_type": m.med_type, "visits": m.visits, "amounts": amounts_json(&m.amounts)
        })).collect::<Vec<_>>(),
        "totals": amounts_json(&s.totals),
        "deductions": format_fen(s.deductions),
        "hifp_approved": format_fen(s.hifp_approved),
        "other_layers": format_fen(s.other_layers),
        "advance": s.advance.as_ref().map(|a| json!({
            "gross": format_fen(a.gross), "reserve_withheld": format_fen(a.reserve_withheld),
            "net": format_fen(a.net), "lines": lines_json(&a.lines)
        })),
        "net_payable": format_fen(s.net_payable),
        "lines": lines_json(&s.lines),
    })
}

/// The month's statements of every institution with settlements or an agreement advance.
async fn statements(
    store: &Store,
    agreement: &PaymentPolicy,
    insutype: &str,
    month: Date,
) -> Result<Vec<MonthlyStatement>> {
    let visits = store
        .settled_visits(insutype, month.year(), month.month())
        .await?;
    let mut codes: Vec<&str> = visits.iter().map(|v| v.fixmedins_code.as_str()).collect();
    codes.extend(
        agreement
            .institutions
            .iter()
            .filter(|a| matches!(a.method, Method::GlobalBudget { .. }))
            .map(|a| a.fixmedins_code.as_str()),
    );
    codes.sort_unstable();
    codes.dedup();
    // Audit deductions come with the review workflow; none are recorded yet.
    codes
        .into_iter()
        .map(|code| {
            monthly_statement(agreement, code, month.year(), month.month(), &visits, &[])
                .map_err(|e| anyhow!("{e}"))
        })
        .collect()
}

fn month_end(month: Date) -> Date {
    let next = if month.month() == 12 {
        Date::from_ymd(u32::from(month.year()) + 1, 1, 1)
    } else {
        Date::from_ymd(u32::from(month.year()), month.month() + 1, 1)
    };
    next.and_then(|d| d.add_days(-1)).unwrap_or(month)
}

/// `yibao fund statement` (print) and `yibao fund pay` (record 拨付).
pub fn statement(month: &str, a: &AgreementArgs, pay: bool) -> Result<()> {
    let month = parse_month(month)?;
    let agreement = load_agreement(&a.agreement)?;
    let op = Operator::from_env();
    block_on(async {
        let store = open(&a.db).await?;
        let policy = books_of(&store, month.year(), &a.insutype).await?;
        let books = books(&policy);
        let all = statements(&store, &agreement, &a.insutype, month).await?;
        let period = format!("{}-{:02}", month.year(), month.month());
        let mut total = 0;
        for s in &all {
            let doc = statement_json(s);
            if !pay {
                println!("{}", serde_json::to_string_pretty(&doc)?);
                continue;
            }
            let t = Transfer {
                kind: EntryKind::Payment,
                id: format!("{}:{}:{period}", a.insutype, s.fixmedins_code),
                insutype: a.insutype.clone(),
                party: s.fixmedins_code.clone(),
                year: month.year(),
                period: period.clone(),
                on_date: month_end(month),
                amount_fen: s.net_payable,
                document: doc.to_string(),
            };
            let reference = t.reference();
            let entry = books.transfer(
                &reference,
                EntryKind::Payment,
                (&books.payable, &s.fixmedins_code),
                (&books.bank, ""),
                s.net_payable,
            );
            store.record_transfer(&op, &t, entry.as_ref()).await?;
            total += s.net_payable;
            println!(
                "{} {}（{}）：{} 人次，拨付 {} 元",
                s.fixmedins_code,
                s.name,
                method_name(s.method),
                s.visits,
                format_fen(s.net_payable)
            );
        }
        if pay {
            println!(
                "{period} 拨付 {} 家机构，合计 {} 元",
                all.len(),
                format_fen(total)
            );
        }
        Ok(())
    })
}

/// The assessment scores file: `fixmedins_code,score` a line (a header line may lead).
fn read_scores(path: &Path) -> Result<std::collections::BTreeMap<String, Score>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("无法读取考核得分文件 {}", path.display()))?;
    let mut out = std::collections::BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || (n == 0 && !line.starts_with(|c: char| c.is_ascii_alphanumeric())) {
            continue;
        }
        let Some((code, score)) = line.split_once(',') else {
            bail!("考核得分文件第 {} 行应为“机构编码,得分”：{line:?}", n + 1);
        };
        if n == 0 && Score::parse(score.trim()).is_none() {
            continue; // a header
        }
        let score = Score::parse(score.trim()).ok_or_else(|| {
            anyhow!(
                "考核得分文件第 {} 行的得分 {score:?} 无效（0 到 100，最多一位小数）",
                n + 1
            )
        })?;
        out.insert(code.trim().to_string(), score);
    }
    Ok(out)
}

/// `yibao fund year-end`: 总额控制 year-end settlement of every budget institution — the
/// balance paid (or recovered) and the year's 统筹 spending adjusted to what it earned.
pub fn year_end(year: u16, scores: &Path, a: &AgreementArgs) -> Result<()> {
    let agreement = load_agreement(&a.agreement)?;
    let rule = agreement
        .global_budget
        .clone()
        .ok_or_else(|| anyhow!("支付协议文件没有 [global_budget] 节（总额控制）"))?;
    let scores = read_scores(scores)?;
    let op = Operator::from_env();
    block_on(async {
        let store = open(&a.db).await?;
        let policy = books_of(&store, year, &a.insutype).await?;
        let books = books(&policy);
        let expense = books
            .payer_account(Payer::Basic)
            .ok_or_else(|| anyhow!("政策的 [books.payers] 没有统筹基金（hifp_pay）的科目"))?;
        let paid = store
            .transfers(EntryKind::Payment, &a.insutype, year)
            .await?;
        let mut visits = Vec::new();
        for m in 1..=12 {
            visits.extend(store.settled_visits(&a.insutype, year, m).await?);
        }
        for ag in &agreement.institutions {
            let Method::GlobalBudget { budget } = ag.method else {
                continue;
            };
            let code = &ag.fixmedins_code;
            let score = *scores
                .get(code)
                .ok_or_else(|| anyhow!("考核得分文件没有总额控制机构 {code} 的得分"))?;
            let months = paid
                .iter()
                .filter(|(p, period, _)| p == code && period.len() == 7)
                .count();
            if months != 12 {
                bail!("机构 {code} 本年只拨付了 {months} 个月：年终清算前须完成 12 个月的月度拨付");
            }
            let (mut actual, mut advances, mut withheld) = (0, 0, 0);
            for m in 1..=12 {
                let s = monthly_statement(&agreement, code, year, m, &visits, &[])
                    .map_err(|e| anyhow!("{e}"))?;
                actual += s.hifp_approved;
                if let Some(adv) = &s.advance {
                    advances += adv.net;
                    withheld += adv.reserve_withheld;
                }
            }
            let ye = year_end_global_budget(budget, actual, advances, withheld, score, &rule);
            let doc = json!({"zone": format!("{:?}", ye.zone), "budget": format_fen(budget),
                "actual": format_fen(actual), "total_due": format_fen(ye.total_due),
                "advances_paid": format_fen(advances), "balance": format_fen(ye.balance),
                "lines": lines_json(&ye.lines)})
            .to_string();
            let on = month_end(parse_month(&format!("{year}-12"))?);
            // The balance paid or recovered, then the payable closed against spending: what
            // was settled at actual but not earned (borne by the hospital, forfeited) comes
            // off the year's 统筹 spending, a saving bonus goes onto it.
            let parts = [
                (
                    EntryKind::Payment,
                    ye.balance,
                    (books.payable.as_str(), code.as_str()),
                    (books.bank.as_str(), ""),
                ),
                (
                    EntryKind::YearEndAdjustment,
                    actual - ye.total_due,
                    (books.payable.as_str(), code.as_str()),
                    (expense, ""),
                ),
            ];
            for (kind, amount, debit, credit) in parts {
                let t = Transfer {
                    kind,
                    id: format!("{}:{code}:{year}-年终", a.insutype),
                    insutype: a.insutype.clone(),
                    party: code.clone(),
                    year,
                    period: format!("{year} 年终"),
                    on_date: on,
                    amount_fen: amount,
                    document: doc.clone(),
                };
                let reference = t.reference();
                let entry = books.transfer(&reference, kind, debit, credit, amount);
                store.record_transfer(&op, &t, entry.as_ref()).await?;
            }
            for l in &ye.lines {
                println!("{code} {}：{} 元（{}）", l.item, l.amount, l.how);
            }
            println!(
                "{code} {}：年终认定 {} 元，已预拨 {} 元，{} {} 元",
                ag.name,
                format_fen(ye.total_due),
                format_fen(advances),
                if ye.balance >= 0 { "补拨" } else { "追回" },
                format_fen(ye.balance.abs())
            );
        }
        Ok(())
    })
}

pub fn insurer(c: InsurerCommand) -> Result<()> {
    let op = Operator::from_env();
    let (a, year) = match &c {
        InsurerCommand::Premium { a, year, .. } | InsurerCommand::Corridor { a, year } => {
            (a, *year)
        }
        InsurerCommand::Claims { a, month } => (a, parse_month(month)?.year()),
    };
    let agreement = load_agreement(&a.agreement)?;
    let rule = agreement
        .insurer
        .clone()
        .ok_or_else(|| anyhow!("支付协议文件没有 [insurer] 节（大病保险承办）"))?;
    block_on(async {
        let store = open(&a.db).await?;
        let policy = books_of(&store, year, &a.insutype).await?;
        let books = books(&policy);
        let premium_account = books
            .premium
            .as_deref()
            .ok_or_else(|| anyhow!("政策的 [books] 没有大病保险保费科目 premium"))?;
        let receivable = books
            .payer_account(Payer::Critical)
            .ok_or_else(|| anyhow!("政策的 [books.payers] 没有大病保险支付（hifmi_pay）的科目"))?;
        let t = match &c {
            InsurerCommand::Premium { instalment, .. } => {
                let instalment = *instalment;
                let insured = store.enrolled_count(&a.insutype, year).await?;
                let schedule = insurer_premium_schedule(&rule, insured, year)
                    .ok_or_else(|| anyhow!("无法为 {year} 年编制保费计划"))?;
                let Some(due) = instalment
                    .checked_sub(1)
                    .and_then(|i| schedule.instalments.get(i))
                else {
                    bail!(
                        "--instalment={instalment} 无效：协议每年 {} 期",
                        schedule.instalments.len()
                    );
                };
                Transfer {
                    kind: EntryKind::Premium,
                    id: format!("{}:{year}:{instalment}", a.insutype),
                    insutype: a.insutype.clone(),
                    party: "insurer".into(),
                    year,
                    period: format!("{year} 第{instalment}期"),
                    on_date: due.due,
                    amount_fen: due.amount,
                    document: json!({"insured": insured, "due": due.due.to_string(),
                        "amount": format_fen(due.amount), "lines": lines_json(&schedule.lines)})
                    .to_string(),
                }
            }
            InsurerCommand::Claims { month, .. } => {
                let month = parse_month(month)?;
                let kinds = [EntryKind::Settlement, EntryKind::Reversal];
                let end = month_end(month);
                let amount = store
                    .account_net(&a.insutype, receivable, &kinds, month, end)
                    .await?;
                Transfer {
                    kind: EntryKind::InsurerClaims,
                    id: format!("{}:{}-{:02}", a.insutype, month.year(), month.month()),
                    insutype: a.insutype.clone(),
                    party: "insurer".into(),
                    year,
                    period: format!("{}-{:02}", month.year(), month.month()),
                    on_date: end,
                    amount_fen: amount,
                    document: json!({"hifmi_pay": format_fen(amount),
                        "from": month.to_string(), "to": end.to_string()})
                    .to_string(),
                }
            }
            InsurerCommand::Corridor { .. } => {
                let month0 = parse_month(&format!("{year}-12"))?;
                let premium: i64 = store
                    .transfers(EntryKind::Premium, &a.insutype, year)
                    .await?
                    .iter()
                    .map(|(_, _, f)| f)
                    .sum();
                if premium <= 0 {
                    bail!("{year} 年度没有拨付过大病保险保费，无法进行盈亏调节");
                }
                let report = store.fund_report(year).await?;
                let claims = report
                    .funds
                    .iter()
                    .filter(|f| f.insutype == a.insutype)
                    .map(|f| f.expenditure.get("hifmi_pay").copied().unwrap_or_default())
                    .sum();
                let admin = rule.admin_cost(premium);
                let c = insurer_corridor(premium, claims, admin, &rule);
                // Positive: the insurer returns money to the fund; negative: the fund pays.
                let net = c.returned_to_fund - c.borne_by_fund;
                for l in &c.lines {
                    println!("{}：{} 元（{}）", l.item, l.amount, l.how);
                }
                Transfer {
                    kind: EntryKind::Corridor,
                    id: format!("{}:{year}", a.insutype),
                    insutype: a.insutype.clone(),
                    party: "insurer".into(),
                    year,
                    period: year.to_string(),
                    on_date: month_end(Date::from_ymd(u32::from(year), 12, 1).unwrap_or(month0)),
                    amount_fen: net,
                    document: json!({"premium": format_fen(premium), "claims": format_fen(claims),
                        "admin_cost": format_fen(admin), "result": format_fen(c.result),
                        "lines": lines_json(&c.lines)})
                    .to_string(),
                }
            }
        };
        let reference = t.reference();
        let bank = (books.bank.as_str(), "");
        let entry = match t.kind {
            EntryKind::Premium => books.transfer(
                &reference,
                t.kind,
                (premium_account, ""),
                bank,
                t.amount_fen,
            ),
            EntryKind::InsurerClaims => {
                books.transfer(&reference, t.kind, bank, (receivable, ""), t.amount_fen)
            }
            _ => books.transfer(
                &reference,
                t.kind,
                bank,
                (premium_account, ""),
                t.amount_fen,
            ),
        };
        store.record_transfer(&op, &t, entry.as_ref()).await?;
        println!(
            "{} {}：{} 元",
            t.kind.name(),
            t.period,
            format_fen(t.amount_fen)
        );
        Ok(())
    })
}
