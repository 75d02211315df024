//! `mirror`: keep copies of upstream images (Docker Hub, GHCR, ...) in your own registry.
//!
//! Meant for a schedule (a CronJob, a CI schedule): each run checks every configured tag with
//! one `HEAD` upstream and one at home, and only images whose digest changed move. Rate limits
//! are honoured: a 429 or 503 with `Retry-After` (or a 429 with `RateLimit-Reset`) is waited
//! out and logged as a warning; an exhausted quota whose window is longer than any sensible
//! wait (Docker Hub's `RateLimit-Remaining: 0;w=21600`) is not retried: those images fail with
//! the limit named in the log, and the next scheduled run picks them up.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Parser;
use serde::Deserialize;
use wharf_examples::cli::{CommonArgs, OutputFormat, finish};
use wharf_examples::output::print_report;
use wharf_examples::registry::{
    copy_plan_table, copy_progress, copy_report_table, copy_summary, finish_progress,
};
use wharf_examples::secrets::read_secret;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{CopyEngine, CopyOptions, CopyRequest};
use wharf_oci_core::credentials::{Credential, CredentialChain, StaticCredentials};
use wharf_oci_core::docker_credentials::DockerCredentials;
use wharf_oci_core::platform::Platform;
use wharf_oci_core::reference::Reference;
use wharf_oci_core::transport::TransportConfig;

const EXAMPLES: &str = "\
Examples:
  mirror --config mirror.toml
  mirror --config mirror.toml --dry-run --output json

mirror.toml:
  target = \"harbor.example.com/mirror\"     # registry host and path prefix (Harbor project)
  platform = \"linux/amd64\"                 # optional: one platform instead of the whole index
  [[images]]
  source = \"docker.io/library/nginx:alpine\" # -> harbor.example.com/mirror/library/nginx:alpine
  [[images]]
  source = \"python\"
  tags = [\"3.12-slim\", \"3.13-slim\"]
  name = \"python\"                          # -> harbor.example.com/mirror/python:<tag>

Credentials: DOCKERHUB_USERNAME and DOCKERHUB_TOKEN (optional, raises Docker Hub's limit),
TARGET_USERNAME and TARGET_PASSWORD (or TARGET_PASSWORD_FILE) for the target registry, else
the Docker config.json. Exit code 0: all in sync; 1: some image failed; 2: usage.";

/// Mirror upstream images into a registry; only changed digests move.
#[derive(Debug, Parser)]
#[command(name = "mirror", version, after_help = EXAMPLES)]
struct Args {
    /// The mirror configuration (TOML).
    #[arg(long)]
    config: PathBuf,

    /// Show what would be copied and write nothing.
    #[arg(long)]
    dry_run: bool,

    /// Blob transfers at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,

    #[command(flatten)]
    common: CommonArgs,
}

/// The configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorConfig {
    /// Registry host with an optional path prefix.
    target: String,
    /// Hosts reached over plain HTTP.
    #[serde(default)]
    plain_http: Vec<String>,
    /// Extra CA files.
    #[serde(default)]
    ca_files: Vec<PathBuf>,
    /// One platform instead of whole indexes.
    platform: Option<String>,
    /// Copy signatures and SBOMs too.
    #[serde(default)]
    referrers: bool,
    /// The images to keep in sync.
    images: Vec<MirroredImage>,
}

/// One upstream image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MirroredImage {
    /// Upstream reference, with a tag unless `tags` is given.
    source: String,
    /// Tags to mirror when `source` has none.
    #[serde(default)]
    tags: Vec<String>,
    /// Repository path under the target (default: the upstream repository path).
    name: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.common.init_logging();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let config: MirrorConfig = toml::from_str(&text).context("invalid mirror configuration")?;
    let requests = requests(&config)?;
    let client = client(&config)?;
    let mut options = CopyOptions::default()
        .blob_jobs(args.jobs)
        .referrers(config.referrers);
    if let Some(platform) = &config.platform {
        options = options.platform(platform.parse::<Platform>().context("invalid platform")?);
    }
    if args.dry_run {
        let plan = CopyEngine::new(client, options).plan(&requests).await;
        print_report(args.common.output, &plan, copy_plan_table)?;
        return Ok(plan.references.iter().all(|r| r.error.is_none()));
    }
    let (progress, observer) = copy_progress("mirroring");
    let report = CopyEngine::new(client, options.observer(observer))
        .copy(&requests)
        .await;
    finish_progress(progress);
    print_report(args.common.output, &report, copy_report_table)?;
    if args.common.output == OutputFormat::Table {
        println!("{}", copy_summary(&report));
    }
    Ok(report.succeeded())
}

/// One copy request per mirrored tag.
fn requests(config: &MirrorConfig) -> anyhow::Result<Vec<CopyRequest>> {
    let prefix = config.target.trim_end_matches('/');
    let mut requests = Vec::new();
    for image in &config.images {
        let source = Reference::parse(&image.source)
            .with_context(|| format!("invalid source `{}`", image.source))?;
        let name = image.name.as_deref().unwrap_or(source.repository());
        let target = Reference::parse(&format!("{prefix}/{name}"))
            .with_context(|| format!("invalid target for `{}`", image.source))?;
        let sources = if image.tags.is_empty() {
            if source.tag().is_none() && source.digest().is_none() {
                bail!("`{}` needs a tag or a `tags` list", image.source);
            }
            vec![source.clone()]
        } else {
            image
                .tags
                .iter()
                .map(|tag| source.with_tag(tag))
                .collect::<Result<_, _>>()?
        };
        for source in sources {
            let destination = match source.tag() {
                Some(tag) => target.with_tag(tag)?,
                None => target.clone(),
            };
            requests.push(CopyRequest::new(source, [destination]));
        }
    }
    Ok(requests)
}

/// Explicit credentials from the environment first, then the Docker config.
fn client(config: &MirrorConfig) -> anyhow::Result<RegistryClient> {
    let mut explicit = StaticCredentials::new();
    if let (Ok(user), Some(token)) = (
        std::env::var("DOCKERHUB_USERNAME"),
        read_secret("DOCKERHUB_TOKEN", None)?,
    ) {
        explicit = explicit.with("docker.io", Credential::basic(user, token));
    }
    let target_host = config.target.split('/').next().unwrap_or_default();
    let password_file = std::env::var_os("TARGET_PASSWORD_FILE").map(PathBuf::from);
    if let (Ok(user), Some(password)) = (
        std::env::var("TARGET_USERNAME"),
        read_secret("TARGET_PASSWORD", password_file.as_deref())?,
    ) {
        explicit = explicit.with(target_host, Credential::basic(user, password));
    }
    let docker =
        DockerCredentials::from_default_location().context("cannot read the Docker config")?;
    let chain = CredentialChain::new()
        .then(Arc::new(explicit))
        .then(Arc::new(docker));
    let mut transport = TransportConfig::builder().plain_http_hosts(&config.plain_http);
    for ca in &config.ca_files {
        transport = transport.ca_file(ca);
    }
    Ok(RegistryClient::builder()
        .transport(transport.build()?)
        .credentials(Arc::new(chain))
        .build()?)
}
