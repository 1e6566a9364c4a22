//! Visit transactions: 2201/2202, 2203, 2401/2404, 2402/2405.

use super::*;

/// 2201 门诊挂号 / 2401 入院办理.
pub(super) async fn open_visit(
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
        check_credential(obj.path, &psn_no, &cert_type, &cert_no, p.as_ref())?;
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
pub(super) async fn cancel(
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
pub(super) async fn visit_info(
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

/// 2402 出院办理.
pub(super) async fn discharge(
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
    v.enddate = Some(end);
    v.state = next;
    g.update_visit(&v);
    Ok(json!({}))
}

/// 2405 出院撤销.
pub(super) async fn cancel_discharge(
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
