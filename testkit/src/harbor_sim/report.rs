//! Scan reports: a Trivy JSON fixture turned into the report Harbor stores for a scan, and
//! the overview (`NativeReportSummary`) Harbor derives from it.
//!
//! FIXME: this is a minimal conversion of its own (the fields harbor-scanner-trivy fills that
//! the flows read); it should use `wharf_trivy_report::harbor` once that module exists, so
//! the simulator and the client share one conversion.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

/// The report MIME type Harbor's Trivy adapter produces, the key of `scan_overview`.
pub(crate) const REPORT_MIME_TYPE: &str = "application/vnd.security.vulnerability.report; version=1.1";
/// The older native report MIME type, also accepted by default.
pub(crate) const NATIVE_MIME_TYPE: &str = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";

/// Harbor's severities from low to high.
const SEVERITY_ORDER: &[&str] = &["None", "Unknown", "Negligible", "Low", "Medium", "High", "Critical"];

/// The scanner Harbor names in reports and overviews.
pub(crate) fn scanner() -> Value {
    json!({"name": "Trivy", "vendor": "Aqua Security", "version": "v0.50.0"})
}

/// The MIME types a request accepts (`X-Accept-Vulnerabilities`, default both).
pub(crate) fn accepted_mime_types(header: Option<&str>) -> Vec<String> {
    match header {
        Some(value) if !value.trim().is_empty() => value
            .split(',')
            .map(|mime| mime.trim().to_owned())
            .filter(|mime| !mime.is_empty())
            .collect(),
        _ => vec![NATIVE_MIME_TYPE.to_owned(), REPORT_MIME_TYPE.to_owned()],
    }
}

/// Reads fixture `name` (`<dir>/<name>.json`); `None` means a clean report.
pub(crate) fn load_fixture(dir: &Path, name: Option<&str>) -> Result<Value, String> {
    let Some(name) = name else {
        return Ok(json!({"Results": []}));
    };
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("cannot parse {}: {error}", path.display()))
}

/// The Harbor report for a scan of `digest` in `repository` with Trivy's `trivy` report.
pub(crate) fn harbor_report(trivy: &Value, repository: &str, digest: &str, generated_at: &str) -> Value {
    let vulnerabilities: Vec<Value> = trivy["Results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|result| result["Vulnerabilities"].as_array().into_iter().flatten())
        .map(vulnerability)
        .collect();
    let severity = highest_severity(vulnerabilities.iter().filter_map(|item| item["severity"].as_str()));
    json!({
        "generated_at": generated_at,
        "artifact": {"repository": repository, "digest": digest, "mime_type": "application/vnd.oci.image.manifest.v1+json"},
        "scanner": scanner(),
        "severity": severity,
        "vulnerabilities": vulnerabilities,
    })
}

fn vulnerability(trivy: &Value) -> Value {
    let text = |key: &str| trivy[key].as_str().unwrap_or_default().to_owned();
    let links = match trivy["PrimaryURL"].as_str() {
        Some(url) if !url.is_empty() => vec![Value::from(url)],
        _ => trivy["References"].as_array().cloned().unwrap_or_default(),
    };
    let mut item = json!({
        "id": text("VulnerabilityID"),
        "package": text("PkgName"),
        "version": text("InstalledVersion"),
        "fix_version": text("FixedVersion"),
        "status": text("Status"),
        "severity": title_case(&text("Severity")),
        "description": text("Description"),
        "links": links,
        "cwe_ids": trivy["CweIDs"].as_array().cloned().unwrap_or_default(),
        "vendor_attributes": {"CVSS": trivy.get("CVSS").cloned().unwrap_or(json!({}))},
    });
    if let Some(layer) = trivy.get("Layer") {
        item["layer"] = json!({
            "digest": layer["Digest"].as_str().unwrap_or_default(),
            "diff_id": layer["DiffID"].as_str().unwrap_or_default(),
        });
    }
    item
}

/// Trivy's upper-case severity in Harbor's title case; unknown strings become `Unknown`.
fn title_case(severity: &str) -> &'static str {
    match severity {
        "LOW" => "Low",
        "MEDIUM" => "Medium",
        "HIGH" => "High",
        "CRITICAL" => "Critical",
        _ => "Unknown",
    }
}

fn highest_severity<'a>(severities: impl Iterator<Item = &'a str>) -> &'static str {
    severities
        .filter_map(|severity| SEVERITY_ORDER.iter().position(|known| *known == severity))
        .max()
        .map_or("None", |rank| SEVERITY_ORDER[rank])
}

/// The `VulnerabilitySummary` of a Harbor report: totals, fixable count, count per severity.
pub(crate) fn summary(report: &Value) -> Value {
    let items = report["vulnerabilities"].as_array().cloned().unwrap_or_default();
    let mut per_severity: BTreeMap<String, u64> = BTreeMap::new();
    for item in &items {
        *per_severity
            .entry(item["severity"].as_str().unwrap_or("Unknown").to_owned())
            .or_default() += 1;
    }
    let fixable = items
        .iter()
        .filter(|item| item["fix_version"].as_str().is_some_and(|fix| !fix.is_empty()))
        .count();
    json!({"total": items.len(), "fixable": fixable, "summary": per_severity})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/trivy"))
    }

    #[test]
    fn alpine_fixture_converts_with_title_case_and_links() {
        let trivy = load_fixture(&fixtures(), Some("alpine-310")).unwrap();
        let report = harbor_report(&trivy, "team/app", "sha256:0", "2024-01-01T00:00:00Z");
        let items = report["vulnerabilities"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0]["id"], "CVE-2019-1549");
        assert_eq!(items[0]["package"], "libcrypto1.1");
        assert_eq!(items[0]["fix_version"], "1.1.1d-r0");
        assert_eq!(items[0]["links"][0], "https://avd.aquasec.com/nvd/cve-2019-1549");
        assert_eq!(items[0]["layer"]["diff_id"].as_str().unwrap().len(), 71);
        assert!(SEVERITY_ORDER.contains(&report["severity"].as_str().unwrap()));

        let summary = summary(&report);
        assert_eq!(summary["total"], 4);
        let counted: u64 = summary["summary"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
        assert_eq!(counted, 4);
    }

    #[test]
    fn clean_report_has_severity_none() {
        let report = harbor_report(&load_fixture(&fixtures(), None).unwrap(), "a/b", "sha256:0", "t");
        assert_eq!(report["severity"], "None");
        assert_eq!(summary(&report)["total"], 0);
        assert!(load_fixture(&fixtures(), Some("no-such-fixture")).is_err());
    }

    #[test]
    fn accepted_types_default_to_both() {
        assert_eq!(accepted_mime_types(None).len(), 2);
        assert_eq!(accepted_mime_types(Some(REPORT_MIME_TYPE)), [REPORT_MIME_TYPE]);
    }
}
