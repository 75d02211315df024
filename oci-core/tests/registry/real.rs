//! Push, pull, mount, delete, listings and the referrers fallback against the real registries
//! of the local stack, each pushed image cross-checked with skopeo.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use wharf_oci_core::client::{MountOutcome, RegistryClient};
use wharf_oci_core::error::Error;
use wharf_testkit::image::{
    ArtifactBuilder, Compression, Flavor, Image, ImageBuilder, IndexBuilder,
};
use wharf_testkit::services::{self, RegistryEndpoint};

use super::support::{
    client_for, client_with, skopeo_inspect, skopeo_inspect_json, unique_reference,
};

/// Every check, in order, against one registry.
async fn exercise(endpoint: RegistryEndpoint) {
    let client = client_for(&endpoint);
    client.ping(&endpoint.host).await.expect("ping");

    let image = push_and_cross_check(&client, &endpoint, Flavor::Oci).await;
    push_and_cross_check(&client, &endpoint, Flavor::Docker).await;
    pull_back(&client, &endpoint, &image).await;
    multi_arch_index(&client, &endpoint).await;
    mount_between_repositories(&client, &endpoint).await;
    tags_and_catalog(&client, &endpoint).await;
    referrers_fallback(&client, &endpoint).await;
    delete(&client, &endpoint).await;
}

fn small_image(flavor: Flavor) -> Image {
    ImageBuilder::new(flavor)
        .layer(3000)
        .layer(70_000)
        .build()
        .expect("image")
}

async fn push_and_cross_check(
    client: &RegistryClient,
    endpoint: &RegistryEndpoint,
    flavor: Flavor,
) -> Image {
    let reference = unique_reference(endpoint, "push", "v1");
    let image = small_image(flavor);
    let digest = image.push(client, &reference).await.expect("push");
    assert_eq!(digest, image.digest);

    let raw = skopeo_inspect(endpoint, &reference, true);
    assert_eq!(
        raw,
        image.manifest.to_vec(),
        "skopeo sees the exact manifest bytes"
    );
    let inspected = skopeo_inspect_json(endpoint, &reference);
    assert_eq!(inspected["Digest"], image.digest.as_str());
    let layers: Vec<&str> = inspected["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = image
        .layers
        .iter()
        .map(|l| l.blob.digest.as_str())
        .collect();
    assert_eq!(layers, expected);
    assert_eq!(inspected["Architecture"], "amd64");
    image
}

async fn pull_back(client: &RegistryClient, endpoint: &RegistryEndpoint, image: &Image) {
    let reference = unique_reference(endpoint, "pull", "latest");
    image.push(client, &reference).await.expect("push");

    let raw = client
        .get_manifest_raw(&reference)
        .await
        .expect("get manifest");
    assert_eq!(raw.bytes, image.manifest);
    assert_eq!(raw.digest, image.digest);
    assert_eq!(raw.media_type, image.media_type());

    let by_digest = reference
        .repository_reference()
        .with_digest(image.digest.clone());
    let head = client
        .head_manifest(&by_digest)
        .await
        .expect("head")
        .expect("present");
    assert_eq!(head.digest.as_ref(), Some(&image.digest));
    let parsed = client
        .get_manifest(&by_digest)
        .await
        .expect("parse manifest");
    assert_eq!(parsed.digest(), &image.digest);

    for layer in &image.layers {
        let size = client
            .blob_exists(&reference, &layer.blob.digest)
            .await
            .expect("head blob");
        assert_eq!(size, Some(layer.blob.size));
        let stream = client
            .get_blob(&reference, &layer.blob.digest)
            .await
            .expect("get blob");
        let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("verified download");
        assert_eq!(chunks.concat(), layer.blob.read_all().unwrap().to_vec());
    }
    let missing = wharf_oci_core::digest::Digest::sha256_of(b"not pushed");
    assert_eq!(
        client
            .blob_exists(&reference, &missing)
            .await
            .expect("head"),
        None
    );
    let unknown_tag = reference.with_tag("absent").unwrap();
    assert_eq!(
        client.head_manifest(&unknown_tag).await.expect("head"),
        None
    );
    let error = client.get_manifest_raw(&unknown_tag).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
}

async fn multi_arch_index(client: &RegistryClient, endpoint: &RegistryEndpoint) {
    for flavor in [Flavor::Oci, Flavor::Docker] {
        let reference = unique_reference(endpoint, "multiarch", "v1");
        let index = IndexBuilder::new(flavor)
            .image(ImageBuilder::new(flavor).layer(1000).build().unwrap())
            .image(
                ImageBuilder::new(flavor)
                    .platform("linux", "arm64", Some("v8"))
                    .layer(1000)
                    .build()
                    .unwrap(),
            )
            .build();
        let digest = index.push(client, &reference).await.expect("push index");
        assert_eq!(digest, index.digest);
        assert_eq!(
            skopeo_inspect(endpoint, &reference, true),
            index.bytes.to_vec()
        );
        let raw = client
            .get_manifest_raw(&reference)
            .await
            .expect("get index");
        assert_eq!(raw.media_type, index.media_type());
        assert_eq!(raw.bytes, index.bytes);
    }
}

async fn mount_between_repositories(client: &RegistryClient, endpoint: &RegistryEndpoint) {
    let source = unique_reference(endpoint, "mount-src", "v1");
    let target = unique_reference(endpoint, "mount-dst", "v1");
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(50_000)
        .compression(Compression::None)
        .build()
        .unwrap();
    image.push(client, &source).await.expect("push source");

    for blob in std::iter::once(&image.config).chain(image.layers.iter().map(|l| &l.blob)) {
        match client
            .mount_blob(&target, &blob.digest, &source)
            .await
            .expect("mount")
        {
            MountOutcome::Mounted => {}
            MountOutcome::Declined(session) => panic!("distribution declined a mount: {session:?}"),
        }
        assert_eq!(
            client.blob_exists(&target, &blob.digest).await.unwrap(),
            Some(blob.size)
        );
    }
    // Mounting a blob the source lacks is declined with a session that then takes the upload.
    let fresh =
        wharf_testkit::image::Blob::from_bytes("application/octet-stream", &b"fresh blob"[..]);
    match client
        .mount_blob(&target, &fresh.digest, &source)
        .await
        .expect("mount")
    {
        MountOutcome::Declined(session) => {
            let body = futures::stream::iter([Ok::<_, std::io::Error>(fresh.read_all().unwrap())]);
            session
                .upload_stream(&fresh.digest, fresh.size, body)
                .await
                .expect("continue session");
        }
        MountOutcome::Mounted => panic!("a blob the source lacks cannot be mounted"),
    }
    assert_eq!(
        client.blob_exists(&target, &fresh.digest).await.unwrap(),
        Some(fresh.size)
    );
    let pushed = client
        .put_manifest_raw(&target, image.media_type(), image.manifest.clone())
        .await
        .unwrap();
    assert_eq!(pushed.digest, image.digest);
    assert_eq!(
        skopeo_inspect_json(endpoint, &target)["Digest"],
        image.digest.as_str()
    );
}

async fn tags_and_catalog(client: &RegistryClient, endpoint: &RegistryEndpoint) {
    let reference = unique_reference(endpoint, "tags", "t0");
    let image = small_image(Flavor::Oci);
    image.push(client, &reference).await.expect("push");
    let mut expected = BTreeSet::from(["t0".to_owned()]);
    for n in 1..7 {
        let tag = format!("t{n}");
        let tagged = reference.with_tag(&tag).unwrap();
        client
            .put_manifest_raw(&tagged, image.media_type(), image.manifest.clone())
            .await
            .unwrap();
        expected.insert(tag);
    }
    let tags: BTreeSet<String> = client
        .list_tags(&reference, Some(2))
        .try_collect()
        .await
        .expect("tags");
    assert_eq!(tags, expected);

    // The catalog is paginated by distribution: follow Link pages of 3.
    let repos: Vec<String> = client
        .catalog(&endpoint.host, Some(3))
        .try_collect()
        .await
        .expect("catalog");
    assert!(
        repos.contains(&reference.repository().to_owned()),
        "catalog lists {}",
        reference.repository()
    );
    let unique: BTreeSet<&String> = repos.iter().collect();
    assert_eq!(unique.len(), repos.len(), "no page is read twice");
    let first_page: Vec<_> = client
        .catalog(&endpoint.host, Some(1))
        .take(2)
        .collect()
        .await;
    assert_eq!(first_page.len(), 2.min(repos.len()));
}

async fn referrers_fallback(client: &RegistryClient, endpoint: &RegistryEndpoint) {
    let reference = unique_reference(endpoint, "referrers", "v1");
    let image = small_image(Flavor::Oci);
    image.push(client, &reference).await.expect("push");
    let none = client
        .referrers(&reference, &image.digest, None)
        .await
        .expect("no referrers yet");
    assert!(none.descriptors.is_empty());

    let sbom = ArtifactBuilder::for_image("application/spdx+json", &image)
        .payload(
            "application/spdx+json",
            &br#"{"spdxVersion":"SPDX-2.3"}"#[..],
        )
        .build();
    let signature =
        ArtifactBuilder::for_image("application/vnd.dev.cosign.artifact.sig.v1+json", &image)
            .annotation("org.example.signed-by", "wharf")
            .build();
    sbom.push(client, &reference).await.expect("push sbom");
    signature
        .push(client, &reference)
        .await
        .expect("push signature");

    let all = client
        .referrers(&reference, &image.digest, None)
        .await
        .expect("referrers");
    assert!(all.from_fallback_tag, "distribution has no referrers API");
    let digests: BTreeSet<String> = all
        .descriptors
        .iter()
        .map(|d| d.digest.to_string())
        .collect();
    assert_eq!(
        digests,
        BTreeSet::from([sbom.digest.to_string(), signature.digest.to_string()])
    );
    let only_sbom = client
        .referrers(&reference, &image.digest, Some("application/spdx+json"))
        .await
        .unwrap();
    assert_eq!(only_sbom.descriptors.len(), 1);
    assert_eq!(only_sbom.descriptors[0].digest, sbom.digest);

    let fallback_tag = reference.with_tag(&image.digest.referrers_tag()).unwrap();
    let raw: serde_json::Value =
        serde_json::from_slice(&skopeo_inspect(endpoint, &fallback_tag, true)).unwrap();
    assert_eq!(raw["manifests"].as_array().unwrap().len(), 2);
}

async fn delete(client: &RegistryClient, endpoint: &RegistryEndpoint) {
    let reference = unique_reference(endpoint, "delete", "v1");
    let image = small_image(Flavor::Oci);
    image.push(client, &reference).await.expect("push");

    let by_tag = client.delete_manifest(&reference).await.unwrap_err();
    assert!(matches!(by_tag, Error::Unsupported { .. }), "{by_tag}");

    let by_digest = reference
        .repository_reference()
        .with_digest(image.digest.clone());
    client
        .delete_manifest(&by_digest)
        .await
        .expect("delete by digest");
    assert_eq!(client.head_manifest(&by_digest).await.unwrap(), None);
    assert_eq!(client.head_manifest(&reference).await.unwrap(), None);

    let layer = &image.layers[0].blob.digest;
    client
        .delete_blob(&reference, layer)
        .await
        .expect("delete blob");
    assert_eq!(client.blob_exists(&reference, layer).await.unwrap(), None);
}

#[tokio::test]
async fn plain_registry() {
    exercise(services::registry_plain()).await;
}

#[tokio::test]
async fn htpasswd_registry() {
    let endpoint = services::registry_htpasswd();
    exercise(endpoint.clone()).await;

    let mut anonymous = endpoint.clone();
    anonymous.username = None;
    anonymous.password = None;
    let error = client_for(&anonymous)
        .ping(&endpoint.host)
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::UNAUTHORIZED),
        "{error}"
    );
}

#[tokio::test]
async fn token_registry() {
    let endpoint = services::registry_token();
    exercise(endpoint.clone()).await;

    let mut wrong = endpoint.clone();
    wrong.password = Some("wrong".into());
    let reference = unique_reference(&endpoint, "denied", "v1");
    let error = client_for(&wrong)
        .get_manifest_raw(&reference)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Token { .. }),
        "a refused token request is reported: {error}"
    );
}

#[tokio::test]
async fn tls_registry() {
    let endpoint = services::registry_tls();
    exercise(endpoint.clone()).await;

    let error = client_with(&endpoint, false)
        .ping(&endpoint.host)
        .await
        .unwrap_err();
    assert!(error.is_connection(), "{error}");
    let chain = std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    assert!(
        chain.to_lowercase().contains("certificate"),
        "the error names the certificate problem: {chain}"
    );
}
