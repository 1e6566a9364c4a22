//! The operation log is written in the same transaction as the change it records: when the
//! log line cannot be written, the change is not made either; when it is made, exactly one
//! line records it. Every kind of register change, on SQLite and PostgreSQL.

mod common;

use common::{date, on_every_backend, op, root};
use std::future::Future;
use yibao_core::DateRange;
use yibao_store::{
    import_roster, load_reference, Backend, Contribution, Employment, ImportOptions, NewPerson,
    RegistrationKind, Store,
};

/// Every table a register change writes, and the operation log last.
const TABLES: [&str; 17] = [
    "persons",
    "enrolments",
    "household_members",
    "contributions",
    "person_categories",
    "registrations",
    "registration_events",
    "locks",
    "employers",
    "employments",
    "contribution_bases",
    "unit_payments",
    "deferrals",
    "policies",
    "institutions",
    "catalog_items",
    "operation_log",
];

async fn counts(store: &Store) -> Vec<i64> {
    let mut out = Vec::new();
    for t in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(store.pool())
            .await
            .unwrap();
        out.push(n);
    }
    out
}

/// Makes every insert into the operation log fail (or lets them through again).
async fn refuse_log_lines(store: &Store, refuse: bool) {
    let statements: &[&str] = match (store.backend(), refuse) {
        (Backend::Sqlite, true) => &["CREATE TRIGGER refuse_log BEFORE INSERT ON operation_log \
             BEGIN SELECT RAISE(ABORT, 'operation log refused'); END"],
        (Backend::Sqlite, false) => &["DROP TRIGGER refuse_log"],
        (Backend::Postgres, true) => &[
            "CREATE OR REPLACE FUNCTION refuse_log() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'operation log refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_log BEFORE INSERT ON operation_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_log()",
        ],
        (Backend::Postgres, false) => &["DROP TRIGGER refuse_log ON operation_log"],
    };
    for s in statements {
        sqlx::query(s).execute(store.pool()).await.unwrap();
    }
}

/// Runs `change` with the operation log refusing lines: it must fail and write nothing.
/// Returns the counts before.
async fn fails_without_its_log_line<T, E, F, Fut>(
    backend: &str,
    store: &Store,
    what: &str,
    change: &F,
) -> Vec<i64>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let before = counts(store).await;
    refuse_log_lines(store, true).await;
    let failed = change().await;
    refuse_log_lines(store, false).await;
    assert!(
        failed.is_err(),
        "{backend} {what}: went through without its log line"
    );
    assert_eq!(
        counts(store).await,
        before,
        "{backend} {what}: written although its log line was not ({TABLES:?})"
    );
    before
}

/// A change: fails, writing nothing, while its log line cannot be written; then succeeds,
/// writing exactly one log line and changing something else.
async fn step<T, E, F, Fut>(backend: &str, store: &Store, what: &str, change: F) -> T
where
    E: std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let before = fails_without_its_log_line(backend, store, what, &change).await;
    let result = change().await;
    let after = counts(store).await;
    let log = TABLES.len() - 1;
    assert_eq!(
        after[log],
        before[log] + 1,
        "{backend} {what}: not exactly one log line"
    );
    assert_ne!(
        after[..log],
        before[..log],
        "{backend} {what}: changed nothing"
    );
    result.unwrap_or_else(|e| panic!("{backend} {what}: {e:?}"))
}

/// A change the store refuses and logs: with the log working, refused, one log line (the
/// refusal) and nothing else written.
async fn refused_step<T, E, F, Fut>(backend: &str, store: &Store, what: &str, change: F)
where
    T: std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let before = fails_without_its_log_line(backend, store, what, &change).await;
    let result = change().await;
    let after = counts(store).await;
    let log = TABLES.len() - 1;
    assert!(
        result.is_err(),
        "{backend} {what}: not refused: {:?}",
        result.ok()
    );
    assert_eq!(
        after[log],
        before[log] + 1,
        "{backend} {what}: not exactly one log line"
    );
    assert_eq!(
        after[..log],
        before[..log],
        "{backend} {what}: refused, yet written"
    );
}

fn policy() -> (yibao_core::Policy, String) {
    let source = std::fs::read_to_string(root().join("policies/sample-county-2024.toml")).unwrap();
    let policy = yibao_core::Policy::from_toml("sample-county-2024.toml", &source).unwrap();
    (policy, source)
}

fn year(y: u32) -> DateRange {
    DateRange {
        from: yibao_core::Date::from_ymd(y, 1, 1).unwrap(),
        to: yibao_core::Date::from_ymd(y, 12, 31).unwrap(),
    }
}

#[test]
fn every_register_change_commits_with_exactly_its_log_line() {
    on_every_backend("oplog_atomic", |backend, store| async move {
        let op = op();
        let (policy, source) = policy();
        let reference =
            yibao_files::refdir::read_reference(&root().join("tests/fixtures/sample-county-2024"))
                .unwrap();
        let store = &store;
        let op = &op;

        step(backend, store, "加载政策", || {
            store.load_policy(op, &policy, &source)
        })
        .await;
        step(backend, store, "加载参考数据", || {
            load_reference(store, op, &policy, &source, &reference)
        })
        .await;
        let person = NewPerson {
            certno: "110105198001010032".into(),
            name: "赵六".into(),
            gend: "1".into(),
            brdy: date("1980-01-01"),
        };
        let psn = step(backend, store, "登记人员", || {
            store.register_person(op, &person)
        })
        .await;
        let psn = psn.as_str();
        step(backend, store, "参保登记", || {
            store.enrol(op, psn, "390", 2025, "H77", "01")
        })
        .await;
        let paid = Contribution {
            psn_no: psn.into(),
            insutype: "390".into(),
            year: 2025,
            source: "personal".into(),
            amount_fen: 38_000,
            paid_on: date("2024-11-01"),
        };
        step(backend, store, "记录缴费", || {
            store.record_contribution(op, &paid)
        })
        .await;
        step(backend, store, "认定人员类别", || {
            store.grant_category(op, psn, "db", year(2025), "民政")
        })
        .await;
        step(backend, store, "终止人员类别", || {
            store.end_category(op, psn, "db", date("2025-06-30"), "民政")
        })
        .await;
        let reg_no = step(backend, store, "备案申请", || {
            store.apply_registration(op, psn, RegistrationKind::Chronic, "M03900", year(2025))
        })
        .await;
        let reg_no = reg_no.as_str();
        step(backend, store, "备案审核", || {
            store.decide_registration(op, reg_no, true, date("2025-01-02"), "")
        })
        .await;
        step(backend, store, "备案终止", || {
            store.terminate_registration(op, reg_no, date("2025-09-01"), "")
        })
        .await;
        // A refused transition is logged (its refusal) and changes nothing.
        refused_step(backend, store, "备案状态变更（拒绝）", || {
            store.decide_registration(op, reg_no, true, date("2025-09-02"), "")
        })
        .await;
        step(backend, store, "锁定人员", || {
            store.lock_person(op, psn, date("2025-03-01"), "稽核")
        })
        .await;
        step(backend, store, "解除锁定", || {
            store.unlock_person(op, psn, date("2025-04-01"))
        })
        .await;
        step(backend, store, "登记参保单位", || {
            store.add_employer(op, "U001", "某某公司")
        })
        .await;
        let job = Employment {
            psn_no: psn.into(),
            unit_no: "U001".into(),
            valid: year(2026),
            retired: false,
            pension_fen: 0,
            civil_servant: false,
        };
        step(backend, store, "职工参保登记", || {
            store.employ(op, &job)
        })
        .await;
        step(backend, store, "申报缴费基数", || {
            store.declare_base(op, psn, "U001", 2026, 500_000)
        })
        .await;
        step(backend, store, "单位缴款", || {
            store.record_unit_payment(op, "U001", 100_000, date("2026-02-10"))
        })
        .await;
        step(backend, store, "签订缓缴协议", || {
            store.add_deferral(op, "D001", "U001", year(2026))
        })
        .await;
        let roster =
            "证件号码,姓名,性别,出生日期,户号,与户主关系,人员类别,参保年度,个人缴费,财政补助\n\
                      11010519491231002X,李四,女,1949-12-31,H1,本人,,2024,380,670\n";
        let opts = ImportOptions {
            skip_invalid: false,
            paid_on: date("2023-11-01"),
            file: "名册.csv".into(),
        };
        step(backend, store, "导入参保名册", || async {
            let roster = yibao_roster::read_roster_csv_bytes(roster.as_bytes()).unwrap();
            let r = import_roster(store, op, roster, &opts).await?;
            assert!(r.committed, "{backend}: {r:?}");
            Ok::<_, yibao_store::StoreError>(r)
        })
        .await;
    });
}
