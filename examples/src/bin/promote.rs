//! `promote`: staging to production on Harbor for one tag or digest, behind a policy gate.
//!
//! Steps: resolve the source to its digest (so that what was scanned is what gets copied),
//! make sure a finished scan exists (trigger one and wait), judge the vulnerability report
//! (Harbor's, or a Trivy JSON file) with the policy, then copy the artifact with Harbor's copy
//! API into the production project and add the production tag.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use serde::Serialize;
use wharf_examples::cli::{CommonArgs, OutputFormat, finish};
use wharf_examples::harbor::HarborArgs;
use wharf_examples::output::{Table, print_report};
use wharf_harbor_client::handlers::{Artifacts, PromoteSource};
use wharf_harbor_client::quirks::ScanStatus;
use wharf_harbor_client::{HarborClient, WaitOptions};
use wharf_trivy_report::policy::{Decision, GateFinding, Policy, Violation};
use wharf_trivy_report::{Clock, Report, Severity};

const EXAMPLES: &str = "\
Examples:
  # promote a tag from staging to production as `stable`, failing on HIGH and CRITICAL
  export HARBOR_URL=https://harbor.example.com HARBOR_USER='robot$promoter' HARBOR_PASSWORD=...
  promote --from staging/team/api:1.4.2 --to production --tag stable

  # judge with a policy file, against a Trivy report made in CI instead of Harbor's scan
  promote --from staging/team/api@sha256:0123... --to production --tag 1.4.2 \\
          --policy examples/configs/policy.toml --trivy-report trivy.json

  # the decision as JSON, for a pipeline to archive
  promote --from staging/team/api:1.4.2 --to production --output json

The password comes from HARBOR_PASSWORD or --harbor-password-file. Exit code 0: promoted;
1: refused by the gate (the blocking findings are listed) or failed; 2: usage.";

/// Promote an artifact from a staging project to a production project on Harbor, after a
/// vulnerability gate.
#[derive(Debug, Parser)]
#[command(name = "promote", version, after_help = EXAMPLES)]
struct Args {
    /// The source: `project/repository:tag` or `project/repository@sha256:...`.
    #[arg(long, value_name = "SOURCE")]
    from: PromoteSource,

    /// The destination project.
    #[arg(long, value_name = "PROJECT")]
    to: String,

    /// The destination repository, without the project (default: the source's).
    #[arg(long, value_name = "REPOSITORY")]
    to_repository: Option<String>,

    /// The production tag to add to the promoted artifact.
    #[arg(long)]
    tag: Option<String>,

    /// A gate policy (`.toml`, `.yaml` or `.yml`). Without it: fail on `--fail-on`.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Without a policy file: refuse findings at or above this severity.
    #[arg(long, default_value = "HIGH", value_parser = parse_severity)]
    fail_on: Severity,

    /// Judge this Trivy JSON report instead of Harbor's scan (no scan is triggered).
    #[arg(long, value_name = "FILE")]
    trivy_report: Option<PathBuf>,

    /// Scan again even when a finished scan exists.
    #[arg(long)]
    rescan: bool,

    /// How long to wait for a scan and for the copy to show, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,

    #[command(flatten)]
    harbor: HarborArgs,

    #[command(flatten)]
    common: CommonArgs,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|error: wharf_trivy_report::ParseSeverityError| error.to_string())
}

/// What happened, for the final report.
#[derive(Debug, Serialize)]
struct PromoteReport {
    source: String,
    digest: String,
    destination: String,
    /// Where the findings came from: `harbor` or the Trivy report's path.
    findings_from: String,
    scan_status: Option<String>,
    decision: Decision,
    promoted: bool,
    tags: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.common.init_logging();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let harbor = args.harbor.logged_in_client()?;
    let wait = wait_options(args.timeout);
    let policy = match &args.policy {
        Some(path) => {
            Policy::load(path).with_context(|| format!("cannot load {}", path.display()))?
        }
        None => Policy::fail_on(args.fail_on),
    };
    let source = harbor.artifacts(&args.from.project, &args.from.repository);
    let digest = resolve_digest(&source, &args.from.reference).await?;
    let pinned = PromoteSource {
        reference: digest.clone(),
        ..args.from.clone()
    };
    let repository = args
        .to_repository
        .clone()
        .unwrap_or_else(|| args.from.repository.clone());
    let mut report = PromoteReport {
        source: args.from.to_string(),
        digest: digest.clone(),
        destination: format!("{}/{repository}", args.to),
        findings_from: "harbor".to_owned(),
        scan_status: None,
        decision: Policy::default().decide(Vec::new(), Clock::system()),
        promoted: false,
        tags: Vec::new(),
    };

    let findings = if let Some(path) = &args.trivy_report {
        report.findings_from = path.display().to_string();
        trivy_findings(path)?
    } else {
        let status = ensure_scan(&source, &digest, args.rescan, wait).await?;
        report.scan_status = Some(status.to_string());
        harbor_findings(&source, &digest, &status).await?
    };
    report.decision = policy.decide(findings, Clock::system());

    if report.decision.passed {
        let tags = copy_and_tag(
            &harbor,
            &args.to,
            &repository,
            &pinned,
            args.tag.as_deref(),
            wait,
        )
        .await?;
        report.promoted = true;
        report.tags = tags;
    }
    print_report(args.common.output, &report, report_table)?;
    if args.common.output == OutputFormat::Table {
        println!("{}", summary(&report));
    }
    Ok(report.promoted)
}

fn wait_options(timeout_seconds: u64) -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(250),
        max_interval: Duration::from_secs(5),
        deadline: Duration::from_secs(timeout_seconds),
    }
}

/// The digest of the source, so that the scanned artifact is the copied one even if the tag
/// moves meanwhile.
async fn resolve_digest(source: &Artifacts, reference: &str) -> anyhow::Result<String> {
    let artifact = source
        .get(reference)
        .await
        .with_context(|| format!("cannot find the source artifact `{reference}`"))?;
    artifact
        .digest
        .context("Harbor answered the source artifact without a digest")
}

/// Reuses a finished scan unless `rescan`; otherwise triggers one and waits for it.
async fn ensure_scan(
    source: &Artifacts,
    digest: &str,
    rescan: bool,
    wait: WaitOptions,
) -> anyhow::Result<ScanStatus> {
    if !rescan {
        let artifact = source.get(digest).await?;
        let finished = artifact
            .scan_overview
            .iter()
            .flat_map(|overview| overview.values())
            .filter_map(|summary| summary.scan_status.as_deref())
            .map(ScanStatus::parse)
            .find(|status| *status == ScanStatus::Success);
        if let Some(status) = finished {
            tracing::info!(digest, "reusing the finished scan");
            return Ok(status);
        }
    }
    tracing::info!(digest, "scanning");
    let outcome = source
        .scan_and_wait(digest, wait)
        .await
        .context("the scan did not finish")?;
    Ok(outcome.status)
}

async fn harbor_findings(
    source: &Artifacts,
    digest: &str,
    status: &ScanStatus,
) -> anyhow::Result<Vec<GateFinding>> {
    if *status != ScanStatus::Success {
        bail!("the scan ended as {status}, so there is nothing to judge");
    }
    let report = source
        .vulnerability_report(digest)
        .await
        .context("cannot read the vulnerability report")?
        .context("the finished scan has no vulnerability report")?;
    Ok(GateFinding::from_harbor(&report))
}

fn trivy_findings(path: &Path) -> anyhow::Result<Vec<GateFinding>> {
    let report = Report::from_path(path)
        .with_context(|| format!("cannot read the Trivy report {}", path.display()))?;
    Ok(GateFinding::from_report(&report))
}

/// Copies the pinned artifact into the destination, adds `tag` unless the copy brought it,
/// and returns the destination's tags.
async fn copy_and_tag(
    harbor: &HarborClient,
    project: &str,
    repository: &str,
    pinned: &PromoteSource,
    tag: Option<&str>,
    wait: WaitOptions,
) -> anyhow::Result<Vec<String>> {
    let destination = harbor.artifacts(project, repository);
    let copied = destination
        .promote(pinned, None, wait)
        .await
        .with_context(|| format!("cannot copy {pinned} into {project}/{repository}"))?;
    let mut tags = Artifacts::tag_names(&copied);
    if let Some(tag) = tag.filter(|tag| !tags.iter().any(|t| t == tag)) {
        destination
            .add_tag(&pinned.reference, tag)
            .await
            .with_context(|| format!("cannot add the tag {tag}"))?;
        tags.push(tag.to_owned());
    }
    tags.sort();
    Ok(tags)
}

/// The promotion when it happened, else the blocking findings (one row per finding and rule).
fn report_table(report: &PromoteReport) -> Table {
    if report.promoted {
        let mut table = Table::new(["SOURCE", "DIGEST", "DESTINATION", "TAGS"]);
        table.row([
            report.source.clone(),
            report.digest.clone(),
            report.destination.clone(),
            report.tags.join(","),
        ]);
        return table;
    }
    let mut table = Table::new(["RULE", "ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED"]);
    for violation in &report.decision.violations {
        let (rule, findings) = match violation {
            Violation::AtOrAbove {
                threshold,
                findings,
            } => (format!("severity >= {threshold}"), findings),
            Violation::TooMany {
                severity,
                max,
                findings,
            } => (format!("more than {max} {severity}"), findings),
            _ => continue,
        };
        for finding in findings {
            table.row([
                rule.clone(),
                finding.id.clone(),
                finding.severity.to_string(),
                finding.package.clone(),
                finding.installed_version.clone(),
                finding.fixed_version.clone(),
            ]);
        }
    }
    table
}

fn summary(report: &PromoteReport) -> String {
    if report.promoted {
        format!(
            "promoted {} ({}) to {} with tags {}; findings from {}: {} considered, {} allowed",
            report.source,
            report.digest,
            report.destination,
            report.tags.join(", "),
            report.findings_from,
            report.decision.counts.total(),
            report.decision.allowed.len(),
        )
    } else {
        format!(
            "refused: {} ({}) breaks {} gate rule(s); findings from {}",
            report.source,
            report.digest,
            report.decision.violations.len(),
            report.findings_from,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Args as clap::CommandFactory>::command().debug_assert();
    }
}
