//! Settlement transactions: 2206/2207, 2303/2304 and their reversals 2208/2305.

use super::render::{clr_type, negated, setl_output};
use super::*;

/// Holds one person-year's accumulators for the engine's [`settle`] and catches what it records.
pub(super) struct OneClaim {
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

/// 2206 / 2303 预结算 (`record` false) and 2207 / 2304 结算.
pub(super) async fn settlement(
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
pub(super) async fn visit_settlement(
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

/// 2208 门诊结算撤销 / 2305 住院结算撤销.
pub(super) async fn reversal(
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
