//! The reference case: `yibao settle` logic reproduces the independently computed
//! `expected.jsonl` to the fen, with jobs 1 and 2, and rejects each bad record with its code.

use serde_json::Value;
use std::path::PathBuf;
use yibao_files::{load_dir, load_policy, run_batch, BatchOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(jobs: usize, explain: bool) -> Vec<Value> {
    let policy = load_policy(&root().join("policies/sample-county-2024.toml")).unwrap();
    let dir = root().join("tests/fixtures/sample-county-2024");
    let refdata = load_dir(&dir).unwrap();
    let claims = std::fs::read(dir.join("claims.jsonl")).unwrap();
    let mut out = Vec::new();
    let opts = BatchOptions {
        jobs,
        explain,
        chunk_lines: 7, // small chunks so grouping across chunk borders is exercised
    };
    run_batch(&policy, &refdata, &claims[..], &mut out, opts).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn expected() -> Vec<Value> {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/sample-county-2024/expected.jsonl"))
            .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn reproduces_expected_to_the_fen() {
    let got = run(1, false);
    let want = expected();
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
fn parallel_output_is_identical() {
    let one = run(1, true);
    let two = run(2, true);
    assert_eq!(one, two);
    // --explain adds an explanation without changing any amount.
    let plain = run(1, false);
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
