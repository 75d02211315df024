//! How Wharf's clients reach servers: TLS roots, client certificates, plain-HTTP hosts, timeouts.
//!
//! Every client in the workspace (registry, Harbor, Gitea) builds its `reqwest::Client` from a
//! [`TransportConfig`], so TLS verification, custom CAs and the plain-HTTP allow-list behave the
//! same everywhere. TLS verification is always on: there is no switch to turn it off, and a
//! certificate that fails to load is an error, never a silent fallback.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The user agent sent when the caller sets none.
pub const DEFAULT_USER_AGENT: &str = concat!("wharf/", env!("CARGO_PKG_VERSION"));

/// Settings for the HTTP transport shared by Wharf's clients.
///
/// ```
/// use std::time::Duration;
/// use wharf_oci_core::transport::TransportConfig;
///
/// let transport = TransportConfig::builder()
///     .plain_http_host("127.0.0.1:5000")
///     .request_timeout(Duration::from_secs(30))
///     .build()
///     .expect("valid transport settings");
/// assert!(transport.allows_plain_http("127.0.0.1:5000"));
/// assert!(!transport.allows_plain_http("registry.example.com"));
/// let _client = transport.http_client().expect("client");
/// ```
#[derive(Clone)]
pub struct TransportConfig {
    extra_roots: Vec<reqwest::Certificate>,
    identity: Option<reqwest::Identity>,
    plain_http_hosts: BTreeSet<String>,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
    read_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    user_agent: String,
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportConfig")
            .field("extra_roots", &self.extra_roots.len())
            .field(
                "client_identity",
                &self.identity.as_ref().map(|_| "<redacted>"),
            )
            .field("plain_http_hosts", &self.plain_http_hosts)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            extra_roots: Vec::new(),
            identity: None,
            plain_http_hosts: BTreeSet::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: None,
            read_timeout: Duration::from_mins(1),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 16,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

impl TransportConfig {
    /// Starts a builder with the defaults documented on each setter.
    pub fn builder() -> TransportConfigBuilder {
        TransportConfigBuilder::default()
    }

    /// True when `host` (as `host[:port]`, compared case-insensitively) may be reached over
    /// plain HTTP. Every other host gets HTTPS.
    pub fn allows_plain_http(&self, host: &str) -> bool {
        self.plain_http_hosts.contains(&host.to_ascii_lowercase())
    }

    /// `http` for hosts on the plain-HTTP list, `https` for all others.
    pub fn scheme_for(&self, host: &str) -> &'static str {
        if self.allows_plain_http(host) {
            "http"
        } else {
            "https"
        }
    }

    /// The user agent sent with every request.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The per-request timeout, if one is set (none by default: blob transfers may be long).
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// Builds the HTTP client. Redirects are not followed automatically: the clients follow
    /// them themselves so that credentials never go to another host.
    pub fn http_client(&self) -> Result<reqwest::Client, TransportError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(self.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .tls_built_in_root_certs(true)
            .https_only(false);
        for root in &self.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        if let Some(identity) = &self.identity {
            builder = builder.identity(identity.clone());
        }
        if let Some(timeout) = self.request_timeout {
            builder = builder.timeout(timeout);
        }
        builder
            .build()
            .map_err(|source| TransportError::Client { source })
    }
}

/// Builder for [`TransportConfig`]: infallible setters, one fallible [`build`](Self::build).
#[derive(Default)]
pub struct TransportConfigBuilder {
    config: TransportConfig,
    root_pems: Vec<(Option<PathBuf>, Vec<u8>)>,
    identity_pem: Option<(Option<PathBuf>, Vec<u8>)>,
    file_errors: Vec<(PathBuf, std::io::Error)>,
}

impl fmt::Debug for TransportConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportConfigBuilder")
            .field("config", &self.config)
            .field("extra_root_pems", &self.root_pems.len())
            .finish_non_exhaustive()
    }
}

impl TransportConfigBuilder {
    /// Trusts the CA certificates in a PEM file in addition to the built-in web roots.
    /// A file that cannot be read or parsed makes [`build`](Self::build) fail.
    #[must_use]
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        match std::fs::read(&path) {
            Ok(pem) => self.root_pems.push((Some(path), pem)),
            Err(error) => self.file_errors.push((path, error)),
        }
        self
    }

    /// Trusts the CA certificates in PEM bytes in addition to the built-in web roots.
    #[must_use]
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_pems.push((None, pem.into()));
        self
    }

    /// Presents a client certificate: PEM with the certificate chain and the private key.
    #[must_use]
    pub fn client_identity_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.identity_pem = Some((None, pem.into()));
        self
    }

    /// Presents a client certificate read from a PEM file holding the chain and the key.
    #[must_use]
    pub fn client_identity_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        match std::fs::read(&path) {
            Ok(pem) => self.identity_pem = Some((Some(path), pem)),
            Err(error) => self.file_errors.push((path, error)),
        }
        self
    }

    /// Allows plain HTTP for one `host[:port]`. None by default: everything uses HTTPS.
    #[must_use]
    pub fn plain_http_host(mut self, host: impl AsRef<str>) -> Self {
        self.config
            .plain_http_hosts
            .insert(host.as_ref().to_ascii_lowercase());
        self
    }

    /// Allows plain HTTP for each of these hosts.
    #[must_use]
    pub fn plain_http_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for host in hosts {
            self = self.plain_http_host(host);
        }
        self
    }

    /// Time allowed to open a connection. Default 10 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request including its body. Default none, because a blob
    /// transfer can take long; stalls are caught by [`read_timeout`](Self::read_timeout).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = Some(timeout);
        self
    }

    /// Longest silence allowed while reading a response. Default 60 s.
    #[must_use]
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.config.read_timeout = timeout;
        self
    }

    /// Idle connections kept per host for reuse. Default 16.
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, connections: usize) -> Self {
        self.config.pool_max_idle_per_host = connections;
        self
    }

    /// The `User-Agent` header. Default `wharf/<version>`.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.config.user_agent = user_agent.into();
        self
    }

    /// Checks the certificates and returns the configuration.
    pub fn build(self) -> Result<TransportConfig, TransportError> {
        if let Some((path, source)) = self.file_errors.into_iter().next() {
            return Err(TransportError::ReadFile { path, source });
        }
        let mut config = self.config;
        for (path, pem) in self.root_pems {
            config
                .extra_roots
                .extend(parse_roots(path.as_deref(), &pem)?);
        }
        if let Some((path, pem)) = self.identity_pem {
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|source| TransportError::Identity { path, source })?;
            config.identity = Some(identity);
        }
        Ok(config)
    }
}

fn parse_roots(
    path: Option<&Path>,
    pem: &[u8],
) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let invalid = |reason: String| TransportError::Certificate {
        path: path.map(Path::to_path_buf),
        reason,
    };
    let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| invalid(e.to_string()))?;
    if roots.is_empty() {
        return Err(invalid("no PEM certificate found".to_owned()));
    }
    Ok(roots)
}

/// Why a transport could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A certificate or key file could not be read.
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A CA certificate could not be parsed.
    #[error("invalid CA certificate{}: {reason}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Certificate {
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: String,
    },
    /// A client certificate or key could not be parsed.
    #[error("invalid client certificate or key{}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Identity {
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// The parse error.
        source: reqwest::Error,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client {
        /// The underlying error.
        source: reqwest::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_opt_in_per_host() {
        let config = TransportConfig::builder()
            .plain_http_host("LocalHost:5000")
            .build()
            .unwrap();
        assert_eq!(config.scheme_for("localhost:5000"), "http");
        assert_eq!(config.scheme_for("localhost:5001"), "https");
        assert_eq!(TransportConfig::default().scheme_for("127.0.0.1"), "https");
    }

    #[test]
    fn unreadable_or_invalid_ca_is_an_error_not_a_fallback() {
        let missing = TransportConfig::builder()
            .ca_file("/nonexistent/ca.pem")
            .build();
        assert!(matches!(missing, Err(TransportError::ReadFile { .. })));
        let garbage = TransportConfig::builder()
            .ca_pem(b"not a certificate".to_vec())
            .build();
        assert!(matches!(garbage, Err(TransportError::Certificate { .. })));
    }
}
