//! Store::open on a database it cannot write, and the modes of what it creates (issue 15).

use std::time::{Duration, Instant};
use yibao_store::Store;

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("yibao-open-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A database SQLite opens read-only (`mode=ro`) is refused at once, in Chinese, naming
/// the file — not after a pool timeout.
#[test]
fn a_read_only_database_is_refused_fast_in_chinese() {
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        let d = dir("ro");
        std::fs::create_dir_all(&d).unwrap();
        let file = d.join("y.db");
        // An existing database, migrated, then opened read-only.
        drop(
            Store::open(Some(&format!("sqlite://{}?mode=rwc", file.display())))
                .await
                .unwrap(),
        );
        let started = Instant::now();
        let e = Store::open(Some(&format!("sqlite://{}?mode=ro", file.display())))
            .await
            .expect_err("只读数据库应被拒绝");
        let msg = e.to_string();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}: {msg}",
            started.elapsed()
        );
        assert!(msg.contains("只读") && msg.contains("y.db"), "{msg}");
    });
}

/// A new SQLite database is owner-only: its directory 0700, the file and its -wal and -shm
/// 0600 (ID numbers are in it).
#[cfg(unix)]
#[test]
fn a_new_database_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        let d = dir("modes");
        let data = d.join("yibao-data");
        let file = data.join("yibao.db");
        let store = Store::open(Some(&format!("sqlite://{}?mode=rwc", file.display())))
            .await
            .unwrap();
        store.checkpoint().await.unwrap();
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&data), 0o700, "数据目录 {}", data.display());
        for name in ["yibao.db", "yibao.db-wal", "yibao.db-shm"] {
            let p = data.join(name);
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
        drop(store);
    });
}

/// A database in a directory where no file can be created (even by root: `/proc`) is
/// refused at once, in Chinese, naming the directory.
#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_directory_is_refused_fast_in_chinese() {
    let rt = yibao_store::testing::runtime();
    rt.block_on(async {
        let started = Instant::now();
        let e = Store::open(Some("sqlite:///proc/yibao-test/yibao.db?mode=rwc"))
            .await
            .expect_err("不可写的目录应被拒绝");
        let msg = e.to_string();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}: {msg}",
            started.elapsed()
        );
        assert!(
            msg.contains("/proc/yibao-test") && msg.contains("数据目录"),
            "{msg}"
        );
        let e = Store::open(Some("sqlite:///proc/yibao.db?mode=rwc"))
            .await
            .expect_err("不可写的目录应被拒绝");
        let msg = e.to_string();
        assert!(msg.contains("/proc") && msg.contains("不可写"), "{msg}");
    });
}
