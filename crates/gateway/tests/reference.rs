//! The reference cases (residents under 390, employees under 310) driven through the HTTP
//! transactions, as a hospital would send them: 门诊 2201→2203→2204→2207, 住院
//! 2401→2301→2402→2304, reversals 2208 / 2305. Every settlement's `setlinfo` must equal the
//! expected result to the fen (the personal account included), and every expected rejection
//! must be refused at the step where the gateway meets it.

mod common;

use common::{err, ok, on_every_backend_with, Case, Harness, EMPLOYEE, RESIDENT};
use serde_json::{json, Value};
use std::collections::HashMap;

const AMOUNT_FIELDS: [&str; 17] = [
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "hifob_pay",
    "cvlserv_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "hosp_part_amt",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
];

struct Settled {
    inst: String,
    psn_no: String,
    mdtrt_id: String,
    setl_id: String,
    inpatient: bool,
}

fn lines_of(claim: &Value, mdtrt_id: &str, psn_no: &str, date: &str) -> Vec<Value> {
    claim["lines"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "feedetl_sn": format!("{:04}", i + 1), "mdtrt_id": mdtrt_id, "psn_no": psn_no,
                "chrg_bchno": "B1", "fee_ocur_time": format!("{date} 09:00:00"),
                "med_list_codg": l["code"], "medins_list_codg": l["code"],
                "pric": l["price"], "cnt": l["qty"], "det_item_fee_sumamt": l["amount"],
            })
        })
        .collect()
}

/// Drives one settlement record: the settlement output, or the step refused and why.
async fn drive(
    h: &Harness,
    claim: &Value,
    insutype: &str,
) -> Result<(Value, Settled), (String, String)> {
    let inst = claim["fixmedins_code"].as_str().unwrap().to_string();
    // As the batch reads it: a string or a number, "1" when absent.
    let acct = match &claim["acct_used_flag"] {
        Value::Null => "1".to_string(),
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    let psn = claim["psn_no"].as_str().unwrap().to_string();
    let med_type = claim["med_type"].as_str().unwrap();
    let begn = claim["begndate"].as_str().unwrap();
    let end = claim["enddate"].as_str().unwrap();
    let dise = claim["dise_codg"].as_str().unwrap();
    let inpatient = med_type == "21";
    let total: i64 = claim["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| yibao_core::money::parse_yuan(l["amount"].as_str().unwrap()).unwrap_or(0))
        .sum();
    let total = yibao_core::money::format_fen(total);
    let check = |name: &str, v: Value| -> Result<Value, (String, String)> {
        if ok(&v) {
            Ok(v)
        } else {
            Err((name.to_string(), err(&v)))
        }
    };
    if !h.secrets.contains_key(&inst) {
        // No key can exist for an institution the bureau does not know.
        let (status, v) = h
            .send(&inst, "guess", Harness::now(), &h.nonce(), "{}".into())
            .await;
        assert_eq!(status, 401, "{v}");
        return Err(("auth".into(), err(&v)));
    }
    let cert = json!({"mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{psn}")});
    let mdtrt_id: String;
    let out: Value;
    if !inpatient {
        let v = check(
            "2201",
            h.call(&inst, "2201", json!({"data": {
                "psn_no": psn, "insutype": insutype, "begntime": format!("{begn} 08:00:00"),
                "mdtrt_cert_type": cert["mdtrt_cert_type"], "mdtrt_cert_no": cert["mdtrt_cert_no"],
                "ipt_otp_no": claim["claim_id"], "atddr_no": "D001", "dr_name": "医生",
                "dept_code": "01", "dept_name": "内科", "caty": "A03"
            }}))
            .await,
        )?;
        mdtrt_id = v["output"]["data"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_string();
        check(
            "2203",
            h.call(
                &inst,
                "2203",
                json!({"mdtrtinfo": {
                "mdtrt_id": mdtrt_id, "psn_no": psn, "med_type": med_type,
                "begntime": format!("{begn} 08:00:00"), "dise_codg": dise, "dise_name": dise
            }, "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": dise}]}),
            )
            .await,
        )?;
        check(
            "2204",
            h.call(
                &inst,
                "2204",
                json!({"feedetail": lines_of(claim, &mdtrt_id, &psn, begn)}),
            )
            .await,
        )?;
        let pre = check(
            "2206",
            h.call(
                &inst,
                "2206",
                json!({"data": {
                    "psn_no": psn, "mdtrt_cert_type": cert["mdtrt_cert_type"],
                    "mdtrt_cert_no": cert["mdtrt_cert_no"], "med_type": med_type,
                    "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
                    "chrg_bchno": "B1", "acct_used_flag": acct, "insutype": insutype
                }}),
            )
            .await,
        )?;
        out = check(
            "2207",
            h.call(
                &inst,
                "2207",
                json!({"data": {
                    "psn_no": psn, "mdtrt_cert_type": cert["mdtrt_cert_type"],
                    "mdtrt_cert_no": cert["mdtrt_cert_no"], "med_type": med_type,
                    "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
                    "chrg_bchno": "B1", "acct_used_flag": acct, "insutype": insutype
                }}),
            )
            .await,
        )?;
        same_amounts(&pre["output"]["setlinfo"], &out["output"]["setlinfo"]);
    } else {
        let v = check(
            "2401",
            h.call(
                &inst,
                "2401",
                json!({"mdtrtinfo": {
                "psn_no": psn, "insutype": insutype, "coner_name": "家属", "tel": "",
                "begntime": format!("{begn} 10:00:00"), "mdtrt_cert_type": cert["mdtrt_cert_type"],
                "mdtrt_cert_no": cert["mdtrt_cert_no"], "med_type": med_type,
                "ipt_no": claim["claim_id"], "medrcdno": "", "atddr_no": "D001",
                "chfpdr_name": "医生", "adm_diag_dscr": "", "adm_dept_codg": "02",
                "adm_dept_name": "外科", "adm_bed": "1", "dscg_maindiag_code": dise,
                "dscg_maindiag_name": dise, "main_cond_dscr": "", "dise_codg": dise,
                "dise_name": dise
            }, "diseinfo": []}),
            )
            .await,
        )?;
        mdtrt_id = v["output"]["result"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_string();
        check(
            "2301",
            h.call(
                &inst,
                "2301",
                json!({"feedetail": lines_of(claim, &mdtrt_id, &psn, begn)}),
            )
            .await,
        )?;
        check(
            "2402",
            h.call(
                &inst,
                "2402",
                json!({"dscginfo": {
                "mdtrt_id": mdtrt_id, "psn_no": psn, "insutype": insutype,
                "endtime": format!("{end} 09:00:00"), "dise_codg": dise, "dise_name": dise,
                "dscg_dept_codg": "02", "dscg_dept_name": "外科", "dscg_way": "1"
            }, "diseinfo": []}),
            )
            .await,
        )?;
        let input = json!({"data": {
            "psn_no": psn, "mdtrt_cert_type": cert["mdtrt_cert_type"],
            "mdtrt_cert_no": cert["mdtrt_cert_no"], "medfee_sumamt": total,
            "psn_setlway": "01", "mdtrt_id": mdtrt_id, "insutype": insutype,
            "acct_used_flag": acct, "mid_setl_flag": "0"
        }});
        let pre = check("2303", h.call(&inst, "2303", input.clone()).await)?;
        out = check("2304", h.call(&inst, "2304", input).await)?;
        same_amounts(&pre["output"]["setlinfo"], &out["output"]["setlinfo"]);
    }
    let setl_id = out["output"]["setlinfo"]["setl_id"]
        .as_str()
        .unwrap()
        .to_string();
    Ok((
        out["output"].clone(),
        Settled {
            inst,
            psn_no: psn,
            mdtrt_id,
            setl_id,
            inpatient,
        },
    ))
}

fn same_amounts(pre: &Value, settled: &Value) {
    for f in AMOUNT_FIELDS {
        assert_eq!(pre[f], settled[f], "预结算与结算的 {f} 不同");
    }
}

/// Where the gateway meets each rejection code of `interface.md` §2.
fn expected_step(code: &str, inpatient: bool) -> &'static [&'static str] {
    match (code, inpatient) {
        ("UNKNOWN_INSTITUTION", _) => &["auth"],
        ("UNKNOWN_PERSON" | "NOT_ENROLLED", false) => &["2201"],
        ("UNKNOWN_PERSON" | "NOT_ENROLLED", true) => &["2401"],
        ("UNKNOWN_ITEM" | "INVALID_CLAIM", false) => &["2204"],
        ("UNKNOWN_ITEM" | "INVALID_CLAIM", true) => &["2301"],
        ("NOT_REGISTERED", false) => &["2206"],
        ("NOT_REGISTERED", true) => &["2303"],
        _ => &[],
    }
}

/// What each payer paid over the expected results of the claims that stand settled: every
/// successful settlement's amounts less those of the settlements successfully reversed.
fn net_expected(claims: &[Value], expected: &[Value]) -> HashMap<String, i64> {
    const PAYERS: [&str; 8] = [
        "hifp_pay",
        "hifob_pay",
        "cvlserv_pay",
        "hifmi_pay",
        "maf_pay",
        "oth_pay",
        "acct_pay",
        "hosp_part_amt",
    ];
    let amounts = |e: &Value| -> Vec<i64> {
        PAYERS
            .iter()
            .map(|f| {
                e[*f]
                    .as_str()
                    .map_or(0, |t| yibao_core::money::parse_yuan(t).unwrap())
            })
            .collect()
    };
    let mut standing: HashMap<&str, Vec<i64>> = HashMap::new();
    for (c, e) in claims.iter().zip(expected) {
        let id = c["claim_id"].as_str().unwrap();
        if e["ok"] != true {
            continue;
        }
        if c["type"] == "reversal" {
            standing.remove(c["target"].as_str().unwrap());
        } else {
            // 家庭共济's share comes out of an account too.
            let mut a = amounts(e);
            a[6] += e["acct_mulaid_pay"]
                .as_str()
                .map_or(0, |t| yibao_core::money::parse_yuan(t).unwrap());
            standing.insert(id, a);
        }
    }
    let mut out: HashMap<String, i64> = PAYERS.iter().map(|f| (f.to_string(), 0)).collect();
    for a in standing.values() {
        for (f, v) in PAYERS.iter().zip(a) {
            *out.get_mut(*f).unwrap() += v;
        }
    }
    out
}

#[test]
fn reference_cases_through_http() {
    through_http("gw_reference", RESIDENT);
}

#[test]
fn employee_reference_cases_through_http() {
    through_http("gw_reference_employee", EMPLOYEE);
}

fn through_http(name: &str, case: Case) {
    on_every_backend_with(name, case, |h| async move {
        let dir = case.dir();
        let claims: Vec<Value> = std::fs::read_to_string(dir.join("claims.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let expected: Vec<Value> = std::fs::read_to_string(dir.join("expected.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(claims.len(), expected.len());
        let mut settled: HashMap<String, Settled> = HashMap::new();
        let (mut n_ok, mut n_refused, mut n_reversed) = (0, 0, 0);
        for (claim, exp) in claims.iter().zip(&expected) {
            let id = claim["claim_id"].as_str().unwrap();
            if claim["type"] == "reversal" {
                let target = claim["target"].as_str().unwrap();
                match settled.remove(target) {
                    Some(s) => {
                        let infno = if s.inpatient { "2305" } else { "2208" };
                        let v = h
                            .call(
                                &s.inst,
                                infno,
                                json!({"data": {
                                    "setl_id": s.setl_id, "mdtrt_id": s.mdtrt_id, "psn_no": s.psn_no
                                }}),
                            )
                            .await;
                        assert_eq!(ok(&v), exp["ok"] == true, "{}: {id} {v}", h.backend);
                        n_reversed += 1;
                    }
                    None => {
                        // Nothing settled to reverse: expected UNKNOWN_CLAIM.
                        assert_eq!(exp["error"]["code"], "UNKNOWN_CLAIM", "{id}");
                        n_refused += 1;
                    }
                }
                continue;
            }
            let inpatient = claim["med_type"] == "21";
            if exp["error"]["code"] == "DUPLICATE_CLAIM" {
                // At the counter the same claim is the settled visit settled again: refused.
                let s = &settled[id];
                let infno = if s.inpatient { "2304" } else { "2207" };
                let v = h
                    .call(
                        &s.inst,
                        infno,
                        json!({"data": {
                            "psn_no": s.psn_no, "mdtrt_id": s.mdtrt_id, "medfee_sumamt": "0.00",
                            "med_type": claim["med_type"], "insutype": case.insutype,
                            "mdtrt_cert_type": "01", "mdtrt_cert_no": format!("EC{}", s.psn_no),
                            "psn_setlway": "01", "acct_used_flag": "1"
                        }}),
                    )
                    .await;
                assert!(!ok(&v), "{}: {id} 重复结算应被拒绝：{v}", h.backend);
                n_refused += 1;
                continue;
            }
            match drive(&h, claim, case.insutype).await {
                Ok((out, s)) => {
                    assert_eq!(exp["ok"], true, "{}: {id} 应被拒绝：{exp}", h.backend);
                    for f in AMOUNT_FIELDS.iter().filter(|f| exp.get(**f).is_some()) {
                        assert_eq!(
                            out["setlinfo"][f], exp[f],
                            "{}: {id} 的 {f} 与期望不符",
                            h.backend
                        );
                    }
                    let funds: i64 = out["setldetail"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| {
                            yibao_core::money::parse_yuan(d["fund_payamt"].as_str().unwrap())
                                .unwrap()
                        })
                        .sum();
                    let expected_funds = [
                        "hifp_pay",
                        "hifob_pay",
                        "cvlserv_pay",
                        "hifmi_pay",
                        "maf_pay",
                        "oth_pay",
                    ]
                    .iter()
                    .map(|f| {
                        exp[*f]
                            .as_str()
                            .map_or(0, |t| yibao_core::money::parse_yuan(t).unwrap())
                    })
                    .sum::<i64>();
                    assert_eq!(funds, expected_funds, "{id} setldetail");
                    settled.insert(id.to_string(), s);
                    n_ok += 1;
                }
                Err((step, msg)) => {
                    assert_eq!(
                        exp["ok"], false,
                        "{}: {id} 在 {step} 被拒绝：{msg}",
                        h.backend
                    );
                    let code = exp["error"]["code"].as_str().unwrap();
                    assert!(
                        expected_step(code, inpatient).contains(&step.as_str()),
                        "{}: {id} 期望 {code}，却在 {step} 被拒绝：{msg}",
                        h.backend
                    );
                    assert!(!msg.is_empty());
                    if step == "2206" || step == "2303" {
                        assert!(msg.contains(code), "{id}: {msg}");
                    }
                    n_refused += 1;
                }
            }
        }
        assert_eq!(n_ok + n_refused + n_reversed, claims.len());
        let expected_ok = claims
            .iter()
            .zip(&expected)
            .filter(|(c, e)| c["type"] != "reversal" && e["ok"] == true)
            .count();
        assert_eq!(n_ok, expected_ok);
        eprintln!(
            "{}：结算 {n_ok}，撤销 {n_reversed}，拒绝 {n_refused}",
            h.backend
        );
        // The books: the fund report's spending per payer equals the expected amounts of the
        // claims that stand settled (net of reversals), and the journal checks.
        let expected_spent = net_expected(&claims, &expected);
        assert!(expected_spent["hifp_pay"] > 0);
        let report = h.store.fund_report(2024).await.unwrap();
        let spent = report.expenditure();
        for (field, want) in &expected_spent {
            let got = spent.get(field.as_str()).copied().unwrap_or_default();
            assert_eq!(got, *want, "{}: 基金报告 {field}", h.backend);
        }
        let fund = report
            .funds
            .iter()
            .find(|f| f.insutype == case.insutype)
            .unwrap();
        assert_eq!(
            fund.visits,
            n_ok as i64 - n_reversed as i64,
            "{}",
            h.backend
        );
        let violations = h.store.ledger_check().await.unwrap();
        assert!(violations.is_empty(), "{}: {violations:?}", h.backend);
        // The check sees a settlement whose entry is gone and a reversal whose mirror is.
        for kind in ["settlement", "reversal"] {
            sqlx::query(
                "DELETE FROM journal_postings WHERE reference = \
                 (SELECT MIN(reference) FROM journal_entries WHERE kind = $1)",
            )
            .bind(kind)
            .execute(h.store.pool())
            .await
            .unwrap();
        }
        let violations = h.store.ledger_check().await.unwrap();
        for want in ["借贷不平", "没有记账分录", "没有冲销分录"] {
            assert!(
                violations.iter().any(|v| v.contains(want)),
                "{}: 应查出“{want}”：{violations:?}",
                h.backend
            );
        }
        // The stored accumulators equal a replay of what stands settled.
        let off = h.store.accumulator_discrepancies().await.unwrap();
        assert!(off.is_empty(), "{}: 累计值与重放不符：{off:?}", h.backend);
        assert!(!h.store.all_accumulators().await.unwrap().is_empty());
        h
    });
}
