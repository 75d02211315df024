//! Pushing built images, indexes and artifacts through the distribution client.

use anyhow::Context as _;
use tokio_util::io::ReaderStream;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::digest::Digest;
use wharf_oci_core::manifest::Descriptor;
use wharf_oci_core::reference::Reference;

use super::{Artifact, Blob, BlobData, Image, Index};

/// Uploads a blob unless the repository already has it: from memory with a restartable
/// upload, from a file as one streamed upload.
pub async fn push_blob(
    client: &RegistryClient,
    repo: &Reference,
    blob: &Blob,
) -> anyhow::Result<()> {
    if client.blob_exists(repo, &blob.digest).await?.is_some() {
        return Ok(());
    }
    match &blob.data {
        BlobData::Memory(bytes) => client.push_blob(repo, &blob.digest, bytes.clone()).await?,
        BlobData::File(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("open {}", path.display()))?;
            let stream = ReaderStream::with_capacity(file, 1 << 20);
            client
                .push_blob_stream(repo, &blob.digest, blob.size, stream)
                .await?;
        }
    }
    Ok(())
}

/// The reference to push a manifest to: `reference` itself when it has a tag, else by digest.
fn target(reference: &Reference, digest: &Digest) -> Reference {
    if reference.tag().is_some() {
        reference.clone()
    } else {
        reference.repository_reference().with_digest(digest.clone())
    }
}

impl Image {
    /// Pushes config, layers and manifest; the manifest goes under the reference's tag (or by
    /// digest without one). Returns the manifest digest.
    pub async fn push(
        &self,
        client: &RegistryClient,
        reference: &Reference,
    ) -> anyhow::Result<Digest> {
        push_blob(client, reference, &self.config).await?;
        for layer in &self.layers {
            push_blob(client, reference, &layer.blob).await?;
        }
        let pushed = client
            .put_manifest_raw(
                &target(reference, &self.digest),
                self.media_type(),
                self.manifest.clone(),
            )
            .await?;
        anyhow::ensure!(
            pushed.digest == self.digest,
            "registry computed another manifest digest"
        );
        Ok(pushed.digest)
    }
}

impl Index {
    /// Pushes every child image by digest, then the index under the reference's tag (or by
    /// digest). Returns the index digest.
    pub async fn push(
        &self,
        client: &RegistryClient,
        reference: &Reference,
    ) -> anyhow::Result<Digest> {
        let repo = reference.repository_reference();
        for image in &self.images {
            image.push(client, &repo).await?;
        }
        let pushed = client
            .put_manifest_raw(
                &target(reference, &self.digest),
                self.media_type(),
                self.bytes.clone(),
            )
            .await?;
        Ok(pushed.digest)
    }
}

impl Artifact {
    /// Pushes the artifact by digest into `repo`; when the registry does not index the
    /// `subject` itself (no `OCI-Subject` answer), adds the artifact to the `sha256-<hex>`
    /// referrers tag of its subject. Returns the artifact digest.
    pub async fn push(&self, client: &RegistryClient, repo: &Reference) -> anyhow::Result<Digest> {
        let repo = repo.repository_reference();
        push_blob(client, &repo, &self.config).await?;
        push_blob(client, &repo, &self.layer).await?;
        let pushed = client
            .put_manifest_raw(
                &repo.with_digest(self.digest.clone()),
                super::Flavor::Oci.manifest_type(),
                self.manifest.clone(),
            )
            .await?;
        if !pushed.subject_acknowledged {
            let descriptor: Descriptor = serde_json::from_value(self.descriptor())?;
            client
                .add_to_referrers_tag(&repo, &self.subject, &descriptor)
                .await?;
        }
        Ok(pushed.digest)
    }
}
