//! Builds real OCI and Docker images (valid tar layers, config JSON, manifests, multi-arch
//! indexes, artifacts with a `subject`) and pushes them through
//! [`wharf_oci_core::client::RegistryClient`].
//!
//! Layers are generated from a seed, so the same spec gives the same digests; large layers are
//! written to a file (see [`ImageBuilder::on_disk`]) and streamed from it when pushed, never
//! held in memory.
//!
//! ```no_run
//! # async fn demo(client: wharf_oci_core::client::RegistryClient) -> Result<(), Box<dyn std::error::Error>> {
//! use wharf_testkit::image::{Flavor, ImageBuilder, IndexBuilder};
//!
//! let amd64 = ImageBuilder::new(Flavor::Oci).layer(1024).layer(4096).seed(1).build()?;
//! let arm64 = ImageBuilder::new(Flavor::Oci).platform("linux", "arm64", Some("v8")).layer(2048).build()?;
//! let index = IndexBuilder::new(Flavor::Oci).image(amd64).image(arm64).build();
//! let reference = "127.0.0.1:5000/demo/app:1.0".parse()?;
//! let digest = index.push(&client, &reference).await?;
//! println!("pushed {digest}");
//! # Ok(()) }
//! ```

mod layer;
mod push;

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::{Value, json};
use wharf_oci_core::digest::Digest;

pub use layer::{Blob, BlobData, Compression, Layer};

/// Which family of media types an image uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OCI image manifest, config and index.
    Oci,
    /// Docker image manifest v2 schema 2 and manifest list.
    Docker,
}

impl Flavor {
    /// The image manifest media type.
    pub fn manifest_type(self) -> &'static str {
        match self {
            Self::Oci => "application/vnd.oci.image.manifest.v1+json",
            Self::Docker => "application/vnd.docker.distribution.manifest.v2+json",
        }
    }

    /// The index (manifest list) media type.
    pub fn index_type(self) -> &'static str {
        match self {
            Self::Oci => "application/vnd.oci.image.index.v1+json",
            Self::Docker => "application/vnd.docker.distribution.manifest.list.v2+json",
        }
    }

    /// The image config media type.
    pub fn config_type(self) -> &'static str {
        match self {
            Self::Oci => "application/vnd.oci.image.config.v1+json",
            Self::Docker => "application/vnd.docker.container.image.v1+json",
        }
    }

    /// The layer media type for a compression.
    pub fn layer_type(self, compression: Compression) -> &'static str {
        match (self, compression) {
            (Self::Oci, Compression::None) => "application/vnd.oci.image.layer.v1.tar",
            (Self::Oci, Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
            (Self::Docker, Compression::None) => "application/vnd.docker.image.rootfs.diff.tar",
            (Self::Docker, Compression::Gzip) => {
                "application/vnd.docker.image.rootfs.diff.tar.gzip"
            }
        }
    }
}

/// The platform an image is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `v8` for arm64.
    pub variant: Option<String>,
}

impl Platform {
    fn to_json(&self) -> Value {
        let mut value = json!({ "os": self.os, "architecture": self.architecture });
        if let Some(variant) = &self.variant {
            value["variant"] = json!(variant);
        }
        value
    }
}

/// Builds one image: its layers, config and manifest.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    flavor: Flavor,
    platform: Platform,
    layer_sizes: Vec<u64>,
    compression: Compression,
    seed: u64,
    dir: Option<PathBuf>,
    labels: Vec<(String, String)>,
}

impl ImageBuilder {
    /// An image of `flavor` for linux/amd64 with no layers yet, gzip layers and a random seed.
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            platform: Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
            layer_sizes: Vec::new(),
            compression: Compression::Gzip,
            seed: rand::random(),
            dir: None,
            labels: Vec::new(),
        }
    }

    /// Adds a layer holding one file of `content_size` pseudo-random bytes.
    #[must_use]
    pub fn layer(mut self, content_size: u64) -> Self {
        self.layer_sizes.push(content_size);
        self
    }

    /// Seeds the content: the same seed and spec give the same digests. Default: random.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Layer compression. Default gzip.
    #[must_use]
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The platform. Default linux/amd64.
    #[must_use]
    pub fn platform(mut self, os: &str, architecture: &str, variant: Option<&str>) -> Self {
        self.platform = Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: variant.map(Into::into),
        };
        self
    }

    /// Writes layers to files in `dir` instead of memory (for large layers).
    #[must_use]
    pub fn on_disk(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Adds a config label (also makes otherwise equal images differ).
    #[must_use]
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Generates the layers and assembles config and manifest. Large layers take a while:
    /// call it from `spawn_blocking` in async code when they are big.
    pub fn build(self) -> std::io::Result<Image> {
        let layer_type = self.flavor.layer_type(self.compression);
        let layers = self
            .layer_sizes
            .iter()
            .enumerate()
            .map(|(index, size)| {
                let seed = self.seed.wrapping_add(index as u64);
                layer::generate(
                    *size,
                    seed,
                    self.compression,
                    layer_type,
                    self.dir.as_deref(),
                )
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let config = Blob::from_bytes(self.flavor.config_type(), self.config_json(&layers));
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": self.flavor.manifest_type(),
            "config": config.descriptor(),
            "layers": layers.iter().map(|l| l.blob.descriptor()).collect::<Vec<_>>(),
        });
        let manifest = Bytes::from(serde_json::to_vec_pretty(&manifest).expect("JSON serialises"));
        Ok(Image {
            flavor: self.flavor,
            platform: self.platform,
            digest: Digest::sha256_of(&manifest),
            manifest,
            config,
            layers,
        })
    }

    fn config_json(&self, layers: &[Layer]) -> Vec<u8> {
        let labels: serde_json::Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut config = self.platform.to_json();
        config["created"] = json!("2024-01-01T00:00:00Z");
        config["config"] = json!({ "Labels": labels, "Env": ["PATH=/usr/bin:/bin"] });
        config["rootfs"] = json!({
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.as_str()).collect::<Vec<_>>(),
        });
        config["history"] = json!(
            layers
                .iter()
                .map(|_| json!({"created_by": "wharf-testkit"}))
                .collect::<Vec<_>>()
        );
        serde_json::to_vec(&config).expect("JSON serialises")
    }
}

/// A built image: manifest bytes, config and layers.
#[derive(Debug, Clone)]
pub struct Image {
    /// The media type family.
    pub flavor: Flavor,
    /// The platform the config names.
    pub platform: Platform,
    /// The manifest bytes, pushed exactly as they are.
    pub manifest: Bytes,
    /// The digest of [`manifest`](Self::manifest).
    pub digest: Digest,
    /// The config blob.
    pub config: Blob,
    /// The layers, in order.
    pub layers: Vec<Layer>,
}

impl Image {
    /// The manifest's media type.
    pub fn media_type(&self) -> &'static str {
        self.flavor.manifest_type()
    }

    /// A descriptor of the manifest (with platform) for an index.
    pub fn descriptor(&self) -> Value {
        json!({
            "mediaType": self.media_type(),
            "digest": self.digest.as_str(),
            "size": self.manifest.len(),
            "platform": self.platform.to_json(),
        })
    }
}

/// Builds a multi-arch index (OCI index or Docker manifest list) over several images.
#[derive(Debug, Clone)]
pub struct IndexBuilder {
    flavor: Flavor,
    images: Vec<Image>,
}

impl IndexBuilder {
    /// An empty index of `flavor`.
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            images: Vec::new(),
        }
    }

    /// Adds a child image.
    #[must_use]
    pub fn image(mut self, image: Image) -> Self {
        self.images.push(image);
        self
    }

    /// Assembles the index.
    pub fn build(self) -> Index {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": self.flavor.index_type(),
            "manifests": self.images.iter().map(Image::descriptor).collect::<Vec<_>>(),
        });
        let bytes = Bytes::from(serde_json::to_vec_pretty(&index).expect("JSON serialises"));
        Index {
            flavor: self.flavor,
            digest: Digest::sha256_of(&bytes),
            bytes,
            images: self.images,
        }
    }
}

/// A built index and its child images.
#[derive(Debug, Clone)]
pub struct Index {
    /// The media type family.
    pub flavor: Flavor,
    /// The index bytes.
    pub bytes: Bytes,
    /// The digest of [`bytes`](Self::bytes).
    pub digest: Digest,
    /// The child images, in index order.
    pub images: Vec<Image>,
}

impl Index {
    /// The index media type.
    pub fn media_type(&self) -> &'static str {
        self.flavor.index_type()
    }
}

/// The empty config OCI artifacts use (`{}`).
pub const EMPTY_CONFIG_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// Builds an OCI artifact manifest that refers to a subject: a fake signature, SBOM or
/// attestation.
#[derive(Debug, Clone)]
pub struct ArtifactBuilder {
    artifact_type: String,
    subject: Value,
    payload: Bytes,
    payload_type: String,
    annotations: Vec<(String, String)>,
}

impl ArtifactBuilder {
    /// An artifact of `artifact_type` (e.g. `application/spdx+json`) whose `subject` is the
    /// manifest with `digest`, `size` and `media_type`.
    pub fn new(
        artifact_type: &str,
        subject_digest: &Digest,
        subject_size: u64,
        subject_type: &str,
    ) -> Self {
        Self {
            artifact_type: artifact_type.into(),
            subject: json!({ "mediaType": subject_type, "digest": subject_digest.as_str(), "size": subject_size }),
            payload: Bytes::from_static(b"{}"),
            payload_type: "application/json".into(),
            annotations: Vec::new(),
        }
    }

    /// An artifact whose subject is `image`.
    pub fn for_image(artifact_type: &str, image: &Image) -> Self {
        Self::new(
            artifact_type,
            &image.digest,
            image.manifest.len() as u64,
            image.media_type(),
        )
    }

    /// The single layer's content and media type. Default `{}` as `application/json`.
    #[must_use]
    pub fn payload(mut self, media_type: &str, bytes: impl Into<Bytes>) -> Self {
        self.payload_type = media_type.into();
        self.payload = bytes.into();
        self
    }

    /// Adds a manifest annotation.
    #[must_use]
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.push((key.into(), value.into()));
        self
    }

    /// Assembles the artifact manifest (an OCI image manifest with `artifactType`, the empty
    /// config and `subject`).
    pub fn build(self) -> Artifact {
        let config = Blob::from_bytes(EMPTY_CONFIG_TYPE, Bytes::from_static(b"{}"));
        let layer = Blob::from_bytes(&self.payload_type, self.payload);
        let annotations: serde_json::Map<String, Value> = self
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": Flavor::Oci.manifest_type(),
            "artifactType": self.artifact_type,
            "config": config.descriptor(),
            "layers": [layer.descriptor()],
            "subject": self.subject,
            "annotations": annotations,
        });
        let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("JSON serialises"));
        let subject = Digest::parse(self.subject["digest"].as_str().expect("subject digest"))
            .expect("valid digest");
        Artifact {
            artifact_type: self.artifact_type,
            digest: Digest::sha256_of(&bytes),
            manifest: bytes,
            subject,
            config,
            layer,
            annotations: self.annotations,
        }
    }
}

/// A built artifact manifest and its blobs.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The artifact type.
    pub artifact_type: String,
    /// The manifest bytes.
    pub manifest: Bytes,
    /// The manifest digest.
    pub digest: Digest,
    /// The subject's digest.
    pub subject: Digest,
    /// The empty config blob.
    pub config: Blob,
    /// The payload blob.
    pub layer: Blob,
    /// The manifest annotations.
    pub annotations: Vec<(String, String)>,
}

impl Artifact {
    /// The descriptor a referrers index lists for this artifact.
    pub fn descriptor(&self) -> Value {
        let annotations: serde_json::Map<String, Value> = self
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut descriptor = json!({
            "mediaType": Flavor::Oci.manifest_type(),
            "digest": self.digest.as_str(),
            "size": self.manifest.len(),
            "artifactType": self.artifact_type,
        });
        if !annotations.is_empty() {
            descriptor["annotations"] = Value::Object(annotations);
        }
        descriptor
    }
}
