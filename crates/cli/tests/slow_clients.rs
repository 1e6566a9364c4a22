//! Slow clients do not hold the gateway (issue 15): a real `yibao serve` process under a
//! bounded attack of idle connections, half-sent headers and dribbled bodies still answers a
//! signed 1101 and `/healthz` promptly (measured: well under a second); above `--max-connections` a transaction gets a
//! fast 503 envelope while `/healthz` still answers; idle and half-header connections are
//! closed after `--header-timeout`; an over-long unauthenticated header is not logged; and
//! SIGTERM ends the process within `--drain-timeout` although dribbled bodies are in flight.
//! (SQLite only: the limits are the HTTP layer's, not the database's.)

mod common;

use common::{free_address, loaded_county, root, wait_healthy, Child};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yibao_gateway::ENDPOINT;
use yibao_his::HisClient;

/// How soon a legitimate request must be answered under attack. A gateway held by slow clients
/// does not answer for minutes (or at all); the bound is generous so that a busy CI machine
/// does not fail the test on timing — the measured times (well under a second) are printed.
const ANSWERED_WITHIN: Duration = Duration::from_secs(10);

const INST: &str = "H99010110000";
const PSN: &str = "P01000001";

const HEADER_TIMEOUT_SECS: u64 = 5;
const DRAIN_SECS: u64 = 3;
const MAX_CONNECTIONS: usize = 200;
const RESERVE: usize = 16;
const IDLE: usize = 80;
const HALF_HEADER: usize = 80;
const DRIBBLING: usize = 30;

/// Opens `n` connections to `addr`, each sending `prefix` first (maybe nothing).
async fn open(addr: &str, n: usize, prefix: &str) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if !prefix.is_empty() {
            s.write_all(prefix.as_bytes()).await.unwrap();
        }
        out.push(s);
    }
    out
}

/// Whether the server closed `s` (end of stream or reset) within `wait`.
async fn closed_by_server(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A response (e.g. 408) before the close: read on.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A signed 1101 through `client`: (infcode, elapsed).
async fn person_query(client: &HisClient) -> (Value, Duration) {
    let t = Instant::now();
    let v = client
        .call(INST, "1101", &json!({"data": {"psn_no": PSN}}))
        .await
        .unwrap();
    (v, t.elapsed())
}

async fn healthz(client: &HisClient) -> (bool, Duration) {
    let t = Instant::now();
    let ok = client.healthy().await;
    (ok, t.elapsed())
}

#[test]
fn slow_clients_do_not_hold_the_gateway() {
    let (dir, url, key_file, secret) = loaded_county("slow", INST);
    let secrets = HashMap::from([(INST.to_string(), secret)]);
    let addr = free_address();
    let log = dir.join("serve.log");
    let mut server = Child(Some(
        Command::new(env!("CARGO_BIN_EXE_yibao"))
            .args(["serve", "--listen", &addr, "--database", &url])
            .arg("--key-file")
            .arg(&key_file)
            .args(["--header-timeout", &HEADER_TIMEOUT_SECS.to_string()])
            .args(["--drain-timeout", &DRAIN_SECS.to_string()])
            .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
            .args(["--reserve-connections", &RESERVE.to_string()])
            .env("YIBAO_LOG", "info")
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    ));
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        let base = format!("http://{addr}");
        let client = HisClient::new(&base, secrets.clone());
        wait_healthy(&client).await;

        // 1. The attack, below the cap: idle, half-header and dribbling connections.
        let started = Instant::now();
        let mut idle = open(&addr, IDLE, "").await;
        let half = format!("POST {ENDPOINT} HTTP/1.1\r\nhost: {addr}\r\nx-tif-paa");
        let mut half = open(&addr, HALF_HEADER, &half).await;
        let dribble_head = format!(
            "POST {ENDPOINT} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: 1000000\r\n\r\n{{"
        );
        let dribblers = open(&addr, DRIBBLING, &dribble_head).await;
        let dribbling: Vec<_> = dribblers
            .into_iter()
            .map(|mut s| {
                tokio::spawn(async move {
                    // One byte every 300 ms, until the server closes or 30 s are up.
                    for _ in 0..100 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        if s.write_all(b" ").await.is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (v, took) = person_query(&client).await;
        assert_eq!(v["infcode"], 0, "受攻击时 1101 应受理：{v}");
        assert!(took < ANSWERED_WITHIN, "受攻击时 1101 用了 {took:?}");
        eprintln!("受攻击时 1101 用了 {took:?}");
        let (ok, took) = healthz(&client).await;
        assert!(ok && took < ANSWERED_WITHIN, "受攻击时 /healthz：{ok} {took:?}");

        // 2. Over the cap: a new connection's transaction gets a fast 503 envelope, and
        // /healthz (on a new connection, from the reserve) still answers.
        let over = MAX_CONNECTIONS + 4 - (IDLE + HALF_HEADER + DRIBBLING);
        let mut more = open(&addr, over, "").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let fresh = HisClient::new(&base, secrets.clone());
        let (v, took) = person_query(&fresh).await;
        assert_eq!(v["infcode"], -1, "超过连接上限时应答 503 信封：{v}");
        let msg = v["err_msg"].as_str().unwrap_or_default();
        assert!(
            msg.contains("连接数") && msg.contains(&MAX_CONNECTIONS.to_string()),
            "{msg}"
        );
        assert!(took < ANSWERED_WITHIN, "503 用了 {took:?}");
        let (ok, took) = healthz(&HisClient::new(&base, secrets.clone())).await;
        assert!(
            ok && took < ANSWERED_WITHIN,
            "超过连接上限时 /healthz：{ok} {took:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(HEADER_TIMEOUT_SECS),
            "攻击阶段太慢（{:?}），超时已开始关闭连接，测试不成立",
            started.elapsed()
        );

        // 3. After the header timeout the idle and half-header connections are closed.
        let wait = Duration::from_secs(HEADER_TIMEOUT_SECS + 3);
        for (what, conns) in [
            ("空闲", &mut idle),
            ("半截请求头", &mut half),
            ("超限后的空闲", &mut more),
        ] {
            let mut open_still = 0;
            for s in conns.iter_mut() {
                if !closed_by_server(s, wait.saturating_sub(started.elapsed())).await {
                    open_still += 1;
                }
            }
            assert_eq!(
                open_still, 0,
                "{what}连接在 {HEADER_TIMEOUT_SECS} 秒的请求头时限后仍有 {open_still} 个未关闭"
            );
        }
        // With the slots free again, a new client is served normally.
        let (v, took) = person_query(&HisClient::new(&base, secrets.clone())).await;
        assert_eq!(v["infcode"], 0, "连接关闭后 1101 应受理：{v}");
        assert!(took < ANSWERED_WITHIN, "1101 用了 {took:?}");

        // 4. An over-long unauthenticated header is refused and not logged.
        let long = "X".repeat(100_000);
        let resp = reqwest::Client::new()
            .post(format!("{base}{ENDPOINT}"))
            .header("x-tif-paasid", &long)
            .header(
                "x-tif-timestamp",
                yibao_gateway::wire::unix_now().to_string(),
            )
            .header("x-tif-nonce", "n")
            .header("x-tif-signature", "s")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let text = resp.text().await.unwrap();
        assert!(!text.contains("XX"), "超长请求头被回显：{}", &text[..200.min(text.len())]);

        // 5. SIGTERM with dribbled bodies still in flight: the process ends within the drain.
        let pid = server.0.as_ref().unwrap().id().to_string();
        let t = Instant::now();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let mut child = server.0.take().unwrap();
        let bound = Duration::from_secs(DRAIN_SECS + 3);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if t.elapsed() > bound {
                let _ = child.kill();
                let _ = child.wait();
                panic!("SIGTERM 后 {bound:?} 内未退出（停机等待时限 {DRAIN_SECS} 秒）");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "yibao serve 退出状态 {status}");
        eprintln!(
            "慢客户端 {} 个（空闲 {IDLE}、半截请求头 {HALF_HEADER}、慢速请求体 {DRIBBLING}）+ 超限 {over} 个：\
             1101 与 /healthz 及时应答，超限答 503，请求头时限后连接关闭，SIGTERM 后 {:?} 退出",
            IDLE + HALF_HEADER + DRIBBLING,
            t.elapsed()
        );
        for d in dribbling {
            d.abort();
        }
    });
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        !logged.contains("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
        "超长请求头被写入日志"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
