//! Tokens that live 2 seconds: a ~300 MB push and copy between two token-auth registries and a
//! paced, paginated listing outlive many tokens and still finish, every byte and every name
//! accounted for. The token service of the test counts what it issued.
//!
//! Figures are printed; run with `--nocapture` to see them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{CopyEngine, CopyOptions, CopyRequest};
use wharf_oci_core::digest::Digest;
use wharf_oci_core::reference::Reference;
use wharf_testkit::fault_proxy::{FaultConfig, FaultProxy};
use wharf_testkit::image::{Blob, Compression, Flavor, Image, ImageBuilder};

use super::corpus;
use super::token_registry::TokenSetup;

/// Lifetime of every token in these tests.
const TOKEN_LIFETIME: Duration = Duration::from_secs(2);
/// Layers of the large image, and the random bytes in each (uncompressed, so the blobs are
/// this size plus the tar framing).
const LARGE_LAYERS: u64 = 3;
const LARGE_LAYER_BYTES: u64 = 100 * 1000 * 1000;
/// Repositories listed, page size, and the consumer's pause after each page.
const LISTED_REPOSITORIES: usize = 150;
const PAGE_SIZE: usize = 5;
const PAUSE_PER_PAGE: Duration = Duration::from_millis(200);
/// The byte rate of the proxy in front of the copy's source: 300 MB take at least 6 s, three
/// token lifetimes, however fast the machine is.
const COPY_SOURCE_BYTES_PER_SECOND: u64 = 50 * 1000 * 1000;

async fn build_large_image(dir: &std::path::Path) -> Image {
    let builder = (0..LARGE_LAYERS).fold(
        ImageBuilder::new(Flavor::Oci)
            .compression(Compression::None)
            .on_disk(dir),
        |builder, _| builder.layer(LARGE_LAYER_BYTES),
    );
    tokio::task::spawn_blocking(move || builder.build())
        .await
        .expect("generation task")
        .expect("large image")
}

/// Downloads `blob` from `repo` and checks its size and SHA-256 (the client verifies the
/// digest too; this recomputes it independently). Returns the bytes read.
async fn verify_blob(client: &RegistryClient, repo: &Reference, blob: &Blob) -> u64 {
    let mut stream = client
        .get_blob(repo, &blob.digest)
        .await
        .expect("blob download");
    let mut hasher = Sha256::new();
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("blob chunk");
        read += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let digest = Digest::parse(&format!("sha256:{}", hex::encode(hasher.finalize())))
        .expect("computed digest");
    assert_eq!(read, blob.size, "size of {}", blob.digest);
    assert_eq!(digest, blob.digest, "content of {}", blob.digest);
    read
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_300_mb_copy_outlives_many_two_second_tokens() {
    let setup = TokenSetup::start(TOKEN_LIFETIME).await;
    let source_registry = setup.registry("source").await;
    let destination_registry = setup.registry("destination").await;
    // The copy reads the source through a proxy that only paces it (no faults).
    let paced_source = FaultProxy::start(
        source_registry.host(),
        FaultConfig::new(0).bandwidth(COPY_SOURCE_BYTES_PER_SECOND),
    )
    .await
    .expect("pacing proxy");
    let paced_host = paced_source.host();
    let client = setup.client(&[
        source_registry.host(),
        destination_registry.host(),
        &paced_host,
    ]);
    let layers_dir = tempfile::tempdir().expect("layer folder");
    let started = Instant::now();
    let image = build_large_image(layers_dir.path()).await;
    let generation_time = started.elapsed();
    let image_bytes: u64 = image
        .layers
        .iter()
        .map(|layer| layer.blob.size)
        .sum::<u64>()
        + image.config.size
        + image.manifest.len() as u64;

    let source = corpus::reference(source_registry.host(), "big/app", "v1");
    let started = Instant::now();
    let pushed = image.push(&client, &source).await.expect("push");
    assert_eq!(pushed, image.digest);
    let push_time = started.elapsed();
    let tokens_after_push = setup.tokens_issued();

    let paced = corpus::reference(&paced_host, "big/app", "v1");
    let destination = corpus::reference(destination_registry.host(), "mirror/app", "v1");
    let engine = CopyEngine::new(client.clone(), CopyOptions::default());
    let per_scope_before_copy = setup.tokens_issued_per_scope();
    let started = Instant::now();
    let report = engine
        .copy(&[CopyRequest::new(paced, [destination.clone()])])
        .await;
    let copy_time = started.elapsed();
    assert!(report.succeeded(), "{report:?}");
    let tokens_during_copy = setup.tokens_issued() - tokens_after_push;
    let renewed_during_copy =
        renewals_since(&per_scope_before_copy, &setup.tokens_issued_per_scope());
    assert!(
        copy_time > 2 * TOKEN_LIFETIME,
        "the paced copy took only {copy_time:?}"
    );

    let started = Instant::now();
    let raw = client
        .get_manifest_raw(&destination)
        .await
        .expect("destination manifest");
    assert_eq!(raw.bytes, image.manifest, "manifest bytes");
    let mut verified =
        raw.bytes.len() as u64 + verify_blob(&client, &destination, &image.config).await;
    for layer in &image.layers {
        verified += verify_blob(&client, &destination, &layer.blob).await;
    }
    let verify_time = started.elapsed();
    assert_eq!(verified, image_bytes);

    let per_scope = setup.tokens_issued_per_scope();
    let most_renewed = per_scope.values().copied().max().unwrap_or(0);
    println!(
        "expiring tokens ({TOKEN_LIFETIME:?}): {image_bytes} bytes generated on disk in \
         {generation_time:.1?}, pushed in {push_time:.1?} \
         ({tokens_after_push} tokens), copied registry to registry in {copy_time:.1?} \
         ({tokens_during_copy} tokens, renewed during the copy for {renewed_during_copy:?}, {} bytes \
         reported; source paced at {COPY_SOURCE_BYTES_PER_SECOND} B/s), verified in {verify_time:.1?}; \
         {} tokens issued in all for {} scope sets, at most {most_renewed} for one",
        report.bytes_copied(),
        setup.tokens_issued(),
        per_scope.len(),
    );
    // A client that never renewed would ask once per scope set.
    assert!(
        most_renewed > 1,
        "no token was renewed over a run far longer than {TOKEN_LIFETIME:?}: {per_scope:?}"
    );
    // The requests that follow the long transfers (the manifest, the tag) needed new tokens.
    assert!(
        !renewed_during_copy.is_empty(),
        "no token was renewed during a {copy_time:?} copy: {per_scope:?}"
    );
}

/// The scope sets that got more than one token between the two counts.
fn renewals_since(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(scope, count)| **count > before.get(*scope).copied().unwrap_or(0) + 1)
        .map(|(scope, _)| scope.clone())
        .collect()
}

/// Pushes one small image under `count` repositories `listed/NNN` and returns their names.
async fn fill_catalog(client: &RegistryClient, registry: &str, count: usize) -> BTreeSet<String> {
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(1024)
        .build()
        .expect("small image");
    let names: BTreeSet<String> = (0..count)
        .map(|index| format!("listed/{index:03}"))
        .collect();
    futures::stream::iter(&names)
        .for_each_concurrent(4, |name| {
            let reference = corpus::reference(registry, name, "v1");
            let image = &image;
            async move {
                image.push(client, &reference).await.expect("push");
            }
        })
        .await;
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_paginated_listing_outlives_two_second_tokens() {
    let setup = TokenSetup::start(TOKEN_LIFETIME).await;
    let registry = setup.registry("listing").await;
    let client = setup.client(&[registry.host()]);
    let expected = fill_catalog(&client, registry.host(), LISTED_REPOSITORIES).await;

    // distribution 2.8 ignores `n` on `tags/list` (one page, whatever is asked), so the
    // paginated listing is the catalog, which it pages with `n`/`last` and `Link`.
    let tokens_before = setup.tokens_issued();
    let started = Instant::now();
    let mut listed = Vec::new();
    let mut pages = 0usize;
    let mut stream = client.catalog(registry.host(), Some(PAGE_SIZE));
    while let Some(name) = stream.next().await {
        listed.push(name.expect("catalog page"));
        if listed.len() % PAGE_SIZE == 0 {
            pages += 1;
            tokio::time::sleep(PAUSE_PER_PAGE).await;
        }
    }
    let listing_time = started.elapsed();
    let tokens_during_listing = setup.tokens_issued() - tokens_before;
    let catalog_tokens = setup
        .tokens_issued_per_scope()
        .get("registry:catalog:*")
        .copied()
        .unwrap_or(0);

    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "a name arrived twice");
    assert_eq!(unique, expected, "every repository arrives");
    println!(
        "expiring tokens ({TOKEN_LIFETIME:?}): {} repositories listed in {pages} pages of \
         {PAGE_SIZE} over {listing_time:.1?} ({tokens_during_listing} tokens during the listing, \
         {catalog_tokens} for the catalog scope)",
        listed.len()
    );
    // The pauses alone make the listing last 30 × 200 ms, three token lifetimes.
    assert!(
        catalog_tokens > 1,
        "the listing used {catalog_tokens} catalog token(s): it did not outlive one"
    );
}

#[tokio::test]
async fn the_registry_refuses_a_token_once_its_lifetime_is_over() {
    let setup = TokenSetup::start(TOKEN_LIFETIME).await;
    let registry = setup.registry("strict").await;
    let token = setup.fetch_token("registry:catalog:*").await;
    let catalog = format!("http://{}/v2/_catalog", registry.host());
    let http = reqwest::Client::new();
    let status = || async {
        http.get(&catalog)
            .bearer_auth(&token)
            .send()
            .await
            .expect("catalog request")
            .status()
    };

    assert_eq!(status().await, reqwest::StatusCode::OK, "a fresh token");
    tokio::time::sleep(TOKEN_LIFETIME + Duration::from_secs(1)).await;
    assert_eq!(
        status().await,
        reqwest::StatusCode::UNAUTHORIZED,
        "the registry still takes a token past its lifetime: the tests above would prove nothing"
    );
}
