//! Gitea's generic registry: files under `generic/{name}/{version}/{file}`.

use std::path::Path;

use bytes::Bytes;
use http::Method;
use http::header::CONTENT_LENGTH;
use url::Url;

use crate::error::Result;
use crate::http::{ByteStream, Http, Request, body_stream, file_body};
use crate::path::join;

/// The generic package registry of one owner (`/api/packages/{owner}/generic/`).
///
/// ```no_run
/// # async fn demo(gitea: wharf_gitea_client::GiteaClient) -> wharf_gitea_client::Result<()> {
/// use futures::TryStreamExt;
///
/// let generic = gitea.generic();
/// generic.upload_file("tools", "1.0.0", "tool.tar.gz", "target/tool.tar.gz").await?;
/// let bytes: Vec<bytes::Bytes> = generic.download("tools", "1.0.0", "tool.tar.gz").await?.try_collect().await?;
/// # let _ = bytes; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GenericRegistry {
    http: Http,
    base: Url,
}

impl GenericRegistry {
    pub(crate) fn new(http: Http, base: Url) -> Self {
        Self { http, base }
    }

    /// Uploads a file from disk, streaming it (never held in memory). Duplicate files are
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists).
    pub async fn upload_file(
        &self,
        name: &str,
        version: &str,
        file_name: &str,
        path: impl AsRef<Path>,
    ) -> Result<()> {
        let (body, length) = file_body(path.as_ref()).await?;
        self.upload_body(name, version, file_name, body, Some(length))
            .await
    }

    /// Uploads a file given as bytes.
    pub async fn upload(
        &self,
        name: &str,
        version: &str,
        file_name: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<()> {
        let bytes = bytes.into();
        let length = bytes.len() as u64;
        self.upload_body(
            name,
            version,
            file_name,
            reqwest::Body::from(bytes),
            Some(length),
        )
        .await
    }

    /// Uploads any body (for example `reqwest::Body::wrap_stream`), with its length when known.
    pub async fn upload_body(
        &self,
        name: &str,
        version: &str,
        file_name: &str,
        body: reqwest::Body,
        length: Option<u64>,
    ) -> Result<()> {
        let url = self.file_url(name, version, file_name)?;
        tracing::info!(name, version, file = file_name, "uploading");
        let request = Request::new(Method::PUT, url)
            .publish(format!("{name} {version} {file_name}"))
            .with(move |builder| {
                let builder = builder.body(body);
                match length {
                    Some(length) => builder.header(CONTENT_LENGTH, length),
                    None => builder,
                }
            });
        self.http.execute(request).await?;
        Ok(())
    }

    /// Downloads a file as a stream of chunks.
    pub async fn download(&self, name: &str, version: &str, file_name: &str) -> Result<ByteStream> {
        let response = self
            .http
            .download(self.file_url(name, version, file_name)?)
            .await?;
        Ok(body_stream(response))
    }

    /// Deletes one file of a version (the version goes when its last file goes).
    pub async fn delete_file(&self, name: &str, version: &str, file_name: &str) -> Result<()> {
        self.http
            .execute(Request::new(
                Method::DELETE,
                self.file_url(name, version, file_name)?,
            ))
            .await?;
        Ok(())
    }

    /// Deletes a version with all its files.
    pub async fn delete_version(&self, name: &str, version: &str) -> Result<()> {
        self.http
            .execute(Request::new(
                Method::DELETE,
                join(&self.base, &[name, version])?,
            ))
            .await?;
        Ok(())
    }

    fn file_url(&self, name: &str, version: &str, file_name: &str) -> Result<Url> {
        join(&self.base, &[name, version, file_name])
    }
}
