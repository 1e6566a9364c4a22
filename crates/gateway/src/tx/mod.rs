//! The transactions (`infno`) of `interface.md` §3. Each reads its input, checks it and the
//! visit's state, and writes through the one [`GatewayTx`]; a refusal returns before the
//! transaction commits, so it changes nothing.

use crate::wire::{array, object, Obj, Refusal};
use crate::{Failure, Gateway};
use serde_json::{json, Map, Value};
use yibao_core::claim::{shown, stored_line, validate_line, Line, LineFieldNames};
use yibao_core::ledger::{preview, reverse, settle, LedgerStore, SettleError, SettledEntry};
use yibao_core::money::format_fen;
use yibao_core::refdata::{mask_certno, parse_price_scaled, ItemClass};
use yibao_core::visit::{transition, VisitAction, VisitKind, VisitState};
use yibao_core::{ClaimDraft, LineDraft, LinesDraft, Settlement, Val, YearAccumulators};
use yibao_store::{
    FeeLine, GatewayTx, MessageMeta, NewFeeLine, ReadAhead, SettlementRecord, Visit,
};

mod clearing;
mod fees;
mod files;
mod person;
mod query;
mod render;
mod settlement;
mod visit;

type TxResult = Result<Value, Failure>;

const CERT_TYPES: &[&str] = &["01", "02", "03"];

/// What a settlement reads before its transaction takes the writer, so that the writer is
/// held briefly: the person and the policy (no gateway transaction changes them) and, on
/// SQLite, the visit, its lines and the accumulators, used if still current.
pub(crate) struct Prefetch {
    psn_no: String,
    end: yibao_core::Date,
    insutype: String,
    person: Option<yibao_core::refdata::Person>,
    policy: Option<std::sync::Arc<yibao_core::Policy>>,
    ahead: Option<ReadAhead>,
}

/// Reads ahead for the transactions that do ([`Transaction::reads_ahead`]); `None` for other transactions or when the input
/// does not name a visit (the transaction itself then refuses it with the right message).
pub(crate) async fn prefetch(
    gw: &Gateway,
    meta: &MessageMeta,
    input: &Map<String, Value>,
) -> Result<Option<Prefetch>, Failure> {
    if !transaction(&meta.infno).is_ok_and(|t| t.reads_ahead) {
        return Ok(None);
    }
    let Some((mdtrt_id, psn_no)) = object(input, "data")
        .ok()
        .and_then(|d| Some((d.text("mdtrt_id").ok()?, d.text("psn_no").ok()?)))
    else {
        return Ok(None);
    };
    let ahead = gw.store.read_ahead(&mdtrt_id, &psn_no).await?;
    let visit = match &ahead {
        Some(a) => Some(a.visit.clone()),
        None => gw.store.visit(&mdtrt_id).await?,
    };
    let Some(v) = visit.filter(|v| v.fixmedins_code == meta.fixmedins_code) else {
        return Ok(None);
    };
    let end = v.enddate.unwrap_or(v.begndate);
    Ok(Some(Prefetch {
        person: gw.store.person_on(&v.psn_no, end).await?,
        policy: gw.store.policy(end.year(), &v.insutype).await?,
        psn_no: v.psn_no,
        end,
        insutype: v.insutype,
        ahead,
    }))
}

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    PersonInfo,
    OpenVisit(VisitKind),
    CancelVisit(VisitKind),
    VisitInfo,
    Upload(VisitKind),
    Withdraw(VisitKind),
    Discharge,
    CancelDischarge,
    /// Pre-settlement (`record` false) or settlement.
    Settle {
        kind: VisitKind,
        record: bool,
    },
    Reverse(VisitKind),
    QuerySettlement,
    /// 3101 / 3102: the audit findings of a visit's uploaded lines.
    Analysis,
    Reconcile,
    /// 3202: the institution's file of settlements against the centre's.
    ReconcileDetail,
    ClearingApply,
    ClearingCancel,
    FileUpload,
    FileDownload,
}

/// One transaction the gateway accepts.
#[derive(Clone, Copy, Debug)]
pub struct Transaction {
    pub infno: &'static str,
    /// Its Chinese name, as the national specification and the README call it.
    pub name: &'static str,
    /// Whether its visit, lines, accumulators, person and policy are read before it takes
    /// the writer ([`prefetch`]).
    pub reads_ahead: bool,
    pub handler: Handler,
}

const fn tx(infno: &'static str, name: &'static str, handler: Handler) -> Transaction {
    let reads_ahead = matches!(handler, Handler::Settle { .. });
    Transaction {
        infno,
        name,
        reads_ahead,
        handler,
    }
}

use VisitKind::{Inpatient as In, Outpatient as Out};

/// Every transaction the gateway accepts: dispatch, read-ahead and the "unsupported"
/// message come from here, and a test checks the README's list against it.
pub const TRANSACTIONS: &[Transaction] = &[
    tx("1101", "人员信息获取", Handler::PersonInfo),
    tx("2201", "门诊挂号", Handler::OpenVisit(Out)),
    tx("2202", "门诊挂号撤销", Handler::CancelVisit(Out)),
    tx("2203", "门诊就诊信息上传", Handler::VisitInfo),
    tx("2204", "门诊费用明细上传", Handler::Upload(Out)),
    tx("2205", "门诊费用明细撤销", Handler::Withdraw(Out)),
    tx(
        "2206",
        "门诊预结算",
        Handler::Settle {
            kind: Out,
            record: false,
        },
    ),
    tx(
        "2207",
        "门诊结算",
        Handler::Settle {
            kind: Out,
            record: true,
        },
    ),
    tx("2208", "门诊结算撤销", Handler::Reverse(Out)),
    tx("2301", "住院费用明细上传", Handler::Upload(In)),
    tx("2302", "住院费用明细撤销", Handler::Withdraw(In)),
    tx(
        "2303",
        "住院预结算",
        Handler::Settle {
            kind: In,
            record: false,
        },
    ),
    tx(
        "2304",
        "住院结算",
        Handler::Settle {
            kind: In,
            record: true,
        },
    ),
    tx("2305", "住院结算撤销", Handler::Reverse(In)),
    tx("2401", "入院办理", Handler::OpenVisit(In)),
    tx("2402", "出院办理", Handler::Discharge),
    tx("2404", "入院办理撤销", Handler::CancelVisit(In)),
    tx("2405", "出院办理撤销", Handler::CancelDischarge),
    tx("3101", "明细审核事前分析", Handler::Analysis),
    tx("3102", "明细审核事中分析", Handler::Analysis),
    tx("3201", "医药机构费用结算对总账", Handler::Reconcile),
    tx("3202", "医药机构费用结算对明细账", Handler::ReconcileDetail),
    tx("3203", "清算申请", Handler::ClearingApply),
    tx("3204", "清算撤销", Handler::ClearingCancel),
    tx("5203", "结算信息查询", Handler::QuerySettlement),
    tx("9101", "文件上传", Handler::FileUpload),
    tx("9102", "文件下载", Handler::FileDownload),
];

/// The transaction `infno`, or the refusal naming what the gateway accepts.
pub fn transaction(infno: &str) -> Result<&'static Transaction, Refusal> {
    TRANSACTIONS
        .iter()
        .find(|t| t.infno == infno)
        .ok_or_else(|| {
            let known: Vec<&str> = TRANSACTIONS.iter().map(|t| t.infno).collect();
            Refusal(format!(
                "交易编号 infno={} 不支持：本网关受理 {}",
                shown(infno),
                known.join("、")
            ))
        })
}

pub(crate) async fn dispatch(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    pre: Option<Prefetch>,
) -> TxResult {
    match transaction(&meta.infno)?.handler {
        Handler::PersonInfo => person::person_info(gw, meta, input).await,
        Handler::OpenVisit(kind) => visit::open_visit(gw, g, meta, input, kind).await,
        Handler::CancelVisit(kind) => visit::cancel(g, meta, input, kind).await,
        Handler::VisitInfo => visit::visit_info(gw, g, meta, input).await,
        Handler::Upload(kind) => fees::upload(gw, g, meta, input, kind).await,
        Handler::Withdraw(kind) => fees::withdraw(g, meta, input, kind).await,
        Handler::Discharge => visit::discharge(g, meta, input).await,
        Handler::CancelDischarge => visit::cancel_discharge(g, meta, input).await,
        Handler::Settle { kind, record } => {
            settlement::settlement(gw, g, meta, input, kind, record, pre).await
        }
        Handler::Reverse(kind) => settlement::reversal(g, meta, input, kind).await,
        Handler::QuerySettlement => query::query_settlement(g, meta, input).await,
        Handler::Analysis => settlement::analysis(gw, g, meta, input).await,
        Handler::Reconcile => query::reconcile(gw, meta, input).await,
        Handler::ReconcileDetail => clearing::detail(g, meta, input).await,
        Handler::ClearingApply => clearing::apply(g, meta, input).await,
        Handler::ClearingCancel => clearing::cancel(g, meta, input).await,
        Handler::FileUpload => files::upload(g, meta, input).await,
        Handler::FileDownload => files::download(g, meta, input).await,
    }
}

fn refuse(msg: impl Into<String>) -> Failure {
    Failure::Refused(Refusal(msg.into()))
}

/// The visit `mdtrt_id` of `obj`, checked to be this institution's, this person's and of `kind`.
async fn own_visit(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    obj: &Obj<'_>,
    kind: VisitKind,
    need_psn: bool,
) -> Result<Visit, Failure> {
    let mdtrt_id = obj.text("mdtrt_id")?;
    meta.target = mdtrt_id.clone();
    let v = g.visit(&mdtrt_id).await?.ok_or_else(|| {
        refuse(format!(
            "就诊 input.{}.mdtrt_id={} 不存在",
            obj.path,
            shown(&mdtrt_id)
        ))
    })?;
    if v.fixmedins_code != meta.fixmedins_code {
        return Err(refuse(format!(
            "就诊 input.{}.mdtrt_id={} 不属于本机构 {}",
            obj.path,
            shown(&mdtrt_id),
            meta.fixmedins_code
        )));
    }
    let psn = if need_psn {
        Some(obj.text("psn_no")?)
    } else {
        obj.opt_text("psn_no")?
    };
    if let Some(psn) = psn {
        if psn != v.psn_no {
            return Err(refuse(format!(
                "人员编号 input.{}.psn_no={} 与就诊 {} 的参保人不符",
                obj.path,
                shown(&psn),
                v.mdtrt_id
            )));
        }
    }
    if v.kind != kind {
        return Err(refuse(format!(
            "就诊 {} 是{}就诊，不能用{}交易",
            v.mdtrt_id,
            v.kind.name(),
            kind.name()
        )));
    }
    Ok(v)
}

fn step(v: &Visit, action: VisitAction) -> Result<VisitState, Failure> {
    transition(v.kind, v.state, action).map_err(|e| refuse(format!("就诊 {}：{e}", v.mdtrt_id)))
}

/// The policy for a visit's year and 险种, checking `med_type` is one it settles for `kind`.
async fn check_med_type(
    gw: &Gateway,
    year: u16,
    insutype: &str,
    med_type: &str,
    kind: VisitKind,
    field: &str,
) -> Result<(), Failure> {
    let policy = gw.store.policy(year, insutype).await?.ok_or_else(|| {
        refuse(format!(
            "没有 {year} 年度险种 {insutype} 的政策：请先 yibao policy load"
        ))
    })?;
    let vk = policy.visit_kind(med_type).ok_or_else(|| {
        refuse(format!(
            "医疗类别 {field}={} 不在政策《{}》中",
            shown(med_type),
            policy.name
        ))
    })?;
    let inpatient = vk == yibao_core::policy::VisitKind::Inpatient;
    if inpatient != (kind == VisitKind::Inpatient) {
        return Err(refuse(format!(
            "医疗类别 {field}={} 不是{}类别",
            shown(med_type),
            kind.name()
        )));
    }
    Ok(())
}

/// The credential `cert_no` of type `cert_type` given at `input.{path}` is `person`'s: a
/// resident ID (`02`) must be the person's `certno` (the other credentials carry no number
/// the register knows). Registration (2201) and settlement (2207/2304) both check it here.
fn check_credential(
    path: &str,
    psn_no: &str,
    cert_type: &str,
    cert_no: &str,
    person: Option<&yibao_core::refdata::Person>,
) -> Result<(), Failure> {
    if cert_type == "02" && person.is_some_and(|p| !p.certno.eq_ignore_ascii_case(cert_no)) {
        return Err(refuse(format!(
            "就诊凭证编号 input.{path}.mdtrt_cert_no={} 与人员 {psn_no} 的身份证号不符",
            mask_certno(cert_no)
        )));
    }
    Ok(())
}
