//! The policy gate: a pass-or-fail decision on a report, with the findings that decided it.
//!
//! A policy fails a report when a finding is at or above `fail_on`, or when the count of a
//! severity exceeds its `max`. `ignore_unfixed` leaves out vulnerabilities without a fixed
//! version; `allow` entries leave out findings by id (and optionally package) until they
//! expire. Policies load from TOML or YAML with the same keys:
//!
//! ```toml
//! fail_on = "HIGH"
//! ignore_unfixed = true
//!
//! [max]
//! MEDIUM = 10
//!
//! [[allow]]
//! id = "CVE-2019-14697"
//! package = "musl"
//! reason = "musl is not used by the service"
//! expires = "2027-01-01"
//! ```
//!
//! The gate reads the same [`GateFinding`]s from a Trivy report and from a Harbor report
//! converted from it, so both give the same decision.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::error::Error;
use crate::filter::Clock;
use crate::harbor::HarborVulnerabilityReport;
use crate::kinds::Severity;
use crate::model::Report;
use crate::query::SeverityCounts;

/// The kind of a finding the gate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A vulnerability.
    Vulnerability,
    /// A failed misconfiguration check.
    Misconfiguration,
    /// A secret.
    Secret,
}

/// A finding as the gate sees it, whichever report it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateFinding {
    /// What it is.
    pub kind: FindingKind,
    /// The id (CVE, check id, secret rule).
    pub id: String,
    /// The package (empty for misconfigurations and secrets).
    pub package: String,
    /// The installed version.
    pub installed_version: String,
    /// The fixed version, empty when there is none.
    pub fixed_version: String,
    /// The severity.
    pub severity: Severity,
    /// The target (Trivy result) it was found in; empty for Harbor reports.
    pub target: String,
}

impl GateFinding {
    /// Every vulnerability, failed misconfiguration and secret of a Trivy report.
    pub fn from_report(report: &Report) -> Vec<GateFinding> {
        let vulnerabilities = report.vulnerabilities().map(|located| GateFinding {
            kind: FindingKind::Vulnerability,
            id: located.finding.id().to_owned(),
            package: located.finding.pkg_name().to_owned(),
            installed_version: located.finding.installed_version().to_owned(),
            fixed_version: located.finding.fixed_version().to_owned(),
            severity: located.finding.severity(),
            target: located.target.to_owned(),
        });
        let misconfigurations = report
            .failed_misconfigurations()
            .map(|located| GateFinding {
                kind: FindingKind::Misconfiguration,
                id: located.finding.id().to_owned(),
                package: String::new(),
                installed_version: String::new(),
                fixed_version: String::new(),
                severity: located.finding.severity(),
                target: located.target.to_owned(),
            });
        let secrets = report.secrets().map(|located| GateFinding {
            kind: FindingKind::Secret,
            id: located.finding.rule_id().to_owned(),
            package: String::new(),
            installed_version: String::new(),
            fixed_version: String::new(),
            severity: located.finding.severity(),
            target: located.target.to_owned(),
        });
        vulnerabilities
            .chain(misconfigurations)
            .chain(secrets)
            .collect()
    }

    /// Every vulnerability of a Harbor report.
    pub fn from_harbor(report: &HarborVulnerabilityReport) -> Vec<GateFinding> {
        report
            .vulnerabilities
            .iter()
            .map(|item| GateFinding {
                kind: FindingKind::Vulnerability,
                id: item.id.clone(),
                package: item.package.clone(),
                installed_version: item.version.clone(),
                fixed_version: item.fix_version.clone().unwrap_or_default(),
                severity: item.severity.to_trivy(),
                target: String::new(),
            })
            .collect()
    }

    fn is_unfixed_vulnerability(&self) -> bool {
        self.kind == FindingKind::Vulnerability && self.fixed_version.is_empty()
    }
}

/// An allowlist entry: a finding accepted until it expires, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowance {
    /// The finding id.
    pub id: String,
    /// Limits the entry to one package.
    pub package: Option<String>,
    /// Why the finding is accepted (required).
    pub reason: String,
    /// When the entry stops applying; `None` never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

impl Allowance {
    /// Whether the entry no longer applies at `now` (it still applies at its expiry instant).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|expires| expires < now)
    }

    fn covers(&self, finding: &GateFinding) -> bool {
        self.id == finding.id
            && self
                .package
                .as_ref()
                .is_none_or(|package| *package == finding.package)
    }
}

/// A gate policy. [`Policy::default`] passes everything; [`Policy::fail_on`] is the usual
/// start.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Policy {
    /// Fail when any finding is at or above this severity.
    pub fail_on: Option<Severity>,
    /// Fail when more findings than this have the severity.
    pub max: BTreeMap<Severity, usize>,
    /// Leave out vulnerabilities without a fixed version.
    pub ignore_unfixed: bool,
    /// Accepted findings.
    pub allow: Vec<Allowance>,
}

/// One rule that failed, with the findings that broke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Violation {
    /// Findings at or above `fail_on`.
    AtOrAbove {
        /// The policy's threshold.
        threshold: Severity,
        /// The findings at or above it.
        findings: Vec<GateFinding>,
    },
    /// More findings of a severity than allowed.
    TooMany {
        /// The severity.
        severity: Severity,
        /// The policy's maximum.
        max: usize,
        /// The findings of that severity.
        findings: Vec<GateFinding>,
    },
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the report passes.
    pub passed: bool,
    /// The rules that failed (empty when passed).
    pub violations: Vec<Violation>,
    /// Counts by severity of the findings the rules looked at.
    pub counts: SeverityCounts,
    /// Findings left out by an allowlist entry.
    pub allowed: Vec<GateFinding>,
    /// Findings left out because they have no fix (with `ignore_unfixed`).
    pub unfixed: Vec<GateFinding>,
    /// Allowlist entries that have expired and so no longer apply.
    pub expired_allowances: Vec<Allowance>,
}

impl Policy {
    /// A policy that fails on any finding at or above `severity`.
    pub fn fail_on(severity: Severity) -> Self {
        Self {
            fail_on: Some(severity),
            ..Self::default()
        }
    }

    /// Reads a TOML policy.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let raw: RawPolicy = toml::from_str(text).map_err(Error::PolicyToml)?;
        raw.validate()
    }

    /// Reads a YAML policy.
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        let raw: RawPolicy = serde_yaml::from_str(text).map_err(Error::PolicyYaml)?;
        raw.validate()
    }

    /// Loads a policy file: `.toml`, `.yaml` or `.yml`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        match path.extension().and_then(|extension| extension.to_str()) {
            Some("toml") => Self::from_toml(&text),
            Some("yaml" | "yml") => Self::from_yaml(&text),
            _ => Err(Error::PolicyFormat {
                path: path.to_owned(),
            }),
        }
    }

    /// Decides on a Trivy report.
    pub fn evaluate(&self, report: &Report, clock: Clock) -> Decision {
        self.decide(GateFinding::from_report(report), clock)
    }

    /// Decides on a Harbor vulnerability report.
    pub fn evaluate_harbor(&self, report: &HarborVulnerabilityReport, clock: Clock) -> Decision {
        self.decide(GateFinding::from_harbor(report), clock)
    }

    /// Decides on findings.
    pub fn decide(&self, findings: Vec<GateFinding>, clock: Clock) -> Decision {
        let now = clock.now();
        let (expired, active): (Vec<&Allowance>, Vec<&Allowance>) = self
            .allow
            .iter()
            .partition(|allowance| allowance.is_expired(now));

        let mut considered = Vec::new();
        let mut allowed = Vec::new();
        let mut unfixed = Vec::new();
        for finding in findings {
            if self.ignore_unfixed && finding.is_unfixed_vulnerability() {
                unfixed.push(finding);
            } else if active.iter().any(|allowance| allowance.covers(&finding)) {
                allowed.push(finding);
            } else {
                considered.push(finding);
            }
        }

        let violations = self.violations(&considered);
        let mut counts = SeverityCounts::default();
        for finding in &considered {
            counts.add(finding.severity);
        }
        Decision {
            passed: violations.is_empty(),
            violations,
            counts,
            allowed,
            unfixed,
            expired_allowances: expired.into_iter().cloned().collect(),
        }
    }

    fn violations(&self, findings: &[GateFinding]) -> Vec<Violation> {
        let mut violations = Vec::new();

        if let Some(threshold) = self.fail_on {
            let breaking: Vec<GateFinding> = findings
                .iter()
                .filter(|finding| finding.severity >= threshold)
                .cloned()
                .collect();
            if !breaking.is_empty() {
                violations.push(Violation::AtOrAbove {
                    threshold,
                    findings: breaking,
                });
            }
        }

        for (&severity, &max) in self.max.iter().rev() {
            let of_severity: Vec<GateFinding> = findings
                .iter()
                .filter(|finding| finding.severity == severity)
                .cloned()
                .collect();
            if of_severity.len() > max {
                violations.push(Violation::TooMany {
                    severity,
                    max,
                    findings: of_severity,
                });
            }
        }
        violations
    }
}

/// The file form of a policy, validated into [`Policy`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    fail_on: Option<String>,
    #[serde(default)]
    max: BTreeMap<String, usize>,
    #[serde(default)]
    ignore_unfixed: bool,
    #[serde(default)]
    allow: Vec<RawAllowance>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowance {
    id: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    expires: Option<String>,
}

fn invalid(reason: String) -> Error {
    Error::PolicyInvalid { reason }
}

fn strict_severity(text: &str) -> Result<Severity, Error> {
    text.parse::<Severity>()
        .map_err(|error| invalid(error.to_string()))
}

impl RawPolicy {
    fn validate(self) -> Result<Policy, Error> {
        let fail_on = self.fail_on.as_deref().map(strict_severity).transpose()?;
        let max = self
            .max
            .iter()
            .map(|(severity, count)| Ok((strict_severity(severity)?, *count)))
            .collect::<Result<BTreeMap<_, _>, Error>>()?;
        let allow = self
            .allow
            .into_iter()
            .map(RawAllowance::validate)
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Policy {
            fail_on,
            max,
            ignore_unfixed: self.ignore_unfixed,
            allow,
        })
    }
}

impl RawAllowance {
    fn validate(self) -> Result<Allowance, Error> {
        if self.reason.trim().is_empty() {
            return Err(invalid(format!("allow entry {:?} needs a reason", self.id)));
        }
        let expires = match &self.expires {
            Some(text) => Some(parse_expiry(text).ok_or_else(|| {
                invalid(format!(
                    "allow entry {:?} has an invalid expiry {text:?} (expected YYYY-MM-DD or RFC 3339)",
                    self.id
                ))
            })?),
            None => None,
        };

        Ok(Allowance {
            id: self.id,
            package: self.package,
            reason: self.reason,
            expires,
        })
    }
}

fn parse_expiry(text: &str) -> Option<OffsetDateTime> {
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc());
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_yaml_read_the_same_policy() {
        let toml = r#"
fail_on = "high"
ignore_unfixed = true
[max]
MEDIUM = 2
[[allow]]
id = "CVE-1"
reason = "accepted"
expires = "2027-01-01"
"#;
        let yaml = "
fail_on: HIGH
ignore_unfixed: true
max:
  medium: 2
allow:
  - id: CVE-1
    reason: accepted
    expires: 2027-01-01
";
        let from_toml = Policy::from_toml(toml).unwrap();
        assert_eq!(from_toml, Policy::from_yaml(yaml).unwrap());
        assert_eq!(from_toml.fail_on, Some(Severity::High));
        assert_eq!(from_toml.max.get(&Severity::Medium), Some(&2));
    }

    #[test]
    fn invalid_policies_are_rejected() {
        assert!(matches!(
            Policy::from_toml("fail_on = \"SEVERE\""),
            Err(Error::PolicyInvalid { .. })
        ));
        assert!(matches!(
            Policy::from_toml("[[allow]]\nid = \"CVE-1\""),
            Err(Error::PolicyInvalid { .. })
        ));
        assert!(matches!(
            Policy::from_yaml("fail_on: HIGH\nunknown_key: 1"),
            Err(Error::PolicyYaml(_))
        ));
        assert!(matches!(
            Policy::from_toml("[[allow]]\nid = \"X\"\nreason = \"r\"\nexpires = \"soon\""),
            Err(Error::PolicyInvalid { .. })
        ));
    }
}
