//! `cargo xtask bench <name> [args]`: benchmarks, one submodule each.

mod copy;
mod trivy;

use anyhow::{Result, bail};

/// Runs the benchmark named by the first argument with the remaining ones.
pub fn run(args: &[String]) -> Result<()> {
    match args.split_first() {
        Some((name, rest)) if name == "trivy" => trivy::run(rest),
        Some((name, rest)) if name == "copy" => copy::run(rest),
        _ => bail!("usage: cargo xtask bench trivy|copy [args]"),
    }
}
