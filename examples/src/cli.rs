//! Flags and exit codes shared by every binary.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Exit code for "done".
pub const EXIT_OK: u8 = 0;
/// Exit code for "something failed" or "the gate refused".
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a usage error (the same code clap uses).
pub const EXIT_USAGE: u8 = 2;

/// How the final report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable table.
    #[default]
    Table,
    /// One JSON document on stdout.
    Json,
}

/// Flags every binary accepts.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// More log output on stderr: -v for info, -vv for debug, -vvv for trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Format of the final report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,
}

impl CommonArgs {
    /// Installs the tracing subscriber for the chosen verbosity. `RUST_LOG` overrides it.
    pub fn init_logging(&self) {
        let level = match self.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init();
    }
}

/// Turns a run's outcome into the process exit code, printing the error chain on failure.
pub fn finish(outcome: anyhow::Result<bool>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::from(EXIT_OK),
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
