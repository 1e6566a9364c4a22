//! End-to-end checks of the generated files, read back as an outside program would.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use yibao_gen::{certno_is_valid, generate, BadKind, GenConfig, GenSummary};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("yibao-gen-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Decimal string → hundredths (fen) or thousandths, exactly.
fn parse_scaled(s: &str, decimals: usize) -> i64 {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= decimals, "too many decimals in {s}");
    let mut v: i64 = int.parse().unwrap();
    for i in 0..decimals {
        v = v * 10 + frac.as_bytes().get(i).map_or(0, |c| i64::from(c - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// `price × qty` rounded half up (away from zero) to the fen.
fn expected_amount(price_fen: i64, qty_milli: i64) -> i64 {
    let p = price_fen * qty_milli;
    let m = (p.abs() + 500) / 1000;
    if p < 0 {
        -m
    } else {
        m
    }
}

struct Person {
    certno: String,
    gend: String,
    brdy: String,
    enrolled: bool,
    chronic: Vec<(String, String, String)>,
    poor: bool,
}

/// What a directory holds, with every check on the way.
#[derive(Default, Debug)]
struct Report {
    persons: usize,
    poor: usize,
    chronic_persons: usize,
    offsite: usize,
    catalog: usize,
    limited: usize,
    outpatient: usize,
    inpatient: usize,
    chronic_visits: usize,
    reversals: usize,
    records: usize,
    outpatient_max_lines: usize,
    inpatient_max_lines: usize,
    bad: HashMap<&'static str, usize>,
    lines_over_limit: usize,
    class_c_lines: usize,
}

fn read_dir(dir: &Path) -> Report {
    let mut r = Report::default();

    let inst_text = std::fs::read_to_string(dir.join("institutions.csv")).unwrap();
    let mut rows = inst_text.lines();
    assert_eq!(rows.next(), Some("code,name,level"));
    let mut institutions = HashSet::new();
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 3, "{row}");
        assert_eq!(f[0].len(), 12, "{row}");
        assert!(["1", "2", "3", "3P", "OUT"].contains(&f[2]), "{row}");
        assert!(!f[1].is_empty() && !f[1].is_ascii(), "Chinese name: {row}");
        assert!(
            institutions.insert(f[0].to_string()),
            "duplicate institution {row}"
        );
    }

    let cat_text = std::fs::read_to_string(dir.join("catalog.csv")).unwrap();
    let mut rows = cat_text.lines();
    assert_eq!(
        rows.next(),
        Some("code,name,kind,class,selfpay_prop,price_limit,sex_limit,age_min,age_max,max_qty_per_day,indication")
    );
    let mut catalog: HashMap<String, Option<i64>> = HashMap::new();
    let mut class_c = HashSet::new();
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 11, "{row}");
        assert!(["drug", "service", "material"].contains(&f[2]), "{row}");
        match f[3] {
            "B" if f[2] == "material" => assert_eq!(f[4], "0.20", "{row}"),
            "B" => assert!(["0.05", "0.10", "0.15"].contains(&f[4]), "{row}"),
            "A" | "C" => assert_eq!(f[4], "", "{row}"),
            other => panic!("class {other}"),
        }
        let limit = (!f[5].is_empty()).then(|| parse_scaled(f[5], 2));
        r.limited += usize::from(limit.is_some());
        if f[3] == "C" {
            class_c.insert(f[0].to_string());
        }
        assert!(f[6].is_empty() || f[6] == "1" || f[6] == "2", "{row}");
        assert!(
            catalog.insert(f[0].to_string(), limit).is_none(),
            "duplicate item {row}"
        );
    }
    r.catalog = catalog.len();

    let mut persons: HashMap<String, Person> = HashMap::new();
    let mut certnos = HashSet::new();
    for line in std::fs::read_to_string(dir.join("persons.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        let chronic: Vec<(String, String, String)> = v["chronic"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["dise_codg"].as_str().unwrap().into(),
                    c["from"].as_str().unwrap().into(),
                    c["to"].as_str().unwrap().into(),
                )
            })
            .collect();
        let p = Person {
            certno: s("certno"),
            gend: s("gend"),
            brdy: s("brdy"),
            enrolled: v["enrolments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|y| y.as_i64() == Some(2024)),
            poor: !v["categories"].as_array().unwrap().is_empty(),
            chronic,
        };
        for c in v["categories"].as_array().unwrap() {
            assert!(["pk", "db", "tk"].contains(&c["code"].as_str().unwrap()));
            assert!(c["from"].as_str().unwrap() <= c["to"].as_str().unwrap());
        }
        r.offsite += usize::from(!v["offsite"].as_array().unwrap().is_empty());
        r.poor += usize::from(p.poor);
        r.chronic_persons += usize::from(!p.chronic.is_empty());
        assert!(
            certnos.insert(p.certno.clone()),
            "duplicate certno {}",
            p.certno
        );
        assert!(persons.insert(s("psn_no"), p).is_none(), "duplicate psn_no");
    }
    r.persons = persons.len();
    for p in persons.values() {
        assert!(certno_is_valid(&p.certno), "{}", p.certno);
        assert_eq!(&p.certno[..6], "990101");
        assert_eq!(p.certno[6..14], p.brdy.replace('-', ""), "{}", p.certno);
        let odd = (p.certno.as_bytes()[16] - b'0') % 2 == 1;
        assert_eq!(odd, p.gend == "1", "{} gend {}", p.certno, p.gend);
    }

    let mut ids = HashSet::new();
    let mut settled = HashSet::new();
    let mut last_end = String::new();
    for line in std::fs::read_to_string(dir.join("claims.jsonl"))
        .unwrap()
        .lines()
    {
        r.records += 1;
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            *r.bad.entry("NotJson").or_default() += 1;
            continue;
        };
        let id = v["claim_id"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "duplicate claim_id {id}");
        if v["type"] == "reversal" {
            let target = v["target"].as_str().unwrap();
            assert!(id.starts_with('R'));
            assert!(
                settled.contains(target),
                "reversal {id} of {target} before or without it"
            );
            r.reversals += 1;
            continue;
        }
        assert!(id.starts_with('S'));
        let s = |k: &str| v[k].as_str().unwrap();
        let (begn, end) = (s("begndate"), s("enddate"));
        assert!(
            end >= last_end.as_str(),
            "{id}: enddate {end} before {last_end}"
        );
        assert!(end.starts_with("2024-"), "{id}");
        last_end = end.to_string();
        let lines = v["lines"].as_array().unwrap();
        let kind = classify(&v, &persons, &institutions, &catalog);
        if let Some(kind) = kind {
            *r.bad.entry(kind).or_default() += 1;
            continue;
        }
        assert!(begn.starts_with("2024-"), "{id}");
        settled.insert(id.clone());
        for l in lines {
            let code = l["code"].as_str().unwrap();
            let price = parse_scaled(l["price"].as_str().unwrap(), 2);
            if let Some(Some(limit)) = catalog.get(code) {
                r.lines_over_limit += usize::from(price > *limit);
            }
            r.class_c_lines += usize::from(class_c.contains(code));
        }
        let n = lines.len();
        match s("med_type") {
            "11" => {
                r.outpatient += 1;
                assert_eq!(begn, end);
                r.outpatient_max_lines = r.outpatient_max_lines.max(n);
                assert!((1..=6).contains(&n), "{id}: {n} lines");
            }
            "21" => {
                r.inpatient += 1;
                assert!(begn <= end);
                r.inpatient_max_lines = r.inpatient_max_lines.max(n);
                assert!((10..=60).contains(&n), "{id}: {n} lines");
            }
            "14" => r.chronic_visits += 1,
            other => panic!("med_type {other}"),
        }
    }
    r
}

/// The bad-record kind of a parsed settlement, or `None` for a typical one; asserts
/// nothing so bad records can be counted.
fn classify(
    v: &Value,
    persons: &HashMap<String, Person>,
    institutions: &HashSet<String>,
    catalog: &HashMap<String, Option<i64>>,
) -> Option<&'static str> {
    let s = |k: &str| v[k].as_str().unwrap();
    let Some(person) = persons.get(s("psn_no")) else {
        return Some("UnknownPerson");
    };
    if !institutions.contains(s("fixmedins_code")) {
        return Some("UnknownInstitution");
    }
    if s("begndate") > s("enddate") {
        return Some("BeginAfterEnd");
    }
    let lines = v["lines"].as_array().unwrap();
    if lines.is_empty() {
        return Some("EmptyLines");
    }
    if !person.enrolled {
        return Some("NotEnrolled");
    }
    for l in lines {
        if !catalog.contains_key(l["code"].as_str().unwrap()) {
            return Some("UnknownItem");
        }
        let price = parse_scaled(l["price"].as_str().unwrap(), 2);
        let qty = parse_scaled(l["qty"].as_str().unwrap(), 3);
        assert!(qty > 0);
        if price < 0 {
            return Some("NegativePrice");
        }
        if parse_scaled(l["amount"].as_str().unwrap(), 2) != expected_amount(price, qty) {
            return Some("AmountMismatch");
        }
    }
    if s("med_type") == "14" {
        let (code, end) = (s("dise_codg"), s("enddate"));
        let registered = person
            .chronic
            .iter()
            .any(|(c, from, to)| c == code && from.as_str() <= end && end <= to.as_str());
        if !registered {
            return Some("NotRegistered");
        }
    }
    None
}

fn bad_kind_name(kind: BadKind) -> &'static str {
    match kind {
        BadKind::UnknownPerson => "UnknownPerson",
        BadKind::UnknownInstitution => "UnknownInstitution",
        BadKind::UnknownItem => "UnknownItem",
        BadKind::AmountMismatch => "AmountMismatch",
        BadKind::NegativePrice => "NegativePrice",
        BadKind::BeginAfterEnd => "BeginAfterEnd",
        BadKind::EmptyLines => "EmptyLines",
        BadKind::NotJson => "NotJson",
        BadKind::NotRegistered => "NotRegistered",
        BadKind::NotEnrolled => "NotEnrolled",
    }
}

/// One 20,000-person county shared by the tests that only read it.
fn county() -> &'static (GenSummary, Report) {
    static COUNTY: OnceLock<(GenSummary, Report)> = OnceLock::new();
    COUNTY.get_or_init(|| {
        let dir = TempDir::new("county");
        let cfg = GenConfig {
            persons: 20_000,
            ..GenConfig::default()
        };
        let summary = generate(&cfg, &dir.0).unwrap();
        (summary, read_dir(&dir.0))
    })
}

#[test]
fn same_config_gives_same_bytes() {
    let cfg = GenConfig {
        persons: 1_500,
        bad_per_mille: 20,
        ..GenConfig::default()
    };
    let (a, b, c) = (TempDir::new("a"), TempDir::new("b"), TempDir::new("c"));
    let sa = generate(&cfg, &a.0).unwrap();
    let sb = generate(&cfg, &b.0).unwrap();
    assert_eq!(sa, sb);
    generate(
        &GenConfig {
            seed: 7,
            ..cfg.clone()
        },
        &c.0,
    )
    .unwrap();
    for f in [
        "institutions.csv",
        "catalog.csv",
        "persons.jsonl",
        "claims.jsonl",
    ] {
        let (x, y) = (
            std::fs::read(a.0.join(f)).unwrap(),
            std::fs::read(b.0.join(f)).unwrap(),
        );
        assert!(!x.is_empty());
        assert!(x == y, "{f} differs between two runs");
    }
    for f in ["catalog.csv", "persons.jsonl", "claims.jsonl"] {
        let (x, z) = (
            std::fs::read(a.0.join(f)).unwrap(),
            std::fs::read(c.0.join(f)).unwrap(),
        );
        assert!(x != z, "{f} does not depend on the seed");
    }
}

#[test]
fn typical_county_is_consistent() {
    let (summary, r) = county();
    assert_eq!(r.persons, 20_000);
    assert_eq!(summary.persons, r.persons);
    assert_eq!(summary.catalog_items, r.catalog);
    assert_eq!(summary.claims, r.records);
    assert_eq!(summary.reversals, r.reversals);
    assert_eq!(summary.bad, 0);
    assert!(
        r.bad.is_empty(),
        "typical data has bad records: {:?}",
        r.bad
    );
}

#[test]
fn typical_county_has_realistic_rates() {
    let (_, r) = county();
    let per_person = |n: usize| n as f64 / r.persons as f64;
    let share = |n: usize| n as f64 / r.persons as f64;
    assert!(
        (1.2..=1.8).contains(&per_person(r.outpatient)),
        "outpatient {}",
        per_person(r.outpatient)
    );
    assert!(
        (0.15..=0.23).contains(&per_person(r.inpatient)),
        "inpatient {}",
        per_person(r.inpatient)
    );
    assert!(
        (0.05..=0.10).contains(&share(r.poor)),
        "poor {}",
        share(r.poor)
    );
    assert!(
        (0.10..=0.20).contains(&share(r.chronic_persons)),
        "chronic {}",
        share(r.chronic_persons)
    );
    assert!(
        (0.005..=0.03).contains(&share(r.offsite)),
        "offsite {}",
        share(r.offsite)
    );
    assert!(
        r.chronic_visits > r.chronic_persons * 3,
        "chronic visits {}",
        r.chronic_visits
    );
    let reversal_share = r.reversals as f64 / r.records as f64;
    assert!(
        (0.003..=0.007).contains(&reversal_share),
        "reversals {reversal_share}"
    );
    assert!(r.outpatient_max_lines == 6 && r.inpatient_max_lines > 40);
    assert!(r.lines_over_limit > 0 && r.class_c_lines > 0);
    let limited = r.limited as f64 / r.catalog as f64;
    assert!((0.10..=0.20).contains(&limited), "price limits {limited}");
}

#[test]
fn bad_records_of_every_kind() {
    let dir = TempDir::new("bad");
    let cfg = GenConfig {
        persons: 2_000,
        bad_per_mille: 30,
        ..GenConfig::default()
    };
    let summary = generate(&cfg, &dir.0).unwrap();
    let r = read_dir(&dir.0);
    assert_eq!(summary.claims, r.records);
    assert!(summary.bad >= 100, "{summary:?}");
    for kind in BadKind::ALL {
        let n = r.bad.get(bad_kind_name(kind)).copied().unwrap_or(0);
        assert!(n > 0, "no {kind:?} among {:?}", r.bad);
        assert!(!kind.expected_error().is_empty());
    }
    assert_eq!(r.bad.values().sum::<usize>(), summary.bad);
}

#[test]
fn exact_claim_counts() {
    for (n, bad) in [(0, 0), (1, 0), (7, 0), (1_000, 0), (1_000, 500), (50, 1000)] {
        let dir = TempDir::new("count");
        let cfg = GenConfig {
            persons: 300,
            claims: Some(n),
            bad_per_mille: bad,
            ..GenConfig::default()
        };
        let summary = generate(&cfg, &dir.0).unwrap();
        let r = read_dir(&dir.0);
        assert_eq!(summary.claims, n);
        assert_eq!(r.records, n, "claims {n} bad {bad}");
        assert_eq!(r.reversals, summary.reversals);
        assert_eq!(r.bad.values().sum::<usize>(), summary.bad);
    }
}

#[test]
fn tiny_configurations_work() {
    for (persons, institutions, catalog_items) in [(1, 1, 1), (3, 2, 5), (10, 5, 60)] {
        let dir = TempDir::new("tiny");
        let cfg = GenConfig {
            persons,
            institutions,
            catalog_items,
            claims: Some(120),
            bad_per_mille: 100,
            ..GenConfig::default()
        };
        let summary = generate(&cfg, &dir.0).unwrap();
        let r = read_dir(&dir.0);
        assert_eq!(
            (r.persons, r.catalog, r.records),
            (persons, catalog_items, 120)
        );
        assert_eq!(summary.institutions, institutions);
    }
    // Derived counts for a single person.
    let dir = TempDir::new("one");
    let summary = generate(
        &GenConfig {
            persons: 1,
            ..GenConfig::default()
        },
        &dir.0,
    )
    .unwrap();
    assert!(summary.claims >= 1);
    read_dir(&dir.0);
}

#[test]
fn invalid_configurations_are_refused() {
    let base = GenConfig::default();
    let bad = [
        GenConfig {
            persons: 0,
            ..base.clone()
        },
        GenConfig {
            persons: usize::MAX,
            ..base.clone()
        },
        GenConfig {
            institutions: 0,
            ..base.clone()
        },
        GenConfig {
            catalog_items: 0,
            ..base.clone()
        },
        GenConfig {
            year: 1800,
            ..base.clone()
        },
        GenConfig {
            claims: Some(usize::MAX),
            ..base.clone()
        },
        GenConfig {
            bad_per_mille: 1001,
            ..base.clone()
        },
    ];
    let dir = TempDir::new("invalid");
    for cfg in bad {
        let err = generate(&cfg, &dir.0).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{cfg:?}");
        assert!(!err.to_string().is_ascii(), "message in Chinese: {err}");
    }
    assert!(!dir.0.exists(), "nothing written for an invalid config");
}
