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
