//! Questions asked of a report: which findings, how many of each severity, which are fixable.

use std::collections::HashSet;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::kinds::{MisconfStatus, ResultClass, Severity};
use crate::model::{Misconfiguration, Report, ScanResult, Secret, Vulnerability};

/// Anything with an id and a severity: vulnerabilities, misconfigurations, secrets.
pub trait Finding {
    /// The finding's id (`VulnerabilityID`, misconfiguration `ID`, secret `RuleID`).
    fn finding_id(&self) -> &str;

    /// The finding's severity (unknown labels are `Unknown`).
    fn finding_severity(&self) -> Severity;
}

impl Finding for Vulnerability {
    fn finding_id(&self) -> &str {
        self.id()
    }

    fn finding_severity(&self) -> Severity {
        self.severity()
    }
}

impl Finding for Misconfiguration {
    fn finding_id(&self) -> &str {
        self.id()
    }

    fn finding_severity(&self) -> Severity {
        self.severity()
    }
}

impl Finding for Secret {
    fn finding_id(&self) -> &str {
        self.rule_id()
    }

    fn finding_severity(&self) -> Severity {
        self.severity()
    }
}

/// A finding with the target and class of the result it belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located<'a, T> {
    /// The result's `Target`.
    pub target: &'a str,
    /// The result's `Class`, if present.
    pub class: Option<&'a ResultClass>,
    /// The finding.
    pub finding: &'a T,
}

/// Counts of findings per severity. Serialises as an object from `CRITICAL` down to `UNKNOWN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeverityCounts {
    counts: [usize; 5],
}

impl SeverityCounts {
    /// Counts the severities of `findings`.
    pub fn of<'a, T: Finding + 'a>(findings: impl IntoIterator<Item = &'a T>) -> Self {
        let mut counts = SeverityCounts::default();
        for finding in findings {
            counts.add(finding.finding_severity());
        }
        counts
    }

    /// Adds one finding of `severity`.
    pub fn add(&mut self, severity: Severity) {
        self.counts[usize::from(severity.level())] += 1;
    }

    /// The number of findings of `severity`.
    pub fn get(&self, severity: Severity) -> usize {
        self.counts[usize::from(severity.level())]
    }

    /// The number of findings.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The highest severity counted, or `None` when there is nothing.
    pub fn highest(&self) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .rev()
            .find(|severity| self.get(*severity) > 0)
    }

    /// Adds another set of counts to this one.
    pub fn merge(&mut self, other: SeverityCounts) {
        for severity in Severity::ALL {
            self.counts[usize::from(severity.level())] += other.get(severity);
        }
    }
}

impl Serialize for SeverityCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Severity::ALL.len()))?;
        for severity in Severity::ALL.into_iter().rev() {
            map.serialize_entry(severity.as_str(), &self.get(severity))?;
        }
        map.end()
    }
}

fn located<'a, T: 'a>(
    report: &'a Report,
    findings: impl Fn(&'a ScanResult) -> &'a [T] + 'a,
) -> impl Iterator<Item = Located<'a, T>> + 'a {
    report.results().iter().flat_map(move |result| {
        findings(result).iter().map(move |finding| Located {
            target: result.target(),
            class: result.class.as_ref(),
            finding,
        })
    })
}

impl Report {
    /// Every vulnerability with its target and class, in report order.
    pub fn vulnerabilities(&self) -> impl Iterator<Item = Located<'_, Vulnerability>> {
        located(self, ScanResult::vulnerabilities)
    }

    /// Every misconfiguration with its target and class, in report order.
    pub fn misconfigurations(&self) -> impl Iterator<Item = Located<'_, Misconfiguration>> {
        located(self, ScanResult::misconfigurations)
    }

    /// Every failed misconfiguration check (`Status: FAIL`, or no status).
    pub fn failed_misconfigurations(&self) -> impl Iterator<Item = Located<'_, Misconfiguration>> {
        self.misconfigurations()
            .filter(|located| matches!(located.finding.status, None | Some(MisconfStatus::Failure)))
    }

    /// Every secret with its target and class, in report order.
    pub fn secrets(&self) -> impl Iterator<Item = Located<'_, Secret>> {
        located(self, ScanResult::secrets)
    }

    /// Vulnerability counts by severity.
    pub fn vulnerability_counts(&self) -> SeverityCounts {
        SeverityCounts::of(self.vulnerabilities().map(|located| located.finding))
    }

    /// Failed misconfiguration counts by severity.
    pub fn misconfiguration_counts(&self) -> SeverityCounts {
        SeverityCounts::of(
            self.failed_misconfigurations()
                .map(|located| located.finding),
        )
    }

    /// Secret counts by severity.
    pub fn secret_counts(&self) -> SeverityCounts {
        SeverityCounts::of(self.secrets().map(|located| located.finding))
    }

    /// Vulnerabilities deduplicated by (ID, package, installed version), first occurrence kept:
    /// the same CVE in the same package reported by two targets counts once.
    pub fn unique_vulnerabilities(&self) -> Vec<Located<'_, Vulnerability>> {
        let mut seen = HashSet::new();
        self.vulnerabilities()
            .filter(|located| {
                let vulnerability = located.finding;
                seen.insert((
                    vulnerability.id(),
                    vulnerability.pkg_name(),
                    vulnerability.installed_version(),
                ))
            })
            .collect()
    }

    /// Failed misconfigurations deduplicated by (ID, target).
    pub fn unique_misconfigurations(&self) -> Vec<Located<'_, Misconfiguration>> {
        let mut seen = HashSet::new();
        self.failed_misconfigurations()
            .filter(|located| seen.insert((located.finding.id(), located.target)))
            .collect()
    }

    /// Secrets deduplicated by (rule, target, line).
    pub fn unique_secrets(&self) -> Vec<Located<'_, Secret>> {
        let mut seen = HashSet::new();
        self.secrets()
            .filter(|located| {
                let secret = located.finding;
                seen.insert((secret.rule_id(), located.target, secret.start_line))
            })
            .collect()
    }

    /// Vulnerabilities with a known fixed version.
    pub fn fixable_vulnerabilities(&self) -> impl Iterator<Item = Located<'_, Vulnerability>> {
        self.vulnerabilities()
            .filter(|located| located.finding.is_fixable())
    }

    /// The highest severity of any vulnerability, failed misconfiguration or secret.
    pub fn highest_severity(&self) -> Option<Severity> {
        let mut counts = self.vulnerability_counts();
        counts.merge(self.misconfiguration_counts());
        counts.merge(self.secret_counts());
        counts.highest()
    }
}
