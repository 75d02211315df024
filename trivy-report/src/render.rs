//! Output for people and machines: a terminal table, Markdown for CI job summaries and pull
//! requests, and JSON. Counts are of the report as given (filter it first).

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::kinds::Severity;
use crate::model::{Report, ScanResult};
use crate::policy::{Decision, GateFinding, Violation};
use crate::query::SeverityCounts;

/// The most findings listed per violation in text outputs.
const LISTED_FINDINGS: usize = 20;

const COLUMNS: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
];

fn result_counts(result: &ScanResult) -> SeverityCounts {
    let mut counts = SeverityCounts::of(result.vulnerabilities());
    counts.merge(SeverityCounts::of(result.misconfigurations()));
    counts.merge(SeverityCounts::of(result.secrets()));
    counts
}

fn report_counts(report: &Report) -> SeverityCounts {
    let mut counts = report.vulnerability_counts();
    counts.merge(report.misconfiguration_counts());
    counts.merge(report.secret_counts());
    counts
}

fn count_row(label: String, kind: String, counts: SeverityCounts) -> Vec<String> {
    let mut row = vec![label, kind];
    row.extend(
        COLUMNS
            .iter()
            .map(|severity| counts.get(*severity).to_string()),
    );
    row.push(counts.total().to_string());
    row
}

fn rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = report
        .results()
        .iter()
        .map(|result| {
            let kind = result.target_type.as_deref().unwrap_or_default().to_owned();
            count_row(result.target().to_owned(), kind, result_counts(result))
        })
        .collect();
    rows.push(count_row(
        "Total".to_owned(),
        String::new(),
        report_counts(report),
    ));
    rows
}

fn header() -> Vec<String> {
    let mut header = vec!["Target".to_owned(), "Type".to_owned()];
    header.extend(COLUMNS.iter().map(|severity| severity.as_str().to_owned()));
    header.push("Total".to_owned());
    header
}

fn artifact_name(report: &Report) -> &str {
    report
        .artifact_name
        .as_deref()
        .unwrap_or("(unnamed artifact)")
}

fn describe(finding: &GateFinding) -> String {
    let mut text = format!("{} {}", finding.severity, finding.id);
    if !finding.package.is_empty() {
        let _ = write!(
            text,
            " in {} {}",
            finding.package, finding.installed_version
        );
    }
    if !finding.fixed_version.is_empty() {
        let _ = write!(text, " (fixed in {})", finding.fixed_version);
    }
    if !finding.target.is_empty() {
        let _ = write!(text, " [{}]", finding.target);
    }
    text
}

fn violation_title(violation: &Violation) -> String {
    match violation {
        Violation::AtOrAbove {
            threshold,
            findings,
        } => format!("{} finding(s) at or above {threshold}", findings.len()),
        Violation::TooMany {
            severity,
            max,
            findings,
        } => format!(
            "{} {severity} finding(s), at most {max} allowed",
            findings.len()
        ),
    }
}

fn violation_findings(violation: &Violation) -> &[GateFinding] {
    match violation {
        Violation::AtOrAbove { findings, .. } | Violation::TooMany { findings, .. } => findings,
    }
}

/// A plain-text table of counts per target, with the gate's decision when given.
pub fn table(report: &Report, decision: Option<&Decision>) -> String {
    let mut all_rows = vec![header()];
    all_rows.extend(rows(report));
    let widths: Vec<usize> = (0..all_rows[0].len())
        .map(|column| {
            all_rows
                .iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();

    let mut out = format!("{}\n\n", artifact_name(report));
    for (index, row) in all_rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                if column < 2 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if index == 0 || index == all_rows.len() - 2 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }

    if let Some(decision) = decision {
        out.push('\n');
        out.push_str(&decision_text(decision, "  - "));
    }
    out
}

fn decision_text(decision: &Decision, bullet: &str) -> String {
    let mut out = String::new();
    if decision.passed {
        out.push_str("Gate: PASSED\n");
    } else {
        let _ = writeln!(
            out,
            "Gate: FAILED ({} rule(s) broken)",
            decision.violations.len()
        );
    }
    for violation in &decision.violations {
        let _ = writeln!(out, "{}", violation_title(violation));
        let findings = violation_findings(violation);
        for finding in findings.iter().take(LISTED_FINDINGS) {
            let _ = writeln!(out, "{bullet}{}", describe(finding));
        }
        if findings.len() > LISTED_FINDINGS {
            let _ = writeln!(
                out,
                "{bullet}... and {} more",
                findings.len() - LISTED_FINDINGS
            );
        }
    }
    for allowance in &decision.expired_allowances {
        let _ = writeln!(
            out,
            "Expired allowlist entry no longer applies: {}",
            allowance.id
        );
    }
    if !decision.allowed.is_empty() {
        let _ = writeln!(out, "Allowed by the allowlist: {}", decision.allowed.len());
    }
    out
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for a CI job summary or a pull request comment.
pub fn markdown(report: &Report, decision: Option<&Decision>) -> String {
    let mut out = format!(
        "## Trivy scan: `{}`\n\n",
        markdown_cell(artifact_name(report))
    );
    if let Some(decision) = decision {
        let verdict = if decision.passed {
            "**Gate passed.**"
        } else {
            "**Gate failed.**"
        };
        let _ = writeln!(out, "{verdict}\n");
    }

    let header = header();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let alignment: Vec<&str> = (0..header.len())
        .map(|column| if column < 2 { ":--" } else { "--:" })
        .collect();
    let _ = writeln!(out, "| {} |", alignment.join(" | "));
    for row in rows(report) {
        let cells: Vec<String> = row.iter().map(|cell| markdown_cell(cell)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }

    if let Some(decision) = decision.filter(|decision| !decision.passed) {
        out.push_str("\n### Why the gate failed\n\n");
        for violation in &decision.violations {
            let _ = writeln!(out, "- {}", violation_title(violation));
            for finding in violation_findings(violation).iter().take(LISTED_FINDINGS) {
                let _ = writeln!(out, "  - {}", markdown_cell(&describe(finding)));
            }
        }
    }
    if let Some(decision) = decision.filter(|decision| !decision.expired_allowances.is_empty()) {
        out.push_str("\n### Expired allowlist entries\n\n");
        for allowance in &decision.expired_allowances {
            let _ = writeln!(
                out,
                "- `{}`: {}",
                allowance.id,
                markdown_cell(&allowance.reason)
            );
        }
    }
    out
}

/// A JSON summary: the artifact, counts by severity (overall, per kind and per target) and the
/// gate's decision when given.
pub fn json(report: &Report, decision: Option<&Decision>) -> Value {
    let targets: Vec<Value> = report
        .results()
        .iter()
        .map(|result| {
            json!({
                "target": result.target(),
                "class": result.class.as_ref().map(|class| class.as_str().to_owned()),
                "type": result.target_type,
                "vulnerabilities": SeverityCounts::of(result.vulnerabilities()),
                "misconfigurations": SeverityCounts::of(result.misconfigurations()),
                "secrets": SeverityCounts::of(result.secrets()),
            })
        })
        .collect();

    json!({
        "artifact": report.artifact_name,
        "artifact_type": report.artifact_type.as_ref().map(|kind| kind.as_str().to_owned()),
        "counts": report_counts(report),
        "vulnerabilities": report.vulnerability_counts(),
        "misconfigurations": report.misconfiguration_counts(),
        "secrets": report.secret_counts(),
        "highest_severity": report.highest_severity(),
        "targets": targets,
        "gate": decision,
    })
}
