//! `health`: Harbor's health, system info, statistics and per-project storage quota use, for
//! a person (table), a script (JSON) or Prometheus (text exposition format).
//!
//! Exit code 1 when a component is unhealthy or a project's storage use passes the threshold.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use futures::TryStreamExt as _;
use serde::Serialize;
use wharf_examples::cli::{CommonArgs, OutputFormat, finish};
use wharf_examples::harbor::HarborArgs;
use wharf_examples::output::{Table, human_bytes};
use wharf_harbor_client::HarborClient;
use wharf_harbor_client::generated::models::Quota;

const EXAMPLES: &str = "\
Examples:
  export HARBOR_URL=https://harbor.example.com HARBOR_PASSWORD=...
  # everything at a glance; exit 1 when unhealthy or a project is over 80 % of its quota
  health

  # a stricter threshold, as JSON for a monitoring script
  health --threshold 90 --output json

  # for a node-exporter textfile collector or a scrape job
  health --output prometheus > /var/lib/node-exporter/harbor.prom

Without HARBOR_PASSWORD only the health of the components is read (Harbor serves /health to
anyone). Exit code 0: healthy and under the threshold; 1: unhealthy, over the threshold, or
failed; 2: usage.";

/// Report formats: the common two plus Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A human-readable table.
    Table,
    /// One JSON document.
    Json,
    /// Prometheus text exposition format.
    Prometheus,
}

/// Check Harbor's health and storage quota use.
#[derive(Debug, Parser)]
#[command(name = "health", version, after_help = EXAMPLES)]
struct Args {
    /// Storage use, in percent of a project's quota, above which the check fails.
    #[arg(long, default_value_t = 80.0)]
    threshold: f64,

    /// Format of the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    output: Format,

    /// More log output on stderr: -v for info, -vv for debug, -vvv for trace.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(flatten)]
    harbor: HarborArgs,
}

/// One component of Harbor.
#[derive(Debug, Serialize)]
struct Component {
    name: String,
    healthy: bool,
    error: Option<String>,
}

/// One project's storage quota.
#[derive(Debug, Serialize)]
struct ProjectUsage {
    project: String,
    used_bytes: i64,
    /// `None` when unlimited.
    limit_bytes: Option<i64>,
    /// `None` when unlimited.
    used_percent: Option<f64>,
    over_threshold: bool,
}

/// The whole report.
#[derive(Debug, Serialize)]
struct HealthReport {
    healthy: bool,
    components: Vec<Component>,
    version: Option<String>,
    registry_url: Option<String>,
    project_count: Option<i64>,
    repository_count: Option<i64>,
    storage_bytes: Option<i64>,
    threshold_percent: f64,
    projects: Vec<ProjectUsage>,
    /// Details that could not be read (system info, statistics, quotas), with the reason:
    /// a broken Harbor still gets its components reported.
    unavailable: Vec<String>,
    /// Why the check failed (empty when it passed).
    problems: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let common = CommonArgs {
        verbose: args.verbose,
        output: OutputFormat::Table,
    };
    common.init_logging();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let logged_in = wharf_examples::secrets::read_secret(
        wharf_examples::harbor::PASSWORD_VAR,
        args.harbor.password_file.as_deref(),
    )?
    .is_some();
    let harbor = args.harbor.client()?;
    let mut report = read_health(&harbor, args.threshold).await?;
    if logged_in {
        add_system_details(&harbor, &mut report).await;
    }
    report.problems = problems(&report);
    match args.output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => print!("{}", render_table(&report)),
        Format::Prometheus => print!("{}", render_prometheus(&report)),
    }
    if args.output == Format::Table {
        for problem in &report.problems {
            println!("problem: {problem}");
        }
    }
    Ok(report.problems.is_empty())
}

async fn read_health(harbor: &HarborClient, threshold: f64) -> anyhow::Result<HealthReport> {
    let health = harbor
        .system()
        .health()
        .await
        .context("cannot read /health")?;
    let components = health
        .components
        .iter()
        .map(|component| Component {
            name: component.name.clone().unwrap_or_default(),
            healthy: component.status.as_deref() == Some("healthy"),
            error: component.error.clone().filter(|e| !e.is_empty()),
        })
        .collect();
    Ok(HealthReport {
        healthy: health.status.as_deref() == Some("healthy"),
        components,
        version: None,
        registry_url: None,
        project_count: None,
        repository_count: None,
        storage_bytes: None,
        threshold_percent: threshold,
        projects: Vec::new(),
        unavailable: Vec::new(),
        problems: Vec::new(),
    })
}

/// System info, statistics and quotas: these need a login. What cannot be read is noted in
/// `unavailable` and the rest still filled in.
async fn add_system_details(harbor: &HarborClient, report: &mut HealthReport) {
    match harbor.system().info().await {
        Ok(info) => {
            report.version = info.harbor_version;
            report.registry_url = info.registry_url;
        }
        Err(error) => report.unavailable.push(format!("system info: {error}")),
    }
    match harbor.system().statistics().await {
        Ok(statistics) => {
            report.project_count = statistics.total_project_count;
            report.repository_count = statistics.total_repo_count;
            report.storage_bytes = statistics.total_storage_consumption;
        }
        Err(error) => report.unavailable.push(format!("statistics: {error}")),
    }
    let quotas: Result<Vec<Quota>, _> = harbor.quotas().list().stream().try_collect().await;
    match quotas {
        Ok(quotas) => {
            report.projects = quotas
                .iter()
                .map(|quota| project_usage(quota, report.threshold_percent))
                .collect();
            report.projects.sort_by(|a, b| a.project.cmp(&b.project));
        }
        Err(error) => report.unavailable.push(format!("quotas: {error}")),
    }
}

fn project_usage(quota: &Quota, threshold: f64) -> ProjectUsage {
    let storage = |list: &Option<std::collections::BTreeMap<String, i64>>| {
        list.as_ref().and_then(|list| list.get("storage")).copied()
    };
    let used = storage(&quota.used).unwrap_or(0);
    let limit = storage(&quota.hard).filter(|limit| *limit > 0);
    let used_percent = limit.map(|limit| used as f64 * 100.0 / limit as f64);
    let project = quota
        .r#ref
        .as_ref()
        .and_then(|reference| reference.get("name"))
        .and_then(serde_json::Value::as_str)
        .map_or_else(
            || format!("quota {}", quota.id.unwrap_or_default()),
            str::to_owned,
        );
    ProjectUsage {
        project,
        used_bytes: used,
        limit_bytes: limit,
        used_percent,
        over_threshold: used_percent.is_some_and(|percent| percent > threshold),
    }
}

fn problems(report: &HealthReport) -> Vec<String> {
    let mut problems: Vec<String> = report
        .components
        .iter()
        .filter(|component| !component.healthy)
        .map(|component| match &component.error {
            Some(error) => format!("component {} is unhealthy: {error}", component.name),
            None => format!("component {} is unhealthy", component.name),
        })
        .collect();
    if !report.healthy && problems.is_empty() {
        problems.push("Harbor reports itself unhealthy".to_owned());
    }
    for project in report.projects.iter().filter(|p| p.over_threshold) {
        problems.push(format!(
            "project {} uses {:.1} % of its storage quota (threshold {} %)",
            project.project,
            project.used_percent.unwrap_or_default(),
            report.threshold_percent
        ));
    }
    for detail in &report.unavailable {
        problems.push(format!("cannot read {detail}"));
    }
    problems
}

fn render_table(report: &HealthReport) -> String {
    let mut table = Table::new(["CHECK", "STATUS", "DETAIL"]);
    for component in &report.components {
        let status = if component.healthy {
            "healthy"
        } else {
            "UNHEALTHY"
        };
        table.row([
            format!("component {}", component.name),
            status.to_owned(),
            component.error.clone().unwrap_or_default(),
        ]);
    }
    if let Some(version) = &report.version {
        table.row(["version", version.as_str(), ""]);
    }
    if let (Some(projects), Some(repositories), Some(storage)) = (
        report.project_count,
        report.repository_count,
        report.storage_bytes,
    ) {
        table.row([
            "statistics".to_owned(),
            String::new(),
            format!(
                "{projects} projects, {repositories} repositories, {}",
                human_bytes(storage.max(0) as u64)
            ),
        ]);
    }
    for project in &report.projects {
        let status = if project.over_threshold { "OVER" } else { "ok" };
        let detail = match (project.limit_bytes, project.used_percent) {
            (Some(limit), Some(percent)) => format!(
                "{} of {} ({percent:.1} %)",
                human_bytes(project.used_bytes.max(0) as u64),
                human_bytes(limit as u64)
            ),
            _ => format!(
                "{} (unlimited)",
                human_bytes(project.used_bytes.max(0) as u64)
            ),
        };
        table.row([
            format!("quota {}", project.project),
            status.to_owned(),
            detail,
        ]);
    }
    table.render()
}

/// The report in Prometheus' text exposition format (version 0.0.4).
fn render_prometheus(report: &HealthReport) -> String {
    let mut text = String::new();
    let mut metric = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(text, "{name}{labels} {value}");
        }
    };
    metric(
        "harbor_up",
        "1 when Harbor reports every component healthy.",
        &[(String::new(), f64::from(u8::from(report.healthy)))],
    );
    let components: Vec<(String, f64)> = report
        .components
        .iter()
        .map(|c| {
            (
                labels(&[("component", &c.name)]),
                f64::from(u8::from(c.healthy)),
            )
        })
        .collect();
    metric(
        "harbor_component_healthy",
        "1 when the component is healthy.",
        &components,
    );
    let totals = [
        ("harbor_projects_total", "Projects.", report.project_count),
        (
            "harbor_repositories_total",
            "Repositories.",
            report.repository_count,
        ),
        (
            "harbor_storage_used_bytes",
            "Storage used by all projects.",
            report.storage_bytes,
        ),
    ];
    for (name, help, value) in totals {
        if let Some(value) = value {
            metric(name, help, &[(String::new(), value as f64)]);
        }
    }
    let used: Vec<(String, f64)> = report
        .projects
        .iter()
        .map(|p| (labels(&[("project", &p.project)]), p.used_bytes as f64))
        .collect();
    metric(
        "harbor_project_storage_used_bytes",
        "Storage used by the project.",
        &used,
    );
    let limits: Vec<(String, f64)> = report
        .projects
        .iter()
        .filter_map(|p| Some((labels(&[("project", &p.project)]), p.limit_bytes? as f64)))
        .collect();
    metric(
        "harbor_project_storage_limit_bytes",
        "The project's storage quota (absent when unlimited).",
        &limits,
    );
    text
}

/// `{key="value",...}` with Prometheus' escaping of backslash, quote and newline.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(key, value)| {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{key}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Args as clap::CommandFactory>::command().debug_assert();
    }

    fn quota(name: &str, used: i64, hard: i64) -> Quota {
        serde_json::from_value(serde_json::json!({
            "id": 1, "ref": {"name": name}, "hard": {"storage": hard}, "used": {"storage": used}
        }))
        .unwrap()
    }

    #[test]
    fn usage_above_the_threshold_is_flagged() {
        let over = project_usage(&quota("big", 90, 100), 80.0);
        assert!(over.over_threshold);
        assert_eq!(over.used_percent, Some(90.0));
        let unlimited = project_usage(&quota("free", 90, -1), 80.0);
        assert!(!unlimited.over_threshold);
        assert_eq!(unlimited.limit_bytes, None);
    }

    #[test]
    fn details_that_cannot_be_read_are_problems_but_components_still_count() {
        let report = HealthReport {
            healthy: true,
            components: vec![Component {
                name: "core".to_owned(),
                healthy: true,
                error: None,
            }],
            version: None,
            registry_url: None,
            project_count: None,
            repository_count: None,
            storage_bytes: None,
            threshold_percent: 80.0,
            projects: Vec::new(),
            unavailable: vec!["statistics: harbor answered 500".to_owned()],
            problems: Vec::new(),
        };
        assert_eq!(
            problems(&report),
            ["cannot read statistics: harbor answered 500"]
        );
        assert!(render_table(&report).contains("component core"));
    }

    #[test]
    fn prometheus_labels_are_escaped() {
        assert_eq!(labels(&[("project", "a\"b\\c")]), r#"{project="a\"b\\c"}"#);
    }
}
