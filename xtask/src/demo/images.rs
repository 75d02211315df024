//! Sample images for the demo: OCI layouts written by hand, pushed with skopeo into the
//! registry that stands in for the ECR registry host, and registered with moto's ECR API.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, ensure};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A manifest (or index) written into a layout: its bytes, digest and media type.
pub struct Written {
    /// The manifest bytes, as pushed.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// The manifest's media type.
    pub media_type: &'static str,
}

/// An OCI image layout folder being filled.
pub struct Layout {
    dir: PathBuf,
    manifests: Vec<Value>,
}

impl Layout {
    /// Creates an empty layout in `dir` (replacing an old one).
    pub fn create(dir: &Path) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir.join("blobs/sha256"))?;
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifests: Vec::new(),
        })
    }

    fn blob(&self, bytes: &[u8]) -> Result<String> {
        let hex = format!("{:x}", Sha256::digest(bytes));
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes)?;
        Ok(format!("sha256:{hex}"))
    }

    /// Writes a one-layer image for `arch` whose file says `text`.
    pub fn image(&self, arch: &str, text: &str) -> Result<Written> {
        let layer = one_file_tar("etc/wharf-demo.txt", text.as_bytes())?;
        let layer_digest = self.blob(&layer)?;
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["cat", "/etc/wharf-demo.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }))?;
        let config_digest = self.blob(&config)?;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer_digest,
                "size": layer.len(),
            }],
        }))?;
        let digest = self.blob(&manifest)?;
        Ok(Written {
            bytes: manifest,
            digest,
            media_type: OCI_MANIFEST,
        })
    }

    /// Writes an index over `images` (with their architectures) and returns it.
    pub fn index(&self, images: &[(&str, &Written)]) -> Result<Written> {
        let manifests: Vec<Value> = images
            .iter()
            .map(|(arch, image)| {
                json!({
                    "mediaType": image.media_type,
                    "digest": image.digest,
                    "size": image.bytes.len(),
                    "platform": {"architecture": arch, "os": "linux"},
                })
            })
            .collect();
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests,
        }))?;
        let digest = self.blob(&index)?;
        Ok(Written {
            bytes: index,
            digest,
            media_type: OCI_INDEX,
        })
    }

    /// Names `written` as `tag` in the layout's `index.json`.
    pub fn tag(&mut self, tag: &str, written: &Written) -> Result<()> {
        self.manifests.push(json!({
            "mediaType": written.media_type,
            "digest": written.digest,
            "size": written.bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        let index = json!({"schemaVersion": 2, "manifests": self.manifests});
        std::fs::write(self.dir.join("index.json"), serde_json::to_vec(&index)?)?;
        Ok(())
    }

    /// Pushes the layout's `tag` to `destination` (`host/repo:tag`, plain HTTP) with skopeo.
    pub fn push(&self, tag: &str, destination: &str) -> Result<()> {
        let output = Command::new("skopeo")
            .args(["copy", "--all", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", self.dir.display()))
            .arg(format!("docker://{destination}"))
            .output()
            .context("cannot run skopeo")?;
        ensure!(
            output.status.success(),
            "skopeo copy to {destination} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(())
    }
}

fn one_file_tar(path: &str, content: &[u8]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, path, content)?;
    Ok(builder.into_inner()?)
}

/// moto's ECR API, called with curl and a credential scope that routes the request (moto
/// checks no signature).
pub struct Moto<'a> {
    /// `http://127.0.0.1:port` of moto.
    pub url: &'a str,
    /// The AWS region of the fake registry.
    pub region: &'a str,
}

impl Moto<'_> {
    fn call(&self, action: &str, body: &Value) -> Result<Value> {
        let scope = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/ecr/aws4_request, \
             SignedHeaders=host, Signature=0",
            self.region
        );
        let output = Command::new("curl")
            .args(["-sS", "-X", "POST", "-w", "\n%{http_code}"])
            .args(["-H", "Content-Type: application/x-amz-json-1.1"])
            .arg("-H")
            .arg(format!(
                "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.{action}"
            ))
            .arg("-H")
            .arg(format!("Authorization: {scope}"))
            .arg("--data-binary")
            .arg(body.to_string())
            .arg(format!("{}/", self.url))
            .output()
            .context("cannot run curl")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let (reply, status) = text.rsplit_once('\n').unwrap_or((&text, ""));
        ensure!(
            output.status.success() && status == "200",
            "moto {action} answered {status}: {reply}"
        );
        Ok(serde_json::from_str(reply).unwrap_or(Value::Null))
    }

    /// Creates `repository` unless it exists.
    pub fn create_repository(&self, repository: &str) -> Result<()> {
        match self.call("CreateRepository", &json!({"repositoryName": repository})) {
            Err(error) if error.to_string().contains("RepositoryAlreadyExists") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Registers `written` as `repository:tag` (the bytes live in the stand-in registry).
    pub fn put_image(&self, repository: &str, tag: &str, written: &Written) -> Result<()> {
        let body = json!({
            "repositoryName": repository,
            "imageManifest": String::from_utf8_lossy(&written.bytes),
            "imageManifestMediaType": written.media_type,
            "imageTag": tag,
            "imageDigest": written.digest,
        });
        match self.call("PutImage", &body) {
            Err(error) if error.to_string().contains("ImageAlreadyExists") => Ok(()),
            other => other.map(drop),
        }
    }
}
