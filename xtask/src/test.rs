//! `cargo xtask test`: the whole check, as CI runs it.
//!
//! Brings the service stack up, then runs fmt, clippy, doc, the Harbor codegen check (when the
//! generator exists) and every test with the service environment. Optional features that CI
//! covers (`CI_FEATURES`) are on in each workspace-wide step. Every step runs even after a
//! failure, so one run shows all problems; the summary has one line per step.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::{codegen, paths, services};

/// Optional features that CI compiles, lints, documents and tests too. Added to every
/// workspace-wide invocation so that clippy, doc and test resolve the same feature set (one
/// build of the dependencies, not two).
const CI_FEATURES: &str = "wharf-examples/kube";

/// A cargo command run as one step.
struct CargoStep {
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

/// The static checks, in order.
const CARGO_CHECKS: [CargoStep; 3] = [
    CargoStep {
        name: "cargo fmt --check",
        args: &["fmt", "--all", "--", "--check"],
        env: &[],
    },
    CargoStep {
        name: "cargo clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            CI_FEATURES,
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    CargoStep {
        name: "cargo doc",
        args: &["doc", "--workspace", "--no-deps", "--features", CI_FEATURES],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
];

/// The outcome of one step.
struct StepResult {
    name: String,
    outcome: Outcome,
    took: Duration,
}

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Runs every step and fails if any failed.
pub fn run(args: &[String]) -> Result<()> {
    if !args.is_empty() {
        bail!("usage: cargo xtask test");
    }
    let mut results = Vec::new();

    let mut environment = Vec::new();
    results.push(timed("services up", || {
        let stack = services::up()?;
        environment = stack.environment();
        Ok(())
    }));

    for step in CARGO_CHECKS {
        results.push(timed(step.name, || cargo(step.args, step.env, &[])));
    }

    results.push(codegen_check());
    results.push(timed("cargo test", || {
        cargo(
            &["test", "--workspace", "--features", CI_FEATURES],
            &[],
            &environment,
        )
    }));

    print_summary(&results)
}

fn codegen_check() -> StepResult {
    let generator = paths::workspace_root().join("xtask/src/codegen/harbor.rs");
    if is_placeholder(&generator) {
        println!("note: skipping `codegen harbor --check`: the generator is still a placeholder");
        return StepResult {
            name: "codegen harbor --check".to_owned(),
            outcome: Outcome::Skipped("generator not written yet".to_owned()),
            took: Duration::ZERO,
        };
    }
    timed("codegen harbor --check", || {
        codegen::run(&["harbor".to_owned(), "--check".to_owned()])
    })
}

fn is_placeholder(path: &Path) -> bool {
    std::fs::read_to_string(path).map_or(true, |text| text.contains("XTASK_PLACEHOLDER"))
}

fn timed(name: &str, step: impl FnOnce() -> Result<()>) -> StepResult {
    println!("==> {name}");
    let started = Instant::now();
    let outcome = match step() {
        Ok(()) => Outcome::Passed,
        Err(error) => {
            eprintln!("{name} failed: {error:#}");
            Outcome::Failed(format!("{error:#}"))
        }
    };
    StepResult {
        name: name.to_owned(),
        outcome,
        took: started.elapsed(),
    }
}

fn cargo(
    args: &[&str],
    extra_env: &[(&str, &str)],
    services_env: &[(String, String)],
) -> Result<()> {
    let status = Command::new(paths::cargo())
        .args(args)
        .envs(extra_env.iter().copied())
        .envs(services_env.iter().map(|(k, v)| (k, v)))
        .current_dir(paths::workspace_root())
        .status()?;
    if !status.success() {
        bail!("exited with {status}");
    }
    Ok(())
}

fn print_summary(results: &[StepResult]) -> Result<()> {
    println!("\nxtask test summary:");
    let mut failed = 0;
    for result in results {
        let (label, detail) = match &result.outcome {
            Outcome::Passed => ("ok", String::new()),
            Outcome::Failed(reason) => {
                failed += 1;
                ("FAILED", first_line(reason))
            }
            Outcome::Skipped(reason) => ("skipped", reason.clone()),
        };
        println!(
            "  {label:<8} {:<24} {:>7.1}s  {detail}",
            result.name,
            result.took.as_secs_f64()
        );
    }
    if failed > 0 {
        bail!("{failed} of {} steps failed", results.len());
    }
    println!("all {} steps succeeded", results.len());
    Ok(())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
