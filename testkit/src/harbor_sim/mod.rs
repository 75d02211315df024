//! A Harbor v2.0 simulator for flow tests: the REST API the flows use, in memory, in front of
//! a real distribution registry that trusts the simulator's token service.
//!
//! What it serves under `/api/v2.0` (shapes from Harbor's swagger, behaviour from Harbor's
//! handlers): `ping`, `health`, `systeminfo`, `statistics`; projects with string-valued
//! metadata and a storage quota (`/quotas`); repositories (double-encoded names in paths);
//! artifacts read from the registry with tags, labels and `scan_overview` keyed by MIME type;
//! tag add and delete; copy artifact (a real cross-repository mount and manifest upload);
//! robots (`robot$project+name`, secret shown once, `PATCH` refreshes it); labels; scans that
//! go Pending, Running, Success after [`HarborSimConfig::scan_delay`] and report a Trivy
//! fixture converted to Harbor's report; pagination (`X-Total-Count`, `Link`) and errors
//! (`{"errors":[...]}`, `X-Request-Id`) as Harbor sends them.
//!
//! The registry is a `docker-registry` child process on a free loopback port, configured for
//! token auth with `GET /service/token` of the simulator as its realm. The token service
//! grants what Harbor grants: the admin everything, robots what their project permissions
//! say (`repository:pull`, `repository:push`), anyone `pull` on public projects, nothing to
//! unknown callers. So `skopeo` and oci-core push and pull through it for real.
//!
//! ```no_run
//! use wharf_testkit::harbor_sim::{HarborSim, HarborSimConfig};
//!
//! # async fn example() -> Result<(), wharf_testkit::harbor_sim::SimError> {
//! let harbor = HarborSim::start(HarborSimConfig::default().scan_fixture("team/app", "alpine-310")).await?;
//! let (user, password) = harbor.admin();
//! println!("API {}/api/v2.0 as {user}, registry {}", harbor.url(), harbor.registry_host());
//! # let _ = password;
//! # Ok(())
//! # }
//! ```

mod api;
mod auth;
mod http;
mod registry;
mod report;
mod state;
mod sync;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::pki::{CertificateAuthority, PkiError};
use crate::token::{TokenError, TokenIssuer};
use registry::{RegistryClient, RegistryProcess};
use state::State as Records;

/// The admin user of a simulator (Harbor's default admin name).
pub const ADMIN_USER: &str = "admin";
/// The default admin password (Harbor's installer default).
pub const DEFAULT_ADMIN_PASSWORD: &str = "Harbor12345";
/// The default `harbor_version` reported by `/systeminfo`.
pub const DEFAULT_HARBOR_VERSION: &str = "v2.11.0-wharf-sim";
/// The default time a scan takes from trigger to `Success`.
pub const DEFAULT_SCAN_DELAY: Duration = Duration::from_millis(300);

/// Failure to start the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A loopback port could not be bound.
    #[error("cannot bind a loopback port")]
    Bind(#[source] std::io::Error),
    /// A file or folder of the working directory could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A program could not be started.
    #[error("cannot start {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The registry process exited while starting.
    #[error("the registry exited with {status} (see registry.log in the work folder)")]
    RegistryExited {
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// The registry did not answer in time.
    #[error("the registry at {url} did not answer in time")]
    RegistryNotReady {
        /// The URL polled.
        url: String,
    },
    /// The token signing certificate could not be made.
    #[error("cannot create the token signing certificate")]
    Pki(#[from] PkiError),
    /// The token issuer could not be built.
    #[error("cannot build the token issuer")]
    Token(#[from] TokenError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Settings of a simulator; every setter documents its default.
#[derive(Clone)]
pub struct HarborSimConfig {
    admin_password: String,
    scan_delay: Duration,
    scan_fixtures: HashMap<String, String>,
    fixtures_dir: PathBuf,
    harbor_version: String,
    work_dir: Option<PathBuf>,
    registry_binary: PathBuf,
}

impl std::fmt::Debug for HarborSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarborSimConfig")
            .field("admin_password", &"<redacted>")
            .field("scan_delay", &self.scan_delay)
            .field("scan_fixtures", &self.scan_fixtures)
            .field("fixtures_dir", &self.fixtures_dir)
            .field("harbor_version", &self.harbor_version)
            .field("work_dir", &self.work_dir)
            .field("registry_binary", &self.registry_binary)
            .finish()
    }
}

impl Default for HarborSimConfig {
    fn default() -> Self {
        Self {
            admin_password: DEFAULT_ADMIN_PASSWORD.to_owned(),
            scan_delay: DEFAULT_SCAN_DELAY,
            scan_fixtures: HashMap::new(),
            fixtures_dir: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/fixtures/trivy"
            )),
            harbor_version: DEFAULT_HARBOR_VERSION.to_owned(),
            work_dir: None,
            registry_binary: registry::default_binary(),
        }
    }
}

impl HarborSimConfig {
    /// The admin password (default [`DEFAULT_ADMIN_PASSWORD`]; the user is [`ADMIN_USER`]).
    #[must_use]
    pub fn admin_password(mut self, password: &str) -> Self {
        password.clone_into(&mut self.admin_password);
        self
    }

    /// How long a scan takes: `Pending` at first, `Running` after half of it, `Success` at
    /// the end (default [`DEFAULT_SCAN_DELAY`]).
    #[must_use]
    pub fn scan_delay(mut self, delay: Duration) -> Self {
        self.scan_delay = delay;
        self
    }

    /// Scans of `repository` (full name `project/repo`) report the Trivy fixture `fixture`
    /// (a file stem in the fixtures folder, e.g. `alpine-310`). Repositories without one get a
    /// clean report (no vulnerabilities).
    #[must_use]
    pub fn scan_fixture(mut self, repository: &str, fixture: &str) -> Self {
        self.scan_fixtures
            .insert(repository.to_owned(), fixture.to_owned());
        self
    }

    /// The folder of Trivy JSON fixtures (default `../shared/fixtures/trivy` of the workspace).
    #[must_use]
    pub fn fixtures_dir(mut self, dir: PathBuf) -> Self {
        self.fixtures_dir = dir;
        self
    }

    /// The `harbor_version` reported by `/systeminfo` (default [`DEFAULT_HARBOR_VERSION`]).
    #[must_use]
    pub fn harbor_version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.harbor_version);
        self
    }

    /// Where the registry config, storage, log and certificates go (default: a temporary
    /// folder removed when the handle drops).
    #[must_use]
    pub fn work_dir(mut self, dir: PathBuf) -> Self {
        self.work_dir = Some(dir);
        self
    }

    /// The distribution binary (default `docker-registry` on `PATH`).
    #[must_use]
    pub fn registry_binary(mut self, binary: PathBuf) -> Self {
        self.registry_binary = binary;
        self
    }
}

/// Shared state of a running simulator.
pub(crate) struct Sim {
    admin: (String, String),
    issuer: TokenIssuer,
    registry: RegistryClient,
    registry_host: String,
    external_url: String,
    scan_delay: Duration,
    fixtures_dir: PathBuf,
    harbor_version: String,
    records: Mutex<Records>,
}

impl std::fmt::Debug for Sim {
    // The admin password and robot secrets stay out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("external_url", &self.external_url)
            .field("registry_host", &self.registry_host)
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// The records; a panic while holding the lock does not poison later requests.
    pub(crate) fn records(&self) -> MutexGuard<'_, Records> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Starts simulators; see [`HarborSim::start`].
#[derive(Debug)]
pub struct HarborSim;

impl HarborSim {
    /// Starts the registry child process and the API on free loopback ports, and returns
    /// once both answer.
    pub async fn start(config: HarborSimConfig) -> Result<HarborSimHandle, SimError> {
        let (work_dir, temp_dir) = work_dir(config.work_dir.clone())?;
        let issuer = make_issuer(&work_dir)?;

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(SimError::Bind)?;
        let address = listener.local_addr().map_err(SimError::Bind)?;
        let url = format!("http://{address}");

        let realm = format!("{url}/service/token");
        let root_cert = work_dir.join("harbor-ca.pem");
        let mut process =
            RegistryProcess::start(&config.registry_binary, &work_dir, &realm, &root_cert)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_mins(1))
            .build()
            .map_err(SimError::Client)?;
        process.wait_ready(&http).await?;

        let sim = Arc::new(Sim {
            admin: (ADMIN_USER.to_owned(), config.admin_password.clone()),
            registry: RegistryClient::new(http, process.host(), issuer.clone()),
            issuer,
            registry_host: process.host().to_owned(),
            external_url: url.clone(),
            scan_delay: config.scan_delay,
            fixtures_dir: config.fixtures_dir.clone(),
            harbor_version: config.harbor_version.clone(),
            records: Mutex::new(Records::with_scan_fixtures(config.scan_fixtures.clone())),
        });

        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = api::router(Arc::clone(&sim));
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "harbor simulator stopped");
            }
        });
        tracing::info!(%url, registry = process.host(), "harbor simulator started");

        Ok(HarborSimHandle {
            url,
            sim,
            shutdown: Some(shutdown),
            server,
            process,
            _temp_dir: temp_dir,
        })
    }
}

fn work_dir(configured: Option<PathBuf>) -> Result<(PathBuf, Option<tempfile::TempDir>), SimError> {
    if let Some(dir) = configured {
        std::fs::create_dir_all(&dir).map_err(|source| SimError::Io {
            path: dir.clone(),
            source,
        })?;
        return Ok((dir, None));
    }
    let temp = tempfile::Builder::new()
        .prefix("wharf-harbor-sim-")
        .tempdir()
        .map_err(|source| SimError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    Ok((temp.path().to_path_buf(), Some(temp)))
}

fn make_issuer(dir: &std::path::Path) -> Result<TokenIssuer, SimError> {
    let ca = match CertificateAuthority::open(dir, "harbor-ca") {
        Some(ca) => ca,
        None => CertificateAuthority::create(dir, "harbor-ca")?,
    };
    let signer = ca.issue_signer(dir, "harbor-token-signer")?;
    Ok(TokenIssuer::from_pem(
        registry::ISSUER,
        &signer.cert_pem()?,
        &signer.key_pem()?,
    )?)
}

/// A running simulator. Dropping it stops the API and kills the registry process.
#[derive(Debug)]
pub struct HarborSimHandle {
    url: String,
    sim: Arc<Sim>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    process: RegistryProcess,
    _temp_dir: Option<tempfile::TempDir>,
}

impl HarborSimHandle {
    /// The API base, `http://127.0.0.1:port` (the API is under `/api/v2.0`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `host:port` of the registry (plain HTTP; clients need `--tls-verify=false`).
    pub fn registry_host(&self) -> &str {
        self.process.host()
    }

    /// The admin user and password.
    pub fn admin(&self) -> (&str, &str) {
        (&self.sim.admin.0, &self.sim.admin.1)
    }

    /// Makes later scans of `repository` (`project/repo`) report the Trivy fixture `fixture`.
    pub fn set_scan_fixture(&self, repository: &str, fixture: &str) {
        self.sim
            .records()
            .scan_fixtures
            .insert(repository.to_owned(), fixture.to_owned());
    }

    /// Kills the simulator's registry process, as an outage would: the API keeps answering
    /// and `/health` reports the `registry` component unhealthy, as Harbor does.
    pub fn stop_registry(&mut self) {
        self.process.kill();
    }

    /// Stops the API and the registry and waits for the API task to end.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = server.await;
    }
}

impl Drop for HarborSimHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.abort();
    }
}

/// Runs a simulator in the foreground until Ctrl-C or SIGTERM, printing its URLs
/// (the `wharf-testkit harbor` subcommand). `args` are the words after `harbor`:
/// `--scan-delay-ms N`, `--admin-password P`, `--fixture REPO=NAME` (repeatable),
/// `--work-dir DIR`.
pub async fn run_cli(args: &[String]) -> Result<(), anyhow::Error> {
    let config = cli_config(args)?;
    let harbor = HarborSim::start(config).await?;
    let (user, password) = harbor.admin();
    println!("harbor API     {}/api/v2.0", harbor.url());
    println!("token service  {}/service/token", harbor.url());
    println!("registry       {}", harbor.registry_host());
    println!("admin          {user} / {password}");
    wait_for_signal().await;
    harbor.shutdown().await;
    Ok(())
}

fn cli_config(args: &[String]) -> Result<HarborSimConfig, anyhow::Error> {
    let mut config = HarborSimConfig::default();
    let mut words = args.iter();
    while let Some(flag) = words.next() {
        let mut value = || {
            words
                .next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        config = match flag.as_str() {
            "--scan-delay-ms" => config.scan_delay(Duration::from_millis(value()?.parse()?)),
            "--admin-password" => config.admin_password(value()?),
            "--work-dir" => config.work_dir(PathBuf::from(value()?)),
            "--fixture" => {
                let entry = value()?;
                let (repository, fixture) = entry
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--fixture takes REPOSITORY=FIXTURE"))?;
                config.scan_fixture(repository, fixture)
            }
            other => anyhow::bail!("unknown option {other} of `harbor`"),
        };
    }
    Ok(config)
}

async fn wait_for_signal() {
    let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_options_fill_the_config() {
        let args: Vec<String> = ["--scan-delay-ms", "50", "--fixture", "a/b=alpine-310"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let config = cli_config(&args).unwrap();
        assert_eq!(config.scan_delay, Duration::from_millis(50));
        assert_eq!(config.scan_fixtures["a/b"], "alpine-310");
        assert!(cli_config(&["--bogus".to_owned()]).is_err());
        assert!(cli_config(&["--fixture".to_owned()]).is_err());
    }
}
