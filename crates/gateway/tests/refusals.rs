//! The gateway refuses bad requests and records nothing (`interface.md` §3): every refusal is
//! `infcode: -1` with a Chinese `err_msg` naming the field or value at fault, and the business
//! rows (visits, fee lines, settlements, reversals, accumulators) stay exactly as they were.
//! Authentication failures are HTTP 401 and leave no trace of the message at all.

mod common;

use common::{err, ok, on_every_backend, Harness};
use serde_json::{json, Value};

/// Institution A (level 1, settles 门诊) and institution B, another hospital.
const A: &str = "H99010110000";
const B: &str = "H99010110001";
/// A person enrolled and paid in 2024 who settles 门诊 at A.
const OTP_PSN: &str = "P01000001";
/// An institution and person that settle 住院.
const IPT_INST: &str = "H99010110004";
const IPT_PSN: &str = "P01000006";
/// In the register, but enrolled only for 2023 (`enrolments: [2023]` in persons.jsonl).
const NOT_ENROLLED_PSN: &str = "P01000029";
/// The two lines every test visit uploads, and their sum.
const LINES_SUM: &str = "55.50";

async fn snapshot(h: &Harness) -> String {
    h.store.gateway_snapshot().await.unwrap()
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// `v` is a refusal whose `err_msg` is Chinese and names every one of `needles`, and the
/// business rows are still `before`.
async fn assert_refused(h: &Harness, before: &str, what: &str, v: &Value, needles: &[&str]) {
    let b = h.backend;
    assert_eq!(v["infcode"], -1, "{b}: {what} 应被拒绝：{v}");
    let msg = err(v);
    assert!(has_chinese(&msg), "{b}: {what} 的 err_msg 应为中文：{v}");
    for n in needles {
        assert!(msg.contains(n), "{b}: {what} 的 err_msg 应含「{n}」：{msg}");
    }
    assert_eq!(
        snapshot(h).await,
        before,
        "{b}: {what} 被拒绝（{msg}），却改变了业务数据"
    );
}

/// An HTTP 401 refusal after which nothing at all is recorded for `msgid` (and, unless it
/// was used before, for `nonce`).
#[allow(clippy::too_many_arguments)]
async fn assert_unauthorized(
    h: &Harness,
    before: &str,
    what: &str,
    (status, v): (u16, Value),
    inst: &str,
    nonce: Option<&str>,
    msgid: &str,
    needles: &[&str],
) {
    let b = h.backend;
    assert_eq!(status, 401, "{b}: {what} 应为 HTTP 401：{v}");
    assert!(err(&v).starts_with("认证失败"), "{b}: {what}：{v}");
    assert_refused(h, before, what, &v, needles).await;
    if let Some(nonce) = nonce {
        assert!(
            !h.store.nonce_used(inst, nonce).await.unwrap(),
            "{b}: {what} 被拒绝，却记录了随机串 {nonce}"
        );
    }
    for code in [A, B, inst] {
        assert_eq!(
            h.store.answered(code, msgid).await.unwrap(),
            None,
            "{b}: {what} 被拒绝，却记录了报文 {msgid}"
        );
    }
}

/// Sends `body` as `inst`, correctly signed now with a fresh nonce: (status, body, nonce).
async fn signed(h: &Harness, inst: &str, body: String) -> (u16, Value, String) {
    let nonce = h.nonce();
    let (status, v) = h
        .send(inst, &h.secrets[inst], Harness::now(), &nonce, body)
        .await;
    (status, v, nonce)
}

fn register_input(psn: &str) -> Value {
    json!({"data": {
        "psn_no": psn, "insutype": "390", "begntime": "2024-03-01 08:00:00",
        "mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{psn}"), "ipt_otp_no": "MZ0001",
        "atddr_no": "D001", "dr_name": "医生", "dept_code": "01", "dept_name": "内科",
        "caty": "A03"
    }})
}

fn admit_input(psn: &str) -> Value {
    json!({"mdtrtinfo": {
        "psn_no": psn, "insutype": "390", "coner_name": "家属", "tel": "",
        "begntime": "2024-05-06 10:00:00", "mdtrt_cert_type": "01",
        "mdtrt_cert_no": format!("EC{psn}"), "med_type": "21", "ipt_no": "ZY0001",
        "medrcdno": "", "atddr_no": "D001", "chfpdr_name": "医生", "adm_diag_dscr": "",
        "adm_dept_codg": "02", "adm_dept_name": "外科", "adm_bed": "1",
        "dscg_maindiag_code": "J18.9", "dscg_maindiag_name": "肺炎", "main_cond_dscr": "",
        "dise_codg": "J18.9", "dise_name": "肺炎"
    }, "diseinfo": []})
}

fn discharge_input(psn: &str, mdtrt_id: &str) -> Value {
    json!({"dscginfo": {
        "mdtrt_id": mdtrt_id, "psn_no": psn, "insutype": "390",
        "endtime": "2024-05-10 09:00:00", "dise_codg": "J18.9", "dise_name": "肺炎",
        "dscg_dept_codg": "02", "dscg_dept_name": "外科", "dscg_way": "1"
    }, "diseinfo": []})
}

/// Two valid lines (20.00 + 35.50 = [`LINES_SUM`]).
fn fee_lines(psn: &str, mdtrt_id: &str) -> Vec<Value> {
    let date = if mdtrt_id.starts_with(&format!("MD{IPT_INST}")) {
        "2024-05-07 09:00:00"
    } else {
        "2024-03-01 09:00:00"
    };
    [
        ("0001", "S0100001", "10.00", "2", "20.00"),
        ("0002", "S0100003", "35.50", "1", "35.50"),
    ]
    .iter()
    .map(|(sn, code, pric, cnt, amount)| {
        json!({
            "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": psn, "chrg_bchno": "B1",
            "fee_ocur_time": date, "med_list_codg": code,
            "medins_list_codg": code, "pric": pric, "cnt": cnt, "det_item_fee_sumamt": amount,
        })
    })
    .collect()
}

fn otp_settle_input(psn: &str, mdtrt_id: &str, medfee: Value) -> Value {
    json!({"data": {
        "psn_no": psn, "mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{psn}"),
        "med_type": "11", "medfee_sumamt": medfee, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1", "acct_used_flag": "0", "insutype": "390"
    }})
}

fn ipt_settle_input(psn: &str, mdtrt_id: &str, medfee: Value) -> Value {
    json!({"data": {
        "psn_no": psn, "mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{psn}"),
        "medfee_sumamt": medfee, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "insutype": "390",
        "acct_used_flag": "0", "mid_setl_flag": "0"
    }})
}

fn reversal_input(psn: &str, mdtrt_id: &str, setl_id: &str) -> Value {
    json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn}})
}

async fn accepted(h: &Harness, inst: &str, infno: &str, input: Value) -> Value {
    let v = h.call(inst, infno, input).await;
    assert!(ok(&v), "{}: {infno} 应被受理：{v}", h.backend);
    v
}

/// An outpatient visit of [`OTP_PSN`] at `inst` with its lines uploaded: its mdtrt_id.
async fn outpatient_with_lines(h: &Harness, inst: &str) -> String {
    let v = accepted(h, inst, "2201", register_input(OTP_PSN)).await;
    let mdtrt_id = v["output"]["data"]["mdtrt_id"]
        .as_str()
        .unwrap()
        .to_string();
    accepted(
        h,
        inst,
        "2203",
        json!({"mdtrtinfo": {
            "mdtrt_id": mdtrt_id, "psn_no": OTP_PSN, "med_type": "11",
            "begntime": "2024-03-01 08:00:00", "dise_codg": "I11.9", "dise_name": "高血压"
        }, "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": "I11.9"}]}),
    )
    .await;
    accepted(
        h,
        inst,
        "2204",
        json!({"feedetail": fee_lines(OTP_PSN, &mdtrt_id)}),
    )
    .await;
    mdtrt_id
}

/// Cases 1–4: signature, freshness, replay and signer; HTTP 401 and nothing recorded.
#[test]
fn unauthenticated_requests_are_401_and_unrecorded() {
    on_every_backend("gw_refuse_auth", |h| async move {
        let secret = h.secrets[A].clone();
        // Something on record, so that "unchanged" means something.
        let first_nonce = h.nonce();
        let first_msgid = h.msgid(A);
        let body = h
            .envelope(A, "2201", &first_msgid, register_input(OTP_PSN))
            .to_string();
        let (status, v) = h.send(A, &secret, Harness::now(), &first_nonce, body).await;
        assert!(status == 200 && ok(&v), "{}: {v}", h.backend);
        let before = snapshot(&h).await;
        assert!(before.contains(&format!("MD{first_msgid}")));

        // A request that would be accepted if it were signed properly.
        let request = |msgid: &str| {
            h.envelope(A, "2201", msgid, register_input(OTP_PSN))
                .to_string()
        };

        // 1. Bad signature: a wrong secret, another institution's secret.
        for (what, wrong) in [
            ("错误密钥", "not-the-secret".to_string()),
            ("他院密钥", h.secrets[B].clone()),
        ] {
            let (msgid, nonce) = (h.msgid(A), h.nonce());
            let r = h
                .send(A, &wrong, Harness::now(), &nonce, request(&msgid))
                .await;
            let what = format!("签名{what}");
            let needles = ["x-tif-signature"];
            assert_unauthorized(&h, &before, &what, r, A, Some(&nonce), &msgid, &needles).await;
        }

        // 2. Stale and future timestamps (> 300 s either way), correctly signed.
        // (A second may tick before the gateway looks: that only ages the past ones, and the
        // future ones keep a margin.)
        let now = Harness::now();
        for (what, ts) in [
            ("过期 301 秒", now - 301),
            ("过期 1 天", now - 86_400),
            ("超前 305 秒", now + 305),
            ("超前 1 小时", now + 3_600),
            ("为负数", -1),
            ("为 i64 最小值", i64::MIN),
            ("接近 i64 最小值", i64::MIN + 5),
            ("为 i64 最大值", i64::MAX),
        ] {
            let (msgid, nonce) = (h.msgid(A), h.nonce());
            let r = h.send(A, &secret, ts, &nonce, request(&msgid)).await;
            let ts = ts.to_string();
            let what = format!("时间戳{what}");
            let needles = ["x-tif-timestamp", ts.as_str(), "300"];
            assert_unauthorized(&h, &before, &what, r, A, Some(&nonce), &msgid, &needles).await;
        }
        // Within the window it is accepted (and a read changes nothing).
        let (msgid, nonce) = (h.msgid(A), h.nonce());
        let body = h
            .envelope(A, "1101", &msgid, json!({"data": {"psn_no": OTP_PSN}}))
            .to_string();
        let (status, v) = h.send(A, &secret, Harness::now() - 200, &nonce, body).await;
        assert!(
            status == 200 && ok(&v),
            "{}: 200 秒内应受理：{v}",
            h.backend
        );
        assert_eq!(snapshot(&h).await, before);

        // A timestamp that is not a number.
        let (msgid, nonce) = (h.msgid(A), h.nonce());
        let resp = h
            .client
            .post(format!("{}{}", h.base, yibao_gateway::ENDPOINT))
            .header("content-type", "application/json")
            .header("x-tif-paasid", A)
            .header("x-tif-timestamp", "yesterday")
            .header("x-tif-nonce", &nonce)
            .header(
                "x-tif-signature",
                yibao_gateway::keys::signature("yesterday", &secret, &nonce),
            )
            .body(request(&msgid))
            .send()
            .await
            .unwrap();
        let r = (resp.status().as_u16(), resp.json::<Value>().await.unwrap());
        let needles = ["x-tif-timestamp", "yesterday"];
        assert_unauthorized(
            &h,
            &before,
            "时间戳非数字",
            r,
            A,
            Some(&nonce),
            &msgid,
            &needles,
        )
        .await;

        // Missing signature header.
        let (msgid, nonce) = (h.msgid(A), h.nonce());
        let resp = h
            .client
            .post(format!("{}{}", h.base, yibao_gateway::ENDPOINT))
            .header("content-type", "application/json")
            .header("x-tif-paasid", A)
            .header("x-tif-timestamp", Harness::now().to_string())
            .header("x-tif-nonce", &nonce)
            .body(request(&msgid))
            .send()
            .await
            .unwrap();
        let r = (resp.status().as_u16(), resp.json::<Value>().await.unwrap());
        let needles = ["x-tif-signature"];
        assert_unauthorized(
            &h,
            &before,
            "缺少签名",
            r,
            A,
            Some(&nonce),
            &msgid,
            &needles,
        )
        .await;

        // 3. A replayed nonce: the first request's, with a new msgid (and so a new visit).
        let msgid = h.msgid(A);
        let r = h
            .send(A, &secret, Harness::now(), &first_nonce, request(&msgid))
            .await;
        let needles = ["x-tif-nonce", first_nonce.as_str(), "重放"];
        assert_unauthorized(&h, &before, "随机串重放", r, A, None, &msgid, &needles).await;
        // … and the nonce of a refused (but recorded) request is spent as well.
        let (refused_msgid, refused_nonce) = (h.msgid(A), h.nonce());
        let body = h.envelope(A, "9999", &refused_msgid, json!({})).to_string();
        let (status, v) = h
            .send(A, &secret, Harness::now(), &refused_nonce, body)
            .await;
        assert_eq!(status, 200, "{v}");
        assert_refused(&h, &before, "未知交易", &v, &["9999"]).await;
        let msgid = h.msgid(A);
        let r = h
            .send(A, &secret, Harness::now(), &refused_nonce, request(&msgid))
            .await;
        let needles = ["x-tif-nonce", refused_nonce.as_str()];
        assert_unauthorized(
            &h,
            &before,
            "拒绝报文的随机串重放",
            r,
            A,
            None,
            &msgid,
            &needles,
        )
        .await;

        // 4. The envelope's fixmedins_code is not the signer's.
        let (msgid, nonce) = (h.msgid(A), h.nonce());
        let mut env = h.envelope(A, "2201", &msgid, register_input(OTP_PSN));
        env["fixmedins_code"] = json!(B);
        let r = h
            .send(A, &secret, Harness::now(), &nonce, env.to_string())
            .await;
        let needles = ["fixmedins_code", B, A];
        assert_unauthorized(
            &h,
            &before,
            "报文机构与签名不符",
            r,
            A,
            Some(&nonce),
            &msgid,
            &needles,
        )
        .await;
        // B signs and the envelope claims A.
        let (msgid, nonce) = (h.msgid(A), h.nonce());
        let r = h
            .send(B, &h.secrets[B], Harness::now(), &nonce, request(&msgid))
            .await;
        let needles = ["fixmedins_code", A, B];
        assert_unauthorized(
            &h,
            &before,
            "他院冒签",
            r,
            B,
            Some(&nonce),
            &msgid,
            &needles,
        )
        .await;

        // An institution without a key.
        let (msgid, nonce) = (h.msgid("H99999999999"), h.nonce());
        let r = h
            .send(
                "H99999999999",
                "guess",
                Harness::now(),
                &nonce,
                request(&msgid),
            )
            .await;
        let needles = ["x-tif-paasid", "H99999999999"];
        assert_unauthorized(
            &h,
            &before,
            "未知机构",
            r,
            "H99999999999",
            Some(&nonce),
            &msgid,
            &needles,
        )
        .await;

        // Nothing above disturbed the one accepted visit or its message.
        assert!(h.store.nonce_used(A, &first_nonce).await.unwrap());
        assert!(h.store.answered(A, &first_msgid).await.unwrap().is_some());
        eprintln!("{}: 认证拒绝通过", h.backend);
        h
    });
}

/// Cases 6, 7, 8 and 15: bodies that are not JSON objects, unknown infno, wrong types and
/// missing fields, each naming the field path.
#[test]
fn malformed_requests_name_the_field() {
    on_every_backend("gw_refuse_malformed", |h| async move {
        let mdtrt_id = outpatient_with_lines(&h, A).await;
        let before = snapshot(&h).await;

        // 6. Not JSON; JSON but not an object.
        for (what, body, needle) in [
            ("非 JSON", "this is {not json".to_string(), "JSON"),
            ("空报文", String::new(), "JSON"),
            (
                "JSON 数组",
                json!([h.envelope(A, "2201", &h.msgid(A), register_input(OTP_PSN))]).to_string(),
                "对象",
            ),
            ("JSON 字符串", "\"2201\"".to_string(), "对象"),
            ("JSON 数值", "2201".to_string(), "对象"),
        ] {
            let (status, v, _) = signed(&h, A, body).await;
            assert_eq!(status, 200, "{}: {what}：{v}", h.backend);
            assert_refused(&h, &before, what, &v, &[needle]).await;
        }
        // Envelope fields missing or malformed.
        let good = h.envelope(A, "2201", &h.msgid(A), register_input(OTP_PSN));
        let mut cases: Vec<(&str, Value, Vec<&str>)> = Vec::new();
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove("msgid");
        cases.push(("缺少 msgid", e, vec!["msgid"]));
        let mut e = good.clone();
        e["msgid"] = json!("123");
        cases.push(("msgid 过短", e, vec!["msgid", "123"]));
        let mut e = good.clone();
        e["msgid"] = json!(format!("{B}202401010000000001"));
        cases.push(("msgid 非本机构", e, vec!["msgid", B]));
        let mut e = good.clone();
        e["msgid"] = json!(["x"]);
        cases.push(("msgid 为数组", e, vec!["msgid", "数组"]));
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove("infno");
        e["msgid"] = json!(h.msgid(A));
        cases.push(("缺少 infno", e, vec!["infno"]));
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove("input");
        e["msgid"] = json!(h.msgid(A));
        cases.push(("缺少 input", e, vec!["input"]));
        let mut e = good.clone();
        e["input"] = json!("psn_no=P01000001");
        e["msgid"] = json!(h.msgid(A));
        cases.push(("input 为字符串", e, vec!["input", "字符串"]));
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove("fixmedins_code");
        e["msgid"] = json!(h.msgid(A));
        cases.push(("缺少 fixmedins_code", e, vec!["fixmedins_code"]));
        for (what, env, needles) in cases {
            let (status, v, _) = signed(&h, A, env.to_string()).await;
            // An envelope that names no institution is not the signer's: 401, as a mismatch.
            let want = if what == "缺少 fixmedins_code" {
                401
            } else {
                200
            };
            assert_eq!(status, want, "{}: {what}：{v}", h.backend);
            assert_refused(&h, &before, what, &v, &needles).await;
        }

        // 7. Unknown infno.
        for infno in ["9999", "2209", "abc"] {
            let v = h.call(A, infno, register_input(OTP_PSN)).await;
            assert_refused(&h, &before, "未知 infno", &v, &["infno", infno]).await;
        }

        // 8. Wrong types.
        let settle = |medfee: Value| otp_settle_input(OTP_PSN, &mdtrt_id, medfee);
        let mut line = fee_lines(OTP_PSN, &mdtrt_id)[0].clone();
        line["feedetl_sn"] = json!("0009");
        let mut bool_cnt = line.clone();
        bool_cnt["cnt"] = json!(true);
        let mut obj_price = line.clone();
        obj_price["feedetl_sn"] = json!("0010");
        obj_price["pric"] = json!({"yuan": 10});
        let cases: Vec<(&str, &str, Value, Vec<&str>)> = vec![
            (
                "input.data 为字符串",
                "2201",
                json!({"data": "P01000001"}),
                vec!["input.data", "字符串"],
            ),
            (
                "input.data 为数组",
                "2207",
                json!({"data": [settle(json!(LINES_SUM))["data"]]}),
                vec!["input.data", "数组"],
            ),
            (
                "medfee_sumamt 为对象",
                "2207",
                settle(json!({"amount": LINES_SUM})),
                vec!["input.data.medfee_sumamt", "对象"],
            ),
            (
                "medfee_sumamt 为数组",
                "2206",
                settle(json!([LINES_SUM])),
                vec!["input.data.medfee_sumamt", "数组"],
            ),
            (
                "medfee_sumamt 为布尔值",
                "2207",
                settle(json!(false)),
                vec!["input.data.medfee_sumamt", "布尔值"],
            ),
            (
                "medfee_sumamt 非金额",
                "2207",
                settle(json!("五十五元")),
                vec!["input.data.medfee_sumamt", "五十五元"],
            ),
            (
                "feedetail 为对象",
                "2204",
                json!({"feedetail": line.clone()}),
                vec!["input.feedetail", "对象"],
            ),
            (
                "feedetail 为字符串",
                "2204",
                json!({"feedetail": "0009"}),
                vec!["input.feedetail", "字符串"],
            ),
            (
                "feedetail 元素为数值",
                "2204",
                json!({"feedetail": [line.clone(), 7]}),
                vec!["input.feedetail[1]", "数值"],
            ),
            (
                "cnt 为布尔值",
                "2204",
                json!({"feedetail": [bool_cnt]}),
                vec!["input.feedetail[0].cnt", "布尔值"],
            ),
            (
                "pric 为对象",
                "2204",
                json!({"feedetail": [line.clone(), obj_price]}),
                vec!["input.feedetail[1].pric", "对象"],
            ),
            (
                "mdtrtinfo 为数组",
                "2401",
                json!({"mdtrtinfo": [], "diseinfo": []}),
                vec!["input.mdtrtinfo", "数组"],
            ),
            (
                "mdtrt_id 为对象",
                "2207",
                {
                    let mut d = settle(json!(LINES_SUM));
                    d["data"]["mdtrt_id"] = json!({"id": mdtrt_id});
                    d
                },
                vec!["input.data.mdtrt_id", "对象"],
            ),
        ];
        for (what, infno, input, needles) in cases {
            let v = h.call(A, infno, input).await;
            assert_refused(&h, &before, what, &v, &needles).await;
        }

        // 15. Missing required fields name the field path.
        let mut no_psn = register_input(OTP_PSN);
        no_psn["data"].as_object_mut().unwrap().remove("psn_no");
        let mut empty_psn = register_input(OTP_PSN);
        empty_psn["data"]["psn_no"] = json!("  ");
        let mut null_insutype = register_input(OTP_PSN);
        null_insutype["data"]["insutype"] = Value::Null;
        let mut bad_time = register_input(OTP_PSN);
        bad_time["data"]["begntime"] = json!("2024-02-30 08:00:00");
        let mut bad_cert = register_input(OTP_PSN);
        bad_cert["data"]["mdtrt_cert_type"] = json!("09");
        let mut no_medfee = settle(json!(LINES_SUM));
        no_medfee["data"]
            .as_object_mut()
            .unwrap()
            .remove("medfee_sumamt");
        let mut no_code = line.clone();
        no_code["feedetl_sn"] = json!("0010");
        no_code.as_object_mut().unwrap().remove("med_list_codg");
        let mut unknown_item = line.clone();
        unknown_item["feedetl_sn"] = json!("0010");
        unknown_item["med_list_codg"] = json!("X9999999");
        let mut wrong_amount = line.clone();
        wrong_amount["det_item_fee_sumamt"] = json!("21.00");
        let cases: Vec<(&str, &str, Value, Vec<&str>)> = vec![
            (
                "2201 缺少 psn_no",
                "2201",
                no_psn,
                vec!["input.data.psn_no"],
            ),
            (
                "2201 psn_no 为空",
                "2201",
                empty_psn,
                vec!["input.data.psn_no"],
            ),
            (
                "2201 insutype 为 null",
                "2201",
                null_insutype,
                vec!["input.data.insutype"],
            ),
            (
                "2201 begntime 无效",
                "2201",
                bad_time,
                vec!["input.data.begntime", "2024-02-30"],
            ),
            (
                "2201 凭证类型无效",
                "2201",
                bad_cert,
                vec!["input.data.mdtrt_cert_type", "09"],
            ),
            ("2201 缺少 data", "2201", json!({}), vec!["input.data"]),
            (
                "2207 缺少 medfee_sumamt",
                "2207",
                no_medfee,
                vec!["input.data.medfee_sumamt"],
            ),
            (
                "2204 第 2 条缺少 med_list_codg",
                "2204",
                json!({"feedetail": [line.clone(), no_code]}),
                vec!["input.feedetail[1].med_list_codg"],
            ),
            (
                "2204 未知项目",
                "2204",
                json!({"feedetail": [line.clone(), unknown_item]}),
                vec!["feedetail[1]", "X9999999"],
            ),
            (
                "2204 金额不等于单价×数量",
                "2204",
                json!({"feedetail": [wrong_amount]}),
                vec!["feedetail[0]", "21.00"],
            ),
            (
                "2204 空明细",
                "2204",
                json!({"feedetail": []}),
                vec!["input.feedetail"],
            ),
            (
                "2204 流水号重复",
                "2204",
                json!({"feedetail": [fee_lines(OTP_PSN, &mdtrt_id)[0]]}),
                vec!["feedetl_sn", "0001"],
            ),
            (
                "2204 未知就诊",
                "2204",
                json!({"feedetail": [fee_lines(OTP_PSN, "MDNOSUCHVISIT")[0]]}),
                vec!["mdtrt_id", "MDNOSUCHVISIT"],
            ),
        ];
        for (what, infno, input, needles) in cases {
            let v = h.call(A, infno, input).await;
            assert_refused(&h, &before, what, &v, &needles).await;
        }

        // The visit is still unsettled and settles for exactly what was uploaded.
        let v = accepted(&h, A, "2207", settle(json!(LINES_SUM))).await;
        assert_eq!(v["output"]["setlinfo"]["medfee_sumamt"], LINES_SUM);
        eprintln!("{}: 格式拒绝通过", h.backend);
        h
    });
}

/// Cases 5 and 9–14, and the visit state machine.
#[test]
fn business_refusals_change_nothing() {
    on_every_backend("gw_refuse_business", |h| async move {
        let b = h.backend;
        let mdtrt_id = outpatient_with_lines(&h, A).await;
        let settle = |medfee: &str| otp_settle_input(OTP_PSN, &mdtrt_id, json!(medfee));
        let before = snapshot(&h).await;

        // 12. Unknown person; 13. a person not enrolled for 2024.
        for infno in ["2201", "2401"] {
            let input = if infno == "2201" {
                register_input("P09999999")
            } else {
                admit_input("P09999999")
            };
            let v = h.call(A, infno, input).await;
            assert_refused(&h, &before, "未知人员", &v, &["psn_no", "P09999999"]).await;
            let input = if infno == "2201" {
                register_input(NOT_ENROLLED_PSN)
            } else {
                admit_input(NOT_ENROLLED_PSN)
            };
            let v = h.call(A, infno, input).await;
            let needles = [NOT_ENROLLED_PSN, "2024", "参保"];
            assert_refused(&h, &before, "未参保人员", &v, &needles).await;
        }
        // A 险种 other than the person's.
        let mut wrong_insutype = register_input(OTP_PSN);
        wrong_insutype["data"]["insutype"] = json!("310");
        let v = h.call(A, "2201", wrong_insutype).await;
        assert_refused(&h, &before, "险种不符", &v, &["insutype", "310"]).await;

        // 9. medfee_sumamt other than the sum of the uploaded lines (2206 and 2207).
        for (infno, medfee) in [("2206", "55.51"), ("2207", "55.49"), ("2207", "0")] {
            let v = h.call(A, infno, settle(medfee)).await;
            let shown = if medfee == "0" { "0.00" } else { medfee };
            let needles = ["medfee_sumamt", shown, LINES_SUM];
            assert_refused(&h, &before, &format!("{infno} 总额不符"), &v, &needles).await;
        }
        // 14b. A refused message repeated returns that same refusal, even corrected.
        let refused_msgid = h.msgid(A);
        let first = h
            .call_with(A, "2207", &refused_msgid, settle("99.99"))
            .await;
        assert_refused(&h, &before, "2207 总额不符", &first, &["99.99"]).await;
        let again = h
            .call_with(A, "2207", &refused_msgid, settle(LINES_SUM))
            .await;
        assert_eq!(again, first, "{b}: 重复 msgid 应返回首次的拒绝");
        assert_refused(&h, &before, "重复的拒绝报文", &again, &["99.99"]).await;

        // 5. Institution B on A's visit.
        let a_line = fee_lines(OTP_PSN, &mdtrt_id)[0].clone();
        let mut b_line = a_line.clone();
        b_line["feedetl_sn"] = json!("0009");
        for (infno, input) in [
            ("2204", json!({"feedetail": [b_line]})),
            ("2206", settle(LINES_SUM)),
            ("2207", settle(LINES_SUM)),
            (
                "2205",
                json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": OTP_PSN}}),
            ),
            (
                "2202",
                json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": OTP_PSN}}),
            ),
        ] {
            let v = h.call(B, infno, input).await;
            let what = format!("他院 {infno}");
            assert_refused(&h, &before, &what, &v, &["mdtrt_id", &mdtrt_id, B]).await;
        }

        // The state machine before settlement: 2402 on an outpatient visit; 2208 with
        // nothing settled.
        let v = h.call(A, "2402", discharge_input(OTP_PSN, &mdtrt_id)).await;
        assert_refused(&h, &before, "门诊就诊办理出院", &v, &[&mdtrt_id, "门诊"]).await;
        let v = h
            .call(A, "2208", reversal_input(OTP_PSN, &mdtrt_id, "ST0"))
            .await;
        assert_refused(&h, &before, "撤销不存在的结算", &v, &["setl_id", "ST0"]).await;
        // Another person's psn_no on A's visit.
        let mut other_psn = settle(LINES_SUM);
        other_psn["data"]["psn_no"] = json!("P01000002");
        let v = h.call(A, "2207", other_psn).await;
        assert_refused(&h, &before, "参保人不符", &v, &["psn_no", "P01000002"]).await;

        // A pre-settlement is accepted and changes nothing, not even an all-zero
        // accumulator row.
        let pre = accepted(&h, A, "2206", settle(LINES_SUM)).await;
        assert_eq!(pre["output"]["setlinfo"]["medfee_sumamt"], LINES_SUM);
        assert_eq!(snapshot(&h).await, before, "{b}: 预结算改变了数据");

        // 14a. Settle; the same msgid again returns the identical body and changes nothing.
        let settle_msgid = h.msgid(A);
        let settled = h
            .call_with(A, "2207", &settle_msgid, settle(LINES_SUM))
            .await;
        assert!(ok(&settled), "{b}: {settled}");
        let setl_id = settled["output"]["setlinfo"]["setl_id"]
            .as_str()
            .unwrap()
            .to_string();
        let after_settle = snapshot(&h).await;
        assert_ne!(after_settle, before);
        let repeat = h
            .call_with(A, "2207", &settle_msgid, settle(LINES_SUM))
            .await;
        assert_eq!(repeat, settled, "{b}: 重复 msgid 应返回首次的应答");
        assert_eq!(
            snapshot(&h).await,
            after_settle,
            "{b}: 重复 msgid 改变了数据"
        );
        // … but a repeat with other content does not get it: the msgid is taken (issue 15).
        let repeat = h
            .call_with(
                A,
                "2208",
                &settle_msgid,
                reversal_input(OTP_PSN, &mdtrt_id, &setl_id),
            )
            .await;
        assert_eq!(repeat["infcode"], -1, "{b}: 内容不同的重复 msgid 应被拒绝");
        assert!(
            err(&repeat).contains("报文ID重复但内容不同"),
            "{b}: {repeat}"
        );
        assert_eq!(
            snapshot(&h).await,
            after_settle,
            "{b}: 重复 msgid 改变了数据"
        );
        let before = after_settle;

        // 10. Settling twice; the state machine after settlement.
        let mut late_line = a_line.clone();
        late_line["feedetl_sn"] = json!("0003");
        for (infno, input, needles) in [
            ("2207", settle(LINES_SUM), vec!["已结算", "重复结算"]),
            ("2206", settle(LINES_SUM), vec!["已结算"]),
            ("2204", json!({ "feedetail": [late_line] }), vec!["已结算"]),
            (
                "2205",
                json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": OTP_PSN}}),
                vec!["已结算"],
            ),
            (
                "2202",
                json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": OTP_PSN}}),
                vec!["已结算"],
            ),
        ] {
            let v = h.call(A, infno, input).await;
            let mut needles = needles;
            needles.push(&mdtrt_id);
            let what = format!("已结算就诊 {infno}");
            assert_refused(&h, &before, &what, &v, &needles).await;
        }

        // 5. B cannot query or reverse A's settlement.
        for infno in ["5203", "2208"] {
            let v = h
                .call(B, infno, reversal_input(OTP_PSN, &mdtrt_id, &setl_id))
                .await;
            let what = format!("他院 {infno}");
            assert_refused(&h, &before, &what, &v, &["mdtrt_id", &mdtrt_id, B]).await;
        }
        // A can.
        let q = accepted(&h, A, "5203", reversal_input(OTP_PSN, &mdtrt_id, &setl_id)).await;
        assert_eq!(q["output"]["setlinfo"]["setl_stas"], "1");
        assert_eq!(snapshot(&h).await, before);

        // 11. Reversing an unknown settlement, through the wrong infno, then twice.
        let v = h
            .call(A, "2208", reversal_input(OTP_PSN, &mdtrt_id, "ST9999"))
            .await;
        assert_refused(&h, &before, "撤销未知结算", &v, &["setl_id", "ST9999"]).await;
        let v = h
            .call(A, "2305", reversal_input(OTP_PSN, &mdtrt_id, &setl_id))
            .await;
        assert_refused(&h, &before, "门诊结算用 2305 撤销", &v, &["门诊", "住院"]).await;
        accepted(&h, A, "2208", reversal_input(OTP_PSN, &mdtrt_id, &setl_id)).await;
        let before = snapshot(&h).await;
        let v = h
            .call(A, "2208", reversal_input(OTP_PSN, &mdtrt_id, &setl_id))
            .await;
        assert_refused(
            &h,
            &before,
            "重复撤销",
            &v,
            &["setl_id", &setl_id, "已撤销"],
        )
        .await;

        // Inpatient: 2304 / 2303 before 2402, then the sum check at 2303 / 2304.
        let v = accepted(&h, IPT_INST, "2401", admit_input(IPT_PSN)).await;
        let ipt_id = v["output"]["result"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_string();
        let ipt_settle = |medfee: &str| ipt_settle_input(IPT_PSN, &ipt_id, json!(medfee));
        let before = snapshot(&h).await;
        let v = h.call(IPT_INST, "2304", ipt_settle("0.00")).await;
        assert_refused(&h, &before, "入院后未上传即结算", &v, &["已入院", &ipt_id]).await;
        accepted(
            &h,
            IPT_INST,
            "2301",
            json!({"feedetail": fee_lines(IPT_PSN, &ipt_id)}),
        )
        .await;
        let before = snapshot(&h).await;
        for infno in ["2304", "2303"] {
            let v = h.call(IPT_INST, infno, ipt_settle(LINES_SUM)).await;
            let what = format!("出院前 {infno}");
            let needles = ["已上传费用明细", "出院", &ipt_id];
            assert_refused(&h, &before, &what, &v, &needles).await;
        }
        // Outpatient transactions on an inpatient visit.
        let v = h.call(IPT_INST, "2207", ipt_settle(LINES_SUM)).await;
        assert_refused(&h, &before, "住院就诊用 2207", &v, &[&ipt_id, "住院"]).await;
        accepted(&h, IPT_INST, "2402", discharge_input(IPT_PSN, &ipt_id)).await;
        let before = snapshot(&h).await;
        for (infno, medfee) in [("2303", "55.00"), ("2304", "56.00")] {
            let v = h.call(IPT_INST, infno, ipt_settle(medfee)).await;
            let needles = ["medfee_sumamt", medfee, LINES_SUM];
            assert_refused(&h, &before, &format!("{infno} 总额不符"), &v, &needles).await;
        }
        // Uploading after discharge.
        let mut late = fee_lines(IPT_PSN, &ipt_id)[0].clone();
        late["feedetl_sn"] = json!("0003");
        let v = h.call(IPT_INST, "2301", json!({"feedetail": [late]})).await;
        assert_refused(&h, &before, "出院后上传明细", &v, &["已出院"]).await;
        let v = accepted(&h, IPT_INST, "2304", ipt_settle(LINES_SUM)).await;
        let ipt_setl = v["output"]["setlinfo"]["setl_id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = snapshot(&h).await;
        let v = h.call(IPT_INST, "2304", ipt_settle(LINES_SUM)).await;
        assert_refused(&h, &before, "住院重复结算", &v, &["已结算", "重复结算"]).await;
        let v = h
            .call(
                IPT_INST,
                "2405",
                json!({"data": {"mdtrt_id": ipt_id, "psn_no": IPT_PSN}}),
            )
            .await;
        assert_refused(&h, &before, "已结算撤销出院", &v, &["已结算"]).await;
        accepted(
            &h,
            IPT_INST,
            "2305",
            reversal_input(IPT_PSN, &ipt_id, &ipt_setl),
        )
        .await;
        let before = snapshot(&h).await;
        let v = h
            .call(
                IPT_INST,
                "2305",
                reversal_input(IPT_PSN, &ipt_id, &ipt_setl),
            )
            .await;
        assert_refused(&h, &before, "住院重复撤销", &v, &[&ipt_setl, "已撤销"]).await;

        // Everything reversed: no accumulator moved for good.
        let stored = h.store.all_accumulators().await.unwrap();
        for (psn, year, acc) in stored {
            assert_eq!(
                acc,
                yibao_core::YearAccumulators::default(),
                "{b}: {psn} {year} 全部撤销后累计应归零"
            );
        }
        eprintln!("{}: 业务拒绝通过", h.backend);
        h
    });
}

/// Replays and repeats racing the request they repeat: the losers get exactly what they
/// would get one after the other (401 for the nonce, the first answer for the msgid), never a
/// system error, and only the winner is recorded. Many refusals at once are each refused.
#[test]
fn concurrent_replays_and_repeats() {
    on_every_backend("gw_refuse_concurrent", |h| async move {
        let h = std::sync::Arc::new(h);
        let b = h.backend;
        let before = snapshot(&h).await;

        // Eight requests, one nonce, eight msgids.
        let nonce = h.nonce();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (h, nonce) = (h.clone(), nonce.clone());
            tasks.push(tokio::spawn(async move {
                let msgid = h.msgid(A);
                let body = h
                    .envelope(A, "2201", &msgid, register_input(OTP_PSN))
                    .to_string();
                let r = h.send(A, &h.secrets[A], Harness::now(), &nonce, body).await;
                (msgid, r)
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for t in tasks {
            let (msgid, (status, v)) = t.await.unwrap();
            if status == 200 && ok(&v) {
                winners.push(
                    v["output"]["data"]["mdtrt_id"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            } else {
                losers.push((msgid, status, v));
            }
        }
        assert_eq!(winners.len(), 1, "{b}: 同一随机串只能受理一次：{losers:?}");
        let after = snapshot(&h).await;
        assert_ne!(after, before);
        for (msgid, status, v) in losers {
            assert_eq!(status, 401, "{b}: 并发重放应为 401：{v}");
            let msg = err(&v);
            assert!(
                msg.contains("x-tif-nonce") && msg.contains(&nonce),
                "{b}: {msg}"
            );
            assert_eq!(
                h.store.answered(A, &msgid).await.unwrap(),
                None,
                "{b}: {msgid}"
            );
        }
        assert_eq!(after.matches("|open|").count(), 1, "{b}: {after}");

        // Eight requests, one msgid, eight nonces.
        let before = after;
        let msgid = h.msgid(A);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (h, msgid) = (h.clone(), msgid.clone());
            tasks.push(tokio::spawn(async move {
                let nonce = h.nonce();
                let body = h
                    .envelope(A, "2201", &msgid, register_input(OTP_PSN))
                    .to_string();
                let r = h.send(A, &h.secrets[A], Harness::now(), &nonce, body).await;
                (nonce, r)
            }));
        }
        let mut bodies = Vec::new();
        let mut nonces_used = 0;
        for t in tasks {
            let (nonce, (status, v)) = t.await.unwrap();
            assert!(
                status == 200 && ok(&v),
                "{b}: 重复 msgid 应得首次应答：{status} {v}"
            );
            bodies.push(v);
            nonces_used += usize::from(h.store.nonce_used(A, &nonce).await.unwrap());
        }
        assert!(bodies.iter().all(|v| *v == bodies[0]), "{b}: {bodies:?}");
        assert_eq!(nonces_used, 1, "{b}: 只有首个报文应被记录");
        let after = snapshot(&h).await;
        assert_eq!(after.matches("|open|").count(), 2, "{b}: {after}");
        assert!(after.contains(&format!("MD{msgid}")), "{b}: {after}");
        assert_ne!(after, before);
        // Sixteen refusals at once (each reads the register inside its transaction): each
        // refused for what it is, none a system error (the pool must not run dry), nothing
        // changed.
        let before = after;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move {
                let psn = format!("P0999{i:04}");
                let msgid = h.msgid(A);
                let body = h
                    .envelope(A, "2201", &msgid, register_input(&psn))
                    .to_string();
                let (status, v, _) = signed(&h, A, body).await;
                (psn, status, v)
            }));
        }
        for t in tasks {
            let (psn, status, v) = t.await.unwrap();
            assert_eq!(status, 200, "{b}: {v}");
            assert_eq!(v["infcode"], -1, "{b}: {v}");
            assert!(err(&v).contains(&psn), "{b}: {v}");
        }
        assert_eq!(snapshot(&h).await, before, "{b}: 并发的拒绝改变了数据");
        eprintln!("{b}: 并发重放、重复报文与并发拒绝通过");
        std::sync::Arc::into_inner(h).unwrap()
    });
}

/// The gateway keeps persons in memory between requests; a change to the register made
/// meanwhile by another writer (here a lock and its lifting, through the store as
/// `yibao register` does) is seen by the very next request.
#[test]
fn register_changes_reach_the_next_request() {
    on_every_backend("gw_register_change", |h| async move {
        let mdtrt_id = outpatient_with_lines(&h, A).await;
        let presettle = || otp_settle_input(OTP_PSN, &mdtrt_id, json!(LINES_SUM));
        // Read (and kept) once, twice from memory.
        accepted(&h, A, "2206", presettle()).await;
        accepted(&h, A, "2206", presettle()).await;
        let op = yibao_store::Operator("测试员".into());
        let from = yibao_core::Date::from_ymd(2024, 1, 1).unwrap();
        h.store
            .lock_person(&op, OTP_PSN, from, "稽核调查")
            .await
            .unwrap();
        let v = h.call(A, "2206", presettle()).await;
        assert!(!ok(&v), "{}: 锁定后预结算应被拒绝：{v}", h.backend);
        assert!(err(&v).contains("锁定"), "{}: {v}", h.backend);
        h.store.unlock_person(&op, OTP_PSN, from).await.unwrap();
        let v = accepted(&h, A, "2207", presettle()).await;
        assert_eq!(v["output"]["setlinfo"]["medfee_sumamt"], LINES_SUM, "{v}");
        h
    });
}

/// Twelve settlements of one person at once (their SQLite writes commit in groups): each
/// sees the ones before it, so the year's deductible (起付线 50.00 in the reference
/// policy) is met once across them, and the stored accumulators equal the replay.
#[test]
fn concurrent_settlements_of_one_person_serialise() {
    on_every_backend("gw_same_person", |h| async move {
        let h = std::sync::Arc::new(h);
        let mut visits = Vec::new();
        for _ in 0..12 {
            visits.push(outpatient_with_lines(&h, A).await);
        }
        let tasks: Vec<_> = visits
            .into_iter()
            .map(|mdtrt_id| {
                let h = h.clone();
                tokio::spawn(async move {
                    h.call(
                        A,
                        "2207",
                        otp_settle_input(OTP_PSN, &mdtrt_id, json!(LINES_SUM)),
                    )
                    .await
                })
            })
            .collect();
        let mut deductible = 0i64;
        for t in tasks {
            let v = t.await.unwrap();
            assert!(ok(&v), "{}: {v}", h.backend);
            let paid = v["output"]["setlinfo"]["act_pay_dedc"].as_str().unwrap();
            deductible += yibao_core::money::parse_yuan(paid).unwrap();
        }
        assert_eq!(deductible, 5_000, "{}: 起付线只应计一次", h.backend);
        let off = h.store.accumulator_discrepancies().await.unwrap();
        assert!(off.is_empty(), "{}: {off:?}", h.backend);
        std::sync::Arc::try_unwrap(h).ok().unwrap()
    });
}

/// Concurrent uploads to one visit (2204), as a HIS with several terminals sends them: each
/// sees the lines the others committed or queued before it, so every line counts once, a
/// `feedetl_sn` sent twice at once is taken once and refused once, and the settlement's
/// total is the sum of what was taken.
#[test]
fn concurrent_uploads_to_one_visit_serialise() {
    on_every_backend("gw_same_visit", |h| async move {
        let h = std::sync::Arc::new(h);
        let v = accepted(&h, A, "2201", register_input(OTP_PSN)).await;
        let mdtrt_id = v["output"]["data"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_string();
        let line = |sn: String, fen: i64| {
            let amount = yibao_core::money::format_fen(fen);
            json!({
                "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": OTP_PSN, "chrg_bchno": "B1",
                "fee_ocur_time": "2024-03-01 09:00:00", "med_list_codg": "S0100001",
                "medins_list_codg": "S0100001", "pric": amount, "cnt": "1",
                "det_item_fee_sumamt": amount,
            })
        };
        // Ten distinct lines of 1.00 … 10.00, and the same feedetl_sn twice.
        let mut uploads: Vec<Value> = (1..=10i64)
            .map(|k| json!({"feedetail": [line(format!("L{k:03}"), k * 100)]}))
            .collect();
        uploads.push(json!({"feedetail": [line("TWICE".into(), 5_000)]}));
        uploads.push(json!({"feedetail": [line("TWICE".into(), 5_000)]}));
        let tasks: Vec<_> = uploads
            .into_iter()
            .map(|input| {
                let h = h.clone();
                tokio::spawn(async move { h.call(A, "2204", input).await })
            })
            .collect();
        let mut refused = Vec::new();
        for t in tasks {
            let v = t.await.unwrap();
            if !ok(&v) {
                refused.push(err(&v));
            }
        }
        assert_eq!(refused.len(), 1, "{}: {refused:?}", h.backend);
        assert!(refused[0].contains("TWICE"), "{}: {refused:?}", h.backend);
        let total = (1..=10i64).map(|k| k * 100).sum::<i64>() + 5_000;
        let medfee = yibao_core::money::format_fen(total);
        let v = accepted(
            &h,
            A,
            "2207",
            otp_settle_input(OTP_PSN, &mdtrt_id, json!(medfee)),
        )
        .await;
        assert_eq!(v["output"]["setlinfo"]["medfee_sumamt"], medfee.as_str());
        std::sync::Arc::try_unwrap(h).ok().unwrap()
    });
}
