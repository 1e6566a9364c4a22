//! yibao-files: the file adapters around the core — the reference data directory, the claims
//! JSONL format and the batch settlement runner behind `yibao settle`.

pub mod audit;
pub mod batch;
pub mod output;
pub mod record;
pub mod refdir;

pub use batch::{run_batch, BatchOptions, BatchStats};
pub use refdir::{load_dir, LoadError};

use std::path::Path;
use yibao_core::Policy;

/// Reads and validates a policy file; the error names the file, key and reason in Chinese.
/// Reads several policy files (one per scheme) into the set a run settles under.
pub fn load_policies(paths: &[std::path::PathBuf]) -> Result<yibao_core::PolicySet, String> {
    let policies = paths
        .iter()
        .map(|p| load_policy(p))
        .collect::<Result<Vec<_>, _>>()?;
    yibao_core::PolicySet::new(policies)
}

pub fn load_policy(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("无法读取政策文件 {}：{e}", path.display()))?;
    Policy::from_toml(&path.display().to_string(), &text).map_err(|e| e.to_string())
}
