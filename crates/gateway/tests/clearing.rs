//! Clearing with the institutions over the national interface, on every backend: 9101/9102
//! files, 3202 对明细账 (a missing, an extra and a differing settlement, each with its
//! `stmt_rslt`), 3203/3204 清算申请/撤销.

mod common;

use base64::Engine;
use common::{
    err, ok, on_every_backend, outpatient_settle_input, outpatient_with_one_line, Harness,
};
use serde_json::{json, Value};
use std::io::{Read, Write};
use yibao_core::money::{format_fen, parse_yuan};

const INST: &str = "H99010110000";
const OTHER: &str = "H99010110001";
const PSN: &str = "P01000001";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One settlement as 2207 answered it.
#[derive(Clone, Debug)]
struct Settled {
    setl_id: String,
    mdtrt_id: String,
    psn_no: String,
    medfee: i64,
    fund: i64,
    acct: i64,
    cash: i64,
    setl_time: String,
}

fn fen(info: &Value, key: &str) -> i64 {
    parse_yuan(info[key].as_str().unwrap_or("0")).unwrap()
}

/// An outpatient visit of `PSN` at `inst` with one line, settled (2207).
async fn settle(h: &Harness, inst: &str, pric: &str, cnt: &str) -> Settled {
    let mdtrt_id = outpatient_with_one_line(h, inst, PSN, pric, cnt).await;
    let medfee = format_fen(yibao_core::claim::line_amount(
        yibao_core::refdata::parse_price_scaled(pric).unwrap(),
        yibao_core::refdata::parse_price_scaled(cnt).unwrap(),
    ));
    let v = h
        .call(
            inst,
            "2207",
            outpatient_settle_input(PSN, &mdtrt_id, &medfee),
        )
        .await;
    assert!(ok(&v), "{}: 2207 {v}", h.backend);
    let info = &v["output"]["setlinfo"];
    Settled {
        setl_id: info["setl_id"].as_str().unwrap().into(),
        mdtrt_id,
        psn_no: PSN.into(),
        medfee: fen(info, "medfee_sumamt"),
        fund: fen(info, "fund_pay_sumamt"),
        acct: fen(info, "acct_pay"),
        cash: fen(info, "psn_cash_pay"),
        setl_time: info["setl_time"].as_str().unwrap_or_default().into(),
    }
}

/// The institution's line for `s` (tab-separated), with `medfee` and `flag`.
fn line(s: &Settled, medfee: i64, flag: &str) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{flag}",
        s.setl_id,
        s.mdtrt_id,
        s.psn_no,
        format_fen(medfee),
        format_fen(s.fund),
        format_fen(s.acct)
    )
}

fn zipped(name: &str, text: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, options).unwrap();
    w.write_all(text).unwrap();
    w.finish().unwrap().into_inner()
}

fn unzipped(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(zip.len(), 1);
    let mut text = String::new();
    zip.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    text
}

fn upload_input(inst: &str, bytes: Value, filename: &str) -> Value {
    json!({"fsUploadIn": {"in": bytes, "filename": filename, "fixmedins_code": inst}})
}

/// Uploads `bytes` (as a Java client would: an array of integers) as `inst`: the file_qury_no.
async fn upload(h: &Harness, inst: &str, bytes: &[u8]) -> String {
    let v = h
        .call(inst, "9101", upload_input(inst, json!(bytes), "stmt.zip"))
        .await;
    assert!(ok(&v), "{}: 9101 {v}", h.backend);
    assert_eq!(v["output"]["result"]["filename"], "stmt.zip");
    assert!(v["output"]["result"]["dld_endtime"].as_str().unwrap().len() == 19);
    v["output"]["result"]["file_qury_no"]
        .as_str()
        .unwrap()
        .to_string()
}

/// 9102 as `inst`: the response envelope.
async fn download(h: &Harness, inst: &str, no: &str) -> Value {
    h.call(
        inst,
        "9102",
        json!({"fsDownloadIn": {"file_qury_no": no, "filename": "", "fixmedins_code": inst}}),
    )
    .await
}

fn detail_input(no: &str) -> Value {
    json!({"data": {"insutype": "390", "clr_type": "11", "setl_optins": "990101",
        "stmt_begndate": "2020-01-01", "stmt_enddate": "2099-12-31", "medfee_sumamt": "0",
        "fund_pay_sumamt": "0", "cash_payamt": "0", "fixmedins_setl_cnt": "3",
        "file_qury_no": no, "refd_setl_flag": "0"}})
}

/// 3202 as `h`'s `msgid`: the response envelope.
async fn detail(h: &Harness, msgid: &str, no: &str) -> Value {
    h.call_with(INST, "3202", msgid, detail_input(no)).await
}

#[test]
fn detail_reports_missing_extra_and_differing_settlements() {
    on_every_backend("gw_clearing_detail", |h| async move {
        let a = settle(&h, INST, "12.30", "2").await;
        let b = settle(&h, INST, "35.00", "1").await;
        let c = settle(&h, INST, "80.00", "1").await;
        let d = settle(&h, INST, "20.00", "1").await;
        let v = h
            .call(
                INST,
                "2208",
                json!({"data": {"setl_id": d.setl_id, "mdtrt_id": d.mdtrt_id, "psn_no": PSN}}),
            )
            .await;
        assert!(ok(&v), "{}: 2208 {v}", h.backend);
        // A agrees, B is missing, C's amount differs, D is listed reversed (agrees), E is extra.
        let mut e = a.clone();
        e.setl_id = "ST_NOT_AT_THE_CENTRE".into();
        let text = [
            "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag"
                .to_string(),
            line(&a, a.medfee, "0"),
            line(&c, c.medfee + 1, "0"),
            line(&d, d.medfee, "1"),
            line(&e, e.medfee, "0"),
        ]
        .join("\r\n")
            + "\r\n";
        let no = upload(&h, INST, &zipped("stmt.txt", text.as_bytes())).await;
        let v = detail(&h, &h.msgid(INST), &no).await;
        assert!(ok(&v), "{}: 3202 {v}", h.backend);
        assert_eq!(
            v["output"]["stmtinfo"]["stmt_rslt_dscr"],
            "对账不一致：中心多 1 笔；医药机构多 1 笔；数据不一致 1 笔（明细见结果文件）"
        );
        let info = &v["output"]["fileinfo"];
        let result_no = info["file_qury_no"].as_str().unwrap();
        assert!(info["filename"].as_str().unwrap().ends_with(".zip"), "{v}");
        let v = download(&h, INST, result_no).await;
        assert!(ok(&v), "{}: 9102 {v}", h.backend);
        let text = unzipped(&B64.decode(v["output"].as_str().unwrap()).unwrap());
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines[0],
            "psn_no\tmdtrt_id\tsetl_id\tmsgid\tstmt_rslt\trefd_setl_flag\tmemo\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay"
        );
        let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 3, "{}: {text}", h.backend);
        assert!(rows.iter().all(|r| r.len() == 10), "{text}");
        let by_setl = |id: &str| {
            rows.iter()
                .find(|r| r[2] == id)
                .unwrap_or_else(|| panic!("{id}: {text}"))
        };
        let rb = by_setl(&b.setl_id);
        assert_eq!(
            (rb[4], rb[5], rb[7]),
            ("1", "0", format_fen(b.medfee).as_str()),
            "{text}"
        );
        assert!(
            rb[3].starts_with(INST) && rb[0] == PSN && rb[1] == b.mdtrt_id,
            "{text}"
        );
        let rc = by_setl(&c.setl_id);
        assert_eq!(rc[4], "3", "{text}");
        assert!(
            rc[6].contains("医疗费总额")
                && rc[6].contains(&format!(
                    "机构 {} / 中心 {}",
                    format_fen(c.medfee + 1),
                    format_fen(c.medfee)
                )),
            "{text}"
        );
        let re = by_setl("ST_NOT_AT_THE_CENTRE");
        assert_eq!((re[4], re[3]), ("2", ""), "{text}");
        assert!(
            rows.iter().all(|r| r[2] != a.setl_id && r[2] != d.setl_id),
            "{text}"
        );
        // The same msgid again gets the same answer (no second result file).
        let msgid = h.msgid(INST);
        let first = detail(&h, &msgid, &no).await;
        let again = detail(&h, &msgid, &no).await;
        assert!(ok(&first), "{first}");
        assert_eq!(first["output"], again["output"]);
        assert_eq!(
            first["output"]["fileinfo"]["file_qury_no"],
            format!("FR{msgid}").as_str()
        );
        h
    });
}

#[test]
fn files_round_trip_and_belong_to_their_institution() {
    on_every_backend("gw_clearing_files", |h| async move {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        // base64, as well as an array of integers.
        let v = h
            .call(
                INST,
                "9101",
                upload_input(INST, json!(B64.encode(&bytes)), "a.bin"),
            )
            .await;
        assert!(ok(&v), "{}: {v}", h.backend);
        let no = v["output"]["result"]["file_qury_no"]
            .as_str()
            .unwrap()
            .to_string();
        let v = download(&h, INST, &no).await;
        assert!(ok(&v), "{}: {v}", h.backend);
        assert_eq!(B64.decode(v["output"].as_str().unwrap()).unwrap(), bytes);
        let no2 = upload(&h, INST, &bytes).await;
        let v = download(&h, INST, &no2).await;
        assert_eq!(B64.decode(v["output"].as_str().unwrap()).unwrap(), bytes);
        // Another institution can neither download it nor reconcile with it.
        let v = download(&h, OTHER, &no).await;
        assert!(
            !ok(&v) && err(&v).contains("不属于本机构 H99010110001"),
            "{v}"
        );
        let v = h.call(OTHER, "3202", detail_input(&no)).await;
        assert!(
            !ok(&v) && err(&v).contains("input.data.file_qury_no"),
            "{v}"
        );
        // Nor upload in another's name, nor download under the wrong name.
        let v = h
            .call(OTHER, "9101", upload_input(INST, json!([1, 2]), "x"))
            .await;
        assert!(
            !ok(&v)
                && err(&v).contains(
                    "input.fsUploadIn.fixmedins_code=\"H99010110000\" 与本机构 H99010110001 不符"
                ),
            "{v}"
        );
        let v = h
            .call(
                INST,
                "9102",
                json!({"fsDownloadIn": {"file_qury_no": no, "filename": "b.bin", "fixmedins_code": INST}}),
            )
            .await;
        assert!(
            !ok(&v) && err(&v).contains("input.fsDownloadIn.filename"),
            "{v}"
        );
        h
    });
}

/// `input` to 9101 is refused with a message containing `needle`, and stores no file.
async fn refused_upload(h: &Harness, bytes: Value, needle: &str) {
    let msgid = h.msgid(INST);
    let v = h
        .call_with(INST, "9101", &msgid, upload_input(INST, bytes, "f.zip"))
        .await;
    assert!(!ok(&v) && err(&v).contains(needle), "{}: {v}", h.backend);
    let v = download(h, INST, &format!("FL{msgid}")).await;
    assert!(!ok(&v) && err(&v).contains("不存在"), "{v}");
}

/// 3202 of file `no` is refused with a message containing each of `needles`, and makes no
/// result file.
async fn refused_detail(h: &Harness, no: &str, needles: &[&str]) {
    let msgid = h.msgid(INST);
    let v = detail(h, &msgid, no).await;
    assert!(!ok(&v), "{}: {v}", h.backend);
    for n in needles {
        assert!(err(&v).contains(n), "{}: {n}: {v}", h.backend);
    }
    let v = download(h, INST, &format!("FR{msgid}")).await;
    assert!(!ok(&v) && err(&v).contains("不存在"), "{v}");
}

#[test]
fn bad_files_are_refused_naming_field_or_line() {
    on_every_backend("gw_clearing_bad", |h| async move {
        let s = settle(&h, INST, "12.30", "1").await;
        refused_upload(&h, json!({"a": 1}), "input.fsUploadIn.in 的类型错误").await;
        refused_upload(&h, json!([1, 256]), "input.fsUploadIn.in 的第 2 个元素 256").await;
        refused_upload(&h, json!([1, "a"]), "第 2 个元素").await;
        refused_upload(&h, json!("@@@不是base64"), "不是有效的 base64").await;
        refused_upload(&h, json!([]), "空文件").await;
        let big = B64.encode(vec![0u8; 8 * 1024 * 1024 + 1]);
        refused_upload(&h, json!(big), "超过上限 8388608 字节").await;
        // Not a zip.
        let no = upload(&h, INST, b"setl_id\tmdtrt_id").await;
        refused_detail(&h, &no, &["不是有效的 zip 文件"]).await;
        // A bad amount on line 2, a wrong number of columns on line 1.
        let text = format!(
            "{}\r\n{}\r\n",
            line(&s, s.medfee, "0"),
            line(&s, s.medfee, "0").replace(&format_fen(s.medfee), "12.3x")
        );
        let no = upload(&h, INST, &zipped("t.txt", text.as_bytes())).await;
        refused_detail(&h, &no, &["第 2 行第 4 列 medfee_sumamt=", "12.3x"]).await;
        let no = upload(&h, INST, &zipped("t.txt", b"ST1\tMD1\r\n")).await;
        refused_detail(&h, &no, &["第 1 行有 2 列"]).await;
        let text = format!("{}\r\n", line(&s, s.medfee, "2"));
        let no = upload(&h, INST, &zipped("t.txt", text.as_bytes())).await;
        refused_detail(&h, &no, &["第 1 行第 7 列 refd_setl_flag="]).await;
        // A zip bomb: 40 MB of zeros in a few kilobytes.
        let bomb = zipped("t.txt", &vec![b'0'; 40 * 1024 * 1024]);
        assert!(bomb.len() < 1024 * 1024);
        let no = upload(&h, INST, &bomb).await;
        refused_detail(&h, &no, &["解压后超过上限"]).await;
        // Not UTF-8.
        let no = upload(&h, INST, &zipped("t.txt", b"ST1\t\xff\xfe\r\n")).await;
        refused_detail(&h, &no, &["不是 UTF-8 文本：第 1 行"]).await;
        h
    });
}

fn application(setlym: &str, psntime: i64, medfee: i64, fund: i64, acct: i64, cash: i64) -> Value {
    let day = format!("{}-{}-01", &setlym[..4], &setlym[4..]);
    json!({"data": {"clr_type": "11", "clr_way": "1", "setlym": setlym, "psntime": psntime,
        "medfee_sumamt": format_fen(medfee), "med_sumfee": format_fen(medfee),
        "fund_appy_sum": format_fen(fund), "cash_payamt": format_fen(cash),
        "acct_pay": format_fen(acct), "begndate": day, "enddate": day}})
}

#[test]
fn clearing_application_checks_totals_and_cancels_once() {
    on_every_backend("gw_clearing_apply", |h| async move {
        let a = settle(&h, INST, "12.30", "2").await;
        let b = settle(&h, INST, "1999.99", "3").await;
        let setlym: String = a.setl_time[..7].replace('-', "");
        let sum = |f: fn(&Settled) -> i64| f(&a) + f(&b);
        let (medfee, fund, acct, cash) = (
            sum(|s| s.medfee),
            sum(|s| s.fund),
            sum(|s| s.acct),
            sum(|s| s.cash),
        );
        let agreeing = application(&setlym, 2, medfee, fund, acct, cash);
        let v = h
            .call(
                INST,
                "3203",
                application(&setlym, 3, medfee + 1, fund, acct, cash),
            )
            .await;
        assert!(!ok(&v), "{}: {v}", h.backend);
        let e = err(&v);
        assert!(
            e.contains("人次 psntime 机构 3 / 中心 2")
                && e.contains(&format!(
                    "医疗费总额 medfee_sumamt 机构 {} / 中心 {}",
                    format_fen(medfee + 1),
                    format_fen(medfee)
                )),
            "{e}"
        );
        let v = h.call(INST, "3203", agreeing.clone()).await;
        assert!(ok(&v), "{}: {v}", h.backend);
        let id = v["output"]["result"]["clr_appy_evt_id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = h.call(INST, "3203", agreeing.clone()).await;
        assert!(!ok(&v) && err(&v).contains(&id), "{v}");
        // Only its institution cancels it, once; then the month may be applied for again.
        let cancel = json!({"data": {"clr_appy_evt_id": id}});
        let v = h.call(OTHER, "3204", cancel.clone()).await;
        assert!(!ok(&v) && err(&v).contains("不属于本机构"), "{v}");
        let v = h
            .call(
                INST,
                "3204",
                json!({"data": {"clr_appy_evt_id": "CA_NONE"}}),
            )
            .await;
        assert!(!ok(&v) && err(&v).contains("不存在"), "{v}");
        let v = h.call(INST, "3204", cancel.clone()).await;
        assert!(ok(&v), "{}: {v}", h.backend);
        assert_eq!(v["output"]["result"]["clr_appy_evt_id"], id.as_str());
        let v = h.call(INST, "3204", cancel.clone()).await;
        assert!(!ok(&v) && err(&v).contains("已撤销"), "{v}");
        let v = h.call(INST, "3203", agreeing.clone()).await;
        assert!(ok(&v), "{}: {v}", h.backend);
        h
    });
}
