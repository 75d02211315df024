//! [`RegistryClientBuilder`]: infallible setters, one fallible `build`.

use std::sync::Arc;

use super::{Inner, RegistryClient};
use crate::auth::Authenticator;
use crate::credentials::{Anonymous, CredentialSource};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport::TransportConfig;

/// Requests in flight per host when the caller sets no limit.
pub const DEFAULT_PER_HOST_LIMIT: usize = 8;

/// Size of each `PATCH` in a chunked upload when the caller sets none: 4 MiB, the request body
/// cap of GHCR and the common proxy limit.
pub const DEFAULT_CHUNK_SIZE: usize = 4 * 1024 * 1024;

/// The smallest chunk size accepted; smaller values are raised to it.
pub const MIN_CHUNK_SIZE: usize = 64 * 1024;

/// Builds a [`RegistryClient`].
///
/// ```
/// use std::sync::Arc;
/// use wharf_oci_core::client::RegistryClient;
/// use wharf_oci_core::credentials::{Credential, StaticCredentials};
/// use wharf_oci_core::transport::TransportConfig;
///
/// let client = RegistryClient::builder()
///     .transport(TransportConfig::builder().plain_http_host("127.0.0.1:5000").build().unwrap())
///     .credentials(Arc::new(StaticCredentials::everywhere(Credential::basic("ci", "secret"))))
///     .per_host_limit(4)
///     .build()
///     .expect("client");
/// # let _ = client;
/// ```
#[derive(Debug)]
pub struct RegistryClientBuilder {
    transport: TransportConfig,
    credentials: Arc<dyn CredentialSource>,
    retry: RetryPolicy,
    per_host_limit: usize,
    chunk_size: usize,
    monolithic_upload: bool,
}

impl Default for RegistryClientBuilder {
    fn default() -> Self {
        Self {
            transport: TransportConfig::default(),
            credentials: Arc::new(Anonymous),
            retry: RetryPolicy::default(),
            per_host_limit: DEFAULT_PER_HOST_LIMIT,
            chunk_size: DEFAULT_CHUNK_SIZE,
            monolithic_upload: true,
        }
    }
}

impl RegistryClientBuilder {
    /// TLS roots, client certificate, plain-HTTP hosts, timeouts and user agent. Default:
    /// [`TransportConfig::default`] (HTTPS everywhere, web roots).
    #[must_use]
    pub fn transport(mut self, transport: TransportConfig) -> Self {
        self.transport = transport;
        self
    }

    /// Where credentials come from. Default: [`Anonymous`].
    #[must_use]
    pub fn credentials(mut self, credentials: Arc<dyn CredentialSource>) -> Self {
        self.credentials = credentials;
        self
    }

    /// How failed idempotent requests are retried. Default: [`RetryPolicy::default`].
    #[must_use]
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Requests in flight at once per host, each counted until its response headers arrive:
    /// an upload holds its slot while its body streams, a download frees it before its body is
    /// read (so a copy that streams a download into an upload on the same host cannot
    /// deadlock). Default 8; values below 1 count as 1.
    #[must_use]
    pub fn per_host_limit(mut self, limit: usize) -> Self {
        self.per_host_limit = limit.max(1);
        self
    }

    /// Bytes per `PATCH` in a chunked upload. Default 4 MiB; at least 64 KiB.
    #[must_use]
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(MIN_CHUNK_SIZE);
        self
    }

    /// Upload blobs as one streaming `PUT` (true, the default: fewest requests) or as `PATCH`
    /// chunks of [`chunk_size`](Self::chunk_size) (false: for registries or proxies that cap
    /// request bodies). With the default, a registry that answers a whole-blob `PUT` with 413
    /// (Payload Too Large) gets chunks from then on, and one that refuses a chunk with 413 (a
    /// proxy's body-size cap, such as nginx's default 1 MiB) gets chunks half that size, down
    /// to 64 KiB; restartable uploads ([`push_blob`](RegistryClient::push_blob) and the copy
    /// engine) start again at once in the smaller pieces.
    #[must_use]
    pub fn monolithic_upload(mut self, monolithic: bool) -> Self {
        self.monolithic_upload = monolithic;
        self
    }

    /// Builds the HTTP client and returns the registry client.
    pub fn build(self) -> Result<RegistryClient, Error> {
        let http = self.transport.http_client()?;
        let auth = Authenticator::new(http.clone(), self.credentials);
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                auth,
                transport: self.transport,
                retry: self.retry,
                limits: super::request::HostLimits::new(self.per_host_limit),
                chunk_size: self.chunk_size,
                monolithic_upload: self.monolithic_upload,
                chunked_registries: std::sync::Mutex::default(),
            }),
        })
    }
}
