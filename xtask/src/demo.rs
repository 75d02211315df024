//! `cargo xtask demo`: shows Wharf working against the local service stack.
//!
//! For now the demo brings the stack up and shows that every service is healthy; later issues
//! add steps that run Wharf's crates against it. It reports only what it actually ran.

use std::time::Instant;

use anyhow::Result;

use crate::services::{self, Outcome};

/// Runs the demo.
pub fn run(_args: &[String]) -> Result<()> {
    let started = Instant::now();
    println!("Wharf demo: starting the local service stack (installs what is missing)...");
    let stack = services::up()?;

    let reused = stack
        .outcomes
        .iter()
        .filter(|(.., outcome, _)| *outcome == Outcome::Reused)
        .count();
    let total = stack.outcomes.len();
    println!(
        "\n{total} services are healthy on 127.0.0.1 ({} started now, {reused} already running), \
         in {:.1}s:",
        total - reused,
        started.elapsed().as_secs_f64()
    );
    println!("  - four OCI registries (distribution): plain, htpasswd, token auth, TLS");
    println!("  - the testkit token service that signs the token registry's JWTs");
    println!("  - moto (ECR API), Prism mocks of the Harbor and Gitea APIs");
    println!("  - pypiserver and verdaccio as package indexes");
    println!("\nUse them from a shell with: eval \"$(cargo xtask services env)\"");
    println!("Stop them with: cargo xtask services down");
    Ok(())
}
