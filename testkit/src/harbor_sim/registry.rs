//! The simulator's registry: a real `docker-registry` child process in token-auth mode, and
//! the small distribution client the simulator uses to read and copy what was pushed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use serde_json::Value;

use super::SimError;
use crate::token::{Access, TokenIssuer};

/// The `service` (token audience) the registry is configured with, as in Harbor.
pub(crate) const SERVICE: &str = "harbor-registry";
/// The `iss` of tokens the simulator signs, as in Harbor.
pub(crate) const ISSUER: &str = "harbor-token-issuer";

/// Manifest media types the simulator accepts when reading manifests.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// How long the registry may take to answer after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `docker-registry` child; killed on drop.
#[derive(Debug)]
pub(crate) struct RegistryProcess {
    child: Child,
    host: String,
}

impl RegistryProcess {
    /// Writes a config under `dir` and starts `binary` on a free loopback port, trusting
    /// tokens signed by `root_cert` and sending clients to `realm`.
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        realm: &str,
        root_cert: &Path,
    ) -> Result<Self, SimError> {
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let config = dir.join("registry.yml");
        let storage = dir.join("storage");
        write_file(&config, &registry_config(&host, &storage, realm, root_cert))?;
        let log =
            std::fs::File::create(dir.join("registry.log")).map_err(|source| SimError::Io {
                path: dir.join("registry.log"),
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| SimError::Io {
            path: dir.join("registry.log"),
            source,
        })?;

        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| SimError::Spawn {
                program: binary.to_path_buf(),
                source,
            })?;
        Ok(Self { child, host })
    }

    /// `host:port` of the registry.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Waits until `GET /v2/` answers (with the token challenge).
    pub(crate) async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        let url = format!("http://{}/v2/", self.host);
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status() == StatusCode::UNAUTHORIZED
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(SimError::RegistryExited { status });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(SimError::RegistryNotReady { url });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl RegistryProcess {
    /// Kills the registry process (an outage); later requests to it fail.
    pub(crate) fn kill(&mut self) {
        // The child may already be gone; either way it no longer serves.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        // The child may already be gone; nothing useful to do with an error here.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry_config(host: &str, storage: &Path, realm: &str, root_cert: &Path) -> String {
    format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
         http:\n  addr: {host}\n\
         auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    \
         rootcertbundle: {root}\n",
        storage = storage.display(),
        root = root_cert.display(),
    )
}

fn free_port() -> Result<u16, SimError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(SimError::Bind)?;
    Ok(listener.local_addr().map_err(SimError::Bind)?.port())
}

fn write_file(path: &Path, contents: &str) -> Result<(), SimError> {
    std::fs::write(path, contents).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A manifest exactly as the registry stored it.
#[derive(Debug, Clone)]
pub(crate) struct StoredManifest {
    pub(crate) digest: String,
    pub(crate) media_type: String,
    pub(crate) bytes: Vec<u8>,
}

impl StoredManifest {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// `(digest, size)` of the config and the layers (or of the children of an index).
    pub(crate) fn descriptors(&self) -> Vec<(String, u64)> {
        let json = self.json();
        let config = json.get("config").into_iter();
        let layers = json
            .get("layers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let children = json
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        config
            .chain(layers)
            .chain(children)
            .filter_map(|descriptor| {
                let digest = descriptor.get("digest")?.as_str()?.to_owned();
                Some((digest, descriptor.get("size")?.as_u64()?))
            })
            .collect()
    }

    pub(crate) fn is_index(&self) -> bool {
        self.json().get("manifests").is_some()
    }
}

/// The simulator's own client of its registry; it signs its own all-access tokens.
#[derive(Debug, Clone)]
pub(crate) struct RegistryClient {
    http: reqwest::Client,
    base: String,
    issuer: TokenIssuer,
}

/// A failed call to the registry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    #[error("registry request failed")]
    Http(#[from] reqwest::Error),
    #[error("registry answered {status} to {what}")]
    Status { status: StatusCode, what: String },
    #[error("cannot sign a registry token")]
    Token(#[from] crate::token::TokenError),
}

impl RegistryClient {
    pub(crate) fn new(http: reqwest::Client, host: &str, issuer: TokenIssuer) -> Self {
        Self {
            http,
            base: format!("http://{host}"),
            issuer,
        }
    }

    fn bearer(&self, access: &[Access]) -> Result<String, RegistryError> {
        Ok(format!(
            "Bearer {}",
            self.issuer.issue("harbor-core", SERVICE, access)?.token
        ))
    }

    fn repository_access(repositories: &[&str]) -> Vec<Access> {
        repositories
            .iter()
            .map(|name| Access::repository(name, &["pull", "push", "delete"]))
            .collect()
    }

    /// Every repository name in the registry.
    pub(crate) async fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        let access = [Access {
            kind: "registry".to_owned(),
            name: "catalog".to_owned(),
            actions: vec!["*".to_owned()],
        }];
        let response = self
            .http
            .get(format!("{}/v2/_catalog?n=1000", self.base))
            .header(AUTHORIZATION, self.bearer(&access)?)
            .send()
            .await?;
        let body: Value = expect_ok(response, "catalog")?.json().await?;
        Ok(string_list(&body["repositories"]))
    }

    /// The tags of `repository` (none when it does not exist).
    pub(crate) async fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        let response = self
            .http
            .get(format!("{}/v2/{repository}/tags/list", self.base))
            .header(
                AUTHORIZATION,
                self.bearer(&Self::repository_access(&[repository]))?,
            )
            .send()
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let body: Value = expect_ok(response, "tag list")?.json().await?;
        Ok(string_list(&body["tags"]))
    }

    /// The manifest `reference` (tag or digest) of `repository`, `None` when unknown.
    pub(crate) async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<StoredManifest>, RegistryError> {
        let response = self
            .http
            .get(format!(
                "{}/v2/{repository}/manifests/{reference}",
                self.base
            ))
            .header(
                AUTHORIZATION,
                self.bearer(&Self::repository_access(&[repository]))?,
            )
            .header(ACCEPT, MANIFEST_ACCEPT)
            .send()
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = expect_ok(response, "manifest")?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let digest = header("docker-content-digest");
        let media_type = header("content-type");
        let bytes = response.bytes().await?.to_vec();
        Ok(Some(StoredManifest {
            digest,
            media_type,
            bytes,
        }))
    }

    /// A blob of `repository`, fully read (only used for small image configs).
    pub(crate) async fn blob(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let response = self
            .http
            .get(format!("{}/v2/{repository}/blobs/{digest}", self.base))
            .header(
                AUTHORIZATION,
                self.bearer(&Self::repository_access(&[repository]))?,
            )
            .send()
            .await?;
        Ok(expect_ok(response, "blob")?.bytes().await?.to_vec())
    }

    /// Stores `manifest` in `repository` under `reference` (a tag or its digest).
    pub(crate) async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &StoredManifest,
    ) -> Result<(), RegistryError> {
        let response = self
            .http
            .put(format!(
                "{}/v2/{repository}/manifests/{reference}",
                self.base
            ))
            .header(
                AUTHORIZATION,
                self.bearer(&Self::repository_access(&[repository]))?,
            )
            .header(CONTENT_TYPE, &manifest.media_type)
            .body(manifest.bytes.clone())
            .send()
            .await?;
        expect_ok(response, "manifest upload").map(drop)
    }

    /// Deletes the manifest `digest` (and so every tag on it) from `repository`.
    pub(crate) async fn delete_manifest(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<(), RegistryError> {
        let response = self
            .http
            .delete(format!("{}/v2/{repository}/manifests/{digest}", self.base))
            .header(
                AUTHORIZATION,
                self.bearer(&Self::repository_access(&[repository]))?,
            )
            .send()
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        expect_ok(response, "manifest delete").map(drop)
    }

    /// Makes blob `digest` of `from` available in `to`: a cross-repository mount, or an upload
    /// of the bytes when the registry declines the mount.
    pub(crate) async fn mount_blob(
        &self,
        to: &str,
        from: &str,
        digest: &str,
    ) -> Result<(), RegistryError> {
        let authorization = self.bearer(&Self::repository_access(&[to, from]))?;
        let response = self
            .http
            .post(format!(
                "{}/v2/{to}/blobs/uploads/?mount={digest}&from={from}",
                self.base
            ))
            .header(AUTHORIZATION, &authorization)
            .send()
            .await?;
        if response.status() == StatusCode::CREATED {
            return Ok(());
        }
        let response = expect_ok(response, "blob mount")?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = self.blob(from, digest).await?;
        let target = upload_target(&self.base, &location, digest);
        let response = self
            .http
            .put(target)
            .header(AUTHORIZATION, &authorization)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await?;
        expect_ok(response, "blob upload").map(drop)
    }

    /// `true` when the registry answers `GET /v2/` (with its token challenge).
    pub(crate) async fn is_healthy(&self) -> bool {
        self.http
            .get(format!("{}/v2/", self.base))
            .send()
            .await
            .is_ok_and(|response| response.status() == StatusCode::UNAUTHORIZED)
    }
}

fn upload_target(base: &str, location: &str, digest: &str) -> String {
    let absolute = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    };
    let separator = if absolute.contains('?') { '&' } else { '?' };
    format!("{absolute}{separator}digest={digest}")
}

fn expect_ok(response: reqwest::Response, what: &str) -> Result<reqwest::Response, RegistryError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(RegistryError::Status {
            status: response.status(),
            what: what.to_owned(),
        })
    }
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// The default registry binary (the Debian `docker-registry` package).
pub(crate) fn default_binary() -> PathBuf {
    PathBuf::from("docker-registry")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_target_handles_relative_locations_and_existing_queries() {
        assert_eq!(
            upload_target("http://r", "/v2/a/blobs/uploads/1?_state=x", "sha256:0"),
            "http://r/v2/a/blobs/uploads/1?_state=x&digest=sha256:0"
        );
        assert_eq!(
            upload_target("http://r", "http://r/v2/a/blobs/uploads/1", "sha256:0"),
            "http://r/v2/a/blobs/uploads/1?digest=sha256:0"
        );
    }

    #[test]
    fn descriptors_cover_config_layers_and_children() {
        let manifest = StoredManifest {
            digest: "sha256:m".to_owned(),
            media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
            bytes: br#"{"config":{"digest":"sha256:c","size":2},"layers":[{"digest":"sha256:l","size":3}]}"#
                .to_vec(),
        };
        assert_eq!(
            manifest.descriptors(),
            [("sha256:c".to_owned(), 2), ("sha256:l".to_owned(), 3)]
        );
        assert!(!manifest.is_index());
    }
}
