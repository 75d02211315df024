//! `cargo xtask fuzz [--seconds N] [target…]`: runs each cargo-fuzz target of `fuzz/` for N
//! seconds (default 30) and prints the executions and findings of each.
//!
//! cargo-fuzz is installed with `cargo install cargo-fuzz --locked` when missing. libFuzzer
//! instrumentation needs `-Z` flags, which the stable toolchain accepts with
//! `RUSTC_BOOTSTRAP=1`; the targets are built with `--sanitizer none` (the crates forbid
//! `unsafe`, so AddressSanitizer would add build time and nothing else). Each corpus starts
//! from `fuzz/seeds/<target>/`, plus the Trivy fixtures of the shared folder for
//! `trivy_report`; corpora and crash artifacts stay in `fuzz/corpus/` and `fuzz/artifacts/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

use crate::paths;

/// Every fuzz target of `fuzz/Cargo.toml`.
const TARGETS: [&str; 6] = [
    "reference",
    "challenge",
    "link",
    "manifest",
    "trivy_report",
    "trivyignore",
];

/// Runs the fuzz targets.
pub fn run(args: &[String]) -> Result<()> {
    let (seconds, targets) = parse_args(args)?;
    ensure_cargo_fuzz()?;
    let fuzz_dir = paths::workspace_root().join("fuzz");
    let mut findings = 0;
    for target in &targets {
        let corpus = seed_corpus(&fuzz_dir, target)?;
        let outcome = run_target(&fuzz_dir, target, &corpus, seconds)?;
        println!(
            "fuzz {target}: {} executions in {seconds} s, corpus {} inputs, {}",
            outcome.executions.map_or("?".to_owned(), |n| n.to_string()),
            count_files(&corpus),
            if outcome.crashed {
                "FINDING (see fuzz/artifacts/)"
            } else {
                "no finding"
            }
        );
        findings += usize::from(outcome.crashed);
    }
    if findings > 0 {
        bail!("{findings} fuzz target(s) found a crash");
    }
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(u64, Vec<String>)> {
    let mut seconds = 30;
    let mut targets = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--seconds" {
            let value = rest.next().context("--seconds needs a value")?;
            seconds = value.parse().context("--seconds must be a whole number")?;
        } else if TARGETS.contains(&arg.as_str()) {
            targets.push(arg.clone());
        } else {
            bail!(
                "unknown fuzz argument `{arg}` (targets: {})",
                TARGETS.join(", ")
            );
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    Ok((seconds, targets))
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = Command::new(paths::cargo())
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    println!("installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new(paths::cargo())
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .context("run cargo install")?;
    if !status.success() {
        bail!("cargo install cargo-fuzz failed");
    }
    Ok(())
}

/// `fuzz/corpus/<target>/` holding the target's seeds (existing entries are kept).
fn seed_corpus(fuzz_dir: &Path, target: &str) -> Result<PathBuf> {
    let corpus = fuzz_dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus).with_context(|| format!("create {}", corpus.display()))?;
    let mut sources = vec![fuzz_dir.join("seeds").join(target)];
    if target == "trivy_report" {
        sources.push(paths::shared_dir().join("fixtures/trivy"));
    }
    for source in sources {
        let Ok(entries) = std::fs::read_dir(&source) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_file() && !name.to_string_lossy().starts_with('.') {
                std::fs::copy(&path, corpus.join(&name))
                    .with_context(|| format!("copy seed {}", path.display()))?;
            }
        }
    }
    Ok(corpus)
}

struct Outcome {
    executions: Option<u64>,
    crashed: bool,
}

fn run_target(fuzz_dir: &Path, target: &str, corpus: &Path, seconds: u64) -> Result<Outcome> {
    let target_dir = paths::cargo_target_dir().join("fuzz");
    let output = Command::new(paths::cargo())
        .current_dir(fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "--sanitizer", "none", "--target-dir"])
        .arg(&target_dir)
        .arg(target)
        .arg(corpus)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .args(["-print_final_stats=1", "-rss_limit_mb=2048", "-timeout=10"])
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("run cargo fuzz for {target}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let executions = log
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok());
    let crashed = !output.status.success();
    if crashed {
        eprintln!("{}", tail(&log, 40));
    }
    Ok(Outcome {
        executions,
        crashed,
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.flatten().count())
}
