//! The register on SQLite and PostgreSQL: IDs, categories, registrations, locks, enrolment,
//! the operation log, and settling with persons from the store.

mod common;

use common::{date, on_every_backend, op, root};
use yibao_core::ledger::{settle, MemLedger};
use yibao_core::{ClaimDraft, DateRange, LineDraft, LinesDraft, Policy, RefData, RejectCode, Val};
use yibao_store::{
    load_reference, Contribution, NewPerson, RegistrationKind, RegistrationState, Store,
    INSUTYPE_RESIDENT,
};

fn policy_text() -> String {
    std::fs::read_to_string(root().join("policies/sample-county-2024.toml")).unwrap()
}

fn policy() -> Policy {
    Policy::from_toml("sample-county-2024.toml", &policy_text()).unwrap()
}

fn fixtures() -> std::path::PathBuf {
    root().join("tests/fixtures/sample-county-2024")
}

/// The reference case as the command line reads it (the store only persists).
fn reference() -> yibao_core::refdata::ReferenceSet {
    yibao_files::refdir::read_reference(&fixtures()).unwrap()
}

/// A person registered, enrolled for 2024 and paid.
async fn enrolled_person(store: &Store, certno: &str, gend: &str, brdy: &str) -> String {
    let psn_no = store
        .register_person(
            &op(),
            &NewPerson {
                certno: certno.into(),
                name: "张三".into(),
                gend: gend.into(),
                brdy: date(brdy),
            },
        )
        .await
        .unwrap();
    store
        .enrol(&op(), &psn_no, INSUTYPE_RESIDENT, 2024, "H0001", "01")
        .await
        .unwrap();
    store
        .record_contribution(
            &op(),
            &Contribution {
                psn_no: psn_no.clone(),
                insutype: INSUTYPE_RESIDENT.into(),
                year: 2024,
                source: "personal".into(),
                amount_fen: 38_000,
                paid_on: date("2023-11-01"),
            },
        )
        .await
        .unwrap();
    psn_no
}

/// Reference institutions and catalogue plus every person in the store.
async fn refdata(store: &Store) -> RefData {
    let mut r = store.reference_data().await.unwrap();
    store.add_persons_to(&mut r).await.unwrap();
    r
}

fn inpatient<'a>(id: &'a str, psn_no: &'a str, day: &'a str) -> ClaimDraft<'a> {
    // 20,000 yuan of 甲类 services at a level-2 hospital.
    ClaimDraft {
        claim_id: id,
        psn_no: Val::Text(psn_no),
        fixmedins_code: Val::Text("H99010110004"),
        med_type: Val::Text("21"),
        begndate: Val::Text(day),
        enddate: Val::Text(day),
        dise_codg: Val::Text("I10"),
        acct_used_flag: Val::Missing,
        lines: LinesDraft::List(vec![LineDraft {
            code: Val::Text("S0100001"),
            price: Val::Text("20000"),
            qty: Val::Text("1"),
            amount: Val::Text("20000.00"),
            date: Val::Missing,
        }]),
    }
}

#[test]
fn bad_ids_are_refused_and_nothing_is_stored() {
    on_every_backend("bad_ids", |backend, store| async move {
        let cases = [
            ("110105194912310021", "2", "1949-12-31", "校验位"),
            ("110105194913310021", "2", "1949-12-31", "出生日期"),
            ("11010519491231002X", "2", "1949-12-30", "不一致"),
            ("11010519491231002X", "1", "1949-12-31", "性别"),
            ("1101051949123100", "2", "1949-12-31", "18"),
        ];
        for (certno, gend, brdy, needle) in cases {
            let err = store
                .register_person(
                    &op(),
                    &NewPerson {
                        certno: certno.into(),
                        name: "李四".into(),
                        gend: gend.into(),
                        brdy: date(brdy),
                    },
                )
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{backend}: {certno}: {err}");
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM persons")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{backend}");
        // A good ID, registered twice, is one person.
        let p = NewPerson {
            certno: "11010519491231002X".into(),
            name: "李四".into(),
            gend: "2".into(),
            brdy: date("1949-12-31"),
        };
        let a = store.register_person(&op(), &p).await.unwrap();
        let b = store.register_person(&op(), &p).await.unwrap();
        assert_eq!(a, b);
    });
}

#[test]
fn mid_year_category_change_affects_only_later_visits() {
    on_every_backend("categories", |backend, store| async move {
        let policy = policy();
        load_reference(&store, &op(), &policy, &policy_text(), &reference())
            .await
            .unwrap();
        let psn = enrolled_person(&store, "11010519491231002X", "2", "1949-12-31").await;
        // The 低保 list arrives in July: 低保 from 2024-07-01.
        let july = DateRange {
            from: date("2024-07-01"),
            to: date("2024-12-31"),
        };
        store
            .grant_category(&op(), &psn, "db", july, "民政低保名单 2024-07")
            .await
            .unwrap();
        let before = store
            .eligibility(&psn, date("2024-06-30"))
            .await
            .unwrap()
            .unwrap();
        let after = store
            .eligibility(&psn, date("2024-07-01"))
            .await
            .unwrap()
            .unwrap();
        assert!(before.categories.is_empty(), "{backend}");
        assert_eq!(after.categories, vec!["db".to_string()], "{backend}");
        assert!(before.eligible && after.eligible);

        let refdata = refdata(&store).await;
        let mut ledger = MemLedger::new();
        let june = settle(
            &policy,
            &refdata,
            &mut ledger,
            &inpatient("A", &psn, "2024-06-20"),
            false,
        )
        .unwrap();
        let mut ledger = MemLedger::new();
        let aug = settle(
            &policy,
            &refdata,
            &mut ledger,
            &inpatient("B", &psn, "2024-08-20"),
            false,
        )
        .unwrap();
        assert_eq!(
            june.amounts.maf_pay, 0,
            "{backend}: no 救助 before the list"
        );
        assert!(aug.amounts.maf_pay > 0, "{backend}: 救助 after the list");
        assert!(aug.amounts.psn_part_amt < june.amounts.psn_part_amt);

        // Leaving the list at the end of September ends the category then, and only then.
        store
            .end_category(
                &op(),
                &psn,
                "db",
                date("2024-09-30"),
                "民政低保名单 2024-10",
            )
            .await
            .unwrap();
        let oct = store
            .eligibility(&psn, date("2024-10-01"))
            .await
            .unwrap()
            .unwrap();
        let sep = store
            .eligibility(&psn, date("2024-09-30"))
            .await
            .unwrap()
            .unwrap();
        assert!(oct.categories.is_empty(), "{backend}");
        assert_eq!(sep.categories, vec!["db".to_string()], "{backend}");
    });
}

#[test]
fn registrations_follow_their_states() {
    on_every_backend("registrations", |backend, store| async move {
        let psn = enrolled_person(&store, "11010519491231002X", "2", "1949-12-31").await;
        let year = DateRange {
            from: date("2024-01-01"),
            to: date("2024-12-31"),
        };
        let reg = store
            .apply_registration(&op(), &psn, RegistrationKind::Chronic, "I10", year)
            .await
            .unwrap();
        let r = store
            .registration(&reg, date("2024-03-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.state, RegistrationState::Applied);
        assert_eq!(r.effective(), None, "an application gives nothing yet");
        // Terminating an application is refused, and changes nothing.
        let err = store
            .terminate_registration(&op(), &reg, date("2024-03-01"), "")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("申请") && err.contains("终止"),
            "{backend}: {err}"
        );
        store
            .decide_registration(&op(), &reg, true, date("2024-01-05"), "材料齐全")
            .await
            .unwrap();
        let err = store
            .decide_registration(&op(), &reg, false, date("2024-01-06"), "")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("审核通过"), "{backend}: {err}");
        let person = store.person(&psn).await.unwrap().unwrap();
        assert_eq!(person.chronic.len(), 1);
        assert_eq!(person.chronic[0].range, year);
        store
            .terminate_registration(&op(), &reg, date("2024-06-01"), "病情变化")
            .await
            .unwrap();
        let person = store.person(&psn).await.unwrap().unwrap();
        assert_eq!(person.chronic[0].range.to, date("2024-05-31"), "{backend}");
        let e = store
            .eligibility(&psn, date("2024-07-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.registrations[0].state, RegistrationState::Terminated);

        // A rejected 异地 application gives nothing; an approved one expires after its term.
        let off = store
            .apply_registration(&op(), &psn, RegistrationKind::Offsite, "", year)
            .await
            .unwrap();
        store
            .decide_registration(&op(), &off, false, date("2024-01-05"), "不符合条件")
            .await
            .unwrap();
        assert!(
            !store
                .eligibility(&psn, date("2024-02-01"))
                .await
                .unwrap()
                .unwrap()
                .offsite
        );
        let off2 = store
            .apply_registration(&op(), &psn, RegistrationKind::Offsite, "", year)
            .await
            .unwrap();
        store
            .decide_registration(&op(), &off2, true, date("2024-01-05"), "")
            .await
            .unwrap();
        assert!(
            store
                .eligibility(&psn, date("2024-02-01"))
                .await
                .unwrap()
                .unwrap()
                .offsite
        );
        let later = store
            .registration(&off2, date("2025-01-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(later.state, RegistrationState::Expired);
    });
}

#[test]
fn a_locked_person_is_refused_until_unlocked() {
    on_every_backend("locks", |backend, store| async move {
        let policy = policy();
        load_reference(&store, &op(), &policy, &policy_text(), &reference())
            .await
            .unwrap();
        let psn = enrolled_person(&store, "11010519491231002X", "2", "1949-12-31").await;
        store
            .lock_person(&op(), &psn, date("2024-03-01"), "冒名就医稽核立案")
            .await
            .unwrap();
        let e = store
            .eligibility(&psn, date("2024-03-05"))
            .await
            .unwrap()
            .unwrap();
        assert!(!e.eligible && e.paid, "{backend}");
        let refdata = refdata(&store).await;
        let mut ledger = MemLedger::new();
        let r = settle(
            &policy,
            &refdata,
            &mut ledger,
            &inpatient("L1", &psn, "2024-03-05"),
            false,
        )
        .unwrap_err();
        let r = r.refusal().unwrap();
        assert_eq!(r.code, RejectCode::NotEnrolled);
        assert!(r.message.contains("锁定"), "{}", r.message);
        // Before the lock the person was covered.
        assert!(settle(
            &policy,
            &refdata,
            &mut ledger,
            &inpatient("L0", &psn, "2024-02-05"),
            false
        )
        .is_ok());
        store
            .unlock_person(&op(), &psn, date("2024-04-01"))
            .await
            .unwrap();
        assert!(
            store
                .eligibility(&psn, date("2024-04-01"))
                .await
                .unwrap()
                .unwrap()
                .eligible
        );
        assert!(
            !store
                .eligibility(&psn, date("2024-03-31"))
                .await
                .unwrap()
                .unwrap()
                .eligible
        );
    });
}

#[test]
fn enrolment_twice_in_a_year_is_refused() {
    on_every_backend("enrol_twice", |backend, store| async move {
        let psn = enrolled_person(&store, "11010519491231002X", "2", "1949-12-31").await;
        let err = store
            .enrol(&op(), &psn, INSUTYPE_RESIDENT, 2024, "H0002", "01")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("H0001") && err.contains("重复"),
            "{backend}: {err}"
        );
        // Not paid → not eligible; the store says why through `paid`.
        let other = store
            .register_person(
                &op(),
                &NewPerson {
                    certno: "110105194912310011".into(),
                    name: "王五".into(),
                    gend: "1".into(),
                    brdy: date("1949-12-31"),
                },
            )
            .await
            .unwrap();
        store
            .enrol(&op(), &other, INSUTYPE_RESIDENT, 2024, "H0003", "01")
            .await
            .unwrap();
        let e = store
            .eligibility(&other, date("2024-05-01"))
            .await
            .unwrap()
            .unwrap();
        assert!(!e.paid && !e.eligible, "{backend}: enrolled but not paid");
        let log = store.operation_log().await.unwrap();
        assert!(log
            .iter()
            .any(|l| l.action == "参保登记" && l.operator == "测试员"));
    });
}

#[test]
fn settling_with_persons_from_the_store_equals_persons_jsonl() {
    on_every_backend("settle_equal", |backend, store| async move {
        let policy = policy();
        let report = load_reference(&store, &op(), &policy, &policy_text(), &reference())
            .await
            .unwrap();
        assert!(report.persons_added > 0);
        // Loading again adds nobody.
        let again = load_reference(&store, &op(), &policy, &policy_text(), &reference())
            .await
            .unwrap();
        assert_eq!(again.persons_added, 0);
        assert_eq!(again.persons_already_there, report.persons_added);

        let claims = std::fs::read(fixtures().join("claims.jsonl")).unwrap();
        let policies = yibao_core::PolicySet::one(policy.clone());
        let run = |refdata: &RefData| {
            let mut out = Vec::new();
            yibao_files::run_batch(
                &policies,
                refdata,
                &claims[..],
                &mut out,
                Default::default(),
            )
            .unwrap();
            out
        };
        let from_files = run(&yibao_files::load_dir(&fixtures()).unwrap());
        let from_store = run(&refdata(&store).await);
        assert_eq!(
            String::from_utf8(from_store).unwrap(),
            String::from_utf8(from_files).unwrap(),
            "{backend}"
        );
    });
}
