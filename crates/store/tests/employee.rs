//! 城镇职工 on SQLite and PostgreSQL: a unit in arrears suspends its employees' benefits, a
//! deferral agreement restores them, paying in full ends the suspension; late fees and the
//! collection notice to the fen.

mod common;

use common::{date, on_every_backend, op, root};
use yibao_core::{DateRange, Policy, RejectCode};
use yibao_store::{Employment, NewPerson, Store};

async fn employee_policy(store: &Store) -> Policy {
    let source =
        std::fs::read_to_string(root().join("policies/sample-county-employee-2024.toml")).unwrap();
    let policy = Policy::from_toml("employee", &source).unwrap();
    store.load_policy(&op(), &policy, &source).await.unwrap();
    policy
}

#[test]
fn arrears_suspend_and_a_deferral_restores() {
    on_every_backend("employee", |backend, store| async move {
        let policy = employee_policy(&store).await;
        let rule = policy
            .contribution
            .as_ref()
            .unwrap()
            .employee
            .clone()
            .unwrap();
        let psn = store
            .register_person(
                &op(),
                &NewPerson {
                    certno: "110105198001010032".into(),
                    name: "赵六".into(),
                    gend: "1".into(),
                    brdy: date("1980-01-01"),
                },
            )
            .await
            .unwrap();
        store
            .add_employer(&op(), "U001", "示范县某机械厂")
            .await
            .unwrap();
        assert!(store.add_employer(&op(), "U001", "重复").await.is_err());
        store
            .employ(
                &op(),
                &Employment {
                    psn_no: psn.clone(),
                    unit_no: "U001".into(),
                    valid: DateRange {
                        from: date("2024-01-01"),
                        to: date("2024-12-31"),
                    },
                    retired: false,
                    pension_fen: 0,
                    civil_servant: false,
                },
            )
            .await
            .unwrap();
        // Base 5,000.00: unit 375.00 + personal 100.00 = 475.00 a month.
        store
            .declare_base(&op(), &psn, "U001", 2024, 500_000)
            .await
            .unwrap();
        // January paid on time; nothing more.
        store
            .record_unit_payment(&op(), "U001", 47_500, date("2024-01-15"))
            .await
            .unwrap();

        // Covered until February's grace ends (02-15 + 90 days = 05-15).
        let ok = store
            .eligibility(&psn, date("2024-05-15"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            ok.eligible && ok.insutype.as_deref() == Some("310"),
            "{backend}: {ok:?}"
        );
        let e = store
            .eligibility(&psn, date("2024-05-16"))
            .await
            .unwrap()
            .unwrap();
        assert!(!e.eligible, "{backend}");
        assert!(
            e.suspension.as_ref().unwrap().reason.contains("欠缴"),
            "{e:?}"
        );

        // The engine refuses a visit in the suspension with NOT_ENROLLED.
        let person = store.person(&psn).await.unwrap().unwrap();
        assert!(person.suspension_on(date("2024-05-20")).is_some());

        // Late fee and notice as of 2024-05-20: Feb 475.00 × 95 days, Mar × 66, Apr × 35,
        // May × 5 = 475.00 × 201 days × 0.05% = 47.7375 → 47.74.
        let facts = store.unit_facts("U001", 2024).await.unwrap();
        let arrears = yibao_store::unit_arrears(&rule, &facts, 2024, date("2024-05-20"));
        assert_eq!(arrears.outstanding(), 4 * 47_500);
        assert_eq!(arrears.late_fees(), 4_774, "{backend}");
        let notice = arrears
            .notice("U001", &facts.name, date("2024-05-20"))
            .unwrap();
        assert!(
            notice.text().contains("1900.00") && notice.text().contains("47.74"),
            "{}",
            notice.text()
        );

        // A deferral agreement from 05-01 keeps benefits on.
        store
            .add_deferral(
                &op(),
                "HJ2024-001",
                "U001",
                DateRange {
                    from: date("2024-05-01"),
                    to: date("2024-08-31"),
                },
            )
            .await
            .unwrap();
        assert!(
            store
                .eligibility(&psn, date("2024-05-20"))
                .await
                .unwrap()
                .unwrap()
                .eligible,
            "{backend}"
        );
        // …until it runs out (September, still unpaid).
        assert!(
            !store
                .eligibility(&psn, date("2024-09-01"))
                .await
                .unwrap()
                .unwrap()
                .eligible
        );
        // Paying everything due by then (Feb–Sep, 8 × 475.00) on 09-10 ends the suspension.
        store
            .record_unit_payment(&op(), "U001", 8 * 47_500, date("2024-09-10"))
            .await
            .unwrap();
        let e = store
            .eligibility(&psn, date("2024-09-11"))
            .await
            .unwrap()
            .unwrap();
        assert!(e.eligible, "{backend}: {e:?}");
        assert!(
            !store
                .eligibility(&psn, date("2024-09-05"))
                .await
                .unwrap()
                .unwrap()
                .eligible
        );

        // Engine check with the store's person: a visit on 09-05 is refused.
        let mut refdata = yibao_core::RefData::default();
        refdata
            .add_institution(yibao_core::refdata::Institution::new("H1", "县医院", "2").unwrap())
            .unwrap();
        let item = yibao_core::refdata::CatalogItem::from_row(&yibao_core::refdata::CatalogRow {
            code: "S1",
            name: "甲类",
            kind: "service",
            class: "A",
            ..Default::default()
        })
        .unwrap();
        refdata.add_catalog_item(item).unwrap();
        store.add_persons_to(&mut refdata).await.unwrap();
        let draft = |id: &'static str, day: &'static str| yibao_core::ClaimDraft {
            claim_id: id,
            psn_no: yibao_core::Val::Text(Box::leak(psn.clone().into_boxed_str())),
            fixmedins_code: yibao_core::Val::Text("H1"),
            med_type: yibao_core::Val::Text("21"),
            begndate: yibao_core::Val::Text(day),
            enddate: yibao_core::Val::Text(day),
            dise_codg: yibao_core::Val::Text("I10"),
            acct_used_flag: yibao_core::Val::Missing,
            lines: yibao_core::LinesDraft::List(vec![yibao_core::LineDraft {
                code: yibao_core::Val::Text("S1"),
                price: yibao_core::Val::Text("1000"),
                qty: yibao_core::Val::Text("1"),
                amount: yibao_core::Val::Text("1000.00"),
                date: yibao_core::Val::Missing,
            }]),
        };
        let mut ledger = yibao_core::MemLedger::new();
        let r = yibao_core::settle(
            &policy,
            &refdata,
            &mut ledger,
            &draft("E1", "2024-09-05"),
            false,
        );
        assert_eq!(
            r.unwrap_err().refusal().unwrap().code,
            RejectCode::NotEnrolled,
            "{backend}"
        );
        let ok = yibao_core::settle(
            &policy,
            &refdata,
            &mut ledger,
            &draft("E2", "2024-09-11"),
            false,
        )
        .unwrap();
        // Level 2, in service: deductible 600, 85% of 400.00 = 340.00.
        assert_eq!(ok.amounts.hifp_pay, 34_000, "{backend}");
    });
}

/// 个人账户划入 by the core's rule as the unit's payments stand, once per unit and month; a
/// retiree's from the pension whatever the unit paid; interest on the daily balances; the
/// employment's 公务员 flag reaches the engine's person.
#[test]
fn monthly_credits_and_interest_go_to_the_account_once() {
    on_every_backend("employee_account", |backend, store| async move {
        employee_policy(&store).await;
        let mut ids = Vec::new();
        for (certno, name, brdy) in [
            ("110105199001010010", "钱七", "1990-01-01"),
            ("110105195001010012", "孙八", "1950-01-01"),
        ] {
            let p = NewPerson {
                certno: certno.into(),
                name: name.into(),
                gend: "1".into(),
                brdy: date(brdy),
            };
            ids.push(store.register_person(&op(), &p).await.unwrap());
        }
        store
            .add_employer(&op(), "U002", "示范县财政局")
            .await
            .unwrap();
        let year = DateRange {
            from: date("2024-01-01"),
            to: date("2024-12-31"),
        };
        for (psn, retired) in [(&ids[0], false), (&ids[1], true)] {
            let e = Employment {
                psn_no: psn.clone(),
                unit_no: "U002".into(),
                valid: year,
                retired,
                pension_fen: if retired { 300_000 } else { 0 },
                civil_servant: true,
            };
            store.employ(&op(), &e).await.unwrap();
        }
        // Base 5,000.00 for the one in service: unit 375.00 + personal 100.00 a month.
        store
            .declare_base(&op(), &ids[0], "U002", 2024, 500_000)
            .await
            .unwrap();

        // March unpaid: only the retiree is credited, 2% of a 3,000.00 pension = 60.00.
        let r = store
            .credit_accounts(&op(), date("2024-03-01"), date("2024-03-20"))
            .await
            .unwrap();
        assert_eq!((r.persons, r.total_fen), (1, 6_000), "{backend}: {r:?}");
        // Jan–Mar paid on 03-25: the rerun credits the one in service, aged 34:
        // personal 100.00 + 0.8% of 5,000.00 = 140.00; the retiree is not credited twice.
        store
            .record_unit_payment(&op(), "U002", 3 * 47_500, date("2024-03-25"))
            .await
            .unwrap();
        let r = store
            .credit_accounts(&op(), date("2024-03-01"), date("2024-03-26"))
            .await
            .unwrap();
        assert_eq!(
            (r.persons, r.total_fen, r.already),
            (1, 14_000, 1),
            "{backend}"
        );
        let account = store.account(&ids[0], date("2024-12-31")).await.unwrap();
        assert_eq!(account.balance_fen, 14_000, "{backend}");
        assert_eq!(account.movements[0].kind, "credit");
        assert_eq!(account.movements[0].on_date, date("2024-03-26"));
        // Nothing before the day it was credited.
        assert_eq!(
            store
                .account(&ids[0], date("2024-03-25"))
                .await
                .unwrap()
                .balance_fen,
            0
        );

        // Interest at 1.5% on 140.00 held from 03-26 to 12-31 (281 days):
        // 14000 × 281 × 0.015 / 360 = 163.92 → 164 fen; the retiree's 60.00 since 03-20
        // (287 days): 6000 × 287 × 0.015 / 360 = 71.75 → 72 fen.
        let r = store.credit_interest(&op(), 2024).await.unwrap();
        assert_eq!((r.persons, r.total_fen), (2, 164 + 72), "{backend}: {r:?}");
        let again = store.credit_interest(&op(), 2024).await.unwrap();
        assert_eq!((again.persons, again.already), (0, 2), "{backend}");
        // The books: the credits and the interest each posted once, to the personal account.
        let v = store.ledger_check().await.unwrap();
        assert!(v.is_empty(), "{backend}: {v:?}");
        let report = store.fund_report(2024).await.unwrap();
        let employee = report.funds.iter().find(|f| f.insutype == "310").unwrap();
        assert_eq!(employee.spending(), 14_000 + 6_000 + 164 + 72, "{backend}");

        // The engine's person: 公务员, retired or not, and the credited balance.
        let p = store
            .person_on(&ids[1], date("2024-12-31"))
            .await
            .unwrap()
            .unwrap();
        assert!(p.scheme.civil_servant && p.scheme.retired, "{backend}");
        assert_eq!(p.scheme.insutype, "310");
        assert_eq!(p.scheme.acct_balance, 6_000 + 72, "{backend}");
        // 家庭共济: the holder must be another person with an employee enrolment; once
        // approved the registration reaches the engine's person.
        let kind = yibao_store::RegistrationKind::FamilyAid;
        let self_aid = store
            .apply_registration(&op(), &ids[1], kind, &ids[1], year)
            .await
            .unwrap_err();
        assert!(self_aid.to_string().contains("不能是本人"), "{self_aid}");
        let unknown = store
            .apply_registration(&op(), &ids[1], kind, "P99999999999", year)
            .await
            .unwrap_err();
        assert!(
            unknown.to_string().contains("不是职工医保参保人"),
            "{unknown}"
        );
        let reg = store
            .apply_registration(&op(), &ids[1], kind, &ids[0], year)
            .await
            .unwrap();
        store
            .decide_registration(&op(), &reg, true, date("2024-01-01"), "")
            .await
            .unwrap();
        let p = store
            .person_on(&ids[1], date("2024-06-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            p.aid_holder(date("2024-06-01")),
            Some(ids[0].as_str()),
            "{backend}"
        );
        // Every run is in the operation log, reruns included.
        let logged: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM operation_log WHERE action IN ('个人账户划入', '个人账户计息')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(logged, 4, "{backend}");
        // A month without a policy for its year is refused, in Chinese, and changes nothing.
        let err = store
            .credit_accounts(&op(), date("2025-01-01"), date("2025-01-20"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("2025"), "{err}");
    });
}
