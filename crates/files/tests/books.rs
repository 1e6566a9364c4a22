//! The batch's books: `run_batch` posts every settlement's entry and every reversal's mirror
//! to an in-memory journal that balances, whose payer accounts hold exactly what the output
//! lines that stand (net of reversals) paid, the same with one job and two.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use yibao_core::funds::Payer;
use yibao_core::PolicySet;
use yibao_files::{load_dir, load_policy, run_batch, BatchOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fen(v: &Value, field: &str) -> i64 {
    v[field]
        .as_str()
        .map_or(0, |t| yibao_core::money::parse_yuan(t).unwrap())
}

fn check(case: &str, policy: &str) {
    let set = PolicySet::new(vec![load_policy(&root().join(policy)).unwrap()]).unwrap();
    let books = set.iter().next().unwrap().books.clone().unwrap();
    let dir = root().join("tests/fixtures").join(case);
    let refdata = load_dir(&dir).unwrap();
    let claims = std::fs::read(dir.join("claims.jsonl")).unwrap();
    let mut journals = Vec::new();
    for jobs in [1, 2] {
        let mut out = Vec::new();
        let opts = BatchOptions {
            jobs,
            chunk_lines: 7,
            ..BatchOptions::default()
        };
        let stats = run_batch(&set, &refdata, &claims[..], &mut out, opts).unwrap();
        let journal = stats.journal;
        assert!(journal.balances(), "{case}: 借贷不平");
        assert!(journal.entries > 0);
        // What the lines that stand paid, by payer (the account's own and 家庭共济 together).
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let inputs: Vec<Value> = std::str::from_utf8(&claims)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut standing: HashMap<String, &Value> = HashMap::new();
        for (input, line) in inputs.iter().zip(&lines) {
            if line["ok"] != true {
                continue;
            }
            match input["target"].as_str() {
                Some(t) if input["type"] == "reversal" => {
                    standing.remove(t);
                }
                _ => {
                    standing.insert(line["claim_id"].as_str().unwrap().into(), line);
                }
            }
        }
        for (payer, account) in books.payers() {
            let want: i64 = standing
                .values()
                .map(|l| match payer {
                    Payer::Account => fen(l, "acct_pay") + fen(l, "acct_mulaid_pay"),
                    p => fen(l, p.field()),
                })
                .sum();
            assert_eq!(journal.net_debit(account), want, "{case} {jobs}: {payer:?}");
        }
        let owed: i64 = standing
            .values()
            .map(|l| fen(l, "fund_pay_sumamt") + fen(l, "acct_pay") + fen(l, "acct_mulaid_pay"))
            .sum();
        assert_eq!(-journal.net_debit(&books.payable), owed, "{case} {jobs}");
        journals.push(journal);
    }
    assert_eq!(journals[0], journals[1], "{case}: jobs 1 与 2 的账簿不同");
}

#[test]
fn the_batch_books_balance_and_hold_what_was_paid() {
    check("sample-county-2024", "policies/sample-county-2024.toml");
    check(
        "sample-county-employee-2024",
        "policies/sample-county-employee-2024.toml",
    );
}
