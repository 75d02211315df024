//! Helm: upload chart archives, read `index.yaml`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use flate2::read::GzDecoder;
use http::Method;
use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{Http, Request, read_bytes};
use crate::path::join;

/// The Helm chart repository of one owner (`/api/packages/{owner}/helm/`).
#[derive(Debug, Clone)]
pub struct HelmRegistry {
    http: Http,
    base: Url,
}

/// The fields of `Chart.yaml` this client reads.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChartMetadata {
    /// Chart API version (`v1` or `v2`).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Chart name.
    pub name: String,
    /// Chart version (SemVer).
    pub version: String,
    /// Version of the packaged application.
    #[serde(default)]
    pub app_version: Option<String>,
    /// One-line description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A chart archive (`helm package` output) with its metadata.
#[derive(Debug, Clone)]
pub struct ChartArchive {
    metadata: ChartMetadata,
    bytes: Bytes,
}

/// The repository's `index.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HelmIndex {
    /// Index format version.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Chart name to its versions.
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexedChart>>,
}

/// One chart version in `index.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct IndexedChart {
    /// Chart metadata.
    #[serde(flatten)]
    pub metadata: ChartMetadata,
    /// Download URLs.
    #[serde(default)]
    pub urls: Vec<String>,
    /// SHA-256 of the archive.
    #[serde(default)]
    pub digest: Option<String>,
}

impl ChartArchive {
    /// Reads `<chart>/Chart.yaml` from a chart `.tgz`.
    pub fn from_bytes(file_label: &str, bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes = bytes.into();
        let text = read_chart_yaml(file_label, &bytes)?;
        let metadata: ChartMetadata = serde_yaml::from_str(&text).map_err(|error| {
            Error::invalid_package(file_label, format!("invalid Chart.yaml: {error}"))
        })?;
        if metadata.name.is_empty() || metadata.version.is_empty() {
            return Err(Error::invalid_package(
                file_label,
                "Chart.yaml has no name or version",
            ));
        }
        Ok(Self { metadata, bytes })
    }

    /// The chart's metadata.
    pub fn metadata(&self) -> &ChartMetadata {
        &self.metadata
    }
}

impl HelmRegistry {
    pub(crate) fn new(http: Http, base: Url) -> Self {
        Self { http, base }
    }

    /// Uploads a chart archive file. A version already present is [`Error::AlreadyExists`].
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<ChartArchive> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| Error::io(path, source))?;
        let chart = ChartArchive::from_bytes(&path.display().to_string(), bytes)?;
        self.upload(&chart).await?;
        Ok(chart)
    }

    /// Uploads a chart archive.
    pub async fn upload(&self, chart: &ChartArchive) -> Result<()> {
        let url = join(&self.base, &["api", "charts"])?;
        let bytes = chart.bytes.clone();
        let request = Request::new(Method::POST, url)
            .publish(format!(
                "{} {}",
                chart.metadata.name, chart.metadata.version
            ))
            .with(move |builder| builder.body(bytes));
        self.http.execute(request).await?;
        Ok(())
    }

    /// Reads `index.yaml`.
    pub async fn index(&self) -> Result<HelmIndex> {
        let url = join(&self.base, &["index.yaml"])?;
        let body = read_bytes(
            self.http
                .send(Request::new(Method::GET, url.clone()))
                .await?,
        )
        .await?;
        serde_yaml::from_slice(&body).map_err(|error| Error::InvalidResponse {
            url: url.to_string(),
            reason: error.to_string(),
        })
    }
}

fn read_chart_yaml(file_label: &str, bytes: &[u8]) -> Result<String> {
    let invalid = |reason: String| Error::invalid_package(file_label, reason);
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|error| invalid(format!("not a chart .tgz: {error}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|error| invalid(format!("unreadable tar entry: {error}")))?;
        let path = entry
            .path()
            .map_err(|error| invalid(error.to_string()))?
            .into_owned();
        let parts: Vec<_> = path.iter().collect();
        if parts.len() == 2 && parts[1] == "Chart.yaml" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|error| invalid(format!("cannot read Chart.yaml: {error}")))?;
            return Ok(text);
        }
    }
    Err(invalid("no <chart>/Chart.yaml in the archive".into()))
}
