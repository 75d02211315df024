//! Scan reports: a Trivy JSON fixture turned into the report Harbor stores for a scan (with
//! [`wharf_trivy_report::harbor::from_trivy`], the conversion harbor-scanner-trivy performs),
//! and the summary Harbor shows in the artifact's `scan_overview`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use time::OffsetDateTime;
use wharf_trivy_report::harbor::{self, Artifact, ConversionOptions, Scanner};
use wharf_trivy_report::{Report, Timestamp};

/// The report MIME type Harbor's Trivy adapter produces, the key of `scan_overview`.
pub(crate) const REPORT_MIME_TYPE: &str = harbor::VULNERABILITY_REPORT_MIME_TYPE;
/// The older native report MIME type, also accepted by default.
pub(crate) const NATIVE_MIME_TYPE: &str = harbor::SCANNER_ADAPTER_REPORT_MIME_TYPE;

/// The scanner Harbor names in reports and overviews.
pub(crate) fn scanner() -> Scanner {
    Scanner {
        name: "Trivy".to_owned(),
        vendor: "Aqua Security".to_owned(),
        version: "v0.50.0".to_owned(),
    }
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
pub(crate) fn load_fixture(dir: &Path, name: Option<&str>) -> Result<Report, String> {
    let Some(name) = name else {
        return Report::from_str(r#"{"SchemaVersion": 2, "Results": []}"#)
            .map_err(|error| error.to_string());
    };
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    Report::from_str(&text).map_err(|error| format!("cannot parse {}: {error}", path.display()))
}

/// The Harbor report (as JSON) for a scan of `digest` in `repository` finished at `at`.
pub(crate) fn harbor_report(
    trivy: &Report,
    repository: &str,
    digest: &str,
    at: OffsetDateTime,
) -> Value {
    let artifact = Artifact {
        repository: repository.to_owned(),
        digest: digest.to_owned(),
        mime_type: Some("application/vnd.oci.image.manifest.v1+json".to_owned()),
        ..Artifact::default()
    };
    let options = ConversionOptions::new(artifact)
        .scanner(scanner())
        .generated_at(Timestamp::from_instant(at));
    serde_json::to_value(harbor::from_trivy(trivy, &options)).unwrap_or(Value::Null)
}

/// The `VulnerabilitySummary` of a Harbor report: totals, fixable count, count per severity.
pub(crate) fn summary(report: &Value) -> Value {
    let items = report["vulnerabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut per_severity: BTreeMap<String, u64> = BTreeMap::new();
    for item in &items {
        *per_severity
            .entry(item["severity"].as_str().unwrap_or("Unknown").to_owned())
            .or_default() += 1;
    }
    let fixable = items
        .iter()
        .filter(|item| {
            item["fix_version"]
                .as_str()
                .is_some_and(|fix| !fix.is_empty())
        })
        .count();
    json!({"total": items.len(), "fixable": fixable, "summary": per_severity})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/trivy"
        ))
    }

    #[test]
    fn alpine_fixture_converts_with_title_case_and_links() {
        let trivy = load_fixture(&fixtures(), Some("alpine-310")).unwrap();
        let report = harbor_report(&trivy, "team/app", "sha256:0", OffsetDateTime::UNIX_EPOCH);
        let items = report["vulnerabilities"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0]["id"], "CVE-2019-1549");
        assert_eq!(items[0]["package"], "libcrypto1.1");
        assert_eq!(items[0]["fix_version"], "1.1.1d-r0");
        assert_eq!(
            items[0]["links"][0],
            "https://avd.aquasec.com/nvd/cve-2019-1549"
        );
        assert_eq!(items[0]["layer"]["diff_id"].as_str().unwrap().len(), 71);
        assert!(report["severity"].is_string());

        let summary = summary(&report);
        assert_eq!(summary["total"], 4);
        let counted: u64 = summary["summary"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert_eq!(counted, 4);
    }

    #[test]
    fn clean_report_has_no_vulnerabilities() {
        let clean = load_fixture(&fixtures(), None).unwrap();
        let report = harbor_report(&clean, "a/b", "sha256:0", OffsetDateTime::UNIX_EPOCH);
        assert_eq!(report["vulnerabilities"], json!([]));
        assert_eq!(summary(&report)["total"], 0);
        assert!(load_fixture(&fixtures(), Some("no-such-fixture")).is_err());
    }

    #[test]
    fn accepted_types_default_to_both() {
        assert_eq!(accepted_mime_types(None).len(), 2);
        assert_eq!(
            accepted_mime_types(Some(REPORT_MIME_TYPE)),
            [REPORT_MIME_TYPE]
        );
    }
}
