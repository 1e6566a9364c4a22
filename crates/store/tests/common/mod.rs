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
        for (backend, store) in yibao_store::testing::stores(name).await {
            body(backend, store).await;
        }
    });
}
