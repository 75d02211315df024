//! Gitea's container registry (`/v2/`), reached through oci-core's registry client.

use std::sync::Arc;

use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::reference::{Reference, ReferenceError};
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;

use crate::auth::Auth;
use crate::error::{Error, Result};

/// Where an owner's images live in Gitea's container registry: `{host}/{owner}/{image}`.
///
/// ```
/// use wharf_gitea_client::container::ContainerRegistry;
/// use wharf_gitea_client::Auth;
///
/// let registry = ContainerRegistry::new("gitea.example.com", "K3s-Homelab", Auth::token("pat"));
/// let reference = registry.reference("tools/builder", "v1").unwrap();
/// assert_eq!(reference.to_string(), "gitea.example.com/k3s-homelab/tools/builder:v1");
/// assert!(registry.credential().is_some());
/// ```
#[derive(Debug, Clone)]
pub struct ContainerRegistry {
    host: String,
    owner: String,
    auth: Auth,
    transport: Option<TransportConfig>,
    retry: RetryPolicy,
}

impl ContainerRegistry {
    /// The registry on `host` (`host[:port]`, as in image references) for `owner`. Gitea
    /// stores container names in lowercase, so the owner is lowercased.
    pub fn new(host: impl Into<String>, owner: &str, auth: Auth) -> Self {
        Self {
            host: host.into(),
            owner: owner.to_ascii_lowercase(),
            auth,
            transport: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Uses this transport for [`registry_client`](Self::registry_client). Default: oci-core's
    /// defaults (HTTPS).
    #[must_use]
    pub fn with_transport(mut self, transport: TransportConfig) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Uses this retry policy for [`registry_client`](Self::registry_client).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The registry host (`host[:port]`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The reference of `image` (which may contain `/`) at `tag`.
    pub fn reference(&self, image: &str, tag: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(&format!("{}/{}/{}:{tag}", self.host, self.owner, image))
    }

    /// The reference of `image` without tag, for listing tags or pushing by digest.
    pub fn repository(&self, image: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(&format!("{}/{}/{}", self.host, self.owner, image))
    }

    /// The credential to present to the registry (Basic; a token alone becomes Basic with
    /// the token as user name, which Gitea accepts).
    pub fn credential(&self) -> Option<Credential> {
        self.auth.registry_credential()
    }

    /// A credential source for oci-core's registry client holding this registry's credential.
    pub fn credentials(&self) -> StaticCredentials {
        match self.credential() {
            Some(credential) => StaticCredentials::new().with(&self.host, credential),
            None => StaticCredentials::new(),
        }
    }

    /// oci-core's registry client with this registry's credential and transport, ready for
    /// pushes and pulls of [`reference`](Self::reference)s.
    pub fn registry_client(&self) -> Result<RegistryClient> {
        let credentials: Arc<dyn wharf_oci_core::credentials::CredentialSource> =
            Arc::new(self.credentials());
        RegistryClient::builder()
            .transport(self.transport.clone().unwrap_or_default())
            .credentials(credentials)
            .retry_policy(self.retry.clone())
            .build()
            .map_err(|source| Error::Registry {
                source: Box::new(source),
            })
    }
}
