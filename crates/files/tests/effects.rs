//! What a settlement causes, as every ledger records it: the per-fund lines (`setldetail`)
//! with the policy's national fund pay types, and the release-build checks that make a
//! broken invariant a fault that records nothing.

use std::path::PathBuf;
use yibao_core::checks;
use yibao_core::funds::Payer;
use yibao_core::ledger::{reverse, settle, LedgerStore, MemLedger, SettleError};
use yibao_core::Policy;
use yibao_files::record::{parse_line, Record};
use yibao_files::{load_dir, load_policy};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn policy_text() -> String {
    std::fs::read_to_string(root().join("policies/sample-county-2024.toml")).unwrap()
}

#[test]
fn every_settlement_carries_its_fund_lines() {
    let policy = load_policy(&root().join("policies/sample-county-2024.toml")).unwrap();
    let dir = root().join("tests/fixtures/sample-county-2024");
    let refdata = load_dir(&dir).unwrap();
    let claims = std::fs::read_to_string(dir.join("claims.jsonl")).unwrap();
    let mut ledger = MemLedger::new();
    let (mut settled, mut hospital_lines) = (0, 0);
    for line in claims.lines() {
        let Record::Settle(raw) = parse_line(line.as_bytes()) else {
            continue;
        };
        let Ok(s) = settle(&policy, &refdata, &mut ledger, &raw.draft(), false) else {
            continue;
        };
        settled += 1;
        let a = &s.amounts;
        // One line per payer that pays, each with the policy's code; the funds' lines add
        // up to fund_pay_sumamt, and the hospital's share is a line of its own.
        for p in Payer::ALL {
            let lines: Vec<_> = s.funds.iter().filter(|l| l.payer == p).collect();
            assert_eq!(lines.len(), usize::from(p.amount(a) != 0), "{p:?}");
            for l in lines {
                assert_eq!(Some(l.code), policy.fund_pay_types.of(p).map(|t| t.code));
                assert_eq!(l.amount, p.amount(a));
                assert_eq!(l.base, a.inscp_scp_amt);
                hospital_lines += usize::from(p == Payer::Hospital);
            }
        }
        let funds: i64 = s.funds.funds().map(|l| l.amount).sum();
        assert_eq!(funds, a.fund_pay_sumamt);
    }
    assert!(
        settled > 100 && hospital_lines > 0,
        "{settled} {hospital_lines}"
    );
    let basic = policy.fund_pay_types.of(Payer::Basic).unwrap();
    assert_eq!(
        (basic.code.to_string().as_str(), basic.name.as_str()),
        ("390100", "城乡居民基本医疗保险基金")
    );
}

#[test]
fn a_policy_names_a_fund_pay_type_for_each_payer_it_has() {
    let text = policy_text().replace(
        "maf_pay = { code = \"610100\", name = \"医疗救助基金\" }\n",
        "",
    );
    let e = Policy::from_toml("p.toml", &text).unwrap_err().to_string();
    assert!(e.contains("fund_pay_types.maf_pay"), "{e}");
    let text = policy_text().replace("\"390200\"", "\"3902\"");
    let e = Policy::from_toml("p.toml", &text).unwrap_err().to_string();
    assert!(
        e.contains("fund_pay_types.hifmi_pay.code") && e.contains("3902"),
        "{e}"
    );
    let text = policy_text().replace("hosp_part_amt = {", "hosp_amt = {");
    let e = Policy::from_toml("p.toml", &text).unwrap_err().to_string();
    assert!(e.contains("fund_pay_types.hosp_amt"), "{e}");
}

/// One inpatient claim of a reference person without categories at a level-2 hospital.
fn claim(id: &str, amount: &str) -> String {
    format!(
        r#"{{"claim_id":"{id}","psn_no":"P01000001","fixmedins_code":"H99010110002","med_type":"21","begndate":"2024-03-01","enddate":"2024-03-05","lines":[{{"code":"S0100001","price":"{amount}","qty":"1","amount":"{amount}"}}]}}"#
    )
}

#[test]
fn a_broken_invariant_is_a_fault_and_records_nothing() {
    let policy = load_policy(&root().join("policies/sample-county-2024.toml")).unwrap();
    let dir = root().join("tests/fixtures/sample-county-2024");
    let refdata = load_dir(&dir).unwrap();
    let text = claim("E1", "30000.00");
    let Record::Settle(raw) = parse_line(text.as_bytes()) else {
        panic!("claim parses")
    };
    let mut ledger = MemLedger::new();
    let s = match settle(&policy, &refdata, &mut ledger, &raw.draft(), false) {
        Ok(s) => s,
        Err(e) => panic!("the claim settles: {e}"),
    };
    let after = ledger.accumulators(s.person, s.year);
    checks::settlement(&policy, &s, &after).unwrap();
    // Each identity, the sign of every amount and the caps are checked.
    let mut bad = s.clone();
    bad.amounts.psn_cash_pay += 1;
    assert!(checks::settlement(&policy, &bad, &after).is_err());
    let mut bad = s.clone();
    bad.amounts.hifp_pay += 1;
    bad.amounts.psn_part_amt -= 1;
    bad.amounts.psn_cash_pay -= 1;
    let e = checks::settlement(&policy, &bad, &after).unwrap_err();
    assert!(e.0.contains("基金"), "{e}");
    let mut over = after;
    over.basic_paid = policy.basic.annual_cap + 1;
    let e = checks::settlement(&policy, &s, &over).unwrap_err();
    assert!(e.0.contains("封顶"), "{e}");
    let mut negative = after;
    negative.critical_base = -1;
    assert!(checks::reversal(&negative).is_err());

    // A policy whose fund pay types miss a payer that pays: the settlement is a fault and
    // the ledger is unchanged.
    let mut no_basic = policy.clone();
    let text = policy_text().replace(
        "hifp_pay = { code = \"390100\", name = \"城乡居民基本医疗保险基金\" }\n",
        "",
    );
    assert!(
        Policy::from_toml("p.toml", &text).is_err(),
        "the file is refused"
    );
    no_basic.fund_pay_types = Default::default();
    let before = ledger.clone();
    let text = claim("E2", "20000.00");
    let Record::Settle(raw) = parse_line(text.as_bytes()) else {
        panic!("claim parses")
    };
    match settle(&no_basic, &refdata, &mut ledger, &raw.draft(), false) {
        Err(SettleError::Fault(v)) => assert!(v.to_string().contains("未记账"), "{v}"),
        other => panic!("expected a fault: {other:?}"),
    }
    assert!(!ledger.is_settled("E2"));
    assert_eq!(
        ledger.all_accumulators().collect::<Vec<_>>(),
        before.all_accumulators().collect::<Vec<_>>()
    );
    // The first claim still reverses exactly.
    reverse(&mut ledger, "E1").unwrap();
    assert_eq!(ledger.person_years(), 0);
}
