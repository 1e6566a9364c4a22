//! Invariants under random claims on the reference policies and data (proptest), for the
//! resident case and the employee case (residents and employees, both policies loaded):
//! the split sums to the total; payers + patient + hospital = total; `psn_part_amt =
//! acct_pay + psn_cash_pay`; nothing negative; no layer above its cap; the personal account
//! never below zero; settle-then-reverse restores every accumulator and the account;
//! `--jobs 1` = `--jobs 2`; bad input never panics and always gets exactly one output line
//! per input line.

use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use yibao_core::engine::YearAccumulators;
use yibao_core::ledger::{reverse, settle, MemLedger};
use yibao_core::{ClaimDraft, LineDraft, LinesDraft, PolicySet, RefData, Val};
use yibao_files::{load_dir, load_policy, run_batch, BatchOptions};

/// Case 0: residents under the resident policy; case 1: the employee data (employees and a
/// few residents) under both policies.
fn case(k: usize) -> &'static (PolicySet, RefData) {
    static F: OnceLock<[(PolicySet, RefData); 2]> = OnceLock::new();
    &F.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let policy = |p: &str| load_policy(&root.join("policies").join(p)).unwrap();
        let data = |d: &str| load_dir(&root.join("tests/fixtures").join(d)).unwrap();
        [
            (
                PolicySet::one(policy("sample-county-2024.toml")),
                data("sample-county-2024"),
            ),
            (
                PolicySet::new(vec![
                    policy("sample-county-2024.toml"),
                    policy("sample-county-employee-2024.toml"),
                ])
                .unwrap(),
                with_family_members(data("sample-county-employee-2024")),
            ),
        ]
    })[k]
}

/// The employee data with two resident family members under 家庭共济: one drawing on a
/// small account (P21000028, 13.02), one on a large one (P21000008, 6,600.38), so that
/// settlements cross persons.
fn with_family_members(mut r: RefData) -> RefData {
    for (psn_no, certno, holder) in [
        ("F1", "990101198808080021", "P21000028"),
        ("F2", "990101201003030021", "P21000008"),
    ] {
        let line = format!(
            r#"{{"psn_no": "{psn_no}", "certno": "{certno}", "name": "家属", "gend": "2", "brdy": "{}-{}-{}", "enrolments": [2024], "family_aid": [{{"holder": "{holder}", "from": "2024-01-01", "to": "2024-12-31"}}]}}"#,
            &certno[6..10],
            &certno[10..12],
            &certno[12..14]
        );
        r.add_person(yibao_files::refdir::person_from_json(&line).unwrap())
            .unwrap();
    }
    r
}

/// A random claim as owned text fields.
#[derive(Clone, Debug)]
struct GenClaim {
    claim_id: String,
    psn_no: String,
    fixmedins_code: String,
    med_type: String,
    begndate: String,
    enddate: String,
    dise_codg: String,
    /// `acct_used_flag`: missing, "1" or "0".
    acct: Option<&'static str>,
    lines: Vec<(String, String, String, String)>,
}

impl GenClaim {
    fn draft(&self) -> ClaimDraft<'_> {
        ClaimDraft {
            claim_id: &self.claim_id,
            psn_no: Val::Text(&self.psn_no),
            fixmedins_code: Val::Text(&self.fixmedins_code),
            med_type: Val::Text(&self.med_type),
            begndate: Val::Text(&self.begndate),
            enddate: Val::Text(&self.enddate),
            dise_codg: Val::Text(&self.dise_codg),
            acct_used_flag: self.acct.map_or(Val::Missing, Val::Text),
            lines: LinesDraft::List(
                self.lines
                    .iter()
                    .map(|(c, p, q, a)| LineDraft {
                        code: Val::Text(c),
                        price: Val::Text(p),
                        qty: Val::Text(q),
                        amount: Val::Text(a),
                        date: Val::Missing,
                    })
                    .collect(),
            ),
        }
    }

    fn json(&self) -> String {
        let lines: Vec<_> = self
            .lines
            .iter()
            .map(|(c, p, q, a)| serde_json::json!({"code": c, "price": p, "qty": q, "amount": a}))
            .collect();
        let mut v = serde_json::json!({
            "claim_id": self.claim_id, "psn_no": self.psn_no, "fixmedins_code": self.fixmedins_code,
            "med_type": self.med_type, "begndate": self.begndate, "enddate": self.enddate,
            "dise_codg": self.dise_codg, "lines": lines,
        });
        if let Some(flag) = self.acct {
            v["acct_used_flag"] = flag.into();
        }
        v.to_string()
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

const DISEASES: &[&str] = &[
    "I10", "E11.9", "I25.1", "J44.9", "C34.9", "N18.5", "Z94.0", "K29.7", "S72.0",
];
const QTYS: &[(&str, i64)] = &[
    ("1", 100),
    ("2", 200),
    ("3.5", 350),
    ("10", 1000),
    ("0.25", 25),
];

fn line_strategy(k: usize) -> impl Strategy<Value = (String, String, String, String)> {
    let r = &case(k).1;
    let n_items = r.catalog().len();
    (0..n_items, 1i64..3_000_000, 0..QTYS.len()).prop_map(move |(item, price_fen, q)| {
        let (qty, qty_hundredths) = QTYS[q];
        // amount = price × qty rounded half up to the fen
        let amount = (price_fen * qty_hundredths + 50) / 100;
        (
            case(k).1.catalog()[item].code.clone(),
            yuan(price_fen),
            qty.to_string(),
            yuan(amount),
        )
    })
}

fn claim_strategy(k: usize) -> impl Strategy<Value = GenClaim> {
    let r = &case(k).1;
    let (n_persons, n_inst) = (r.persons.len(), r.institutions().len());
    (
        0..n_persons,
        0..n_inst,
        prop::sample::select(vec!["11", "14", "21", "21", "14"]),
        1u32..=365,
        0u32..20,
        0..DISEASES.len(),
        prop::collection::vec(line_strategy(k), 1..12),
        prop::sample::select(vec![None, Some("1"), Some("0")]),
    )
        .prop_map(move |(p, i, med_type, day, stay, d, lines, acct)| {
            let r = &case(k).1;
            let start = yibao_core::Date::parse("2024-01-01").unwrap();
            let begn = start.add_days(i64::from(day - 1)).unwrap();
            let end = begn.add_days(i64::from(stay)).unwrap();
            let end = if end.year() > 2024 { begn } else { end };
            GenClaim {
                claim_id: String::new(),
                psn_no: r.persons[p].psn_no.clone(),
                fixmedins_code: r.institutions()[i].code.clone(),
                med_type: med_type.to_string(),
                begndate: begn.to_string(),
                enddate: end.to_string(),
                dise_codg: DISEASES[d].to_string(),
                acct,
                lines,
            }
        })
}

#[derive(Clone, Debug)]
enum Op {
    Settle(GenClaim),
    /// Reverse the k-th earlier settlement record (mod count).
    Reverse(usize),
}

/// A case and random operations on its data.
fn case_ops() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (0..2usize).prop_flat_map(|k| ops_strategy(k).prop_map(move |ops| (k, ops)))
}

fn ops_strategy(k: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            6 => claim_strategy(k).prop_map(Op::Settle),
            1 => any::<usize>().prop_map(Op::Reverse),
        ],
        1..60,
    )
    .prop_map(|ops| {
        // Claim ids: mostly fresh, sometimes reusing an earlier id (a re-settle after a
        // reversal, a duplicate, or the same id for another person).
        let mut n = 0;
        ops.into_iter()
            .map(|op| match op {
                Op::Settle(mut c) => {
                    n += 1;
                    c.claim_id = if n % 7 == 0 {
                        format!("C{}", n / 2)
                    } else {
                        format!("C{n}")
                    };
                    Op::Settle(c)
                }
                other => other,
            })
            .collect()
    })
}

fn snapshot(l: &MemLedger) -> Vec<((u32, u16), YearAccumulators)> {
    let mut v: Vec<_> = l.all_accumulators().map(|(k, a)| (*k, *a)).collect();
    v.sort_by_key(|(k, _)| *k);
    v
}

/// No layer above its cap (for the person's status), the account never below zero.
fn check_caps(k: usize, l: &MemLedger) {
    let (policies, refdata) = case(k);
    for ((person, _), a) in l.all_accumulators() {
        let person = &refdata.persons[*person as usize];
        let policy = policies.of(&person.scheme.insutype).unwrap();
        let retired = person.scheme.retired;
        let chronic = policy.basic.chronic.as_ref().unwrap();
        let cap = |c: Option<i64>| c.unwrap_or(i64::MAX);
        assert!(a.basic_paid <= policy.basic.annual_cap);
        let op = policy.basic.outpatient.as_ref().unwrap();
        assert!(a.outpatient_paid <= op.annual_cap.get(retired));
        assert!(a.outpatient_deductible <= op.annual_deductible.get(retired));
        assert!(a.critical_paid <= cap(policy.critical.as_ref().and_then(|c| c.annual_cap)));
        assert!(a.assistance_paid <= cap(policy.assistance.as_ref().and_then(|c| c.annual_cap)));
        assert!(a.over_cap_paid <= cap(policy.over_cap.as_ref().and_then(|c| c.annual_cap)));
        assert!(a.subsidy_paid <= cap(policy.subsidy.as_ref().and_then(|c| c.annual_cap)));
        assert!(
            a.account_paid <= person.scheme.acct_balance,
            "account below zero"
        );
        if !person.scheme.civil_servant {
            assert_eq!(a.subsidy_paid, 0);
        }
        for (ci, class) in chronic.classes.iter().enumerate() {
            if let Some((base, extra)) = class.annual_cap {
                let most_groups = class.groups.len() as i64;
                assert!(a.chronic_paid[ci] <= base + extra * (most_groups - 1));
            }
        }
        assert!(a.admissions >= 0);
        assert!(a.to_array().iter().all(|v| *v >= 0), "{a:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn settlement_invariants((k, ops) in case_ops()) {
        let (policies, refdata) = case(k);
        let mut ledger = MemLedger::new();
        let mut ids: Vec<String> = Vec::new();
        for op in &ops {
            match op {
                Op::Settle(c) => {
                    ids.push(c.claim_id.clone());
                    let before = snapshot(&ledger);
                    let policy = policies.for_person(refdata, Some(&c.psn_no));
                    match settle(policy, refdata, &mut ledger, &c.draft(), true) {
                        Ok(s) => {
                            let a = s.amounts;
                            for (name, v) in a.fields() {
                                prop_assert!(v >= 0, "{name} negative: {a:?}");
                            }
                            prop_assert_eq!(a.fulamt_ownpay_amt + a.overlmt_selfpay + a.preselfpay_amt + a.inscp_scp_amt, a.medfee_sumamt);
                            prop_assert_eq!(a.hifp_pay + a.hifmi_pay + a.cvlserv_pay + a.hifob_pay + a.maf_pay + a.oth_pay, a.fund_pay_sumamt);
                            prop_assert_eq!(a.fund_pay_sumamt + a.psn_part_amt + a.hosp_part_amt, a.medfee_sumamt);
                            // psn_part_amt = acct_pay + psn_cash_pay, and 家庭共济's share where a
                            // family member's account paid.
                            prop_assert_eq!(a.acct_pay + a.acct_mulaid_pay + a.psn_cash_pay, a.psn_part_amt);
                            prop_assert!(a.act_pay_dedc <= a.inscp_scp_amt);
                            prop_assert!(a.acct_pay + a.acct_mulaid_pay <= (a.psn_part_amt - a.fulamt_ownpay_amt - a.overlmt_selfpay).max(0));
                            if c.acct == Some("0") || policy.account.is_none() {
                                prop_assert_eq!(a.acct_pay, 0);
                            }
                            if c.acct == Some("0") {
                                prop_assert_eq!(a.acct_mulaid_pay, 0);
                            }
                            let ex = s.explanation.as_ref().unwrap();
                            prop_assert_eq!(ex.lines.len(), c.lines.len());
                            check_caps(k, &ledger);
                            // Reversing right away gives back exactly what it took; re-settling
                            // gives the same amounts.
                            reverse(&mut ledger, &c.claim_id).unwrap();
                            prop_assert_eq!(&snapshot(&ledger), &before);
                            let again = settle(policy, refdata, &mut ledger, &c.draft(), false).unwrap();
                            prop_assert_eq!(again.amounts, a);
                        }
                        Err(_) => prop_assert_eq!(&snapshot(&ledger), &before, "a rejection changes nothing"),
                    }
                }
                Op::Reverse(nth) if !ids.is_empty() => {
                    let target = ids[nth % ids.len()].clone();
                    let _ = reverse(&mut ledger, &target);
                    check_caps(k, &ledger);
                }
                Op::Reverse(_) => {}
            }
        }
        // Reversing everything still settled leaves no accumulator behind.
        for id in &ids {
            let _ = reverse(&mut ledger, id);
        }
        prop_assert!(snapshot(&ledger).is_empty(), "left: {:?}", snapshot(&ledger));
        prop_assert_eq!(ledger.settled_count(), 0);
    }

    #[test]
    fn jobs_1_and_2_identical((k, ops) in case_ops(), chunk in 1usize..40) {
        let (policies, refdata) = case(k);
        let mut input = String::new();
        let mut ids: Vec<String> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Settle(c) => {
                    ids.push(c.claim_id.clone());
                    input.push_str(&c.json());
                }
                Op::Reverse(k) => {
                    let target = if ids.is_empty() { "NONE".to_string() } else { ids[k % ids.len()].clone() };
                    input.push_str(&serde_json::json!({"type": "reversal", "claim_id": format!("R{i}"), "target": target}).to_string());
                }
            }
            input.push('\n');
        }
        let run = |jobs| {
            let mut out = Vec::new();
            let opts = BatchOptions { jobs, explain: true, chunk_lines: chunk };
            run_batch(policies, refdata, input.as_bytes(), &mut out, opts).unwrap();
            out
        };
        let one = run(1);
        prop_assert_eq!(one.iter().filter(|b| **b == b'\n').count(), ops.len());
        let two = run(2);
        prop_assert_eq!(String::from_utf8_lossy(&one), String::from_utf8_lossy(&two), "jobs 1 and 2 differ");
    }

    #[test]
    fn bad_input_never_panics(
        lines in prop::collection::vec(prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            claim_strategy(1).prop_map(|c| c.json().into_bytes()),
        ], 1..30),
        cuts in prop::collection::vec((any::<usize>(), any::<u8>()), 0..10),
    ) {
        let (policies, refdata) = case(1);
        let mut input: Vec<u8> = Vec::new();
        let mut expected_lines = 0;
        for mut l in lines {
            // Mutate valid JSON at random places: truncation, stray bytes, huge digits.
            for (pos, byte) in &cuts {
                if !l.is_empty() {
                    let at = pos % l.len();
                    match byte % 4 {
                        0 => l.truncate(at),
                        1 => l[at] = *byte,
                        2 => l.splice(at..at, b"99999999999999999999999".iter().copied()).for_each(drop),
                        _ => {}
                    }
                }
            }
            l.retain(|b| *b != b'\n');
            input.extend_from_slice(&l);
            input.push(b'\n');
            expected_lines += 1;
        }
        for jobs in [1, 2] {
            let mut out = Vec::new();
            let opts = BatchOptions { jobs, explain: true, chunk_lines: 8 };
            run_batch(policies, refdata, &input[..], &mut out, opts).unwrap();
            let text = String::from_utf8(out).unwrap();
            prop_assert_eq!(text.lines().count(), expected_lines);
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                prop_assert!(v["ok"].is_boolean());
            }
        }
    }
}
