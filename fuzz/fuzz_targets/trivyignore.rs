//! The `.trivyignore` text and YAML parsers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_trivy_report::{Clock, IgnoreConfig};

fuzz_target!(|text: &str| {
    let clock = Clock::fixed(time::macros::datetime!(2025-01-01 00:00 UTC));
    let _ = IgnoreConfig::parse_trivyignore(text, ".trivyignore", clock);
    let _ = IgnoreConfig::parse_yaml(text, ".trivyignore.yaml", clock);
});
