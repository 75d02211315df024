//! Filtering an unfiltered golden reproduces the golden Trivy wrote with the same flags
//! (flags from Trivy's `integration/standalone_tar_test.go`).

use serde_json::Value;
use wharf_trivy_report::{Clock, FilterOptions, IgnoreConfig, Severity};

use super::fixtures;

fn assert_filtered(source: &str, golden: &str, options: &FilterOptions) {
    let filtered = fixtures::report(source).filtered(options);
    let written: Value = serde_json::to_value(&filtered).unwrap();
    assert_eq!(
        written,
        fixtures::value(golden),
        "{source} filtered differs from {golden}"
    );
}

#[test]
fn alpine_high_critical_with_ignore_unfixed() {
    let options = FilterOptions::new()
        .ignore_unfixed(true)
        .severities([Severity::High, Severity::Critical]);
    assert_filtered("alpine-39", "alpine-39-high-critical", &options);
}

#[test]
fn alpine_with_trivyignore_ids() {
    // The test writes the ids joined by newlines into `.trivyignore`.
    let ignore = IgnoreConfig::parse_trivyignore(
        "CVE-2019-1549\nCVE-2019-14697",
        ".trivyignore",
        Clock::system(),
    );
    let options = FilterOptions::new().ignore_config(ignore);
    assert_filtered("alpine-39", "alpine-39-ignore-cveids", &options);
}

#[test]
fn centos_ignore_unfixed() {
    assert_filtered(
        "centos-7",
        "centos-7-ignore-unfixed",
        &FilterOptions::new().ignore_unfixed(true),
    );
}

#[test]
fn centos_medium_with_ignore_unfixed() {
    let options = FilterOptions::new()
        .ignore_unfixed(true)
        .severities([Severity::Medium]);
    assert_filtered("centos-7", "centos-7-medium", &options);
}

#[test]
fn debian_ignore_unfixed() {
    assert_filtered(
        "debian-buster",
        "debian-buster-ignore-unfixed",
        &FilterOptions::new().ignore_unfixed(true),
    );
}

#[test]
fn default_options_leave_vulnerability_reports_unchanged() {
    // Trivy already filtered and sorted these; filtering again with its defaults is the
    // identity for every report without misconfiguration summaries.
    for path in fixtures::all() {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let original = fixtures::value(&name);
        let has_config = original["Results"].as_array().is_some_and(|results| {
            results
                .iter()
                .any(|result| result.get("MisconfSummary").is_some())
        });
        if has_config {
            continue;
        }
        let filtered = fixtures::report(&name).filtered(&FilterOptions::new());
        assert_eq!(serde_json::to_value(&filtered).unwrap(), original, "{name}");
    }
}

#[test]
fn suppressed_findings_are_recorded_on_request() {
    let ignore = IgnoreConfig::parse_trivyignore("CVE-2019-14697", ".trivyignore", Clock::system());
    let options = FilterOptions::new()
        .ignore_config(ignore)
        .show_suppressed(true);
    let filtered = fixtures::report("alpine-39").filtered(&options);
    let modified = filtered.results()[0].modified_findings.as_ref().unwrap();
    assert_eq!(modified.len(), 2);
    assert_eq!(modified[0].finding_type.as_deref(), Some("vulnerability"));
    assert_eq!(modified[0].status.as_deref(), Some("ignored"));
    assert_eq!(modified[0].source.as_deref(), Some(".trivyignore"));
    assert_eq!(
        modified[0].finding.as_ref().unwrap()["VulnerabilityID"],
        "CVE-2019-14697"
    );
}
