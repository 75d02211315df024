//! Finding out what a copy request involves: digests, manifests in push order, blobs.

use super::plan::{BlobNeed, RepoKey};
use super::{CopyOptions, CopyRequest};
use crate::client::{RawManifest, RegistryClient};
use crate::digest::Digest;
use crate::error::Error;
use crate::manifest::{Descriptor, Manifest, ManifestKind};
use crate::reference::Reference;

/// How deep indexes may nest (an index of indexes is legal but rare).
const MAX_INDEX_DEPTH: usize = 3;

/// A destination of one request and whether it already holds the source digest.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    pub(crate) reference: Reference,
    pub(crate) up_to_date: bool,
}

/// A manifest that refers to the copied image through its `subject` (a signature, an SBOM).
#[derive(Debug, Clone)]
pub(crate) struct Referrer {
    pub(crate) subject: Digest,
    pub(crate) descriptor: Descriptor,
    /// The referrer's manifests in push order.
    pub(crate) manifests: Vec<RawManifest>,
    /// Its blobs (a signature's payload, an SBOM document).
    pub(crate) blobs: Vec<BlobNeed>,
}

/// Everything the engine needs to copy one request.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedImage {
    /// The digest that the destination tags will point at.
    pub(crate) digest: Digest,
    pub(crate) destinations: Vec<Destination>,
    /// Manifests in push order: children before their index. Empty when every destination
    /// is up to date.
    pub(crate) manifests: Vec<RawManifest>,
    pub(crate) referrers: Vec<Referrer>,
    /// Distributable blobs of all manifests above, without duplicates.
    pub(crate) blobs: Vec<BlobNeed>,
}

impl ResolvedImage {
    /// True when every destination already points at the digest.
    pub(crate) fn is_up_to_date(&self) -> bool {
        self.destinations.iter().all(|d| d.up_to_date)
    }
}

/// Resolves one request: one `HEAD` on the source and one per destination when everything is
/// already in place; the whole manifest tree otherwise.
pub(crate) async fn resolve(
    client: &RegistryClient,
    request: &CopyRequest,
    options: &CopyOptions,
) -> Result<ResolvedImage, Error> {
    let (digest, selected) = source_digest(client, &request.source, options).await?;
    let source = request.source.with_digest(digest.clone());
    let destinations = check_destinations(client, &request.destinations, &digest).await?;
    let mut resolved = ResolvedImage {
        digest: digest.clone(),
        destinations,
        manifests: Vec::new(),
        referrers: Vec::new(),
        blobs: Vec::new(),
    };
    if resolved.destinations.iter().any(|d| !d.up_to_date) {
        let top = match selected {
            Some(raw) => raw,
            None => client.get_manifest_raw(&source).await?,
        };
        collect_tree(client, &source, top, 0, &mut resolved).await?;
    }
    if options.referrers {
        resolved.referrers = resolve_referrers(client, &source, &digest).await?;
    }
    Ok(resolved)
}

/// The digest to copy, and the manifest already fetched to find it (with a platform filter).
async fn source_digest(
    client: &RegistryClient,
    source: &Reference,
    options: &CopyOptions,
) -> Result<(Digest, Option<RawManifest>), Error> {
    if let Some(platform) = &options.platform {
        let raw = client.get_manifest_raw(source).await?;
        return select_platform(client, source, raw, platform)
            .await
            .map(|raw| (raw.digest.clone(), Some(raw)));
    }
    if let Some(digest) = source.digest() {
        return Ok((digest.clone(), None));
    }
    match client.head_manifest(source).await? {
        Some(head) if head.digest.is_some() => Ok((head.digest.expect("checked"), None)),
        Some(_) => {
            let raw = client.get_manifest_raw(source).await?;
            Ok((raw.digest.clone(), Some(raw)))
        }
        None => Err(Error::Unsupported {
            reason: format!("{source} does not exist"),
        }),
    }
}

/// With a platform filter, an index is replaced by its child for that platform; a single
/// image is kept whatever its platform (its config is not read).
async fn select_platform(
    client: &RegistryClient,
    source: &Reference,
    raw: RawManifest,
    platform: &crate::platform::Platform,
) -> Result<RawManifest, Error> {
    let manifest = Manifest::from_bytes(Some(&raw.media_type), raw.bytes.clone())?;
    let ManifestKind::Index(index) = manifest.kind() else {
        return Ok(raw);
    };
    let child = index
        .find_platform(platform)
        .ok_or_else(|| Error::Unsupported {
            reason: format!("{source} has no image for platform {platform}"),
        })?;
    client
        .get_manifest_raw(&source.with_digest(child.digest.clone()))
        .await
}

async fn check_destinations(
    client: &RegistryClient,
    destinations: &[Reference],
    digest: &Digest,
) -> Result<Vec<Destination>, Error> {
    let mut checked = Vec::with_capacity(destinations.len());
    for destination in destinations {
        let probe = match destination.tag() {
            Some(_) => destination.clone(),
            None => destination.with_digest(digest.clone()),
        };
        let head = client.head_manifest(&probe).await?;
        let up_to_date = head.and_then(|h| h.digest).as_ref() == Some(digest);
        checked.push(Destination {
            reference: destination.clone(),
            up_to_date,
        });
    }
    Ok(checked)
}

/// Fetches children before adding the parent, so `manifests` ends in push order.
async fn collect_tree(
    client: &RegistryClient,
    source: &Reference,
    raw: RawManifest,
    depth: usize,
    resolved: &mut ResolvedImage,
) -> Result<(), Error> {
    let manifest = Manifest::from_bytes(Some(&raw.media_type), raw.bytes.clone())?;
    match manifest.kind() {
        ManifestKind::Index(index) if depth < MAX_INDEX_DEPTH => {
            for child in &index.manifests {
                let child_raw = client
                    .get_manifest_raw(&source.with_digest(child.digest.clone()))
                    .await?;
                Box::pin(collect_tree(client, source, child_raw, depth + 1, resolved)).await?;
            }
        }
        ManifestKind::Index(_) => {
            return Err(Error::Unsupported {
                reason: format!("{source}: indexes nest too deeply"),
            });
        }
        ManifestKind::Image(_) => add_blobs(source, &manifest, &mut resolved.blobs),
    }
    resolved.manifests.push(raw);
    Ok(())
}

async fn resolve_referrers(
    client: &RegistryClient,
    source: &Reference,
    subject: &Digest,
) -> Result<Vec<Referrer>, Error> {
    let listed = client.referrers(source, subject, None).await?;
    let mut referrers = Vec::new();
    for descriptor in listed.descriptors {
        let raw = client
            .get_manifest_raw(&source.with_digest(descriptor.digest.clone()))
            .await?;
        let mut tree = ResolvedImage {
            digest: raw.digest.clone(),
            destinations: Vec::new(),
            manifests: Vec::new(),
            referrers: Vec::new(),
            blobs: Vec::new(),
        };
        collect_tree(client, source, raw, 1, &mut tree).await?;
        referrers.push(Referrer {
            subject: subject.clone(),
            descriptor,
            manifests: tree.manifests,
            blobs: tree.blobs,
        });
    }
    Ok(referrers)
}

/// Adds the config and layers of an image manifest, skipping non-distributable layers (they
/// live outside the registry, as `skopeo` and `crane` treat them by default).
fn add_blobs(source: &Reference, manifest: &Manifest, blobs: &mut Vec<BlobNeed>) {
    let ManifestKind::Image(image) = manifest.kind() else {
        return;
    };
    let origin = RepoKey::new(source.registry(), source.repository());
    for descriptor in std::iter::once(&image.config).chain(&image.layers) {
        if is_non_distributable(descriptor) || blobs.iter().any(|b| b.digest == descriptor.digest) {
            continue;
        }
        blobs.push(BlobNeed {
            digest: descriptor.digest.clone(),
            size: descriptor.size,
            source: origin.clone(),
        });
    }
}

fn is_non_distributable(descriptor: &Descriptor) -> bool {
    descriptor.media_type.contains("nondistributable") || descriptor.media_type.contains("foreign")
}
