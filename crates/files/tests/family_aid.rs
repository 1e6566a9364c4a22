//! 个人账户家庭共济 in the batch: a resident family member's visits are paid, after the fund,
//! from an employee's account (`acct_mulaid_pay`) up to its balance; the holder's own visits
//! see what is left; a reversal gives it back; `acct_used_flag` "0" leaves it alone; with
//! `--jobs 2` the holder's and the family member's records stay in order (one group).

use serde_json::Value;
use std::path::PathBuf;
use yibao_core::PolicySet;
use yibao_files::{load_dir, load_policy, run_batch, BatchOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The employee case's data with a resident family member of P21000020 (in service,
/// 348.98 in the account on 1 January) registered for 家庭共济 all 2024.
fn data_with_family_member() -> PathBuf {
    let src = root().join("tests/fixtures/sample-county-employee-2024");
    // One directory a call: tests run in parallel threads of one process.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("yibao-family-aid-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["institutions.csv", "catalog.csv", "persons.jsonl"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut persons = std::fs::read_to_string(dir.join("persons.jsonl")).unwrap();
    persons.push_str(
        r#"{"psn_no": "F1", "certno": "990101198808080021", "name": "家属", "gend": "2", "brdy": "1988-08-08", "enrolments": [2024], "family_aid": [{"holder": "P21000020", "from": "2024-01-01", "to": "2024-12-31"}]}"#,
    );
    persons.push('\n');
    std::fs::write(dir.join("persons.jsonl"), persons).unwrap();
    dir
}

fn visit(id: &str, psn: &str, day: &str, price: &str, acct: &str) -> String {
    format!(
        r#"{{"claim_id": "{id}", "psn_no": "{psn}", "fixmedins_code": "H99010110000", "med_type": "11", "begndate": "2024-{day}", "enddate": "2024-{day}", "dise_codg": "J06.9", "acct_used_flag": "{acct}", "lines": [{{"code": "D2100000", "price": "{price}", "qty": "1", "amount": "{price}.00"}}]}}"#
    )
}

fn run(jobs: usize) -> Vec<Value> {
    let policies = PolicySet::new(vec![
        load_policy(&root().join("policies/sample-county-2024.toml")).unwrap(),
        load_policy(&root().join("policies/sample-county-employee-2024.toml")).unwrap(),
    ])
    .unwrap();
    let refdata = load_dir(&data_with_family_member()).unwrap();
    let claims = [
        visit("A1", "F1", "02-01", "300", "1"),
        visit("A2", "F1", "02-02", "300", "1"),
        visit("A3", "F1", "02-03", "300", "0"),
        visit("H1", "P21000020", "02-04", "100", "1"),
        visit("A4", "F1", "02-05", "300", "1"),
        r#"{"type": "reversal", "claim_id": "R1", "target": "A1"}"#.to_string(),
        visit("H2", "P21000020", "02-06", "100", "1"),
    ]
    .join("\n");
    let mut out = Vec::new();
    let opts = BatchOptions {
        jobs,
        explain: true,
        chunk_lines: 3,
    };
    run_batch(&policies, &refdata, claims.as_bytes(), &mut out, opts).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_family_members_visits_are_paid_from_the_holders_account() {
    let out = run(1);
    let f = |i: usize, k: &str| out[i][k].as_str().unwrap_or_default().to_string();
    // Resident 门诊统筹 at level 1: deductible 50, 50% of 250.00 = 125.00; the rest of the
    // person's part, 175.00, from the holder's account.
    assert_eq!(f(0, "hifp_pay"), "125.00", "{}", out[0]);
    assert_eq!(f(0, "acct_pay"), "0.00");
    assert_eq!(f(0, "acct_mulaid_pay"), "175.00");
    assert_eq!(f(0, "psn_cash_pay"), "0.00");
    // Deductible used: 150.00 from the fund, 150.00 from the holder (173.98 left → 23.98).
    assert_eq!(f(1, "acct_mulaid_pay"), "150.00");
    // "0": no account at all (the fund's 300.00 cap leaves it 25.00 to pay).
    assert_eq!(f(2, "hifp_pay"), "25.00");
    assert_eq!(f(2, "acct_mulaid_pay"), "0.00");
    assert_eq!(f(2, "psn_cash_pay"), "275.00");
    // The holder's own visit sees what is left: 23.98 of a 100.00 deductible.
    assert_eq!(f(3, "acct_pay"), "23.98", "{}", out[3]);
    assert_eq!(f(3, "psn_cash_pay"), "76.02");
    // Empty now (and the fund's cap reached): the family member pays cash.
    assert_eq!(f(4, "acct_mulaid_pay"), "0.00");
    assert_eq!(f(4, "psn_cash_pay"), "300.00");
    // The reversal of A1 gives the holder 175.00 back, and the holder's next visit
    // (the rest of the 200.00 deductible) uses it.
    assert_eq!(out[5]["ok"], true);
    assert_eq!(f(6, "acct_pay"), "100.00", "{}", out[6]);
    // The explanation names the layer and the holder.
    let layers = out[0]["explain"]["layers"].as_array().unwrap();
    let aid = layers
        .iter()
        .find(|l| l["layer"] == "acct_mulaid_pay")
        .unwrap();
    assert_eq!(aid["paid"], "175.00");
    assert!(aid["note"].as_str().unwrap().contains("P21000020"));
}

#[test]
fn family_aid_runs_in_order_in_parallel() {
    assert_eq!(run(1), run(2));
}
