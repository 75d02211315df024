//! `scan-gate` on Trivy's own reports (`shared/fixtures/trivy`): the exit code a CI step acts
//! on, the findings that block, the ignore file, the JSON counts after filtering and the
//! pre-0.20 format. No service is needed: the binary only reads files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use wharf_trivy_report::{Clock, FilterOptions, IgnoreConfig, Report, Severity};

const SCAN_GATE: &str = env!("CARGO_BIN_EXE_scan-gate");

/// `alpine-39`: CVE-2019-14697 (CRITICAL, musl, twice), CVE-2019-1549 and CVE-2019-1551
/// (MEDIUM, openssl, twice each).
const ALPINE: &str = "alpine-39";
const CRITICAL_ID: &str = "CVE-2019-14697";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../shared/fixtures/trivy/{name}.json"))
}

fn scan_gate(report: &Path, args: &[&str]) -> Output {
    Command::new(SCAN_GATE)
        .arg(report)
        .args(args)
        .output()
        .expect("scan-gate runs")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn critical_finding_fails_the_gate_and_is_listed() {
    let output = scan_gate(&fixture(ALPINE), &["--severity", "CRITICAL"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Gate: FAILED"), "{}", describe(&output));
    assert!(
        stdout.contains(&format!("CRITICAL {CRITICAL_ID} in musl 1.1.20-r4")),
        "{}",
        describe(&output)
    );
    // Filtered to CRITICAL: the MEDIUM findings are neither counted nor listed.
    assert!(!stdout.contains("CVE-2019-1551"), "{}", describe(&output));
}

#[test]
fn ignorefile_covering_the_blocking_finding_passes_the_gate() {
    let scratch = tempfile::tempdir().unwrap();
    let ignorefile = write_file(
        scratch.path(),
        ".trivyignore",
        &format!("# accepted until the base image moves\n{CRITICAL_ID}\n"),
    );
    let output = scan_gate(
        &fixture(ALPINE),
        &[
            "--severity",
            "CRITICAL",
            "--ignorefile",
            ignorefile.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Gate: PASSED"),
        "{}",
        describe(&output)
    );
}

#[test]
fn clean_report_passes_without_flags() {
    // `cargo.lock.json`: one scanned lock file, no findings.
    let output = scan_gate(&fixture("cargo.lock"), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}

#[test]
fn severity_filter_decides_what_blocks() {
    let output = scan_gate(&fixture(ALPINE), &["--severity", "HIGH"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let output = scan_gate(&fixture(ALPINE), &["--severity", "MEDIUM"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
}

#[test]
fn json_counts_are_the_filtered_counts_of_the_library() {
    let scratch = tempfile::tempdir().unwrap();
    let ignorefile = write_file(scratch.path(), ".trivyignore", "CVE-2019-1549\n");
    let output = scan_gate(
        &fixture(ALPINE),
        &[
            "--severity",
            "MEDIUM,CRITICAL",
            "--ignorefile",
            ignorefile.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");

    let options = FilterOptions::new()
        .severities([Severity::Medium, Severity::Critical])
        .ignore_config(IgnoreConfig::parse_trivyignore(
            "CVE-2019-1549\n",
            ".trivyignore",
            Clock::system(),
        ));
    let expected = Report::from_path(fixture(ALPINE))
        .unwrap()
        .filtered(&options)
        .vulnerability_counts();
    assert_eq!(
        printed["vulnerabilities"],
        serde_json::to_value(expected).unwrap()
    );
    // What the library computed, spelled out: the ignored MEDIUM pair is gone.
    assert_eq!(printed["vulnerabilities"]["MEDIUM"], 2);
    assert_eq!(printed["vulnerabilities"]["CRITICAL"], 2);
    assert_eq!(printed["vulnerabilities"]["LOW"], 0);
    assert_eq!(printed["gate"]["passed"], false);
}

#[test]
fn pre_020_report_is_a_usage_error_naming_the_format() {
    let scratch = tempfile::tempdir().unwrap();
    let legacy = write_file(
        scratch.path(),
        "legacy.json",
        r#"[{"Target": "alpine:3.9 (alpine 3.9.4)", "Vulnerabilities": null}]"#,
    );
    let output = scan_gate(&legacy, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pre-0.20"), "{}", describe(&output));
    assert!(output.stdout.is_empty(), "{}", describe(&output));
}

#[test]
fn ignore_unfixed_drops_what_has_no_fix_as_trivy_does() {
    let without = scan_gate(&fixture("debian-buster"), &["--format", "json"]);
    let with = scan_gate(
        &fixture("debian-buster"),
        &["--ignore-unfixed", "--format", "json"],
    );
    let counts = |output: &Output| -> Value {
        serde_json::from_slice::<Value>(&output.stdout).expect("stdout is JSON")["counts"].clone()
    };
    let golden = Report::from_path(fixture("debian-buster-ignore-unfixed"))
        .unwrap()
        .vulnerability_counts();
    assert_eq!(counts(&with), serde_json::to_value(golden).unwrap());
    assert_eq!(counts(&without)["LOW"], 1, "{}", describe(&without));
    assert_eq!(
        counts(&with)["LOW"],
        0,
        "the unfixed LOW finding is dropped"
    );
}

#[test]
fn the_team_policy_allows_one_package_and_markdown_says_why_the_gate_failed() {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/policy.toml");
    let output = scan_gate(
        &fixture(ALPINE),
        &["--policy", policy.to_str().unwrap(), "--format", "markdown"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let markdown = String::from_utf8_lossy(&output.stdout);
    assert!(markdown.contains("**Gate failed.**"), "{markdown}");
    assert!(markdown.contains("| Total |"), "{markdown}");
    let blocking: Vec<&str> = markdown
        .lines()
        .filter(|line| line.trim_start().starts_with("- CRITICAL"))
        .collect();
    // The policy allows CVE-2019-14697 in `musl` only: `musl-utils` still blocks.
    assert_eq!(blocking.len(), 1, "{markdown}");
    assert!(
        blocking[0].contains(&format!("{CRITICAL_ID} in musl-utils")),
        "{markdown}"
    );
}
