//! The gateway's log carries neither an institution's secret nor a full ID number, whatever
//! the request: accepted, refused or unauthenticated (`ARCHITECTURE.md`, invariant 17).

mod common;

use common::{ok, Harness};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

const INST: &str = "H99010110000";
const PSN: &str = "P01000001";
const CERTNO: &str = "990101194102020010";

/// Everything the gateway logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_hold_no_secret_and_no_full_id_number() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        let (backend, store) = yibao_store::testing::stores("gw_logs").await.remove(0);
        let h = Harness::start(backend, store).await;
        // Accepted, by ID number.
        let v = h
            .call(
                INST,
                "1101",
                json!({"data": {"certno": CERTNO, "psn_cert_type": "01"}}),
            )
            .await;
        assert!(ok(&v), "{v}");
        // Refused, naming an ID number nobody holds and a credential that is not the person's.
        let v = h
            .call(
                INST,
                "1101",
                json!({"data": {"certno": "990101199001010013"}}),
            )
            .await;
        assert!(!ok(&v), "{v}");
        let v = h
            .call(
                INST,
                "2201",
                json!({"data": {"psn_no": PSN, "insutype": "390", "begntime": "2024-03-01 08:00:00",
                    "mdtrt_cert_type": "02", "mdtrt_cert_no": "990101194102020029",
                    "ipt_otp_no": "MZ1"}}),
            )
            .await;
        assert!(!ok(&v), "{v}");
        // Unauthenticated: signed with a wrong secret.
        let body = h
            .envelope(
                INST,
                "1101",
                &h.msgid(INST),
                json!({"data": {"certno": CERTNO}}),
            )
            .to_string();
        let (status, _) = h
            .send(INST, "not-the-secret", Harness::now(), &h.nonce(), body)
            .await;
        assert_eq!(status, 401);
        let secrets: Vec<String> = h.secrets.values().cloned().collect();
        h.stop().await;
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            log.contains("交易完成") && log.contains("认证失败"),
            "{log}"
        );
        assert!(
            secrets.iter().all(|s| !log.contains(s.as_str())),
            "an institution's secret is in the log"
        );
        for id in [CERTNO, "990101199001010013", "990101194102020029"] {
            assert!(!log.contains(id), "full ID number {id} in the log:\n{log}");
        }
    });
}
