//! Fee-detail transactions: 2204/2205, 2301/2302.

use super::render::{class_level, price_text, ratio_text};
use super::*;

/// 2204 门诊费用明细上传 / 2301 住院费用明细上传.
pub(super) async fn upload(
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
pub(super) async fn withdraw(
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
