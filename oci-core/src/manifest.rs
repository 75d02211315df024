//! Manifests and indexes that keep the exact bytes they were parsed from.
//!
//! A copy must push the bytes it pulled, or the digest changes; [`Manifest`] therefore holds
//! the original [`Bytes`] next to the parsed model, and its [`digest`](Manifest::digest) is the
//! digest of those bytes. New manifests are built from [`ImageManifest`] and [`ImageIndex`]
//! and serialised once with [`ImageManifest::to_manifest`] / [`ImageIndex::to_manifest`].
//!
//! ```
//! use wharf_oci_core::manifest::{Descriptor, ImageIndex, ImageManifest, Manifest, ManifestKind};
//! use wharf_oci_core::media_type;
//!
//! let config = Descriptor::for_content(media_type::OCI_CONFIG, b"{}");
//! let layer = Descriptor::for_content(media_type::OCI_LAYER_GZIP, b"layer bytes");
//! let built = ImageManifest::new(config, vec![layer]).to_manifest().unwrap();
//!
//! let pulled = Manifest::from_bytes(Some(media_type::OCI_MANIFEST), built.raw().clone()).unwrap();
//! assert_eq!(pulled.digest(), built.digest());
//! assert!(matches!(pulled.kind(), ManifestKind::Image(_)));
//! assert_eq!(pulled.referenced_blobs().len(), 2);
//! ```

mod descriptor;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::digest::{Digest, DigestError};
use crate::media_type;

pub use descriptor::{Annotations, Descriptor, ExtraFields, ImageIndex, ImageManifest};

/// The largest manifest this crate reads or writes: 4 MiB, the limit most registries apply.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Why manifest bytes could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest is larger than [`MAX_MANIFEST_BYTES`].
    #[error("manifest of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The manifest's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not JSON of the expected shape.
    #[error("manifest is not valid json")]
    InvalidJson {
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest is a Docker schema 1 manifest.
    #[error(
        "docker schema 1 manifests are not supported; the image must be pushed again by a client from after 2017"
    )]
    DockerSchema1,
    /// The media type is neither an image manifest nor an index this crate understands.
    #[error("unsupported manifest media type `{media_type}`")]
    UnsupportedMediaType {
        /// The media type found in the body or the `Content-Type` header.
        media_type: String,
    },
    /// Neither a media type nor the fields tell whether this is a manifest or an index.
    #[error("cannot tell whether the content is an image manifest or an index")]
    UnknownKind,
    /// A platform string is not `os/architecture[/variant]`.
    #[error("invalid platform `{input}`")]
    InvalidPlatform {
        /// The rejected input.
        input: String,
    },
}

/// What a parsed manifest is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per manifest; boxing would only complicate matching"
)]
pub enum ManifestKind {
    /// An image manifest (OCI or Docker schema 2), including artifacts.
    Image(ImageManifest),
    /// An index (OCI image index or Docker manifest list).
    Index(ImageIndex),
}

/// A parsed manifest together with the exact bytes it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    raw: Bytes,
    digest: Digest,
    media_type: String,
    kind: ManifestKind,
}

/// Just enough of a manifest to decide how to parse it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u64>,
    media_type: Option<String>,
    manifests: Option<IgnoredAny>,
    config: Option<IgnoredAny>,
    fs_layers: Option<IgnoredAny>,
}

impl Manifest {
    /// Parses manifest bytes, keeping them unchanged.
    ///
    /// The kind is taken from the body's `mediaType`, else from `content_type` (the response's
    /// `Content-Type`), else from the fields present (`manifests` means an index, `config` an
    /// image manifest). Docker schema 1 is rejected, as is anything over
    /// [`MAX_MANIFEST_BYTES`].
    pub fn from_bytes(content_type: Option<&str>, raw: Bytes) -> Result<Self, ManifestError> {
        if raw.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                size: raw.len(),
                limit: MAX_MANIFEST_BYTES,
            });
        }

        let probe: Probe =
            serde_json::from_slice(&raw).map_err(|source| ManifestError::InvalidJson { source })?;
        let media_type = decide_media_type(&probe, content_type)?;

        let kind = if media_type::is_index(&media_type) {
            ManifestKind::Index(parse_json(&raw)?)
        } else {
            ManifestKind::Image(parse_json(&raw)?)
        };

        Ok(Self {
            digest: Digest::sha256_of(&raw),
            raw,
            media_type,
            kind,
        })
    }

    /// [`from_bytes`](Self::from_bytes) over a borrowed slice (copied); a convenient entry
    /// point for fuzzing.
    pub fn from_slice(content_type: Option<&str>, bytes: &[u8]) -> Result<Self, ManifestError> {
        Self::from_bytes(content_type, Bytes::copy_from_slice(bytes))
    }

    /// The exact bytes, to push or store unchanged.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The sha256 digest of [`raw`](Self::raw).
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Checks the bytes against `expected`, whatever its algorithm.
    pub fn verify(&self, expected: &Digest) -> Result<(), DigestError> {
        expected.verify(&self.raw)
    }

    /// The manifest's media type (from the body, the header or the fields), without
    /// parameters; send it as `Content-Type` when pushing.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The parsed model.
    pub fn kind(&self) -> &ManifestKind {
        &self.kind
    }

    /// A descriptor of this manifest (media type, digest, size), for an index entry or a
    /// `subject`.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(&self.media_type, self.digest.clone(), self.raw.len() as u64)
    }

    /// The blobs an image manifest references: config first, then layers. Empty for an index.
    pub fn referenced_blobs(&self) -> Vec<&Descriptor> {
        match &self.kind {
            ManifestKind::Image(image) => std::iter::once(&image.config)
                .chain(&image.layers)
                .collect(),
            ManifestKind::Index(_) => Vec::new(),
        }
    }

    /// The manifests an index references. Empty for an image manifest.
    pub fn children(&self) -> &[Descriptor] {
        match &self.kind {
            ManifestKind::Image(_) => &[],
            ManifestKind::Index(index) => &index.manifests,
        }
    }

    /// The manifest this one refers to, if any.
    pub fn subject(&self) -> Option<&Descriptor> {
        match &self.kind {
            ManifestKind::Image(image) => image.subject.as_ref(),
            ManifestKind::Index(index) => index.subject.as_ref(),
        }
    }

    /// The artifact type: `artifactType`, else the config's media type for an image manifest
    /// whose config is not a plain image config.
    pub fn artifact_type(&self) -> Option<&str> {
        match &self.kind {
            ManifestKind::Image(image) => image.artifact_type.as_deref().or_else(|| {
                let config = image.config.media_type.as_str();
                let plain = [media_type::OCI_CONFIG, media_type::DOCKER_CONFIG];
                (!plain.contains(&config)).then_some(config)
            }),
            ManifestKind::Index(index) => index.artifact_type.as_deref(),
        }
    }
}

fn decide_media_type(probe: &Probe, content_type: Option<&str>) -> Result<String, ManifestError> {
    let header = content_type
        .map(media_type::essence)
        .filter(|t| !t.is_empty());

    let schema1 = probe.schema_version == Some(1)
        || probe.fs_layers.is_some()
        || probe
            .media_type
            .as_deref()
            .is_some_and(media_type::is_docker_schema1)
        || (probe.media_type.is_none() && header.is_some_and(media_type::is_docker_schema1));
    if schema1 {
        return Err(ManifestError::DockerSchema1);
    }

    let declared = probe
        .media_type
        .as_deref()
        .map(media_type::essence)
        .or(header.filter(|t| is_manifest_type(t)));
    if let Some(declared) = declared {
        if is_manifest_type(declared) {
            return Ok(declared.to_owned());
        }
        return Err(ManifestError::UnsupportedMediaType {
            media_type: declared.to_owned(),
        });
    }

    match (probe.manifests.is_some(), probe.config.is_some()) {
        (true, false) => Ok(media_type::OCI_INDEX.to_owned()),
        (false, true) => Ok(media_type::OCI_MANIFEST.to_owned()),
        _ => Err(ManifestError::UnknownKind),
    }
}

fn is_manifest_type(media_type: &str) -> bool {
    media_type::is_image_manifest(media_type) || media_type::is_index(media_type)
}

fn parse_json<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, ManifestError> {
    serde_json::from_slice(raw).map_err(|source| ManifestError::InvalidJson { source })
}

fn serialise(model: &impl serde::Serialize) -> Result<Bytes, ManifestError> {
    serde_json::to_vec(model)
        .map(Bytes::from)
        .map_err(|source| ManifestError::InvalidJson { source })
}

impl ImageManifest {
    /// Serialises this manifest once and parses it back, giving the bytes to push and their
    /// digest.
    pub fn to_manifest(&self) -> Result<Manifest, ManifestError> {
        Manifest::from_bytes(self.media_type.as_deref(), serialise(self)?)
    }
}

impl ImageIndex {
    /// Serialises this index once and parses it back, giving the bytes to push and their
    /// digest.
    pub fn to_manifest(&self) -> Result<Manifest, ManifestError> {
        Manifest::from_bytes(self.media_type.as_deref(), serialise(self)?)
    }
}

#[cfg(test)]
mod tests;
