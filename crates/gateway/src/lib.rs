//! yibao-gateway: the hospital gateway (`yibao serve`). HIS systems settle at the counter
//! over the national interface: `POST /fsi/api/rsfComIfsService/callService` with an
//! infno-coded JSON envelope, signed per `interface.md` §3.
//!
//! A request goes: signature and freshness (401 and nothing recorded when they fail) →
//! envelope → a repeated `msgid` gets its first answer → the transaction, in one database
//! transaction with the message and the operation-log line ([`yibao_store::GatewayTx`]).
//! Settlement calls the one engine (`yibao_core::ledger::settle`), as `yibao settle` does.

pub mod keys;
mod server;
mod tx;
pub mod wire;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;
use wire::Refusal;
use yibao_core::RefData;
use yibao_store::{MessageMeta, Store};

pub use keys::MasterKey;
use server::{not_found, overloaded, wrong_method};
pub use server::{serve, serve_with, Limits};
pub use tx::{Handler, Transaction, TRANSACTIONS};

/// The endpoint of the national interface.
pub const ENDPOINT: &str = "/fsi/api/rsfComIfsService/callService";

/// How far a request's `x-tif-timestamp` may be from now, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// What every request handler shares.
#[derive(Clone)]
pub struct Gateway {
    store: Store,
    master: MasterKey,
    /// Institutions and catalog (persons are read per request from the store).
    tables: Arc<RefData>,
    /// The audit rules run on uploaded fee lines at pre-settlement and settlement.
    rules: Arc<yibao_core::audit::AuditRules>,
    /// This process's claim on the database (SQLite), held while the gateway lives.
    _claim: Option<Arc<std::fs::File>>,
    /// Permits to open a transaction ([`Store::max_open_transactions`]).
    open_transactions: Arc<tokio::sync::Semaphore>,
    /// More routes served on the same address (the console under `/console/`).
    extra: Option<Router>,
}

impl Gateway {
    /// A gateway over `store`, with institutions and catalog read once from it.
    /// Refuses to start when keys are stored and the master key opens none of them (the
    /// wrong key file would otherwise answer every hospital 「认证失败」).
    pub async fn new(store: Store, master: MasterKey) -> Result<Gateway, yibao_store::StoreError> {
        let sealed = store.sealed_keys(16).await?;
        if !sealed.is_empty() && !sealed.iter().any(|s| master.open(s).is_ok()) {
            return Err(yibao_store::StoreError::Refused(format!(
                "{} 解不开库中的机构接口密钥（试了最新的 {} 个，均不能解开）：主密钥文件不是签发这些密钥时用的那个\
                 （--key-file 或 YIBAO_KEY_FILE 指错了，或文件被替换）。网关拒绝启动，否则每家医院都会得到「认证失败」",
                master.name(),
                sealed.len()
            )));
        }
        let claim = store.claim_for_gateway()?.map(Arc::new);
        let tables = Arc::new(store.reference_data().await?);
        let permits = store.max_open_transactions();
        Ok(Gateway {
            _claim: claim,
            store,
            master,
            tables,
            rules: Arc::new(yibao_core::audit::AuditRules::reference()),
            open_transactions: Arc::new(tokio::sync::Semaphore::new(permits)),
            extra: None,
        })
    }

    /// The gateway with `rules` as its audit rules (`yibao serve --rules`) instead of the
    /// built-in reference rules.
    pub fn with_rules(mut self, rules: yibao_core::audit::AuditRules) -> Gateway {
        self.rules = Arc::new(rules);
        self
    }

    /// Also serves `routes` (paths of their own, no fallback: the console's `/console/…`).
    pub fn with_routes(mut self, routes: Router) -> Gateway {
        self.extra = Some(routes);
        self
    }

    /// The HTTP routes: the endpoint, `/healthz` and the extra routes; anything else is answered with a
    /// refusal envelope.
    pub fn router(self) -> Router {
        let extra = self.extra.clone();
        let main = Router::new()
            .route(ENDPOINT, post(call_service).fallback(wrong_method))
            .route("/healthz", get(healthz))
            .fallback(not_found)
            .with_state(self);
        match extra {
            Some(routes) => main.merge(routes),
            None => main,
        }
    }

    /// The routes of a connection over [`Limits::max_connections`]: `/healthz` as usual,
    /// everything else a fast 503 envelope.
    fn overloaded_router(self, max: usize) -> Router {
        Router::new()
            .route("/healthz", get(healthz))
            .fallback(move || async move { overloaded(max) })
            .with_state(self)
    }
}

/// Readiness: the database takes a write, its migrations are this program's, the master
/// key file is readable. One Chinese line per check; HTTP 503 when any fails.
async fn healthz(State(gw): State<Gateway>) -> Response {
    let mut checks = gw.store.readiness().await;
    if let Some(path) = gw.master.file() {
        let state = std::fs::File::open(path)
            .map(|_| "可读".to_string())
            .map_err(|e| format!("无法读取：{e}"));
        checks.push((format!("主密钥文件 {}", path.display()), state));
    }
    let ready = checks.iter().all(|(_, r)| r.is_ok());
    let mut body = String::from(if ready { "就绪\n" } else { "未就绪\n" });
    for (what, state) in &checks {
        match state {
            Ok(s) => body.push_str(&format!("{what}：{s}\n")),
            Err(e) => body.push_str(&format!("{what}：失败：{e}\n")),
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// A response envelope.
fn envelope(msgid: &str, infcode: i64, err_msg: &str, output: Value) -> String {
    let (_, stamp) = wire::beijing_now();
    json!({
        "infcode": infcode,
        "inf_refmsgid": if msgid.is_empty() { String::new() } else { format!("R{msgid}") },
        "refmsg_time": stamp,
        "respond_time": stamp,
        "err_msg": err_msg,
        "warn_msg": "",
        "output": output,
    })
    .to_string()
}

fn unauthorized(reason: &str) -> Response {
    tracing::warn!(reason, "认证失败");
    json_response(
        StatusCode::UNAUTHORIZED,
        envelope("", -1, &format!("认证失败：{reason}"), json!({})),
    )
}

fn refused_unrecorded(msgid: &str, reason: &str) -> Response {
    json_response(StatusCode::OK, envelope(msgid, -1, reason, json!({})))
}

/// A signature header, at most its [`wire::max_chars`] long. Messages about header values
/// (which are not yet authenticated) show them only through [`shown_header`].
fn header<'h>(h: &'h HeaderMap, name: &str) -> Result<&'h str, String> {
    let v = h
        .get(name)
        .ok_or_else(|| format!("缺少请求头 {name}"))?
        .to_str()
        .map_err(|_| format!("请求头 {name} 含非 ASCII 字符"))?
        .trim();
    if v.is_empty() {
        return Err(format!("请求头 {name} 为空"));
    }
    let limit = wire::max_chars(name);
    if v.len() > limit {
        // Not echoed at all: an over-long value is nobody's identifier.
        return Err(format!("请求头 {name} 长度 {} 超过上限 {limit}", v.len()));
    }
    Ok(v)
}

/// An unauthenticated header value as a message may show it: a short prefix with anything
/// but letters, digits and `-_.:+=/` replaced by `?`.
fn shown_header(v: &str) -> String {
    const MAX: usize = 32;
    let mut s: String = v
        .chars()
        .take(MAX)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:+=/".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect();
    if v.len() > MAX {
        s.push('…');
    }
    s
}

/// An authenticated request: who signed it, its nonce, and the answer already given to its
/// msgid (read with the key, to spare a round trip).
struct Authenticated {
    institution: String,
    nonce: String,
    answered: Option<yibao_store::Answered>,
}

/// Why a request is not authenticated.
enum AuthFailure {
    /// HTTP 401, nothing recorded.
    Refused(String),
    /// The database could not be read: a system error the HIS may retry.
    Store(yibao_store::StoreError),
}

impl From<String> for AuthFailure {
    fn from(reason: String) -> AuthFailure {
        AuthFailure::Refused(reason)
    }
}

/// Checks the signature headers. `msgid` is the envelope's, when it has one.
async fn authenticate(
    gw: &Gateway,
    h: &HeaderMap,
    msgid: &str,
) -> Result<Authenticated, AuthFailure> {
    let paasid = header(h, "x-tif-paasid")?;
    let ts = header(h, "x-tif-timestamp")?;
    let nonce = header(h, "x-tif-nonce")?;
    let sig = header(h, "x-tif-signature")?;
    let t: i64 = ts
        .parse()
        .map_err(|_| format!("x-tif-timestamp={} 不是 Unix 秒数", shown_header(ts)))?;
    let skew = wire::unix_now().abs_diff(t);
    if skew > MAX_SKEW_SECS.unsigned_abs() {
        return Err(format!(
            "x-tif-timestamp={} 与服务器时间相差 {skew} 秒，超过 {MAX_SKEW_SECS} 秒",
            shown_header(ts)
        )
        .into());
    }
    let facts = gw
        .store
        .auth_facts(paasid, nonce, msgid)
        .await
        .map_err(AuthFailure::Store)?;
    let sealed = facts.sealed_key.ok_or_else(|| {
        format!(
            "机构 x-tif-paasid={} 没有有效的接口密钥",
            shown_header(paasid)
        )
    })?;
    let secret = gw.master.open(&sealed).map_err(|e| e.to_string())?;
    if !keys::same_signature(&keys::signature(ts, &secret, nonce), sig) {
        return Err(String::from("x-tif-signature 签名不符").into());
    }
    if facts.nonce_used {
        return Err(format!("x-tif-nonce={} 已使用过（重放）", shown_header(nonce)).into());
    }
    Ok(Authenticated {
        institution: paasid.to_string(),
        nonce: nonce.to_string(),
        answered: facts.answered,
    })
}

/// A text field of the envelope.
fn env_text(env: &Map<String, Value>, k: &str) -> Result<String, String> {
    match env.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            wire::check_len(&k, k, s.trim())?;
            Ok(s.trim().to_string())
        }
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) if !other.is_null() => Err(format!(
            "字段 {k} 的类型错误：应为字符串，实际为{}",
            wire::type_name(other)
        )),
        _ => Err(format!("缺少字段 {k}")),
    }
}

/// The envelope's msgid, once the envelope is shown to be the signer's; else the answer.
fn envelope_msgid(env: &Map<String, Value>, institution: &str) -> Result<String, Box<Response>> {
    // An envelope that does not name the signer is not the signer's: 401, as a mismatch.
    let fixmedins_code = env_text(env, "fixmedins_code").map_err(|e| {
        Box::new(unauthorized(&format!(
            "{e}（应为签名机构 x-tif-paasid={institution}）"
        )))
    })?;
    if fixmedins_code != institution {
        return Err(Box::new(unauthorized(&format!(
            "报文 fixmedins_code={fixmedins_code} 与签名机构 x-tif-paasid={institution} 不符"
        ))));
    }
    let msgid = env_text(env, "msgid").map_err(|e| Box::new(refused_unrecorded("", &e)))?;
    if msgid.chars().count() != 30
        || !msgid.starts_with(institution)
        || !msgid[institution.len().min(msgid.len())..]
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(Box::new(refused_unrecorded(
            "",
            &format!(
                "报文 msgid={msgid} 无效：应为 30 位（机构编码 {institution} + yyyyMMddHHmmss + 4 位序号）"
            ),
        )));
    }
    Ok(msgid)
}

/// The largest request body, in bytes: room for [`yibao_core::money::MAX_LINES_PER_CLAIM`]
/// fee lines as HIS systems send them. One realistic 2301 `feedetail` line with the national
/// specification's fields filled (Chinese department, doctor and dosage text) is about
/// 960 bytes of JSON (`crates/gateway/tests/hostile.rs` measures it), so 10,000 lines are
/// about 9.6 MB; the limit leaves twice that for longer lines.
pub const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// A request's body must arrive within this time (a 20 MB body at 3 Mbit/s).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Large bodies in the gateway at once hold at most this many bytes between them (by their
/// declared length; a body without one counts as [`MAX_BODY_BYTES`]), so that connections
/// × [`MAX_BODY_BYTES`] cannot exhaust memory. A body of at most [`SMALL_BODY_BYTES`] — every
/// counter transaction — takes no share and never waits; a large one waits for its share
/// within [`BODY_READ_TIMEOUT`].
pub const LARGE_BODIES_BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// Bodies up to this size are read without a share of [`LARGE_BODIES_BUDGET_BYTES`].
pub const SMALL_BODY_BYTES: usize = 1024 * 1024;

const BUDGET_UNIT: usize = 64 * 1024;
static LARGE_BODIES: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(LARGE_BODIES_BUDGET_BYTES / BUDGET_UNIT);

/// A large body's share of [`LARGE_BODIES_BUDGET_BYTES`], held while its request is handled.
type BodyShare = Option<tokio::sync::SemaphorePermit<'static>>;

/// Reads the body within [`MAX_BODY_BYTES`] and [`BODY_READ_TIMEOUT`], without a leading
/// UTF-8 byte order mark; else the refusal to answer (nothing is recorded).
async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(Bytes, BodyShare), Box<Response>> {
    let too_big = || {
        Box::new(refused_unrecorded(
            "",
            &format!(
                "请求体超过上限 {MAX_BODY_BYTES} 字节（{} MB）：费用明细请分批上传",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        ))
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_big());
    }
    let share = match declared {
        Some(n) if n <= SMALL_BODY_BYTES as u64 => 0,
        Some(n) => (n as usize).div_ceil(BUDGET_UNIT),
        None => MAX_BODY_BYTES / BUDGET_UNIT,
    };
    let read = async {
        let permit = match share {
            0 => None,
            // Never closed; `share` is at most MAX_BODY_BYTES / BUDGET_UNIT, below the total.
            n => LARGE_BODIES.acquire_many(n as u32).await.ok(),
        };
        axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map(|b| (b, permit))
    };
    let (bytes, permit) = match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                return Err(too_big());
            }
            return Err(Box::new(refused_unrecorded(
                "",
                "请求体读取失败：连接中断或格式错误",
            )));
        }
        Err(_) => {
            return Err(Box::new(refused_unrecorded(
                "",
                &format!(
                    "请求体未在 {} 秒内收完，交易未处理",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )))
        }
    };
    // Some HIS systems write JSON with a UTF-8 byte order mark.
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(_) => bytes.slice(3..),
        None => bytes,
    };
    Ok((bytes, permit))
}

/// The envelope's `input` object, or the refusal.
fn envelope_input(
    env: &Map<String, Value>,
    msgid: &str,
) -> Result<Map<String, Value>, Box<Response>> {
    match env.get("input") {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(Box::new(refused_unrecorded(
            msgid,
            &format!(
                "字段 input 的类型错误：应为对象，实际为{}",
                wire::type_name(other)
            ),
        ))),
        None => Err(Box::new(refused_unrecorded(msgid, "缺少字段 input"))),
    }
}

async fn call_service(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = Instant::now();
    // `_share` is held until the answer is built: the parsed request is larger than its body.
    let (body, _share) = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(response) => return *response,
    };
    // Parsed before authentication only to read the msgid with the key; a body that is not
    // JSON is refused after the signature is checked, as before.
    let request = serde_json::from_slice::<Value>(&body);
    let msgid_hint = match &request {
        Ok(Value::Object(env)) => env
            .get("msgid")
            .and_then(Value::as_str)
            .map(|m| m.trim().to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let auth = match authenticate(&gw, &headers, &msgid_hint).await {
        Ok(a) => a,
        Err(AuthFailure::Refused(reason)) => return unauthorized(&reason),
        Err(AuthFailure::Store(e)) => return system_error("", &e),
    };
    let Authenticated {
        institution,
        nonce,
        answered,
    } = auth;
    let request: Value = match request {
        Ok(v) => v,
        Err(e) => return refused_unrecorded("", &format!("请求不是有效的 JSON：{e}")),
    };
    let Some(env) = request.as_object() else {
        return refused_unrecorded("", "请求应为 JSON 对象");
    };
    let msgid = match envelope_msgid(env, &institution) {
        Ok(m) => m,
        Err(response) => return *response,
    };
    let digest = input_digest(env.get("input"));
    let sent_infno = env_text(env, "infno").unwrap_or_default();
    let first = if msgid == msgid_hint {
        answered
    } else {
        match gw.store.first_answer(&institution, &msgid).await {
            Ok(first) => first,
            Err(e) => return system_error(&msgid, &e),
        }
    };
    if let Some(first) = first {
        return repeat(&institution, &msgid, &sent_infno, &digest, first);
    }
    let infno = match env_text(env, "infno") {
        Ok(i) => i,
        Err(e) => return refused_unrecorded(&msgid, &e),
    };
    let opter = env_text(env, "opter").unwrap_or_default();
    let input = match envelope_input(env, &msgid) {
        Ok(m) => m,
        Err(response) => return *response,
    };
    let mut meta = MessageMeta {
        fixmedins_code: institution.clone(),
        msgid: msgid.clone(),
        nonce,
        infno: infno.clone(),
        digest,
        opter,
        target: String::new(),
    };
    let result = run(&gw, &mut meta, &input).await;
    let response = match result {
        Ok(answer) => Ok(answer),
        Err(Failure::Refused(r)) => {
            let body = envelope(&msgid, -1, &r.0, json!({}));
            gw.store
                .record_refusal(&meta, &r.0, &body)
                .await
                .map(|b| (b, -1, r.0))
        }
        Err(Failure::Store(e)) => Err(e),
        Err(Failure::Fault(m)) => return system_error(&msgid, &m),
    };
    match response {
        Ok((body, infcode, err_msg)) => {
            tracing::info!(
                infno = %infno,
                fixmedins_code = %institution,
                msgid = %msgid,
                target = %meta.target,
                infcode,
                err_msg = %err_msg,
                elapsed_us = started.elapsed().as_micros() as u64,
                "交易完成"
            );
            json_response(StatusCode::OK, body)
        }
        // A concurrent request with the same nonce or msgid committed first: a replay, or
        // a repeat that gets the first answer — not a system error.
        Err(e) => match gw.store.nonce_used(&institution, &meta.nonce).await {
            Ok(true) => unauthorized(&format!(
                "x-tif-nonce={} 已使用过（重放）",
                shown_header(&meta.nonce)
            )),
            _ => match gw.store.first_answer(&institution, &msgid).await {
                Ok(Some(first)) => repeat(&institution, &msgid, &infno, &meta.digest, first),
                _ => system_error(&msgid, &e),
            },
        },
    }
}

/// SHA-256 (lowercase hex) of the request's `input` as canonical JSON (object keys sorted,
/// no whitespace): what a repeat of the msgid must carry to get the first answer.
fn input_digest(input: Option<&Value>) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    use sha2::Digest;
    let mut text = String::new();
    canonical(input.unwrap_or(&Value::Null), &mut text);
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The answer to a msgid already answered: the first answer when the request is the same
/// message (infno and input) or the first was a refusal, else a refusal that changes
/// nothing and is not recorded — the msgid is taken.
fn repeat(
    institution: &str,
    msgid: &str,
    infno: &str,
    digest: &str,
    first: yibao_store::Answered,
) -> Response {
    if first.answers(infno, digest) {
        return json_response(StatusCode::OK, first.response);
    }
    let what = if first.infno == infno {
        format!("本次交易 {infno} 的 input 与原报文不同")
    } else {
        format!("本次为交易 {infno}")
    };
    let reason = format!(
        "报文ID重复但内容不同：msgid={msgid} 已用于交易 {} 的报文，{what}；\
         重发须与原报文完全相同，新的交易请用新的 msgid",
        first.infno
    );
    tracing::warn!(
        fixmedins_code = %institution,
        msgid = %msgid,
        first_infno = %first.infno,
        infno = %infno,
        "报文ID重复但内容不同，已拒绝"
    );
    refused_unrecorded(msgid, &reason)
}

fn system_error(msgid: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(msgid, error = %e, "系统错误");
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        envelope(
            msgid,
            -1,
            &format!("系统错误，交易未处理，可原报文重发：{e}"),
            json!({}),
        ),
    )
}

/// Why a transaction did not complete.
enum Failure {
    /// The input is wrong: answered with `infcode -1` and recorded as the msgid's answer.
    Refused(Refusal),
    /// The database failed: a system error, nothing recorded, the same msgid may be resent.
    Store(yibao_store::StoreError),
    /// Something the gateway holds is inconsistent (a broken invariant, an unreadable stored
    /// row): a system error like `Store`, nothing recorded.
    Fault(String),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Failure {
        Failure::Refused(r)
    }
}

impl From<yibao_store::StoreError> for Failure {
    fn from(e: yibao_store::StoreError) -> Failure {
        match e {
            // A refusal from the store (a rule it checks) is the hospital's to fix.
            yibao_store::StoreError::Refused(m) => Failure::Refused(Refusal(m)),
            e => Failure::Store(e),
        }
    }
}

/// Runs one transaction and commits it with its message: the body sent, infcode, err_msg.
async fn run(
    gw: &Gateway,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> Result<(String, i64, String), Failure> {
    let pre = tx::prefetch(gw, meta, input).await?;
    // Held until the transaction is committed or rolled back (dropped after `g`).
    let _permit = gw.open_transactions.acquire().await;
    let mut g = gw.store.begin_gateway().await?;
    let output = tx::dispatch(gw, &mut g, meta, input, pre).await?;
    let body = envelope(&meta.msgid, 0, "", output);
    let sent = g.finish(meta, 0, "", &body).await?;
    Ok((sent, 0, String::new()))
}
