//! `yibao audit screen` and `yibao audit eval` as users call them (interface §5).

mod common;

use common::{root, yibao as ok, DATA, POLICY};
use std::path::PathBuf;
use std::process::{Command, Output};

fn yibao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("yibao-audit-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const FAMILIES: [&str; 10] = [
    "DUPLICATE_CHARGE",
    "OVER_QUANTITY",
    "SEX_CONFLICT",
    "AGE_CONFLICT",
    "OUT_OF_INDICATION",
    "PRESCRIPTION_LIMIT",
    "SPLIT_ADMISSION",
    "OVERLAPPING_STAY",
    "HIGH_COST_OUTLIER",
    "MINOR_ADMISSION",
];

#[test]
fn screen_the_reference_case_and_settlement_is_unchanged() {
    let claims = format!("{DATA}/claims.jsonl");
    let settle = [
        "settle", "--policy", POLICY, "--data", DATA, "--claims", &claims,
    ];
    let before = ok(&settle);
    let screen = ["audit", "screen", "--data", DATA, "--claims", &claims];
    let flags = ok(&screen);
    assert!(!flags.is_empty());
    let dir = tmp("ref");
    let out = dir.join("flags.jsonl");
    let o = out.to_str().unwrap();
    ok(&[&screen[..], &["--out", o, "--jobs", "1"]].concat());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), flags);

    let ids: Vec<String> = std::fs::read_to_string(root().join(&claims))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["claim_id"].as_str().map(str::to_string))
        .collect();
    for line in flags.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object().unwrap();
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            keys.len(),
            6,
            "{line}: claim_id, family, rule, severity, amount, message"
        );
        let s = |k: &str| obj[k].as_str().unwrap_or_else(|| panic!("{k}: {line}"));
        assert!(ids.iter().any(|i| i == s("claim_id")), "{line}");
        assert!(FAMILIES.contains(&s("family")), "{line}");
        assert!(s("rule").starts_with("AUD-"), "{line}");
        assert!(
            ["违规", "可疑", "待核实"].contains(&s("severity")),
            "{line}"
        );
        let amount = s("amount");
        let (yuan, fen) = amount.split_once('.').unwrap();
        assert!(yuan.parse::<u64>().is_ok() && fen.len() == 2, "{line}");
        assert!(s("message").chars().any(|c| c > '\u{4e00}'), "{line}");
    }
    // Screening is separate from settlement: what every claim settles for is unchanged.
    assert_eq!(ok(&settle), before);
}

#[test]
fn a_bad_rules_file_or_input_is_a_chinese_message() {
    let dir = tmp("bad");
    let rules = dir.join("rules.toml");
    let text = std::fs::read_to_string(root().join("rules/sample-county-2024-audit.toml"))
        .unwrap()
        .replace("window_days = 15", "window_days = 400");
    std::fs::write(&rules, text).unwrap();
    let claims = format!("{DATA}/claims.jsonl");
    let o = yibao(&[
        "audit",
        "screen",
        "--data",
        DATA,
        "--claims",
        &claims,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("split_admission.window_days") && err.contains("400"),
        "{err}"
    );
    let o = yibao(&[
        "audit",
        "screen",
        "--data",
        DATA,
        "--claims",
        "no-such.jsonl",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such.jsonl"));
}

#[test]
fn eval_on_a_generated_county_meets_the_thresholds() {
    let dir = tmp("eval");
    let d = dir.to_str().unwrap();
    let gen = ["gen", "--out", d, "--persons", "8000"];
    ok(&gen);
    assert!(!dir.join("audit-labels.csv").exists());
    ok(&[&gen[..], &["--audit-rate", "0.04"]].concat());
    let claims = dir.join("claims.jsonl");
    let labels = dir.join("audit-labels.csv");
    let eval = [
        "audit",
        "eval",
        "--data",
        d,
        "--claims",
        claims.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
    ];
    let json = ok(&[&eval[..], &["--json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let families = v["families"].as_array().unwrap();
    assert_eq!(families.len(), 9, "{json}");
    for f in families {
        let ratio = |k: &str| f[k].as_str().unwrap().parse::<f64>().unwrap();
        assert!(f["labelled"].as_u64().unwrap() > 0, "{f}");
        assert!(ratio("recall") >= 0.95, "{f}");
        assert!(ratio("precision") >= 0.90, "{f}");
    }
    let table = ok(&eval);
    assert!(table.starts_with("规则族\t名称"), "{table}");
}

#[test]
fn indicators_xlsx_has_the_json_figures_ranks_and_months() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let claims = format!("{DATA}/claims.jsonl");
    let args = ["audit", "indicators", "--data", DATA, "--claims", &claims];
    let json: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    let insts = json["institutions"].as_array().unwrap();
    assert!(!insts.is_empty());
    // xlsx without --out, and an unknown format, are refused in Chinese.
    let o = yibao(&[&args[..], &["--format", "xlsx"]].concat());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out"));
    let o = yibao(&[&args[..], &["--format", "csv"]].concat());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--format=csv"));

    let dir = tmp("indicators");
    let path = dir.join("indicators.xlsx");
    let out = path.to_str().unwrap();
    ok(&[&args[..], &["--format", "xlsx", "--out", out]].concat());
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names(), ["机构指标", "按月趋势"]);
    let sheet = wb.worksheet_range("机构指标").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    assert_eq!(rows[0][0], "机构编码");
    assert_eq!(rows[0][6], "次均住院费用（元）");
    assert_eq!(rows.len(), insts.len() + 1);
    for (row, inst) in rows[1..].iter().zip(insts) {
        assert_eq!(row[0], inst["fixmedins_code"].as_str().unwrap());
        assert_eq!(row[5], inst["medfee_sumamt"].as_str().unwrap());
        assert_eq!(row[6], inst["cost_per_admission"].as_str().unwrap_or(""));
        assert_eq!(row[7], inst["drug_share"].as_str().unwrap_or(""));
    }
    // The largest cost per admission is ranked 1.
    let cost = |r: &Vec<String>| r[6].parse::<f64>().ok();
    let top = rows[1..]
        .iter()
        .filter(|r| cost(r).is_some())
        .max_by(|a, b| cost(a).partial_cmp(&cost(b)).unwrap());
    if let Some(top) = top {
        assert_eq!(top[11], "1");
    }
    // The months' admissions add up to the year's.
    let trend = wb.worksheet_range("按月趋势").unwrap();
    assert_eq!(trend.get((0, 0)), Some(&Data::String("月份".into())));
    for inst in insts {
        let code = inst["fixmedins_code"].as_str().unwrap();
        let sum: u64 = trend
            .rows()
            .skip(1)
            .filter(|r| r[1] == Data::String(code.into()))
            .map(|r| match &r[4] {
                Data::String(s) => s.parse::<u64>().unwrap(),
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(sum, inst["admissions"].as_u64().unwrap(), "{code}");
    }
}
