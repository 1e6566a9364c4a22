//! Runs each store test on SQLite (a fresh file) and, when `YIBAO_TEST_POSTGRES` names a
//! server (CI sets it), on PostgreSQL in a fresh schema.

#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use yibao_store::{Operator, Store};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn op() -> Operator {
    Operator("测试员".into())
}

pub fn date(s: &str) -> yibao_core::Date {
    yibao_core::Date::parse(s).unwrap()
}

async fn stores(name: &str) -> Vec<(&'static str, Store)> {
    let dir = std::env::temp_dir().join(format!("yibao-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    let mut out = vec![("SQLite", Store::open(Some(&url)).await.unwrap())];
    match std::env::var("YIBAO_TEST_POSTGRES") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("t_{name}");
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&base).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&admin)
                .await
                .unwrap();
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await
                .unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            out.push(("PostgreSQL", Store::open(Some(&url)).await.unwrap()));
        }
        _ => eprintln!("未设置 YIBAO_TEST_POSTGRES：{name} 只在 SQLite 上运行"),
    }
    out
}

/// Runs `body` once per backend.
pub fn on_every_backend<F, Fut>(name: &str, body: F)
where
    F: Fn(&'static str, Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for (backend, store) in stores(name).await {
            body(backend, store).await;
        }
    });
}
