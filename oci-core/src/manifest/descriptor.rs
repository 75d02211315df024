//! Descriptors and the image manifest and index models.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::media_type;
use crate::platform::Platform;

/// Annotations in their original order.
pub type Annotations = IndexMap<String, String>;

/// Fields a model does not know, kept in their original order.
pub type ExtraFields = serde_json::Map<String, serde_json::Value>;

/// The digest of the OCI empty descriptor's content `{}`.
const EMPTY_JSON: &[u8] = b"{}";

/// A reference to content by media type, digest and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The content's media type.
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// The content's size in bytes.
    pub size: u64,
    /// Other places the content can be fetched from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: Annotations,
    /// The platform of an index entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type of the referenced manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The content itself, base64-encoded, for small blobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Fields this crate does not model, kept as they were.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl Descriptor {
    /// A descriptor with only media type, digest and size.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest,
            size,
            urls: Vec::new(),
            annotations: Annotations::new(),
            platform: None,
            artifact_type: None,
            data: None,
            extra: ExtraFields::new(),
        }
    }

    /// A descriptor of `content` (sha256 digest and length).
    pub fn for_content(media_type: &str, content: &[u8]) -> Self {
        Self::new(media_type, Digest::sha256_of(content), content.len() as u64)
    }

    /// The OCI empty descriptor (`{}` as `application/vnd.oci.empty.v1+json`), the config of
    /// artifacts that have none.
    pub fn empty() -> Self {
        Self {
            data: Some("e30=".to_owned()),
            ..Self::for_content(media_type::OCI_EMPTY, EMPTY_JSON)
        }
    }

    /// The bytes of the empty descriptor's content.
    pub fn empty_content() -> &'static [u8] {
        EMPTY_JSON
    }

    /// This descriptor with `platform` set.
    #[must_use]
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// This descriptor with an annotation added (or replaced).
    #[must_use]
    pub fn with_annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    /// This descriptor with `artifact_type` set.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: &str) -> Self {
        self.artifact_type = Some(artifact_type.to_owned());
        self
    }
}

/// An image manifest (OCI image manifest or Docker schema 2 manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type; optional in OCI, required by Docker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The configuration blob.
    pub config: Descriptor,
    /// The layer blobs, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, SBOMs, attestations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: Annotations,
    /// Fields this crate does not model, kept as they were.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ImageManifest {
    /// A new OCI image manifest of `config` and `layers`.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: Annotations::new(),
            extra: ExtraFields::new(),
        }
    }

    /// A new Docker schema 2 manifest of `config` and `layers`.
    pub fn docker(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Self {
            media_type: Some(media_type::DOCKER_MANIFEST.to_owned()),
            ..Self::new(config, layers)
        }
    }

    /// A new OCI artifact manifest: `artifact_type`, the empty config, and `blobs` as layers.
    pub fn artifact(artifact_type: &str, blobs: Vec<Descriptor>) -> Self {
        Self {
            artifact_type: Some(artifact_type.to_owned()),
            ..Self::new(Descriptor::empty(), blobs)
        }
    }

    /// This manifest with `subject` set.
    #[must_use]
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// This manifest with an annotation added (or replaced).
    #[must_use]
    pub fn with_annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// An index (OCI image index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type; optional in OCI, required by Docker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The child manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: Annotations,
    /// Fields this crate does not model, kept as they were.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl ImageIndex {
    /// A new OCI image index of `manifests`.
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.to_owned()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: Annotations::new(),
            extra: ExtraFields::new(),
        }
    }

    /// A new Docker manifest list of `manifests`.
    pub fn docker(manifests: Vec<Descriptor>) -> Self {
        Self {
            media_type: Some(media_type::DOCKER_MANIFEST_LIST.to_owned()),
            ..Self::new(manifests)
        }
    }

    /// This index with `subject` set.
    #[must_use]
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// This index with an annotation added (or replaced).
    #[must_use]
    pub fn with_annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The entry for `wanted`: one naming the same variant if there is one, otherwise the
    /// first entry that matches.
    pub fn find_platform(&self, wanted: &Platform) -> Option<&Descriptor> {
        let matching = |exact: bool| {
            self.manifests.iter().find(|entry| {
                entry.platform.as_ref().is_some_and(|platform| {
                    if exact {
                        wanted.matches_exactly(platform)
                    } else {
                        wanted.matches(platform)
                    }
                })
            })
        };
        matching(true).or_else(|| matching(false))
    }
}
