//! The ECR API against moto, seeded with `CreateRepository` and `PutImage`, with the image
//! bytes in a real distribution registry standing in for the ECR registry host.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ecr::types::ImageTagMutability;
use futures::TryStreamExt;
use wharf_ecr_compat::EcrClient;
use wharf_ecr_compat::auth::EcrCredentialProvider;
use wharf_ecr_compat::clock::ManualClock;
use wharf_ecr_compat::mapping::Mapping;
use wharf_ecr_compat::model::{ImageId, RepositoryFilter, TagStatus};
use wharf_ecr_compat::rewrite::{FileKind, Rewriter};
use wharf_oci_core::credentials::{Credential, CredentialError, CredentialSource};
use wharf_oci_core::digest::Digest;
use wharf_testkit::services;

use super::support::{MOTO_ACCOUNT, REGION, client, quick_retries};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A name no other test run has used (moto keeps its state between runs).
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// An image pushed to the stand-in registry: its manifest text and digest.
struct PushedImage {
    manifest: String,
    digest: Digest,
}

async fn push_blob(http: &reqwest::Client, base: &str, repository: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::sha256_of(bytes);
    let started = http
        .post(format!("{base}/v2/{repository}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202, "upload start");
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let location = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let finished = http
        .put(format!("{location}{separator}digest={digest}"))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), 201, "upload finish");
    digest
}

async fn push_image(repository: &str, tag: &str) -> PushedImage {
    let registry = services::registry_plain();
    let base = registry.base_url();
    let http = reqwest::Client::new();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = format!("layer of {repository}:{tag}").into_bytes();
    let config_digest = push_blob(&http, &base, repository, config).await;
    let layer_digest = push_blob(&http, &base, repository, &layer).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer.len() }],
    })
    .to_string();
    let pushed = http
        .put(format!("{base}/v2/{repository}/manifests/{tag}"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 201, "manifest push");
    let digest =
        Digest::parse(pushed.headers()["docker-content-digest"].to_str().unwrap()).unwrap();
    assert_eq!(digest, Digest::sha256_of(manifest.as_bytes()));
    PushedImage { manifest, digest }
}

/// Creates the repository in moto and registers the registry's manifest under `tag`.
async fn seed(client: &EcrClient, repository: &str, tag: &str, image: &PushedImage) {
    client
        .sdk()
        .create_repository()
        .repository_name(repository)
        .image_tag_mutability(ImageTagMutability::Mutable)
        .send()
        .await
        .expect("CreateRepository");
    client
        .sdk()
        .put_image()
        .repository_name(repository)
        .image_manifest(&image.manifest)
        .image_manifest_media_type(OCI_MANIFEST)
        .image_tag(tag)
        .image_digest(image.digest.to_string())
        .send()
        .await
        .expect("PutImage");
}

#[tokio::test]
async fn enumeration_and_manifests_match_the_registry() {
    let client = client(&services::moto_url(), quick_retries(2)).await;
    let prefix = unique("wharf-enum");
    let repository = format!("{prefix}/api");
    let image = push_image(&repository, "1.0").await;
    seed(&client, &repository, "1.0", &image).await;
    seed(&client, &format!("{prefix}-other/web"), "1.0", &image).await;

    let repositories: Vec<_> = client
        .repositories(RepositoryFilter::prefix(format!("{prefix}/")))
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = repositories.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, [repository.as_str()]);
    assert_eq!(repositories[0].registry_id.as_deref(), Some(MOTO_ACCOUNT));

    let ids: Vec<_> = client
        .image_ids(&repository, TagStatus::Tagged)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].tag.as_deref(), Some("1.0"));
    assert_eq!(ids[0].digest.as_ref(), Some(&image.digest));

    let details: Vec<_> = client.images(&repository).try_collect().await.unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].digest, image.digest);
    assert_eq!(details[0].tags, ["1.0"]);
    assert_eq!(details[0].repository, repository);
    assert!(details[0].pushed_at.is_some());

    let wanted = vec![ImageId::tag("1.0"), ImageId::tag("no-such-tag")];
    let outcomes: Vec<_> =
        futures::StreamExt::collect(client.manifests(&repository, &wanted, &[])).await;
    let manifest = outcomes
        .iter()
        .find_map(|o| o.as_ref().ok())
        .expect("one manifest");
    assert_eq!(
        manifest.manifest, image.manifest,
        "ECR returns the registry's bytes"
    );
    assert_eq!(
        Digest::sha256_of(manifest.manifest.as_bytes()),
        image.digest
    );
    assert!(
        outcomes.iter().any(Result::is_err),
        "the missing tag is reported"
    );
}

#[tokio::test]
async fn authorization_token_from_moto() {
    let client = client(&services::moto_url(), quick_retries(2)).await;
    let token = client.authorization_token().await.unwrap();
    assert_eq!(token.username, "AWS");
    assert_eq!(
        token.password.expose(),
        format!("{MOTO_ACCOUNT}-auth-token")
    );
    let host = format!("{MOTO_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
    assert_eq!(token.registry_host(), Some(host.as_str()));

    // moto's tokens expire in 2015: with the real clock the provider refuses them.
    let real_time = EcrCredentialProvider::builder(&host, Arc::new(client.clone()))
        .retry_policy(quick_retries(2))
        .build();
    assert!(matches!(
        real_time.credential(&host).await,
        Err(CredentialError::Unavailable { .. })
    ));

    // Two hours before that expiry the same token is handed out.
    let clock = ManualClock::at(token.expires_at - Duration::from_hours(2));
    let provider = EcrCredentialProvider::builder(&host, Arc::new(client))
        .clock(Arc::new(clock.clone()))
        .build();
    let credential = provider.credential(&host).await.unwrap();
    assert_eq!(
        credential,
        Some(Credential::basic(
            "AWS",
            format!("{MOTO_ACCOUNT}-auth-token")
        ))
    );
}

#[tokio::test]
async fn rewriting_pins_digests_through_the_ecr_client() {
    let client = client(&services::moto_url(), quick_retries(2)).await;
    let repository = format!("{}/app", unique("wharf-pin"));
    let image = push_image(&repository, "2.0").await;
    seed(&client, &repository, "2.0", &image).await;

    let mapping = Mapping::from_toml(&format!(
        "[[registries]]\naccount = \"{MOTO_ACCOUNT}\"\nregion = \"{REGION}\"\nharbor = \"harbor.example.com\"\ndefault_project = \"migrated\"\n"
    ))
    .unwrap();
    let text =
        format!("FROM {MOTO_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:2.0 AS app\n");
    let rewrite = Rewriter::new(mapping)
        .pin_digests(Arc::new(client))
        .rewrite(&text, FileKind::Dockerfile)
        .await;

    assert!(rewrite.unpinned.is_empty(), "{:?}", rewrite.unpinned);
    assert_eq!(
        rewrite.text,
        format!(
            "FROM harbor.example.com/migrated/{repository}:2.0@{} AS app\n",
            image.digest
        )
    );
}
