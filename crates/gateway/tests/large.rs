//! A stay with thousands of fee lines: one upload (2301) whose writes exceed what one SQLite
//! statement batch may bind goes in several batches of one transaction, and the settlement
//! (2304) counts every line.

mod common;

use common::{err, ok, on_every_backend};
use serde_json::json;
use yibao_his::fee_line;

const INST: &str = "H99010110004";
const PSN: &str = "P01000006";
/// 3,500 lines × 9 values is more than the 30,000 values of one batch.
const LINES: usize = 3_500;

#[test]
fn thousands_of_lines_in_one_upload() {
    on_every_backend("gw_large", |h| async move {
        let b = h.backend;
        let v = h
            .call(
                INST,
                "2401",
                json!({"mdtrtinfo": {
                "psn_no": PSN, "insutype": "390", "begntime": "2024-05-06 10:00:00",
                "mdtrt_cert_type": "01", "mdtrt_cert_no": "EC1", "med_type": "21",
                "ipt_no": "ZY9001", "dise_codg": "J18.9", "dise_name": "肺炎"
            }, "diseinfo": []}),
            )
            .await;
        assert!(ok(&v), "{b}: 2401 {v}");
        let mdtrt_id = v["output"]["result"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_string();
        // S0100001: 甲类, no price limit (catalog of the reference case).
        let lines: Vec<_> = (0..LINES)
            .map(|k| {
                fee_line(
                    k + 1,
                    &mdtrt_id,
                    PSN,
                    "S0100001",
                    100 + (k % 7) as i64,
                    1,
                    "2024-05-07",
                )
            })
            .collect();
        let total: i64 = (0..LINES).map(|k| 100 + (k % 7) as i64).sum();
        let v = h.call(INST, "2301", json!({ "feedetail": lines })).await;
        assert!(ok(&v), "{b}: 2301 {}", err(&v));
        assert_eq!(v["output"]["result"].as_array().unwrap().len(), LINES);
        let v = h
            .call(
                INST,
                "2402",
                json!({"dscginfo": {
                "mdtrt_id": mdtrt_id, "psn_no": PSN, "insutype": "390",
                "endtime": "2024-05-10 09:00:00", "dise_codg": "J18.9", "dscg_way": "1"
            }, "diseinfo": []}),
            )
            .await;
        assert!(ok(&v), "{b}: 2402 {}", err(&v));
        let v = h
            .call(
                INST,
                "2304",
                json!({"data": {
                    "psn_no": PSN, "mdtrt_cert_type": "01", "mdtrt_cert_no": "EC1",
                    "medfee_sumamt": yibao_core::money::format_fen(total), "psn_setlway": "01",
                    "mdtrt_id": mdtrt_id, "insutype": "390", "acct_used_flag": "0"
                }}),
            )
            .await;
        assert!(ok(&v), "{b}: 2304 {}", err(&v));
        assert_eq!(
            v["output"]["setlinfo"]["medfee_sumamt"],
            json!(yibao_core::money::format_fen(total))
        );
        h
    });
}
