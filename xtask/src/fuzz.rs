//! `cargo xtask fuzz` (placeholder until its author replaces this file).
//!
//! XTASK_PLACEHOLDER

use anyhow::{Result, bail};

/// Runs the fuzz targets.
pub fn run(_args: &[String]) -> Result<()> {
    bail!("fuzzing is not written yet (placeholder)")
}
