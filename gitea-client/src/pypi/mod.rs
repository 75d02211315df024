//! PyPI: upload wheels and sdists as twine does, read the PEP 503 simple index, download with
//! a hash check. Works against any compatible index (Gitea, pypiserver, devpi ...).

mod metadata;
mod simple;

use std::path::Path;

use http::Method;
use reqwest::multipart::{Form, Part};
use sha2::digest::DynDigest;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;

pub use metadata::{CoreMetadata, DistributionKind, normalize_name};
pub use simple::DistributionFile;

use crate::error::{Error, Result};
use crate::http::{Http, Request, file_body, read_bytes};
use crate::path::{base_url, encode_segment, join_encoded};

/// A PyPI-compatible index: an upload URL and a simple-index URL.
///
/// ```no_run
/// # async fn demo() -> wharf_gitea_client::Result<()> {
/// use wharf_gitea_client::{Auth, pypi::PypiRegistry};
///
/// let index = PypiRegistry::new(
///     "http://127.0.0.1:8080/",
///     "http://127.0.0.1:8080/simple/",
///     Auth::basic("uploader", "secret"),
/// )?;
/// let uploaded = index.upload_file("dist/demo-0.1.0-py3-none-any.whl").await?;
/// println!("published {} {}", uploaded.name, uploaded.version);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PypiRegistry {
    http: Http,
    upload_url: Url,
    simple_url: Url,
}

/// What was uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedDistribution {
    /// The project name from the metadata.
    pub name: String,
    /// The version from the metadata.
    pub version: String,
    /// The file name.
    pub file_name: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

impl PypiRegistry {
    /// An index with its upload URL (where `twine upload --repository-url` points) and its
    /// simple-index URL, using oci-core's default transport and retry policy.
    pub fn new(upload_url: &str, simple_url: &str, auth: crate::Auth) -> Result<Self> {
        Self::with_transport(
            upload_url,
            simple_url,
            auth,
            &TransportConfig::default(),
            RetryPolicy::default(),
        )
    }

    /// Like [`new`](Self::new) with a transport (custom CA, client certificate, timeouts) and a
    /// retry policy for reads.
    pub fn with_transport(
        upload_url: &str,
        simple_url: &str,
        auth: crate::Auth,
        transport: &TransportConfig,
        retry: RetryPolicy,
    ) -> Result<Self> {
        Self::with_http(Http::new(transport, auth, retry)?, upload_url, simple_url)
    }

    fn with_http(http: Http, upload_url: &str, simple_url: &str) -> Result<Self> {
        let upload_url = Url::parse(upload_url).map_err(|error| Error::Config {
            reason: format!("invalid upload URL: {error}"),
        })?;
        Ok(Self::from_urls(http, upload_url, base_url(simple_url)?))
    }

    /// `simple_url` must end with `/`.
    pub(crate) fn from_urls(http: Http, upload_url: Url, simple_url: Url) -> Self {
        Self {
            http,
            upload_url,
            simple_url,
        }
    }

    /// Uploads a wheel or sdist file; name, version and the rest of the form come from the
    /// metadata inside the file.
    ///
    /// The file is never held in memory: a first pass reads its metadata and digests, then
    /// the upload streams it from disk. It must not change in between.
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<UploadedDistribution> {
        let path = path.as_ref().to_owned();
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| Error::invalid_package(path.display().to_string(), "no file name"))?
            .to_owned();
        let kind = distribution_kind(&file_name)?;
        let inspect_path = path.clone();
        let inspect_name = file_name.clone();
        let inspected =
            tokio::task::spawn_blocking(move || inspect_file(kind, &inspect_name, &inspect_path))
                .await
                .map_err(|error| Error::invalid_package(&file_name, error.to_string()))??;
        let (body, length) = file_body(&path).await?;
        if length != inspected.size {
            return Err(Error::invalid_package(
                &file_name,
                "the file changed while it was being read",
            ));
        }
        let content = Part::stream_with_length(body, length);
        self.send_upload(kind, &file_name, &inspected, content)
            .await
    }

    /// Uploads a wheel or sdist given as bytes with its file name.
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>) -> Result<UploadedDistribution> {
        let kind = distribution_kind(file_name)?;
        let mut digests = UploadDigests::default();
        digests.update(&bytes);
        let inspected = digests.finish(metadata::read(
            kind,
            file_name,
            std::io::Cursor::new(&bytes),
        )?);
        self.send_upload(kind, file_name, &inspected, Part::bytes(bytes))
            .await
    }

    async fn send_upload(
        &self,
        kind: DistributionKind,
        file_name: &str,
        inspected: &Inspected,
        content: Part,
    ) -> Result<UploadedDistribution> {
        let uploaded = UploadedDistribution {
            name: inspected.metadata.name().unwrap_or_default().to_owned(),
            version: inspected.metadata.version().unwrap_or_default().to_owned(),
            file_name: file_name.to_owned(),
            sha256: inspected.sha256.clone(),
        };
        let content = content
            .file_name(file_name.to_owned())
            .mime_str("application/octet-stream")
            .map_err(|error| Error::invalid_package(file_name, error.to_string()))?;
        let form = upload_form(kind, file_name, inspected).part("content", content);

        let what = format!("{} {} ({file_name})", uploaded.name, uploaded.version);
        tracing::info!(file = file_name, name = %uploaded.name, version = %uploaded.version, "uploading");
        let request = Request::new(Method::POST, self.upload_url.clone())
            .publish(what)
            .with(move |builder| builder.multipart(form));
        self.http.execute(request).await?;
        Ok(uploaded)
    }

    /// The files of a project from its simple-index page (`<simple>/<normalised name>/`).
    pub async fn files(&self, project: &str) -> Result<Vec<DistributionFile>> {
        let page = join_encoded(
            &self.simple_url,
            &format!("{}/", encode_segment(&normalize_name(project))),
        )?;
        let response = self
            .http
            .send(Request::new(Method::GET, page.clone()))
            .await?;
        let final_url = response.url().clone();
        let body = read_bytes(response).await?;
        Ok(simple::parse_project_page(
            &final_url,
            &String::from_utf8_lossy(&body),
        ))
    }

    /// Downloads a file to `destination`, checking the hash the index announced (`md5`,
    /// `sha1`, `sha224`, `sha256`, `sha384` or `sha512`, the algorithms PEP 503 allows; a
    /// hash of another name is logged and not checked). On a mismatch the written file is
    /// removed and [`Error::HashMismatch`] returned.
    pub async fn download(
        &self,
        file: &DistributionFile,
        destination: impl AsRef<Path>,
    ) -> Result<u64> {
        let destination = destination.as_ref();
        let response = self.http.download(file.url.clone()).await?;
        let (written, actual) = write_hashed(response, destination, file.hash.as_ref()).await?;
        if let (Some((algorithm, expected)), Some(actual)) = (&file.hash, actual)
            && !expected.eq_ignore_ascii_case(&actual)
        {
            let _ = tokio::fs::remove_file(destination).await;
            return Err(Error::HashMismatch {
                file: file.file_name.clone(),
                algorithm: algorithm.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(written)
    }
}

/// A running hash of one of the algorithms PEP 503 allows in a link's fragment.
struct FileHasher(Box<dyn DynDigest + Send>);

impl FileHasher {
    /// The hasher for `algorithm` (`md5`, `sha1`, `sha224`, `sha256`, `sha384` or `sha512`),
    /// or `None` for any other name.
    fn for_algorithm(algorithm: &str) -> Option<Self> {
        let digest: Box<dyn DynDigest + Send> = match algorithm {
            "md5" => Box::new(md5::Md5::new()),
            "sha1" => Box::new(sha1::Sha1::new()),
            "sha224" => Box::new(sha2::Sha224::new()),
            "sha256" => Box::new(Sha256::new()),
            "sha384" => Box::new(sha2::Sha384::new()),
            "sha512" => Box::new(sha2::Sha512::new()),
            _ => return None,
        };
        Some(Self(digest))
    }

    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest as lowercase hex, as the index writes it.
    fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Streams the body to a file; returns the size and, when the index announced a hash of an
/// algorithm PEP 503 allows, that hash of the bytes received (hex).
async fn write_hashed(
    mut response: reqwest::Response,
    destination: &Path,
    hash: Option<&(String, String)>,
) -> Result<(u64, Option<String>)> {
    let mut hasher = hash.and_then(|(algorithm, _)| FileHasher::for_algorithm(algorithm));
    if let (Some((algorithm, _)), None) = (hash, &hasher) {
        tracing::warn!(%algorithm, "index announced a hash of an unknown algorithm; not verified");
    }
    let mut out = tokio::fs::File::create(destination)
        .await
        .map_err(|source| Error::io(destination, source))?;
    let mut written = 0u64;
    let url = response.url().to_string();
    while let Some(chunk) = response.chunk().await.map_err(|source| Error::Http {
        url: url.clone(),
        source,
    })? {
        if let Some(hasher) = &mut hasher {
            hasher.update(&chunk);
        }
        out.write_all(&chunk)
            .await
            .map_err(|source| Error::io(destination, source))?;
        written += chunk.len() as u64;
    }
    out.flush()
        .await
        .map_err(|source| Error::io(destination, source))?;
    Ok((written, hasher.map(FileHasher::finish)))
}

/// What the upload form says about a distribution file, read before it is sent.
struct Inspected {
    metadata: CoreMetadata,
    sha256: String,
    md5: String,
    size: u64,
}

fn distribution_kind(file_name: &str) -> Result<DistributionKind> {
    DistributionKind::from_file_name(file_name).ok_or_else(|| {
        Error::invalid_package(file_name, "neither a wheel (.whl) nor an sdist (.tar.gz)")
    })
}

/// Reads a file's metadata, then its digests and size in one streaming pass (blocking I/O).
fn inspect_file(kind: DistributionKind, file_name: &str, path: &Path) -> Result<Inspected> {
    let open = || std::fs::File::open(path).map_err(|source| Error::io(path, source));
    let metadata = metadata::read(kind, file_name, std::io::BufReader::new(open()?))?;
    let mut digests = UploadDigests::default();
    std::io::copy(&mut open()?, &mut digests).map_err(|source| Error::io(path, source))?;
    Ok(digests.finish(metadata))
}

/// The digests and size the upload form declares, computed from the bytes written to it.
#[derive(Default)]
struct UploadDigests {
    sha256: Sha256,
    md5: md5::Md5,
    size: u64,
}

impl UploadDigests {
    fn update(&mut self, bytes: &[u8]) {
        Digest::update(&mut self.sha256, bytes);
        Digest::update(&mut self.md5, bytes);
        self.size += bytes.len() as u64;
    }

    fn finish(self, metadata: CoreMetadata) -> Inspected {
        Inspected {
            metadata,
            sha256: hex::encode(Digest::finalize(self.sha256)),
            md5: hex::encode(Digest::finalize(self.md5)),
            size: self.size,
        }
    }
}

impl std::io::Write for UploadDigests {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The text fields of the multipart form twine sends for `:action=file_upload` (the file
/// itself is added as the `content` part).
fn upload_form(kind: DistributionKind, file_name: &str, inspected: &Inspected) -> Form {
    let metadata = &inspected.metadata;
    let pyversion = match kind {
        DistributionKind::Wheel => metadata::wheel_python_tag(file_name).unwrap_or("py3"),
        DistributionKind::Sdist => "source",
    };
    let mut form = Form::new()
        .text(":action", "file_upload")
        .text("protocol_version", "1")
        .text("filetype", kind.filetype())
        .text("pyversion", pyversion.to_owned())
        .text(
            "metadata_version",
            metadata.metadata_version().unwrap_or("2.1").to_owned(),
        )
        .text("sha256_digest", inspected.sha256.clone())
        .text("md5_digest", inspected.md5.clone());
    for (field, key) in SINGLE_FIELDS {
        if let Some(value) = metadata.get(key) {
            form = form.text(*field, value.to_owned());
        }
    }
    if let Some(description) = metadata.description() {
        form = form.text("description", description.to_owned());
    }
    for (field, key) in MULTI_FIELDS {
        for value in metadata.get_all(key) {
            form = form.text(*field, value.to_owned());
        }
    }
    form
}

/// Form fields with one value and the metadata header they come from.
const SINGLE_FIELDS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("version", "Version"),
    ("summary", "Summary"),
    ("home_page", "Home-page"),
    ("author", "Author"),
    ("author_email", "Author-email"),
    ("maintainer", "Maintainer"),
    ("maintainer_email", "Maintainer-email"),
    ("license", "License"),
    ("keywords", "Keywords"),
    ("requires_python", "Requires-Python"),
    ("description_content_type", "Description-Content-Type"),
];

/// Form fields sent once per value.
const MULTI_FIELDS: &[(&str, &str)] = &[
    ("classifiers", "Classifier"),
    ("requires_dist", "Requires-Dist"),
    ("project_urls", "Project-URL"),
    ("provides_extra", "Provides-Extra"),
    ("platform", "Platform"),
];
