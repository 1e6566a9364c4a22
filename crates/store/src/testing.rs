//! Fresh stores for tests: SQLite in a new file and, when `YIBAO_TEST_POSTGRES` names a
//! server (CI sets it), PostgreSQL in a new schema. Used by the tests of every crate that
//! needs a database, so each runs the same way on both.

use crate::Store;

/// The runtime database tests run on: two workers, as on the CI machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("启动测试用异步运行时")
}

/// One fresh store per backend, named for the test (`name` must be a valid SQL identifier).
pub async fn stores(name: &str) -> Vec<(&'static str, Store)> {
    let mut out = Vec::new();
    for (backend, url) in urls(name).await {
        out.push((
            backend,
            Store::open(Some(&url)).await.expect("打开测试数据库"),
        ));
    }
    out
}

/// One fresh, empty database URL per backend (for tests that start `yibao` processes).
pub async fn urls(name: &str) -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("yibao-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("创建测试目录");
    let mut out = vec![(
        "SQLite",
        format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
    )];
    match std::env::var("YIBAO_TEST_POSTGRES") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("t_{name}");
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&base)
                .await
                .expect("连接 YIBAO_TEST_POSTGRES");
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&admin)
                .await
                .expect("准备测试模式");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await
                .expect("准备测试模式");
            let sep = if base.contains('?') { '&' } else { '?' };
            out.push((
                "PostgreSQL",
                format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            ));
        }
        _ => eprintln!("未设置 YIBAO_TEST_POSTGRES：{name} 只在 SQLite 上运行"),
    }
    out
}

/// Fault injection (SQLite): with `on`, the gateway's writing connection refuses to write
/// (`PRAGMA query_only = ON`, a real SQLite setting, not a fake error), so that the next
/// group commit fails with SQLite's own "attempt to write a readonly database": every
/// transaction in the group gets that error as a store fault (`StoreError::Sqlite`, not a
/// refusal: the gateway answers it as a system error), and nothing of it is recorded. The
/// setting holds for the connection open now (once a commit under way is done) and for each
/// one opened while it is on (a failed commit lets its connection go). With `on` false the
/// writer writes again, and the next commit works. The pool's connections and the gateway's
/// readers (read-only anyway) are not affected. Does nothing on PostgreSQL.
pub async fn set_sqlite_read_only(store: &Store, on: bool) -> crate::Result<()> {
    match &store.sqlite {
        Some(engine) => engine.set_read_only(on).await,
        None => Ok(()),
    }
}

/// A settlement as `load_settled` writes it (benchmarks): its visit, its record and its
/// journal entry, as the gateway would have written them.
#[derive(Clone, Debug)]
pub struct SettledRow {
    pub setl_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub med_type: String,
    pub begndate: yibao_core::Date,
    pub enddate: yibao_core::Date,
    pub amounts: yibao_core::Amounts,
    pub entry: Option<crate::journal::StoredEntry>,
}

/// Benchmarks only: writes already-settled visits (from a batch run of generated claims) in
/// bulk, with the rows and entries the gateway writes for each, so that a county-year of
/// books can be read back (`yibao bench-fund`). Bypasses the gateway; never for real data.
pub async fn load_settled(store: &Store, rows: &[SettledRow]) -> crate::Result<()> {
    use crate::{date_value, insert_many, now_text, Value};
    let now = now_text();
    let text = |s: &str| Value::Text(s.to_string());
    let mut conn = store.pool.acquire().await?;
    for chunk in rows.chunks(10_000) {
        let (mut visits, mut settlements, mut entries, mut postings) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in chunk {
            let a = &r.amounts;
            let mdtrt_id = format!("MD{}", r.setl_id);
            visits.push(vec![
                text(&mdtrt_id),
                text(&r.fixmedins_code),
                text(&r.psn_no),
                text(if r.med_type.starts_with('2') {
                    "ipt"
                } else {
                    "otp"
                }),
                text(&r.insutype),
                text(&r.med_type),
                text(""),
                text("02"),
                text(""),
                Value::Int(date_value(r.begndate)),
                Value::Int(date_value(r.enddate)),
                text(""),
                text("settled"),
                text(&now),
                text(&now),
            ]);
            let info: serde_json::Map<String, serde_json::Value> = a
                .fields()
                .iter()
                .map(|(k, v)| (k.to_string(), yibao_core::format_fen(*v).into()))
                .collect();
            settlements.push(vec![
                text(&r.setl_id),
                text(&mdtrt_id),
                text(&r.psn_no),
                text(&r.fixmedins_code),
                text(&r.insutype),
                text("11"),
                Value::Int(i64::from(r.enddate.year())),
                Value::Int(date_value(r.enddate)),
                Value::Int(a.medfee_sumamt),
                Value::Int(a.fund_pay_sumamt),
                Value::Int(a.acct_pay),
                text(""),
                text(&serde_json::json!({ "setlinfo": info }).to_string()),
                text(&now),
                text(&format!("M{}", r.setl_id)),
                Value::Int(a.hosp_part_amt),
                text(&r.med_type),
            ]);
            if let Some(e) = &r.entry {
                entries.push(vec![
                    text(&e.reference),
                    text(e.kind.code()),
                    text(&e.insutype),
                    Value::Int(i64::from(e.year)),
                    Value::Int(date_value(e.on_date)),
                    text(&now),
                ]);
                for (i, p) in e.postings.iter().enumerate() {
                    postings.push(vec![
                        text(&e.reference),
                        Value::Int(i as i64 + 1),
                        text(&p.account),
                        text(&p.sub),
                        Value::Int(p.debit),
                        Value::Int(p.credit),
                    ]);
                }
            }
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        insert_many(
            &mut tx,
            "visits",
            &[
                "mdtrt_id",
                "fixmedins_code",
                "psn_no",
                "kind",
                "insutype",
                "med_type",
                "ipt_otp_no",
                "mdtrt_cert_type",
                "mdtrt_cert_no",
                "begndate",
                "enddate",
                "dise_codg",
                "state",
                "opened_at",
                "updated_at",
            ],
            &visits,
        )
        .await?;
        insert_many(
            &mut tx,
            "settlements",
            &[
                "setl_id",
                "mdtrt_id",
                "psn_no",
                "fixmedins_code",
                "insutype",
                "clr_type",
                "year",
                "setl_date",
                "medfee_sumamt",
                "fund_pay_sumamt",
                "acct_pay",
                "delta",
                "output",
                "settled_at",
                "msgid",
                "hosp_part_amt",
                "med_type",
            ],
            &settlements,
        )
        .await?;
        insert_many(
            &mut tx,
            "journal_entries",
            &[
                "reference",
                "kind",
                "insutype",
                "year",
                "on_date",
                "recorded_at",
            ],
            &entries,
        )
        .await?;
        insert_many(
            &mut tx,
            "journal_postings",
            &[
                "reference",
                "line",
                "account",
                "sub",
                "debit_fen",
                "credit_fen",
            ],
            &postings,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}
