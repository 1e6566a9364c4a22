//! `enrol import` on SQLite and PostgreSQL: all or nothing, row-level problems including the
//! ones only the store sees, 医疗救助代缴, subsidies by source, the payment window.

mod common;

use common::{date, on_every_backend, op, root};
use yibao_store::{import_roster, ImportOptions, Store};

const HEADER: &str =
    "证件号码,姓名,性别,出生日期,户号,与户主关系,人员类别,参保年度,个人缴费,财政补助";

fn write(name: &str, rows: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("yibao-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let mut text = vec![HEADER];
    text.extend_from_slice(rows);
    std::fs::write(&p, text.join("\n")).unwrap();
    p
}

async fn with_policy(store: &Store) {
    let path = root().join("policies/sample-county-2024.toml");
    let source = std::fs::read_to_string(&path).unwrap();
    let policy = yibao_core::Policy::from_toml("p", &source).unwrap();
    store.load_policy(&op(), &policy, &source).await.unwrap();
}

fn opts(paid_on: &str, skip_invalid: bool) -> ImportOptions {
    ImportOptions {
        skip_invalid,
        paid_on: date(paid_on),
        file: "名册.csv".into(),
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap()
}

const GOOD: [&str; 4] = [
    "11010519491231002X,李四,女,1949-12-31,H1,本人,,2024,380,670",
    "110105194912310011,王五,男,1949-12-31,H1,配偶,,2024,380,670",
    "110105201005050044,钱七,女,2010-05-05,H1,子女,低保,2024,0,670",
    "110105198001010032,赵六,男,1980-01-01,H2,户主,建档立卡,2024,190,670",
];

#[test]
fn a_roster_with_bad_rows_stores_nothing() {
    on_every_backend("import_bad", |backend, store| async move {
        with_policy(&store).await;
        // 赵六 is already enrolled for 2024 in household H9: only the store can tell.
        let first = write(
            "first.csv",
            &["110105198001010032,赵六,男,1980-01-01,H9,户主,,2024,380,670"],
        );
        let r = import_roster(
            &store,
            &op(),
            yibao_roster::read_roster(&first).unwrap(),
            &opts("2023-11-01", false),
        )
        .await
        .unwrap();
        assert!(r.committed && r.imported == 1, "{backend}: {r:?}");
        let before = (
            count(&store, "persons").await,
            count(&store, "contributions").await,
        );

        let mut rows = GOOD.to_vec();
        rows.push("110105194912310021,校验,女,1949-12-31,H3,本人,,2024,380,670");
        rows.push("110105198001010059,金额,男,1980-01-01,H4,本人,,2024,-1,670");
        let path = write("bad.csv", &rows);
        let roster = yibao_roster::read_roster(&path).unwrap();
        let r = import_roster(&store, &op(), roster, &opts("2023-11-01", false))
            .await
            .unwrap();
        assert!(!r.committed, "{backend}");
        let problems: Vec<(usize, &str)> = r
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str()))
            .collect();
        assert_eq!(
            problems,
            vec![(5, "证件号码"), (6, "证件号码"), (7, "个人缴费")],
            "{backend}: {:#?}",
            r.errors
        );
        assert!(
            r.errors[0].to_string().contains("户号 H9"),
            "{}",
            r.errors[0]
        );
        assert_eq!(r.rejected, 3);
        assert_eq!(
            (
                count(&store, "persons").await,
                count(&store, "contributions").await
            ),
            before,
            "{backend}: nothing stored"
        );
        let log = store.operation_log().await.unwrap();
        assert!(log.last().unwrap().result.contains("未导入"), "{backend}");

        // --skip-invalid: the three good rows go in.
        let roster = yibao_roster::read_roster(&path).unwrap();
        let r = import_roster(&store, &op(), roster, &opts("2023-11-01", true))
            .await
            .unwrap();
        assert!(r.committed, "{backend}");
        assert_eq!(
            (r.imported, r.rejected, r.households),
            (3, 3, 1),
            "{backend}"
        );
    });
}

#[test]
fn import_records_shares_subsidies_and_coverage() {
    on_every_backend("import_good", |backend, store| async move {
        with_policy(&store).await;
        let path = write("good.csv", &GOOD);
        let r = import_roster(
            &store,
            &op(),
            yibao_roster::read_roster(&path).unwrap(),
            &opts("2023-11-01", false),
        )
        .await
        .unwrap();
        assert!(r.committed, "{backend}: {:?}", r.errors);
        assert_eq!((r.rows_read, r.imported, r.households), (4, 4, 2));
        assert_eq!(r.by_category.get("db"), Some(&1));
        assert_eq!(r.by_category.get("普通"), Some(&2));
        // 低保: 代缴 380.00 in full; 建档立卡: half (190.00) plus his own 190.00.
        let psn = |certno: &'static str| {
            let store = store.clone();
            async move { store.psn_no_by_certno(certno).await.unwrap().unwrap() }
        };
        let qian = psn("110105201005050044").await;
        let zhao = psn("110105198001010032").await;
        let sum = |p: String, source: &'static str| {
            let store = store.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM contributions WHERE psn_no = $1 AND source = $2",
                )
                .bind(p)
                .bind(source)
                .fetch_one(store.pool())
                .await
                .unwrap()
            }
        };
        assert_eq!(sum(qian.clone(), "assistance").await, 38_000, "{backend}");
        assert_eq!(sum(zhao.clone(), "assistance").await, 19_000, "{backend}");
        assert_eq!(sum(zhao.clone(), "personal").await, 19_000, "{backend}");
        assert_eq!(sum(zhao.clone(), "central").await, 40_000, "{backend}");
        assert_eq!(sum(zhao.clone(), "county").await, 6_000, "{backend}");
        for p in [&qian, &zhao] {
            let e = store
                .eligibility(p, date("2024-01-02"))
                .await
                .unwrap()
                .unwrap();
            assert!(e.paid && e.eligible, "{backend}: {e:?}");
        }
        // Importing the same roster again: every row is already enrolled.
        let r = import_roster(
            &store,
            &op(),
            yibao_roster::read_roster(&path).unwrap(),
            &opts("2023-11-01", false),
        )
        .await
        .unwrap();
        assert!(!r.committed && r.rejected == 4, "{backend}");
        assert!(r.errors[0].reason.contains("重复导入"));
    });
}

#[test]
fn paying_after_the_window_means_a_waiting_period() {
    on_every_backend("import_late", |backend, store| async move {
        with_policy(&store).await;
        let path = write("late.csv", &GOOD[..1]);
        let r = import_roster(
            &store,
            &op(),
            yibao_roster::read_roster(&path).unwrap(),
            &opts("2024-03-01", false),
        )
        .await
        .unwrap();
        assert!(r.committed);
        let psn = store
            .psn_no_by_certno("11010519491231002x")
            .await
            .unwrap()
            .unwrap();
        // Paid 2024-03-01, outside the window: 90 days' wait, benefits from 2024-05-30.
        let e = store
            .eligibility(&psn, date("2024-05-29"))
            .await
            .unwrap()
            .unwrap();
        assert!(e.paid && !e.eligible, "{backend}");
        assert!(e.suspension.unwrap().reason.contains("等待期"));
        assert!(
            store
                .eligibility(&psn, date("2024-05-30"))
                .await
                .unwrap()
                .unwrap()
                .eligible
        );
        // An underpaid roster row (100.00 of 380.00) gives no benefits at all.
        let path = write(
            "under.csv",
            &["110105194912310011,王五,男,1949-12-31,H5,本人,,2024,100,670"],
        );
        import_roster(
            &store,
            &op(),
            yibao_roster::read_roster(&path).unwrap(),
            &opts("2023-11-01", false),
        )
        .await
        .unwrap();
        let wang = store
            .psn_no_by_certno("110105194912310011")
            .await
            .unwrap()
            .unwrap();
        let e = store
            .eligibility(&wang, date("2024-06-01"))
            .await
            .unwrap()
            .unwrap();
        assert!(!e.paid && !e.eligible, "{backend}");
    });
}
