//! A gateway on loopback over a fresh store with the reference case loaded, and a signing
//! client, for the gateway's tests (SQLite, and PostgreSQL when `YIBAO_TEST_POSTGRES` is set).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use yibao_gateway::keys::{new_secret, signature};
use yibao_gateway::{Gateway, MasterKey, ENDPOINT};
use yibao_store::{Operator, Store};

/// A reference case: its data directory (with claims and expected results), its policy and
/// the scheme its claims are sent under.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub dir: &'static str,
    pub policy: &'static str,
    pub insutype: &'static str,
}

pub const RESIDENT: Case = Case {
    dir: "sample-county-2024",
    policy: "sample-county-2024.toml",
    insutype: "390",
};

pub const EMPLOYEE: Case = Case {
    dir: "sample-county-employee-2024",
    policy: "sample-county-employee-2024.toml",
    insutype: "310",
};

impl Case {
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(self.dir)
    }

    pub fn policy_path(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../policies")
            .join(self.policy)
    }
}

pub fn case_dir() -> PathBuf {
    RESIDENT.dir()
}

pub fn policy_path() -> PathBuf {
    RESIDENT.policy_path()
}

pub struct Harness {
    pub backend: &'static str,
    pub store: Store,
    pub base: String,
    pub client: reqwest::Client,
    pub secrets: HashMap<String, String>,
    seq: AtomicU64,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Loads the resident reference case into `store` and issues a key to every institution.
pub async fn prepare(store: &Store, master: &MasterKey) -> HashMap<String, String> {
    prepare_case(store, master, RESIDENT).await
}

/// Loads reference case `case` into `store` and issues a key to every institution.
pub async fn prepare_case(
    store: &Store,
    master: &MasterKey,
    case: Case,
) -> HashMap<String, String> {
    let op = Operator("测试员".into());
    let source = std::fs::read_to_string(case.policy_path()).unwrap();
    let policy = yibao_core::Policy::from_toml(case.policy, &source).unwrap();
    let reference = yibao_files::refdir::read_reference(&case.dir()).unwrap();
    yibao_store::load_reference(store, &op, &policy, &source, &reference)
        .await
        .unwrap();
    let mut secrets = HashMap::new();
    let text = std::fs::read_to_string(case.dir().join("institutions.csv")).unwrap();
    for line in text.lines().skip(1) {
        let code = line.split(',').next().unwrap().trim().to_string();
        let secret = new_secret();
        store
            .insert_key(&op, &code, &master.seal(&secret))
            .await
            .unwrap();
        secrets.insert(code, secret);
    }
    secrets
}

impl Harness {
    pub async fn start(backend: &'static str, store: Store) -> Harness {
        Harness::start_with(backend, store, RESIDENT).await
    }

    /// A gateway over a store with reference case `case` loaded.
    pub async fn start_with(backend: &'static str, store: Store, case: Case) -> Harness {
        let master = MasterKey::from_bytes([9; 32]);
        let secrets = prepare_case(&store, &master, case).await;
        let gw = Gateway::new(store.clone(), master).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            yibao_gateway::serve(gw, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Harness {
            backend,
            store,
            base,
            client: reqwest::Client::new(),
            secrets,
            seq: AtomicU64::new(1),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap();
        }
    }

    /// A fresh msgid of `inst` (12 + 14 + 4 characters).
    pub fn msgid(&self, inst: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!(
            "{inst}{:014}{:04}",
            20240101000000u64 + n / 10_000,
            n % 10_000
        )
    }

    pub fn envelope(&self, inst: &str, infno: &str, msgid: &str, input: Value) -> Value {
        json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": "990100", "insuplc_admdvs": "990100",
            "recer_sys_code": "YBJG", "infver": "V1.0", "opter_type": "1", "opter": "001",
            "opter_name": "收费员", "inf_time": "2024-01-01 08:00:00", "fixmedins_code": inst,
            "fixmedins_name": "测试医院", "sign_no": "", "input": input,
        })
    }

    /// Sends `body` signed as `inst` with `secret`, `timestamp` and `nonce`.
    pub async fn send(
        &self,
        inst: &str,
        secret: &str,
        timestamp: i64,
        nonce: &str,
        body: String,
    ) -> (u16, Value) {
        let ts = timestamp.to_string();
        let resp = self
            .client
            .post(format!("{}{ENDPOINT}", self.base))
            .header("content-type", "application/json")
            .header("x-tif-paasid", inst)
            .header("x-tif-timestamp", &ts)
            .header("x-tif-nonce", nonce)
            .header("x-tif-signature", signature(&ts, secret, nonce))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        (status, v)
    }

    pub fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    pub fn nonce(&self) -> String {
        format!("n{}", self.seq.fetch_add(1, Ordering::Relaxed))
    }

    /// Calls `infno` as `inst` with a fresh msgid: the response envelope.
    pub async fn call(&self, inst: &str, infno: &str, input: Value) -> Value {
        let msgid = self.msgid(inst);
        self.call_with(inst, infno, &msgid, input).await
    }

    /// Sends `body` signed as `inst` with its own secret, now, with a fresh nonce.
    pub async fn send_signed(&self, inst: &str, body: String) -> (u16, Value) {
        self.send(inst, &self.secrets[inst], Self::now(), &self.nonce(), body)
            .await
    }

    pub async fn call_with(&self, inst: &str, infno: &str, msgid: &str, input: Value) -> Value {
        let body = self.envelope(inst, infno, msgid, input).to_string();
        let (status, v) = self.send_signed(inst, body).await;
        assert!(status == 200, "{infno}: HTTP {status} {v}");
        v
    }
}

/// Runs `body` on every backend with a fresh store and a running gateway.
pub fn on_every_backend<F, Fut>(name: &str, body: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = Harness>,
{
    on_every_backend_with(name, RESIDENT, body)
}

/// As [`on_every_backend`], with reference case `case` loaded.
pub fn on_every_backend_with<F, Fut>(name: &str, case: Case, body: F)
where
    F: Fn(Harness) -> Fut,
    Fut: std::future::Future<Output = Harness>,
{
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        for (backend, store) in yibao_store::testing::stores(name).await {
            let h = Harness::start_with(backend, store, case).await;
            body(h).await.stop().await;
        }
    });
}

pub fn ok(v: &Value) -> bool {
    v["infcode"] == 0
}

pub fn err(v: &Value) -> String {
    v["err_msg"].as_str().unwrap_or_default().to_string()
}

/// An outpatient visit of `psn` at `inst` (2201) with one line of `S0100001` at `pric` × `cnt`
/// uploaded (2204): its mdtrt_id.
pub async fn outpatient_with_one_line(
    h: &Harness,
    inst: &str,
    psn: &str,
    pric: &str,
    cnt: &str,
) -> String {
    let v = h
        .call(
            inst,
            "2201",
            json!({"data": {"psn_no": psn, "insutype": "390", "begntime": "2024-03-01 08:00:00",
                "mdtrt_cert_type": "01", "mdtrt_cert_no": "E1", "ipt_otp_no": "MZ9"}}),
        )
        .await;
    assert!(ok(&v), "2201: {v}");
    let mdtrt_id = v["output"]["data"]["mdtrt_id"]
        .as_str()
        .unwrap()
        .to_string();
    let amount = yibao_core::money::format_fen(yibao_core::claim::line_amount(
        yibao_core::refdata::parse_price_scaled(pric).unwrap(),
        yibao_core::refdata::parse_price_scaled(cnt).unwrap(),
    ));
    let v = h
        .call(
            inst,
            "2204",
            json!({"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn,
                "chrg_bchno": "B", "fee_ocur_time": "2024-03-01 09:00:00",
                "med_list_codg": "S0100001", "pric": pric, "cnt": cnt,
                "det_item_fee_sumamt": amount}]}),
        )
        .await;
    assert!(ok(&v), "2204: {v}");
    mdtrt_id
}

/// The input of an outpatient 2206/2207 of `mdtrt_id` for `medfee`.
pub fn outpatient_settle_input(psn: &str, mdtrt_id: &str, medfee: &str) -> Value {
    json!({"data": {"psn_no": psn, "mdtrt_cert_type": "01", "mdtrt_cert_no": "E1",
        "med_type": "11", "medfee_sumamt": medfee, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
        "insutype": "390"}})
}
