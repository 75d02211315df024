//! `publish`: publish Python, npm, generic, Cargo and Helm artifacts to Gitea's package
//! registries (or, for Python and npm, to any compatible index).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use serde::Serialize;
use wharf_examples::cli::{CommonArgs, finish};
use wharf_examples::output::{Table, print_report};
use wharf_examples::secrets::require_secret;
use wharf_gitea_client::helm::ChartArchive;
use wharf_gitea_client::npm::NpmRegistry;
use wharf_gitea_client::pypi::PypiRegistry;
use wharf_gitea_client::{Auth, Error as GiteaError, GiteaClient};

const EXAMPLES: &str = "\
Examples:
  export GITEA_TOKEN=...   # a token with the write:package scope
  # a wheel and an sdist, an npm package, a crate and a Helm chart: the kind comes from the file
  publish --url https://gitea.example.com --owner platform \\
          dist/tool-1.2.0-py3-none-any.whl dist/tool-1.2.0.tar.gz web-ui-3.1.0.tgz \\
          target/package/wharf-0.1.0.crate charts/api-0.4.0.tgz

  # a generic file needs a package name and version
  publish --url https://gitea.example.com --owner platform --kind generic \\
          --name backups --package-version 2026.12 dump.sql.zst

  # re-running a release job: versions already there are not an error
  publish --url https://gitea.example.com --owner platform --skip-existing dist/*

  # a PyPI- or npm-compatible index instead of Gitea (pypiserver, verdaccio)
  publish --pypi-url http://127.0.0.1:8080/ --user uploader dist/tool-1.2.0.tar.gz
  publish --npm-registry http://127.0.0.1:4873/ --bearer web-ui-3.1.0.tgz

The token (or password, with --user) comes from GITEA_TOKEN or --token-file. Exit code 0: all
published (or already there with --skip-existing); 1: a duplicate or a failure; 2: usage.";

/// Package formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    /// From the file: `.whl`/`.tar.gz`/`.zip` Python, `.crate` Cargo, `.tgz` Helm when it
    /// holds a `Chart.yaml`, else npm.
    Auto,
    /// Python wheel or sdist.
    Pypi,
    /// npm package tarball.
    Npm,
    /// Any file, with `--name` and `--package-version`.
    Generic,
    /// Cargo `.crate` file.
    Cargo,
    /// Helm chart archive.
    Helm,
}

/// Publish package files to Gitea.
#[derive(Debug, Parser)]
#[command(name = "publish", version, after_help = EXAMPLES)]
struct Args {
    /// Files to publish.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Gitea's URL.
    #[arg(long, env = "GITEA_URL", value_name = "URL")]
    url: Option<String>,

    /// The user or organisation that owns the packages.
    #[arg(long, env = "GITEA_OWNER")]
    owner: Option<String>,

    /// The format of every file (default: from each file).
    #[arg(long, value_enum, default_value_t = Kind::Auto)]
    kind: Kind,

    /// Package name, for generic files.
    #[arg(long)]
    name: Option<String>,

    /// Package version, for generic files.
    #[arg(long = "package-version", value_name = "VERSION")]
    package_version: Option<String>,

    /// File with the token or password (default: the GITEA_TOKEN variable).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// Send the secret as this user's password (Basic auth) instead of as a token.
    #[arg(long)]
    user: Option<String>,

    /// Send the secret as a Bearer token (npm registries such as verdaccio).
    #[arg(long, conflicts_with = "user")]
    bearer: bool,

    /// Upload Python files to this PyPI-compatible upload URL instead of Gitea.
    #[arg(long, value_name = "URL")]
    pypi_url: Option<String>,

    /// The simple index of `--pypi-url` (default: `<pypi-url>/simple/`).
    #[arg(long, value_name = "URL", requires = "pypi_url")]
    pypi_simple_url: Option<String>,

    /// Publish npm tarballs to this npm registry instead of Gitea.
    #[arg(long, value_name = "URL")]
    npm_registry: Option<String>,

    /// The npm dist-tag (default `latest`).
    #[arg(long)]
    npm_tag: Option<String>,

    /// A version that is already published is not an error.
    #[arg(long)]
    skip_existing: bool,

    #[command(flatten)]
    common: CommonArgs,
}

/// What happened to one file.
#[derive(Debug, Serialize)]
struct Published {
    file: PathBuf,
    kind: Kind,
    package: Option<String>,
    version: Option<String>,
    /// `published`, `already exists` or `failed`.
    status: &'static str,
    /// The server's message or the error.
    message: Option<String>,
}

#[derive(Debug, Serialize)]
struct PublishReport {
    files: Vec<Published>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.common.init_logging();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let targets = Targets::new(&args)?;
    let mut files = Vec::new();
    for file in &args.files {
        let kind = detect_kind(file, args.kind)?;
        let outcome = targets.publish(&args, file, kind).await;
        files.push(record(file, kind, outcome));
    }
    let report = PublishReport { files };
    print_report(args.common.output, &report, report_table)?;
    let ok = report.files.iter().all(|published| match published.status {
        "published" => true,
        "already exists" => args.skip_existing,
        _ => false,
    });
    Ok(ok)
}

/// Name and version of what was published.
type Identity = (String, String);

fn record(file: &Path, kind: Kind, outcome: Result<Identity, GiteaError>) -> Published {
    let (package, version, status, message) = match outcome {
        Ok((name, version)) => (Some(name), Some(version), "published", None),
        Err(GiteaError::AlreadyExists { what, message, .. }) => (
            Some(what.clone()),
            None,
            "already exists",
            Some(format!("{what} already exists: {}", one_line(&message))),
        ),
        Err(error) => (None, None, "failed", Some(one_line(&error.to_string()))),
    };
    Published {
        file: file.to_owned(),
        kind,
        package,
        version,
        status,
        message,
    }
}

/// Server messages can span lines; a table cell cannot.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The registries files go to.
struct Targets {
    gitea: Option<GiteaClient>,
    pypi: Option<PypiRegistry>,
    npm: Option<NpmRegistry>,
}

impl Targets {
    fn new(args: &Args) -> anyhow::Result<Self> {
        let secret = require_secret("GITEA_TOKEN", args.token_file.as_deref())?;
        let auth = match (&args.user, args.bearer) {
            (Some(user), _) => Auth::basic(user.clone(), secret),
            (None, true) => Auth::bearer(secret),
            (None, false) => Auth::token(secret),
        };
        let gitea = match (&args.url, &args.owner) {
            (Some(url), Some(owner)) => Some(
                GiteaClient::builder(url.clone(), owner.clone())
                    .auth(auth.clone())
                    .build()
                    .context("cannot build the Gitea client")?,
            ),
            (Some(_), None) => bail!("--url needs --owner"),
            _ => None,
        };
        let pypi = match &args.pypi_url {
            Some(url) => {
                let simple = args
                    .pypi_simple_url
                    .clone()
                    .unwrap_or_else(|| format!("{}/simple/", url.trim_end_matches('/')));
                Some(PypiRegistry::new(url, &simple, auth.clone()).context("invalid --pypi-url")?)
            }
            None => None,
        };
        let npm = match &args.npm_registry {
            Some(url) => Some(NpmRegistry::new(url, auth).context("invalid --npm-registry")?),
            None => None,
        };
        Ok(Self { gitea, pypi, npm })
    }

    fn gitea(&self, kind: Kind) -> Result<&GiteaClient, GiteaError> {
        self.gitea.as_ref().ok_or_else(|| GiteaError::Config {
            reason: format!("{kind:?} packages go to Gitea: give --url and --owner"),
        })
    }

    async fn publish(&self, args: &Args, file: &Path, kind: Kind) -> Result<Identity, GiteaError> {
        match kind {
            Kind::Pypi => {
                let index = match &self.pypi {
                    Some(index) => index.clone(),
                    None => self.gitea(kind)?.pypi(),
                };
                let uploaded = index.upload_file(file).await?;
                Ok((uploaded.name, uploaded.version))
            }
            Kind::Npm => {
                let registry = match &self.npm {
                    Some(registry) => registry.clone(),
                    None => self.gitea(kind)?.npm(),
                };
                let tarball = registry.publish_file(file, args.npm_tag.as_deref()).await?;
                Ok((tarball.name().to_owned(), tarball.version().to_owned()))
            }
            Kind::Cargo => {
                let published = self.gitea(kind)?.cargo().publish_file(file).await?;
                Ok((published.name().to_owned(), published.version().to_owned()))
            }
            Kind::Helm => {
                let chart = self.gitea(kind)?.helm().upload_file(file).await?;
                let metadata = chart.metadata();
                Ok((metadata.name.clone(), metadata.version.clone()))
            }
            Kind::Generic => self.publish_generic(args, file).await,
            Kind::Auto => unreachable!("detect_kind resolves Auto"),
        }
    }

    async fn publish_generic(&self, args: &Args, file: &Path) -> Result<Identity, GiteaError> {
        let (Some(name), Some(version)) = (&args.name, &args.package_version) else {
            return Err(GiteaError::Config {
                reason: "generic files need --name and --package-version".to_owned(),
            });
        };
        let file_name =
            file.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| GiteaError::Config {
                    reason: format!("{} has no file name", file.display()),
                })?;
        self.gitea(Kind::Generic)?
            .generic()
            .upload_file(name, version, file_name, file)
            .await?;
        Ok((name.clone(), version.clone()))
    }
}

/// The kind of a file: the flag when given, else from its name (and a `.tgz`'s content).
fn detect_kind(file: &Path, flag: Kind) -> anyhow::Result<Kind> {
    if flag != Kind::Auto {
        return Ok(flag);
    }
    let name = file
        .file_name()
        .and_then(|name| name.to_str())
        .with_context(|| format!("{} has no file name", file.display()))?;
    let kind = if [".whl", ".tar.gz", ".zip"]
        .iter()
        .any(|ext| has_suffix(name, ext))
    {
        Kind::Pypi
    } else if has_suffix(name, ".crate") {
        Kind::Cargo
    } else if has_suffix(name, ".tgz") {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        if ChartArchive::from_bytes(name, bytes).is_ok() {
            Kind::Helm
        } else {
            Kind::Npm
        }
    } else {
        bail!("cannot tell the package kind of {name}: pass --kind");
    };
    Ok(kind)
}

/// Whether `name` ends with `suffix`, ignoring ASCII case (`.WHL` is a wheel too).
fn has_suffix(name: &str, suffix: &str) -> bool {
    name.len()
        .checked_sub(suffix.len())
        .and_then(|start| name.get(start..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

fn report_table(report: &PublishReport) -> Table {
    let mut table = Table::new(["FILE", "KIND", "PACKAGE", "VERSION", "STATUS", "MESSAGE"]);
    for published in &report.files {
        table.row([
            published.file.display().to_string(),
            format!("{:?}", published.kind).to_lowercase(),
            published.package.clone().unwrap_or_default(),
            published.version.clone().unwrap_or_default(),
            published.status.to_owned(),
            published.message.clone().unwrap_or_default(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Args as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn kinds_come_from_file_names() {
        assert_eq!(
            detect_kind(Path::new("a-1.0-py3-none-any.whl"), Kind::Auto).unwrap(),
            Kind::Pypi
        );
        assert_eq!(
            detect_kind(Path::new("a-1.0.tar.gz"), Kind::Auto).unwrap(),
            Kind::Pypi
        );
        assert_eq!(
            detect_kind(Path::new("a-1.0.crate"), Kind::Auto).unwrap(),
            Kind::Cargo
        );
        assert_eq!(
            detect_kind(Path::new("x.bin"), Kind::Generic).unwrap(),
            Kind::Generic
        );
        assert!(detect_kind(Path::new("x.bin"), Kind::Auto).is_err());
    }
}
