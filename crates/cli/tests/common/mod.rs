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
