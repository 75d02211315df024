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
fn default_options_leave_every_report_unchanged() {
    // Trivy already filtered and sorted these; filtering again with its defaults is the
    // identity, misconfiguration summaries included (their passed checks are counted but not
    // listed, so the counts must be carried over, not recounted from the listing).
    for path in fixtures::all() {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let original = fixtures::value(&name);
        let filtered = fixtures::report(&name).filtered(&FilterOptions::new());
        assert_eq!(serde_json::to_value(&filtered).unwrap(), original, "{name}");
    }
}

/// `(Successes, Failures, listed misconfiguration ids)` of the result for `target`.
fn misconfigurations_of(report: &Value, target: &str) -> (Value, Value, Vec<String>) {
    let result = report["Results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["Target"] == target)
        .unwrap_or_else(|| panic!("no result for {target}"));
    let ids = result["Misconfigurations"]
        .as_array()
        .map(|listed| {
            listed
                .iter()
                .map(|m| m["ID"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (
        result["MisconfSummary"]["Successes"].clone(),
        result["MisconfSummary"]["Failures"].clone(),
        ids,
    )
}

#[test]
fn misconfigurations_filter_by_severity_and_ignore_file_and_keep_unlisted_passes() {
    // helm_testchart: templates/deployment.yaml has 92 passed checks (counted, not listed)
    // and 6 failures: 1 HIGH, 3 MEDIUM, 2 LOW.
    let high = FilterOptions::new().severities([Severity::High, Severity::Critical]);
    let filtered =
        serde_json::to_value(fixtures::report("helm_testchart").filtered(&high)).unwrap();
    let (successes, failures, ids) = misconfigurations_of(&filtered, "templates/deployment.yaml");
    assert_eq!((successes, failures), (Value::from(92), Value::from(1)));
    assert_eq!(ids.len(), 1);

    let original = fixtures::value("helm_testchart");
    let (_, _, all_ids) = misconfigurations_of(&original, "templates/deployment.yaml");
    let ignored = &all_ids[0];
    let ignore = IgnoreConfig::parse_trivyignore(ignored, ".trivyignore", Clock::system());
    let options = FilterOptions::new().ignore_config(ignore);
    let filtered =
        serde_json::to_value(fixtures::report("helm_testchart").filtered(&options)).unwrap();
    let (successes, failures, ids) = misconfigurations_of(&filtered, "templates/deployment.yaml");
    assert_eq!((successes, failures), (Value::from(92), Value::from(5)));
    assert!(!ids.contains(ignored), "{ignored} is ignored: {ids:?}");
    let exceptions = filtered["Results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["Target"] == "templates/deployment.yaml")
        .unwrap()["MisconfSummary"]["Exceptions"]
        .clone();
    assert_eq!(
        exceptions,
        Value::from(1),
        "an ignored check counts as an exception"
    );
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
