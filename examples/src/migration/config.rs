//! The `migrate` configuration file (TOML).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationConfig {
    /// Where images go.
    pub target: TargetConfig,
    /// Where images come from.
    pub sources: Vec<SourceConfig>,
    /// Registry hosts reached over plain HTTP (test stacks).
    #[serde(default)]
    pub plain_http: Vec<String>,
    /// Extra CA files to trust.
    #[serde(default)]
    pub ca_files: Vec<PathBuf>,
    /// Copy referrers (signatures, SBOMs) too. Default true.
    #[serde(default = "yes")]
    pub referrers: bool,
    /// Blob transfers at once. Default 4.
    #[serde(default = "four")]
    pub jobs: usize,
}

fn yes() -> bool {
    true
}

fn four() -> usize {
    4
}

/// The Harbor instance images move to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Harbor's URL (`https://harbor.example.com`); the API lives under `/api/v2.0`.
    pub url: String,
    /// The registry host when it differs from the URL's host (rare).
    pub registry: Option<String>,
    /// Harbor user or robot account.
    pub username: String,
    /// A file with the password; else the `HARBOR_PASSWORD` environment variable.
    pub password_file: Option<PathBuf>,
    /// Metadata for projects the migration creates.
    #[serde(default)]
    pub project_defaults: ProjectDefaults,
}

/// Settings for projects created on the way.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectDefaults {
    /// Public projects allow anonymous pulls. Default false.
    #[serde(default)]
    pub public: bool,
    /// Scan every pushed image. Default false.
    #[serde(default)]
    pub auto_scan: bool,
    /// Storage quota in GiB; none means unlimited.
    pub storage_limit_gib: Option<i64>,
}

/// One source of images.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// An ECR registry, enumerated through the ECR API.
    Ecr {
        /// AWS account id.
        account: String,
        /// AWS region.
        region: String,
        /// Only repositories starting with this prefix.
        prefix: Option<String>,
        /// Only repositories matching this regular expression.
        pattern: Option<String>,
        /// ECR API endpoint override (a local moto, a VPC endpoint).
        endpoint_url: Option<String>,
        /// Registry host override standing in for `<account>.dkr.ecr.<region>.amazonaws.com`.
        registry_host: Option<String>,
        /// The ecr-compat mapping file (TOML) from ECR repositories to Harbor projects.
        mapping: PathBuf,
    },
    /// Any OCI registry: listed repositories (or its whole catalog), every tag.
    Registry {
        /// Registry host.
        registry: String,
        /// Repositories to migrate; empty means the registry's whole catalog.
        #[serde(default)]
        repositories: Vec<String>,
        /// Harbor project the repositories go under.
        project: String,
    },
}

impl MigrationConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let config: Self = toml::from_str(&text)
            .with_context(|| format!("invalid configuration {}", path.display()))?;
        anyhow::ensure!(
            !config.sources.is_empty(),
            "the configuration names no source"
        );
        Ok(config)
    }

    /// The Harbor registry host: `target.registry`, else the host of `target.url`.
    pub fn harbor_registry(&self) -> anyhow::Result<String> {
        if let Some(registry) = &self.target.registry {
            return Ok(registry.clone());
        }
        let url = url::Url::parse(&self.target.url).context("invalid target url")?;
        let host = url.host_str().context("target url has no host")?;
        Ok(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    }
}
