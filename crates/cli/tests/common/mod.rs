//! What the tests that drive the `yibao` binary share: the repository root, a successful
//! `yibao` run, and waiting for a spawned `yibao serve` to be healthy.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use yibao_his::HisClient;

pub const POLICY: &str = "policies/sample-county-2024.toml";
pub const DATA: &str = "tests/fixtures/sample-county-2024";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `yibao args` in the repository root; its standard output (it must succeed).
pub fn yibao(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "yibao {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Waits (at most 30 seconds) until the gateway behind `client` answers `/healthz`.
pub async fn wait_healthy(client: &HisClient) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client.healthy().await {
            return;
        }
        assert!(Instant::now() < deadline, "网关 30 秒内没有就绪");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kills the child (a spawned `yibao serve`) if the test fails on the way.
pub struct Child(pub Option<std::process::Child>);

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A fresh SQLite database under the temporary directory `yibao-{tag}-{pid}` with the sample
/// county loaded and a key issued to `institution`: (directory, database URL, master key file,
/// the institution's secret).
pub fn loaded_county(tag: &str, institution: &str) -> (PathBuf, String, PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("yibao-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    let key_file = dir.join("master.key");
    yibao(&[
        "load",
        "--policy",
        POLICY,
        "--data",
        DATA,
        "--database",
        &url,
    ]);
    let secret = yibao(&[
        "keys",
        "issue",
        "--institution",
        institution,
        "--database",
        &url,
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    (dir, url, key_file, secret.trim().to_string())
}

/// A loopback address with a port free right now.
pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}
