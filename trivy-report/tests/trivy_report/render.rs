//! The three outputs carry the counts after filtering and the gate's decision.

use wharf_trivy_report::policy::Policy;
use wharf_trivy_report::{Clock, FilterOptions, Severity, render};

use super::fixtures;

#[test]
fn json_lists_counts_after_filtering() {
    let report = fixtures::report("alpine-39")
        .filtered(&FilterOptions::new().severities([Severity::Critical]));
    let decision = Policy::fail_on(Severity::High).evaluate(&report, Clock::system());
    let json = render::json(&report, Some(&decision));

    assert_eq!(json["counts"]["CRITICAL"], 2);
    assert_eq!(json["counts"]["MEDIUM"], 0);
    assert_eq!(json["vulnerabilities"]["CRITICAL"], 2);
    assert_eq!(json["highest_severity"], "CRITICAL");
    assert_eq!(json["gate"]["passed"], false);
    assert_eq!(json["gate"]["violations"][0]["rule"], "at_or_above");
    assert_eq!(json["targets"][0]["class"], "os-pkgs");
}

#[test]
fn table_and_markdown_show_targets_totals_and_the_verdict() {
    let report = fixtures::report("alpine-39");
    let decision = Policy::fail_on(Severity::Critical).evaluate(&report, Clock::system());

    let table = render::table(&report, Some(&decision));
    assert!(table.contains("CRITICAL  HIGH  MEDIUM"), "{table}");
    let total = table
        .lines()
        .find(|line| line.starts_with("Total"))
        .unwrap();
    assert!(total.ends_with(" 6"), "{total}");
    assert!(table.contains("Gate: FAILED"));
    assert!(table.contains("CRITICAL CVE-2019-14697 in musl 1.1.20-r4 (fixed in 1.1.20-r5)"));

    let markdown = render::markdown(&report, Some(&decision));
    assert!(
        markdown.starts_with("## Trivy scan: `testdata/fixtures/images/alpine-39.tar.gz`"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| Target | Type | CRITICAL | HIGH | MEDIUM | LOW | UNKNOWN | Total |")
    );
    assert!(markdown.contains("**Gate failed.**"));
    assert!(markdown.contains("### Why the gate failed"));
}

#[test]
fn passing_gate_renders_as_passed() {
    let report = fixtures::report("alpine-39");
    let decision = Policy::default().evaluate(&report, Clock::system());
    assert!(render::table(&report, Some(&decision)).contains("Gate: PASSED"));
    assert!(render::markdown(&report, Some(&decision)).contains("**Gate passed.**"));
}
