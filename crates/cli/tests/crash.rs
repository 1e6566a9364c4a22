//! Crash safety of the hospital gateway: `yibao serve` is killed with SIGKILL again and again
//! while HIS clients settle visits, and restarted each time. A client whose request got no
//! answer resends the same msgid (as a HIS does), so in the end every request has exactly one
//! answer. Then: every acknowledged settlement and reversal is stored once, with the answer
//! that was given; nothing is stored that was not acknowledged; no settlement is half-written
//! (its message, its visit's state); and the accumulators equal a replay of the settled
//! history. Runs on SQLite and, with `YIBAO_TEST_POSTGRES`, PostgreSQL.

mod common;

use common::{root, wait_healthy, yibao, DATA, POLICY};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yibao_his::{fee_line, CallError, HisClient};
use yibao_store::Store;

const KILLS: usize = 6;
const WORKERS: usize = 6;

/// Requests resent because the server died under them (proves the kills hit work in flight).
static RESENT: AtomicUsize = AtomicUsize::new(0);

struct Server {
    url: String,
    key_file: PathBuf,
    listen: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_yibao"))
            .args(["serve", "--listen", &self.listen, "--database", &self.url])
            .arg("--key-file")
            .arg(&self.key_file)
            .env("YIBAO_LOG", "warn")
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown of any kind.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM: graceful shutdown, which must exit 0.
    fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let ok = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            let status = c.wait().unwrap();
            assert!(status.success(), "yibao serve 优雅退出失败：{status}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends until an answer comes: a request the server died on is resent under its msgid.
async fn answered(client: &HisClient, inst: &str, infno: &str, input: Value) -> Value {
    let msgid = client.msgid(inst);
    let deadline = Instant::now() + Duration::from_secs(60);
    for attempt in 0.. {
        if attempt == 1 {
            RESENT.fetch_add(1, Ordering::Relaxed);
        }
        match client.send(inst, infno, &msgid, &input).await {
            Ok((200, v)) => return v,
            // 500 says "系统错误，交易未处理，可原报文重发" (e.g. the database went away).
            Ok((500, _)) | Err(CallError::Transport(_)) => {}
            Ok((status, v)) => panic!("{infno} HTTP {status}: {v}"),
            Err(e) => panic!("{infno}: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "{infno} msgid={msgid} 60 秒内无应答"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    unreachable!()
}

#[derive(Default)]
struct Outcome {
    /// setl_id → (institution, msgid-free answer `output`, mdtrt_id).
    settled: BTreeMap<String, (String, Value, String)>,
    reversed: BTreeSet<String>,
    refused: Vec<String>,
}

/// One HIS counter: outpatient visits of random persons, each settled, some reversed.
async fn counter(
    client: Arc<HisClient>,
    persons: Arc<Vec<String>>,
    items: Arc<Vec<(String, i64)>>,
    insts: Arc<Vec<String>>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Outcome {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Outcome::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let psn = &persons[rng.gen_range(0..persons.len())];
        let inst = &insts[rng.gen_range(0..insts.len())];
        let date = format!(
            "2024-{:02}-{:02}",
            rng.gen_range(1..=12),
            rng.gen_range(1..=28)
        );
        let v = answered(
            &client,
            inst,
            "2201",
            json!({"data": {
                "psn_no": psn, "insutype": "390", "begntime": format!("{date} 08:00:00"),
                "mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{psn}"), "ipt_otp_no": format!("C{seed}-{n}")
            }}),
        )
        .await;
        if v["infcode"] != 0 {
            out.refused.push(format!("2201 {psn}: {}", v["err_msg"]));
            break;
        }
        let mdtrt_id = v["output"]["data"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = answered(
            &client,
            inst,
            "2203",
            json!({"mdtrtinfo": {
                "mdtrt_id": mdtrt_id, "psn_no": psn, "med_type": "11", "dise_codg": "J06.9"
            }}),
        )
        .await;
        assert_eq!(v["infcode"], 0, "2203: {v}");
        let mut total = 0;
        let lines: Vec<Value> = (0..rng.gen_range(1..=10))
            .map(|k| {
                let (code, price) = &items[rng.gen_range(0..items.len())];
                let qty = rng.gen_range(1..=3);
                total += price * qty;
                fee_line(k, &mdtrt_id, psn, code, *price, qty, &date)
            })
            .collect();
        let v = answered(&client, inst, "2204", json!({ "feedetail": lines })).await;
        assert_eq!(v["infcode"], 0, "2204: {v}");
        let data = json!({"data": {
            "psn_no": psn, "mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{psn}"), "med_type": "11",
            "medfee_sumamt": yibao_core::money::format_fen(total), "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": "", "acct_used_flag": "0", "insutype": "390"
        }});
        let pre = answered(&client, inst, "2206", data.clone()).await;
        let v = answered(&client, inst, "2207", data).await;
        if v["infcode"] != 0 {
            out.refused
                .push(format!("2207 {mdtrt_id}: {}", v["err_msg"]));
            continue;
        }
        assert_eq!(pre["infcode"], 0, "2206: {pre}");
        let setl_id = v["output"]["setlinfo"]["setl_id"]
            .as_str()
            .unwrap()
            .to_string();
        out.settled.insert(
            setl_id.clone(),
            (inst.clone(), v["output"].clone(), mdtrt_id.clone()),
        );
        if rng.gen_bool(0.25) {
            let v = answered(
                &client,
                inst,
                "2208",
                json!({"data": {
                    "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn
                }}),
            )
            .await;
            assert_eq!(v["infcode"], 0, "2208: {v}");
            out.reversed.insert(setl_id);
        }
    }
    out
}

async fn crash_run(backend: &str, url: &str) {
    let dir = std::env::temp_dir().join(format!("yibao-crash-{}-{}", std::process::id(), backend));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("master.key");
    let key = key_file.to_str().unwrap();
    yibao(&[
        "load",
        "--policy",
        POLICY,
        "--data",
        DATA,
        "--database",
        url,
    ]);
    let data = yibao_files::load_dir(&root().join(DATA)).unwrap();
    let mut secrets = HashMap::new();
    let mut insts = Vec::new();
    for inst in data.institutions() {
        let secret = yibao(&[
            "keys",
            "issue",
            "--institution",
            &inst.code,
            "--database",
            url,
            "--key-file",
            key,
        ]);
        secrets.insert(inst.code.clone(), secret.trim().to_string());
        insts.push(inst.code.clone());
    }
    let persons: Vec<String> = data
        .persons
        .iter()
        .filter(|p| p.enrolled(2024) && p.suspensions.is_empty())
        .map(|p| p.psn_no.clone())
        .collect();
    // Prices within any 限价 so that every line is valid.
    let items: Vec<(String, i64)> = data
        .catalog()
        .iter()
        .map(|i| {
            let price = i
                .price_limit
                .map_or(3_000, |l| (l / 10_000).clamp(1, 3_000));
            (i.code.clone(), price)
        })
        .collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Server {
        url: url.to_string(),
        key_file: key_file.clone(),
        listen: format!("127.0.0.1:{port}"),
        log: dir.join("serve.log"),
        child: None,
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = Arc::new(HisClient::new(&base, secrets));
    server.start();
    wait_healthy(&client).await;

    let (persons, items, insts) = (Arc::new(persons), Arc::new(items), Arc::new(insts));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS as u64)
        .map(|seed| {
            tokio::spawn(counter(
                client.clone(),
                persons.clone(),
                items.clone(),
                insts.clone(),
                seed,
                stop.clone(),
            ))
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..900))).await;
        server.kill();
        server.start();
        wait_healthy(&client).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Outcome::default();
    for w in workers {
        let o = w.await.unwrap();
        all.settled.extend(o.settled);
        all.reversed.extend(o.reversed);
        all.refused.extend(o.refused);
    }
    server.terminate();

    assert!(
        all.refused.is_empty(),
        "{backend}: 有交易被拒绝：{:?}",
        all.refused
    );
    assert!(
        all.settled.len() >= 20,
        "{backend}: 负载太少，只结算了 {} 笔",
        all.settled.len()
    );
    let resent = RESENT.swap(0, Ordering::Relaxed);
    assert!(resent > 0, "{backend}: 没有一次 SIGKILL 落在处理中的请求上");
    let store = Store::open(Some(url)).await.unwrap();
    let stored = store.settlements().await.unwrap();
    let ids: BTreeSet<&str> = stored.iter().map(|s| s.setl_id.as_str()).collect();
    assert_eq!(ids.len(), stored.len(), "{backend}: 结算号重复");
    // Exactly what was acknowledged is stored, with the answer that was given.
    let acked: BTreeSet<&str> = all.settled.keys().map(String::as_str).collect();
    assert_eq!(ids, acked, "{backend}: 库中结算与已应答结算不一致");
    for s in &stored {
        let (inst, output, mdtrt_id) = &all.settled[&s.setl_id];
        assert_eq!(&s.mdtrt_id, mdtrt_id);
        let kept: Value = serde_json::from_str(&s.output).unwrap();
        assert_eq!(&kept, output, "{backend}: {} 的应答与库中不同", s.setl_id);
        assert_eq!(
            s.reversed,
            all.reversed.contains(&s.setl_id),
            "{backend}: {} 的撤销状态与应答不一致",
            s.setl_id
        );
        // Not half-written: the message that settled it is on record, and the visit's state.
        let first = store.answered(inst, &s.msgid).await.unwrap();
        let first: Value = serde_json::from_str(&first.expect("结算报文未记录")).unwrap();
        assert_eq!(&first["output"], output);
        let visit = store.visit(&s.mdtrt_id).await.unwrap().unwrap();
        let want = if s.reversed {
            yibao_core::visit::VisitState::Details
        } else {
            yibao_core::visit::VisitState::Settled
        };
        assert_eq!(visit.state, want, "{backend}: 就诊 {} 状态", s.mdtrt_id);
    }
    let off = store.accumulator_discrepancies().await.unwrap();
    assert!(
        off.is_empty(),
        "{backend}: 累计值与结算历史重放不符：{off:?}"
    );
    // The books: every answered settlement and reversal has its postings exactly once (an
    // entry's reference is unique, and the check compares each settlement's postings with
    // what it paid and each reversal's with their mirror) and every entry balances.
    let violations = store.ledger_check().await.unwrap();
    assert!(violations.is_empty(), "{backend}: 基金账簿：{violations:?}");
    yibao(&["ledger", "check", "--database", url]);
    fund_report_matches(backend, url, &store, &dir).await;
    pay_and_settle_with_the_insurer(backend, url, &store).await;

    eprintln!(
        "{backend}：SIGKILL {KILLS} 次，无应答后原 msgid 重发 {resent} 笔；已应答结算 {}，撤销 {}，库中逐笔一致，累计值与重放一致",
        all.settled.len(),
        all.reversed.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `yibao fund report` in JSON equals the store's report, and its workbook, read back with a
/// real reader, has the same totals.
async fn fund_report_matches(backend: &str, url: &str, store: &Store, dir: &std::path::Path) {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let report = store.fund_report(2024).await.unwrap();
    let json: Value = serde_json::from_str(&yibao(&[
        "fund",
        "report",
        "--year",
        "2024",
        "--database",
        url,
    ]))
    .unwrap();
    let fen = |v: &Value| yibao_core::money::parse_yuan(v.as_str().unwrap()).unwrap();
    for (field, amount) in report.expenditure() {
        assert_eq!(
            fen(&json["expenditure"][field]),
            amount,
            "{backend}: {field}"
        );
    }
    let fund = &report.funds[0];
    assert!(fund.visits > 0 && fund.spending() > 0, "{backend}");
    assert_eq!(json["visits"], fund.visits, "{backend}");
    assert_eq!(
        fen(&json["balance"]["spending"]),
        fund.spending(),
        "{backend}"
    );
    let xlsx = dir.join("fund.xlsx");
    let out = xlsx.to_str().unwrap();
    yibao(&[
        "fund",
        "report",
        "--year",
        "2024",
        "--database",
        url,
        "--format",
        "xlsx",
        "--out",
        out,
    ]);
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let yuan = |d: &Data| match d {
        Data::Float(f) => (f * 100.0).round() as i64,
        other => panic!("{backend}: 不是数字：{other:?}"),
    };
    let summary = wb.worksheet_range("基金收支总表").unwrap();
    assert_eq!(
        summary.get((0, 5)),
        Some(&Data::String("本年支出（元）".into()))
    );
    let total = summary.rows().next_back().unwrap();
    assert_eq!(total[0], Data::String("合计".into()));
    assert_eq!(
        yuan(&total[5]),
        fen(&json["balance"]["spending"]),
        "{backend}"
    );
    assert_eq!(
        yuan(&total[6]),
        fen(&json["balance"]["balance"]),
        "{backend}"
    );
    let spent = wb.worksheet_range("支出明细").unwrap();
    let total = spent.rows().next_back().unwrap();
    let all: i64 = report.expenditure().values().sum();
    assert_eq!(yuan(&total[3]), all, "{backend}: 支出明细合计");
}

/// 拨付 of a month to every institution, the 大病 insurer's premium, claims and corridor:
/// each recorded once with its entry, and the books still check.
async fn pay_and_settle_with_the_insurer(backend: &str, url: &str, store: &Store) {
    let agreement = root().join("policies/sample-county-2024-payment.toml");
    let agreement = agreement.to_str().unwrap();
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--agreement", agreement, "--database", url]);
        all.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        yibao(&args)
    };
    let statements = run(&with(&["fund", "statement", "--month", "2024-03"]));
    let payable: i64 = serde_json::Deserializer::from_str(&statements)
        .into_iter::<Value>()
        .map(|v| {
            yibao_core::money::parse_yuan(v.unwrap()["net_payable"].as_str().unwrap()).unwrap()
        })
        .sum();
    assert!(payable > 0, "{backend}: {statements}");
    run(&with(&["fund", "pay", "--month", "2024-03"]));
    let paid: i64 = store
        .transfers(yibao_core::books::EntryKind::Payment, "390", 2024)
        .await
        .unwrap()
        .iter()
        .map(|(_, _, f)| f)
        .sum();
    assert_eq!(paid, payable, "{backend}: 拨付合计与结算单不符");
    // A month is paid once.
    let again = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(with(&["fund", "pay", "--month", "2024-03"]))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(!again.status.success(), "{backend}: 同一月份拨付了两次");
    assert!(String::from_utf8_lossy(&again.stderr).contains("不能重复"));
    for i in ["1", "2", "3", "4"] {
        run(&with(&[
            "insurer",
            "premium",
            "--year",
            "2024",
            "--instalment",
            i,
        ]));
    }
    run(&with(&["insurer", "claims", "--month", "2024-03"]));
    run(&with(&["insurer", "corridor", "--year", "2024"]));
    let violations = store.ledger_check().await.unwrap();
    assert!(
        violations.is_empty(),
        "{backend}: 拨付后基金账簿：{violations:?}"
    );
}

#[test]
fn gateway_survives_sigkill_under_load() {
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        for (backend, url) in yibao_store::testing::urls("crash").await {
            crash_run(backend, &url).await;
        }
    });
}
