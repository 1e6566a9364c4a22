//! Reading the whole register for a batch run (`add_persons_to`, in chunks of person numbers)
//! gives every person exactly as reading them one at a time does, across chunk boundaries,
//! with categories, registrations and locks, on SQLite and PostgreSQL.

mod common;

use common::{date, on_every_backend, op, root};
use yibao_core::{DateRange, RefData};
use yibao_store::{import_roster, ImportOptions, RegistrationKind};

const PERSONS: usize = 12_000;

#[test]
fn bulk_read_equals_one_at_a_time() {
    on_every_backend("bulk_read", |backend, store| async move {
        let path = root().join("policies/sample-county-2024.toml");
        let source = std::fs::read_to_string(&path).unwrap();
        let policy = yibao_core::Policy::from_toml("p", &source).unwrap();
        store.load_policy(&op(), &policy, &source).await.unwrap();
        let dir = std::env::temp_dir().join(format!("yibao-bulk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{backend}.csv"));
        yibao_gen::write_roster_csv(std::fs::File::create(&file).unwrap(), 7, PERSONS, 2024)
            .unwrap();
        let report = import_roster(
            &store,
            &op(),
            yibao_roster::read_roster(&file).unwrap(),
            &ImportOptions {
                skip_invalid: false,
                paid_on: date("2023-11-01"),
                file: "名册.csv".into(),
            },
        )
        .await
        .unwrap();
        assert!(report.committed, "{backend}: {report:?}");
        let all = store.all_psn_nos().await.unwrap();
        assert_eq!(all.len(), PERSONS);
        // Facts on persons at and beside the chunk boundaries (5,000 a chunk).
        let year = DateRange {
            from: date("2024-01-01"),
            to: date("2024-12-31"),
        };
        for (k, i) in [0, 4_999, 5_000, 5_001, 9_999, 10_000, PERSONS - 1]
            .into_iter()
            .enumerate()
        {
            let psn = &all[i];
            let reg = store
                .apply_registration(&op(), psn, RegistrationKind::Chronic, "I10", year)
                .await
                .unwrap();
            store
                .decide_registration(&op(), &reg, k % 2 == 0, date("2024-01-05"), "")
                .await
                .unwrap();
            if k % 3 == 0 {
                store
                    .lock_person(&op(), psn, date("2024-03-01"), "稽核立案")
                    .await
                    .unwrap();
            }
        }
        let mut bulk = RefData::default();
        assert_eq!(store.add_persons_to(&mut bulk).await.unwrap(), PERSONS);
        assert_eq!(bulk.persons.len(), PERSONS);
        let mut with_facts = 0;
        for p in &bulk.persons {
            let one = store.person(&p.psn_no).await.unwrap().unwrap();
            assert_eq!(
                format!("{one:?}"),
                format!("{p:?}"),
                "{backend}: {}",
                p.psn_no
            );
            with_facts += usize::from(!p.chronic.is_empty() || !p.suspensions.is_empty());
        }
        assert!(with_facts >= 4, "{backend}: {with_facts}");
        assert!(bulk.persons.iter().any(|p| !p.categories.is_empty()));
    });
}
