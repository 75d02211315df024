//! Filters with Trivy's own semantics and order (`pkg/result/filter.go`).
//!
//! Per result, in this order: vulnerabilities (severity, then status, then the ignore file,
//! then deduplication by ID/package/installed version/package path keeping the larger
//! `FixedVersion`), misconfigurations (severity, ignore file; the `MisconfSummary` is
//! recomputed from what is left, and dropped with the list when it is all zero), secrets,
//! licenses; finally vulnerabilities are sorted by package, installed version, severity
//! (highest first), ID and package path. Suppressed findings go to
//! `ExperimentalModifiedFindings`, which Trivy's JSON writer drops unless `--show-suppressed`.
//!
//! Like Trivy's `convert`, filtering a report that was already filtered recomputes the
//! misconfiguration summary from the listed findings only, so passed checks that were not
//! listed no longer count.

mod glob;
mod ignore;
mod purl;

use std::cmp::Ordering;
use std::collections::HashMap;

pub use ignore::{Clock, IgnoreConfig, IgnoreEntry};

use crate::kinds::{MisconfStatus, Severity, Status};
use crate::model::{
    License, MisconfSummary, Misconfiguration, ModifiedFinding, Report, ScanResult, Secret,
    Vulnerability,
};

/// What to keep, as Trivy's `--severity`, `--ignore-unfixed`/`--ignore-status`,
/// `--ignorefile`, `--include-non-failures`, `--ignored-licenses` and `--show-suppressed`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterOptions {
    severities: Vec<Severity>,
    ignore_statuses: Vec<Status>,
    ignore: IgnoreConfig,
    include_non_failures: bool,
    ignored_licenses: Vec<String>,
    show_suppressed: bool,
}

impl Default for FilterOptions {
    fn default() -> Self {
        Self {
            severities: Severity::ALL.to_vec(),
            ignore_statuses: Vec::new(),
            ignore: IgnoreConfig::default(),
            include_non_failures: false,
            ignored_licenses: Vec::new(),
            show_suppressed: false,
        }
    }
}

impl FilterOptions {
    /// Trivy's defaults: every severity, no status ignored, no ignore file.
    pub fn new() -> Self {
        Self::default()
    }

    /// The severities to keep (`--severity`). Default: all five.
    #[must_use]
    pub fn severities(mut self, severities: impl IntoIterator<Item = Severity>) -> Self {
        self.severities = severities.into_iter().collect();
        self
    }

    /// `--ignore-unfixed`: ignore every status except `fixed`. Default: off. Like Trivy,
    /// explicit [`ignore_statuses`](Self::ignore_statuses) take precedence.
    #[must_use]
    pub fn ignore_unfixed(mut self, ignore_unfixed: bool) -> Self {
        if ignore_unfixed && self.ignore_statuses.is_empty() {
            self.ignore_statuses = Status::unfixed();
        }
        self
    }

    /// `--ignore-status`: vulnerability statuses to drop. Default: none.
    #[must_use]
    pub fn ignore_statuses(mut self, statuses: impl IntoIterator<Item = Status>) -> Self {
        self.ignore_statuses = statuses.into_iter().collect();
        self
    }

    /// The parsed ignore file (`--ignorefile`). Default: none.
    #[must_use]
    pub fn ignore_config(mut self, config: IgnoreConfig) -> Self {
        self.ignore = config;
        self
    }

    /// `--include-non-failures`: keep passed misconfiguration checks. Default: off.
    #[must_use]
    pub fn include_non_failures(mut self, include: bool) -> Self {
        self.include_non_failures = include;
        self
    }

    /// `--ignored-licenses`: license names to drop. Default: none.
    #[must_use]
    pub fn ignored_licenses<I: Into<String>>(mut self, names: impl IntoIterator<Item = I>) -> Self {
        self.ignored_licenses = names.into_iter().map(Into::into).collect();
        self
    }

    /// `--show-suppressed`: keep `ExperimentalModifiedFindings`. Default: off, as Trivy's
    /// JSON output.
    #[must_use]
    pub fn show_suppressed(mut self, show: bool) -> Self {
        self.show_suppressed = show;
        self
    }
}

impl Report {
    /// Filters every result in place, exactly as Trivy does before writing its report.
    pub fn filter(&mut self, options: &FilterOptions) {
        for result in self.results.iter_mut().flatten() {
            filter_result(result, options);
        }
    }

    /// The report after [`filter`](Self::filter).
    #[must_use]
    pub fn filtered(mut self, options: &FilterOptions) -> Report {
        self.filter(options);
        self
    }
}

fn filter_result(result: &mut ScanResult, options: &FilterOptions) {
    let mut suppressed = Vec::new();

    filter_vulnerabilities(result, options, &mut suppressed);
    filter_misconfigurations(result, options, &mut suppressed);
    filter_secrets(result, options, &mut suppressed);
    filter_licenses(result, options, &mut suppressed);

    if let Some(vulnerabilities) = &mut result.vulnerabilities {
        vulnerabilities.sort_by(by_severity);
    }

    if options.show_suppressed {
        if !suppressed.is_empty() {
            result
                .modified_findings
                .get_or_insert_with(Vec::new)
                .extend(suppressed);
        }
    } else {
        result.modified_findings = None;
    }
}

fn suppressed_by<T: serde::Serialize>(
    kind: &str,
    finding: &T,
    statement: &str,
    source: &str,
) -> ModifiedFinding {
    ModifiedFinding {
        finding_type: Some(kind.into()),
        status: Some("ignored".into()),
        statement: Some(statement.into()),
        source: Some(source.into()),
        finding: Some(Box::new(
            serde_json::to_value(finding).expect("a finding always serialises"),
        )),
        extra: crate::wire::Extra::default(),
    }
}

fn effective_status(vulnerability: &Vulnerability) -> Status {
    match &vulnerability.status {
        Some(Status::Other(_)) | None => Status::Unknown,
        Some(status) => status.clone(),
    }
}

fn filter_vulnerabilities(
    result: &mut ScanResult,
    options: &FilterOptions,
    suppressed: &mut Vec<ModifiedFinding>,
) {
    let Some(vulnerabilities) = result.vulnerabilities.take() else {
        return;
    };
    let target = result.target().to_owned();
    let mut kept: Vec<Vulnerability> = Vec::with_capacity(vulnerabilities.len());
    let mut positions: HashMap<(String, String, String, String), usize> = HashMap::new();

    for mut vulnerability in vulnerabilities {
        vulnerability.severity.get_or_insert(Severity::Unknown);
        if !options.severities.contains(&vulnerability.severity())
            || options
                .ignore_statuses
                .contains(&effective_status(&vulnerability))
        {
            continue;
        }

        let ignored = options.ignore.match_vulnerability(
            vulnerability.id(),
            &target,
            vulnerability.pkg_path(),
            vulnerability.purl(),
        );
        if let Some(entry) = ignored {
            let source = &options.ignore.file_path;
            suppressed.push(suppressed_by(
                "vulnerability",
                &vulnerability,
                &entry.statement,
                source,
            ));
            continue;
        }

        let key = (
            vulnerability.id().to_owned(),
            vulnerability.pkg_name().to_owned(),
            vulnerability.installed_version().to_owned(),
            vulnerability.pkg_path().to_owned(),
        );
        match positions.get(&key) {
            Some(&index) if kept[index].fixed_version() < vulnerability.fixed_version() => {
                kept[index] = vulnerability;
            }
            Some(_) => {}
            None => {
                positions.insert(key, kept.len());
                kept.push(vulnerability);
            }
        }
    }

    result.vulnerabilities = (!kept.is_empty()).then_some(kept);
}

/// Trivy's `BySeverity` order.
fn by_severity(left: &Vulnerability, right: &Vulnerability) -> Ordering {
    left.pkg_name()
        .cmp(right.pkg_name())
        .then_with(|| left.installed_version().cmp(right.installed_version()))
        .then_with(|| right.severity().cmp(&left.severity()))
        .then_with(|| left.id().cmp(right.id()))
        .then_with(|| left.pkg_path().cmp(right.pkg_path()))
}

fn severity_kept(severity: Option<Severity>, options: &FilterOptions) -> bool {
    severity.is_some_and(|severity| options.severities.contains(&severity))
}

fn filter_misconfigurations(
    result: &mut ScanResult,
    options: &FilterOptions,
    suppressed: &mut Vec<ModifiedFinding>,
) {
    let misconfigurations = result.misconfigurations.take().unwrap_or_default();
    let target = result.target().to_owned();
    let unlisted = UnlistedChecks::of(result.misconf_summary.as_ref(), &misconfigurations);
    let (mut successes, mut failures, mut exceptions) = (0, 0, 0);
    let mut kept: Vec<Misconfiguration> = Vec::new();

    for misconfiguration in misconfigurations {
        if !severity_kept(misconfiguration.severity, options) {
            continue;
        }

        let avd_id = misconfiguration.avd_id.as_deref().unwrap_or_default();
        if let Some(entry) =
            options
                .ignore
                .match_misconfiguration(misconfiguration.id(), avd_id, &target)
        {
            exceptions += 1;
            let source = &options.ignore.file_path;
            suppressed.push(suppressed_by(
                "misconfiguration",
                &misconfiguration,
                &entry.statement,
                source,
            ));
            continue;
        }

        match misconfiguration.status {
            Some(MisconfStatus::Failure) => failures += 1,
            Some(MisconfStatus::Passed) => successes += 1,
            Some(MisconfStatus::Exception) => exceptions += 1,
            _ => {}
        }
        let failed = misconfiguration.status == Some(MisconfStatus::Failure);
        if failed || options.include_non_failures {
            kept.push(misconfiguration);
        }
    }

    successes += unlisted.successes;
    failures += unlisted.failures;
    exceptions += unlisted.exceptions;
    if successes + failures + exceptions == 0 {
        result.misconf_summary = None;
        result.misconfigurations = None;
        return;
    }
    result.misconf_summary = Some(MisconfSummary {
        successes: Some(successes),
        failures: Some(failures),
        exceptions: (exceptions > 0).then_some(exceptions),
        extra: crate::wire::Extra::default(),
    });
    result.misconfigurations = (!kept.is_empty()).then_some(kept);
}

/// The checks a report counts in `MisconfSummary` without listing them: Trivy writes only
/// failed checks unless it ran with `--include-non-failures`, yet counts the passed ones.
/// Filtering can only judge the checks it sees, so these counts are carried over as they are.
#[derive(Debug, Default)]
struct UnlistedChecks {
    successes: u64,
    failures: u64,
    exceptions: u64,
}

impl UnlistedChecks {
    fn of(summary: Option<&MisconfSummary>, listed: &[Misconfiguration]) -> Self {
        let Some(summary) = summary else {
            return Self::default();
        };
        let listed_with = |status: MisconfStatus| {
            listed
                .iter()
                .filter(|misconfiguration| misconfiguration.status.as_ref() == Some(&status))
                .count() as u64
        };
        let unlisted =
            |counted: Option<u64>, status| counted.unwrap_or(0).saturating_sub(listed_with(status));
        Self {
            successes: unlisted(summary.successes, MisconfStatus::Passed),
            failures: unlisted(summary.failures, MisconfStatus::Failure),
            exceptions: unlisted(summary.exceptions, MisconfStatus::Exception),
        }
    }
}

fn filter_secrets(
    result: &mut ScanResult,
    options: &FilterOptions,
    suppressed: &mut Vec<ModifiedFinding>,
) {
    let Some(secrets) = result.secrets.take() else {
        return;
    };
    let target = result.target().to_owned();
    let mut kept: Vec<Secret> = Vec::new();

    for secret in secrets {
        if !severity_kept(secret.severity, options) {
            continue;
        }
        if let Some(entry) = options.ignore.match_secret(secret.rule_id(), &target) {
            let source = &options.ignore.file_path;
            suppressed.push(suppressed_by("secret", &secret, &entry.statement, source));
            continue;
        }
        kept.push(secret);
    }

    result.secrets = (!kept.is_empty()).then_some(kept);
}

fn filter_licenses(
    result: &mut ScanResult,
    options: &FilterOptions,
    suppressed: &mut Vec<ModifiedFinding>,
) {
    let Some(licenses) = result.licenses.take() else {
        return;
    };
    let mut kept: Vec<License> = Vec::new();

    for license in licenses {
        if !severity_kept(license.severity, options) {
            continue;
        }
        if options
            .ignored_licenses
            .iter()
            .any(|name| name == license.name())
        {
            suppressed.push(suppressed_by("license", &license, "", "--ignored-licenses"));
            continue;
        }
        let file_path = license.file_path.as_deref().unwrap_or_default();
        if let Some(entry) = options.ignore.match_license(license.name(), file_path) {
            let source = &options.ignore.file_path;
            suppressed.push(suppressed_by("license", &license, &entry.statement, source));
            continue;
        }
        kept.push(license);
    }

    result.licenses = (!kept.is_empty()).then_some(kept);
}
