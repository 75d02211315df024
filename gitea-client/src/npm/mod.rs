//! npm: publish tarballs, read packuments, manage dist-tags, unpublish. Works against any
//! npm-compatible registry (Gitea, verdaccio ...).

mod tarball;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use http::Method;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha512};
use url::Url;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;

pub use tarball::PackageTarball;

use crate::error::{Error, Result};
use crate::http::{Http, Request, read_bytes};
use crate::path::{base_url, encode_segment, join_encoded};

/// The dist-tag `npm publish` sets when none is given.
pub const DEFAULT_TAG: &str = "latest";

/// An npm-compatible registry.
///
/// ```no_run
/// # async fn demo() -> wharf_gitea_client::Result<()> {
/// use wharf_gitea_client::{Auth, npm::NpmRegistry};
///
/// let registry = NpmRegistry::new("http://127.0.0.1:4873/", Auth::bearer("npm-token"))?;
/// let published = registry.publish_file("demo-1.0.0.tgz", None).await?;
/// let tags = registry.dist_tags(published.name()).await?;
/// assert_eq!(tags.get("latest").map(String::as_str), Some(published.version()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NpmRegistry {
    http: Http,
    registry_url: Url,
}

/// A packument: the registry's document about one package.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Packument {
    /// The package name.
    pub name: String,
    /// Tags and the versions they point to.
    #[serde(rename = "dist-tags", default)]
    pub dist_tags: BTreeMap<String, String>,
    /// Every version's manifest, with `dist`.
    #[serde(default)]
    pub versions: BTreeMap<String, Value>,
    /// The document revision, when the registry keeps one (verdaccio does, Gitea does not).
    #[serde(rename = "_rev", default)]
    pub rev: Option<String>,
}

impl Packument {
    /// The tarball URL of a version (`versions.<v>.dist.tarball`).
    pub fn tarball_url(&self, version: &str) -> Option<&str> {
        self.versions
            .get(version)?
            .get("dist")?
            .get("tarball")?
            .as_str()
    }

    /// The `dist.integrity` of a version.
    pub fn integrity(&self, version: &str) -> Option<&str> {
        self.versions
            .get(version)?
            .get("dist")?
            .get("integrity")?
            .as_str()
    }
}

impl NpmRegistry {
    /// A registry at `registry_url` (e.g. `http://127.0.0.1:4873/`), using oci-core's
    /// default transport and retry policy.
    pub fn new(registry_url: &str, auth: crate::Auth) -> Result<Self> {
        Self::with_transport(
            registry_url,
            auth,
            &TransportConfig::default(),
            RetryPolicy::default(),
        )
    }

    /// Like [`new`](Self::new) with a transport (custom CA, client certificate, timeouts) and a
    /// retry policy for reads.
    pub fn with_transport(
        registry_url: &str,
        auth: crate::Auth,
        transport: &TransportConfig,
        retry: RetryPolicy,
    ) -> Result<Self> {
        Self::with_http(Http::new(transport, auth, retry)?, registry_url)
    }

    fn with_http(http: Http, registry_url: &str) -> Result<Self> {
        Ok(Self::from_url(http, base_url(registry_url)?))
    }

    /// `registry_url` must end with `/`.
    pub(crate) fn from_url(http: Http, registry_url: Url) -> Self {
        Self { http, registry_url }
    }

    /// Publishes a tarball file under `tag` (default [`DEFAULT_TAG`]).
    pub async fn publish_file(
        &self,
        path: impl AsRef<Path>,
        tag: Option<&str>,
    ) -> Result<PackageTarball> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| Error::io(path, source))?;
        let tarball = PackageTarball::from_bytes(&path.display().to_string(), bytes)?;
        self.publish(&tarball, tag).await?;
        Ok(tarball)
    }

    /// Publishes a tarball under `tag` (default [`DEFAULT_TAG`]).
    pub async fn publish(&self, tarball: &PackageTarball, tag: Option<&str>) -> Result<()> {
        let package_url = self.package_url(tarball.name())?;
        let tarball_url = format!(
            "{}/-/{}",
            package_url.as_str().trim_end_matches('/'),
            tarball.file_name()
        );
        let document = tarball.publish_document(&tarball_url, tag.unwrap_or(DEFAULT_TAG));
        tracing::info!(
            name = tarball.name(),
            version = tarball.version(),
            "publishing"
        );
        let request = Request::new(Method::PUT, package_url)
            .publish(format!("{}@{}", tarball.name(), tarball.version()))
            .with(move |builder| builder.json(&document));
        self.http.execute(request).await?;
        Ok(())
    }

    /// Reads the packument of a package.
    pub async fn packument(&self, name: &str) -> Result<Packument> {
        self.http
            .json(Request::new(Method::GET, self.package_url(name)?))
            .await
    }

    /// Reads the dist-tags of a package.
    pub async fn dist_tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        self.http
            .json(Request::new(Method::GET, self.dist_tags_url(name, None)?))
            .await
    }

    /// Points `tag` at `version`.
    pub async fn add_dist_tag(&self, name: &str, tag: &str, version: &str) -> Result<()> {
        let body = Value::String(version.to_owned());
        let request = Request::new(Method::PUT, self.dist_tags_url(name, Some(tag))?)
            .with(move |builder| builder.json(&body));
        self.http.execute(request).await?;
        Ok(())
    }

    /// Removes `tag`.
    pub async fn remove_dist_tag(&self, name: &str, tag: &str) -> Result<()> {
        self.http
            .execute(Request::new(
                Method::DELETE,
                self.dist_tags_url(name, Some(tag))?,
            ))
            .await?;
        Ok(())
    }

    /// Downloads the tarball of a version and checks it against its `dist.integrity`.
    pub async fn download_tarball(&self, name: &str, version: &str) -> Result<Vec<u8>> {
        let packument = self.packument(name).await?;
        let not_found = || Error::NotFound {
            url: format!("{name}@{version}"),
            message: "version not in packument".into(),
        };
        let url = packument.tarball_url(version).ok_or_else(not_found)?;
        let url = Url::parse(url).map_err(|error| Error::InvalidResponse {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
        let bytes = read_bytes(self.http.download(url).await?).await?.to_vec();
        if let Some(expected) = packument
            .integrity(version)
            .and_then(|value| value.strip_prefix("sha512-"))
        {
            let actual = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&bytes));
            if actual != expected {
                return Err(Error::HashMismatch {
                    file: format!("{name}@{version}"),
                    algorithm: "sha512".into(),
                    expected: expected.to_owned(),
                    actual,
                });
            }
        }
        Ok(bytes)
    }

    /// Removes a package with every version (`npm unpublish <name> --force`).
    pub async fn unpublish(&self, name: &str) -> Result<()> {
        let packument = self.packument(name).await?;
        let rev = packument.rev.as_deref().unwrap_or("0");
        let url = join_encoded(
            &self.registry_url,
            &format!(
                "{}/-rev/{}",
                tarball::escaped_name(name),
                encode_segment(rev)
            ),
        )?;
        self.http.execute(Request::new(Method::DELETE, url)).await?;
        Ok(())
    }

    /// Removes one version the way the npm CLI does: write the packument without it, then
    /// delete its tarball (Gitea deletes the version on the second call and ignores the
    /// first; verdaccio needs both).
    pub async fn unpublish_version(&self, name: &str, version: &str) -> Result<()> {
        let packument = self.packument(name).await?;
        let tarball_url = packument
            .tarball_url(version)
            .ok_or_else(|| Error::NotFound {
                url: format!("{name}@{version}"),
                message: "version not in packument".into(),
            })?
            .to_owned();
        let rev = packument.rev.clone().unwrap_or_else(|| "0".to_owned());
        self.write_without_version(name, version, &rev).await?;

        let after_dash = tarball_url
            .split_once("/-/")
            .map(|(_, file)| file.to_owned())
            .ok_or_else(|| Error::InvalidResponse {
                url: tarball_url.clone(),
                reason: "tarball URL has no /-/".into(),
            })?;
        let rev = self
            .packument(name)
            .await
            .ok()
            .and_then(|packument| packument.rev)
            .unwrap_or(rev);
        let url = join_encoded(
            &self.registry_url,
            &format!(
                "{}/-/{after_dash}/-rev/{}",
                tarball::escaped_name(name),
                encode_segment(&rev)
            ),
        )?;
        self.http.execute(Request::new(Method::DELETE, url)).await?;
        Ok(())
    }

    async fn write_without_version(&self, name: &str, version: &str, rev: &str) -> Result<()> {
        let mut document: Value = self
            .http
            .json(Request::new(Method::GET, self.package_url(name)?))
            .await?;
        if let Some(versions) = document.get_mut("versions").and_then(Value::as_object_mut) {
            versions.remove(version);
        }
        if let Some(tags) = document.get_mut("dist-tags").and_then(Value::as_object_mut) {
            tags.retain(|_, tagged| tagged.as_str() != Some(version));
        }
        let url = join_encoded(
            &self.registry_url,
            &format!(
                "{}/-rev/{}",
                tarball::escaped_name(name),
                encode_segment(rev)
            ),
        )?;
        let request = Request::new(Method::PUT, url).with(move |builder| builder.json(&document));
        self.http.execute(request).await?;
        Ok(())
    }

    fn package_url(&self, name: &str) -> Result<Url> {
        join_encoded(&self.registry_url, &tarball::escaped_name(name))
    }

    fn dist_tags_url(&self, name: &str, tag: Option<&str>) -> Result<Url> {
        let mut path = format!("-/package/{}/dist-tags", tarball::escaped_name(name));
        if let Some(tag) = tag {
            path.push('/');
            path.push_str(&encode_segment(tag));
        }
        join_encoded(&self.registry_url, &path)
    }
}
