//! 3201 医药机构费用结算对总账: the institution's totals for a period, compared with what the
//! gateway settled (and did not reverse), on every backend.

mod common;

use common::{ok, on_every_backend, outpatient_settle_input, outpatient_with_one_line};
use serde_json::{json, Value};

const INST: &str = "H99010110000";
const PSN: &str = "P01000001";

fn totals(cnt: &str, medfee: &str, fund: &str) -> Value {
    json!({"data": {"insutype": "390", "clr_type": "11", "setl_optins": "990101",
        "stmt_begndate": "2020-01-01", "stmt_enddate": "2099-12-31", "medfee_sumamt": medfee,
        "fund_pay_sumamt": fund, "acct_pay": "0.00", "fixmedins_setl_cnt": cnt}})
}

#[test]
fn totals_agree_or_name_the_difference() {
    on_every_backend("gw_reconcile", |h| async move {
        let mut fund = 0;
        for (pric, cnt) in [("12.30", "2"), ("1999.99", "3")] {
            let mdtrt_id = outpatient_with_one_line(&h, INST, PSN, pric, cnt).await;
            let medfee = yibao_core::money::format_fen(yibao_core::claim::line_amount(
                yibao_core::refdata::parse_price_scaled(pric).unwrap(),
                yibao_core::refdata::parse_price_scaled(cnt).unwrap(),
            ));
            let v = h
                .call(
                    INST,
                    "2207",
                    outpatient_settle_input(PSN, &mdtrt_id, &medfee),
                )
                .await;
            assert!(ok(&v), "{}: {v}", h.backend);
            fund += yibao_core::money::parse_yuan(
                v["output"]["setlinfo"]["fund_pay_sumamt"].as_str().unwrap(),
            )
            .unwrap();
        }
        let fund = yibao_core::money::format_fen(fund);
        let v = h.call(INST, "3201", totals("2", "6024.57", &fund)).await;
        assert!(ok(&v), "{}: {v}", h.backend);
        assert_eq!(
            v["output"]["stmtinfo"]["stmt_rslt"], "0",
            "{}: {v}",
            h.backend
        );
        let v = h.call(INST, "3201", totals("3", "6024.58", &fund)).await;
        let info = &v["output"]["stmtinfo"];
        assert_eq!(info["stmt_rslt"], "1", "{}: {v}", h.backend);
        let dscr = info["stmt_rslt_dscr"].as_str().unwrap();
        assert!(
            dscr.contains("结算笔数 机构 3 / 医保 2")
                && dscr.contains("医疗费总额 机构 6024.58 / 医保 6024.57"),
            "{}: {dscr}",
            h.backend
        );
        h
    });
}
