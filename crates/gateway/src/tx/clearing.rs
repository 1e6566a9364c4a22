//! Clearing with the institutions: 3202 医药机构费用结算对明细账 (the institution's file of
//! settlements against the centre's, the differing ones written to a result file) and
//! 3203/3204 清算申请/撤销.

use super::files::{bytes_of, file_info, new_file, own_file, unzip_text, zip_text};
use super::*;
use std::collections::BTreeMap;
use yibao_core::money::parse_yuan;
use yibao_store::ClearingApplication;

const CLR_TYPES: &[&str] = &["11", "21", "41", "99"];

/// The columns of the institution's file (3202), in order.
const FILE_COLUMNS: [&str; 7] = [
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
];

/// The columns of the result file (3202), in order.
const RESULT_COLUMNS: [&str; 10] = [
    "psn_no",
    "mdtrt_id",
    "setl_id",
    "msgid",
    "stmt_rslt",
    "refd_setl_flag",
    "memo",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
];

/// One settlement as the institution lists it.
#[derive(Debug)]
struct Listed {
    line: usize,
    setl_id: String,
    mdtrt_id: String,
    psn_no: String,
    medfee: i64,
    fund: i64,
    acct: i64,
    reversed: bool,
}

/// The institution's lines of file `no` (a first line of column names is skipped).
fn parse_listed(no: &str, text: &str) -> Result<Vec<Listed>, Failure> {
    let mut out: Vec<Listed> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    for (i, raw) in lines[..last].iter().enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        if n == 1 && cols.first() == Some(&"setl_id") {
            continue;
        }
        if cols.len() != FILE_COLUMNS.len() {
            return Err(refuse(format!(
                "文件 {no} 第 {n} 行有 {} 列，应为 {} 列（{}，制表符分隔）",
                cols.len(),
                FILE_COLUMNS.len(),
                FILE_COLUMNS.join("、")
            )));
        }
        let bad = |c: usize, why: &str| {
            refuse(format!(
                "文件 {no} 第 {n} 行第 {} 列 {}={} {why}",
                c + 1,
                FILE_COLUMNS[c],
                shown(cols[c])
            ))
        };
        for c in 0..3 {
            if cols[c].is_empty() {
                return Err(bad(c, "不能为空"));
            }
            if let Err(e) = crate::wire::check_len(&FILE_COLUMNS[c], FILE_COLUMNS[c], cols[c]) {
                return Err(refuse(format!("文件 {no} 第 {n} 行第 {} 列：{e}", c + 1)));
            }
        }
        let amount = |c: usize| parse_yuan(cols[c]).map_err(|e| bad(c, &format!("无效：{e}")));
        let reversed = match cols[6] {
            "0" => false,
            "1" => true,
            _ => return Err(bad(6, "无效：应为 0（未退费）或 1（已退费）")),
        };
        let (medfee, fund, acct) = (amount(3)?, amount(4)?, amount(5)?);
        if let Some(first) = seen.insert(cols[0].to_string(), n) {
            return Err(bad(0, &format!("与第 {first} 行重复")));
        }
        out.push(Listed {
            line: n,
            setl_id: cols[0].into(),
            mdtrt_id: cols[1].into(),
            psn_no: cols[2].into(),
            medfee,
            fund,
            acct,
            reversed,
        });
    }
    Ok(out)
}

/// `stmt_rslt` of a differing settlement and the result line's values.
struct Differing {
    psn_no: String,
    mdtrt_id: String,
    setl_id: String,
    msgid: String,
    rslt: &'static str,
    reversed: bool,
    memo: String,
    medfee: i64,
    fund: i64,
    acct: i64,
}

fn flag(reversed: bool) -> &'static str {
    if reversed {
        "1"
    } else {
        "0"
    }
}

/// Where the institution's listing `l` and the centre's settlement `s` differ, in Chinese.
fn differences(l: &Listed, s: &SettlementRecord) -> Vec<String> {
    // A reversal listed with negative amounts is the same reversal.
    let sign = |v: i64| if l.reversed { v.abs() } else { v };
    let mut out = Vec::new();
    for (name, field, theirs, ours) in [
        ("就诊ID", "mdtrt_id", &l.mdtrt_id, &s.mdtrt_id),
        ("人员编号", "psn_no", &l.psn_no, &s.psn_no),
    ] {
        if theirs != ours {
            out.push(format!("{name} {field} 机构 {theirs} / 中心 {ours}"));
        }
    }
    for (name, field, theirs, ours) in [
        (
            "医疗费总额",
            "medfee_sumamt",
            sign(l.medfee),
            s.medfee_sumamt,
        ),
        (
            "基金支付总额",
            "fund_pay_sumamt",
            sign(l.fund),
            s.fund_pay_sumamt,
        ),
        ("个人账户支付", "acct_pay", sign(l.acct), s.acct_pay),
    ] {
        if theirs != ours {
            out.push(format!(
                "{name} {field} 机构 {} / 中心 {}",
                format_fen(theirs),
                format_fen(ours)
            ));
        }
    }
    if l.reversed != s.reversed {
        out.push(format!(
            "退费结算标志 refd_setl_flag 机构 {} / 中心 {}",
            flag(l.reversed),
            flag(s.reversed)
        ));
    }
    out
}

/// The differing settlements of the institution's listing against the centre's, by setl_id.
fn compare(listed: Vec<Listed>, centre: Vec<SettlementRecord>) -> Vec<Differing> {
    let mut theirs: BTreeMap<String, Listed> =
        listed.into_iter().map(|l| (l.setl_id.clone(), l)).collect();
    let mut out = Vec::new();
    for s in centre {
        let (rslt, memo) = match theirs.remove(&s.setl_id) {
            None => ("1", "中心多：医药机构文件中没有此笔结算".to_string()),
            Some(l) => {
                let d = differences(&l, &s);
                if d.is_empty() {
                    continue;
                }
                (
                    "3",
                    format!("数据不一致（文件第 {} 行）：{}", l.line, d.join("；")),
                )
            }
        };
        out.push(Differing {
            psn_no: s.psn_no,
            mdtrt_id: s.mdtrt_id,
            setl_id: s.setl_id,
            msgid: s.msgid,
            rslt,
            reversed: s.reversed,
            memo,
            medfee: s.medfee_sumamt,
            fund: s.fund_pay_sumamt,
            acct: s.acct_pay,
        });
    }
    let mut extra: Vec<Listed> = theirs.into_values().collect();
    extra.sort_by_key(|l| l.line);
    for l in extra {
        out.push(Differing {
            memo: format!(
                "医药机构多：文件第 {} 行的结算中心没有（或不在本次对账的险种、清算类别和日期内）",
                l.line
            ),
            psn_no: l.psn_no,
            mdtrt_id: l.mdtrt_id,
            setl_id: l.setl_id,
            msgid: String::new(),
            rslt: "2",
            reversed: l.reversed,
            medfee: l.medfee,
            fund: l.fund,
            acct: l.acct,
        });
    }
    out
}

/// The result file's text: a line of column names, then one line per differing settlement,
/// tab-separated, CRLF.
fn result_text(rows: &[Differing]) -> String {
    let mut out = RESULT_COLUMNS.join("\t");
    out.push_str("\r\n");
    for d in rows {
        let fields = [
            d.psn_no.as_str(),
            &d.mdtrt_id,
            &d.setl_id,
            &d.msgid,
            d.rslt,
            flag(d.reversed),
            &d.memo,
            &format_fen(d.medfee),
            &format_fen(d.fund),
            &format_fen(d.acct),
        ];
        out.push_str(&fields.join("\t"));
        out.push_str("\r\n");
    }
    out
}

/// Beside the result file, as 3201 answers: `stmt_rslt` 0 when nothing differs, else 1,
/// and how many settlements differ in which way.
fn summary(setl_optins: &str, rows: &[Differing]) -> Value {
    let n = |code: &str| rows.iter().filter(|d| d.rslt == code).count();
    let (rslt, dscr) = if rows.is_empty() {
        ("0", "对账一致".to_string())
    } else {
        (
            "1",
            format!(
                "对账不一致：中心多 {} 笔；医药机构多 {} 笔；数据不一致 {} 笔（明细见结果文件）",
                n("1"),
                n("2"),
                n("3")
            ),
        )
    };
    json!({"setl_optins": setl_optins, "stmt_rslt": rslt, "stmt_rslt_dscr": dscr})
}

fn count(data: &Obj<'_>, key: &str) -> Result<i64, Failure> {
    let t = data.text(key)?;
    t.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        refuse(format!(
            "字段 input.{}.{key}={} 不是非负整数",
            data.path,
            shown(&t)
        ))
    })
}

/// 3202 医药机构费用结算对明细账.
pub(super) async fn detail(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let data = object(input, "data")?;
    let insutype = data.text("insutype")?;
    let clr_type = data.code("clr_type", CLR_TYPES, "清算类别")?;
    let from = data.date("stmt_begndate")?;
    let to = data.date("stmt_enddate")?;
    if from > to {
        return Err(refuse(format!(
            "对账开始日期 input.data.stmt_begndate={from} 晚于结束日期 {to}"
        )));
    }
    // The institution's totals: checked to be amounts, the comparison is per settlement.
    for key in ["medfee_sumamt", "fund_pay_sumamt", "cash_payamt"] {
        if data.opt_text(key)?.is_some() {
            data.fen(key)?;
        }
    }
    if data.opt_text("fixmedins_setl_cnt")?.is_some() {
        count(&data, "fixmedins_setl_cnt")?;
    }
    let no = data.text("file_qury_no")?;
    meta.target = format!("{from}..{to} {insutype}/{clr_type} {no}");
    let f = own_file(g, meta, "input.data.file_qury_no", &no).await?;
    let text = unzip_text(&no, &bytes_of(&f)?)?;
    let listed = parse_listed(&no, &text)?;
    let centre: Vec<SettlementRecord> = g
        .settlements_between(&meta.fixmedins_code, &clr_type, from, to)
        .await?
        .into_iter()
        .filter(|s| s.insutype == insutype)
        .collect();
    let rows = compare(listed, centre);
    let name = format!("{}_{from}_{to}_result.txt", meta.fixmedins_code);
    let zipped = zip_text(&name, &result_text(&rows))?;
    let zip_name = format!("{}_{}_{}_result.zip", meta.fixmedins_code, from, to);
    let result = new_file(meta, "FR", &zip_name, "result", &zipped);
    g.insert_file(&result);
    let setl_optins = data.opt_text("setl_optins")?.unwrap_or_default();
    Ok(json!({ "fileinfo": file_info(&result), "stmtinfo": summary(&setl_optins, &rows) }))
}

/// Totals of settlements, as 3203 declares them.
#[derive(Default)]
struct MonthTotals {
    count: i64,
    medfee: i64,
    fund: i64,
    acct: i64,
    cash: i64,
}

/// 3203 清算申请.
pub(super) async fn apply(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let data = object(input, "data")?;
    let clr_type = data.code("clr_type", CLR_TYPES, "清算类别")?;
    let clr_way = data.text("clr_way")?;
    let setlym = data.text("setlym")?;
    let first = (setlym.len() == 6 && setlym.bytes().all(|b| b.is_ascii_digit()))
        .then(|| yibao_core::Date::parse_compact(&format!("{setlym}01")))
        .flatten()
        .ok_or_else(|| {
            refuse(format!(
                "结算年月 input.data.setlym={} 无效：应为 yyyyMM",
                shown(&setlym)
            ))
        })?;
    let (y, m) = (u32::from(first.year()), first.month());
    let next = if m == 12 {
        yibao_core::Date::from_ymd(y + 1, 1, 1)
    } else {
        yibao_core::Date::from_ymd(y, m + 1, 1)
    };
    let last = next
        .and_then(|d| d.add_days(-1))
        .ok_or_else(|| refuse(format!("结算年月 input.data.setlym={setlym} 无效")))?;
    let begndate = data.date("begndate")?;
    let enddate = data.date("enddate")?;
    if begndate > enddate || begndate < first || enddate > last {
        return Err(refuse(format!(
            "清算起止日期 input.data.begndate={begndate}、enddate={enddate} 应在结算年月 {setlym} 之内且开始不晚于结束"
        )));
    }
    let declared = MonthTotals {
        count: count(&data, "psntime")?,
        medfee: data.fen("medfee_sumamt")?,
        fund: data.fen("fund_appy_sum")?,
        acct: data.fen("acct_pay")?,
        cash: data.fen("cash_payamt")?,
    };
    let med_sumfee = data.fen("med_sumfee")?;
    meta.target = format!("{setlym} {clr_type}");
    g.lock_clearing(&format!("{}/{setlym}/{clr_type}", meta.fixmedins_code))
        .await?;
    if let Some(open) = g
        .clearing_applications(&meta.fixmedins_code, &setlym, &clr_type)
        .await?
        .into_iter()
        .find(|a| !a.cancelled)
    {
        return Err(refuse(format!(
            "本机构 {setlym} 清算类别 {clr_type} 已有清算申请 {}，请先撤销（3204）再重新申请",
            open.clr_appy_evt_id
        )));
    }
    let mut ours = MonthTotals::default();
    for s in g
        .settlements_between(&meta.fixmedins_code, &clr_type, first, last)
        .await?
        .iter()
        .filter(|s| !s.reversed)
    {
        ours.count += 1;
        ours.medfee += s.medfee_sumamt;
        ours.fund += s.fund_pay_sumamt;
        ours.acct += s.acct_pay;
        ours.cash += s.medfee_sumamt - s.fund_pay_sumamt - s.hosp_part_amt - s.acct_pay;
    }
    let mut diffs = Vec::new();
    if declared.count != ours.count {
        diffs.push(format!(
            "人次 psntime 机构 {} / 中心 {}",
            declared.count, ours.count
        ));
    }
    for (name, field, theirs, centre) in [
        ("医疗费总额", "medfee_sumamt", declared.medfee, ours.medfee),
        ("基金申报金额", "fund_appy_sum", declared.fund, ours.fund),
        ("个人账户支付", "acct_pay", declared.acct, ours.acct),
        ("现金支付", "cash_payamt", declared.cash, ours.cash),
    ] {
        if theirs != centre {
            diffs.push(format!(
                "{name} {field} 机构 {} / 中心 {}",
                format_fen(theirs),
                format_fen(centre)
            ));
        }
    }
    if !diffs.is_empty() {
        return Err(refuse(format!(
            "清算申请与中心结算不符（{setlym}，清算类别 {clr_type}，未撤销的结算）：{}",
            diffs.join("；")
        )));
    }
    let id = format!("CA{}", meta.msgid);
    g.insert_clearing_application(&ClearingApplication {
        clr_appy_evt_id: id.clone(),
        fixmedins_code: meta.fixmedins_code.clone(),
        clr_type,
        clr_way,
        setlym,
        psntime: declared.count,
        medfee_sumamt: declared.medfee,
        med_sumfee,
        fund_appy_sum: declared.fund,
        cash_payamt: declared.cash,
        acct_pay: declared.acct,
        begndate,
        enddate,
        msgid: meta.msgid.clone(),
        cancelled: false,
    });
    Ok(json!({"result": {"clr_appy_evt_id": id}}))
}

/// 3204 清算撤销.
pub(super) async fn cancel(
    g: &mut GatewayTx,
    meta: &mut MessageMeta,
    input: &Map<String, Value>,
) -> TxResult {
    let data = object(input, "data")?;
    let id = data.text("clr_appy_evt_id")?;
    meta.target = id.clone();
    g.lock_clearing(&id).await?;
    let a = g
        .clearing_application(&id)
        .await?
        .filter(|a| a.fixmedins_code == meta.fixmedins_code)
        .ok_or_else(|| {
            refuse(format!(
                "清算申请 input.data.clr_appy_evt_id={} 不存在或不属于本机构 {}",
                shown(&id),
                meta.fixmedins_code
            ))
        })?;
    if a.cancelled {
        return Err(refuse(format!(
            "清算申请 input.data.clr_appy_evt_id={id} 已撤销，不能再次撤销"
        )));
    }
    g.insert_clearing_cancellation(&id, &meta.msgid);
    Ok(json!({"result": {"clr_appy_evt_id": id}}))
}

#[cfg(test)]
mod tests {
    use super::super::files::tests::done;
    use super::*;

    fn settled(setl_id: &str, medfee: i64, reversed: bool) -> SettlementRecord {
        SettlementRecord {
            setl_id: setl_id.into(),
            mdtrt_id: format!("MD{setl_id}"),
            psn_no: "P1".into(),
            fixmedins_code: "H1".into(),
            insutype: "390".into(),
            clr_type: "11".into(),
            year: 2024,
            setl_date: yibao_core::Date::from_ymd(2024, 3, 1).unwrap(),
            medfee_sumamt: medfee,
            fund_pay_sumamt: medfee / 2,
            acct_pay: 0,
            hosp_part_amt: 0,
            med_type: "11".into(),
            delta: Default::default(),
            output: "{}".into(),
            msgid: format!("M{setl_id}"),
            reversed,
        }
    }

    fn listed(setl_id: &str, medfee: &str, fund: &str, flag: &str) -> String {
        format!("{setl_id}\tMD{setl_id}\tP1\t{medfee}\t{fund}\t0.00\t{flag}")
    }

    #[test]
    fn only_differing_settlements_are_reported() {
        let text = [
            listed("S1", "10.00", "5.00", "0"),
            // A reversal listed with negative amounts is the same reversal.
            listed("S2", "-20.00", "-10.00", "1"),
            listed("S3", "30.00", "15.00", "1"),
            listed("S9", "1.00", "0.50", "0"),
        ]
        .join("\r\n");
        let rows = compare(
            done(parse_listed("F", &text)),
            vec![
                settled("S1", 1000, false),
                settled("S2", 2000, true),
                settled("S3", 3000, false),
                settled("S4", 4000, false),
            ],
        );
        let got: Vec<(&str, &str)> = rows.iter().map(|d| (d.setl_id.as_str(), d.rslt)).collect();
        assert_eq!(got, [("S3", "3"), ("S4", "1"), ("S9", "2")]);
        assert!(
            rows[0]
                .memo
                .contains("退费结算标志 refd_setl_flag 机构 1 / 中心 0"),
            "{}",
            rows[0].memo
        );
        let text = result_text(&rows);
        assert_eq!(text.matches("\r\n").count(), 4);
        assert!(text.starts_with("psn_no\tmdtrt_id\tsetl_id\tmsgid\tstmt_rslt\t"));
    }

    #[test]
    fn bad_lines_are_named() {
        let e = |text: &str| match parse_listed("F", text) {
            Err(Failure::Refused(r)) => r.0,
            _ => panic!("not refused"),
        };
        let dup = [listed("S1", "1", "1", "0"), listed("S1", "1", "1", "0")].join("\n");
        assert!(e(&dup).contains("第 2 行第 1 列 setl_id=\"S1\" 与第 1 行重复"));
        assert!(e("\tMD\tP\t1\t1\t0\t0").contains("第 1 行第 1 列 setl_id="));
        assert!(e(&listed("S1", "1", "abc", "0")).contains("第 1 行第 5 列 fund_pay_sumamt="));
        // Trailing blank lines and a line of column names are no settlements.
        let ok = format!(
            "{}\r\n{}\r\n\r\n",
            FILE_COLUMNS.join("\t"),
            listed("S1", "1", "1", "0")
        );
        assert_eq!(done(parse_listed("F", &ok)).len(), 1);
    }
}
