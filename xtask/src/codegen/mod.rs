//! `cargo xtask codegen <name> [args]`: code generators, one submodule each.

mod harbor;

use anyhow::{Result, bail};

/// Runs the generator named by the first argument with the remaining ones.
pub fn run(args: &[String]) -> Result<()> {
    match args.split_first() {
        Some((name, rest)) if name == "harbor" => harbor::run(rest),
        _ => bail!("usage: cargo xtask codegen harbor [--check]"),
    }
}
