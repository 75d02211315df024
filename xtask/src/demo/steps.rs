//! The demo's steps: timing, the narrative, and an honest record of what ran.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::paths;

/// The example binaries the demo runs, and the ones that failed to build.
const BINARIES: [&str; 5] = ["migrate", "promote", "pull-secret", "publish", "health"];

/// How a step ended.
enum Outcome {
    Done(String),
    Failed(String),
    Skipped(String),
}

/// The steps run so far, in order.
#[derive(Default)]
pub struct Steps {
    records: Vec<(String, Duration, Outcome)>,
}

/// The built binaries (in Cargo's target folder).
pub struct Binaries {
    dir: PathBuf,
    broken: BTreeSet<String>,
}

/// A finished binary run: exit code and stdout + stderr.
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output followed by standard error.
    pub text: String,
}

impl Run {
    /// Whether the binary exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl Binaries {
    /// The path of binary `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs binary `name` with `args` and extra environment variables.
    pub fn run(&self, name: &str, args: &[&str], env: &[(&str, String)]) -> Result<Run> {
        let output = Command::new(self.path(name))
            .args(args)
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .env("NO_COLOR", "1")
            .output()
            .with_context(|| format!("cannot run {name}"))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(Run {
            code: output.status.code(),
            text,
        })
    }
}

impl Steps {
    /// Builds the example binaries and the test kit; a binary that does not build is
    /// remembered so that its step is skipped.
    pub fn build(&mut self) -> Result<Binaries> {
        let started = Instant::now();
        println!("==> build the example binaries and the Harbor simulator");
        let mut broken = BTreeSet::new();
        if !cargo_build(&["-p", "wharf-examples", "--bins"]) {
            for name in BINARIES {
                if !cargo_build(&["-p", "wharf-examples", "--bin", name]) {
                    broken.insert(name.to_owned());
                }
            }
        }
        let testkit = cargo_build(&["-p", "wharf-testkit", "--bin", "wharf-testkit"]);
        let summary = if broken.is_empty() {
            "all built".to_owned()
        } else {
            format!(
                "did not build: {}",
                broken.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        let outcome = if testkit {
            Outcome::Done(summary)
        } else {
            Outcome::Failed("wharf-testkit did not build".to_owned())
        };
        self.record("build", started.elapsed(), outcome);
        anyhow::ensure!(
            testkit,
            "wharf-testkit did not build; the demo needs its Harbor simulator"
        );
        Ok(Binaries {
            dir: paths::cargo_target_dir().join("debug"),
            broken,
        })
    }

    /// Runs a step the rest depends on: a failure stops the demo.
    pub fn must<T>(&mut self, name: &str, step: impl FnOnce() -> Result<(String, T)>) -> Result<T> {
        println!("==> {name}");
        let started = Instant::now();
        match step() {
            Ok((summary, value)) => {
                self.record(name, started.elapsed(), Outcome::Done(summary));
                Ok(value)
            }
            Err(error) => {
                self.record(
                    name,
                    started.elapsed(),
                    Outcome::Failed(format!("{error:#}")),
                );
                Err(error.context(format!("demo step `{name}` failed")))
            }
        }
    }

    /// Runs a step that uses binary `binary`, or skips it (saying so) when it did not build.
    pub fn binary(
        &mut self,
        binaries: &Binaries,
        binary: &str,
        name: &str,
        step: impl FnOnce() -> Result<String>,
    ) {
        println!("==> {name}");
        if binaries.broken.contains(binary) || !binaries.path(binary).exists() {
            let reason =
                format!("SKIPPED: the `{binary}` binary did not build, so this step did not run");
            self.record(name, Duration::ZERO, Outcome::Skipped(reason));
            return;
        }
        let started = Instant::now();
        let outcome = match step() {
            Ok(summary) => Outcome::Done(summary),
            Err(error) => Outcome::Failed(format!("{error:#}")),
        };
        self.record(name, started.elapsed(), outcome);
    }

    fn record(&mut self, name: &str, took: Duration, outcome: Outcome) {
        let seconds = took.as_secs_f64();
        match &outcome {
            Outcome::Done(summary) => println!("    ok in {seconds:.1}s: {summary}\n"),
            Outcome::Failed(reason) => println!("    FAILED after {seconds:.1}s: {reason}\n"),
            Outcome::Skipped(reason) => println!("    {reason}\n"),
        }
        self.records.push((name.to_owned(), took, outcome));
    }

    /// Whether a step that ran failed.
    pub fn failed(&self) -> bool {
        self.records
            .iter()
            .any(|(.., outcome)| matches!(outcome, Outcome::Failed(_)))
    }

    /// Prints one line per step and the total time.
    pub fn summary(&self, total: Duration) {
        println!("Summary:");
        for (name, took, outcome) in &self.records {
            let status = match outcome {
                Outcome::Done(_) => "ok",
                Outcome::Failed(_) => "FAILED",
                Outcome::Skipped(_) => "skipped (did not run)",
            };
            println!("  {name:<40} {:>6.1}s  {status}", took.as_secs_f64());
        }
        println!("  {:<40} {:>6.1}s", "total", total.as_secs_f64());
    }
}

fn cargo_build(args: &[&str]) -> bool {
    Command::new(paths::cargo())
        .arg("build")
        .arg("--quiet")
        .args(args)
        .current_dir(paths::workspace_root())
        .status()
        .is_ok_and(|status| status.success())
}
