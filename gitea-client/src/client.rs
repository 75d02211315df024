//! [`GiteaClient`]: one owner on one Gitea server, with a handle per package format.

use std::sync::Arc;

use tokio::sync::OnceCell;
use url::Url;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;

use crate::auth::Auth;
use crate::cargo::CargoRegistry;
use crate::container::ContainerRegistry;
use crate::error::{Error, Result};
use crate::generic::GenericRegistry;
use crate::go::GoRegistry;
use crate::helm::HelmRegistry;
use crate::http::Http;
use crate::maven::MavenRegistry;
use crate::npm::NpmRegistry;
use crate::packages::PackagesApi;
use crate::path::{base_url, join, join_encoded};
use crate::pypi::PypiRegistry;

/// A client for the package registries of one owner (user or organisation) on one Gitea.
///
/// Cheap to clone; every handle shares the connection pool.
///
/// ```no_run
/// # async fn demo() -> wharf_gitea_client::Result<()> {
/// use wharf_gitea_client::{Auth, GiteaClient};
///
/// let gitea = GiteaClient::builder("https://gitea.example.com", "k3s-homelab")
///     .auth(Auth::token(std::env::var("GITEA_TOKEN").unwrap_or_default()))
///     .build()?;
/// gitea.generic().upload("tools", "1.0.0", "notes.txt", "hello").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GiteaClient {
    http: Http,
    container_transport: TransportConfig,
    retry: RetryPolicy,
    server: Url,
    owner: String,
    auth: Auth,
    packages_base: Url,
    server_version: Arc<OnceCell<String>>,
}

/// Builder for [`GiteaClient`]: infallible setters, one fallible [`build`](Self::build).
#[derive(Debug)]
pub struct GiteaClientBuilder {
    server: String,
    owner: String,
    auth: Auth,
    transport: Option<TransportConfig>,
    retry: RetryPolicy,
}

impl GiteaClient {
    /// Starts a builder for the Gitea at `server` (its root URL, e.g.
    /// `https://gitea.example.com` or `https://example.com/gitea/`) and `owner`.
    pub fn builder(server: impl Into<String>, owner: impl Into<String>) -> GiteaClientBuilder {
        GiteaClientBuilder {
            server: server.into(),
            owner: owner.into(),
            auth: Auth::Anonymous,
            transport: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The owner whose packages this client handles.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// PyPI: `/api/packages/{owner}/pypi` (upload) and `.../pypi/simple/`.
    pub fn pypi(&self) -> PypiRegistry {
        let upload = self.format_url("pypi");
        let simple = self.format_url("pypi/simple/");
        PypiRegistry::from_urls(self.http.clone(), upload, simple)
    }

    /// npm: `/api/packages/{owner}/npm/`.
    pub fn npm(&self) -> NpmRegistry {
        NpmRegistry::from_url(self.http.clone(), self.format_url("npm/"))
    }

    /// Generic files: `/api/packages/{owner}/generic/`.
    pub fn generic(&self) -> GenericRegistry {
        GenericRegistry::new(self.http.clone(), self.format_url("generic/"))
    }

    /// Maven: `/api/packages/{owner}/maven/`.
    pub fn maven(&self) -> MavenRegistry {
        MavenRegistry::new(self.http.clone(), self.format_url("maven/"))
    }

    /// Go modules: `/api/packages/{owner}/go/`.
    pub fn go(&self) -> GoRegistry {
        GoRegistry::new(self.http.clone(), self.format_url("go/"))
    }

    /// Cargo: `/api/packages/{owner}/cargo/`.
    pub fn cargo(&self) -> CargoRegistry {
        CargoRegistry::new(self.http.clone(), self.format_url("cargo/"))
    }

    /// Helm: `/api/packages/{owner}/helm/`.
    pub fn helm(&self) -> HelmRegistry {
        HelmRegistry::new(self.http.clone(), self.format_url("helm/"))
    }

    /// The container registry (`{host}/{owner}/{image}`), for oci-core's registry client.
    pub fn container(&self) -> ContainerRegistry {
        let host = host_with_port(&self.server).unwrap_or_default();
        ContainerRegistry::new(host, &self.owner, self.auth.clone())
            .with_transport(self.container_transport.clone())
            .with_retry(self.retry.clone())
    }

    /// Package management: `/api/v1/packages/{owner}`.
    pub fn packages(&self) -> PackagesApi {
        let api = self
            .server
            .join("api/v1/")
            .expect("a relative path joins onto an http(s) URL");
        PackagesApi::new(
            self.http.clone(),
            api,
            self.owner.clone(),
            Arc::clone(&self.server_version),
        )
    }

    fn format_url(&self, path: &str) -> Url {
        join_encoded(&self.packages_base, path)
            .expect("a fixed relative path joins onto an http(s) URL")
    }
}

impl GiteaClientBuilder {
    /// Credentials. Default [`Auth::Anonymous`].
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// The HTTP transport (TLS roots, client certificates, timeouts, user agent). Default:
    /// oci-core's [`TransportConfig::default`]. For the package APIs the scheme of the server
    /// URL decides between HTTP and HTTPS; the container registry client picks the scheme from
    /// the transport's plain-HTTP list, so a transport given here for an `http://` server must
    /// list its host (without one, the default lists it).
    #[must_use]
    pub fn transport(mut self, transport: TransportConfig) -> Self {
        self.transport = Some(transport);
        self
    }

    /// How reads and deletes are retried. Default [`RetryPolicy::default`]; uploads are never
    /// retried.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks the URL and owner and builds the client.
    pub fn build(self) -> Result<GiteaClient> {
        let server = base_url(&self.server)?;
        if self.owner.is_empty() {
            return Err(Error::Config {
                reason: "the owner is empty".into(),
            });
        }
        let container_transport = match self.transport.clone() {
            Some(transport) => transport,
            None => default_container_transport(&server)?,
        };
        let transport = self.transport.unwrap_or_default();
        let http = Http::new(&transport, self.auth.clone(), self.retry.clone())?;
        // The empty last segment gives the trailing `/` that later joins append to.
        let packages_base = join(&server, &["api", "packages", &self.owner, ""])?;
        Ok(GiteaClient {
            http,
            container_transport,
            retry: self.retry,
            server,
            owner: self.owner,
            auth: self.auth,
            packages_base,
            server_version: Arc::new(OnceCell::new()),
        })
    }
}

/// oci-core's default transport, with plain HTTP allowed for the server's host when its URL is
/// `http://` (the registry client picks the scheme per host from that list).
fn default_container_transport(server: &Url) -> Result<TransportConfig> {
    let mut builder = TransportConfig::builder();
    if server.scheme() == "http"
        && let Some(host) = host_with_port(server)
    {
        builder = builder.plain_http_host(host);
    }
    Ok(builder.build()?)
}

/// `host[:port]` of a URL, as image references spell the registry.
fn host_with_port(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(
        url.port()
            .map_or_else(|| host.to_owned(), |port| format!("{host}:{port}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> GiteaClient {
        GiteaClient::builder("http://gitea.local:3000/sub", "K3s Homelab")
            .auth(Auth::token("t"))
            .build()
            .unwrap()
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let gitea = GiteaClient::builder("https://g", "o")
            .auth(Auth::token("pat-s3cret"))
            .build()
            .unwrap();
        let basic = GiteaClient::builder("https://g", "o")
            .auth(Auth::basic("ci", "pw-s3cret"))
            .build()
            .unwrap();
        for text in [
            format!("{gitea:?}"),
            format!("{:?}", gitea.pypi()),
            format!("{:?}", gitea.container()),
            format!("{basic:?}"),
            format!("{:?}", basic.packages()),
        ] {
            assert!(!text.contains("s3cret"), "{text}");
        }
    }

    #[test]
    fn format_urls_sit_under_the_owner() {
        let gitea = client();
        assert_eq!(
            gitea.format_url("npm/").as_str(),
            "http://gitea.local:3000/sub/api/packages/K3s%20Homelab/npm/"
        );
        assert_eq!(gitea.container().host(), "gitea.local:3000");
        assert!(GiteaClient::builder("http://g", "").build().is_err());
        assert!(GiteaClient::builder("not a url", "o").build().is_err());
    }
}
