//! `yibao bench-fund`: a county-year of books read back. Settles generated claims with the
//! batch engine, writes them with their entries into a database whose persons are loaded
//! (`yibao load`), then times `fund report` and `ledger check` over them.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Instant;
use yibao_core::books::{EntryKind, Paid};
use yibao_core::engine::Amounts;
use yibao_core::money::parse_yuan;
use yibao_core::Date;
use yibao_files::{load_dir, load_policies, run_batch, BatchOptions};
use yibao_store::journal::StoredEntry;
use yibao_store::testing::{load_settled, SettledRow};

#[derive(clap::Args)]
pub struct BenchFundArgs {
    /// 政策文件（可重复，每个险种一个）
    #[arg(long, required = true)]
    policy: Vec<PathBuf>,
    /// 参考数据目录（人员须已 yibao load 进 --database）
    #[arg(long)]
    data: PathBuf,
    /// 结算单 JSONL
    #[arg(long)]
    claims: PathBuf,
    /// 报告年度
    #[arg(long, default_value_t = 2024)]
    year: u16,
    #[command(flatten)]
    db: crate::register::DbArg,
}

fn amounts(v: &Value) -> Result<Amounts> {
    let f = |k: &str| -> Result<i64> {
        v[k].as_str().map_or(Ok(0), |t| {
            parse_yuan(t).map_err(|e| anyhow::anyhow!("{k}={t:?}：{e}"))
        })
    };
    Ok(Amounts {
        medfee_sumamt: f("medfee_sumamt")?,
        fulamt_ownpay_amt: f("fulamt_ownpay_amt")?,
        overlmt_selfpay: f("overlmt_selfpay")?,
        preselfpay_amt: f("preselfpay_amt")?,
        inscp_scp_amt: f("inscp_scp_amt")?,
        act_pay_dedc: f("act_pay_dedc")?,
        hifp_pay: f("hifp_pay")?,
        hifmi_pay: f("hifmi_pay")?,
        cvlserv_pay: f("cvlserv_pay")?,
        hifob_pay: f("hifob_pay")?,
        maf_pay: f("maf_pay")?,
        oth_pay: f("oth_pay")?,
        hosp_part_amt: f("hosp_part_amt")?,
        fund_pay_sumamt: f("fund_pay_sumamt")?,
        psn_part_amt: f("psn_part_amt")?,
        acct_pay: f("acct_pay")?,
        acct_mulaid_pay: f("acct_mulaid_pay")?,
        psn_cash_pay: f("psn_cash_pay")?,
    })
}

pub fn run(a: BenchFundArgs) -> Result<()> {
    let policies = load_policies(&a.policy).map_err(anyhow::Error::msg)?;
    let refdata = load_dir(&a.data)?;
    let out_path =
        std::env::temp_dir().join(format!("yibao-bench-fund-{}.jsonl", std::process::id()));
    let t = Instant::now();
    {
        let input = BufReader::new(std::fs::File::open(&a.claims).context("无法打开 --claims")?);
        let out = std::io::BufWriter::new(std::fs::File::create(&out_path)?);
        let opts = BatchOptions {
            jobs: 2,
            ..BatchOptions::default()
        };
        run_batch(&policies, &refdata, input, out, opts)?;
    }
    println!("批量结算：{:.1} 秒", t.elapsed().as_secs_f64());
    // The settlements that stand, with what the gateway would have written for each.
    let inputs = BufReader::new(std::fs::File::open(&a.claims)?).lines();
    let outputs = BufReader::new(std::fs::File::open(&out_path)?).lines();
    let mut rows: Vec<SettledRow> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (i, o) in inputs.zip(outputs) {
        let (i, o): (Value, Value) = (serde_json::from_str(&i?)?, serde_json::from_str(&o?)?);
        if o["ok"] != true {
            continue;
        }
        if i["type"] == "reversal" {
            if let Some(n) = i["target"].as_str().and_then(|t| index.remove(t)) {
                rows.swap_remove(n);
                if let Some(moved) = rows.get(n) {
                    index.insert(moved.setl_id.clone(), n);
                }
            }
            continue;
        }
        let text = |k: &str| i[k].as_str().unwrap_or_default().to_string();
        let date = |k: &str| Date::parse(&text(k)).with_context(|| format!("{k} 无效"));
        let psn_no = text("psn_no");
        let insutype = refdata
            .person(&psn_no)
            .map(|p| refdata.persons[p as usize].scheme.insutype.clone())
            .unwrap_or_default();
        let setl_id = text("claim_id");
        let (begndate, enddate) = (date("begndate")?, date("enddate")?);
        let amounts = amounts(&o)?;
        let policy = policies.of(&insutype);
        let reference = EntryKind::Settlement.reference(&setl_id);
        let inst = text("fixmedins_code");
        let entry = policy.and_then(|p| p.books.as_ref()).and_then(|b| {
            let e = b.settlement_entry(&reference, &inst, &Paid::of_amounts(&amounts))?;
            Some(StoredEntry::of(&e, &insutype, enddate.year(), enddate))
        });
        index.insert(setl_id.clone(), rows.len());
        rows.push(SettledRow {
            setl_id,
            psn_no,
            fixmedins_code: inst,
            insutype,
            med_type: text("med_type"),
            begndate,
            enddate,
            amounts,
            entry,
        });
    }
    let _ = std::fs::remove_file(&out_path);

    if rows.is_empty() {
        bail!("没有结算成功的结算单");
    }
    crate::register::block_on(async {
        let store = crate::register::open(&a.db).await?;
        let t = Instant::now();
        load_settled(&store, &rows).await?;
        println!(
            "写入 {} 笔结算及其分录：{:.1} 秒",
            rows.len(),
            t.elapsed().as_secs_f64()
        );
        for round in 1..=3 {
            let t = Instant::now();
            let report = store.fund_report(a.year).await?;
            let visits: i64 = report.funds.iter().map(|f| f.visits).sum();
            println!(
                "第 {round} 次 fund report：{:.2} 秒（{visits} 笔结算，{} 个基金）",
                t.elapsed().as_secs_f64(),
                report.funds.len()
            );
        }
        let t = Instant::now();
        let violations = store.ledger_check().await?;
        println!(
            "ledger check：{:.2} 秒，{} 处问题",
            t.elapsed().as_secs_f64(),
            violations.len()
        );
        Ok(())
    })
}
