//! A small corpus shaped like the copy benchmark's: 13 repositories × 3 tags sharing two base
//! layers, one dependency layer per repository and one application layer per tag.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::digest::Digest;
use wharf_oci_core::reference::Reference;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::image::{Blob, Flavor, Image, ImageBuilder, Layer};

/// Repositories in the corpus.
pub const REPOSITORIES: usize = 13;
/// Tags per repository.
pub const TAGS: [&str; 3] = ["1.0", "1.1", "2.0"];

/// One image of the corpus and where it lives (repository path without registry).
pub struct CorpusImage {
    pub repository: String,
    pub tag: &'static str,
    pub image: Image,
}

impl CorpusImage {
    /// Every blob of the image: config then layers.
    pub fn blobs(&self) -> Vec<&Blob> {
        std::iter::once(&self.image.config)
            .chain(self.image.layers.iter().map(|layer| &layer.blob))
            .collect()
    }
}

/// A client allowing plain HTTP to `hosts`, with a short read timeout (so injected stalls
/// are noticed) and quick retries.
pub fn client(hosts: &[&str]) -> RegistryClient {
    let transport = TransportConfig::builder()
        .plain_http_hosts(hosts.iter().copied())
        .read_timeout(Duration::from_secs(1))
        .build()
        .expect("transport config");
    RegistryClient::builder()
        .transport(transport)
        .retry_policy(quick_retries())
        .build()
        .expect("registry client")
}

/// Retries fast enough for a test: 8 attempts, 20 ms doubling up to 300 ms.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(8)
        .base_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(300))
}

fn single_layer(seed: u64, size: u64) -> Layer {
    let image = ImageBuilder::new(Flavor::Oci)
        .seed(seed)
        .layer(size)
        .build()
        .expect("layer generation");
    image.layers.into_iter().next().expect("one layer")
}

/// Assembles an image from ready layers.
fn assemble(layers: Vec<Layer>, label: &str) -> Image {
    let flavor = Flavor::Oci;
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": { "Labels": { "corpus": label } },
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.as_str()).collect::<Vec<_>>(),
        },
    });
    let config = Blob::from_bytes(
        flavor.config_type(),
        serde_json::to_vec(&config).expect("config JSON"),
    );
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": flavor.manifest_type(),
        "config": config.descriptor(),
        "layers": layers.iter().map(|l| l.blob.descriptor()).collect::<Vec<_>>(),
    });
    let manifest = Bytes::from(serde_json::to_vec_pretty(&manifest).expect("manifest JSON"));
    let mut image = ImageBuilder::new(flavor).build().expect("empty image");
    image.digest = Digest::sha256_of(&manifest);
    image.manifest = manifest;
    image.config = config;
    image.layers = layers;
    image
}

/// Builds the 39 images under `prefix/app-NN`; `seed` makes the content unique per run.
pub fn build(prefix: &str, seed: u64) -> Vec<CorpusImage> {
    let base = [
        single_layer(seed, 96 * 1024),
        single_layer(seed + 1, 64 * 1024),
    ];
    let mut corpus = Vec::new();
    for repo in 0..REPOSITORIES as u64 {
        let dependency = single_layer(seed + 100 + repo, 48 * 1024);
        for (index, tag) in TAGS.iter().enumerate() {
            let app = single_layer(seed + 1000 + repo * 10 + index as u64, 24 * 1024);
            let layers = vec![base[0].clone(), base[1].clone(), dependency.clone(), app];
            corpus.push(CorpusImage {
                repository: format!("{prefix}/app-{repo:02}"),
                tag,
                image: assemble(layers, &format!("{repo}-{tag}")),
            });
        }
    }
    corpus
}

/// Pushes every image of the corpus to `registry` (no faults on this path).
pub async fn push(client: &RegistryClient, registry: &str, corpus: &[CorpusImage]) {
    for entry in corpus {
        let reference = reference(registry, &entry.repository, entry.tag);
        entry
            .image
            .push(client, &reference)
            .await
            .expect("push the source corpus");
    }
}

/// `registry/repository:tag` as a reference.
pub fn reference(registry: &str, repository: &str, tag: &str) -> Reference {
    Reference::parse(&format!("{registry}/{repository}:{tag}")).expect("valid reference")
}

/// The manifest bytes `skopeo inspect --raw` reads for a reference, `None` when it fails.
pub async fn skopeo_raw(registry: &str, repository: &str, tag: &str) -> Option<Vec<u8>> {
    let output = tokio::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{registry}/{repository}:{tag}"))
        .output()
        .await
        .expect("run skopeo");
    output.status.success().then_some(output.stdout)
}

/// What a verification found.
#[derive(Debug, Default)]
pub struct Verified {
    pub manifests: usize,
    pub blobs: usize,
    pub bytes: u64,
}

/// Checks that `repository:tag` on `registry` is byte-identical to `entry`: the manifest
/// through skopeo, every blob by downloading it and hashing the bytes.
pub async fn verify_image(
    client: &RegistryClient,
    registry: &str,
    repository: &str,
    entry: &CorpusImage,
) -> Result<Verified, String> {
    let raw = skopeo_raw(registry, repository, entry.tag)
        .await
        .ok_or_else(|| format!("{repository}:{}: skopeo found no manifest", entry.tag))?;
    if raw != entry.image.manifest {
        return Err(format!("{repository}:{}: manifest bytes differ", entry.tag));
    }
    let repo = reference(registry, repository, entry.tag);
    let mut verified = Verified {
        manifests: 1,
        ..Verified::default()
    };
    for blob in entry.blobs() {
        let bytes = download_unverified(client, &repo, &blob.digest).await?;
        let actual = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if actual != blob.digest.as_str() || bytes.len() as u64 != blob.size {
            return Err(format!("{repository}: blob {} differs", blob.digest));
        }
        verified.blobs += 1;
        verified.bytes += blob.size;
    }
    Ok(verified)
}

/// The blob's bytes as the registry sends them (hashed by the caller, not trusted).
async fn download_unverified(
    client: &RegistryClient,
    repo: &Reference,
    digest: &Digest,
) -> Result<Vec<u8>, String> {
    let mut stream = client
        .get_blob(repo, digest)
        .await
        .map_err(|error| format!("{repo}: blob {digest}: {error}"))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| format!("{repo}: blob {digest}: {error}"))?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
