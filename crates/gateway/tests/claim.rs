//! One gateway process per SQLite database: a second gateway on the same file is refused
//! (it could not see the first one's writes); the crash test shows a restart after SIGKILL
//! gets the claim back.
//! PostgreSQL serialises through row locks and takes any number.

mod common;

use common::on_every_backend;
use yibao_gateway::{Gateway, MasterKey};

#[test]
fn second_gateway_on_one_sqlite_file_is_refused() {
    on_every_backend("gw_claim", |h| async move {
        let second = Gateway::new(h.store.clone(), MasterKey::from_bytes([9; 32])).await;
        match h.backend {
            "SQLite" => {
                let e = second.err().expect("第二个网关应被拒绝").to_string();
                assert!(e.contains("另一个网关进程"), "{e}");
            }
            _ => assert!(second.is_ok()),
        }
        h
    });
}
