//! The personal account (职工个人账户) at the counter: it pays up to its balance and runs dry
//! in the middle of a visit; a reversal gives the money back; 1101 reports the balance on
//! the date asked; `acct_used_flag` "0" leaves it alone; under 家庭共济 a resident family
//! member's visit draws on an employee's account. On every backend.

mod common;

use common::{ok, on_every_backend_with, Case, Harness, EMPLOYEE};
use serde_json::{json, Value};

/// A retired employee of the employee case whose account holds 13.02 on 1 January.
const PSN: &str = "P21000028";
/// A level-1 institution (门诊共济: retired deductible 100, ratio 70%).
const INST: &str = "H99010110000";

/// One outpatient visit of 100.00 (an 甲类 drug) settled with `acct_used_flag`: 2207's
/// `setlinfo` and the visit's ids.
async fn visit(h: &Harness, n: u32, acct_used_flag: &str) -> (Value, String, String) {
    visit_of(h, PSN, "310", n, "100", acct_used_flag).await
}

/// One outpatient visit of `psn` under `insutype` at `price` × 1 of an 甲类 drug.
async fn visit_of(
    h: &Harness,
    psn: &str,
    insutype: &str,
    n: u32,
    price: &str,
    acct_used_flag: &str,
) -> (Value, String, String) {
    let total = format!("{price}.00");
    let cert = format!("EC{psn}");
    let v = h
        .call(
            INST,
            "2201",
            json!({"data": {"psn_no": psn, "insutype": insutype, "begntime": "2024-03-01 08:00:00",
                "mdtrt_cert_type": "01", "mdtrt_cert_no": cert, "ipt_otp_no": format!("MZ{n}")}}),
        )
        .await;
    assert!(ok(&v), "2201: {v}");
    let mdtrt_id = v["output"]["data"]["mdtrt_id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = h
        .call(
            INST,
            "2203",
            json!({"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn, "med_type": "11",
                "begntime": "2024-03-01 08:00:00", "dise_codg": "J06.9", "dise_name": "上感"},
                "diseinfo": []}),
        )
        .await;
    assert!(ok(&v), "2203: {v}");
    let v = h
        .call(
            INST,
            "2204",
            json!({"feedetail": [{"feedetl_sn": "0001", "mdtrt_id": mdtrt_id, "psn_no": psn,
                "chrg_bchno": "B1", "fee_ocur_time": "2024-03-01 09:00:00",
                "med_list_codg": "D2100000", "medins_list_codg": "D2100000",
                "pric": price, "cnt": "1", "det_item_fee_sumamt": total}]}),
        )
        .await;
    assert!(ok(&v), "2204: {v}");
    let v = h
        .call(
            INST,
            "2207",
            json!({"data": {"psn_no": psn, "mdtrt_cert_type": "01", "mdtrt_cert_no": cert,
                "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01",
                "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "insutype": insutype,
                "acct_used_flag": acct_used_flag}}),
        )
        .await;
    assert!(ok(&v), "2207: {v}");
    let info = v["output"]["setlinfo"].clone();
    let setl_id = info["setl_id"].as_str().unwrap().to_string();
    (info, mdtrt_id, setl_id)
}

/// 1101's `insuinfo[0]` for `PSN` on `date`.
async fn insuinfo(h: &Harness, date: &str) -> Value {
    let v = h
        .call(
            INST,
            "1101",
            json!({"data": {"psn_no": PSN, "begntime": format!("{date} 08:00:00")}}),
        )
        .await;
    assert!(ok(&v), "1101: {v}");
    v["output"]["insuinfo"][0].clone()
}

#[test]
fn the_account_runs_dry_mid_visit_and_a_reversal_gives_it_back() {
    on_every_backend_with("gw_account", EMPLOYEE, |h| async move {
        let b = h.backend;
        let before = insuinfo(&h, "2024-02-01").await;
        assert_eq!(before["insutype"], "310", "{b}");
        assert_eq!(before["balc"], "13.02", "{b}");
        assert_eq!(before["psn_type"], "21", "{b}: 退休");
        assert_eq!(before["cvlserv_flag"], "0", "{b}");

        // "0": the account is left alone (the year's deductible, 100 retired, takes the visit).
        let (info, ..) = visit(&h, 1, "0").await;
        assert_eq!(info["act_pay_dedc"], "100.00", "{b}");
        assert_eq!(info["acct_pay"], "0.00", "{b}");
        assert_eq!(info["psn_cash_pay"], "100.00", "{b}");
        assert_eq!(info["balc"], "13.02", "{b}");

        // The fund pays 70%; of the person's 30.00 the account pays what it holds and runs
        // dry: 13.02 from the account, 16.98 in cash.
        let (info, mdtrt_id, setl_id) = visit(&h, 2, "1").await;
        assert_eq!(info["act_pay_dedc"], "0.00", "{b}");
        assert_eq!(info["hifp_pay"], "70.00", "{b}");
        assert_eq!(info["psn_part_amt"], "30.00", "{b}");
        assert_eq!(info["acct_pay"], "13.02", "{b}");
        assert_eq!(info["psn_cash_pay"], "16.98", "{b}");
        assert_eq!(info["balc"], "0.00", "{b}");
        for f in [
            "naty",
            "age",
            "psn_type",
            "cvlserv_flag",
            "hifes_pay",
            "acct_mulaid_pay",
            "clr_optins",
        ] {
            assert!(info.get(f).is_some(), "{b}: setlinfo 缺少 {f}");
        }
        assert_eq!(
            info.as_object().unwrap().len(),
            41,
            "{b}: 国家 setlinfo 的 41 个字段"
        );
        assert_eq!(insuinfo(&h, "2024-03-01").await["balc"], "0.00", "{b}");
        // The balance on a date before the visit is still what it was then.
        assert_eq!(insuinfo(&h, "2024-02-29").await["balc"], "13.02", "{b}");

        // Dry: the next visit is paid in cash.
        let (info, ..) = visit(&h, 3, "1").await;
        assert_eq!(info["acct_pay"], "0.00", "{b}");
        assert_eq!(info["psn_cash_pay"], "30.00", "{b}");

        // The reversal of the visit that emptied it gives the balance back.
        let v = h
            .call(
                INST,
                "2208",
                json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": PSN}}),
            )
            .await;
        assert!(ok(&v), "{b} 2208: {v}");
        assert_eq!(v["output"]["setlinfo"]["acct_pay"], "-13.02", "{b}");
        assert_eq!(v["output"]["setlinfo"]["balc"], "13.02", "{b}");
        assert_eq!(insuinfo(&h, "2024-03-01").await["balc"], "13.02", "{b}");
        let (info, ..) = visit(&h, 4, "1").await;
        assert_eq!(info["acct_pay"], "13.02", "{b}");

        // The ledger: opening, two payments, one restoration.
        let account = h
            .store
            .account(PSN, yibao_core::Date::parse("2024-12-31").unwrap())
            .await
            .unwrap();
        let kinds: Vec<(&str, i64)> = account
            .movements
            .iter()
            .map(|m| (m.kind.as_str(), m.amount_fen))
            .collect();
        assert_eq!(
            kinds,
            [
                ("opening", 1302),
                ("payment", -1302),
                ("restoration", 1302),
                ("payment", -1302)
            ],
            "{b}"
        );
        assert_eq!(account.balance_fen, 0, "{b}");
        h
    });
}

/// The employee case with a resident family member `F1` of P21000020 (348.98 in the account
/// on 1 January) registered for 家庭共济 all 2024.
fn family_case() -> Case {
    let src = EMPLOYEE.dir();
    let dir = std::env::temp_dir().join(format!("yibao-gw-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["institutions.csv", "catalog.csv", "persons.jsonl"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut persons = std::fs::read_to_string(dir.join("persons.jsonl")).unwrap();
    persons.push_str(
        r#"{"psn_no": "F1", "certno": "990101198808080021", "name": "家属", "gend": "2", "brdy": "1988-08-08", "enrolments": [2024], "family_aid": [{"holder": "P21000020", "from": "2024-01-01", "to": "2024-12-31"}]}"#,
    );
    persons.push('\n');
    std::fs::write(dir.join("persons.jsonl"), persons).unwrap();
    Case {
        dir: Box::leak(dir.to_string_lossy().into_owned().into_boxed_str()),
        ..EMPLOYEE
    }
}

#[test]
fn a_family_members_visit_draws_on_the_holders_account() {
    on_every_backend_with("gw_family", family_case(), |h| async move {
        let b = h.backend;
        // The family member is a resident: the resident policy too.
        let source = std::fs::read_to_string(common::RESIDENT.policy_path()).unwrap();
        let policy = yibao_core::Policy::from_toml("resident", &source).unwrap();
        let op = yibao_store::Operator("测试员".into());
        h.store.load_policy(&op, &policy, &source).await.unwrap();

        // Resident 门诊统筹 at level 1: deductible 50, 50% of 250.00 = 125.00 from the fund;
        // the person's 175.00 from the holder's account.
        let (info, mdtrt_id, setl_id) = visit_of(&h, "F1", "390", 1, "300", "1").await;
        assert_eq!(info["hifp_pay"], "125.00", "{b}: {info}");
        assert_eq!(info["acct_pay"], "0.00", "{b}");
        assert_eq!(info["acct_mulaid_pay"], "175.00", "{b}");
        assert_eq!(info["psn_cash_pay"], "0.00", "{b}");
        let holder = |date: &'static str| {
            let h = &h;
            async move {
                let v = h
                    .call(
                        INST,
                        "1101",
                        json!({"data": {"psn_no": "P21000020", "begntime": format!("{date} 08:00:00")}}),
                    )
                    .await;
                v["output"]["insuinfo"][0]["balc"].clone()
            }
        };
        assert_eq!(holder("2024-03-01").await, "173.98", "{b}");
        // The reversal gives the holder's account its money back.
        let v = h
            .call(
                INST,
                "2208",
                json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "F1"}}),
            )
            .await;
        assert!(ok(&v), "{b} 2208: {v}");
        assert_eq!(v["output"]["setlinfo"]["acct_mulaid_pay"], "-175.00", "{b}");
        assert_eq!(holder("2024-03-01").await, "348.98", "{b}");
        h
    });
}
