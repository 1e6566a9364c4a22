//! A fault is not a refusal: when the database cannot be written (here SQLite's own
//! "attempt to write a readonly database"), a 2207 is answered as a system error the HIS may
//! resend, nothing is recorded — not the settlement, not the msgid's answer — and once the
//! fault is gone the same msgid settles, exactly once.

mod common;

use common::{err, ok, outpatient_settle_input, outpatient_with_one_line, Harness};
use serde_json::Value;

const INST: &str = "H99010110000";
const PSN: &str = "P01000001";

/// Sends `input` as `infno` with `msgid` and a fresh nonce: HTTP status and envelope.
async fn send(h: &Harness, infno: &str, msgid: &str, input: &Value) -> (u16, Value) {
    let body = h.envelope(INST, infno, msgid, input.clone()).to_string();
    h.send_signed(INST, body).await
}

#[test]
fn a_write_fault_is_a_system_error_and_the_same_msgid_settles_after() {
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        let (backend, store) = yibao_store::testing::stores("faults_read_only")
            .await
            .into_iter()
            .find(|(b, _)| *b == "SQLite")
            .expect("a SQLite store");
        let h = Harness::start(backend, store).await;
        let mdtrt_id = outpatient_with_one_line(&h, INST, PSN, "12.30", "2").await;
        let settle = outpatient_settle_input(PSN, &mdtrt_id, "24.60");
        let before = h.store.gateway_snapshot().await.unwrap();
        let msgid = h.msgid(INST);

        yibao_store::testing::set_sqlite_read_only(&h.store, true)
            .await
            .unwrap();
        for _ in 0..2 {
            let (status, v) = send(&h, "2207", &msgid, &settle).await;
            assert_eq!(status, 500, "{v}");
            assert_eq!(v["infcode"], -1, "{v}");
            assert!(
                err(&v).contains("系统错误") && err(&v).contains("重发"),
                "{v}"
            );
        }
        yibao_store::testing::set_sqlite_read_only(&h.store, false)
            .await
            .unwrap();

        assert_eq!(h.store.answered(INST, &msgid).await.unwrap(), None);
        assert_eq!(h.store.gateway_snapshot().await.unwrap(), before);
        let (status, first) = send(&h, "2207", &msgid, &settle).await;
        assert_eq!(status, 200);
        assert!(ok(&first), "{first}");
        assert_eq!(first["output"]["setlinfo"]["medfee_sumamt"], "24.60");
        // Sent once more, the same msgid gets the same answer and settles nothing more.
        let (_, again) = send(&h, "2207", &msgid, &settle).await;
        assert_eq!(again, first);
        let settlements = h.store.settlements().await.unwrap();
        assert_eq!(
            settlements
                .iter()
                .filter(|s| s.mdtrt_id == mdtrt_id)
                .count(),
            1
        );
        assert!(h
            .store
            .accumulator_discrepancies()
            .await
            .unwrap()
            .is_empty());
        h.stop().await;
    });
}
