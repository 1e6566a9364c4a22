//! `yibao demo`: generate a county's data, settle it with explanations, print the totals and
//! one patient's 明白卡 (settlement statement). Uses only the public commands' building blocks.

use anyhow::{Context, Result};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::PathBuf;
use yibao_core::Policy;
use yibao_files::{load_dir, run_batch, BatchOptions};

/// The reference policy, built in so the demo runs from any directory.
const SAMPLE_POLICY: &str = include_str!("../../../policies/sample-county-2024.toml");

#[derive(clap::Args)]
pub struct DemoArgs {
    /// 演示数据与结果的目录
    #[arg(long, default_value = "demo")]
    dir: PathBuf,
    /// 参保人数
    #[arg(long, default_value_t = 5_000)]
    persons: usize,
}

const TOTALS: [(&str, &str); 9] = [
    ("medfee_sumamt", "医疗费用总额"),
    ("fulamt_ownpay_amt", "  其中 全自费"),
    ("overlmt_selfpay", "  其中 超限价自费"),
    ("hifp_pay", "基本医保统筹基金支付"),
    ("hifmi_pay", "大病保险支付"),
    ("maf_pay", "医疗救助支付"),
    ("oth_pay", "其他（政府兜底等）支付"),
    ("hosp_part_amt", "医疗机构承担"),
    ("psn_part_amt", "个人负担"),
];

fn fen(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| yibao_core::money::parse_yuan(s).ok())
        .unwrap_or(0)
}

pub fn run(a: DemoArgs) -> Result<()> {
    let policy = Policy::from_toml("policies/sample-county-2024.toml（内置）", SAMPLE_POLICY)?;
    let data = a.dir.join("data");
    let cfg = yibao_gen::GenConfig {
        persons: a.persons,
        bad_per_mille: 5,
        ..yibao_gen::GenConfig::default()
    };
    let g = yibao_gen::generate(&cfg, &data)
        .with_context(|| format!("生成演示数据到 {} 失败", data.display()))?;
    println!(
        "【1】已生成示范县数据：参保人 {}，机构 {}，目录项目 {}，结算单 {}（撤销 {}，故意放入的错误记录 {}）→ {}",
        g.persons,
        g.institutions,
        g.catalog_items,
        g.claims,
        g.reversals,
        g.bad,
        data.display()
    );

    let refdata = load_dir(&data)?;
    let results = a.dir.join("results.jsonl");
    let input = BufReader::new(File::open(data.join("claims.jsonl"))?);
    let output = BufWriter::new(File::create(&results)?);
    let opts = BatchOptions {
        jobs: 2,
        explain: true,
        ..BatchOptions::default()
    };
    let policies = yibao_core::PolicySet::one(policy.clone());
    let stats = run_batch(&policies, &refdata, input, output, opts)?;
    println!(
        "【2】一站式结算完成（政策《{}》，2 线程）：结算 {}，撤销 {}，拒绝 {} → {}",
        policy.name,
        stats.settled,
        stats.reversed,
        stats.rejected,
        results.display()
    );
    for (code, n) in &stats.rejected_by_code {
        println!("      拒绝 {code}：{n} 条");
    }

    // Totals over settled claims net of reversals.
    let mut lines: Vec<Value> = Vec::new();
    for l in BufReader::new(File::open(&results)?).lines() {
        lines.push(serde_json::from_str(&l?)?);
    }
    let mut settled: std::collections::HashMap<String, usize> = Default::default();
    let mut reversal_of: std::collections::HashMap<String, String> = Default::default();
    for l in BufReader::new(File::open(data.join("claims.jsonl"))?).lines() {
        if let Ok(v) = serde_json::from_str::<Value>(&l?) {
            if v["type"] == "reversal" {
                if let (Some(id), Some(t)) = (v["claim_id"].as_str(), v["target"].as_str()) {
                    reversal_of.insert(id.to_string(), t.to_string());
                }
            }
        }
    }
    for (i, v) in lines.iter().enumerate() {
        let Some(id) = v["claim_id"].as_str() else {
            continue;
        };
        if v["ok"] != true {
            continue;
        }
        if v.get("medfee_sumamt").is_some() {
            settled.insert(id.to_string(), i);
        } else if let Some(t) = reversal_of.get(id) {
            settled.remove(t);
        }
    }
    println!(
        "【3】全年汇总（{} 笔有效结算，已扣除撤销）：",
        settled.len()
    );
    let mut sums = [0i64; TOTALS.len()];
    for &i in settled.values() {
        for (k, (field, _)) in TOTALS.iter().enumerate() {
            sums[k] += fen(&lines[i][*field]);
        }
    }
    for (k, (_, label)) in TOTALS.iter().enumerate() {
        println!(
            "      {label:<14}{:>18} 元",
            yibao_core::format_fen(sums[k])
        );
    }
    let fund: i64 = sums[3] + sums[4] + sums[5] + sums[6];
    if sums[0] > 0 {
        println!(
            "      实际补偿比（基金支付/总费用）：{:.2}%",
            fund as f64 * 100.0 / sums[0] as f64
        );
    }

    // The same settlements on the books (the batch's in-memory journal, as the store keeps it).
    if let Some(books) = &policy.books {
        let j = &stats.journal;
        println!(
            "      基金账簿：{} 笔分录，借贷{}；应付定点医药机构款 {} 元",
            j.entries,
            if j.balances() { "平衡" } else { "不平" },
            yibao_core::format_fen(-j.net_debit(&books.payable))
        );
        for (_, account) in books.payers() {
            let name = books.account(account).map_or("", |a| a.name.as_str());
            println!(
                "        {account} {name}：借方 {} 元",
                yibao_core::format_fen(j.net_debit(account))
            );
        }
    }

    // One patient's statement: the first settled admission that reached 大病保险.
    let card = settled
        .values()
        .copied()
        .filter(|&i| fen(&lines[i]["hifmi_pay"]) > 0)
        .min()
        .or_else(|| settled.values().copied().min());
    if let Some(i) = card {
        println!(
            "【4】明白卡（结算单 {}）：",
            lines[i]["claim_id"].as_str().unwrap_or_default()
        );
        print!("{}", render_card(&lines[i]));
    }
    println!(
        "完整结果（含逐项说明）见 {}；用 `yibao settle --explain` 可对任意结算单得到同样的说明。",
        results.display()
    );
    Ok(())
}

/// A plain-text 明白卡 from a result line with `explain`.
pub fn render_card(v: &Value) -> String {
    let mut s = String::new();
    let amt = |k: &str| v[k].as_str().unwrap_or("0.00").to_string();
    s.push_str(&format!(
        "  总费用 {} 元 = 全自费 {} + 超限价 {} + 乙类先行自付 {} + 政策范围内 {}\n",
        amt("medfee_sumamt"),
        amt("fulamt_ownpay_amt"),
        amt("overlmt_selfpay"),
        amt("preselfpay_amt"),
        amt("inscp_scp_amt")
    ));
    let lines = v["explain"]["lines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for l in lines.iter().take(5) {
        s.push_str(&format!(
            "    · {} {}：{} 元，{}\n",
            l["code"].as_str().unwrap_or_default(),
            l["name"].as_str().unwrap_or_default(),
            l["amount"].as_str().unwrap_or_default(),
            l["note"].as_str().unwrap_or_default()
        ));
    }
    if lines.len() > 5 {
        s.push_str(&format!("    · ……另有 {} 条明细\n", lines.len() - 5));
    }
    for layer in v["explain"]["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let mut d = format!(
            "  {}：支付 {} 元",
            layer["name"].as_str().unwrap_or_default(),
            layer["paid"].as_str().unwrap_or_default()
        );
        if let Some(r) = layer["ratio"].as_str() {
            d.push_str(&format!(
                "（计算基数 {} 元，比例 {r}）",
                layer["base"].as_str().unwrap_or_default()
            ));
        }
        for seg in layer["segments"].as_array().cloned().unwrap_or_default() {
            d.push_str(&format!(
                "；{}–{} 段 {} 元 × {}",
                seg["from"].as_str().unwrap_or_default(),
                seg["to"].as_str().unwrap_or_default(),
                seg["amount"].as_str().unwrap_or_default(),
                seg["ratio"].as_str().unwrap_or_default()
            ));
        }
        if layer["cap_hit"] == true {
            d.push_str("；已达限额");
        }
        s.push_str(&d);
        s.push('\n');
        if let Some(n) = layer["note"].as_str().filter(|n| !n.is_empty()) {
            s.push_str(&format!("      说明：{n}\n"));
        }
    }
    s.push_str(&format!(
        "  基金支付合计 {} 元，医疗机构承担 {} 元，个人负担 {} 元（现金 {} 元）\n",
        amt("fund_pay_sumamt"),
        amt("hosp_part_amt"),
        amt("psn_part_amt"),
        amt("psn_cash_pay")
    ));
    s
}
