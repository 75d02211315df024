//! `copy`: copy images between registries, the way `skopeo sync` or `crane copy` would, with
//! one shared plan for the whole batch.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::TryStreamExt as _;
use wharf_examples::cli::{CommonArgs, OutputFormat, finish};
use wharf_examples::output::print_report;
use wharf_examples::registry::{
    RegistryArgs, copy_plan_table, copy_progress, copy_report_table, copy_summary, finish_progress,
};
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{
    CopyEngine, CopyOptions, CopyRequest, PlannedReference, ReferenceReport,
};
use wharf_oci_core::platform::Platform;
use wharf_oci_core::reference::Reference;

const EXAMPLES: &str = "\
Examples:
  # every tag of two repositories, recreated under a prefix on another registry
  copy --plain-http 127.0.0.1:5000 --plain-http 127.0.0.1:5001 \\
       --to 127.0.0.1:5001/mirror 127.0.0.1:5000/seed/svc00 127.0.0.1:5000/seed/svc01

  # one tag from Docker Hub into Harbor, only linux/amd64, with signatures and SBOMs
  copy --to harbor.example.com/mirror --platform linux/amd64 --referrers nginx:alpine

  # what would happen, as JSON
  copy --dry-run --output json --to harbor.example.com/prod ghcr.io/acme/api:1.4

Credentials come from the Docker config.json ($DOCKER_CONFIG or ~/.docker), including
credential helpers. Exit code 0: everything copied; 1: some reference failed; 2: usage.";

/// Copy images (all platforms, byte for byte) from registries into a destination registry.
#[derive(Debug, Parser)]
#[command(name = "copy", version, after_help = EXAMPLES)]
struct Args {
    /// Destination: a registry host with an optional path prefix. Each source repository path
    /// is recreated under it (`--to reg:5001/mirror` + `reg:5000/seed/app` gives
    /// `reg:5001/mirror/seed/app`).
    #[arg(long, value_name = "DEST")]
    to: String,

    /// Sources: references with a tag or digest, or repositories meaning all their tags.
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<String>,

    #[command(flatten)]
    registry: RegistryArgs,

    /// Copy only this platform out of multi-platform indexes (os/arch[/variant]).
    #[arg(long)]
    platform: Option<String>,

    /// Also copy referrers (signatures, SBOMs) of each image.
    #[arg(long)]
    referrers: bool,

    /// Show the plan (what would be copied, mounted or skipped) and write nothing.
    #[arg(long)]
    dry_run: bool,

    /// Blob transfers at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,

    #[command(flatten)]
    common: CommonArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.common.init_logging();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let client = args.registry.docker_config_client()?;
    let Expanded { requests, unlisted } = build_requests(&client, &args.sources, &args.to).await?;
    let mut options = CopyOptions::default()
        .blob_jobs(args.jobs)
        .referrers(args.referrers);
    if let Some(platform) = &args.platform {
        options = options.platform(platform.parse::<Platform>().context("invalid --platform")?);
    }
    if args.dry_run {
        let mut plan = CopyEngine::new(client, options).plan(&requests).await;
        plan.references
            .extend(unlisted.iter().map(Unlisted::planned));
        print_report(args.common.output, &plan, copy_plan_table)?;
        return Ok(plan.references.iter().all(|r| r.error.is_none()));
    }
    let (progress, observer) = copy_progress("copying");
    let mut report = CopyEngine::new(client, options.observer(observer))
        .copy(&requests)
        .await;
    report
        .references
        .extend(unlisted.iter().map(Unlisted::failed));
    finish_progress(progress);
    print_report(args.common.output, &report, copy_report_table)?;
    if args.common.output == OutputFormat::Table {
        println!("{}", copy_summary(&report));
    }
    Ok(report.succeeded())
}

/// The copy requests, and the repositories whose tags could not be listed: those are
/// reported as failed references while the rest is copied.
struct Expanded {
    requests: Vec<CopyRequest>,
    unlisted: Vec<Unlisted>,
}

/// A repository given as a source whose tags could not be listed.
struct Unlisted {
    source: String,
    destination: String,
    error: String,
}

impl Unlisted {
    fn failed(&self) -> ReferenceReport {
        ReferenceReport::failed(
            self.source.clone(),
            vec![self.destination.clone()],
            self.error.clone(),
        )
    }

    fn planned(&self) -> PlannedReference {
        PlannedReference {
            source: self.source.clone(),
            destinations: vec![self.destination.clone()],
            digest: None,
            up_to_date: false,
            manifests: 0,
            error: Some(self.error.clone()),
        }
    }
}

/// Expands repositories into one request per tag and maps each source under the destination.
/// A source that does not parse stops the run (a usage error); a repository whose tags
/// cannot be listed is kept aside and reported, so the other sources are still copied.
async fn build_requests(
    client: &RegistryClient,
    sources: &[String],
    to: &str,
) -> anyhow::Result<Expanded> {
    let prefix = to.trim_end_matches('/');
    let mut expanded = Expanded {
        requests: Vec::new(),
        unlisted: Vec::new(),
    };
    for source in sources {
        let reference =
            Reference::parse(source).with_context(|| format!("invalid source `{source}`"))?;
        let target_repo = Reference::parse(&format!("{prefix}/{}", reference.repository()))
            .with_context(|| format!("invalid destination for `{source}` under `{to}`"))?;
        let sources = match expand_tags(client, source, reference).await {
            Ok(sources) => sources,
            Err(error) => {
                expanded.unlisted.push(Unlisted {
                    source: source.clone(),
                    destination: target_repo.to_string(),
                    error: format!("{error:#}"),
                });
                continue;
            }
        };
        for source in sources {
            let destination = match (source.tag(), source.digest()) {
                (Some(tag), _) => target_repo.with_tag(tag)?,
                (None, _) => target_repo.clone(),
            };
            expanded
                .requests
                .push(CopyRequest::new(source, [destination]));
        }
    }
    Ok(expanded)
}

/// A reference with a tag or digest stands for itself; a bare repository for all its tags.
/// `Reference::parse` gives a bare name no tag, so the raw text decides.
async fn expand_tags(
    client: &RegistryClient,
    text: &str,
    reference: Reference,
) -> anyhow::Result<Vec<Reference>> {
    let last = text.rsplit('/').next().unwrap_or(text);
    if reference.digest().is_some() || last.contains(':') {
        return Ok(vec![reference]);
    }
    let tags: Vec<String> = client
        .list_tags(&reference, None)
        .try_collect()
        .await
        .with_context(|| format!("cannot list the tags of {reference}"))?;
    if tags.is_empty() {
        bail!("repository {reference} has no tags");
    }
    tags.iter()
        .map(|tag| reference.with_tag(tag).map_err(Into::into))
        .collect()
}
