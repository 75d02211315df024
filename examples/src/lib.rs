//! Shared plumbing for the Wharf command-line tools in `src/bin/`: common flags, exit codes,
//! logging, output formats, progress reporting and secret handling.
//!
//! Every binary follows the same contract:
//!
//! - exit code 0 when everything was done, 1 when something failed or a gate refused,
//!   2 for usage errors (clap's own code);
//! - `--output table|json` for the final report;
//! - `-v` (repeatable) for tracing logs on stderr;
//! - secrets come from environment variables or files, never from plain flags by default.

pub mod cli;
pub mod harbor;
pub mod kubernetes;
pub mod layout;
pub mod migration;
pub mod output;
pub mod progress;
pub mod registry;
pub mod secrets;
