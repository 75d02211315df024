//! `migrate`: move every image from ECR (or any registry) into Harbor, then rewrite the
//! references in manifests and Dockerfiles.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::Serialize;
use wharf_ecr_compat::EcrClient;
use wharf_ecr_compat::auth::EcrCredentialProvider;
use wharf_ecr_compat::mapping::Mapping;
use wharf_ecr_compat::rewrite::{FileKind, Rewriter};
use wharf_ecr_compat::uri::EcrRegistry;
use wharf_examples::cli::{CommonArgs, OutputFormat, finish};
use wharf_examples::migration::config::{MigrationConfig, SourceConfig};
use wharf_examples::migration::inventory::{self, Inventory};
use wharf_examples::output::{Table, print_report};
use wharf_examples::registry::{
    copy_plan_table, copy_progress, copy_report_table, copy_summary, finish_progress,
};
use wharf_examples::secrets::require_secret;
use wharf_harbor_client::HarborClient;
use wharf_harbor_client::handlers::NewProject;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{BatchReport, CopyEngine, CopyOptions, CopyPlan, CopyRequest};
use wharf_oci_core::credentials::{
    Credential, CredentialChain, CredentialSource, StaticCredentials,
};
use wharf_oci_core::docker_credentials::DockerCredentials;
use wharf_oci_core::secret::Secret;
use wharf_oci_core::transport::TransportConfig;

const EXAMPLES: &str = "\
Examples:
  # see what would move and which Harbor projects would be created
  migrate run --config migrate.toml --dry-run

  # move everything; run it again after an interruption to finish the rest
  HARBOR_PASSWORD=... migrate run --config migrate.toml --report report.json

  # as a Kubernetes Indexed Job with 4 completions: each pod takes a quarter
  migrate run --config migrate.toml --shard $JOB_COMPLETION_INDEX/4

  # then point the manifests at Harbor, reviewing the diff first
  migrate rewrite --mapping mapping.toml ./deploy
  migrate rewrite --mapping mapping.toml ./deploy --write

Exit code 0: done; 1: some image failed (see the report) or references have no mapping;
2: usage.";

/// Migrate images from ECR or any registry into Harbor, and rewrite references.
#[derive(Debug, Parser)]
#[command(name = "migrate", version, after_help = EXAMPLES)]
struct Args {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Copy every tag of every source into Harbor, creating missing projects.
    Run {
        /// The migration configuration (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Show the plan and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Take shard I of N (0-based), splitting by repository: `--shard 2/4`.
        #[arg(long, value_name = "I/N", value_parser = parse_shard)]
        shard: Option<Shard>,
        /// Where to write the JSON report.
        #[arg(long, default_value = "migrate-report.json")]
        report: PathBuf,
    },
    /// Rewrite ECR references in YAML files and Dockerfiles under a directory.
    Rewrite {
        /// The ecr-compat mapping (TOML).
        #[arg(long)]
        mapping: PathBuf,
        /// Write the files instead of printing the diff only.
        #[arg(long)]
        write: bool,
        /// The directory (or file) to rewrite.
        path: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.common.init_logging();
    let output = args.common.output;
    finish(match args.command {
        Command::Run {
            config,
            dry_run,
            shard,
            report,
        } => run(&config, dry_run, shard, &report, output).await,
        Command::Rewrite {
            mapping,
            write,
            path,
        } => rewrite(&mapping, write, &path, output).await,
    })
}

/// What `migrate run` writes to its report file.
#[derive(Debug, Serialize)]
struct MigrationReport<'a> {
    shard: Option<Shard>,
    dry_run: bool,
    projects_created: Vec<String>,
    inventory: &'a Inventory,
    plan: Option<CopyPlan>,
    copy: Option<BatchReport>,
}

async fn run(
    config_path: &Path,
    dry_run: bool,
    shard: Option<Shard>,
    report_path: &Path,
    output: OutputFormat,
) -> anyhow::Result<bool> {
    let config = MigrationConfig::load(config_path)?;
    let harbor_registry = config.harbor_registry()?;
    let password = require_secret("HARBOR_PASSWORD", config.target.password_file.as_deref())?;
    let ecr_clients = ecr_clients(&config).await?;
    let registry = registry_client(&config, &harbor_registry, &password, &ecr_clients)?;
    let mut inventory =
        inventory::collect(&config.sources, &registry, &harbor_registry, &ecr_clients).await?;
    if let Some(shard) = shard {
        inventory = inventory.shard(shard.index, shard.count);
    }
    let harbor = HarborClient::builder(&config.target.url)
        .basic(&config.target.username, password.clone())
        .transport(transport(&config)?)
        .build()?;
    let projects = missing_projects(&harbor, &inventory).await?;
    let requests: Vec<CopyRequest> = inventory
        .items
        .iter()
        .map(|item| CopyRequest::new(item.source.clone(), [item.target.clone()]))
        .collect();
    let engine_options = CopyOptions::default()
        .blob_jobs(config.jobs)
        .referrers(config.referrers);
    let mut report = MigrationReport {
        shard,
        dry_run,
        projects_created: Vec::new(),
        inventory: &inventory,
        plan: None,
        copy: None,
    };
    if dry_run {
        let plan = CopyEngine::new(registry, engine_options)
            .plan(&requests)
            .await;
        println!(
            "projects to create: {}",
            if projects.is_empty() {
                "none".to_owned()
            } else {
                projects.join(", ")
            }
        );
        print_report(output, &plan, copy_plan_table)?;
        report.plan = Some(plan);
        write_report(report_path, &report)?;
        return Ok(true);
    }
    create_projects(&harbor, &projects, &config).await?;
    report.projects_created = projects;
    let (progress, observer) = copy_progress("migrating");
    let copied = CopyEngine::new(registry, engine_options.observer(observer))
        .copy(&requests)
        .await;
    finish_progress(progress);
    print_report(output, &copied, copy_report_table)?;
    if output == OutputFormat::Table {
        println!("{}", copy_summary(&copied));
        for skipped in &inventory.skipped {
            println!("skipped {}: {}", skipped.source, skipped.reason);
        }
    }
    let succeeded = copied.succeeded();
    report.copy = Some(copied);
    write_report(report_path, &report)?;
    Ok(succeeded)
}

/// `--shard I/N`: this run takes shard `index` of `count` (numbered from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct Shard {
    index: usize,
    count: usize,
}

/// Reads `--shard` while the command line is read, so that a bad value is a usage error
/// (exit 2) before anything is listed.
fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text.split_once('/').ok_or("--shard takes I/N")?;
    let index = index.parse().map_err(|_| "I is not a whole number")?;
    let count = count.parse().map_err(|_| "N is not a whole number")?;
    if count == 0 || index >= count {
        return Err("I must be below N (shards are numbered from 0)".to_owned());
    }
    Ok(Shard { index, count })
}

fn transport(config: &MigrationConfig) -> anyhow::Result<TransportConfig> {
    let mut transport = TransportConfig::builder().plain_http_hosts(&config.plain_http);
    for ca in &config.ca_files {
        transport = transport.ca_file(ca);
    }
    Ok(transport.build()?)
}

/// An ECR API client per ECR source (`None` for other sources).
async fn ecr_clients(config: &MigrationConfig) -> anyhow::Result<Vec<Option<EcrClient>>> {
    let mut clients = Vec::new();
    for source in &config.sources {
        let client = match source {
            SourceConfig::Ecr {
                region,
                endpoint_url,
                ..
            } => {
                let mut builder = EcrClient::builder().region(region.clone());
                if let Some(url) = endpoint_url {
                    builder = builder.endpoint_url(url.clone());
                }
                Some(builder.build().await?)
            }
            SourceConfig::Registry { .. } => None,
        };
        clients.push(client);
    }
    Ok(clients)
}

/// Harbor's credentials for its registry, ECR tokens for ECR hosts, the Docker config for
/// everything else.
fn registry_client(
    config: &MigrationConfig,
    harbor_registry: &str,
    password: &Secret,
    ecr_clients: &[Option<EcrClient>],
) -> anyhow::Result<RegistryClient> {
    let harbor = StaticCredentials::new().with(
        harbor_registry,
        Credential::basic(&config.target.username, password.clone()),
    );
    let mut chain = CredentialChain::new().then(Arc::new(harbor));
    for (source, client) in config.sources.iter().zip(ecr_clients) {
        if let (
            SourceConfig::Ecr {
                account,
                region,
                registry_host,
                ..
            },
            Some(client),
        ) = (source, client)
        {
            let host = EcrRegistry::new(account.clone(), region.clone()).host();
            let mut provider = EcrCredentialProvider::builder(&host, Arc::new(client.clone()));
            if let Some(stand_in) = registry_host {
                provider = provider.also_for(stand_in);
            }
            chain = chain.then(Arc::new(OnlyFor {
                hosts: vec![host, registry_host.clone().unwrap_or_default()],
                inner: Arc::new(provider.build()),
            }));
        }
    }
    let docker =
        DockerCredentials::from_default_location().context("cannot read the Docker config")?;
    chain = chain.then(Arc::new(docker));
    Ok(RegistryClient::builder()
        .transport(transport(config)?)
        .credentials(Arc::new(chain))
        .build()?)
}

/// Asks `inner` only for the listed hosts, so one ECR provider is not asked about others.
#[derive(Debug)]
struct OnlyFor {
    hosts: Vec<String>,
    inner: Arc<dyn CredentialSource>,
}

impl CredentialSource for OnlyFor {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> wharf_oci_core::credentials::BoxFuture<
        'a,
        Result<Option<Credential>, wharf_oci_core::credentials::CredentialError>,
    > {
        if self.hosts.iter().any(|h| h.eq_ignore_ascii_case(registry)) {
            self.inner.credential(registry)
        } else {
            Box::pin(async { Ok(None) })
        }
    }

    fn invalidate<'a>(
        &'a self,
        registry: &'a str,
    ) -> wharf_oci_core::credentials::BoxFuture<'a, ()> {
        self.inner.invalidate(registry)
    }
}

/// Projects the inventory needs that Harbor does not have yet, sorted.
async fn missing_projects(
    harbor: &HarborClient,
    inventory: &Inventory,
) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = inventory
        .items
        .iter()
        .map(|item| item.project().to_owned())
        .collect();
    names.sort();
    names.dedup();
    let mut missing = Vec::new();
    for name in names {
        if !harbor
            .projects()
            .exists(&name)
            .await
            .with_context(|| format!("cannot look up project {name}"))?
        {
            missing.push(name);
        }
    }
    Ok(missing)
}

async fn create_projects(
    harbor: &HarborClient,
    names: &[String],
    config: &MigrationConfig,
) -> anyhow::Result<()> {
    let defaults = &config.target.project_defaults;
    for name in names {
        let mut project = NewProject::new(name.clone())
            .public(defaults.public)
            .auto_scan(defaults.auto_scan);
        if let Some(gib) = defaults.storage_limit_gib {
            project = project.storage_limit(gib * 1024 * 1024 * 1024);
        }
        harbor
            .projects()
            .create(project)
            .await
            .with_context(|| format!("cannot create project {name}"))?;
        tracing::info!(project = %name, "project created");
    }
    Ok(())
}

fn write_report(path: &Path, report: &MigrationReport<'_>) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("report written to {}", path.display());
    Ok(())
}

/// A file's rewrite outcome for the report.
#[derive(Debug, Serialize)]
struct FileOutcome {
    path: String,
    changed: usize,
    unmapped: Vec<String>,
}

async fn rewrite(
    mapping_path: &Path,
    write: bool,
    root: &Path,
    output: OutputFormat,
) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(mapping_path)
        .with_context(|| format!("cannot read {}", mapping_path.display()))?;
    let rewriter = Rewriter::new(Mapping::from_toml(&text)?);
    let mut outcomes = Vec::new();
    for path in files_under(root)? {
        let Some(kind) = FileKind::detect(&path) else {
            continue;
        };
        let original = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let result = rewriter.rewrite(&original, kind).await;
        let shown = path.display().to_string();
        if result.is_changed() {
            if output == OutputFormat::Table {
                print!("{}", result.diff(&shown));
            }
            if write {
                std::fs::write(&path, &result.text)
                    .with_context(|| format!("cannot write {shown}"))?;
            }
        }
        let unmapped = result
            .unmapped
            .iter()
            .map(|u| format!("line {}: {} ({})", u.line, u.reference, u.reason))
            .collect();
        outcomes.push(FileOutcome {
            path: shown,
            changed: result.changes.len(),
            unmapped,
        });
    }
    let all_mapped = outcomes.iter().all(|o| o.unmapped.is_empty());
    print_report(output, &outcomes, |outcomes| {
        let mut table = Table::new(["FILE", "CHANGED", "UNMAPPED"]);
        for o in outcomes
            .iter()
            .filter(|o| o.changed > 0 || !o.unmapped.is_empty())
        {
            table.row([o.path.clone(), o.changed.to_string(), o.unmapped.join("; ")]);
        }
        table
    })?;
    if !write && output == OutputFormat::Table {
        println!("(dry run: pass --write to change the files)");
    }
    Ok(all_mapped)
}

/// Every file under `root` (or `root` itself), sorted, skipping hidden folders.
fn files_under(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if path.is_dir() && !hidden {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Args as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn shards_are_numbered_from_zero_below_their_count() {
        assert_eq!(parse_shard("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(parse_shard("3/4"), Ok(Shard { index: 3, count: 4 }));
        for bad in ["4/4", "0/0", "1", "a/2", "1/b", "-1/2", ""] {
            assert!(parse_shard(bad).is_err(), "{bad} accepted");
        }
        let refused = <Args as clap::Parser>::try_parse_from([
            "migrate", "run", "--config", "m.toml", "--shard", "3/3",
        ])
        .unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(
            refused.to_string().contains("I must be below N"),
            "{refused}"
        );
    }
}
