//! The reference cases: `yibao settle` logic reproduces the independently computed
//! `expected.jsonl` of each scheme (residents, employees) to the fen, with jobs 1 and 2, and
//! rejects each bad record with its code; a run with both policies settles each person as
//! the run with their scheme's policy alone does.

use serde_json::Value;
use std::path::PathBuf;
use yibao_core::PolicySet;
use yibao_files::{load_dir, load_policy, run_batch, BatchOptions};

const RESIDENT: (&str, &str) = ("sample-county-2024", "policies/sample-county-2024.toml");
const EMPLOYEE: (&str, &str) = (
    "sample-county-employee-2024",
    "policies/sample-county-employee-2024.toml",
);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Settles case `case`'s claims under the policies `policies` (paths from the root).
fn run_with(case: &str, policies: &[&str], jobs: usize, explain: bool) -> Vec<Value> {
    let set = PolicySet::new(
        policies
            .iter()
            .map(|p| load_policy(&root().join(p)).unwrap())
            .collect(),
    )
    .unwrap();
    let dir = root().join("tests/fixtures").join(case);
    let refdata = load_dir(&dir).unwrap();
    let claims = std::fs::read(dir.join("claims.jsonl")).unwrap();
    let mut out = Vec::new();
    let opts = BatchOptions {
        jobs,
        explain,
        chunk_lines: 7, // small chunks so grouping across chunk borders is exercised
    };
    run_batch(&set, &refdata, &claims[..], &mut out, opts).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run((case, policy): (&str, &str), jobs: usize, explain: bool) -> Vec<Value> {
    run_with(case, &[policy], jobs, explain)
}

fn expected(case: &str) -> Vec<Value> {
    let path = root()
        .join("tests/fixtures")
        .join(case)
        .join("expected.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_reproduces(case: (&str, &str)) {
    let got = run(case, 1, false);
    let want = expected(case.0);
    assert_eq!(got.len(), want.len(), "one output line per input line");
    let mut mismatches = Vec::new();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g["claim_id"], w["claim_id"], "line {}", i + 1);
        assert_eq!(g["ok"], w["ok"], "line {}: {g} vs {w}", i + 1);
        if w["ok"] == Value::Bool(true) {
            for (k, v) in w.as_object().unwrap() {
                if g[k] != *v {
                    mismatches.push(format!(
                        "line {} {} {k}: got {} want {}",
                        i + 1,
                        w["claim_id"],
                        g[k],
                        v
                    ));
                }
            }
        } else {
            let (gc, wc) = (&g["error"]["code"], &w["error"]["code"]);
            if gc != wc {
                mismatches.push(format!(
                    "line {} {}: code {gc} want {wc}: {}",
                    i + 1,
                    w["claim_id"],
                    g["error"]["message"]
                ));
            }
            assert!(g["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn reproduces_expected_to_the_fen() {
    assert_reproduces(RESIDENT);
}

#[test]
fn reproduces_the_employee_expected_to_the_fen() {
    assert_reproduces(EMPLOYEE);
}

fn assert_parallel_identical(case: (&str, &str)) {
    let one = run(case, 1, true);
    let two = run(case, 2, true);
    assert_eq!(one, two);
    // --explain adds an explanation without changing any amount.
    let plain = run(case, 1, false);
    for (a, b) in one.iter().zip(&plain) {
        for (k, v) in b.as_object().unwrap() {
            assert_eq!(a[k], *v);
        }
        if a["ok"] == Value::Bool(true) && a.get("medfee_sumamt").is_some() {
            assert!(a["explain"]["lines"]
                .as_array()
                .is_some_and(|l| !l.is_empty()));
            assert!(a["explain"]["layers"].as_array().is_some());
        }
    }
}

#[test]
fn parallel_output_is_identical() {
    assert_parallel_identical(RESIDENT);
    assert_parallel_identical(EMPLOYEE);
}

/// `--explain` covers every employee layer: each appears, and each layer's `paid` is the
/// amount of its field.
#[test]
fn the_explanation_covers_the_employee_layers() {
    let out = run(EMPLOYEE, 1, true);
    let mut seen = std::collections::BTreeSet::new();
    for line in out.iter().filter(|l| l["explain"].is_object()) {
        for layer in line["explain"]["layers"].as_array().unwrap() {
            let field = layer["layer"].as_str().unwrap();
            seen.insert(field.to_string());
            if ["hifob_pay", "cvlserv_pay", "acct_pay"].contains(&field) {
                assert_eq!(layer["paid"], line[field], "{}: {field}", line["claim_id"]);
            }
        }
    }
    for field in ["hifp_pay", "hifob_pay", "cvlserv_pay", "acct_pay"] {
        assert!(seen.contains(field), "no {field} layer in {seen:?}");
    }
}

/// The employee case holds residents too: with both policies loaded each is settled under
/// their own scheme's, exactly as a run with that policy alone settles them.
#[test]
fn a_mixed_run_settles_each_person_as_their_schemes_own_run() {
    let case = EMPLOYEE.0;
    let both = run_with(case, &[RESIDENT.1, EMPLOYEE.1], 2, false);
    let employee_only = run_with(case, &[EMPLOYEE.1], 1, false);
    let resident_only = run_with(case, &[RESIDENT.1], 1, false);
    let dir = root().join("tests/fixtures").join(case);
    let persons = std::fs::read_to_string(dir.join("persons.jsonl")).unwrap();
    let scheme_of = |psn_no: &str| -> Option<String> {
        persons.lines().find_map(|l| {
            let p: Value = serde_json::from_str(l).unwrap();
            (p["psn_no"] == psn_no).then(|| p["insutype"].as_str().unwrap_or("390").to_string())
        })
    };
    let claims = std::fs::read_to_string(dir.join("claims.jsonl")).unwrap();
    let (mut residents, mut employees) = (0, 0);
    for (i, line) in claims.lines().enumerate() {
        let rec: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let Some(psn_no) = rec["psn_no"].as_str() else {
            continue;
        };
        let own = match scheme_of(psn_no).as_deref() {
            Some("310") => {
                employees += 1;
                &employee_only[i]
            }
            Some(_) => {
                residents += 1;
                &resident_only[i]
            }
            None => continue,
        };
        assert_eq!(&both[i], own, "line {}: {line}", i + 1);
    }
    let settled_residents = both
        .iter()
        .zip(claims.lines())
        .filter(|(b, l)| {
            b["ok"] == Value::Bool(true)
                && b.get("medfee_sumamt").is_some()
                && serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|r| r["psn_no"].as_str().and_then(scheme_of))
                    == Some("390".into())
        })
        .count();
    assert!(
        employees > 100 && residents > 5,
        "{employees} / {residents}"
    );
    assert!(
        settled_residents > 0,
        "some residents settle in the mixed run"
    );
}

#[test]
fn two_policies_for_one_scheme_are_refused() {
    let p = load_policy(&root().join(EMPLOYEE.1)).unwrap();
    let err = PolicySet::new(vec![p.clone(), p]).unwrap_err();
    assert!(err.contains("险种 310"), "{err}");
}
