//! `scan-gate`: decide in CI whether an image may be promoted, from Trivy's JSON report.
//!
//! ```text
//! scan-gate REPORT [--severity CRITICAL,HIGH] [--ignore-unfixed] [--ignorefile .trivyignore]
//!                  [--policy gate.toml] [--format table|markdown|json]
//! ```
//!
//! The report is filtered as Trivy would filter it with the same flags, then judged by the
//! policy (without `--policy`: fail on any finding left, like `trivy --exit-code 1`).
//! Exit codes: 0 passed, 1 the gate failed, 2 usage errors and unreadable inputs.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use wharf_examples::cli::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use wharf_trivy_report::policy::Policy;
use wharf_trivy_report::{Clock, FilterOptions, IgnoreConfig, Report, Severity, render};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A terminal table.
    Table,
    /// Markdown for CI job summaries and pull requests.
    Markdown,
    /// JSON with the counts by severity after filtering and the decision.
    Json,
}

const EXAMPLES: &str = "\
Examples:
  trivy image --format json --output report.json harbor.example.com/staging/api:1.4
  # fail on anything HIGH or CRITICAL that has a fix, as `trivy --severity ... --ignore-unfixed`
  scan-gate report.json --severity HIGH,CRITICAL --ignore-unfixed
  # the team's policy and ignore file, as a GitHub Actions job summary
  scan-gate report.json --policy examples/configs/policy.toml --ignorefile .trivyignore \\
            --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  # counts by severity after filtering, for scripts
  scan-gate report.json --format json | jq .counts

Exit code 0: the gate passed; 1: it failed (the blocking findings are listed); 2: usage
errors and unreadable reports (including the pre-0.20 format, a bare JSON array).";

/// Gate a Trivy JSON report (SchemaVersion 2).
#[derive(Debug, Parser)]
#[command(name = "scan-gate", version, after_help = EXAMPLES)]
struct Args {
    /// The Trivy JSON report (`trivy image --format json`).
    report: PathBuf,

    /// Severities to keep, comma-separated (as Trivy's `--severity`). Default: all.
    #[arg(long, value_delimiter = ',', value_parser = parse_severity)]
    severity: Vec<Severity>,

    /// Drop vulnerabilities that have no fix (as Trivy's `--ignore-unfixed`).
    #[arg(long)]
    ignore_unfixed: bool,

    /// A `.trivyignore` or `.trivyignore.yaml` file.
    #[arg(long)]
    ignorefile: Option<PathBuf>,

    /// A gate policy (`.toml`, `.yaml` or `.yml`).
    #[arg(long)]
    policy: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|error: wharf_trivy_report::ParseSeverityError| error.to_string())
}

fn filter_options(args: &Args) -> Result<FilterOptions, wharf_trivy_report::Error> {
    let mut options = FilterOptions::new().ignore_unfixed(args.ignore_unfixed);
    if !args.severity.is_empty() {
        options = options.severities(args.severity.iter().copied());
    }
    if let Some(path) = &args.ignorefile {
        options = options.ignore_config(IgnoreConfig::load(path, Clock::system())?);
    }
    Ok(options)
}

fn load(args: &Args) -> Result<(Report, Policy), wharf_trivy_report::Error> {
    let report = Report::from_path(&args.report)?.filtered(&filter_options(args)?);
    let policy = match &args.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::fail_on(Severity::Unknown),
    };
    Ok((report, policy))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (report, policy) = match load(&args) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            return ExitCode::from(EXIT_USAGE);
        }
    };

    let decision = policy.evaluate(&report, Clock::system());
    let output = match args.format {
        Format::Table => render::table(&report, Some(&decision)),
        Format::Markdown => render::markdown(&report, Some(&decision)),
        Format::Json => {
            let json = render::json(&report, Some(&decision));
            serde_json::to_string_pretty(&json).expect("JSON values serialise") + "\n"
        }
    };
    // A closed pipe (`scan-gate ... | head`) is not the gate's business: the exit code is.
    let _ = std::io::stdout().lock().write_all(output.as_bytes());

    ExitCode::from(if decision.passed {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
