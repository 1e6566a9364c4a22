//! Hardening (issue 15): another person's credential at settlement, a reused msgid with
//! other content, and readiness on `/healthz` — on SQLite, and PostgreSQL when
//! `YIBAO_TEST_POSTGRES` is set.

mod common;

use common::{err, ok, on_every_backend, outpatient_settle_input, Harness};
use serde_json::{json, Value};

/// Institution A settles 门诊; `IPT_INST` settles 住院.
const A: &str = "H99010110000";
const OTP_PSN: &str = "P01000001";
const OTP_CERTNO: &str = "990101194102020010";
const IPT_INST: &str = "H99010110004";
const IPT_PSN: &str = "P01000006";
const IPT_CERTNO: &str = "990101194607070064";
/// Another person's resident ID (P01000002).
const OTHER_CERTNO: &str = "990101194203030023";

async fn accepted(h: &Harness, inst: &str, infno: &str, input: Value) -> Value {
    let v = h.call(inst, infno, input).await;
    assert!(ok(&v), "{}: {infno} 应被受理：{v}", h.backend);
    v
}

/// An admitted, billed and discharged inpatient visit of [`IPT_PSN`]: its mdtrt_id.
async fn discharged_inpatient(h: &Harness) -> String {
    let v = accepted(
        h,
        IPT_INST,
        "2401",
        json!({"mdtrtinfo": {
            "psn_no": IPT_PSN, "insutype": "390", "begntime": "2024-05-06 10:00:00",
            "mdtrt_cert_type": "01", "mdtrt_cert_no": "EC6", "med_type": "21",
            "ipt_no": "ZY0001", "dise_codg": "J18.9"
        }, "diseinfo": []}),
    )
    .await;
    let mdtrt_id = v["output"]["result"]["mdtrt_id"]
        .as_str()
        .unwrap()
        .to_string();
    accepted(
        h,
        IPT_INST,
        "2301",
        json!({"feedetail": [{"feedetl_sn": "0001", "mdtrt_id": mdtrt_id, "psn_no": IPT_PSN,
            "chrg_bchno": "B1", "fee_ocur_time": "2024-05-07 09:00:00",
            "med_list_codg": "S0100001", "pric": "10.00", "cnt": "2",
            "det_item_fee_sumamt": "20.00"}]}),
    )
    .await;
    accepted(
        h,
        IPT_INST,
        "2402",
        json!({"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": IPT_PSN,
            "endtime": "2024-05-10 09:00:00", "dise_codg": "J18.9", "dscg_way": "1"},
            "diseinfo": []}),
    )
    .await;
    mdtrt_id
}

/// 2207 and 2304 refuse a resident ID that is not the visit's person, as 2201 does, and
/// change nothing; the person's own ID settles.
#[test]
fn settlement_refuses_another_persons_credential() {
    on_every_backend("hardening_credential", |h| async move {
        let b = h.backend;
        let mdtrt_id = common::outpatient_with_one_line(&h, A, OTP_PSN, "10.00", "1").await;
        let with_cert = |certno: &str| {
            let mut input = outpatient_settle_input(OTP_PSN, &mdtrt_id, "10.00");
            input["data"]["mdtrt_cert_type"] = json!("02");
            input["data"]["mdtrt_cert_no"] = json!(certno);
            input
        };
        let before = h.store.gateway_snapshot().await.unwrap();
        for infno in ["2206", "2207"] {
            let v = h.call(A, infno, with_cert(OTHER_CERTNO)).await;
            assert_eq!(v["infcode"], -1, "{b}: {infno} 用他人身份证应被拒绝：{v}");
            let msg = err(&v);
            assert!(
                msg.contains("input.data.mdtrt_cert_no") && msg.contains("身份证号不符"),
                "{b}: {infno}：{msg}"
            );
            assert!(!msg.contains(OTHER_CERTNO), "{b}: 证件号应脱敏：{msg}");
        }
        assert_eq!(h.store.gateway_snapshot().await.unwrap(), before, "{b}");
        accepted(&h, A, "2207", with_cert(OTP_CERTNO)).await;

        let mdtrt_id = discharged_inpatient(&h).await;
        let input = |certno: &str| {
            json!({"data": {"psn_no": IPT_PSN, "mdtrt_id": mdtrt_id, "medfee_sumamt": "20.00",
                "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "insutype": "390"}})
        };
        let before = h.store.gateway_snapshot().await.unwrap();
        let v = h.call(IPT_INST, "2304", input(OTHER_CERTNO)).await;
        assert_eq!(v["infcode"], -1, "{b}: 2304 用他人身份证应被拒绝：{v}");
        assert!(err(&v).contains("身份证号不符"), "{b}: {v}");
        assert_eq!(h.store.gateway_snapshot().await.unwrap(), before, "{b}");
        accepted(&h, IPT_INST, "2304", input(IPT_CERTNO)).await;
        h
    });
}

/// A msgid reused with another infno or another `input` is refused and changes nothing; the
/// same message again (keys in another order) still gets the first answer.
#[test]
fn a_reused_msgid_with_other_content_is_refused() {
    on_every_backend("hardening_msgid", |h| async move {
        let b = h.backend;
        let register = |psn: &str| {
            json!({"data": {"psn_no": psn, "insutype": "390", "begntime": "2024-03-01 08:00:00",
                "mdtrt_cert_type": "01", "mdtrt_cert_no": "E1", "ipt_otp_no": "MZ9"}})
        };
        let msgid = h.msgid(A);
        let first = h.call_with(A, "2201", &msgid, register(OTP_PSN)).await;
        assert!(ok(&first), "{b}: {first}");
        let before = h.store.gateway_snapshot().await.unwrap();
        let stored = h.store.answered(A, &msgid).await.unwrap();
        for (infno, input) in [
            ("2201", register("P01000002")),
            ("1101", json!({"data": {"psn_no": OTP_PSN}})),
        ] {
            let v = h.call_with(A, infno, &msgid, input).await;
            assert_eq!(v["infcode"], -1, "{b}: {infno} 重用 msgid 应被拒绝：{v}");
            let msg = err(&v);
            assert!(
                msg.contains("报文ID重复但内容不同") && msg.contains(&msgid),
                "{b}: {msg}"
            );
            assert_eq!(h.store.gateway_snapshot().await.unwrap(), before, "{b}");
            assert_eq!(h.store.answered(A, &msgid).await.unwrap(), stored, "{b}");
        }
        // The same message, its keys in another order: the first answer, byte for byte.
        let same = json!({"data": {"ipt_otp_no": "MZ9", "mdtrt_cert_no": "E1",
            "mdtrt_cert_type": "01", "begntime": "2024-03-01 08:00:00", "insutype": "390",
            "psn_no": OTP_PSN}});
        let again = h.call_with(A, "2201", &msgid, same).await;
        assert_eq!(again, first, "{b}");
        h
    });
}

/// `/healthz` reports readiness check by check, in Chinese: 503 while the database takes
/// no write (SQLite: the gateway's writer `query_only`), 200 again after.
#[test]
fn healthz_reports_each_readiness_check() {
    on_every_backend("hardening_healthz", |h| async move {
        let b = h.backend;
        let get = || async {
            let r = h
                .client
                .get(format!("{}/healthz", h.base))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        };
        accepted(&h, A, "1101", json!({"data": {"psn_no": OTP_PSN}})).await;
        let (status, body) = get().await;
        assert_eq!(status, 200, "{b}: {body}");
        for line in ["就绪", "数据库可写：正常", "数据库迁移：正常"] {
            assert!(body.contains(line), "{b}: 应含「{line}」：{body}");
        }
        if b == "SQLite" {
            yibao_store::testing::set_sqlite_read_only(&h.store, true)
                .await
                .unwrap();
            let (status, body) = get().await;
            assert_eq!(status, 503, "{b}: 数据库不可写时应为 503：{body}");
            assert!(
                body.contains("未就绪") && body.contains("数据库可写：失败"),
                "{b}: {body}"
            );
            assert!(body.contains("数据库迁移：正常"), "{b}: {body}");
            yibao_store::testing::set_sqlite_read_only(&h.store, false)
                .await
                .unwrap();
            let (status, body) = get().await;
            assert_eq!(status, 200, "{b}: {body}");
        }
        h
    });
}

/// A master key that opens none of the stored institution keys stops the gateway from
/// starting, with a Chinese message naming the key file (instead of 401 for everyone).
#[test]
fn a_wrong_master_key_refuses_to_start() {
    on_every_backend("hardening_master", |h| async move {
        let b = h.backend;
        let dir = std::env::temp_dir().join(format!("yibao-wrongkey-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("master.key");
        let wrong = yibao_gateway::MasterKey::load_or_create(&path).unwrap();
        let e = yibao_gateway::Gateway::new(h.store.clone(), wrong)
            .await
            .err()
            .expect("主密钥不符时网关不应启动");
        let msg = e.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("拒绝启动"),
            "{b}: {msg}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        h
    });
}
