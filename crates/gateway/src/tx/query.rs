//! Queries: 5203 and 3201.

use super::settlement::visit_settlement;
use super::*;

/// 5203 结算信息查询.
pub(super) async fn query_settlement(
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
pub(super) async fn reconcile(
    gw: &Gateway,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
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
