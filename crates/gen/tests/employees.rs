//! Employees (城镇职工, insutype 310) beside the residents: the same bytes for the same
//! configuration, residents unchanged by adding employees, valid and realistic employee
//! fields, and a mixed county that settles under both sample policies.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use yibao_files::{load_dir, load_policies, run_batch, BatchOptions};
use yibao_gen::{certno_is_valid, generate, GenConfig, GenSummary};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("yibao-gen-emp-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const FILES: [&str; 4] = [
    "institutions.csv",
    "catalog.csv",
    "persons.jsonl",
    "claims.jsonl",
];

fn lines(dir: &Path, file: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Yuan with exactly two decimals → fen.
fn fen(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').expect("two decimals");
    assert_eq!(frac.len(), 2, "{s}");
    assert!(
        int.bytes().all(|b| b.is_ascii_digit()) && !int.is_empty(),
        "{s}"
    );
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

/// A mixed county (residents and employees), generated and settled once.
struct County {
    summary: GenSummary,
    persons: Vec<Value>,
    claims: Vec<Value>,
    results: Vec<Value>,
}

const RESIDENTS: usize = 2_000;
const EMPLOYEES: usize = 8_000;

fn county() -> &'static County {
    static COUNTY: OnceLock<County> = OnceLock::new();
    COUNTY.get_or_init(|| {
        let dir = TempDir::new("county");
        let cfg = GenConfig {
            persons: RESIDENTS,
            employees: EMPLOYEES,
            ..GenConfig::default()
        };
        let summary = generate(&cfg, &dir.0).unwrap();
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let policies = load_policies(&[
            root.join("policies/sample-county-2024.toml"),
            root.join("policies/sample-county-employee-2024.toml"),
        ])
        .unwrap();
        let refdata = load_dir(&dir.0).unwrap();
        let claims = std::fs::read(dir.0.join("claims.jsonl")).unwrap();
        let mut out = Vec::new();
        run_batch(
            &policies,
            &refdata,
            &claims[..],
            &mut out,
            BatchOptions::default(),
        )
        .unwrap();
        let results = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        County {
            summary,
            persons: lines(&dir.0, "persons.jsonl"),
            claims: lines(&dir.0, "claims.jsonl"),
            results,
        }
    })
}

#[test]
fn same_config_with_employees_gives_same_bytes_and_leaves_residents_alone() {
    let cfg = GenConfig {
        persons: 800,
        employees: 700,
        bad_per_mille: 20,
        ..GenConfig::default()
    };
    let (a, b, r) = (TempDir::new("a"), TempDir::new("b"), TempDir::new("r"));
    assert_eq!(generate(&cfg, &a.0).unwrap(), generate(&cfg, &b.0).unwrap());
    for f in FILES {
        let (x, y) = (
            std::fs::read(a.0.join(f)).unwrap(),
            std::fs::read(b.0.join(f)).unwrap(),
        );
        assert!(!x.is_empty() && x == y, "{f} differs between two runs");
    }
    // The residents are those of the residents-only county: employees come after them,
    // each from its own stream.
    let residents_only = GenConfig {
        employees: 0,
        ..cfg.clone()
    };
    let s = generate(&residents_only, &r.0).unwrap();
    assert_eq!((s.persons, s.employees, s.retirees), (800, 0, 0));
    let alone = std::fs::read_to_string(r.0.join("persons.jsonl")).unwrap();
    let mixed = std::fs::read_to_string(a.0.join("persons.jsonl")).unwrap();
    assert!(
        mixed.starts_with(&alone),
        "adding employees changed the residents"
    );
    assert!(!alone.contains("insutype"));
    // Employees only.
    let e = TempDir::new("e");
    let s = generate(
        &GenConfig {
            persons: 0,
            employees: 50,
            ..GenConfig::default()
        },
        &e.0,
    )
    .unwrap();
    assert_eq!((s.persons, s.employees), (50, 50));
    assert!(s.claims > 50, "{s:?}");
}

#[test]
fn employee_fields_are_present_valid_and_realistic() {
    let c = county();
    assert_eq!(c.summary.persons, RESIDENTS + EMPLOYEES);
    assert_eq!(c.summary.employees, EMPLOYEES);
    let (mut certnos, mut psn_nos) = (HashSet::new(), HashSet::new());
    let (mut retired, mut civil, mut chronic, mut offsite, mut enrolled) = (0, 0, 0, 0, 0);
    let mut balances: [Vec<i64>; 2] = Default::default();
    for (i, p) in c.persons.iter().enumerate() {
        let certno = p["certno"].as_str().unwrap();
        assert!(certno_is_valid(certno), "{certno}");
        assert!(
            certnos.insert(certno.to_string()),
            "duplicate certno {certno}"
        );
        let psn_no = p["psn_no"].as_str().unwrap();
        assert_eq!(psn_no, format!("P{:08}", i + 1));
        assert!(psn_nos.insert(psn_no.to_string()));
        if i < RESIDENTS {
            assert!(
                p.get("insutype").is_none() && p.get("acct_balance").is_none(),
                "{p}"
            );
            assert!(p["categories"].is_array(), "{p}");
            continue;
        }
        assert_eq!(p["insutype"], "310", "{p}");
        assert!(p.get("categories").is_none(), "{p}");
        let is_retired = p["retired"].as_bool().unwrap();
        civil += usize::from(p["civil_servant"].as_bool().unwrap());
        let balance = fen(p["acct_balance"].as_str().unwrap());
        balances[usize::from(is_retired)].push(balance);
        // Age on 1 January 2024 from the birth date.
        let brdy = p["brdy"].as_str().unwrap();
        let (y, md) = brdy.split_at(4);
        let age = 2024 - y.parse::<i32>().unwrap() - i32::from(&md[1..] != "01-01");
        let male = p["gend"] == "1";
        if is_retired {
            retired += 1;
            assert!(age >= if male { 60 } else { 50 }, "{p}");
        } else {
            assert!((20..=59).contains(&age), "{p}");
        }
        chronic += usize::from(!p["chronic"].as_array().unwrap().is_empty());
        offsite += usize::from(!p["offsite"].as_array().unwrap().is_empty());
        enrolled += usize::from(p["enrolments"].as_array().unwrap().contains(&2024.into()));
    }
    assert_eq!(retired, c.summary.retirees);
    let share = |n: usize| n as f64 / EMPLOYEES as f64;
    assert!(
        (0.25..=0.35).contains(&share(retired)),
        "retired {}",
        share(retired)
    );
    assert!(
        (0.08..=0.12).contains(&share(civil)),
        "civil servants {}",
        share(civil)
    );
    assert!(
        (0.10..=0.30).contains(&share(chronic)),
        "chronic {}",
        share(chronic)
    );
    assert!(
        (0.01..=0.05).contains(&share(offsite)),
        "offsite {}",
        share(offsite)
    );
    assert!(
        (0.97..1.0).contains(&share(enrolled)),
        "enrolled {}",
        share(enrolled)
    );
    let median = |v: &mut Vec<i64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (active, old) = (median(&mut balances[0]), median(&mut balances[1]));
    assert!(
        (50_000..=400_000).contains(&active),
        "median in service {active}"
    );
    assert!(old > active, "median retired {old} ≤ in service {active}");
    // A long tail: the top tenth holds several times the median.
    let p90 = balances[0][balances[0].len() * 9 / 10];
    assert!(p90 > 3 * active, "p90 {p90}, median {active}");
}

#[test]
fn employee_claims_carry_the_account_flag() {
    let c = county();
    let mut flags = HashMap::new();
    for v in &c.claims {
        if v["type"] == "reversal" {
            continue;
        }
        let psn: usize = v["psn_no"].as_str().unwrap()[1..].parse().unwrap();
        let flag = v.get("acct_used_flag").and_then(Value::as_str);
        if psn <= RESIDENTS {
            assert_eq!(flag, None, "{v}");
        } else {
            *flags
                .entry(flag.expect("employee claim without acct_used_flag"))
                .or_insert(0) += 1;
        }
    }
    let (used, unused) = (flags["1"], flags["0"]);
    let share = unused as f64 / (used + unused) as f64;
    assert!((0.04..=0.15).contains(&share), "acct_used_flag 0: {share}");
}

#[test]
fn the_mixed_county_settles_under_both_policies() {
    let c = county();
    assert_eq!(c.results.len(), c.claims.len());
    let employee_of = |v: &Value| {
        let psn: usize = v["psn_no"].as_str().unwrap()[1..].parse().unwrap();
        psn > RESIDENTS
    };
    let civil: HashSet<&str> = c
        .persons
        .iter()
        .filter(|p| p["civil_servant"] == true)
        .map(|p| p["psn_no"].as_str().unwrap())
        .collect();
    let (mut emp, mut emp_ok, mut res, mut res_ok) = (0, 0, 0, 0);
    let (mut acct, mut hifob, mut cvlserv, mut outpatient_pool) = (0, 0, 0, 0);
    let mut codes: HashMap<String, usize> = HashMap::new();
    for (claim, r) in c.claims.iter().zip(&c.results) {
        assert_eq!(claim["claim_id"], r["claim_id"]);
        if claim["type"] == "reversal" {
            continue;
        }
        let ok = r["ok"] == true;
        if !ok {
            *codes
                .entry(r["error"]["code"].as_str().unwrap().into())
                .or_default() += 1;
        }
        let amount = |k: &str| fen(r[k].as_str().unwrap());
        if !employee_of(claim) {
            res += 1;
            res_ok += usize::from(ok);
            if ok {
                assert_eq!(amount("acct_pay"), 0, "{r}");
            }
            continue;
        }
        emp += 1;
        if !ok {
            continue;
        }
        emp_ok += 1;
        assert_eq!(
            amount("psn_part_amt"),
            amount("acct_pay") + amount("psn_cash_pay"),
            "{r}"
        );
        if claim["acct_used_flag"] == "0" {
            assert_eq!(amount("acct_pay"), 0, "{r}");
        }
        acct += usize::from(amount("acct_pay") > 0);
        hifob += usize::from(amount("hifob_pay") > 0);
        if amount("cvlserv_pay") > 0 {
            assert!(civil.contains(claim["psn_no"].as_str().unwrap()), "{r}");
            cvlserv += 1;
        }
        outpatient_pool += usize::from(claim["med_type"] == "11" && amount("hifp_pay") > 0);
    }
    // Rejected: only the few employees and residents without a paid enrolment.
    assert!(
        codes.keys().all(|k| k == "NOT_ENROLLED"),
        "typical data rejected with {codes:?}"
    );
    assert!(
        emp_ok * 100 >= emp * 97,
        "employees {emp_ok} of {emp} settled"
    );
    assert!(
        res_ok * 100 >= res * 97,
        "residents {res_ok} of {res} settled"
    );
    assert!(acct * 2 > emp_ok, "acct_pay > 0 on {acct} of {emp_ok}");
    assert!(
        outpatient_pool > 0 && cvlserv > 0,
        "门诊共济 {outpatient_pool}, 公务员 {cvlserv}"
    );
    assert!(
        hifob > 0,
        "no 大额 payment among {emp_ok} employee settlements"
    );
}
