//! Each fault kind of the proxy, seen by a plain HTTP client fetching a real blob.

use std::time::Duration;

use wharf_testkit::fault_proxy::{FaultConfig, FaultKind, FaultProxy};
use wharf_testkit::image::{Flavor, ImageBuilder};
use wharf_testkit::services;

use super::corpus;

/// Pushes one image with a 200 KiB layer; returns the registry, repository and layer.
async fn pushed_blob() -> (String, String, wharf_testkit::image::Blob) {
    let registry = services::registry_plain().host;
    let repository = format!("reliability-proxy/{}", uuid::Uuid::new_v4().simple());
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(200 * 1024)
        .build()
        .expect("image");
    let client = corpus::client(&[&registry]);
    image
        .push(&client, &corpus::reference(&registry, &repository, "v1"))
        .await
        .expect("push");
    let blob = image.layers[0].blob.clone();
    (registry, repository, blob)
}

async fn proxy_with(registry: &str, kind: FaultKind) -> FaultProxy {
    let config = FaultConfig::new(1)
        .rate(1.0)
        .kinds([kind])
        .stall(Duration::from_secs(2));
    FaultProxy::start(registry, config).await.expect("proxy")
}

/// What a client sees fetching the blob: status, announced length, and the body or error.
async fn fetch(url: &str) -> (u16, Option<u64>, Result<Vec<u8>, String>) {
    let http = reqwest::Client::builder()
        .read_timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let response = http.get(url).send().await.expect("response headers");
    let status = response.status().as_u16();
    let length = response.content_length();
    let body = response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string());
    (status, length, body)
}

#[tokio::test]
async fn every_fault_kind_does_what_it_says() {
    let (registry, repository, blob) = pushed_blob().await;
    let path = format!("/v2/{repository}/blobs/{}", blob.digest);
    let full = blob.size;

    let proxy = proxy_with(&registry, FaultKind::ServiceUnavailable).await;
    let (status, _, _) = fetch(&format!("http://{}{path}", proxy.host())).await;
    assert_eq!(status, 503);
    assert_eq!(proxy.counts().service_unavailable, 1);

    let proxy = proxy_with(&registry, FaultKind::TooManyRequests).await;
    let response = reqwest::get(format!("http://{}{path}", proxy.host()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    let proxy = proxy_with(&registry, FaultKind::ResetMidBody).await;
    let (status, length, body) = fetch(&format!("http://{}{path}", proxy.host())).await;
    assert_eq!((status, length), (200, Some(full)));
    assert!(body.is_err(), "a reset body must fail to read");

    let proxy = proxy_with(&registry, FaultKind::TruncatedBody).await;
    let (status, length, body) = fetch(&format!("http://{}{path}", proxy.host())).await;
    assert_eq!((status, length), (200, None));
    assert_eq!(body.expect("clean end").len() as u64, full / 2);

    let proxy = proxy_with(&registry, FaultKind::Stall).await;
    let (status, _, body) = fetch(&format!("http://{}{path}", proxy.host())).await;
    assert_eq!(status, 200);
    assert!(body.is_err(), "a stall past the read timeout must fail");

    let proxy = proxy_with(&registry, FaultKind::WrongContentLength).await;
    let (status, length, body) = fetch(&format!("http://{}{path}", proxy.host())).await;
    assert_eq!((status, length), (200, Some(full + 1024)));
    assert!(
        body.is_err(),
        "a short body against its Content-Length must fail"
    );
    assert_eq!(proxy.counts().wrong_content_length, 1);
}

#[tokio::test]
async fn a_clean_proxy_streams_the_exact_bytes() {
    let (registry, repository, blob) = pushed_blob().await;
    let proxy = FaultProxy::start(&registry, FaultConfig::new(1))
        .await
        .unwrap();
    let url = format!(
        "http://{}/v2/{repository}/blobs/{}",
        proxy.host(),
        blob.digest
    );
    let (status, _, body) = fetch(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap(), blob.read_all().unwrap().to_vec());
    assert_eq!(proxy.counts().clean, 1);
}
