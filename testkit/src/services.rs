//! Endpoints of the local service stack started by `cargo xtask services up`.
//!
//! Every accessor reads its `WHARF_*` environment variable(s) and checks that the service
//! answers (a TCP connect with a short timeout). When the variable is missing or the service is
//! down, the accessor panics with a message that names the service, the variable and
//! `cargo xtask services up`, so an integration test never passes silently without its server.
//!
//! `cargo xtask test` sets the environment for `cargo test`; by hand, run
//! `eval "$(cargo xtask services env)"` after `cargo xtask services up`.
//!
//! ```no_run
//! use wharf_testkit::services;
//!
//! let registry = services::registry_htpasswd();
//! assert_eq!(registry.base_url(), format!("http://{}", registry.host));
//! let (user, _password) = registry.credentials().expect("htpasswd registry has a user");
//! assert!(!user.is_empty());
//! ```

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// How long an accessor waits for a service to accept a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The hint every failure message ends with.
const HINT: &str = "start the stack with `cargo xtask services up` and export its environment \
                    with `eval \"$(cargo xtask services env)\"` (or run `cargo xtask test`)";

/// A distribution registry of the local stack.
///
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryEndpoint {
    /// `host:port` of the registry, as used in image references (`127.0.0.1:5000/repo:tag`).
    pub host: String,
    /// Whether the registry serves HTTPS (only the TLS registry does).
    pub tls: bool,
    /// User accepted by the registry (htpasswd) or by its token service.
    pub username: Option<String>,
    /// Password of [`RegistryEndpoint::username`].
    pub password: Option<String>,
    /// URL of the token service (the `realm`) for the token registry.
    pub token_service_url: Option<String>,
    /// PEM file of the CA that signed the registry certificate (TLS registry only).
    pub ca_file: Option<PathBuf>,
}

impl RegistryEndpoint {
    /// Base URL of the registry: `http://host:port` or `https://host:port`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }

    /// The user and password, when the registry needs credentials.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        Some((self.username.as_deref()?, self.password.as_deref()?))
    }
}

impl fmt::Debug for RegistryEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryEndpoint")
            .field("host", &self.host)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("token_service_url", &self.token_service_url)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// A package index with upload credentials (pypiserver or verdaccio).
///
/// `Debug` never shows the password or the token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageIndex {
    /// Base URL, `http://127.0.0.1:port` (no trailing slash).
    pub url: String,
    /// User allowed to upload.
    pub username: String,
    /// Password of [`PackageIndex::username`].
    pub password: String,
    /// Auth token of the user (verdaccio only).
    pub token: Option<String>,
}

impl fmt::Debug for PackageIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageIndex")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// distribution without authentication, plain HTTP (`WHARF_REGISTRY_PLAIN`).
pub fn registry_plain() -> RegistryEndpoint {
    let env = Env::process();
    let host = env.reachable_host("registry-plain", "WHARF_REGISTRY_PLAIN");
    RegistryEndpoint {
        host,
        tls: false,
        username: None,
        password: None,
        token_service_url: None,
        ca_file: None,
    }
}

/// distribution with htpasswd (bcrypt) Basic auth, plain HTTP (`WHARF_REGISTRY_HTPASSWD`,
/// `WHARF_REGISTRY_HTPASSWD_USER`, `WHARF_REGISTRY_HTPASSWD_PASSWORD`).
pub fn registry_htpasswd() -> RegistryEndpoint {
    let env = Env::process();
    let host = env.reachable_host("registry-htpasswd", "WHARF_REGISTRY_HTPASSWD");
    RegistryEndpoint {
        host,
        tls: false,
        username: Some(env.required("registry-htpasswd", "WHARF_REGISTRY_HTPASSWD_USER")),
        password: Some(env.required("registry-htpasswd", "WHARF_REGISTRY_HTPASSWD_PASSWORD")),
        token_service_url: None,
        ca_file: None,
    }
}

/// distribution with token auth, plain HTTP, whose realm is the testkit token service
/// (`WHARF_REGISTRY_TOKEN`, `WHARF_TOKEN_SERVICE_URL`, `WHARF_REGISTRY_TOKEN_USER`,
/// `WHARF_REGISTRY_TOKEN_PASSWORD`). Both the registry and the token service must answer.
pub fn registry_token() -> RegistryEndpoint {
    let env = Env::process();
    let host = env.reachable_host("registry-token", "WHARF_REGISTRY_TOKEN");
    RegistryEndpoint {
        host,
        tls: false,
        username: Some(env.required("registry-token", "WHARF_REGISTRY_TOKEN_USER")),
        password: Some(env.required("registry-token", "WHARF_REGISTRY_TOKEN_PASSWORD")),
        token_service_url: Some(token_service_url()),
        ca_file: None,
    }
}

/// URL of the testkit token service (`WHARF_TOKEN_SERVICE_URL`), e.g.
/// `http://127.0.0.1:41234`; the token endpoint is `<url>/token`.
pub fn token_service_url() -> String {
    Env::process().reachable_url("token-service", "WHARF_TOKEN_SERVICE_URL")
}

/// distribution over TLS with a certificate for `localhost` and `127.0.0.1`
/// (`WHARF_REGISTRY_TLS`, `WHARF_TLS_CA_FILE`).
pub fn registry_tls() -> RegistryEndpoint {
    let env = Env::process();
    let host = env.reachable_host("registry-tls", "WHARF_REGISTRY_TLS");
    RegistryEndpoint {
        host,
        tls: true,
        username: None,
        password: None,
        token_service_url: None,
        ca_file: Some(env.existing_path("registry-tls", "WHARF_TLS_CA_FILE")),
    }
}

/// URL of moto_server serving the ECR API (`WHARF_MOTO_URL`).
pub fn moto_url() -> String {
    Env::process().reachable_url("moto", "WHARF_MOTO_URL")
}

/// URL of `prism mock` for the Harbor spec (`WHARF_PRISM_HARBOR_URL`); API paths start with
/// `/api/v2.0`.
pub fn prism_harbor_url() -> String {
    Env::process().reachable_url("prism-harbor", "WHARF_PRISM_HARBOR_URL")
}

/// URL of `prism mock` for the Gitea spec (`WHARF_PRISM_GITEA_URL`); API paths start with
/// `/api/v1`.
pub fn prism_gitea_url() -> String {
    Env::process().reachable_url("prism-gitea", "WHARF_PRISM_GITEA_URL")
}

/// pypiserver with htpasswd upload auth (`WHARF_PYPI_URL`, `WHARF_PYPI_USER`,
/// `WHARF_PYPI_PASSWORD`). The simple index is `<url>/simple/`.
pub fn pypi() -> PackageIndex {
    let env = Env::process();
    PackageIndex {
        url: env.reachable_url("pypi", "WHARF_PYPI_URL"),
        username: env.required("pypi", "WHARF_PYPI_USER"),
        password: env.required("pypi", "WHARF_PYPI_PASSWORD"),
        token: None,
    }
}

/// verdaccio with htpasswd auth and no uplinks (`WHARF_NPM_URL`, `WHARF_NPM_USER`,
/// `WHARF_NPM_PASSWORD`, `WHARF_NPM_TOKEN`).
pub fn npm() -> PackageIndex {
    let env = Env::process();
    PackageIndex {
        url: env.reachable_url("npm", "WHARF_NPM_URL"),
        username: env.required("npm", "WHARF_NPM_USER"),
        password: env.required("npm", "WHARF_NPM_PASSWORD"),
        token: Some(env.required("npm", "WHARF_NPM_TOKEN")),
    }
}

/// Bin folder of the Python venv holding `twine`, `pip` and `moto_server`
/// (`WHARF_PYTHON_TOOLS_BIN`).
pub fn python_tools_bin() -> PathBuf {
    Env::process().existing_path("python-tools", "WHARF_PYTHON_TOOLS_BIN")
}

/// Path of the `prism` executable, for `prism proxy` in tests (`WHARF_PRISM_BIN`).
pub fn prism_bin() -> PathBuf {
    Env::process().existing_path("prism", "WHARF_PRISM_BIN")
}

/// Folder with the stack's configs, logs and certificates (`WHARF_SERVICES_DIR`).
pub fn services_dir() -> PathBuf {
    Env::process().existing_path("services", "WHARF_SERVICES_DIR")
}

/// Environment lookup, swappable in unit tests (setting process variables is `unsafe`).
struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'static> {
    fn process() -> Self {
        Env {
            lookup: &|name| std::env::var(name).ok().filter(|value| !value.is_empty()),
        }
    }
}

impl Env<'_> {
    fn required(&self, service: &str, variable: &str) -> String {
        (self.lookup)(variable).unwrap_or_else(|| {
            panic!("service `{service}` is not configured: {variable} is not set; {HINT}")
        })
    }

    fn existing_path(&self, service: &str, variable: &str) -> PathBuf {
        let path = PathBuf::from(self.required(service, variable));
        assert!(
            path.exists(),
            "service `{service}` is not installed: {variable}={} does not exist; {HINT}",
            path.display()
        );
        path
    }

    fn reachable_host(&self, service: &str, variable: &str) -> String {
        let host = self.required(service, variable);
        ensure_reachable(service, variable, &host);
        host
    }

    fn reachable_url(&self, service: &str, variable: &str) -> String {
        let url = self.required(service, variable);
        let url = url.trim_end_matches('/').to_owned();
        ensure_reachable(service, variable, authority_of(&url));
        url
    }
}

/// The `host:port` part of `scheme://host:port/path`.
fn authority_of(url: &str) -> &str {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or(without_scheme)
}

fn ensure_reachable(service: &str, variable: &str, authority: &str) {
    if let Err(reason) = connect(authority) {
        panic!("service `{service}` does not answer at {authority} ({variable}): {reason}; {HINT}");
    }
}

fn connect(authority: &str) -> Result<(), String> {
    let addresses = authority
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve: {error}"))?;
    let mut last_error = String::from("no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(error) => last_error = error.to_string(),
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::TcpListener;

    fn with_vars<R>(vars: &[(&str, &str)], body: impl FnOnce(&Env<'_>) -> R) -> R {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |name: &str| map.get(name).cloned();
        body(&Env { lookup: &lookup })
    }

    fn panic_message(result: std::thread::Result<impl Sized>) -> String {
        let payload = result.err().expect("expected a panic");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn authority_strips_scheme_and_path() {
        assert_eq!(authority_of("http://127.0.0.1:80/api/v2.0"), "127.0.0.1:80");
        assert_eq!(authority_of("localhost:5000"), "localhost:5000");
        assert_eq!(authority_of("https://h:1?x=1"), "h:1");
    }

    #[test]
    fn missing_variable_names_service_variable_and_command() {
        let result = std::panic::catch_unwind(|| {
            with_vars(&[], |env| {
                env.reachable_host("registry-plain", "WHARF_REGISTRY_PLAIN")
            })
        });
        let message = panic_message(result);
        assert!(message.contains("registry-plain"), "{message}");
        assert!(message.contains("WHARF_REGISTRY_PLAIN"), "{message}");
        assert!(message.contains("cargo xtask services up"), "{message}");
    }

    #[test]
    fn closed_port_is_reported_as_not_answering() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let result = std::panic::catch_unwind(|| {
            with_vars(&[("WHARF_MOTO_URL", &url)], |env| {
                env.reachable_url("moto", "WHARF_MOTO_URL")
            })
        });
        let message = panic_message(result);
        assert!(message.contains("`moto` does not answer"), "{message}");
        assert!(message.contains("cargo xtask services up"), "{message}");
    }

    #[test]
    fn open_port_returns_url_without_trailing_slash() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let got = with_vars(&[("WHARF_MOTO_URL", &url)], |env| {
            env.reachable_url("moto", "WHARF_MOTO_URL")
        });
        assert_eq!(got, url.trim_end_matches('/'));
    }

    #[test]
    fn debug_redacts_secrets() {
        let endpoint = RegistryEndpoint {
            host: "127.0.0.1:1".into(),
            tls: false,
            username: Some("alice".into()),
            password: Some("s3cret".into()),
            token_service_url: None,
            ca_file: None,
        };
        let index = PackageIndex {
            url: "http://x".into(),
            username: "bob".into(),
            password: "hunter2".into(),
            token: Some("tok".into()),
        };
        let shown = format!("{endpoint:?} {index:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("hunter2") && !shown.contains("tok\"")
        );
        assert!(shown.contains("alice") && shown.contains("bob"));
    }
}
