//! The transactions (`infno`) of `interface.md` §3. Each reads its input, checks it and the
//! visit's state, and writes through the one [`GatewayTx`]; a refusal returns before the
//! transaction commits, so it changes nothing.

use crate::wire::{array, object, Obj, Refusal};
use crate::{Failure, Gateway};
use serde_json::{json, Map, Value};
use yibao_core::claim::{shown, validate_line, LineFieldNames};
use yibao_core::ledger::{settle, LedgerStore, SettledEntry};
use yibao_core::money::format_fen;
use yibao_core::refdata::{mask_certno, ItemClass};
use yibao_core::visit::{transition, VisitAction, VisitKind, VisitState};
use yibao_core::{ClaimDraft, LineDraft, LinesDraft, Settlement, Val, YearAccumulators};
use yibao_store::{
    FeeLine, GatewayTx, MessageMeta, NewFeeLine, ReadAhead, SettlementRecord, Visit,
};

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

/// Reads ahead for 2206/2207/2303/2304; `None` for other transactions or when the input
/// does not name a visit (the transaction itself then refuses it with the right message).
pub(crate) async fn prefetch(
    gw: &Gateway,
    meta: &MessageMeta,
    input: &Map<String, Value>,
) -> Result<Option<Prefetch>, Failure> {
    if !matches!(meta.infno.as_str(), "2206" | "2207" | "2303" | "2304") {
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

pub(crate) async fn dispatch(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    pre: Option<Prefetch>,
) -> TxResult {
    match meta.infno.as_str() {
        "1101" => person_info(gw, meta, input).await,
        "2201" => open_visit(gw, g, meta, input, VisitKind::Outpatient).await,
        "2401" => open_visit(gw, g, meta, input, VisitKind::Inpatient).await,
        "2202" => cancel(g, meta, input, VisitKind::Outpatient).await,
        "2404" => cancel(g, meta, input, VisitKind::Inpatient).await,
        "2203" => visit_info(gw, g, meta, input).await,
        "2204" => upload(gw, g, meta, input, VisitKind::Outpatient).await,
        "2301" => upload(gw, g, meta, input, VisitKind::Inpatient).await,
        "2205" => withdraw(g, meta, input, VisitKind::Outpatient).await,
        "2302" => withdraw(g, meta, input, VisitKind::Inpatient).await,
        "2402" => discharge(gw, g, meta, input).await,
        "2405" => cancel_discharge(g, meta, input).await,
        "2206" => settlement(gw, g, meta, input, VisitKind::Outpatient, false, pre).await,
        "2207" => settlement(gw, g, meta, input, VisitKind::Outpatient, true, pre).await,
        "2303" => settlement(gw, g, meta, input, VisitKind::Inpatient, false, pre).await,
        "2304" => settlement(gw, g, meta, input, VisitKind::Inpatient, true, pre).await,
        "2208" => reversal(g, meta, input, VisitKind::Outpatient).await,
        "2305" => reversal(g, meta, input, VisitKind::Inpatient).await,
        "3201" => reconcile(gw, meta, input).await,
        "5203" => query_settlement(g, meta, input).await,
        other => Err(Refusal(format!(
            "交易编号 infno={} 不支持：本网关受理 1101、2201–2208、2301–2305、2401–2405、3201、5203",
            shown(other)
        ))
        .into()),
    }
}

fn refuse(msg: impl Into<String>) -> Failure {
    Failure::Refused(Refusal(msg.into()))
}

/// 1101 人员信息获取.
async fn person_info(gw: &Gateway, meta: &mut MessageMeta, input: &Map<String, Value>) -> TxResult {
    let data = object(input, "data")?;
    let psn_no = match data.opt_text("psn_no")? {
        Some(p) => p,
        None => {
            let certno = match data.opt_text("certno")? {
                Some(c) => c,
                None => data.text("mdtrt_cert_no").map_err(|_| {
                    Refusal(
                        "缺少字段 input.data.psn_no、input.data.certno 或 input.data.mdtrt_cert_no"
                            .into(),
                    )
                })?,
            };
            gw.store.psn_no_by_certno(&certno).await?.ok_or_else(|| {
                refuse(format!(
                    "证件号码 input.data.certno={} 没有参保登记",
                    mask_certno(&certno)
                ))
            })?
        }
    };
    meta.target = psn_no.clone();
    let on = match data.opt_text("begntime")? {
        Some(_) => data.date("begntime")?,
        None => crate::wire::beijing_now().0,
    };
    let person = gw.store.person(&psn_no).await?.ok_or_else(|| {
        refuse(format!(
            "人员编号 input.data.psn_no={} 不存在",
            shown(&psn_no)
        ))
    })?;
    let el = gw.store.eligibility(&psn_no, on).await?.ok_or_else(|| {
        refuse(format!(
            "人员编号 input.data.psn_no={} 不存在",
            shown(&psn_no)
        ))
    })?;
    let age = person.brdy.age_on(on);
    let insuinfo: Vec<Value> = el
        .insutype
        .iter()
        .map(|insutype| {
            json!({
                "balc": "0.00",
                "insutype": insutype,
                "psn_type": el.categories.first().cloned().unwrap_or_default(),
                "psn_insu_stas": if el.eligible { "1" } else { "2" },
                "psn_insu_date": format!("{}-01-01", on.year()),
                "paus_insu_date": el.suspension.as_ref().map(|s| s.range.from.to_string()).unwrap_or_default(),
                "paus_insu_rea": el.suspension.as_ref().map(|s| s.reason.clone()).unwrap_or_default(),
                "cvlserv_flag": "0",
                "insuplc_admdvs": "",
                "emp_name": "",
            })
        })
        .collect();
    let idetinfo: Vec<Value> = person
        .categories
        .iter()
        .filter(|c| c.range.contains(on))
        .map(|c| {
            json!({
                "psn_idet_type": c.code,
                "psn_type_lv": "",
                "memo": "",
                "begntime": format!("{} 00:00:00", c.range.from),
                "endtime": format!("{} 23:59:59", c.range.to),
            })
        })
        .collect();
    Ok(json!({
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": "01",
            "certno": person.certno,
            "psn_name": person.name,
            "gend": person.gend,
            "naty": "",
            "brdy": person.brdy.to_string(),
            "age": age,
        },
        "insuinfo": insuinfo,
        "idetinfo": idetinfo,
    }))
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

/// 2201 门诊挂号 / 2401 入院办理.
async fn open_visit(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    kind: VisitKind,
) -> TxResult {
    let obj = match kind {
        VisitKind::Outpatient => object(input, "data")?,
        VisitKind::Inpatient => object(input, "mdtrtinfo")?,
    };
    let psn_no = obj.text("psn_no")?;
    let insutype = obj.text("insutype")?;
    let begndate = obj.date("begntime")?;
    let cert_type = obj.code("mdtrt_cert_type", CERT_TYPES, "就诊凭证类型")?;
    let cert_no = obj.text("mdtrt_cert_no")?;
    let no_key = match kind {
        VisitKind::Outpatient => "ipt_otp_no",
        VisitKind::Inpatient => "ipt_no",
    };
    let ipt_otp_no = obj.text(no_key)?;
    let (med_type, dise_codg) = match kind {
        VisitKind::Outpatient => (String::new(), String::new()),
        VisitKind::Inpatient => {
            let m = obj.text("med_type")?;
            check_med_type(
                gw,
                begndate.year(),
                &insutype,
                &m,
                kind,
                "input.mdtrtinfo.med_type",
            )
            .await?;
            (m, obj.opt_text("dise_codg")?.unwrap_or_default())
        }
    };
    let el = gw
        .store
        .eligibility(&psn_no, begndate)
        .await?
        .ok_or_else(|| {
            refuse(format!(
                "人员编号 input.{}.psn_no={} 不存在",
                obj.path,
                shown(&psn_no)
            ))
        })?;
    match el.insutype.as_deref() {
        None => {
            return Err(refuse(format!(
                "人员 {psn_no} 在 {} 年度没有参保登记（NOT_ENROLLED）",
                begndate.year()
            )))
        }
        Some(t) if t != insutype => {
            return Err(refuse(format!(
                "险种 input.{}.insutype={} 与人员 {psn_no} 的参保险种 {t} 不符",
                obj.path,
                shown(&insutype)
            )))
        }
        Some(_) => {}
    }
    if !el.paid {
        return Err(refuse(format!(
            "人员 {psn_no} 在 {} 年度未缴费，不享受待遇（NOT_ENROLLED）",
            begndate.year()
        )));
    }
    if let Some(s) = &el.suspension {
        return Err(refuse(format!(
            "人员 {psn_no} 在 {begndate} 待遇暂停：{}（{} 至 {}）（NOT_ENROLLED）",
            s.reason, s.range.from, s.range.to
        )));
    }
    if cert_type == "02" {
        let p = gw.store.person(&psn_no).await?;
        if p.is_some_and(|p| !p.certno.eq_ignore_ascii_case(&cert_no)) {
            return Err(refuse(format!(
                "就诊凭证编号 input.{}.mdtrt_cert_no={} 与人员 {psn_no} 的身份证号不符",
                obj.path,
                mask_certno(&cert_no)
            )));
        }
    }
    let mdtrt_id = format!("MD{}", meta.msgid);
    meta.target = mdtrt_id.clone();
    g.insert_visit(&Visit {
        mdtrt_id: mdtrt_id.clone(),
        fixmedins_code: meta.fixmedins_code.clone(),
        psn_no: psn_no.clone(),
        kind,
        insutype,
        med_type,
        ipt_otp_no: ipt_otp_no.clone(),
        mdtrt_cert_type: cert_type,
        mdtrt_cert_no: cert_no,
        begndate,
        enddate: (kind == VisitKind::Outpatient).then_some(begndate),
        dise_codg,
        state: VisitState::Open,
    });
    Ok(match kind {
        VisitKind::Outpatient => {
            json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "ipt_otp_no": ipt_otp_no}})
        }
        VisitKind::Inpatient => {
            json!({"result": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "ipt_no": ipt_otp_no}})
        }
    })
}

/// 2202 挂号撤销 / 2404 入院撤销.
async fn cancel(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    kind: VisitKind,
) -> TxResult {
    let data = object(input, "data")?;
    let mut v = own_visit(g, meta, &data, kind, true).await?;
    v.state = step(&v, VisitAction::Cancel)?;
    g.update_visit(&v);
    Ok(json!({}))
}

/// 2203 门诊就诊信息上传.
async fn visit_info(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let info = object(input, "mdtrtinfo")?;
    let mut v = own_visit(g, meta, &info, VisitKind::Outpatient, false).await?;
    step(&v, VisitAction::UploadInfo)?;
    let med_type = info.text("med_type")?;
    check_med_type(
        gw,
        v.begndate.year(),
        &v.insutype,
        &med_type,
        VisitKind::Outpatient,
        "input.mdtrtinfo.med_type",
    )
    .await?;
    v.med_type = med_type;
    v.dise_codg = info.opt_text("dise_codg")?.unwrap_or_default();
    if let Some(begn) = info.opt_text("begntime")? {
        let d = info.date("begntime")?;
        if d != v.begndate {
            return Err(refuse(format!(
                "就诊时间 input.mdtrtinfo.begntime={} 与挂号日期 {} 不符",
                shown(&begn),
                v.begndate
            )));
        }
    }
    g.update_visit(&v);
    Ok(json!({}))
}

/// A ratio as numeric(5,4): `0.9000`.
fn ratio_text(r: yibao_core::Ratio) -> String {
    let units = (r.ppm() + 50) / 100; // 1/10000, rounded half up
    format!("{}.{:04}", units / 10_000, units % 10_000)
}

/// A unit price scaled by 10^6 as a decimal with at least two places.
fn price_text(scaled: i64) -> String {
    let whole = scaled / 1_000_000;
    let frac = format!("{:06}", scaled % 1_000_000);
    let frac = frac.trim_end_matches('0');
    format!("{whole}.{frac:0<2}")
}

fn class_level(c: ItemClass) -> &'static str {
    match c {
        ItemClass::A => "01",
        ItemClass::B => "02",
        ItemClass::C => "03",
    }
}

/// 2204 门诊费用明细上传 / 2301 住院费用明细上传.
async fn upload(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    kind: VisitKind,
) -> TxResult {
    let rows = array(input, "feedetail")?;
    if rows.is_empty() {
        return Err(refuse("费用明细 input.feedetail 为空"));
    }
    if rows.len() > yibao_core::money::MAX_LINES_PER_CLAIM {
        return Err(refuse(format!(
            "费用明细 input.feedetail 有 {} 条，超过上限 {}",
            rows.len(),
            yibao_core::money::MAX_LINES_PER_CLAIM
        )));
    }
    let mut objs = Vec::with_capacity(rows.len());
    let mut paths = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        paths.push(format!("feedetail[{i}]"));
        match r {
            Value::Object(m) => objs.push(m),
            other => {
                return Err(refuse(format!(
                    "input.feedetail[{i}] 的类型错误：应为对象，实际为{}",
                    crate::wire::type_name(other)
                )))
            }
        }
    }
    let first = Obj {
        map: objs[0],
        path: &paths[0],
    };
    let mut v = own_visit(g, meta, &first, kind, true).await?;
    let next = step(&v, VisitAction::UploadDetails)?;
    let existing = g.lines(&v.mdtrt_id).await?;
    let mut seen: std::collections::HashSet<String> =
        existing.iter().map(|l| l.feedetl_sn.clone()).collect();
    let mut new_lines = Vec::with_capacity(rows.len());
    let mut result = Vec::with_capacity(rows.len());
    for (i, m) in objs.iter().enumerate() {
        let o = Obj {
            map: m,
            path: &paths[i],
        };
        let mdtrt_id = o.text("mdtrt_id")?;
        if mdtrt_id != v.mdtrt_id {
            return Err(refuse(format!(
                "input.{}.mdtrt_id={} 与第 1 条明细的就诊 {} 不同：一次上传只能属于一次就诊",
                o.path,
                shown(&mdtrt_id),
                v.mdtrt_id
            )));
        }
        let sn = o.text("feedetl_sn")?;
        if !seen.insert(sn.clone()) {
            return Err(refuse(format!(
                "费用明细流水号 input.{}.feedetl_sn={} 重复",
                o.path,
                shown(&sn)
            )));
        }
        let code = o.text("med_list_codg")?;
        let pric = o.text("pric")?;
        let cnt = o.text("cnt")?;
        let amount = o.text("det_item_fee_sumamt")?;
        let date = o.date("fee_ocur_time")?;
        let draft = LineDraft {
            code: Val::Text(&code),
            price: Val::Text(&pric),
            qty: Val::Text(&cnt),
            amount: Val::Text(&amount),
            date: Val::Missing,
        };
        let line = validate_line(&gw.tables, i + 1, &draft, &LineFieldNames::NATIONAL)
            .map_err(|r| refuse(format!("input.{}：{}", o.path, r.message)))?;
        let item = &gw.tables.catalog()[line.item as usize];
        let split = yibao_core::split_line(item, &line);
        result.push(json!({
            "feedetl_sn": sn,
            "det_item_fee_sumamt": format_fen(line.amount),
            "cnt": cnt,
            "pric": pric,
            "pric_uplmt_amt": item.price_limit.map(price_text).unwrap_or_default(),
            "selfpay_prop": ratio_text(item.selfpay_prop),
            "fulamt_ownpay_amt": format_fen(split.fulamt),
            "overlmt_amt": format_fen(split.over),
            "preselfpay_amt": format_fen(split.pre),
            "inscp_scp_amt": format_fen(split.inscp),
            "chrgitm_lv": class_level(item.class),
            "med_chrgitm_type": item.kind,
        }));
        new_lines.push(NewFeeLine {
            feedetl_sn: sn,
            chrg_bchno: o.opt_text("chrg_bchno")?.unwrap_or_default(),
            med_list_codg: code,
            pric,
            cnt,
            amount_fen: line.amount,
            fee_ocur_date: date,
        });
    }
    g.insert_lines(&v.mdtrt_id, &new_lines);
    if v.state != next {
        v.state = next;
        g.update_visit(&v);
    }
    Ok(json!({ "result": result }))
}

/// 2205 门诊费用明细撤销 (by `chrg_bchno`, all when empty) / 2302 住院费用明细撤销 (by
/// `feedetl_sn`, `0000` for all).
async fn withdraw(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    kind: VisitKind,
) -> TxResult {
    let data = object(input, "data")?;
    let mut v = own_visit(g, meta, &data, kind, true).await?;
    let lines = g.lines(&v.mdtrt_id).await?;
    let chosen: Vec<&FeeLine> = match kind {
        VisitKind::Outpatient => match data.opt_text("chrg_bchno")? {
            None => lines.iter().collect(),
            Some(b) => {
                let c: Vec<&FeeLine> = lines.iter().filter(|l| l.chrg_bchno == b).collect();
                if c.is_empty() {
                    return Err(refuse(format!(
                        "收费批次号 input.data.chrg_bchno={} 没有在用的费用明细",
                        shown(&b)
                    )));
                }
                c
            }
        },
        VisitKind::Inpatient => {
            let sn = data.text("feedetl_sn")?;
            if sn == "0000" {
                lines.iter().collect()
            } else {
                let c: Vec<&FeeLine> = lines.iter().filter(|l| l.feedetl_sn == sn).collect();
                if c.is_empty() {
                    return Err(refuse(format!(
                        "费用明细流水号 input.data.feedetl_sn={} 不存在或已撤销",
                        shown(&sn)
                    )));
                }
                c
            }
        }
    };
    if chosen.is_empty() {
        return Err(refuse(format!("就诊 {} 没有可撤销的费用明细", v.mdtrt_id)));
    }
    v.state = step(
        &v,
        VisitAction::WithdrawDetails {
            remaining: lines.len() - chosen.len(),
        },
    )?;
    let ids: Vec<i64> = chosen.iter().map(|l| l.id).collect();
    g.withdraw_lines(&v.mdtrt_id, &ids);
    g.update_visit(&v);
    Ok(json!({}))
}

/// 2402 出院办理.
async fn discharge(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let info = object(input, "dscginfo")?;
    let mut v = own_visit(g, meta, &info, VisitKind::Inpatient, true).await?;
    let next = step(&v, VisitAction::Discharge)?;
    let end = info.date("endtime")?;
    if end < v.begndate {
        return Err(refuse(format!(
            "出院时间 input.dscginfo.endtime={end} 早于入院日期 {}",
            v.begndate
        )));
    }
    if let Some(d) = info.opt_text("dise_codg")? {
        v.dise_codg = d;
    }
    let _ = gw;
    v.enddate = Some(end);
    v.state = next;
    g.update_visit(&v);
    Ok(json!({}))
}

/// 2405 出院撤销.
async fn cancel_discharge(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let data = object(input, "data")?;
    let mut v = own_visit(g, meta, &data, VisitKind::Inpatient, true).await?;
    let lines = g.lines(&v.mdtrt_id).await?.len();
    v.state = step(&v, VisitAction::CancelDischarge { lines })?;
    v.enddate = None;
    g.update_visit(&v);
    Ok(json!({}))
}

/// Holds one person-year's accumulators for the engine's [`settle`] and catches what it records.
struct OneClaim {
    acc: YearAccumulators,
    recorded: Option<SettledEntry>,
}

impl LedgerStore for OneClaim {
    fn is_settled(&mut self, _claim_id: &str) -> bool {
        // The visit's state machine has already refused a second settlement.
        false
    }
    fn accumulators(&mut self, _person: u32, _year: u16) -> YearAccumulators {
        self.acc
    }
    fn record_settlement(&mut self, _claim_id: &str, entry: SettledEntry) {
        self.recorded = Some(entry);
    }
    fn remove_settlement(&mut self, _claim_id: &str) -> Option<SettledEntry> {
        None
    }
}

fn fund_type(insutype: &str) -> (&'static str, &'static str) {
    match insutype {
        "310" => ("310100", "职工基本医疗保险统筹基金"),
        _ => ("390100", "城乡居民基本医疗保险基金"),
    }
}

fn setl_output(
    v: &Visit,
    setl_id: Option<&str>,
    person: &yibao_core::refdata::Person,
    s: &Settlement,
    setl_time: &str,
) -> Value {
    let a = &s.amounts;
    let mut info = Map::new();
    info.insert("mdtrt_id".into(), json!(v.mdtrt_id));
    if let Some(id) = setl_id {
        info.insert("setl_id".into(), json!(id));
    }
    info.insert("psn_no".into(), json!(v.psn_no));
    info.insert("psn_name".into(), json!(person.name));
    info.insert("psn_cert_type".into(), json!("01"));
    info.insert("certno".into(), json!(person.certno));
    info.insert("gend".into(), json!(person.gend));
    info.insert("brdy".into(), json!(person.brdy.to_string()));
    info.insert("insutype".into(), json!(v.insutype));
    info.insert("setl_time".into(), json!(setl_time));
    info.insert("mdtrt_cert_type".into(), json!(v.mdtrt_cert_type));
    info.insert("med_type".into(), json!(v.med_type));
    for (name, fen) in a.fields() {
        info.insert(name.into(), json!(format_fen(fen)));
    }
    info.insert("pool_prop_selfpay".into(), json!(ratio_text(s.basic_ratio)));
    info.insert("balc".into(), json!("0.00"));
    info.insert("clr_type".into(), json!(clr_type(v.kind)));
    info.insert("clr_way".into(), json!("01"));
    info.insert("medins_setl_id".into(), json!(""));
    let (code, name) = fund_type(&v.insutype);
    let mut detail = Vec::new();
    for (t, n, amount) in [
        (code, name, a.hifp_pay),
        ("390200", "城乡居民大病保险资金", a.hifmi_pay),
        ("610100", "医疗救助基金", a.maf_pay),
        ("999999", "其他基金（兜底等）", a.oth_pay),
    ] {
        if amount != 0 {
            detail.push(json!({
                "fund_pay_type": t,
                "fund_pay_type_name": n,
                "inscp_scp_amt": format_fen(a.inscp_scp_amt),
                "crt_payb_lmt_amt": "",
                "fund_payamt": format_fen(amount),
                "setl_proc_info": "",
            }));
        }
    }
    json!({ "setlinfo": Value::Object(info), "setldetail": detail })
}

fn clr_type(kind: VisitKind) -> &'static str {
    match kind {
        VisitKind::Outpatient => "11",
        VisitKind::Inpatient => "21",
    }
}

/// 2206 / 2303 预结算 (`record` false) and 2207 / 2304 结算.
async fn settlement(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    kind: VisitKind,
    record: bool,
    mut pre: Option<Prefetch>,
) -> TxResult {
    let data = object(input, "data")?;
    if let Some(a) = pre.as_mut().and_then(|p| p.ahead.take()) {
        g.use_read_ahead(a);
    }
    let mut v = own_visit(g, meta, &data, kind, true).await?;
    let action = if record {
        VisitAction::Settle
    } else {
        VisitAction::PreSettle
    };
    let next = step(&v, action)?;
    if kind == VisitKind::Outpatient {
        let med_type = data.text("med_type")?;
        if v.med_type.is_empty() {
            check_med_type(
                gw,
                v.begndate.year(),
                &v.insutype,
                &med_type,
                kind,
                "input.data.med_type",
            )
            .await?;
            v.med_type = med_type;
        } else if v.med_type != med_type {
            return Err(refuse(format!(
                "医疗类别 input.data.med_type={} 与就诊信息上传的 {} 不符",
                shown(&med_type),
                v.med_type
            )));
        }
    }
    if let Some(t) = data.opt_text("insutype")? {
        if t != v.insutype {
            return Err(refuse(format!(
                "险种 input.data.insutype={} 与就诊登记的险种 {} 不符",
                shown(&t),
                v.insutype
            )));
        }
    }
    let medfee = data.fen("medfee_sumamt")?;
    let lines = g.lines(&v.mdtrt_id).await?;
    let sum: i64 = lines.iter().map(|l| l.amount_fen).sum();
    if medfee != sum {
        return Err(refuse(format!(
            "医疗费总额 input.data.medfee_sumamt={} 与已上传的 {} 条费用明细合计 {} 不符",
            format_fen(medfee),
            lines.len(),
            format_fen(sum)
        )));
    }
    let end = v.enddate.unwrap_or(v.begndate);
    // The read ahead serves when it read this visit as it now stands (person, date, 险种).
    let pre = pre.filter(|p| p.psn_no == v.psn_no && p.end == end && p.insutype == v.insutype);
    let (person, policy) = match pre {
        Some(p) => (p.person, p.policy),
        None => (
            g.person(&v.psn_no, end).await?,
            gw.store.policy(end.year(), &v.insutype).await?,
        ),
    };
    let person =
        person.ok_or_else(|| refuse(format!("人员编号 {} 不存在（UNKNOWN_PERSON）", v.psn_no)))?;
    let policy = policy.ok_or_else(|| {
        refuse(format!(
            "没有 {} 年度险种 {} 的政策：请先 yibao policy load",
            end.year(),
            v.insutype
        ))
    })?;
    let mut refdata = gw.tables.sharing_tables();
    refdata
        .add_person(person.clone())
        .map_err(|e| refuse(e.to_string()))?;
    let (begn_text, end_text) = (v.begndate.to_string(), end.to_string());
    let amounts: Vec<String> = lines.iter().map(|l| format_fen(l.amount_fen)).collect();
    let drafts: Vec<LineDraft<'_>> = lines
        .iter()
        .zip(&amounts)
        .map(|(l, amount)| LineDraft {
            code: Val::Text(&l.med_list_codg),
            price: Val::Text(&l.pric),
            qty: Val::Text(&l.cnt),
            amount: Val::Text(amount),
            date: Val::Missing,
        })
        .collect();
    let draft = ClaimDraft {
        claim_id: &v.mdtrt_id,
        psn_no: Val::Text(&v.psn_no),
        fixmedins_code: Val::Text(&v.fixmedins_code),
        med_type: Val::Text(&v.med_type),
        begndate: Val::Text(&begn_text),
        enddate: Val::Text(&end_text),
        dise_codg: Val::Text(&v.dise_codg),
        lines: LinesDraft::List(drafts),
    };
    let year = end.year();
    let mut one = OneClaim {
        acc: g.accumulators(&v.psn_no, year, record).await?,
        recorded: None,
    };
    let settled = settle(&policy, &refdata, &mut one, &draft, false)
        .map_err(|r| refuse(format!("{}（{}）", r.message, r.code.as_str())))?;
    let (today, stamp) = crate::wire::beijing_now();
    let setl_time = format!(
        "{} {}:{}:{}",
        today,
        &stamp[8..10],
        &stamp[10..12],
        &stamp[12..14]
    );
    if !record {
        return Ok(setl_output(&v, None, &person, &settled, &setl_time));
    }
    let setl_id = format!("ST{}", meta.msgid);
    let output = setl_output(&v, Some(&setl_id), &person, &settled, &setl_time);
    let entry = one
        .recorded
        .ok_or_else(|| refuse("结算未记录（内部错误）"))?;
    let mut acc = one.acc;
    acc.add(&entry.delta);
    g.put_accumulators(&v.psn_no, year, &acc);
    g.insert_settlement(&SettlementRecord {
        setl_id: setl_id.clone(),
        mdtrt_id: v.mdtrt_id.clone(),
        psn_no: v.psn_no.clone(),
        fixmedins_code: v.fixmedins_code.clone(),
        insutype: v.insutype.clone(),
        clr_type: clr_type(kind).into(),
        year,
        setl_date: today,
        medfee_sumamt: settled.amounts.medfee_sumamt,
        fund_pay_sumamt: settled.amounts.fund_pay_sumamt,
        acct_pay: settled.amounts.acct_pay,
        delta: entry.delta,
        output: output.to_string(),
        msgid: meta.msgid.clone(),
        reversed: false,
    });
    v.state = next;
    g.update_visit(&v);
    meta.target = format!("{} {}", v.mdtrt_id, setl_id);
    Ok(output)
}

/// The stored settlement `setl_id` of visit `v`.
async fn visit_settlement(
    g: &mut GatewayTx,
    v: &Visit,
    setl_id: &str,
) -> Result<SettlementRecord, Failure> {
    let s = g
        .settlement(setl_id)
        .await?
        .ok_or_else(|| refuse(format!("结算 input.data.setl_id={} 不存在", shown(setl_id))))?;
    if s.mdtrt_id != v.mdtrt_id {
        return Err(refuse(format!(
            "结算 input.data.setl_id={} 不属于就诊 {}",
            shown(setl_id),
            v.mdtrt_id
        )));
    }
    Ok(s)
}

/// Negates the amounts of a stored settlement output (for the reversal's answer).
fn negated(output: &str) -> Value {
    let mut v: Value = serde_json::from_str(output).unwrap_or_else(|_| json!({}));
    let neg = |x: &mut Value| {
        if let Some(t) = x.as_str() {
            if let Ok(f) = yibao_core::money::parse_yuan(t) {
                *x = json!(format_fen(-f));
            }
        }
    };
    let amount_keys: Vec<&str> = yibao_core::Amounts::default()
        .fields()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    if let Some(info) = v.get_mut("setlinfo").and_then(Value::as_object_mut) {
        for k in &amount_keys {
            if let Some(x) = info.get_mut(*k) {
                neg(x);
            }
        }
    }
    if let Some(d) = v.get_mut("setldetail").and_then(Value::as_array_mut) {
        for row in d {
            if let Some(x) = row.get_mut("fund_payamt") {
                neg(x);
            }
        }
    }
    v
}

/// 2208 门诊结算撤销 / 2305 住院结算撤销.
async fn reversal(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
    kind: VisitKind,
) -> TxResult {
    let data = object(input, "data")?;
    let mut v = own_visit(g, meta, &data, kind, true).await?;
    let setl_id = data.text("setl_id")?;
    let s = visit_settlement(g, &v, &setl_id).await?;
    if s.reversed {
        return Err(refuse(format!(
            "结算 input.data.setl_id={} 已撤销，不能重复撤销",
            shown(&setl_id)
        )));
    }
    v.state = step(&v, VisitAction::Reverse)?;
    let mut acc = g.accumulators(&v.psn_no, s.year, true).await?;
    acc.subtract(&s.delta);
    g.put_accumulators(&v.psn_no, s.year, &acc);
    g.insert_reversal(&setl_id, &meta.msgid);
    g.update_visit(&v);
    meta.target = format!("{} {}", v.mdtrt_id, setl_id);
    Ok(negated(&s.output))
}

/// 5203 结算信息查询.
async fn query_settlement(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let data = object(input, "data")?;
    let mdtrt_id = data.text("mdtrt_id")?;
    meta.target = mdtrt_id.clone();
    let v = g.visit(&mdtrt_id).await?.ok_or_else(|| {
        refuse(format!(
            "就诊 input.data.mdtrt_id={} 不存在",
            shown(&mdtrt_id)
        ))
    })?;
    if v.fixmedins_code != meta.fixmedins_code {
        return Err(refuse(format!(
            "就诊 input.data.mdtrt_id={} 不属于本机构 {}",
            shown(&mdtrt_id),
            meta.fixmedins_code
        )));
    }
    let psn_no = data.text("psn_no")?;
    if psn_no != v.psn_no {
        return Err(refuse(format!(
            "人员编号 input.data.psn_no={} 与就诊 {} 的参保人不符",
            shown(&psn_no),
            v.mdtrt_id
        )));
    }
    let setl_id = data.text("setl_id")?;
    let s = visit_settlement(g, &v, &setl_id).await?;
    let mut out: Value = serde_json::from_str(&s.output).unwrap_or_else(|_| json!({}));
    if let Some(info) = out.get_mut("setlinfo").and_then(Value::as_object_mut) {
        info.insert("fixmedins_code".into(), json!(v.fixmedins_code));
        info.insert("begndate".into(), json!(v.begndate.to_string()));
        info.insert(
            "enddate".into(),
            json!(v.enddate.map(|d| d.to_string()).unwrap_or_default()),
        );
        info.insert("dise_codg".into(), json!(v.dise_codg));
        info.insert(
            "setl_stas".into(),
            json!(if s.reversed { "2" } else { "1" }),
        );
    }
    Ok(out)
}

/// 3201 医药机构费用结算对总账.
async fn reconcile(gw: &Gateway, meta: &mut MessageMeta, input: &Map<String, Value>) -> TxResult {
    let data = object(input, "data")?;
    let insutype = data.text("insutype")?;
    let clr_type = data.code("clr_type", &["11", "21", "41", "99"], "清算类别")?;
    let setl_optins = data.opt_text("setl_optins")?.unwrap_or_default();
    let from = data.date("stmt_begndate")?;
    let to = data.date("stmt_enddate")?;
    if from > to {
        return Err(refuse(format!(
            "对账开始日期 input.data.stmt_begndate={from} 晚于结束日期 {to}"
        )));
    }
    let medfee = data.fen("medfee_sumamt")?;
    let fund = data.fen("fund_pay_sumamt")?;
    let acct = data.fen("acct_pay")?;
    let cnt_text = data.text("fixmedins_setl_cnt")?;
    let cnt: i64 = cnt_text.parse().map_err(|_| {
        refuse(format!(
            "结算笔数 input.data.fixmedins_setl_cnt={} 不是整数",
            shown(&cnt_text)
        ))
    })?;
    meta.target = format!("{from}..{to} {insutype}/{clr_type}");
    let t = gw
        .store
        .settlement_totals(&meta.fixmedins_code, &insutype, &clr_type, from, to)
        .await?;
    let mut diffs = Vec::new();
    if cnt != t.count {
        diffs.push(format!("结算笔数 机构 {cnt} / 医保 {}", t.count));
    }
    for (name, theirs, ours) in [
        ("医疗费总额", medfee, t.medfee_sumamt),
        ("基金支付总额", fund, t.fund_pay_sumamt),
        ("个人账户支付", acct, t.acct_pay),
    ] {
        if theirs != ours {
            diffs.push(format!(
                "{name} 机构 {} / 医保 {}",
                format_fen(theirs),
                format_fen(ours)
            ));
        }
    }
    let (rslt, dscr) = if diffs.is_empty() {
        ("0", "对账一致".to_string())
    } else {
        ("1", format!("对账不一致：{}", diffs.join("；")))
    };
    Ok(json!({"stmtinfo": {"setl_optins": setl_optins, "stmt_rslt": rslt, "stmt_rslt_dscr": dscr}}))
}
