//! Where things live: the workspace, the shared folder, the service stack's folder.

use std::path::{Path, PathBuf};

/// Root of the Wharf workspace (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// The read-only shared folder beside the workspace (specs, fixtures).
pub fn shared_dir() -> PathBuf {
    workspace_root().join("../shared")
}

/// The stack's folder: configs, logs, PID files, certificates, venv and npm prefix.
pub fn services_dir() -> PathBuf {
    workspace_root().join("target/services")
}

/// Cargo's target folder for builds started by xtask (honours `CARGO_TARGET_DIR`).
pub fn cargo_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The `cargo` that runs xtask (or the one on `PATH`).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
