//! Harbor's vulnerability report models (pluggable scanner spec v1.2,
//! `application/vnd.security.vulnerability.report; version=1.1`), the scan overview Harbor
//! attaches to artifacts, and the conversion from a Trivy report that harbor-scanner-trivy
//! performs.
//!
//! Conversion rules (as harbor-scanner-trivy): the vulnerabilities of all results are listed
//! in report order; severities become title case; `links` is `[PrimaryURL]` when Trivy has a
//! primary URL, else `References` (or an empty list); `vendor_attributes.CVSS` carries Trivy's
//! `CVSS` map unchanged when it is not empty; the report's `severity` is the highest item
//! severity, `Unknown` when there are none.
//!
//! ```
//! use wharf_trivy_report::Report;
//! use wharf_trivy_report::harbor::{self, Artifact, HarborSeverity};
//!
//! let report = Report::from_str(r#"{"SchemaVersion": 2, "Results": [{"Target": "t",
//!     "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "musl",
//!     "InstalledVersion": "1", "Severity": "HIGH", "PrimaryURL": "https://avd.example/CVE-1"}]}]}"#)?;
//! let artifact = Artifact { repository: "library/alpine".into(), digest: "sha256:ab".into(), ..Artifact::default() };
//! let converted = harbor::from_trivy(&report, &harbor::ConversionOptions::new(artifact));
//! assert_eq!(converted.severity, HarborSeverity::High);
//! assert_eq!(converted.vulnerabilities[0].links, ["https://avd.example/CVE-1"]);
//! # Ok::<(), wharf_trivy_report::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::kinds::Severity;
use crate::model::{Report, Vulnerability};
use crate::text_list::TextList;
use crate::timestamp::Timestamp;
use crate::wire::OrderedMap;

/// The MIME type of Harbor's native vulnerability report.
pub const VULNERABILITY_REPORT_MIME_TYPE: &str =
    "application/vnd.security.vulnerability.report; version=1.1";

/// The MIME type of the scanner adapter's Harbor report.
pub const SCANNER_ADAPTER_REPORT_MIME_TYPE: &str =
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";

/// Harbor's severity scale, ordered `None < Unknown < Negligible < Low < Medium < High <
/// Critical`. Written in title case; unknown text reads as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum HarborSeverity {
    /// `None`: nothing found (scan overviews only).
    None,
    /// `Unknown`.
    #[default]
    Unknown,
    /// `Negligible`.
    Negligible,
    /// `Low`.
    Low,
    /// `Medium`.
    Medium,
    /// `High`.
    High,
    /// `Critical`.
    Critical,
}

impl HarborSeverity {
    const ALL: [HarborSeverity; 7] = [
        HarborSeverity::None,
        HarborSeverity::Unknown,
        HarborSeverity::Negligible,
        HarborSeverity::Low,
        HarborSeverity::Medium,
        HarborSeverity::High,
        HarborSeverity::Critical,
    ];

    /// Harbor's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HarborSeverity::None => "None",
            HarborSeverity::Unknown => "Unknown",
            HarborSeverity::Negligible => "Negligible",
            HarborSeverity::Low => "Low",
            HarborSeverity::Medium => "Medium",
            HarborSeverity::High => "High",
            HarborSeverity::Critical => "Critical",
        }
    }

    /// The Harbor severity of a Trivy severity.
    pub fn from_trivy(severity: Severity) -> Self {
        match severity {
            Severity::Unknown => HarborSeverity::Unknown,
            Severity::Low => HarborSeverity::Low,
            Severity::Medium => HarborSeverity::Medium,
            Severity::High => HarborSeverity::High,
            Severity::Critical => HarborSeverity::Critical,
        }
    }

    /// The Trivy severity of a Harbor severity: `Negligible` counts as `Low`, `None` as
    /// `Unknown` (Trivy has neither).
    pub fn to_trivy(self) -> Severity {
        match self {
            HarborSeverity::None | HarborSeverity::Unknown => Severity::Unknown,
            HarborSeverity::Negligible | HarborSeverity::Low => Severity::Low,
            HarborSeverity::Medium => Severity::Medium,
            HarborSeverity::High => Severity::High,
            HarborSeverity::Critical => Severity::Critical,
        }
    }
}

impl fmt::Display for HarborSeverity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for HarborSeverity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HarborSeverity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(HarborSeverity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(&text))
            .unwrap_or(HarborSeverity::Unknown))
    }
}

/// `Scanner`: name, vendor and version of the scanner.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Scanner {
    /// `name`, e.g. `Trivy`.
    pub name: String,
    /// `vendor`, e.g. `Aqua Security`.
    pub vendor: String,
    /// `version`.
    pub version: String,
}

/// `Artifact`: the scanned artifact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Artifact {
    /// `repository`, e.g. `library/mongo`.
    pub repository: String,
    /// `digest`.
    pub digest: String,
    /// `tag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `mime_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// `layer` of a vulnerability item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HarborLayer {
    /// `digest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `diff_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
}

/// `CVSSDetails`: the preferred CVSS scores and vectors.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CvssDetails {
    /// `score_v3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_v3: Option<f64>,
    /// `score_v2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_v2: Option<f64>,
    /// `vector_v3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_v3: Option<String>,
    /// `vector_v2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_v2: Option<String>,
}

/// `VulnerabilityItem`: one vulnerability in Harbor's report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VulnerabilityItem {
    /// `id`, e.g. `CVE-2017-8283`.
    pub id: String,
    /// `package`.
    pub package: String,
    /// `version`: the installed version.
    pub version: String,
    /// `fix_version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_version: Option<String>,
    /// `status`: Trivy's vulnerability status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `severity`.
    pub severity: HarborSeverity,
    /// `description`.
    pub description: String,
    /// `links`.
    pub links: Vec<String>,
    /// `layer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<HarborLayer>,
    /// `preferred_cvss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_cvss: Option<CvssDetails>,
    /// `cwe_ids`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cwe_ids: Vec<String>,
    /// `vendor_attributes`: scanner-specific data; Trivy's `CVSS` map under `CVSS`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub vendor_attributes: Map<String, Value>,
}

/// `HarborVulnerabilityReport`: the report Harbor stores for an artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarborVulnerabilityReport {
    /// `generated_at`.
    pub generated_at: Timestamp,
    /// `artifact`.
    #[serde(default)]
    pub artifact: Artifact,
    /// `scanner`.
    #[serde(default)]
    pub scanner: Scanner,
    /// `severity`: the highest severity of the items.
    #[serde(default)]
    pub severity: HarborSeverity,
    /// `vulnerabilities`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub vulnerabilities: Vec<VulnerabilityItem>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<VulnerabilityItem>, D::Error> {
    Ok(Option::<Vec<VulnerabilityItem>>::deserialize(deserializer)?.unwrap_or_default())
}

/// `VulnerabilitySummary`: totals of a report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VulnerabilitySummary {
    /// `total`.
    pub total: u64,
    /// `fixable`: items with a fix version.
    pub fixable: u64,
    /// `summary`: count per title-case severity.
    pub summary: OrderedMap<u64>,
}

/// `NativeReportSummary`: one entry of an artifact's scan overview.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NativeReportSummary {
    /// `report_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<String>,
    /// `scan_status`, e.g. `Success`, `Running`, `Error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_status: Option<String>,
    /// `severity`: the overall severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<HarborSeverity>,
    /// `duration` in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// `summary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<VulnerabilitySummary>,
    /// `start_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// `end_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// `complete_percent`: 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_percent: Option<i64>,
    /// `scanner`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanner: Option<Scanner>,
}

/// `ScanOverview`: report summaries keyed by report MIME type.
pub type ScanOverview = OrderedMap<NativeReportSummary>;

impl HarborVulnerabilityReport {
    /// Totals as Harbor shows them in a scan overview: all items, fixable items and counts per
    /// severity from `Critical` down (severities without items left out).
    pub fn summary(&self) -> VulnerabilitySummary {
        let mut summary = OrderedMap::new();
        for severity in HarborSeverity::ALL.into_iter().rev() {
            let count = self
                .vulnerabilities
                .iter()
                .filter(|item| item.severity == severity)
                .count() as u64;
            if count > 0 {
                summary.insert(severity.as_str(), count);
            }
        }
        let fixable = self
            .vulnerabilities
            .iter()
            .filter(|item| {
                item.fix_version
                    .as_deref()
                    .is_some_and(|fix| !fix.is_empty())
            })
            .count() as u64;

        VulnerabilitySummary {
            total: self.vulnerabilities.len() as u64,
            fixable,
            summary,
        }
    }
}

/// What the conversion cannot take from the Trivy report.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionOptions {
    artifact: Artifact,
    scanner: Option<Scanner>,
    generated_at: Option<Timestamp>,
}

impl ConversionOptions {
    /// Options for `artifact`.
    pub fn new(artifact: Artifact) -> Self {
        Self {
            artifact,
            scanner: None,
            generated_at: None,
        }
    }

    /// The scanner to report. Default: `Trivy` by `Aqua Security`, with the report's
    /// `Trivy.Version`.
    #[must_use]
    pub fn scanner(mut self, scanner: Scanner) -> Self {
        self.scanner = Some(scanner);
        self
    }

    /// `generated_at`. Default: the report's `CreatedAt`, else the current time.
    #[must_use]
    pub fn generated_at(mut self, generated_at: Timestamp) -> Self {
        self.generated_at = Some(generated_at);
        self
    }
}

/// Converts a Trivy report to Harbor's vulnerability report, as harbor-scanner-trivy does.
pub fn from_trivy(report: &Report, options: &ConversionOptions) -> HarborVulnerabilityReport {
    let vulnerabilities: Vec<VulnerabilityItem> = report
        .vulnerabilities()
        .map(|located| convert_vulnerability(located.finding))
        .collect();
    let severity = vulnerabilities
        .iter()
        .map(|item| item.severity)
        .max()
        .unwrap_or(HarborSeverity::Unknown);

    HarborVulnerabilityReport {
        generated_at: options
            .generated_at
            .clone()
            .or_else(|| report.created_at.clone())
            .unwrap_or_else(|| Timestamp::from_instant(OffsetDateTime::now_utc())),
        artifact: options.artifact.clone(),
        scanner: options
            .scanner
            .clone()
            .unwrap_or_else(|| trivy_scanner(report)),
        severity,
        vulnerabilities,
    }
}

fn trivy_scanner(report: &Report) -> Scanner {
    Scanner {
        name: "Trivy".to_owned(),
        vendor: "Aqua Security".to_owned(),
        version: report
            .trivy
            .as_ref()
            .and_then(|trivy| trivy.version.as_deref())
            .unwrap_or_default()
            .to_owned(),
    }
}

fn convert_vulnerability(vulnerability: &Vulnerability) -> VulnerabilityItem {
    let links = match vulnerability.primary_url.as_deref() {
        Some(url) if !url.is_empty() => vec![url.to_owned()],
        _ => owned_texts(vulnerability.references.as_ref()),
    };
    let mut vendor_attributes = Map::new();
    if let Some(cvss) = vulnerability.cvss.as_ref().filter(|cvss| !cvss.is_empty()) {
        let cvss = serde_json::to_value(cvss).expect("a CVSS map always serialises");
        vendor_attributes.insert("CVSS".to_owned(), cvss);
    }

    VulnerabilityItem {
        id: vulnerability.id().to_owned(),
        package: vulnerability.pkg_name().to_owned(),
        version: vulnerability.installed_version().to_owned(),
        fix_version: Some(vulnerability.fixed_version().to_owned()).filter(|fix| !fix.is_empty()),
        status: vulnerability
            .status
            .as_ref()
            .map(|status| status.as_str().to_owned()),
        severity: HarborSeverity::from_trivy(vulnerability.severity()),
        description: vulnerability
            .description
            .as_deref()
            .unwrap_or_default()
            .to_owned(),
        links,
        layer: vulnerability.layer.as_ref().map(|layer| HarborLayer {
            digest: layer.digest.as_deref().map(str::to_owned),
            diff_id: layer.diff_id.as_deref().map(str::to_owned),
        }),
        preferred_cvss: None,
        cwe_ids: owned_texts(vulnerability.cwe_ids.as_ref()),
        vendor_attributes,
    }
}

fn owned_texts(texts: Option<&TextList>) -> Vec<String> {
    texts.map(TextList::to_vec).unwrap_or_default()
}
