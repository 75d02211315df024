//! Trivy to Harbor conversion, checked field by field against the rules of harbor-scanner-trivy.

use serde_json::Value;
use wharf_trivy_report::harbor::{
    self, Artifact, ConversionOptions, HarborSeverity, HarborVulnerabilityReport, ScanOverview,
};
use wharf_trivy_report::{Report, Timestamp};

use super::fixtures;

fn options() -> ConversionOptions {
    ConversionOptions::new(Artifact {
        repository: "library/alpine".to_owned(),
        digest: "sha256:988a8e3e".to_owned(),
        mime_type: Some("application/vnd.docker.distribution.manifest.v2+json".to_owned()),
        tag: None,
    })
}

#[test]
fn converts_every_vulnerability() {
    let report = fixtures::report("alpine-39");
    let converted = harbor::from_trivy(&report, &options());
    let trivy: Vec<_> = report.vulnerabilities().collect();

    assert_eq!(converted.vulnerabilities.len(), trivy.len());
    assert_eq!(converted.severity, HarborSeverity::Critical);
    assert_eq!(converted.scanner.name, "Trivy");
    assert_eq!(converted.scanner.version, "dev");
    assert_eq!(
        converted.generated_at.as_str(),
        "2021-08-25T12:20:30.000000005Z"
    );

    for (item, located) in converted.vulnerabilities.iter().zip(trivy) {
        let vulnerability = located.finding;
        assert_eq!(item.id, vulnerability.id());
        assert_eq!(item.package, vulnerability.pkg_name());
        assert_eq!(item.version, vulnerability.installed_version());
        assert_eq!(
            item.fix_version.as_deref(),
            vulnerability.fixed_version.as_deref()
        );
        assert_eq!(
            item.severity.as_str().to_uppercase(),
            vulnerability.severity().as_str()
        );
        assert_eq!(item.links, [vulnerability.primary_url.clone().unwrap()]);
        let cvss = serde_json::to_value(vulnerability.cvss.as_ref().unwrap()).unwrap();
        assert_eq!(item.vendor_attributes["CVSS"], cvss);
        assert_eq!(
            item.layer.as_ref().unwrap().diff_id.as_deref(),
            vulnerability.layer.as_ref().unwrap().diff_id.as_deref()
        );
    }
}

#[test]
fn links_fall_back_to_references_then_to_an_empty_list() {
    let report = Report::from_str(
        r#"{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [
            {"VulnerabilityID": "A", "Severity": "LOW", "References": ["https://r/1", "https://r/2"]},
            {"VulnerabilityID": "B", "Severity": "LOW"}]}]}"#,
    )
    .unwrap();
    let converted = harbor::from_trivy(&report, &options());
    assert_eq!(
        converted.vulnerabilities[0].links,
        ["https://r/1", "https://r/2"]
    );
    assert!(converted.vulnerabilities[1].links.is_empty());
    assert!(converted.vulnerabilities[1].vendor_attributes.is_empty());

    let json = serde_json::to_value(&converted).unwrap();
    assert_eq!(
        json["vulnerabilities"][1]["links"],
        Value::Array(Vec::new())
    );
    assert_eq!(json["vulnerabilities"][0]["severity"], "Low");
    assert!(
        json["vulnerabilities"][0]
            .get("vendor_attributes")
            .is_none()
    );
}

#[test]
fn empty_report_is_unknown_severity() {
    let report = Report::from_str(r#"{"SchemaVersion": 2}"#).unwrap();
    let stamp = Timestamp::parse("2026-01-02T03:04:05Z").unwrap();
    let converted = harbor::from_trivy(&report, &options().generated_at(stamp));
    assert_eq!(converted.severity, HarborSeverity::Unknown);
    assert!(converted.vulnerabilities.is_empty());
    assert_eq!(converted.generated_at.as_str(), "2026-01-02T03:04:05Z");
}

#[test]
fn harbor_report_round_trips_and_summarises() {
    let converted = harbor::from_trivy(&fixtures::report("centos-7"), &options());
    let json = serde_json::to_string(&converted).unwrap();
    let parsed: HarborVulnerabilityReport = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, converted);

    let summary = converted.summary();
    assert_eq!(summary.total, 3);
    assert_eq!(summary.fixable, 2);
    let counts: Vec<(&str, u64)> = summary.summary.iter().map(|(k, v)| (k, *v)).collect();
    assert_eq!(counts, [("Medium", 1), ("Low", 2)]);
}

#[test]
fn scan_overview_parses_harbor_json() {
    let json = r#"{"application/vnd.security.vulnerability.report; version=1.1": {
        "report_id": "5f62c830", "scan_status": "Success", "severity": "High", "duration": 30,
        "summary": {"total": 5, "fixable": 4, "summary": {"High": 2, "Low": 3}},
        "start_time": "2026-01-02T03:04:05Z", "end_time": "2026-01-02T03:04:35Z",
        "complete_percent": 100, "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.50.0"}}}"#;
    let overview: ScanOverview = serde_json::from_str(json).unwrap();
    let summary = overview
        .get(harbor::VULNERABILITY_REPORT_MIME_TYPE)
        .unwrap();
    assert_eq!(summary.severity, Some(HarborSeverity::High));
    assert_eq!(
        summary.summary.as_ref().unwrap().summary.get("Low"),
        Some(&3)
    );
    assert_eq!(
        serde_json::to_value(&overview).unwrap(),
        serde_json::from_str::<Value>(json).unwrap()
    );
}
