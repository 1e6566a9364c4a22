//! yibao-his: a HIS-side client of the gateway: builds the envelope, signs it as `interface.md` §3 says,
//! and sends it. The load benchmark and the crash test use it; a hospital developer can read
//! it as the shortest correct client. It is not part of the gateway: the server links no HTTP client.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use yibao_gateway::keys::signature;
use yibao_gateway::ENDPOINT;

/// Why a call got no envelope back.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request did not reach the gateway or no answer came (the gateway may be down).
    #[error("网关无应答：{0}")]
    Transport(String),
    /// An answer came that is not a response envelope.
    #[error("网关应答无效（HTTP {status}）：{body}")]
    BadAnswer { status: u16, body: String },
    #[error("机构 {0} 没有接口密钥")]
    NoSecret(String),
}

/// A signing client for one gateway and the institutions whose secrets it holds.
pub struct HisClient {
    http: reqwest::Client,
    base: String,
    url: String,
    secrets: HashMap<String, String>,
    /// msgid sequence: `yyyyMMddHHmmss` of the client's start × 10⁴ + a counter, so msgids
    /// (with a 12-character institution code) are 30 characters and unique per client.
    msg_base: u64,
    seq: AtomicU64,
    /// A random prefix keeps nonces of different clients (and runs) apart.
    nonce_prefix: String,
}

impl HisClient {
    /// A client of the gateway at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, secrets: HashMap<String, String>) -> HisClient {
        let (_, stamp) = yibao_gateway::wire::beijing_now();
        let msg_base = stamp[..14].parse::<u64>().unwrap_or(20240101000000) * 10_000;
        HisClient {
            http: reqwest::Client::new(),
            base: base_url.trim_end_matches('/').to_string(),
            url: format!("{}{ENDPOINT}", base_url.trim_end_matches('/')),
            secrets,
            msg_base,
            seq: AtomicU64::new(0),
            nonce_prefix: yibao_gateway::keys::new_secret()[..12].to_string(),
        }
    }

    /// Whether `/healthz` answers 200 (the gateway is up and its database answers).
    pub async fn healthy(&self) -> bool {
        match self.http.get(format!("{}/healthz", self.base)).send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }

    /// A fresh msgid of `inst`.
    pub fn msgid(&self, inst: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let digits = 30usize.saturating_sub(inst.chars().count());
        format!("{inst}{:0digits$}", self.msg_base + n)
    }

    /// Sends `infno` with `input` as `inst` under `msgid` (fresh timestamp and nonce each
    /// time, so a retry of the same msgid is a new, validly signed request).
    pub async fn send(
        &self,
        inst: &str,
        infno: &str,
        msgid: &str,
        input: &Value,
    ) -> Result<(u16, Value), CallError> {
        let secret = self
            .secrets
            .get(inst)
            .ok_or_else(|| CallError::NoSecret(inst.to_string()))?;
        let body = json!({
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": "", "insuplc_admdvs": "",
            "recer_sys_code": "HIS", "infver": "V1.0", "opter_type": "1", "opter": "his",
            "opter_name": "收费员", "inf_time": "", "fixmedins_code": inst, "fixmedins_name": "",
            "sign_no": "", "input": input,
        })
        .to_string();
        let ts = yibao_gateway::wire::unix_now().to_string();
        let nonce = format!(
            "{}{}",
            self.nonce_prefix,
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-tif-paasid", inst)
            .header("x-tif-timestamp", &ts)
            .header("x-tif-nonce", &nonce)
            .header("x-tif-signature", signature(&ts, secret, &nonce))
            .body(body)
            .send()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if v.get("infcode").is_some() => Ok((status, v)),
            _ => Err(CallError::BadAnswer { status, body: text }),
        }
    }

    /// Sends `infno` under a fresh msgid; the response envelope.
    pub async fn call(&self, inst: &str, infno: &str, input: &Value) -> Result<Value, CallError> {
        let msgid = self.msgid(inst);
        self.send(inst, infno, &msgid, input).await.map(|(_, v)| v)
    }
}

/// One fee line of `feedetail[]` (2204 / 2301): item `code` at `price_fen` × `qty` on `date`
/// (`YYYY-MM-DD`), with its amount computed as the gateway checks it.
pub fn fee_line(
    sn: usize,
    mdtrt_id: &str,
    psn_no: &str,
    code: &str,
    price_fen: i64,
    qty: i64,
    date: &str,
) -> Value {
    json!({
        "feedetl_sn": format!("{sn:04}"), "mdtrt_id": mdtrt_id, "psn_no": psn_no,
        "fee_ocur_time": format!("{date} 09:00:00"), "med_list_codg": code,
        "pric": yibao_core::money::format_fen(price_fen), "cnt": qty.to_string(),
        "det_item_fee_sumamt": yibao_core::money::format_fen(price_fen * qty),
    })
}
