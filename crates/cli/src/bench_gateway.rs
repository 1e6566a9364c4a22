//! `yibao bench-gateway`: settlements per second through the hospital gateway on loopback.
//!
//! Loads a reference data directory into the database, starts the gateway in this process on
//! 127.0.0.1, opens visits with ~10 fee lines each (2201 → 2203 → 2204, not timed), then
//! times 2207 settlements sent by `--concurrency` clients over HTTP keep-alive connections.
//! With `--pgbench`, also runs PostgreSQL's TPC-B-like `pgbench` (20 s) against the same
//! server in the same run, just before and just after the timed settlements, and prints the
//! ratio to their mean. Also prints the CPU time the process (gateway and load client) used
//! per settlement: on a shared machine, steadier than the rate.

use crate::register::{read_policy, LoadArgs};
use anyhow::{anyhow, bail, Context, Result};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yibao_gateway::keys::new_secret;
use yibao_gateway::{Gateway, MasterKey};
use yibao_his::{fee_line, HisClient};
use yibao_store::{Backend, Operator};

#[derive(clap::Args)]
pub struct BenchGatewayArgs {
    /// 政策、参考数据目录（yibao gen 生成）与数据库
    #[command(flatten)]
    load: LoadArgs,
    /// 结算的就诊数（每个约 10 条明细）
    #[arg(long, default_value_t = 20_000)]
    visits: usize,
    /// 每个就诊的明细条数
    #[arg(long, default_value_t = 10)]
    lines: usize,
    /// 并发客户端数
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// 同时运行 pgbench（TPC-B 类）作对照（仅 PostgreSQL）；值为 pgbench 连接串，如
    /// "host=127.0.0.1 port=5432 user=postgres dbname=test"
    #[arg(long)]
    pgbench: Option<String>,
    /// 随机种子
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Calls and fails on a refusal: the benchmark's visits are all valid.
async fn call(client: &HisClient, inst: &str, infno: &str, input: Value) -> Result<Value> {
    let v = client.call(inst, infno, &input).await?;
    if v["infcode"] != 0 {
        bail!("{infno} 被拒绝：{}", v["err_msg"]);
    }
    Ok(v)
}

struct PlannedVisit {
    inst: String,
    psn_no: String,
    mdtrt_id: String,
    total: String,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub fn run(a: BenchGatewayArgs) -> Result<()> {
    if a.concurrency == 0 || a.concurrency > 1024 {
        bail!("--concurrency={} 无效：应为 1 到 1024", a.concurrency);
    }
    if a.visits == 0 || a.lines == 0 || a.lines > 500 {
        bail!("--visits 应大于 0，--lines 应为 1 到 500");
    }
    crate::serve::init_logging("warn");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("无法启动异步运行时")?;
    rt.block_on(bench(a))
}

async fn bench(a: BenchGatewayArgs) -> Result<()> {
    let data = yibao_files::load_dir(&a.load.data).map_err(|e| anyhow!("{e}"))?;
    let op = Operator("bench".into());
    let t = Instant::now();
    let (store, _) = a.load.load(&op).await?;
    let policy = read_policy(&a.load.policy)?.0;
    eprintln!("参考数据已载入（{:.1} 秒）", t.elapsed().as_secs_f64());

    // Keys, sealed with a master key that lives only in this process.
    let mut key = [0u8; 32];
    rand::thread_rng().fill(&mut key);
    let master = MasterKey::from_bytes(key);
    let mut secrets = std::collections::HashMap::new();
    for inst in data.institutions() {
        let s = new_secret();
        store.insert_key(&op, &inst.code, &master.seal(&s)).await?;
        secrets.insert(inst.code.clone(), s);
    }
    let gateway = Gateway::new(store.clone(), master)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(yibao_gateway::serve(gateway, listener, async {
        let _ = stop_rx.await;
    }));
    let client = Arc::new(HisClient::new(&format!("http://{addr}"), secrets));

    // Visits of enrolled persons with fee lines of catalog items (not timed).
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
    let enrolled: Vec<&yibao_core::refdata::Person> = data
        .persons
        .iter()
        .filter(|p| p.enrolled(policy.year) && p.suspensions.is_empty())
        .collect();
    if enrolled.is_empty() || data.catalog().is_empty() || data.institutions().is_empty() {
        bail!("参考数据中没有 {} 年度参保人员、目录或机构", policy.year);
    }
    let items: Vec<&yibao_core::refdata::CatalogItem> = data.catalog().iter().collect();
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut plans = Vec::with_capacity(a.visits);
    for _ in 0..a.visits {
        let p = enrolled[rng.gen_range(0..enrolled.len())];
        let inst = &data.institutions()[rng.gen_range(0..data.institutions().len())];
        let day = rng.gen_range(1..=28);
        let month = rng.gen_range(1..=12);
        let lines: Vec<(String, i64, i64)> = (0..a.lines)
            .map(|_| {
                let item = items[rng.gen_range(0..items.len())];
                let price_fen = item
                    .price_limit
                    .map(|l| (l / 10_000).clamp(1, 100_000))
                    .unwrap_or_else(|| rng.gen_range(100..20_000));
                (item.code.clone(), price_fen, rng.gen_range(1..4))
            })
            .collect();
        plans.push((
            inst.code.clone(),
            p.psn_no.clone(),
            format!("{}-{month:02}-{day:02}", policy.year),
            lines,
        ));
    }
    let plans = Arc::new(plans);
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (client, plans, next) = (client.clone(), plans.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((inst, psn, date, lines)) = plans.get(i) else {
                    break;
                };
                let v = call(&client, inst, "2201", json!({"data": {
                        "psn_no": psn, "insutype": "390", "begntime": format!("{date} 08:00:00"),
                        "mdtrt_cert_type": "01", "mdtrt_cert_no": "EC", "ipt_otp_no": format!("B{i}")
                    }}))
                    .await?;
                let mdtrt_id = v["output"]["data"]["mdtrt_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                call(&client, inst, "2203", json!({"mdtrtinfo": {
                        "mdtrt_id": mdtrt_id, "psn_no": psn, "med_type": "11", "dise_codg": "I10"
                    }}))
                    .await?;
                let mut total = 0i64;
                let feedetail: Vec<Value> = lines
                    .iter()
                    .enumerate()
                    .map(|(k, (code, price, qty))| {
                        total += price * qty;
                        fee_line(k, &mdtrt_id, psn, code, *price, *qty, date)
                    })
                    .collect();
                call(&client, inst, "2204", json!({ "feedetail": feedetail })).await?;
                out.push(PlannedVisit {
                    inst: inst.clone(),
                    psn_no: psn.clone(),
                    mdtrt_id,
                    total: yibao_core::money::format_fen(total),
                });
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut visits = Vec::with_capacity(a.visits);
    for t in tasks {
        visits.extend(t.await.context("准备任务失败")??);
    }
    eprintln!(
        "已准备就诊 {}（挂号、就诊信息、明细共 {} 笔交易，{:.1} 秒）",
        visits.len(),
        visits.len() * 3,
        t.elapsed().as_secs_f64()
    );

    // Timed: 2207 settlements.
    if a.pgbench.is_some() && store.backend() != Backend::Postgres {
        bail!("--pgbench 只用于 PostgreSQL（--database postgres://…）");
    }
    // pgbench on each side of the gateway's run, so that the ratio is not one of two
    // moments of a machine whose speed drifts; each measurement starts from a checkpoint,
    // not paying for the writes of the one before.
    let pgbench_before = match &a.pgbench {
        Some(conn) => {
            pgbench_init(conn)?;
            settle_down(&store).await;
            Some(pgbench_tps(conn, a.concurrency)?)
        }
        None => None,
    };
    settle_down(&store).await;
    let visits = Arc::new(visits);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = process_cpu_seconds();
    let held_before = store.writer_held();
    let groups_before = store.commit_groups();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let (client, visits, next) = (client.clone(), visits.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut refused = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(v) = visits.get(i) else { break };
                let t = Instant::now();
                let r = call(&client, &v.inst, "2207", json!({"data": {
                        "psn_no": v.psn_no, "mdtrt_cert_type": "01", "mdtrt_cert_no": "EC",
                        "med_type": "11", "medfee_sumamt": v.total, "psn_setlway": "01",
                        "mdtrt_id": v.mdtrt_id, "chrg_bchno": "", "acct_used_flag": "0", "insutype": "390"
                    }}))
                    .await;
                lat.push(t.elapsed());
                if r.is_err() {
                    refused += 1;
                }
            }
            (lat, refused)
        }));
    }
    let mut lat = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (l, r) = t.await.context("结算任务失败")?;
        lat.extend(l);
        refused += r;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds().zip(cpu_before).map(|(b, a)| b - a);
    lat.sort();
    let rate = lat.len() as f64 / secs;
    println!(
        "网关结算 2207（{:?}，并发 {}，每单 {} 条明细）：{} 笔，{:.2} 秒，{:.0} 笔/秒；延迟 p50 {:.1} ms，p99 {:.1} ms，最大 {:.1} ms；拒绝 {refused}",
        store.backend(),
        a.concurrency,
        a.lines,
        lat.len(),
        secs,
        rate,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
    );
    if let Some(cpu) = cpu {
        println!(
            "本进程（网关与压测客户端）CPU：{cpu:.2} 秒，每笔 {:.0} 微秒，平均占用 {:.2} 核",
            cpu / lat.len().max(1) as f64 * 1e6,
            cpu / secs
        );
    }
    let (n, held) = store.writer_held();
    let (n, held) = (n - held_before.0, held.saturating_sub(held_before.1));
    if n > 0 {
        let (groups, busy, syncs) = store.commit_groups();
        let (groups, busy, syncs) = (
            groups - groups_before.0,
            busy.saturating_sub(groups_before.1),
            syncs - groups_before.2,
        );
        println!(
            "SQLite 写入轮次：{n} 笔交易平均持有 {:.3} ms，合计占计时的 {:.0}%；分 {groups} 组提交，平均每组 {:.1} 笔、{:.3} ms，提交合计占计时的 {:.0}%（接近 100% 即提交是瓶颈）；应答前 WAL 落盘（fdatasync）{syncs} 次",
            held.as_secs_f64() * 1000.0 / n as f64,
            held.as_secs_f64() / secs * 100.0,
            n as f64 / groups.max(1) as f64,
            busy.as_secs_f64() * 1000.0 / groups.max(1) as f64,
            busy.as_secs_f64() / secs * 100.0
        );
    }
    let _ = stop_tx.send(());
    server.await.context("网关任务失败")??;
    if let (Some(conn), Some(before)) = (&a.pgbench, pgbench_before) {
        settle_down(&store).await;
        let after = pgbench_tps(conn, a.concurrency)?;
        let tps = (before + after) / 2.0;
        println!(
            "pgbench（TPC-B 类，同一服务器，网关压测前后各 20 秒，并发 {}）：之前 {before:.0} tps，之后 {after:.0} tps，平均 {tps:.0} tps；网关结算 / pgbench = {:.2}",
            a.concurrency.min(64),
            rate / tps
        );
    }
    Ok(())
}

/// CPU seconds (user + system, all threads) this process has used, from /proc (Linux;
/// `None` elsewhere). /proc counts in USER_HZ ticks, 100 a second on Linux.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A checkpoint, then a moment for background work to finish. Best effort: without the
/// right to `CHECKPOINT` the measurements still run.
async fn settle_down(store: &yibao_store::Store) {
    if let Err(e) = store.checkpoint().await {
        eprintln!("（未能做检查点：{e}）");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Initialises pgbench's tables (scale 10).
fn pgbench_init(conn: &str) -> Result<()> {
    let status = std::process::Command::new("pgbench")
        .args(["-i", "-q", "-s", "10"])
        .arg(conn)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("无法运行 pgbench（需要安装 postgresql-contrib / postgresql-client）")?;
    if !status.success() {
        bail!("pgbench -i 失败：{status}");
    }
    Ok(())
}

/// Runs pgbench for 20 seconds and reads its tps.
fn pgbench_tps(conn: &str, clients: usize) -> Result<f64> {
    let out = std::process::Command::new("pgbench")
        .args(["-c", &clients.min(64).to_string(), "-j", "2", "-T", "20"])
        .arg(conn)
        .output()
        .context("无法运行 pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
        .ok_or_else(|| {
            anyhow!(
                "无法读出 pgbench 的 tps：{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}
