//! `yibao bench`: throughput and memory of the settlement engine on a claims file
//! (use `yibao gen` data). Reports; never passes or fails on timing.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;
use yibao_core::ledger::{reverse, settle, MemLedger};
use yibao_core::YearAccumulators;
use yibao_files::record::{parse_line, Record};
use yibao_files::{load_dir, load_policies};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// 政策文件（TOML）；可重复，每个险种一个
    #[arg(long, required = true)]
    policy: Vec<PathBuf>,
    /// 参考数据目录
    #[arg(long)]
    data: PathBuf,
    /// 结算单文件（JSONL）
    #[arg(long)]
    claims: PathBuf,
    /// 端到端测试额外使用的并行线程数（0 = 不测并行）
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

/// Peak resident memory of this process (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn run(a: BenchArgs) -> Result<()> {
    let policies = load_policies(&a.policy).map_err(anyhow::Error::msg)?;
    let refdata = load_dir(&a.data).map_err(anyhow::Error::msg)?;
    let bytes = std::fs::read(&a.claims)
        .with_context(|| format!("无法读取结算单文件 {}", a.claims.display()))?;
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len();
    println!("结算单 {} 条，{:.1} MiB", n, bytes.len() as f64 / 1048576.0);

    // Parsing alone, line by line as `yibao settle` does (each record dropped after use).
    let t = Instant::now();
    let mut settle_records = 0u64;
    for l in &lines {
        settle_records += u64::from(matches!(parse_line(l), Record::Settle(_)));
    }
    let parse_s = t.elapsed().as_secs_f64();
    println!(
        "JSON 解析（单核，逐行）：{:.3} 秒，{:.0} 条/秒，{:.0} MiB/秒（结算记录 {settle_records}）",
        parse_s,
        n as f64 / parse_s,
        bytes.len() as f64 / 1048576.0 / parse_s
    );
    let records: Vec<Record<'_>> = lines.iter().map(|l| parse_line(l)).collect();
    let drafts: Vec<_> = records
        .iter()
        .map(|r| match r {
            Record::Settle(raw) => Some(raw.draft()),
            _ => None,
        })
        .collect();

    // Engine only: validation + computation + ledger, on pre-parsed drafts, one core.
    let mut ledger = MemLedger::new();
    let (mut ok, mut rejected) = (0u64, 0u64);
    let t = Instant::now();
    for (rec, draft) in records.iter().zip(&drafts) {
        let r = match (rec, draft) {
            (_, Some(d)) => {
                let policy = policies.for_person(&refdata, d.psn_no.text());
                settle(policy, &refdata, &mut ledger, d, false).map(|_| ())
            }
            (Record::Reverse { target, .. }, None) => match target.as_str() {
                Some(t) => reverse(&mut ledger, t).map(|_| ()),
                None => Err(yibao_core::Rejection::invalid("").into()),
            },
            _ => Err(yibao_core::Rejection::invalid("").into()),
        };
        if r.is_ok() {
            ok += 1;
        } else {
            rejected += 1;
        }
    }
    let engine_s = t.elapsed().as_secs_f64();
    println!(
        "引擎（单核，已解析的记录：校验+计算+累计）：{:.3} 秒，{:.0} 条/秒（成功 {ok}，拒绝 {rejected}）",
        engine_s,
        n as f64 / engine_s
    );
    let acc_size = std::mem::size_of::<YearAccumulators>();
    // A hash-map entry holds the (person, year) key and the value, plus one control byte.
    let entry = std::mem::size_of::<((u32, u16), YearAccumulators)>() + 1;
    println!(
        "累计值状态：{} 个人员年度，每人年 {} 字节（含键与哈希表控制字节约 {} 字节）",
        ledger.person_years(),
        acc_size,
        entry
    );
    drop(drafts);
    drop(records);
    drop(ledger);

    let exe = std::env::current_exe().context("找不到 yibao 可执行文件")?;
    let mut jobs_list = vec![1];
    if a.jobs > 1 {
        jobs_list.push(a.jobs);
    }
    for jobs in jobs_list {
        let t = Instant::now();
        let mut cmd = Command::new(&exe);
        cmd.arg("settle");
        for p in &a.policy {
            cmd.arg("--policy").arg(p);
        }
        let out = cmd
            .arg("--data")
            .arg(&a.data)
            .arg("--claims")
            .arg(&a.claims)
            .arg("--out")
            .arg("/dev/null")
            .arg("--jobs")
            .arg(jobs.to_string())
            .output()
            .context("无法启动 yibao settle")?;
        let secs = t.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!(
            "端到端 yibao settle --jobs {jobs}（JSONL 进、JSONL 出，含加载参考数据）：{:.3} 秒，{:.0} 条/秒；{}",
            secs,
            n as f64 / secs,
            stderr.trim()
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchStoreArgs {
    #[command(flatten)]
    db: crate::register::DbArg,
    /// 查询次数
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// 查询日期
    #[arg(long, default_value = "2024-06-01")]
    date: String,
    /// 并发查询数（同时进行的查询）
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

/// `yibao bench-store`: eligibility look-ups per second against the store.
pub fn run_store(a: BenchStoreArgs) -> Result<()> {
    let on = crate::register::parse_date("--date", &a.date)?;
    if a.concurrency == 0 || a.concurrency > 64 {
        anyhow::bail!("--concurrency={} 无效：应为 1 到 64", a.concurrency);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("无法启动异步运行时")?;
    rt.block_on(async {
        let store = crate::register::open(&a.db).await?;
        let all: Vec<String> = sqlx_psn_nos(&store).await?;
        if all.is_empty() {
            anyhow::bail!("数据库中没有人员：请先 yibao enrol import 或 yibao load");
        }
        // A fixed pseudo-random sample (the same every run).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let sample: Vec<String> = (0..a.lookups)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                all[(x % all.len() as u64) as usize].clone()
            })
            .collect();
        for concurrency in [1, a.concurrency] {
            let t = Instant::now();
            let chunks: Vec<Vec<String>> = sample
                .chunks(sample.len().div_ceil(concurrency))
                .map(<[String]>::to_vec)
                .collect();
            let mut tasks = Vec::new();
            for chunk in chunks {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut eligible = 0usize;
                    for p in &chunk {
                        if store.eligibility(p, on).await?.is_some_and(|e| e.eligible) {
                            eligible += 1;
                        }
                    }
                    Ok::<usize, yibao_store::StoreError>(eligible)
                }));
            }
            let mut eligible = 0;
            for t in tasks {
                eligible += t.await.context("查询任务失败")??;
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "资格查询（{:?}，并发 {concurrency}）：{} 次，{:.2} 秒，{:.0} 次/秒（可享受待遇 {eligible}）",
                store.backend(),
                sample.len(),
                s,
                sample.len() as f64 / s
            );
        }
        Ok(())
    })
}

async fn sqlx_psn_nos(store: &yibao_store::Store) -> Result<Vec<String>> {
    Ok(store.all_psn_nos().await?)
}
