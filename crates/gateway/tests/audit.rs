//! Audit at the point of care: pre-settlement (2206) answers the audit findings of the
//! visit's uploaded lines under the gateway's rules, and a finding never changes what the
//! visit settles for (invariant 19).

mod common;

use common::{ok, on_every_backend, outpatient_settle_input, outpatient_with_one_line};
use serde_json::json;

const A: &str = "H99010110000";
const PSN: &str = "P01000001";

/// Uploads a second line of S0100001 on the visit's day: 重复收费.
async fn bill_again(h: &common::Harness, mdtrt_id: &str) {
    let v = h
        .call(
            A,
            "2204",
            json!({"feedetail": [{"feedetl_sn": "2", "mdtrt_id": mdtrt_id, "psn_no": PSN,
                "chrg_bchno": "B", "fee_ocur_time": "2024-03-01 09:30:00",
                "med_list_codg": "S0100001", "pric": "10.00", "cnt": "1",
                "det_item_fee_sumamt": "10.00"}]}),
        )
        .await;
    assert!(ok(&v), "2204: {v}");
}

#[test]
fn presettlement_answers_findings_and_settles_the_same() {
    on_every_backend("audit_presettlement", |h| async move {
        // The near miss: one line of S0100001, no finding.
        let clean = outpatient_with_one_line(&h, A, PSN, "10.00", "1").await;
        let pre = h
            .call(A, "2206", outpatient_settle_input(PSN, &clean, "10.00"))
            .await;
        assert!(ok(&pre), "2206: {pre}");
        assert_eq!(pre["output"]["audit_result"], json!([]), "{pre}");

        // The same item billed twice on the same day: 重复收费.
        let dup = outpatient_with_one_line(&h, A, PSN, "10.00", "1").await;
        bill_again(&h, &dup).await;
        let pre = h
            .call(A, "2206", outpatient_settle_input(PSN, &dup, "20.00"))
            .await;
        assert!(ok(&pre), "2206: {pre}");
        let found = pre["output"]["audit_result"].as_array().unwrap();
        assert_eq!(found.len(), 1, "{pre}");
        let f = &found[0];
        assert_eq!(f["vola_bhvr_type"], "DUPLICATE_CHARGE");
        assert_eq!(f["rule_id"], "AUD-CF-01");
        assert_eq!(f["sev_deg"], "违规");
        assert_eq!(f["vola_amt"], "10.00");
        assert_eq!(f["mdtrt_id"], json!(dup));
        assert_eq!(f["patn_id"], PSN);
        assert_eq!(f["vola_amt_stas"], "1");
        assert!(
            f["vola_evid"].as_str().unwrap().contains("AUD-CF-01"),
            "{f}"
        );
        let text = f["vola_cont"].as_str().unwrap();
        assert!(
            text.contains("S0100001") && text.contains("重复收费"),
            "{text}"
        );

        // What it settles for is what the pre-settlement previewed, finding or not.
        let settled = h
            .call(A, "2207", outpatient_settle_input(PSN, &dup, "20.00"))
            .await;
        assert!(ok(&settled), "2207: {settled}");
        for field in [
            "medfee_sumamt",
            "fund_pay_sumamt",
            "psn_cash_pay",
            "acct_pay",
        ] {
            assert_eq!(
                settled["output"]["setlinfo"][field], pre["output"]["setlinfo"][field],
                "{field}"
            );
        }
        // The settlement carries its finding, recorded with it.
        let setl_id = settled["output"]["setlinfo"]["setl_id"].as_str().unwrap();
        let recorded = h.store.settlement_findings(setl_id).await.unwrap();
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0].family, "DUPLICATE_CHARGE");
        assert_eq!(recorded[0].amount_fen, 1000);
        assert_eq!(recorded[0].message, text);
        // The clean visit settles with none.
        let settled = h
            .call(A, "2207", outpatient_settle_input(PSN, &clean, "10.00"))
            .await;
        assert!(ok(&settled), "2207: {settled}");
        let setl_id = settled["output"]["setlinfo"]["setl_id"].as_str().unwrap();
        assert!(h
            .store
            .settlement_findings(setl_id)
            .await
            .unwrap()
            .is_empty());
        h
    });
}

#[test]
fn analysis_3101_3102_answers_findings() {
    on_every_backend("audit_analysis", |h| async move {
        let dup = outpatient_with_one_line(&h, A, PSN, "10.00", "1").await;
        bill_again(&h, &dup).await;
        // Before 2206 the visit has no med_type: the analysis must be told it.
        let bare = json!({"data": {"mdtrt_id": dup, "psn_no": PSN}});
        let v = h.call(A, "3101", bare).await;
        assert!(!ok(&v) && common::err(&v).contains("med_type"), "{v}");
        for infno in ["3101", "3102"] {
            let input = json!({"data": {"mdtrt_id": dup, "psn_no": PSN, "med_type": "11"}});
            let v = h.call(A, infno, input).await;
            assert!(ok(&v), "{infno}: {v}");
            let result = v["output"]["result"].as_array().unwrap();
            assert_eq!(result.len(), 1, "{v}");
            assert_eq!(result[0]["vola_bhvr_type"], "DUPLICATE_CHARGE");
            assert_eq!(result[0]["jr_id"], json!(format!("{dup}-1")));
        }
        // Another institution may not analyse A's visit.
        let input = json!({"data": {"mdtrt_id": dup, "psn_no": PSN, "med_type": "11"}});
        let v = h.call("H99010110001", "3101", input).await;
        assert!(!ok(&v), "{v}");
        h
    });
}
