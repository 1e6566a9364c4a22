//! Rendering typed results as the national interface's fields.

use super::*;
use yibao_core::funds::FundPayTypes;

/// A ratio as numeric(5,4): `0.9000`.
pub(super) fn ratio_text(r: yibao_core::Ratio) -> String {
    let units = (r.ppm() + 50) / 100; // 1/10000, rounded half up
    format!("{}.{:04}", units / 10_000, units % 10_000)
}

/// A unit price scaled by 10^6 as a decimal with at least two places.
pub(super) fn price_text(scaled: i64) -> String {
    let whole = scaled / 1_000_000;
    let frac = format!("{:06}", scaled % 1_000_000);
    let frac = frac.trim_end_matches('0');
    format!("{whole}.{frac:0<2}")
}

pub(super) fn class_level(c: ItemClass) -> &'static str {
    match c {
        ItemClass::A => "01",
        ItemClass::B => "02",
        ItemClass::C => "03",
    }
}

/// What a settlement's answer shows besides the visit, the person and the settlement.
pub(super) struct SetlContext<'a> {
    pub setl_time: &'a str,
    pub funds: &'a FundPayTypes,
    pub policy: &'a yibao_core::Policy,
    /// The personal account's balance after this settlement (`balc`).
    pub balance_after: yibao_core::Fen,
}

/// `psn_type` (人员类别) of the national code list: 11 在职 / 21 退休 for employees; for
/// residents the first category held on `on`, else 1501 城乡居民.
pub(super) fn psn_type(person: &yibao_core::refdata::Person, on: yibao_core::Date) -> String {
    if person.scheme.insutype == yibao_core::enrolment::INSUTYPE_EMPLOYEE {
        return if person.scheme.retired { "21" } else { "11" }.into();
    }
    person
        .categories
        .iter()
        .find(|c| c.range.contains(on))
        .map_or_else(|| "1501".to_string(), |c| c.code.clone())
}

/// The 41 fields of the national `setlinfo` and the funds' `setldetail`.
pub(super) fn setl_output(
    v: &Visit,
    setl_id: Option<&str>,
    person: &yibao_core::refdata::Person,
    s: &Settlement,
    at: &SetlContext<'_>,
) -> Value {
    let (setl_time, funds) = (at.setl_time, at.funds);
    let on = v.enddate.unwrap_or(v.begndate);
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
    info.insert("naty".into(), json!(""));
    info.insert("age".into(), json!(person.brdy.age_on(on)));
    info.insert("psn_type".into(), json!(psn_type(person, on)));
    let cvlserv = if person.scheme.civil_servant {
        "1"
    } else {
        "0"
    };
    info.insert("cvlserv_flag".into(), json!(cvlserv));
    info.insert("insutype".into(), json!(v.insutype));
    info.insert("setl_time".into(), json!(setl_time));
    info.insert("mdtrt_cert_type".into(), json!(v.mdtrt_cert_type));
    info.insert("med_type".into(), json!(v.med_type));
    for (name, fen) in a.fields() {
        info.insert(name.into(), json!(format_fen(fen)));
    }
    // Not paid by this system's policies: 企业补充.
    info.insert("hifes_pay".into(), json!("0.00"));
    info.insert("pool_prop_selfpay".into(), json!(ratio_text(s.basic_ratio)));
    info.insert("balc".into(), json!(format_fen(at.balance_after)));
    info.insert("clr_optins".into(), json!(at.policy.admdvs));
    info.insert("clr_type".into(), json!(clr_type(v.kind)));
    info.insert("clr_way".into(), json!("01"));
    info.insert("medins_setl_id".into(), json!(""));
    // The funds' lines: they add up to fund_pay_sumamt.
    let detail: Vec<Value> = s
        .funds
        .funds()
        .map(|l| {
            json!({
                "fund_pay_type": l.code.to_string(),
                "fund_pay_type_name": funds.of(l.payer).map(|t| t.name.as_str()).unwrap_or_default(),
                "inscp_scp_amt": format_fen(l.base),
                "crt_payb_lmt_amt": "",
                "fund_payamt": format_fen(l.amount),
                "setl_proc_info": "",
            })
        })
        .collect();
    json!({ "setlinfo": Value::Object(info), "setldetail": detail })
}

pub(super) fn clr_type(kind: VisitKind) -> &'static str {
    match kind {
        VisitKind::Outpatient => "11",
        VisitKind::Inpatient => "21",
    }
}

/// Negates the amounts of a stored settlement output (for the reversal's answer).
pub(super) fn negated(output: &str) -> Value {
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
