//! The services of the stack: how each is configured, started and checked.

use std::fs;
use std::path::PathBuf;

use anyhow::Result;

use super::configs::{self, HashKind, RegistryAuth, TlsFiles};
use super::health::{Expect, Probe};
use super::install::Tools;
use super::process::Launch;
use super::state::{State, USER};
use crate::paths;

/// `service` of the token registry (the tokens' audience).
pub const TOKEN_AUDIENCE: &str = "wharf-registry";
/// `iss` of the testkit token service.
pub const TOKEN_ISSUER: &str = "wharf-token-service";

/// One service of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// distribution without auth.
    RegistryPlain,
    /// distribution with htpasswd auth.
    RegistryHtpasswd,
    /// The testkit token service.
    TokenRealm,
    /// distribution with token auth.
    RegistryToken,
    /// distribution over TLS.
    RegistryTls,
    /// moto_server (ECR API).
    Moto,
    /// Prism mock of the Harbor spec.
    PrismHarbor,
    /// Prism mock of the Gitea spec.
    PrismGitea,
    /// pypiserver.
    Pypi,
    /// verdaccio.
    Npm,
}

/// Everything a service needs to be configured.
#[derive(Debug)]
pub struct Context {
    /// The stack's folder.
    pub dir: PathBuf,
    /// Installed Python and npm tools.
    pub tools: Tools,
    /// The `wharf-testkit` executable.
    pub testkit_bin: PathBuf,
    /// Ports and credentials.
    pub state: State,
}

impl Context {
    /// The PKI folder (CA, TLS and token-signing certificates).
    pub fn pki_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// The CA certificate that signed the TLS registry and the token signer.
    pub fn ca_file(&self) -> PathBuf {
        self.pki_dir().join("wharf-test-ca.pem")
    }

    /// URL of the token endpoint, once the token service has a port.
    pub fn token_realm(&self) -> String {
        let port = self
            .state
            .ports
            .get(Service::TokenRealm.name())
            .copied()
            .unwrap_or(0);
        format!("http://127.0.0.1:{port}/token")
    }
}

impl Service {
    /// Every service, in start order (the token service before the token registry).
    pub const ALL: [Service; 10] = [
        Service::RegistryPlain,
        Service::RegistryHtpasswd,
        Service::TokenRealm,
        Service::RegistryToken,
        Service::RegistryTls,
        Service::Moto,
        Service::PrismHarbor,
        Service::PrismGitea,
        Service::Pypi,
        Service::Npm,
    ];

    /// Name used for files, ports and messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::RegistryPlain => "registry-plain",
            Service::RegistryHtpasswd => "registry-htpasswd",
            Service::TokenRealm => "token-service",
            Service::RegistryToken => "registry-token",
            Service::RegistryTls => "registry-tls",
            Service::Moto => "moto",
            Service::PrismHarbor => "prism-harbor",
            Service::PrismGitea => "prism-gitea",
            Service::Pypi => "pypi",
            Service::Npm => "npm",
        }
    }

    /// Where clients reach the service (`host:port` for registries, a URL otherwise).
    pub fn endpoint(self, port: u16) -> String {
        match self {
            Service::RegistryPlain | Service::RegistryHtpasswd | Service::RegistryToken => {
                format!("127.0.0.1:{port}")
            }
            Service::RegistryTls => format!("localhost:{port}"),
            _ => format!("http://127.0.0.1:{port}"),
        }
    }

    /// The health check of the service on `port`.
    pub fn probe(self, context: &Context, port: u16) -> Probe {
        let base = format!("http://127.0.0.1:{port}");
        match self {
            Service::RegistryPlain => Probe::status(format!("{base}/v2/"), 200),
            Service::RegistryHtpasswd | Service::RegistryToken => {
                Probe::status(format!("{base}/v2/"), 401)
            }
            Service::TokenRealm => {
                Probe::status(format!("{base}/token?service={TOKEN_AUDIENCE}"), 200)
            }
            Service::RegistryTls => Probe {
                url: format!("https://localhost:{port}/v2/"),
                expect: Expect::Status(200),
                ca_file: Some(context.ca_file()),
            },
            Service::Moto => Probe::status(format!("{base}/moto-api/"), 200),
            Service::PrismHarbor => any_answer(format!("{base}/api/v2.0/ping")),
            Service::PrismGitea => any_answer(format!("{base}/api/v1/version")),
            Service::Pypi => Probe::status(format!("{base}/simple/"), 200),
            Service::Npm => Probe::status(format!("{base}/-/ping"), 200),
        }
    }

    /// Writes the service's configuration and says how to start it on `port`.
    pub fn prepare(self, context: &Context, port: u16) -> Result<Launch> {
        let dir = context.dir.join(self.name());
        fs::create_dir_all(&dir)?;
        match self {
            Service::RegistryPlain => registry(context, self, port, &RegistryAuth::None, None),
            Service::RegistryHtpasswd => {
                let htpasswd = dir.join("htpasswd");
                configs::write_htpasswd(
                    &htpasswd,
                    USER,
                    &context.state.password,
                    HashKind::Bcrypt,
                )?;
                registry(context, self, port, &RegistryAuth::Htpasswd(htpasswd), None)
            }
            Service::TokenRealm => Ok(token_service(context, port)),
            Service::RegistryToken => {
                let auth = RegistryAuth::Token {
                    realm: context.token_realm(),
                    service: TOKEN_AUDIENCE.to_owned(),
                    issuer: TOKEN_ISSUER.to_owned(),
                    root_cert_bundle: context.ca_file(),
                };
                registry(context, self, port, &auth, None)
            }
            Service::RegistryTls => {
                let pki = context.pki_dir();
                let tls = TlsFiles {
                    cert: pki.join("registry-tls.pem"),
                    key: pki.join("registry-tls.key"),
                };
                registry(context, self, port, &RegistryAuth::None, Some(&tls))
            }
            Service::Moto => Ok(Launch {
                program: context.tools.python_bin.join("moto_server"),
                args: strings(&["-H", "127.0.0.1", "-p", &port.to_string()]),
                env: vec![],
            }),
            Service::PrismHarbor => prism(context, self, port, "harbor-v2.0-swagger.yaml"),
            Service::PrismGitea => prism(context, self, port, "gitea-v1.json"),
            Service::Pypi => pypi(context, port),
            Service::Npm => npm(context, port),
        }
    }
}

fn any_answer(url: String) -> Probe {
    Probe {
        url,
        expect: Expect::AnyStatus,
        ca_file: None,
    }
}

fn registry(
    context: &Context,
    service: Service,
    port: u16,
    auth: &RegistryAuth,
    tls: Option<&TlsFiles>,
) -> Result<Launch> {
    let dir = context.dir.join(service.name());
    let config = dir.join("config.yml");
    configs::write_registry_config(&config, port, &dir.join("data"), auth, tls)?;
    Ok(Launch {
        program: "docker-registry".into(),
        args: vec!["serve".to_owned(), config.display().to_string()],
        env: vec![],
    })
}

fn token_service(context: &Context, port: u16) -> Launch {
    let pki = context.pki_dir();
    Launch {
        program: context.testkit_bin.clone(),
        args: strings(&[
            "token-service",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--issuer",
            TOKEN_ISSUER,
            "--cert",
            &pki.join("token-signer.pem").display().to_string(),
            "--key",
            &pki.join("token-signer.key").display().to_string(),
            "--user",
            &format!("{USER}:{}", context.state.password),
        ]),
        env: vec![],
    }
}

fn prism(context: &Context, service: Service, port: u16, spec_name: &str) -> Result<Launch> {
    let spec = context.dir.join(service.name()).join("spec.json");
    configs::write_prism_spec(&paths::shared_dir().join("specs").join(spec_name), &spec)?;
    Ok(Launch {
        program: context.tools.prism(),
        args: strings(&[
            "mock",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            &spec.display().to_string(),
        ]),
        env: vec![],
    })
}

fn pypi(context: &Context, port: u16) -> Result<Launch> {
    let dir = context.dir.join(Service::Pypi.name());
    let htpasswd = dir.join("htpasswd");
    let packages = dir.join("packages");
    fs::create_dir_all(&packages)?;
    configs::write_htpasswd(
        &htpasswd,
        USER,
        &context.state.password,
        HashKind::ApacheMd5,
    )?;
    Ok(Launch {
        program: context.tools.python_bin.join("pypi-server"),
        args: strings(&[
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-P",
            &htpasswd.display().to_string(),
            "-a",
            "update",
            &packages.display().to_string(),
        ]),
        env: vec![],
    })
}

fn npm(context: &Context, port: u16) -> Result<Launch> {
    let dir = context.dir.join(Service::Npm.name());
    let config = dir.join("config.yaml");
    // The user is written here rather than registered through the API, so that a later `up`
    // (after `down`, or with a lost state file) logs in with the recorded password instead of
    // meeting "username is already registered".
    let htpasswd = dir.join("htpasswd");
    fs::create_dir_all(&dir)?;
    configs::write_htpasswd(&htpasswd, USER, &context.state.password, HashKind::Bcrypt)?;
    configs::write_verdaccio_config(&config, port, &dir.join("storage"), &htpasswd)?;
    Ok(Launch {
        program: context.tools.verdaccio(),
        args: strings(&["--config", &config.display().to_string()]),
        env: vec![],
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}
