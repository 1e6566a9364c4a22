//! Person transactions: 1101.

use super::*;

/// 1101 人员信息获取.
pub(super) async fn person_info(
    gw: &Gateway,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
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
    let person = gw.store.person_on(&psn_no, on).await?.ok_or_else(|| {
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
    // The personal account's balance on the date asked (employees only).
    let balance = match el.insutype.as_deref() {
        Some(yibao_core::enrolment::INSUTYPE_EMPLOYEE) => {
            gw.store.account(&psn_no, on).await?.balance_fen
        }
        _ => 0,
    };
    let cvlserv_flag = if person.scheme.civil_servant {
        "1"
    } else {
        "0"
    };
    let insuinfo: Vec<Value> = el
        .insutype
        .iter()
        .map(|insutype| {
            json!({
                "balc": format_fen(balance),
                "insutype": insutype,
                "psn_type": super::render::psn_type(&person, on),
                "psn_insu_stas": if el.eligible { "1" } else { "2" },
                "psn_insu_date": format!("{}-01-01", on.year()),
                "paus_insu_date": el.suspension.as_ref().map(|s| s.range.from.to_string()).unwrap_or_default(),
                "paus_insu_rea": el.suspension.as_ref().map(|s| s.reason.clone()).unwrap_or_default(),
                "cvlserv_flag": cvlserv_flag,
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
