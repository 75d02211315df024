//! Local images: OCI image layouts (directories or tar archives) and `docker save` archives.
//!
//! Both are read into a [`LocalImage`]: manifests in push order and the files of their blobs,
//! so the `push` binary can stream each blob from disk without holding it in memory.

use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use serde::Deserialize;
use wharf_oci_core::digest::{Algorithm, Digest, Hasher};
use wharf_oci_core::manifest::{Manifest, ManifestKind};
use wharf_oci_core::media_type;
use wharf_oci_core::reference::Reference;

/// Docker's media type for an uncompressed layer tar, as `docker save` stores layers.
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// The annotation that names an image inside an OCI layout.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// A blob on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBlob {
    /// Its digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// The file holding it.
    pub path: PathBuf,
}

/// A manifest ready to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalManifest {
    /// Media type.
    pub media_type: String,
    /// Digest of [`bytes`](Self::bytes).
    pub digest: Digest,
    /// The exact bytes.
    pub bytes: Bytes,
}

/// One image (or index) of a layout with everything it references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// Manifests in push order: children first, the image or index last.
    pub manifests: Vec<LocalManifest>,
    /// Every distinct blob the manifests reference.
    pub blobs: Vec<LocalBlob>,
}

impl LocalImage {
    /// The digest of the image or index itself.
    pub fn digest(&self) -> &Digest {
        &self
            .manifests
            .last()
            .expect("an image has a manifest")
            .digest
    }
}

/// Reads an image from an OCI layout directory, or from a tar archive holding an OCI layout
/// or a `docker save` output (unpacked into `scratch`). `name` picks an image by its
/// `org.opencontainers.image.ref.name` (or `RepoTags` entry); without it the source must hold
/// exactly one image.
pub fn load(source: &Path, name: Option<&str>, scratch: &Path) -> anyhow::Result<LocalImage> {
    let dir = if source.is_dir() {
        source.to_path_buf()
    } else {
        unpack(source, scratch)?;
        scratch.to_path_buf()
    };
    if dir.join("index.json").exists() {
        load_layout(&dir, name)
    } else if dir.join("manifest.json").exists() {
        load_docker_save(&dir, name)
    } else {
        bail!(
            "{} is neither an OCI layout nor a docker save archive",
            source.display()
        )
    }
}

fn unpack(archive: &Path, into: &Path) -> anyhow::Result<()> {
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    tar::Archive::new(BufReader::new(file))
        .unpack(into)
        .with_context(|| format!("cannot unpack {}", archive.display()))
}

#[derive(Deserialize)]
struct LayoutIndex {
    manifests: Vec<wharf_oci_core::manifest::Descriptor>,
}

fn load_layout(dir: &Path, name: Option<&str>) -> anyhow::Result<LocalImage> {
    let index: LayoutIndex = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)
        .context("invalid index.json")?;
    let chosen = match name {
        Some(name) => index
            .manifests
            .iter()
            .find(|d| d.annotations.get(REF_NAME_ANNOTATION).map(String::as_str) == Some(name))
            .with_context(|| format!("no image named `{name}` in the layout"))?,
        None if index.manifests.len() == 1 => &index.manifests[0],
        None => bail!(
            "the layout holds {} images: pick one by name",
            index.manifests.len()
        ),
    };
    let mut image = LocalImage {
        manifests: Vec::new(),
        blobs: Vec::new(),
    };
    add_manifest(dir, &chosen.media_type, &chosen.digest, 0, &mut image)?;
    Ok(image)
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm().as_str())
        .join(digest.hex())
}

/// Adds a manifest after its children, and its blobs.
fn add_manifest(
    dir: &Path,
    media_type: &str,
    digest: &Digest,
    depth: usize,
    image: &mut LocalImage,
) -> anyhow::Result<()> {
    if depth > 3 {
        bail!("indexes nest too deeply");
    }
    let bytes = Bytes::from(
        std::fs::read(blob_path(dir, digest))
            .with_context(|| format!("missing manifest {digest}"))?,
    );
    digest
        .verify(&bytes)
        .with_context(|| format!("manifest {digest} is corrupt"))?;
    let manifest = Manifest::from_bytes(Some(media_type), bytes.clone())?;
    match manifest.kind() {
        ManifestKind::Index(index) => {
            for child in &index.manifests {
                add_manifest(dir, &child.media_type, &child.digest, depth + 1, image)?;
            }
        }
        ManifestKind::Image(manifest) => {
            for descriptor in std::iter::once(&manifest.config).chain(&manifest.layers) {
                if media_type::is_non_distributable_layer(&descriptor.media_type)
                    || image.blobs.iter().any(|b| b.digest == descriptor.digest)
                {
                    continue;
                }
                let path = blob_path(dir, &descriptor.digest);
                if !path.exists() {
                    bail!("blob {} is missing from the layout", descriptor.digest);
                }
                image.blobs.push(LocalBlob {
                    digest: descriptor.digest.clone(),
                    size: descriptor.size,
                    path,
                });
            }
        }
        _ => bail!("manifest {digest} is of a kind this tool cannot push"),
    }
    let media_type = manifest.media_type().to_owned();
    image.manifests.push(LocalManifest {
        media_type,
        digest: digest.clone(),
        bytes,
    });
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SavedImage {
    config: String,
    #[serde(default)]
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

/// A legacy `docker save` archive: builds a Docker v2 schema 2 manifest over its files.
fn load_docker_save(dir: &Path, name: Option<&str>) -> anyhow::Result<LocalImage> {
    let saved: Vec<SavedImage> = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)
        .context("invalid manifest.json")?;
    let chosen = match name {
        Some(name) => saved
            .iter()
            .find(|s| {
                s.repo_tags
                    .iter()
                    .any(|tag| names_the_same_image(tag, name))
            })
            .with_context(|| format!("no image tagged `{name}` in the archive"))?,
        None if saved.len() == 1 => &saved[0],
        None => bail!("the archive holds {} images: pick one by tag", saved.len()),
    };
    let config = hash_file(&dir.join(&chosen.config))?;
    let layers = chosen
        .layers
        .iter()
        .map(|l| hash_file(&dir.join(l)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let descriptor = |media_type: &str, blob: &LocalBlob| serde_json::json!({ "mediaType": media_type, "digest": blob.digest.as_str(), "size": blob.size });
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST,
        "config": descriptor(media_type::DOCKER_CONFIG, &config),
        "layers": layers.iter().map(|l| descriptor(DOCKER_LAYER_TAR, l)).collect::<Vec<_>>(),
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest)?);
    let digest = Digest::sha256_of(&bytes);
    let mut blobs = vec![config];
    for layer in layers {
        if !blobs.iter().any(|b| b.digest == layer.digest) {
            blobs.push(layer);
        }
    }
    let manifest = LocalManifest {
        media_type: media_type::DOCKER_MANIFEST.to_owned(),
        digest,
        bytes,
    };
    Ok(LocalImage {
        manifests: vec![manifest],
        blobs,
    })
}

/// Whether two image names mean the same image: equal as written, or equal once normalised
/// (`docker save` writes `nginx:alpine`, skopeo writes `docker.io/library/nginx:alpine`).
fn names_the_same_image(written: &str, wanted: &str) -> bool {
    written == wanted
        || matches!(
            (Reference::parse(written), Reference::parse(wanted)),
            (Ok(written), Ok(wanted)) if written == wanted
        )
}

/// Digest and size of a file, read in 1 MiB steps.
fn hash_file(path: &Path) -> anyhow::Result<LocalBlob> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut buffer = vec![0_u8; 1 << 20];
    let mut size = 0_u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok(LocalBlob {
        digest: hasher.finish(),
        size,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_match_as_docker_and_skopeo_write_them() {
        assert!(names_the_same_image("nginx:alpine", "nginx:alpine"));
        assert!(names_the_same_image(
            "docker.io/library/nginx:alpine",
            "nginx:alpine"
        ));
        assert!(names_the_same_image(
            "docker.io/example/api:1.4",
            "example/api:1.4"
        ));
        assert!(names_the_same_image(
            "harbor.example.com/staging/api:1.4",
            "harbor.example.com/staging/api:1.4"
        ));
        assert!(!names_the_same_image("nginx:alpine", "nginx:latest"));
        assert!(!names_the_same_image(
            "harbor.example.com/api:1.4",
            "api:1.4"
        ));
    }
}
