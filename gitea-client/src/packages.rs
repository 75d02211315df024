//! Package management under `/api/v1/packages/{owner}`: list, get, files, delete, link.

use std::fmt;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use http::Method;
use serde::Deserialize;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{Http, Request};
use crate::path::join;

/// The first Gitea release with the version list, latest, delete-package, link and unlink
/// endpoints.
// FIXME: 1.24.0 comes from the swagger comments of routers/api/v1/packages/package.go, not
// from a release note; confirm it against Gitea's changelog and lower it if they came earlier.
pub const NEWER_ENDPOINTS_SINCE: GiteaVersion = GiteaVersion {
    major: 1,
    minor: 24,
    patch: 0,
};

/// Page size used by [`PackagesApi::list`] when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A package type as Gitea names it in paths and the `type` filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PackageType {
    /// `cargo`
    Cargo,
    /// `container`
    Container,
    /// `generic`
    Generic,
    /// `go`
    Go,
    /// `helm`
    Helm,
    /// `maven`
    Maven,
    /// `npm`
    Npm,
    /// `pypi`
    Pypi,
    /// Any other type Gitea knows (`nuget`, `rubygems`, `debian` ...).
    Other(String),
}

impl PackageType {
    /// The name Gitea uses.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Cargo => "cargo",
            Self::Container => "container",
            Self::Generic => "generic",
            Self::Go => "go",
            Self::Helm => "helm",
            Self::Maven => "maven",
            Self::Npm => "npm",
            Self::Pypi => "pypi",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for PackageType {
    fn from(name: &str) -> Self {
        match name {
            "cargo" => Self::Cargo,
            "container" => Self::Container,
            "generic" => Self::Generic,
            "go" => Self::Go,
            "helm" => Self::Helm,
            "maven" => Self::Maven,
            "npm" => Self::Npm,
            "pypi" => Self::Pypi,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for PackageType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::from(name.as_str()))
    }
}

/// A user or organisation as package answers embed it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageUser {
    /// Numeric id.
    pub id: i64,
    /// Login name.
    #[serde(default)]
    pub login: String,
}

/// A repository a package is linked to.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkedRepository {
    /// Numeric id.
    pub id: i64,
    /// Repository name.
    #[serde(default)]
    pub name: String,
    /// `owner/name`.
    #[serde(default)]
    pub full_name: String,
}

/// One package version (`api.Package`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Package {
    /// Numeric id of the version.
    pub id: i64,
    /// The owner.
    pub owner: Option<PackageUser>,
    /// The linked repository, if any.
    pub repository: Option<LinkedRepository>,
    /// Who uploaded it.
    pub creator: Option<PackageUser>,
    /// The package type.
    #[serde(rename = "type")]
    pub package_type: PackageType,
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Web page of the version.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Creation time, RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One file of a package version (`api.PackageFile`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageFile {
    /// Numeric id.
    pub id: i64,
    /// Size in bytes (older servers spell the key `Size`).
    #[serde(alias = "Size", default)]
    pub size: i64,
    /// File name.
    pub name: String,
    /// Hex MD5.
    #[serde(default)]
    pub md5: String,
    /// Hex SHA-1.
    #[serde(default)]
    pub sha1: String,
    /// Hex SHA-256.
    #[serde(default)]
    pub sha256: String,
    /// Hex SHA-512.
    #[serde(default)]
    pub sha512: String,
}

/// Filters for [`PackagesApi::list`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only this type.
    pub package_type: Option<PackageType>,
    /// Name filter (Gitea matches substrings).
    pub query: Option<String>,
    /// Page size; [`DEFAULT_PAGE_SIZE`] when `None`.
    pub page_size: Option<u32>,
}

impl ListFilter {
    /// Every package.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only packages of `package_type`.
    #[must_use]
    pub fn package_type(mut self, package_type: PackageType) -> Self {
        self.package_type = Some(package_type);
        self
    }

    /// Only packages whose name matches `query`.
    #[must_use]
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Items per page (default [`DEFAULT_PAGE_SIZE`]).
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size.max(1));
        self
    }
}

/// A Gitea version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GiteaVersion {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

impl GiteaVersion {
    /// Reads `1.22.3`, `1.23.0+dev-12-gabc`, `v1.21.0-rc1`, or Forgejo's `7.0.0+gitea-1.22.0`
    /// (which gives the Gitea version after `gitea-`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.split_once("gitea-").map_or(text, |(_, gitea)| gitea);
        let text = text.trim().trim_start_matches('v');
        let core = text.split(['+', '-', ' ']).next()?;
        let mut numbers = core.split('.').map(str::parse::<u64>);
        let major = numbers.next()?.ok()?;
        let minor = numbers.next().unwrap_or(Ok(0)).ok()?;
        let patch = numbers.next().unwrap_or(Ok(0)).ok()?;
        Some(Self {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for GiteaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Deserialize)]
struct ServerVersion {
    version: String,
}

/// Package management of one owner (`/api/v1/packages/{owner}`).
///
/// ```no_run
/// # async fn demo(gitea: wharf_gitea_client::GiteaClient) -> wharf_gitea_client::Result<()> {
/// use futures::TryStreamExt;
/// use wharf_gitea_client::packages::{ListFilter, PackageType};
///
/// let packages = gitea.packages();
/// let pypi: Vec<_> = packages.list(&ListFilter::new().package_type(PackageType::Pypi)).try_collect().await?;
/// for package in &pypi {
///     println!("{} {}", package.name, package.version);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PackagesApi {
    http: Http,
    api: Url,
    owner: String,
    version: Arc<OnceCell<String>>,
}

impl PackagesApi {
    pub(crate) fn new(http: Http, api: Url, owner: String, version: Arc<OnceCell<String>>) -> Self {
        Self {
            http,
            api,
            owner,
            version,
        }
    }

    /// The server's version string (`GET /api/v1/version`), read once and cached.
    pub async fn server_version(&self) -> Result<String> {
        let version = self
            .version
            .get_or_try_init(|| async {
                let url = join(&self.api, &["version"])?;
                let answer: ServerVersion = self.http.json(Request::new(Method::GET, url)).await?;
                Ok::<_, Error>(answer.version)
            })
            .await?;
        Ok(version.clone())
    }

    /// True when the server has the newer endpoints ([`NEWER_ENDPOINTS_SINCE`]).
    pub async fn has_newer_endpoints(&self) -> Result<bool> {
        let version = self.server_version().await?;
        Ok(GiteaVersion::parse(&version).is_some_and(|parsed| parsed >= NEWER_ENDPOINTS_SINCE))
    }

    /// Every package version of the owner, page by page, as a stream that ends on its own.
    pub fn list(&self, filter: &ListFilter) -> BoxStream<'static, Result<Package>> {
        let mut query = Vec::new();
        if let Some(package_type) = &filter.package_type {
            query.push(("type", package_type.to_string()));
        }
        if let Some(text) = &filter.query {
            query.push(("q", text.clone()));
        }
        match join(&self.api, &["packages", &self.owner]) {
            Ok(url) => paged(
                self.http.clone(),
                url,
                query,
                filter.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            ),
            Err(error) => stream::once(async { Err(error) }).boxed(),
        }
    }

    /// Every version of one package (newer servers only).
    pub async fn versions(&self, package_type: &PackageType, name: &str) -> Result<Vec<Package>> {
        self.require_newer("listing the versions of a package")
            .await?;
        let url = self.package_url(package_type, name, &[])?;
        paged(self.http.clone(), url, Vec::new(), DEFAULT_PAGE_SIZE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// The latest version of one package (newer servers only).
    pub async fn latest(&self, package_type: &PackageType, name: &str) -> Result<Package> {
        self.require_newer("reading the latest version").await?;
        let url = self.package_url(package_type, name, &["-", "latest"])?;
        self.http.json(Request::new(Method::GET, url)).await
    }

    /// One version.
    pub async fn get(
        &self,
        package_type: &PackageType,
        name: &str,
        version: &str,
    ) -> Result<Package> {
        let url = self.package_url(package_type, name, &[version])?;
        self.http.json(Request::new(Method::GET, url)).await
    }

    /// The files of one version.
    pub async fn files(
        &self,
        package_type: &PackageType,
        name: &str,
        version: &str,
    ) -> Result<Vec<PackageFile>> {
        let url = self.package_url(package_type, name, &[version, "files"])?;
        self.http.json(Request::new(Method::GET, url)).await
    }

    /// Deletes one version.
    pub async fn delete_version(
        &self,
        package_type: &PackageType,
        name: &str,
        version: &str,
    ) -> Result<()> {
        let url = self.package_url(package_type, name, &[version])?;
        self.http.execute(Request::new(Method::DELETE, url)).await?;
        Ok(())
    }

    /// Deletes a package with all its versions: one call on newer servers, otherwise every
    /// version found by listing with the type and name filters is deleted one by one.
    pub async fn delete_package(&self, package_type: &PackageType, name: &str) -> Result<()> {
        if self.has_newer_endpoints().await? {
            let url = self.package_url(package_type, name, &[])?;
            self.http.execute(Request::new(Method::DELETE, url)).await?;
            return Ok(());
        }
        let filter = ListFilter::new()
            .package_type(package_type.clone())
            .query(name);
        let versions: Vec<Package> = self
            .list(&filter)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        let mut deleted = 0;
        for package in versions.iter().filter(|package| package.name == name) {
            self.delete_version(package_type, name, &package.version)
                .await?;
            deleted += 1;
        }
        if deleted == 0 {
            return Err(Error::NotFound {
                url: format!("{package_type}/{name}"),
                message: "no versions".into(),
            });
        }
        Ok(())
    }

    /// Links a package to a repository of the same owner (newer servers only).
    pub async fn link(
        &self,
        package_type: &PackageType,
        name: &str,
        repository: &str,
    ) -> Result<()> {
        self.require_newer("linking a package").await?;
        let url = self.package_url(package_type, name, &["-", "link", repository])?;
        self.http.execute(Request::new(Method::POST, url)).await?;
        Ok(())
    }

    /// Removes a package's repository link (newer servers only).
    pub async fn unlink(&self, package_type: &PackageType, name: &str) -> Result<()> {
        self.require_newer("unlinking a package").await?;
        let url = self.package_url(package_type, name, &["-", "unlink"])?;
        self.http.execute(Request::new(Method::POST, url)).await?;
        Ok(())
    }

    async fn require_newer(&self, feature: &'static str) -> Result<()> {
        if self.has_newer_endpoints().await? {
            return Ok(());
        }
        Err(Error::Unsupported {
            feature,
            required: "1.24.0",
            server: self.server_version().await?,
        })
    }

    fn package_url(&self, package_type: &PackageType, name: &str, rest: &[&str]) -> Result<Url> {
        let mut segments = vec!["packages", self.owner.as_str(), package_type.as_str(), name];
        segments.extend_from_slice(rest);
        join(&self.api, &segments)
    }
}

/// Pages through `page=1,2,…&limit=n` until a page comes back shorter than `n`.
fn paged(
    http: Http,
    url: Url,
    query: Vec<(&'static str, String)>,
    page_size: u32,
) -> BoxStream<'static, Result<Package>> {
    let state = Some((http, url, query, 1u32));
    stream::unfold(state, move |state| async move {
        let (http, url, query, page) = state?;
        let mut page_url = url.clone();
        {
            let mut pairs = page_url.query_pairs_mut();
            for (key, value) in &query {
                pairs.append_pair(key, value);
            }
            pairs
                .append_pair("page", &page.to_string())
                .append_pair("limit", &page_size.to_string());
        }
        match http
            .json::<Vec<Package>>(Request::new(Method::GET, page_url))
            .await
        {
            Ok(items) => {
                let next = (items.len() as u64 >= u64::from(page_size)).then_some((
                    http,
                    url,
                    query,
                    page + 1,
                ));
                let items: Vec<Result<Package>> = items.into_iter().map(Ok).collect();
                Some((stream::iter(items), next))
            }
            Err(error) => Some((stream::iter(vec![Err(error)]), None)),
        }
    })
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_gitea_and_forgejo_parse() {
        let v = |text| GiteaVersion::parse(text);
        assert_eq!(
            v("1.22.3"),
            Some(GiteaVersion {
                major: 1,
                minor: 22,
                patch: 3
            })
        );
        assert_eq!(
            v("1.23.0+dev-12-gabcdef"),
            Some(GiteaVersion {
                major: 1,
                minor: 23,
                patch: 0
            })
        );
        assert_eq!(v("7.0.0+gitea-1.22.0").unwrap().minor, 22);
        assert_eq!(
            v("v1.24"),
            Some(GiteaVersion {
                major: 1,
                minor: 24,
                patch: 0
            })
        );
        assert!(v("1.24.1").unwrap() >= NEWER_ENDPOINTS_SINCE);
        assert!(v("1.17.3").unwrap() < NEWER_ENDPOINTS_SINCE);
        assert_eq!(v("garbage"), None);
    }

    #[test]
    fn package_json_of_old_and_new_servers_reads() {
        let package: Package = serde_json::from_str(
            r#"{"id":1,"owner":{"id":2,"login":"k3s-homelab"},"repository":null,"creator":{"id":3,"login":"ci"},
                "type":"pypi","name":"demo","version":"0.1.0","html_url":"http://g/x","created_at":"2024-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(package.package_type, PackageType::Pypi);
        let file: PackageFile = serde_json::from_str(
            r#"{"id":1,"Size":10,"name":"f","md5":"","sha1":"","sha256":"","sha512":""}"#,
        )
        .unwrap();
        assert_eq!(file.size, 10);
        assert_eq!(
            PackageType::from("nuget"),
            PackageType::Other("nuget".into())
        );
    }
}
