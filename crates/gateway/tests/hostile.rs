//! Hostile and odd request bodies and headers (issue 15): every refusal is an `infcode -1`
//! envelope with a Chinese `err_msg` — an oversized body, a wrong path or method included; the
//! body limit leaves room for the documented 10,000-line cap at realistic line sizes; a leading
//! UTF-8 byte order mark is ignored; text fields have the national lengths, and an over-long
//! header is never echoed back.

mod common;

use common::{err, ok, on_every_backend, Harness};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yibao_gateway::keys::signature;
use yibao_gateway::{ENDPOINT, MAX_BODY_BYTES};
use yibao_his::fee_line;

const OTP_INST: &str = "H99010110000";
const OTP_PSN: &str = "P01000001";
const IPT_INST: &str = "H99010110004";
const IPT_PSN: &str = "P01000006";

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// A 2301 fee line as a HIS fills it: the fields the gateway reads plus the national
/// specification's other fields, with Chinese department, doctor and dosage text.
fn realistic_line(sn: usize, mdtrt_id: &str, psn: &str) -> Value {
    let mut line = fee_line(sn, mdtrt_id, psn, "S0100001", 123, 1, "2024-05-07");
    let extra = json!({
        "init_feedetl_sn": "", "drord_no": format!("YZ2024050700{sn:06}"), "med_type": "21",
        "medins_list_codg": format!("YN-XY-{sn:08}-0001"), "chrg_bchno": format!("SF20240507{sn:08}"),
        "dise_codg": "J18.900", "rxno": format!("CF2024050700{sn:06}"), "rx_circ_flag": "0",
        "sin_dos_dscr": "每次 0.5 克", "used_frqu_dscr": "每日三次（饭后）", "prd_days": "3",
        "medc_way_dscr": "口服", "bilg_dept_codg": "A03.06", "bilg_dept_name": "呼吸内科病区",
        "bilg_dr_codg": "D110105198001010011", "bilg_dr_name": "欧阳医生", "acord_dept_codg": "A03.06",
        "acord_dept_name": "呼吸内科病区", "orders_dr_code": "D110105198001010011",
        "orders_dr_name": "欧阳医生", "hosp_appr_flag": "1", "tcmdrug_used_way": "",
        "etip_flag": "0", "etip_hosp_code": "", "dscg_tkdrug_flag": "0", "matn_fee_flag": "0",
        "memo": "住院医嘱执行记录"
    });
    for (k, v) in extra.as_object().unwrap() {
        line[k] = v.clone();
    }
    line
}

/// Admits `IPT_PSN` at `IPT_INST`: the mdtrt_id.
async fn admit(h: &Harness, ipt_no: &str) -> String {
    let v = h
        .call(
            IPT_INST,
            "2401",
            json!({"mdtrtinfo": {
                "psn_no": IPT_PSN, "insutype": "390", "begntime": "2024-05-06 10:00:00",
                "mdtrt_cert_type": "01", "mdtrt_cert_no": "EC1", "med_type": "21",
                "ipt_no": ipt_no, "dise_codg": "J18.9", "dise_name": "肺炎"
            }, "diseinfo": []}),
        )
        .await;
    assert!(ok(&v), "{}: 2401 {v}", h.backend);
    v["output"]["result"]["mdtrt_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The limit fits 10,000 realistic lines with room to spare, and such an upload is accepted.
#[test]
fn ten_thousand_realistic_lines_fit_the_body_limit() {
    on_every_backend("gw_hostile_lines", |h| async move {
        let b = h.backend;
        let mdtrt_id = admit(&h, "ZY7001").await;
        let n = yibao_core::money::MAX_LINES_PER_CLAIM;
        let lines: Vec<Value> = (1..=n)
            .map(|k| realistic_line(k, &mdtrt_id, IPT_PSN))
            .collect();
        let one = lines[n - 1].to_string().len();
        let body = h
            .envelope(
                IPT_INST,
                "2301",
                &h.msgid(IPT_INST),
                json!({ "feedetail": lines }),
            )
            .to_string();
        eprintln!(
            "{b}: 一条明细 {one} 字节，{n} 条的请求体 {} 字节，上限 {MAX_BODY_BYTES}",
            body.len()
        );
        assert!(
            body.len() * 3 / 2 <= MAX_BODY_BYTES,
            "{b}: {n} 条明细 {} 字节，上限 {MAX_BODY_BYTES} 余量不足一半",
            body.len()
        );
        let (status, v) = h.send_signed(IPT_INST, body).await;
        assert_eq!(status, 200, "{b}: {v}");
        assert!(ok(&v), "{b}: 2301 {} 条：{}", n, err(&v));
        assert_eq!(v["output"]["result"].as_array().unwrap().len(), n);
        h
    });
}

/// Sends raw request bytes on a new connection; the status and the body of the answer.
async fn raw(h: &Harness, head: &str, body: &[u8]) -> (u16, String) {
    let addr = h.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    // The body may be refused before it is read: a failed write is not the test's concern.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn assert_envelope(b: &str, what: &str, status: u16, body: &str, want_status: u16, needle: &str) {
    assert_eq!(status, want_status, "{b}: {what}: HTTP {status} {body}");
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{b}: {what} 应答不是 JSON 信封（{e}）：{body}"));
    assert_eq!(v["infcode"], -1, "{b}: {what}: {v}");
    let msg = err(&v);
    assert!(
        has_chinese(&msg) && msg.contains(needle),
        "{b}: {what}: {msg}"
    );
}

/// An oversized body, a wrong path and a wrong method each get a Chinese refusal envelope.
#[test]
fn refusals_outside_the_transactions_are_envelopes() {
    on_every_backend("gw_hostile_size", |h| async move {
        let b = h.backend;
        let ts = Harness::now().to_string();
        let nonce = h.nonce();
        let sig = signature(&ts, &h.secrets[OTP_INST], &nonce);
        let signed_head = |len: usize| {
            format!(
                "POST {ENDPOINT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                 x-tif-paasid: {OTP_INST}\r\nx-tif-timestamp: {ts}\r\nx-tif-nonce: {nonce}\r\n\
                 x-tif-signature: {sig}\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
            )
        };
        // Declared over the limit: refused before the body is read.
        let (status, body) = raw(&h, &signed_head(MAX_BODY_BYTES + 1), b"").await;
        assert_envelope(
            b,
            "请求体超限（声明长度）",
            status,
            &body,
            200,
            "请求体超过上限",
        );
        // Sent over the limit in chunks (no declared length).
        let head = format!(
            "POST {ENDPOINT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             x-tif-paasid: {OTP_INST}\r\nx-tif-timestamp: {ts}\r\nx-tif-nonce: {nonce}\r\n\
             x-tif-signature: {sig}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        let chunk = vec![b' '; 1 << 20];
        let mut chunks = Vec::new();
        for _ in 0..(MAX_BODY_BYTES >> 20) + 2 {
            chunks.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            chunks.extend_from_slice(&chunk);
            chunks.extend_from_slice(b"\r\n");
        }
        chunks.extend_from_slice(b"0\r\n\r\n");
        let (status, body) = raw(&h, &head, &chunks).await;
        assert_envelope(
            b,
            "请求体超限（分块）",
            status,
            &body,
            200,
            "请求体超过上限",
        );
        // A path that is not the interface's, and a method it does not take.
        let (status, body) = raw(
            &h,
            "GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            b"",
        )
        .await;
        assert_envelope(b, "未知路径", status, &body, 404, ENDPOINT);
        let head = format!("GET {ENDPOINT} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let (status, body) = raw(&h, &head, b"").await;
        assert_envelope(b, "错误方法", status, &body, 405, "POST");
        h
    });
}

/// A body that starts with a UTF-8 byte order mark is read as the JSON after it.
#[test]
fn a_leading_byte_order_mark_is_ignored() {
    on_every_backend("gw_hostile_bom", |h| async move {
        let b = h.backend;
        let body = h
            .envelope(
                OTP_INST,
                "1101",
                &h.msgid(OTP_INST),
                json!({"data": {"psn_no": OTP_PSN}}),
            )
            .to_string();
        let (status, v) = h.send_signed(OTP_INST, format!("\u{feff}{body}")).await;
        assert_eq!(status, 200, "{b}: {v}");
        assert!(ok(&v), "{b}: 带 BOM 的 1101 应受理：{}", err(&v));
        assert_eq!(v["output"]["baseinfo"]["psn_no"], OTP_PSN, "{b}: {v}");
        h
    });
}

/// Over-long field values are refused naming the field, its length and the limit, with at
/// most a short prefix of the value; an over-long header is not echoed at all.
#[test]
fn over_long_values_are_refused_and_never_echoed() {
    on_every_backend("gw_hostile_len", |h| async move {
        let b = h.backend;
        let long = "P".repeat(10_000);
        let v = h
            .call(OTP_INST, "1101", json!({"data": {"psn_no": long}}))
            .await;
        let msg = err(&v);
        assert_eq!(v["infcode"], -1, "{b}: {v}");
        for needle in ["input.data.psn_no", "10000", "超过上限 30"] {
            assert!(msg.contains(needle), "{b}: 应含「{needle}」：{msg}");
        }
        assert!(msg.chars().count() < 120, "{b}: 信息过长：{msg}");

        // A fee line whose item code is one character over the national 50.
        let mdtrt_id = admit(&h, "ZY7002").await;
        let mut line = fee_line(1, &mdtrt_id, IPT_PSN, "S0100001", 100, 1, "2024-05-07");
        line["med_list_codg"] = json!("S".repeat(51));
        let v = h
            .call(IPT_INST, "2301", json!({ "feedetail": [line] }))
            .await;
        let msg = err(&v);
        assert_eq!(v["infcode"], -1, "{b}: {v}");
        for needle in ["input.feedetail[0].med_list_codg", "51", "超过上限 50"] {
            assert!(msg.contains(needle), "{b}: 应含「{needle}」：{msg}");
        }
        // 50 characters are within the limit (and refused only as an unknown item).
        line["med_list_codg"] = json!("S".repeat(50));
        let v = h
            .call(IPT_INST, "2301", json!({ "feedetail": [line] }))
            .await;
        assert!(!err(&v).contains("超过上限"), "{b}: {v}");

        // The envelope's msgid.
        let body = h
            .envelope(OTP_INST, "1101", &"9".repeat(5_000), json!({}))
            .to_string();
        let (_, v) = h.send_signed(OTP_INST, body).await;
        let msg = err(&v);
        assert!(
            v["infcode"] == -1 && !msg.contains(&"9".repeat(40)),
            "{b}: {msg}"
        );

        // Unauthenticated headers: a 100,000-character paasid is not echoed; a short odd one
        // only as a sanitized prefix.
        let request = h
            .envelope(
                OTP_INST,
                "1101",
                &h.msgid(OTP_INST),
                json!({"data": {"psn_no": OTP_PSN}}),
            )
            .to_string();
        for (what, paasid, absent) in [
            ("超长", "X".repeat(100_000), "XX"),
            ("含特殊字符", "<b>H99\"'".to_string(), "<b>"),
        ] {
            let (status, v) = h
                .send(
                    &paasid,
                    "guess",
                    Harness::now(),
                    &h.nonce(),
                    request.clone(),
                )
                .await;
            let msg = err(&v);
            assert_eq!(status, 401, "{b}: {what}: {v}");
            assert!(
                has_chinese(&msg) && msg.contains("x-tif-paasid"),
                "{b}: {what}: {msg}"
            );
            assert!(!msg.contains(absent), "{b}: {what} 的请求头被回显：{msg}");
            assert!(msg.chars().count() < 120, "{b}: {what}: {msg}");
        }
        h
    });
}

/// Large bodies in flight beyond the large-body budget (each declaring the limit, sending
/// nothing) do not hold up a counter transaction, which needs no share of the budget.
#[test]
fn large_bodies_in_flight_do_not_block_counter_transactions() {
    on_every_backend("gw_hostile_budget", |h| async move {
        let b = h.backend;
        let addr = h.base.trim_start_matches("http://").to_string();
        let head = format!(
            "POST {ENDPOINT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {MAX_BODY_BYTES}\r\n\r\n{{"
        );
        let n = yibao_gateway::LARGE_BODIES_BUDGET_BYTES / MAX_BODY_BYTES + 2;
        let mut held = Vec::new();
        for _ in 0..n {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(head.as_bytes()).await.unwrap();
            held.push(s);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let t = std::time::Instant::now();
        let v = h
            .call(OTP_INST, "1101", json!({"data": {"psn_no": OTP_PSN}}))
            .await;
        assert!(ok(&v), "{b}: {v}");
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{b}: {n} 个大请求体在途时 1101 用了 {:?}",
            t.elapsed()
        );
        drop(held);
        h
    });
}
