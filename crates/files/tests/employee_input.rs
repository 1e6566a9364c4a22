//! The employee fields from outside are checked: a bad `acct_used_flag` is `INVALID_CLAIM`
//! naming the field and value and changes nothing; bad employee fields in `persons.jsonl`
//! are refused naming the field and value.

use yibao_core::ledger::{settle, MemLedger};
use yibao_core::{ClaimDraft, LineDraft, LinesDraft, RejectCode, Val};
use yibao_files::refdir::person_from_json;
use yibao_files::{load_dir, load_policy};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_bad_account_flag_is_refused_naming_it() {
    let policy = load_policy(&root().join("policies/sample-county-employee-2024.toml")).unwrap();
    let refdata = load_dir(&root().join("tests/fixtures/sample-county-employee-2024")).unwrap();
    let mut ledger = MemLedger::new();
    for (flag, bad) in [(Val::Text("2"), "\"2\""), (Val::WrongType, "类型错误")] {
        let draft = ClaimDraft {
            claim_id: "X1",
            psn_no: Val::Text("P21000020"),
            fixmedins_code: Val::Text("H99010110000"),
            med_type: Val::Text("11"),
            begndate: Val::Text("2024-03-01"),
            enddate: Val::Text("2024-03-01"),
            dise_codg: Val::Text("J06.9"),
            acct_used_flag: flag,
            lines: LinesDraft::List(vec![LineDraft {
                code: Val::Text("D2100000"),
                price: Val::Text("100"),
                qty: Val::Text("1"),
                amount: Val::Text("100.00"),
                date: Val::Missing,
            }]),
        };
        let r = settle(&policy, &refdata, &mut ledger, &draft, false).unwrap_err();
        let r = r.refusal().unwrap();
        assert_eq!(r.code, RejectCode::InvalidClaim);
        assert!(
            r.message.contains("acct_used_flag") && r.message.contains(bad),
            "{}",
            r.message
        );
    }
    assert_eq!(ledger.settled_count(), 0);
    assert_eq!(ledger.person_years(), 0, "a refusal changes nothing");
}

#[test]
fn bad_employee_fields_in_persons_name_the_field() {
    let base = r#""psn_no": "E1", "certno": "990101198808080021", "name": "甲", "gend": "2", "brdy": "1988-08-08", "enrolments": [2024]"#;
    for (extra, field) in [
        (r#""insutype": "31""#, "insutype"),
        (r#""insutype": "310", "acct_balance": "-5""#, "acct_balance"),
        (
            r#""insutype": "310", "acct_balance": "12.345""#,
            "acct_balance",
        ),
        (r#""insutype": "310", "acct_balance": true"#, "acct_balance"),
        (
            r#""family_aid": [{"holder": "E1", "from": "2024-01-01", "to": "2024-12-31"}]"#,
            "family_aid",
        ),
        (
            r#""family_aid": [{"holder": "P1", "from": "2024-01-01", "to": "2023-12-31"}]"#,
            "family_aid",
        ),
    ] {
        let e = person_from_json(&format!("{{{base}, {extra}}}")).unwrap_err();
        assert!(e.contains(field), "{extra}: {e}");
    }
}
