//! Audit mode (`audit_ppm`): reproducible, labels only claims that are in the file, and
//! nothing of it when off.

use std::collections::HashSet;
use std::path::PathBuf;
use yibao_gen::{generate, GenConfig};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("yibao-gen-audit-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn audit_mode_is_reproducible_and_labels_settlements_in_the_file() {
    let cfg = GenConfig {
        persons: 6_000,
        audit_ppm: 20_000,
        ..Default::default()
    };
    let (a, b) = (dir("a"), dir("b"));
    let sa = generate(&cfg, &a).unwrap();
    let sb = generate(&cfg, &b).unwrap();
    assert_eq!(sa, sb);
    for f in [
        "claims.jsonl",
        "persons.jsonl",
        "catalog.csv",
        "audit-labels.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let claims = std::fs::read_to_string(a.join("claims.jsonl")).unwrap();
    let mut settled = HashSet::new();
    let mut reversed = HashSet::new();
    for l in claims.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        match v["type"].as_str() {
            Some("reversal") => reversed.insert(v["target"].as_str().unwrap().to_string()),
            _ => settled.insert(v["claim_id"].as_str().unwrap().to_string()),
        };
    }
    let labels = std::fs::read_to_string(a.join("audit-labels.csv")).unwrap();
    let rows: Vec<(&str, &str)> = labels
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .collect();
    assert_eq!(rows.len(), sa.audit_labels);
    let families: HashSet<&str> = rows.iter().map(|r| r.1).collect();
    assert_eq!(families.len(), 9, "{families:?}");
    for (id, _) in &rows {
        assert!(settled.contains(*id) && !reversed.contains(*id), "{id}");
    }
    // Off: no labels, and the files of a run without the option.
    let off = dir("off");
    let s = generate(
        &GenConfig {
            persons: 4_000,
            ..Default::default()
        },
        &off,
    )
    .unwrap();
    assert_eq!(s.audit_labels, 0);
    assert!(!off.join("audit-labels.csv").exists());
    for d in [a, b, off] {
        let _ = std::fs::remove_dir_all(d);
    }
}
