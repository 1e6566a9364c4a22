//! 重复参保 report on SQLite and PostgreSQL. Duplicates cannot be written through `enrol` or
//! an import, so the test plants them as migrated legacy rows would arrive.

mod common;

use common::{date, on_every_backend, op};
use yibao_store::{DuplicateKind, NewPerson, Store, INSUTYPE_EMPLOYEE, INSUTYPE_RESIDENT};

async fn person(store: &Store, certno: &str, name: &str, gend: &str, brdy: &str) -> String {
    store
        .register_person(
            &op(),
            &NewPerson {
                certno: certno.into(),
                name: name.into(),
                gend: gend.into(),
                brdy: date(brdy),
            },
        )
        .await
        .unwrap()
}

async fn plant(store: &Store, psn: &str, insutype: &str, hh: &str, school: &str) {
    sqlx::query(
        "INSERT INTO enrolments (psn_no, insutype, year, hh_no, school, recorded_at) \
         VALUES ($1, $2, 2024, $3, $4, 'legacy')",
    )
    .bind(psn)
    .bind(insutype)
    .bind(hh)
    .bind(school)
    .execute(store.pool())
    .await
    .unwrap();
    if insutype == INSUTYPE_EMPLOYEE {
        return;
    }
    sqlx::query(
        "INSERT INTO household_members (hh_no, psn_no, relation, year, recorded_at) \
         VALUES ($1, $2, '20', 2024, 'legacy')",
    )
    .bind(hh)
    .bind(psn)
    .execute(store.pool())
    .await
    .unwrap();
}

#[test]
fn duplicates_are_reported() {
    on_every_backend("duplicates", |backend, store| async move {
        let a = person(&store, "11010519491231002X", "李四", "2", "1949-12-31").await;
        let b = person(&store, "110105194912310011", "王五", "1", "1949-12-31").await;
        let c = person(&store, "110105198001010032", "赵六", "1", "1980-01-01").await;
        // The same 赵六 under a second ID number (check digit valid, other sequence).
        let d = person(&store, "110105198001010059", "赵六", "1", "1980-01-01").await;
        store
            .enrol(&op(), &a, INSUTYPE_RESIDENT, 2024, "H1", "01")
            .await
            .unwrap();
        // a: also in a second household (legacy migration).
        sqlx::query(
            "INSERT INTO household_members (hh_no, psn_no, relation, year, recorded_at) \
             VALUES ('H2', $1, '20', 2024, 'legacy')",
        )
        .bind(&a)
        .execute(store.pool())
        .await
        .unwrap();
        // b: 居民 at home and 职工 at a unit.
        plant(&store, &b, INSUTYPE_RESIDENT, "H3", "").await;
        plant(&store, &b, INSUTYPE_EMPLOYEE, "U1", "").await;
        // e: enrolled through a school, and listed in a home household too.
        let e = person(&store, "110105201005050044", "钱七", "2", "2010-05-05").await;
        plant(&store, &e, INSUTYPE_RESIDENT, "SCH01", "县第一中学").await;
        sqlx::query(
            "INSERT INTO household_members (hh_no, psn_no, relation, year, recorded_at) \
             VALUES ('H6', $1, '20', 2024, 'legacy')",
        )
        .bind(&e)
        .execute(store.pool())
        .await
        .unwrap();
        plant(&store, &c, INSUTYPE_RESIDENT, "H4", "").await;
        plant(&store, &d, INSUTYPE_RESIDENT, "H5", "").await;

        let report = store.duplicate_report(Some(2024)).await.unwrap();
        let kinds: Vec<(DuplicateKind, Vec<String>)> =
            report.iter().map(|f| (f.kind, f.psn_nos.clone())).collect();
        assert!(
            kinds.contains(&(DuplicateKind::TwoHouseholds, vec![a.clone()])),
            "{backend}: {report:?}"
        );
        assert!(
            kinds.contains(&(DuplicateKind::TwoSchemes, vec![b.clone()])),
            "{backend}"
        );
        assert!(
            kinds.contains(&(DuplicateKind::SchoolAndHome, vec![e.clone()])),
            "{backend}"
        );
        assert!(
            !kinds.contains(&(DuplicateKind::TwoHouseholds, vec![e.clone()])),
            "{backend}"
        );
        assert!(
            kinds.contains(&(DuplicateKind::SameNameAndBirth, vec![c.clone(), d.clone()])),
            "{backend}"
        );
        let masked = report
            .iter()
            .find(|f| f.kind == DuplicateKind::SameNameAndBirth)
            .unwrap();
        assert!(
            masked.detail.contains("110105********0032"),
            "{}",
            masked.detail
        );
        assert!(store.duplicate_report(Some(2023)).await.unwrap().is_empty());
    });
}
