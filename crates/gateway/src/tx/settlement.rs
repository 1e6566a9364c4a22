//! Settlement transactions: 2206/2207, 2303/2304 and their reversals 2208/2305.

use super::render::{clr_type, negated, setl_output, SetlContext};
use super::*;
use yibao_core::books::{EntryKind, Paid};
use yibao_core::checks::Violation;
use yibao_store::journal::StoredEntry;
use yibao_store::SettlementFinding;

/// The gateway's ledger for one visit's transaction: the engine reads the person-year's
/// accumulators as this transaction read them, and records through its typed writes, so the
/// accumulator arithmetic and the checks are the core's (`ledger::settle` / `reverse`).
/// Its reference data holds the visit's one person, at index 0.
struct VisitLedger<'a> {
    g: &'a mut GatewayTx,
    visit: &'a Visit,
    year: u16,
    /// The person-year's accumulators as read in this transaction.
    acc: YearAccumulators,
    /// The personal account's balance as read in this transaction.
    balance: yibao_core::Fen,
    /// 家庭共济: the holder and their account's balance as read in this transaction.
    aid: Option<(String, yibao_core::Fen)>,
    /// For a reversal: the account payments the settlement made (the person's own and a
    /// family member's), to give back.
    paid_back: Vec<(String, yibao_core::Fen)>,
    /// This message's id (the settlement's or reversal's `msgid`).
    msgid: &'a str,
    /// What a settlement records besides the core's value.
    new: Option<NewSettlement<'a>>,
    /// The stored settlement a reversal takes back.
    stored: Option<&'a SettlementRecord>,
    /// The books of the policy settled under (a settlement posts its entry to them).
    books: Option<&'a yibao_core::books::Books>,
    /// For a reversal: the settlement's journal entry, which it posts the mirror of.
    posted: Option<yibao_store::journal::StoredEntry>,
}

struct NewSettlement<'a> {
    setl_id: String,
    setl_date: yibao_core::Date,
    /// Renders the answer, which is stored with the settlement.
    render: &'a dyn Fn(&Settlement) -> Value,
    output: Option<Value>,
}

impl LedgerStore for VisitLedger<'_> {
    fn is_settled(&mut self, _claim_id: &str) -> bool {
        self.visit.state == VisitState::Settled
    }

    fn accumulators(&mut self, _person: u32, year: u16) -> YearAccumulators {
        debug_assert_eq!(year, self.year);
        self.acc
    }

    fn account_balance(
        &mut self,
        _person: &yibao_core::refdata::Person,
        _on: yibao_core::Date,
        _acc: &YearAccumulators,
    ) -> yibao_core::Fen {
        self.balance
    }

    fn aid_balance(
        &mut self,
        _refdata: &yibao_core::RefData,
        holder: &str,
        _year: u16,
        _on: yibao_core::Date,
    ) -> (Option<u32>, yibao_core::Fen) {
        match &self.aid {
            Some((h, balance)) if h == holder => (None, *balance),
            _ => (None, 0),
        }
    }

    fn settled(&mut self, claim_id: &str) -> Option<SettledEntry> {
        self.stored
            .filter(|s| s.setl_id == claim_id && !s.reversed)
            .map(|s| SettledEntry {
                person: 0,
                year: s.year,
                delta: s.delta,
                // A family member's account is given back from its movements (`aid_paid`),
                // the books from the settlement's stored entry (`posted`).
                aid: None,
                institution: 0,
                paid: Default::default(),
            })
    }

    fn record_settlement(
        &mut self,
        _claim_id: &str,
        s: &Settlement,
        after: &YearAccumulators,
    ) -> Result<(), Violation> {
        // Only a ledger built to settle (with `new`) records a settlement; the caller answers
        // a fault when nothing was recorded.
        let Some(new) = self.new.as_mut() else {
            return Ok(());
        };
        let v = self.visit;
        // The entry first: one that does not balance is a fault, and nothing is queued.
        if let Some(books) = self.books {
            let reference = EntryKind::Settlement.reference(&new.setl_id);
            let paid = Paid::of_amounts(&s.amounts);
            if let Some(e) = books.settlement_entry(&reference, &v.fixmedins_code, &paid) {
                e.check()?;
                self.g
                    .post(StoredEntry::of(&e, &v.insutype, s.year, new.setl_date));
            }
        }
        let output = (new.render)(s);
        self.g.put_accumulators(&v.psn_no, s.year, after);
        let on = v.enddate.unwrap_or(v.begndate);
        // The person's own account, and a family member's under 家庭共济.
        let own = (v.psn_no.as_str(), s.amounts.acct_pay);
        let aid = s.aid.as_ref().map(|a| (a.holder.as_str(), a.amount));
        for (psn_no, paid) in std::iter::once(own).chain(aid).filter(|(_, f)| *f > 0) {
            let payment = yibao_store::account::PAYMENT;
            self.g
                .account_movement(psn_no, on, payment, -paid, &new.setl_id);
        }
        self.g.insert_settlement(&SettlementRecord {
            setl_id: new.setl_id.clone(),
            mdtrt_id: v.mdtrt_id.clone(),
            psn_no: v.psn_no.clone(),
            fixmedins_code: v.fixmedins_code.clone(),
            insutype: v.insutype.clone(),
            clr_type: clr_type(v.kind).into(),
            year: s.year,
            setl_date: new.setl_date,
            medfee_sumamt: s.amounts.medfee_sumamt,
            fund_pay_sumamt: s.amounts.fund_pay_sumamt,
            acct_pay: s.amounts.acct_pay,
            hosp_part_amt: s.amounts.hosp_part_amt,
            med_type: v.med_type.clone(),
            delta: s.delta,
            output: output.to_string(),
            msgid: self.msgid.to_string(),
            reversed: false,
        });
        new.output = Some(output);
        Ok(())
    }

    fn record_reversal(
        &mut self,
        claim_id: &str,
        entry: &SettledEntry,
        after: &YearAccumulators,
    ) -> Result<(), Violation> {
        let v = self.visit;
        // The mirror of what the settlement posted (a settlement paid wholly in cash posted
        // nothing, and its reversal posts nothing).
        if let Some(posted) = self.posted.take() {
            let reference = EntryKind::Reversal.reference(claim_id);
            let e = posted.entry().reversal(&reference);
            e.check()?;
            let today = crate::wire::beijing_now().0;
            self.g
                .post(StoredEntry::of(&e, &v.insutype, entry.year, today));
        }
        self.g.put_accumulators(&v.psn_no, entry.year, after);
        let on = v.enddate.unwrap_or(v.begndate);
        for (psn_no, amount) in std::mem::take(&mut self.paid_back) {
            let restoration = yibao_store::account::RESTORATION;
            self.g
                .account_movement(&psn_no, on, restoration, amount, claim_id);
        }
        self.g.insert_reversal(claim_id, self.msgid);
        Ok(())
    }
}

/// 家庭共济: the holder whose account may pay for `person`'s visit ending `end`, with its
/// balance, read (and with `lock`, locked as the person's own) in this transaction.
async fn family_account(
    g: &mut GatewayTx,
    policy: &yibao_core::Policy,
    person: &yibao_core::refdata::Person,
    end: yibao_core::Date,
    lock: bool,
) -> Result<Option<(String, yibao_core::Fen)>, Failure> {
    let (Some(_), Some(holder)) = (&policy.family_aid, person.aid_holder(end)) else {
        return Ok(None);
    };
    g.accumulators(holder, end.year(), lock).await?;
    let balance = g.account_balance(holder).await?;
    Ok(Some((holder.to_string(), balance)))
}

/// A settlement's refusal is the hospital's to fix; a broken invariant is a system fault.
fn settle_failure(e: SettleError) -> Failure {
    match e {
        SettleError::Refused(r) => refuse(format!("{}（{}）", r.message, r.code.as_str())),
        SettleError::Fault(v) => Failure::Fault(v.to_string()),
    }
}

/// The visit's uploaded lines as the engine's lines (checked when uploaded).
fn checked_lines(refdata: &yibao_core::RefData, lines: &[FeeLine]) -> Result<Vec<Line>, Failure> {
    let scaled = |n: usize, field: &str, text: &str| {
        parse_price_scaled(text).map_err(|e| {
            Failure::Fault(format!(
                "库中第 {n} 条费用明细的 {field}={} 无效：{e}",
                shown(text)
            ))
        })
    };
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let n = i + 1;
            let (price, qty) = (scaled(n, "pric", &l.pric)?, scaled(n, "cnt", &l.cnt)?);
            stored_line(refdata, n, &l.med_list_codg, price, qty, l.amount_fen, None)
                .map_err(|r| refuse(format!("{}（{}）", r.message, r.code.as_str())))
        })
        .collect()
}

/// The claim of visit `v` under `med_type`, its `dates` (begndate, enddate) as text.
fn visit_draft<'a>(
    v: &'a Visit,
    med_type: &'a str,
    dates: &'a (String, String),
    lines: Vec<Line>,
    acct_used_flag: Option<&'a str>,
) -> ClaimDraft<'a> {
    ClaimDraft {
        claim_id: &v.mdtrt_id,
        psn_no: Val::Text(&v.psn_no),
        fixmedins_code: Val::Text(&v.fixmedins_code),
        med_type: Val::Text(med_type),
        begndate: Val::Text(&dates.0),
        enddate: Val::Text(&dates.1),
        dise_codg: Val::Text(&v.dise_codg),
        lines: LinesDraft::Checked(lines),
        acct_used_flag: acct_used_flag.map_or(Val::Missing, Val::Text),
    }
}

/// The audit findings (智能审核疑点) of the visit's uploaded lines under the gateway's rules.
/// Only the rules on one visit's lines and diagnosis run here (the peer group and the
/// person's other stays are the batch screening's, `yibao audit screen`). Findings never
/// change what the visit settles for (invariant 19): they are computed beside the engine.
pub(super) fn findings(
    gw: &Gateway,
    refdata: &yibao_core::RefData,
    draft: &ClaimDraft<'_>,
) -> Vec<SettlementFinding> {
    use yibao_core::audit::{ScreenClaim, Screener};
    // A claim the engine would refuse is refused by it, with its own message.
    let Ok(claim) = ScreenClaim::from_draft(refdata, draft, 0) else {
        return Vec::new();
    };
    let rules = &*gw.rules;
    let screener = Screener::new(rules, refdata, std::slice::from_ref(&claim));
    screener
        .person(&[&claim])
        .into_iter()
        .filter_map(|f| {
            let rule = rules.rule(f.family)?;
            Some(SettlementFinding {
                family: f.family.code().into(),
                rule_id: rule.id.clone(),
                severity: rule.severity.as_str().into(),
                amount_fen: f.amount,
                message: f.message,
            })
        })
        .collect()
}

/// The findings of a visit in the national analysis' result fields (3101/3102 输出-违规信息:
/// `jr_id` numbers them within the visit, `patn_id` is the person, `vola_bhvr_type` the rule
/// family, `vola_evid` the rule and its family, `vola_amt_stas` "1" as the amount is computed).
pub(super) fn findings_json(v: &Visit, found: &[SettlementFinding]) -> Value {
    let mdtrt_id = &v.mdtrt_id;
    let name = |code: &str| yibao_core::audit::Family::parse(code).map_or("", |f| f.name());
    found
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "jr_id": format!("{mdtrt_id}-{}", i + 1),
                "rule_id": f.rule_id,
                "rule_name": name(&f.family),
                "vola_cont": f.message,
                "patn_id": v.psn_no,
                "mdtrt_id": mdtrt_id,
                "vola_amt": format_fen(f.amount_fen),
                "vola_amt_stas": "1",
                "sev_deg": f.severity,
                "vola_evid": format!("审核规则 {}（{}）", f.rule_id, name(&f.family)),
                "vola_bhvr_type": f.family,
            })
        })
        .collect()
}

/// 3101 事前分析 / 3102 事中分析: the audit findings of a visit's uploaded lines, before
/// it settles; reads only (its answer is the message's).
pub(super) async fn analysis(
    gw: &Gateway,
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let data = object(input, "data")?;
    let mdtrt_id = data.text("mdtrt_id")?;
    let kind = match g.visit(&mdtrt_id).await? {
        Some(v) => v.kind,
        None => VisitKind::Outpatient,
    };
    let v = own_visit(g, meta, &data, kind, true).await?;
    // Before 2206 an outpatient visit may have no med_type yet: the analysis may name it.
    let med_type = match data.opt_text("med_type")? {
        Some(t) if v.med_type.is_empty() => t,
        _ => v.med_type.clone(),
    };
    if med_type.is_empty() {
        return Err(refuse(format!(
            "就诊 {} 尚无医疗类别：请在 input.data.med_type 中给出",
            v.mdtrt_id
        )));
    }
    let end = v.enddate.unwrap_or(v.begndate);
    let person = g
        .person(&v.psn_no, end)
        .await?
        .ok_or_else(|| refuse(format!("人员编号 {} 不存在（UNKNOWN_PERSON）", v.psn_no)))?;
    let mut refdata = gw.tables.sharing_tables();
    refdata
        .add_person(person)
        .map_err(|e| refuse(e.to_string()))?;
    let lines = g.lines(&v.mdtrt_id).await?;
    let dates = (v.begndate.to_string(), end.to_string());
    let lines = checked_lines(&refdata, &lines)?;
    let draft = visit_draft(&v, &med_type, &dates, lines, None);
    let found = findings(gw, &refdata, &draft);
    Ok(json!({ "result": findings_json(&v, &found) }))
}

/// The settlement's `med_type` (taken when 2203 sent none) and `insutype` agree with the visit.
async fn check_visit_fields(
    gw: &Gateway,
    data: &Obj<'_>,
    v: &mut Visit,
    kind: VisitKind,
) -> Result<(), Failure> {
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
    Ok(())
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
    check_visit_fields(gw, &data, &mut v, kind).await?;
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
    if let (Some(cert_type), Some(cert_no)) = (
        data.opt_text("mdtrt_cert_type")?,
        data.opt_text("mdtrt_cert_no")?,
    ) {
        check_credential(data.path, &v.psn_no, &cert_type, &cert_no, Some(&person))?;
    }
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
    let dates = (v.begndate.to_string(), end.to_string());
    let acct_flag = data.opt_text("acct_used_flag")?;
    let checked = checked_lines(&refdata, &lines)?;
    let draft = visit_draft(&v, &v.med_type, &dates, checked, acct_flag.as_deref());
    let year = end.year();
    let acc = g.accumulators(&v.psn_no, year, record).await?;
    let balance = match policy.account {
        Some(_) => g.account_balance(&v.psn_no).await?,
        None => 0,
    };
    let aid = family_account(g, &policy, &person, end, record).await?;
    let (today, stamp) = crate::wire::beijing_now();
    let setl_time = format!(
        "{} {}:{}:{}",
        today,
        &stamp[8..10],
        &stamp[10..12],
        &stamp[12..14]
    );
    let funds = &policy.fund_pay_types;
    if !record {
        let mut ledger = VisitLedger {
            g,
            visit: &v,
            year,
            acc,
            balance,
            aid: aid.clone(),
            paid_back: Vec::new(),
            msgid: &meta.msgid,
            new: None,
            stored: None,
            books: None,
            posted: None,
        };
        let (s, _) =
            preview(&policy, &refdata, &mut ledger, &draft, false).map_err(settle_failure)?;
        let at = SetlContext {
            setl_time: &setl_time,
            funds,
            policy: &policy,
            balance_after: balance - s.amounts.acct_pay,
        };
        let mut out = setl_output(&v, None, &person, &s, &at);
        out["audit_result"] = findings_json(&v, &findings(gw, &refdata, &draft));
        return Ok(out);
    }
    let setl_id = format!("ST{}", meta.msgid);
    let render = |s: &Settlement| {
        let at = SetlContext {
            setl_time: &setl_time,
            funds,
            policy: &policy,
            balance_after: balance - s.amounts.acct_pay,
        };
        setl_output(&v, Some(&setl_id), &person, s, &at)
    };
    let mut ledger = VisitLedger {
        g,
        visit: &v,
        year,
        acc,
        balance,
        aid,
        paid_back: Vec::new(),
        msgid: &meta.msgid,
        new: Some(NewSettlement {
            setl_id: setl_id.clone(),
            setl_date: today,
            render: &render,
            output: None,
        }),
        stored: None,
        books: policy.books.as_ref(),
        posted: None,
    };
    settle(&policy, &refdata, &mut ledger, &draft, false).map_err(settle_failure)?;
    // Recording rendered the answer; without it nothing was recorded, and the transaction is
    // dropped uncommitted.
    let output = ledger
        .new
        .and_then(|n| n.output)
        .ok_or_else(|| Failure::Fault("结算未记录（内部错误）".into()))?;
    // The settlement carries its findings, recorded with it.
    let found = findings(gw, &refdata, &draft);
    g.settlement_findings(&setl_id, found);
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
    let acc = g.accumulators(&v.psn_no, s.year, true).await?;
    let balance = g.account_balance(&v.psn_no).await?;
    // The accounts it drew on; a family member's (家庭共济) locked as the person's is.
    let paid_back = g.account_payments(&setl_id).await?;
    for (psn_no, _) in paid_back.iter().filter(|(p, _)| *p != v.psn_no) {
        g.accumulators(psn_no, s.year, true).await?;
    }
    let posted = g
        .journal_entry(&EntryKind::Settlement.reference(&setl_id))
        .await?;
    let mut ledger = VisitLedger {
        g,
        visit: &v,
        year: s.year,
        acc,
        balance,
        aid: None,
        paid_back,
        msgid: &meta.msgid,
        new: None,
        stored: Some(&s),
        books: None,
        posted,
    };
    reverse(&mut ledger, &setl_id).map_err(settle_failure)?;
    g.update_visit(&v);
    meta.target = format!("{} {}", v.mdtrt_id, setl_id);
    let mut out = negated(&s.output);
    if let Some(info) = out.get_mut("setlinfo").and_then(Value::as_object_mut) {
        // The balance once the account has its money back.
        let after = balance + s.delta.account_paid;
        info.insert("balc".into(), json!(format_fen(after)));
    }
    Ok(out)
}
