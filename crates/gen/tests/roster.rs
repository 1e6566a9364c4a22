//! The generated roster is valid under the import rules, deterministic, and county-like.

#[test]
fn generated_roster_passes_every_check() {
    let dir = std::env::temp_dir().join(format!("yibao-gen-roster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("roster.csv");
    let mut bytes = Vec::new();
    let s = yibao_gen::write_roster_csv(&mut bytes, 7, 20_000, 2024).unwrap();
    let mut again = Vec::new();
    yibao_gen::write_roster_csv(&mut again, 7, 20_000, 2024).unwrap();
    assert_eq!(bytes, again, "same seed, same bytes");
    std::fs::write(&path, &bytes).unwrap();
    let r = yibao_roster::read_roster(&path).unwrap();
    assert!(
        r.errors.is_empty(),
        "{:?}",
        &r.errors[..r.errors.len().min(5)]
    );
    assert_eq!(
        (r.rows_read, r.rows.len(), s.rows),
        (20_000, 20_000, 20_000)
    );
    let per_household = s.rows as f64 / s.households as f64;
    assert!((2.0..4.0).contains(&per_household), "{per_household}");
    let poor = s.poor as f64 / s.rows as f64;
    assert!((0.05..0.10).contains(&poor), "{poor}");
}
