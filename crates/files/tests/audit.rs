//! 智能审核 screening through the claims-file path: per family a claim that must be flagged
//! and a near miss that must not; reversals; the rules file's validation; determinism.

use yibao_core::audit::{AuditRules, Family};
use yibao_core::refdata::{CatalogItem, CatalogRow, Institution};
use yibao_core::RefData;
use yibao_files::audit::{read_claims, screen_claims, write_findings};
use yibao_files::refdir::person_from_json;

const REFERENCE_RULES: &str = include_str!("../../../rules/sample-county-2024-audit.toml");

fn item(code: &str, kind: &str, class: &str, extra: [&str; 5]) -> CatalogItem {
    CatalogItem::from_row(&CatalogRow {
        code,
        name: code,
        kind,
        class,
        selfpay_prop: if class == "B" { "0.1" } else { "" },
        sex_limit: extra[0],
        age_min: extra[1],
        age_max: extra[2],
        max_qty_per_day: extra[3],
        indication: extra[4],
        ..CatalogRow::default()
    })
    .unwrap()
}

fn county() -> RefData {
    let mut r = RefData::default();
    for (code, level) in [("H1", "2"), ("H2", "2"), ("H3", "1")] {
        r.add_institution(Institution::new(code, code, level).unwrap())
            .unwrap();
    }
    let none = ["", "", "", "", ""];
    r.add_catalog_item(item("S1", "service", "A", none))
        .unwrap();
    r.add_catalog_item(item("D1", "drug", "A", ["", "", "", "2", ""]))
        .unwrap();
    r.add_catalog_item(item("F1", "drug", "A", ["2", "", "", "", ""]))
        .unwrap();
    r.add_catalog_item(item("C1", "drug", "A", ["", "", "14", "", ""]))
        .unwrap();
    r.add_catalog_item(item("I1", "drug", "B", ["", "", "", "", "I10;I11"]))
        .unwrap();
    r.add_catalog_item(item("X1", "service", "C", none))
        .unwrap();
    for (psn, gend, brdy) in [
        ("P1", "1", "1980-03-01"),
        ("P2", "2", "1990-05-01"),
        ("P3", "1", "2015-06-01"),
    ] {
        let first17 = format!("990101{}001", brdy.replace('-', ""));
        let check = yibao_gen::certno_check_char(first17.as_bytes()).unwrap() as char;
        let json = format!(
            r#"{{"psn_no":"{psn}","certno":"{first17}{check}","name":"{psn}","gend":"{gend}","brdy":"{brdy}","enrolments":[2024]}}"#
        );
        r.add_person(person_from_json(&json).unwrap()).unwrap();
    }
    r
}

/// A settlement record: `lines` as (code, price, qty, date or "").
fn claim(
    id: &str,
    psn: &str,
    inst: &str,
    med_type: &str,
    dates: (&str, &str),
    diag: &str,
    lines: &[(&str, &str, &str, &str)],
) -> String {
    let lines: Vec<String> = lines
        .iter()
        .map(|(code, price, qty, date)| {
            let p: f64 = price.parse().unwrap();
            let q: f64 = qty.parse().unwrap();
            let date = if date.is_empty() {
                String::new()
            } else {
                format!(r#","date":"{date}""#)
            };
            format!(
                r#"{{"code":"{code}","price":"{price}","qty":"{qty}","amount":"{:.2}"{date}}}"#,
                p * q
            )
        })
        .collect();
    format!(
        r#"{{"claim_id":"{id}","psn_no":"{psn}","fixmedins_code":"{inst}","med_type":"{med_type}","begndate":"{}","enddate":"{}","dise_codg":"{diag}","lines":[{}]}}"#,
        dates.0,
        dates.1,
        lines.join(",")
    )
}

fn out(id: &str, psn: &str, day: &str, diag: &str, lines: &[(&str, &str, &str, &str)]) -> String {
    claim(id, psn, "H3", "11", (day, day), diag, lines)
}

fn stay(id: &str, psn: &str, inst: &str, from: &str, to: &str, diag: &str, cost: &str) -> String {
    claim(
        id,
        psn,
        inst,
        "21",
        (from, to),
        diag,
        &[("S1", cost, "1", "")],
    )
}

fn rules() -> AuditRules {
    AuditRules::from_toml("reference", REFERENCE_RULES).unwrap()
}

/// (claim id, family, amount) of every finding, in output order.
fn screen_with(
    rules: &AuditRules,
    records: &[String],
    jobs: usize,
) -> Vec<(String, String, String)> {
    let r = county();
    let input = records.join("\n");
    let (claims, _) = read_claims(&r, input.as_bytes(), jobs).unwrap();
    let findings = screen_claims(rules, &r, &claims, jobs).unwrap();
    let mut buf = Vec::new();
    write_findings(rules, &claims, &findings, &mut buf).unwrap();
    String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            assert!(!s("message").is_empty());
            (s("claim_id"), s("family"), s("amount"))
        })
        .collect()
}

fn screen(records: &[String]) -> Vec<(String, String, String)> {
    screen_with(&rules(), records, 1)
}

fn flagged(records: &[String], family: Family) -> Vec<String> {
    screen(records)
        .into_iter()
        .filter(|f| f.1 == family.code())
        .map(|f| f.0)
        .collect()
}

#[test]
fn duplicate_charge_same_item_same_day() {
    let hit = out(
        "A",
        "P1",
        "2024-03-01",
        "J06.9",
        &[("S1", "10", "1", ""), ("S1", "10", "2", "")],
    );
    let miss = out(
        "B",
        "P1",
        "2024-03-02",
        "J06.9",
        &[
            ("S1", "10", "1", "2024-03-02"),
            ("S1", "10", "1", "2024-03-03"),
        ],
    );
    let f = screen(&[hit, miss]);
    assert_eq!(f, [("A".into(), "DUPLICATE_CHARGE".into(), "20.00".into())]);
}

#[test]
fn over_quantity_above_the_daily_limit() {
    let hit = out("A", "P1", "2024-03-01", "J06.9", &[("D1", "5", "3", "")]);
    let miss = out("B", "P1", "2024-03-02", "J06.9", &[("D1", "5", "2", "")]);
    // A stay of 5 days may have 10 undated; 11 is one too many.
    let stay_ok = claim(
        "C",
        "P2",
        "H1",
        "21",
        ("2024-04-01", "2024-04-06"),
        "J18.9",
        &[("D1", "5", "10", "")],
    );
    let stay_over = claim(
        "D",
        "P3",
        "H1",
        "21",
        ("2024-04-01", "2024-04-06"),
        "J18.9",
        &[("D1", "5", "11", "")],
    );
    let f = screen(&[hit, miss, stay_ok, stay_over]);
    let over: Vec<_> = f.iter().filter(|x| x.1 == "OVER_QUANTITY").collect();
    assert_eq!(over.len(), 2, "{f:?}");
    assert_eq!((over[0].0.as_str(), over[0].2.as_str()), ("A", "5.00"));
    assert_eq!((over[1].0.as_str(), over[1].2.as_str()), ("D", "5.00"));
}

#[test]
fn sex_conflict_female_only_item_for_a_man() {
    let hit = out("A", "P1", "2024-03-01", "N76.0", &[("F1", "8", "1", "")]);
    let miss = out("B", "P2", "2024-03-01", "N76.0", &[("F1", "8", "1", "")]);
    assert_eq!(flagged(&[hit, miss], Family::SexConflict), ["A"]);
}

#[test]
fn age_conflict_children_only_item_for_an_adult() {
    let hit = out("A", "P1", "2024-03-01", "J06.9", &[("C1", "8", "1", "")]);
    let miss = out("B", "P3", "2024-03-01", "J06.9", &[("C1", "8", "1", "")]);
    assert_eq!(flagged(&[hit, miss], Family::AgeConflict), ["A"]);
}

#[test]
fn out_of_indication_diagnosis_outside_the_limit() {
    let hit = out("A", "P1", "2024-03-01", "J18.9", &[("I1", "8", "1", "")]);
    let miss = out("B", "P1", "2024-03-02", "I10", &[("I1", "8", "1", "")]);
    assert_eq!(flagged(&[hit, miss], Family::OutOfIndication), ["A"]);
}

#[test]
fn split_admission_within_the_window_for_the_same_group() {
    let first = stay("A", "P1", "H1", "2024-01-01", "2024-01-05", "J18.9", "1000");
    let again = stay("B", "P1", "H2", "2024-01-15", "2024-01-20", "J18.1", "1000");
    // 16 days after discharge, and another diagnosis group: not suspect.
    let late = stay("C", "P2", "H1", "2024-01-01", "2024-01-05", "J18.9", "1000");
    let late2 = stay("D", "P2", "H1", "2024-01-21", "2024-01-25", "J18.9", "1000");
    let other = stay("E", "P3", "H1", "2024-01-01", "2024-01-05", "J18.9", "1000");
    let other2 = stay("F", "P3", "H1", "2024-01-08", "2024-01-12", "K29.7", "1000");
    let f = flagged(
        &[first, again, late, late2, other, other2],
        Family::SplitAdmission,
    );
    assert_eq!(f, ["B"]);
}

#[test]
fn overlapping_stay_outpatient_visit_inside_a_stay_elsewhere() {
    let s = stay("A", "P1", "H1", "2024-02-01", "2024-02-10", "J18.9", "1000");
    let inside = claim(
        "B",
        "P1",
        "H2",
        "11",
        ("2024-02-05", "2024-02-05"),
        "J06.9",
        &[("S1", "10", "1", "")],
    );
    // On the discharge day, or at the same hospital: not an overlap.
    let discharge = claim(
        "C",
        "P1",
        "H2",
        "11",
        ("2024-02-10", "2024-02-10"),
        "J06.9",
        &[("S1", "10", "1", "")],
    );
    let same = claim(
        "D",
        "P1",
        "H1",
        "11",
        ("2024-02-06", "2024-02-06"),
        "J06.9",
        &[("S1", "10", "1", "")],
    );
    // A second stay elsewhere admitted during the first.
    let second = stay("E", "P1", "H2", "2024-02-08", "2024-02-12", "K29.7", "1000");
    let f = flagged(
        &[s, inside, discharge, same, second],
        Family::OverlappingStay,
    );
    assert_eq!(f, ["B", "E"]);
}

#[test]
fn high_cost_outlier_against_the_peer_median() {
    let text = REFERENCE_RULES.replace("min_peer_stays = 10", "min_peer_stays = 5");
    let rules = AuditRules::from_toml("test", &text).unwrap();
    let mut records: Vec<String> = (0..5)
        .map(|k| {
            let from = format!("2024-0{}-01", k + 1);
            let to = format!("2024-0{}-05", k + 1);
            stay(&format!("N{k}"), "P1", "H1", &from, &to, "J18.9", "1000")
        })
        .collect();
    records.push(stay(
        "HIGH",
        "P2",
        "H1",
        "2024-07-01",
        "2024-07-05",
        "J18.9",
        "5000.01",
    ));
    records.push(stay(
        "NEAR",
        "P3",
        "H1",
        "2024-07-01",
        "2024-07-05",
        "J18.9",
        "5000",
    ));
    let f: Vec<_> = screen_with(&rules, &records, 1)
        .into_iter()
        .filter(|f| f.1 == "HIGH_COST_OUTLIER")
        .collect();
    assert_eq!(
        f,
        [("HIGH".into(), "HIGH_COST_OUTLIER".into(), "4000.01".into())]
    );
}

#[test]
fn a_reversal_removes_its_target_and_bad_records_are_skipped() {
    let dup = out(
        "A",
        "P1",
        "2024-03-01",
        "J06.9",
        &[("S1", "10", "1", ""), ("S1", "10", "1", "")],
    );
    let rev = r#"{"type":"reversal","claim_id":"R1","target":"A"}"#.to_string();
    let unknown = out(
        "B",
        "NOBODY",
        "2024-03-01",
        "J06.9",
        &[("S1", "10", "1", "")],
    );
    assert!(screen(&[dup.clone(), rev.clone(), unknown, "not json".into()]).is_empty());
    // Settled again after the reversal: screened again.
    assert_eq!(screen(&[dup.clone(), rev, dup]).len(), 1);
}

#[test]
fn rules_file_problems_are_named_with_key_and_line() {
    let unknown = REFERENCE_RULES.replace("window_days = 15", "window_days = 15\nwindow = 3");
    let e = AuditRules::from_toml("bad.toml", &unknown)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml") && e.contains("window"), "{e}");
    assert!(e.contains("第 "), "{e}");
    let values = REFERENCE_RULES
        .replace(
            "severity = \"可疑\"\nwindow_days = 15",
            "severity = \"严重\"\nwindow_days = 0",
        )
        .replace("multiple_of_median = \"5\"", "multiple_of_median = \"0.5\"");
    let e = AuditRules::from_toml("bad.toml", &values).unwrap_err();
    let keys: Vec<&str> = e.issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "split_admission.window_days",
            "split_admission.severity",
            "high_cost_outlier.multiple_of_median"
        ],
        "{e}"
    );
    assert!(e.to_string().contains("\"严重\""), "{e}");
    assert!(e.issues.iter().all(|i| i.line.is_some()), "{e}");
}

fn generated(tag: &str, audit_ppm: u32) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("yibao-audit-{}-{tag}", std::process::id()));
    let cfg = yibao_gen::GenConfig {
        persons: 6_000,
        audit_ppm,
        ..Default::default()
    };
    yibao_gen::generate(&cfg, &dir).unwrap();
    dir
}

fn screen_dir(dir: &std::path::Path, jobs: usize) -> Vec<u8> {
    let r = yibao_files::load_dir(dir).unwrap();
    let input = std::fs::read(dir.join("claims.jsonl")).unwrap();
    let (claims, stats) = read_claims(&r, input.as_slice(), jobs).unwrap();
    assert_eq!(stats.unreadable, 0);
    let findings = screen_claims(&rules(), &r, &claims, jobs).unwrap();
    let mut buf = Vec::new();
    write_findings(&rules(), &claims, &findings, &mut buf).unwrap();
    buf
}

#[test]
fn screening_is_deterministic_across_jobs() {
    let dir = generated("jobs", 0);
    let one = screen_dir(&dir, 1);
    assert!(!one.is_empty());
    assert_eq!(one, screen_dir(&dir, 2));
    assert_eq!(one, screen_dir(&dir, 4));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn generated_ground_truth_is_found() {
    let dir = generated("eval", 40_000);
    let flags = yibao_files::audit::read_flags(screen_dir(&dir, 2).as_slice()).unwrap();
    let labels = std::fs::read(dir.join("audit-labels.csv")).unwrap();
    let labels = yibao_files::audit::read_labels(labels.as_slice()).unwrap();
    let scores = yibao_core::audit::eval::score(&flags, &labels);
    for family in Family::ALL {
        if rules().rule(family).is_none() {
            continue;
        }
        let s = scores.iter().find(|s| s.family == family.code());
        let s = s.unwrap_or_else(|| panic!("{} 没有标注", family.code()));
        assert!(s.labelled > 0, "{s:?}");
        assert!(s.recall_ppm().unwrap() >= 950_000, "{s:?}");
        assert!(s.precision_ppm().unwrap() >= 900_000, "{s:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn prescription_limit_on_ordinary_outpatient_drugs() {
    let text = format!(
        "{REFERENCE_RULES}\n[prescription_limit]\nid = \"AUD-CF-02\"\nseverity = \"可疑\"\nmax_drug_amount = \"80\"\nmed_types = [\"11\"]\n"
    );
    let rules = AuditRules::from_toml("test", &text).unwrap();
    let hit = out(
        "A",
        "P1",
        "2024-03-01",
        "J06.9",
        &[("D1", "40.01", "2", ""), ("S1", "50", "1", "")],
    );
    let miss = out(
        "B",
        "P1",
        "2024-03-02",
        "J06.9",
        &[("D1", "40", "2", ""), ("S1", "50", "1", "")],
    );
    let chronic = claim(
        "C",
        "P1",
        "H3",
        "14",
        ("2024-03-03", "2024-03-03"),
        "I10",
        &[("D1", "90", "2", "")],
    );
    let f: Vec<_> = screen_with(&rules, &[hit, miss, chronic], 1)
        .into_iter()
        .filter(|f| f.1 == "PRESCRIPTION_LIMIT")
        .collect();
    assert_eq!(
        f,
        [("A".into(), "PRESCRIPTION_LIMIT".into(), "0.02".into())]
    );
}

#[test]
fn minor_admission_for_an_outpatient_diagnosis() {
    let hit = stay("A", "P1", "H1", "2024-02-01", "2024-02-04", "J06.9", "900");
    let miss = stay("B", "P2", "H1", "2024-02-01", "2024-02-04", "J18.9", "900");
    let outpatient = out("C", "P3", "2024-02-01", "J06.9", &[("S1", "10", "1", "")]);
    let f = flagged(&[hit, miss, outpatient], Family::MinorAdmission);
    assert_eq!(f, ["A"]);
}

#[test]
fn institution_indicators() {
    let records = [
        stay("A", "P1", "H1", "2024-01-01", "2024-01-05", "J18.9", "1000"),
        stay("B", "P1", "H1", "2024-01-10", "2024-01-12", "K29.7", "500"),
        claim(
            "C",
            "P2",
            "H1",
            "11",
            ("2024-02-01", "2024-02-01"),
            "I10",
            &[("D1", "5", "2", "")],
        ),
        claim(
            "D",
            "P3",
            "H1",
            "11",
            ("2024-02-01", "2024-02-01"),
            "J06.9",
            &[("X1", "20", "1", "")],
        ),
        stay("E", "P2", "H2", "2024-03-01", "2024-03-05", "J18.9", "800"),
    ]
    .join("\n");
    let r = county();
    let (claims, _) = read_claims(&r, records.as_bytes(), 1).unwrap();
    let list = yibao_core::audit::indicators::indicators(&rules(), &r, &claims);
    let json = yibao_files::audit::indicators_json(&r, &list);
    let rows = json["institutions"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    let h1 = &rows[0];
    assert_eq!(h1["fixmedins_code"], "H1");
    assert_eq!(
        (h1["admissions"].as_u64(), h1["outpatient_visits"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(h1["medfee_sumamt"], "1530.00");
    assert_eq!(h1["cost_per_admission"], "750.00");
    assert_eq!(h1["drug_share"], "0.0065");
    assert_eq!(h1["selfpay_share"], "0.0130");
    assert_eq!(h1["admissions_per_100_outpatient"], "100.0000");
    assert_eq!(
        (h1["readmissions"].as_u64(), &h1["readmission_rate"]),
        (Some(1), &serde_json::json!("0.5000"))
    );
    let h2 = &rows[1];
    assert_eq!(h2["cost_per_admission"], "800.00");
    assert!(h2["admissions_per_100_outpatient"].is_null(), "{json}");
    assert_eq!(h2["readmission_rate"], "0.0000");
}
