//! The ECR API against wiremock: pagination with `nextToken`, throttling and retries, batches
//! of 100 for `BatchGetImage`, and error details.

use futures::TryStreamExt;
use wharf_ecr_compat::EcrError;
use wharf_ecr_compat::model::{ImageId, RepositoryFilter, TagStatus};
use wharf_oci_core::digest::Digest;
use wiremock::matchers::body_partial_json;
use wiremock::{MockServer, Request};

use super::support::{client, ecr_error, ecr_ok, ecr_operation, quick_retries};

fn repository(name: &str) -> serde_json::Value {
    serde_json::json!({
        "repositoryName": name,
        "repositoryUri": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"),
        "registryId": "123456789012",
        "repositoryArn": format!("arn:aws:ecr:us-east-1:123456789012:repository/{name}"),
        "createdAt": 1_700_000_000.5,
    })
}

#[tokio::test]
async fn repositories_follow_next_token_and_filter() {
    let server = MockServer::start().await;
    ecr_operation("DescribeRepositories")
        .and(body_partial_json(
            serde_json::json!({ "nextToken": "page-2" }),
        ))
        .respond_with(ecr_ok(&serde_json::json!({
            "repositories": [repository("team-a/worker"), repository("team-b/api")],
        })))
        .expect(1)
        .mount(&server)
        .await;
    ecr_operation("DescribeRepositories")
        .and(body_partial_json(serde_json::json!({ "maxResults": 1000 })))
        .respond_with(ecr_ok(&serde_json::json!({
            "repositories": [repository("team-a/api"), repository("tools")],
            "nextToken": "page-2",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri(), quick_retries(1)).await;

    let all: Vec<_> = client
        .repositories(RepositoryFilter::All)
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = all.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["team-a/api", "tools", "team-a/worker", "team-b/api"]
    );
    assert_eq!(all[0].registry_id.as_deref(), Some("123456789012"));
    assert!(all[0].created_at.is_some());
    server.verify().await;
    server.reset().await;

    ecr_operation("DescribeRepositories")
        .and(body_partial_json(
            serde_json::json!({ "nextToken": "page-2" }),
        ))
        .respond_with(ecr_ok(
            &serde_json::json!({ "repositories": [repository("team-a/worker")] }),
        ))
        .mount(&server)
        .await;
    ecr_operation("DescribeRepositories")
        .respond_with(ecr_ok(&serde_json::json!({
            "repositories": [repository("team-a/api"), repository("tools")],
            "nextToken": "page-2",
        })))
        .mount(&server)
        .await;
    let filter = RepositoryFilter::pattern("^team-a/").unwrap();
    let filtered: Vec<_> = client.repositories(filter).try_collect().await.unwrap();
    let names: Vec<_> = filtered.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["team-a/api", "team-a/worker"]);
}

#[tokio::test]
async fn images_carry_details_across_pages() {
    let digest_a = Digest::sha256_of(b"manifest a");
    let digest_b = Digest::sha256_of(b"manifest b");
    let server = MockServer::start().await;
    ecr_operation("DescribeImages")
        .and(body_partial_json(
            serde_json::json!({ "repositoryName": "api", "nextToken": "t2" }),
        ))
        .respond_with(ecr_ok(&serde_json::json!({ "imageDetails": [{
            "repositoryName": "api",
            "imageDigest": digest_b.to_string(),
            "imagePushedAt": 1_700_000_100,
        }]})))
        .mount(&server)
        .await;
    ecr_operation("DescribeImages")
        .and(body_partial_json(
            serde_json::json!({ "repositoryName": "api" }),
        ))
        .respond_with(ecr_ok(&serde_json::json!({ "imageDetails": [{
            "registryId": "123456789012",
            "repositoryName": "api",
            "imageDigest": digest_a.to_string(),
            "imageTags": ["1.0", "stable"],
            "imageSizeInBytes": 31_457_280,
            "imagePushedAt": 1_700_000_000,
            "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactMediaType": "application/vnd.oci.image.config.v1+json",
        }], "nextToken": "t2" })))
        .mount(&server)
        .await;
    let client = client(&server.uri(), quick_retries(1)).await;

    let images: Vec<_> = client.images("api").try_collect().await.unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0].digest, digest_a);
    assert_eq!(images[0].tags, ["1.0", "stable"]);
    assert_eq!(images[0].size_bytes, Some(31_457_280));
    assert_eq!(
        images[0].manifest_media_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_eq!(
        images[0].pushed_at,
        Some(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
    );
    assert_eq!(images[1].digest, digest_b);
    assert!(images[1].tags.is_empty());
}

#[tokio::test]
async fn image_ids_send_the_tag_status_filter() {
    let digest = Digest::sha256_of(b"m");
    let server = MockServer::start().await;
    ecr_operation("ListImages")
        .and(body_partial_json(
            serde_json::json!({ "filter": { "tagStatus": "UNTAGGED" } }),
        ))
        .respond_with(ecr_ok(
            &serde_json::json!({ "imageIds": [{ "imageDigest": digest.to_string() }] }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri(), quick_retries(1)).await;

    let ids: Vec<_> = client
        .image_ids("api", TagStatus::Untagged)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, [ImageId::digest(digest)]);
}

#[tokio::test]
async fn image_ids_follow_next_token_across_pages() {
    let (one, two) = (Digest::sha256_of(b"one"), Digest::sha256_of(b"two"));
    let server = MockServer::start().await;
    ecr_operation("ListImages")
        .and(body_partial_json(
            serde_json::json!({ "nextToken": "ids-2" }),
        ))
        .respond_with(ecr_ok(&serde_json::json!({
            "imageIds": [{ "imageDigest": two.to_string(), "imageTag": "2.0" }],
        })))
        .expect(1)
        .mount(&server)
        .await;
    ecr_operation("ListImages")
        .and(body_partial_json(
            serde_json::json!({ "filter": { "tagStatus": "TAGGED" } }),
        ))
        .respond_with(ecr_ok(&serde_json::json!({
            "imageIds": [{ "imageDigest": one.to_string(), "imageTag": "1.0" }],
            "nextToken": "ids-2",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri(), quick_retries(1)).await;

    let ids: Vec<_> = client
        .image_ids("api", TagStatus::Tagged)
        .try_collect()
        .await
        .unwrap();
    let tags: Vec<_> = ids.iter().map(|id| id.tag.as_deref()).collect();
    assert_eq!(tags, [Some("1.0"), Some("2.0")]);
    server.verify().await;
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_reported() {
    let server = MockServer::start().await;
    ecr_operation("DescribeImages")
        .respond_with(ecr_error(400, "ThrottlingException", "Rate exceeded"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    ecr_operation("DescribeImages")
        .respond_with(ecr_ok(&serde_json::json!({ "imageDetails": [] })))
        .expect(1)
        .mount(&server)
        .await;
    let patient = client(&server.uri(), quick_retries(3)).await;
    let images: Vec<_> = patient.images("api").try_collect().await.unwrap();
    assert!(images.is_empty());
    server.verify().await;
    server.reset().await;

    ecr_operation("DescribeImages")
        .respond_with(ecr_error(
            400,
            "com.amazonaws.ecr#ThrottlingException",
            "Rate exceeded",
        ))
        .expect(2)
        .mount(&server)
        .await;
    let impatient = client(&server.uri(), quick_retries(2)).await;
    let error = impatient
        .images("api")
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match error {
        EcrError::Api {
            operation,
            code,
            message,
            ..
        } => {
            assert_eq!(operation, "DescribeImages");
            assert_eq!(code.as_deref(), Some("ThrottlingException"));
            assert_eq!(message.as_deref(), Some("Rate exceeded"));
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn batch_get_image_asks_in_batches_of_100_and_reports_failures() {
    let server = MockServer::start().await;
    ecr_operation("BatchGetImage")
        .respond_with(|request: &Request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let ids = body["imageIds"].as_array().unwrap();
            let images: Vec<_> = ids
                .iter()
                .filter(|id| id["imageTag"] != "missing")
                .map(|id| serde_json::json!({
                    "repositoryName": "api",
                    "imageId": { "imageTag": id["imageTag"] },
                    "imageManifest": format!("{{\"tag\":{}}}", id["imageTag"]),
                    "imageManifestMediaType": body["acceptedMediaTypes"][0],
                }))
                .collect();
            let failures: Vec<_> = ids
                .iter()
                .filter(|id| id["imageTag"] == "missing")
                .map(|id| serde_json::json!({
                    "imageId": id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found",
                }))
                .collect();
            ecr_ok(&serde_json::json!({ "images": images, "failures": failures }))
        })
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server.uri(), quick_retries(1)).await;

    let mut ids: Vec<_> = (0..149).map(|n| ImageId::tag(format!("v{n}"))).collect();
    ids.push(ImageId::tag("missing"));
    let accepted = ["application/vnd.oci.image.manifest.v1+json"];
    let outcomes: Vec<_> =
        futures::StreamExt::collect(client.manifests("api", &ids, &accepted)).await;
    assert_eq!(outcomes.len(), 150);
    let manifests: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(manifests.len(), 149);
    assert_eq!(manifests[0].manifest, "{\"tag\":\"v0\"}");
    assert_eq!(manifests[0].media_type.as_deref(), Some(accepted[0]));
    let failure = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
    assert!(
        matches!(failure, EcrError::ImageNotRetrieved { code, image, .. } if code == "ImageNotFound" && image == ":missing")
    );

    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<_> = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["imageIds"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, [100, 50]);
}
