//! Gate decisions at every boundary.

use time::Duration;
use time::macros::datetime;
use wharf_trivy_report::harbor::{self, Artifact, ConversionOptions};
use wharf_trivy_report::policy::{Policy, Violation};
use wharf_trivy_report::{Clock, Report, Severity};

use super::fixtures;

const EXPIRY: &str = "2024-06-01";

fn clock_at(offset: Duration) -> Clock {
    Clock::fixed(datetime!(2024-06-01 00:00 UTC) + offset)
}

/// A report with one vulnerability per `(id, package, severity label, fixed version)`.
fn report(vulnerabilities: &[(&str, &str, &str, &str)]) -> Report {
    let items: Vec<serde_json::Value> = vulnerabilities
        .iter()
        .map(|(id, package, severity, fixed)| {
            let mut item = serde_json::json!({
                "VulnerabilityID": id,
                "PkgName": package,
                "InstalledVersion": "1.0",
                "Severity": severity,
            });
            if fixed.is_empty() {
                item["Status"] = "affected".into();
            } else {
                item["FixedVersion"] = (*fixed).into();
                item["Status"] = "fixed".into();
            }
            item
        })
        .collect();
    let json = serde_json::json!({
        "SchemaVersion": 2,
        "ArtifactName": "crafted",
        "Results": [{"Target": "crafted (alpine 3.20)", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": items}],
    });
    Report::from_str(&json.to_string()).unwrap()
}

fn allow_policy(fail_on: &str) -> Policy {
    Policy::from_toml(&format!(
        "fail_on = \"{fail_on}\"\n[[allow]]\nid = \"CVE-1\"\nreason = \"accepted risk\"\nexpires = \"{EXPIRY}\"\n"
    ))
    .unwrap()
}

#[test]
fn fail_on_is_inclusive() {
    let high = report(&[("CVE-1", "a", "HIGH", "2.0")]);
    assert!(
        !Policy::fail_on(Severity::High)
            .evaluate(&high, Clock::system())
            .passed
    );
    assert!(
        Policy::fail_on(Severity::Critical)
            .evaluate(&high, Clock::system())
            .passed
    );

    let decision = Policy::fail_on(Severity::High).evaluate(&high, Clock::system());
    let Violation::AtOrAbove {
        threshold,
        findings,
    } = &decision.violations[0]
    else {
        panic!("expected an at-or-above violation");
    };
    assert_eq!(*threshold, Severity::High);
    assert_eq!(findings[0].id, "CVE-1");
}

#[test]
fn max_counts_allow_exactly_the_maximum() {
    let policy = Policy::from_yaml("max:\n  MEDIUM: 2\n").unwrap();
    let two = report(&[("CVE-1", "a", "MEDIUM", ""), ("CVE-2", "a", "MEDIUM", "")]);
    let three = report(&[
        ("CVE-1", "a", "MEDIUM", ""),
        ("CVE-2", "a", "MEDIUM", ""),
        ("CVE-3", "a", "MEDIUM", ""),
    ]);
    assert!(policy.evaluate(&two, Clock::system()).passed);

    let decision = policy.evaluate(&three, Clock::system());
    assert!(!decision.passed);
    assert!(matches!(
        &decision.violations[0],
        Violation::TooMany { severity: Severity::Medium, max: 2, findings } if findings.len() == 3
    ));
}

#[test]
fn allowlist_entry_applies_until_its_expiry_instant() {
    let critical = report(&[("CVE-1", "a", "CRITICAL", "2.0")]);
    let policy = allow_policy("LOW");

    let before = policy.evaluate(&critical, clock_at(-Duration::days(1)));
    assert!(before.passed);
    assert_eq!(before.allowed.len(), 1);

    let at_expiry = policy.evaluate(&critical, clock_at(Duration::ZERO));
    assert!(
        at_expiry.passed,
        "the entry still applies at its expiry instant"
    );

    let after = policy.evaluate(&critical, clock_at(Duration::nanoseconds(1)));
    assert!(!after.passed, "an expired entry no longer applies");
    assert_eq!(after.expired_allowances.len(), 1);
    assert_eq!(after.expired_allowances[0].id, "CVE-1");
}

#[test]
fn allowlist_entry_limited_to_a_package() {
    let policy = Policy::from_toml(
        "fail_on = \"LOW\"\n[[allow]]\nid = \"CVE-1\"\npackage = \"a\"\nreason = \"only in a\"\n",
    )
    .unwrap();
    let both = report(&[("CVE-1", "a", "HIGH", "2"), ("CVE-1", "b", "HIGH", "2")]);
    let decision = policy.evaluate(&both, Clock::system());
    assert!(!decision.passed);
    assert_eq!(decision.allowed.len(), 1);
    assert_eq!(decision.counts.total(), 1);
}

#[test]
fn unknown_severity_counts_as_the_lowest() {
    let odd = report(&[("CVE-1", "a", "moderate", "2.0")]);
    assert_eq!(odd.vulnerability_counts().get(Severity::Unknown), 1);
    assert!(
        Policy::fail_on(Severity::Low)
            .evaluate(&odd, Clock::system())
            .passed
    );
    assert!(
        !Policy::fail_on(Severity::Unknown)
            .evaluate(&odd, Clock::system())
            .passed
    );
}

#[test]
fn empty_reports_pass_the_strictest_policy() {
    let strictest = Policy::fail_on(Severity::Unknown);
    for json in [
        r#"{"SchemaVersion": 2}"#,
        r#"{"SchemaVersion": 2, "Results": []}"#,
    ] {
        let empty = Report::from_str(json).unwrap();
        let decision = strictest.evaluate(&empty, Clock::system());
        assert!(decision.passed);
        assert_eq!(decision.counts.total(), 0);
    }
    assert!(
        strictest
            .evaluate(&fixtures::report("helm_badname"), Clock::system())
            .passed
    );
}

#[test]
fn ignore_unfixed_leaves_out_vulnerabilities_without_a_fix() {
    let policy = Policy::from_toml("fail_on = \"HIGH\"\nignore_unfixed = true\n").unwrap();
    let unfixed = report(&[("CVE-1", "a", "CRITICAL", "")]);
    let decision = policy.evaluate(&unfixed, Clock::system());
    assert!(decision.passed);
    assert_eq!(decision.unfixed.len(), 1);
}

#[test]
fn trivy_and_harbor_reports_get_the_same_decision() {
    let policies = [
        Policy::fail_on(Severity::Critical),
        Policy::fail_on(Severity::Medium),
        Policy::from_toml("ignore_unfixed = true\n[max]\nLOW = 0\nMEDIUM = 3\n").unwrap(),
        allow_policy("HIGH"),
    ];
    for name in [
        "alpine-39",
        "centos-7",
        "debian-buster",
        "ubuntu-1804",
        "npm",
        "amazon-2",
    ] {
        let report = fixtures::report(name);
        let artifact = Artifact {
            repository: name.to_owned(),
            digest: "sha256:00".to_owned(),
            ..Artifact::default()
        };
        let converted = harbor::from_trivy(&report, &ConversionOptions::new(artifact));
        for policy in &policies {
            let from_trivy = policy.evaluate(&report, Clock::system());
            let from_harbor = policy.evaluate_harbor(&converted, Clock::system());
            assert_eq!(from_trivy.passed, from_harbor.passed, "{name}");
            assert_eq!(from_trivy.counts, from_harbor.counts, "{name}");
            assert_eq!(
                from_trivy.violations.len(),
                from_harbor.violations.len(),
                "{name}"
            );
        }
    }
}
