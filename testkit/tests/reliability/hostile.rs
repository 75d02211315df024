//! The client against a hostile registry: typed errors in bounded time, no credential leaks,
//! nothing pushed downstream.

use std::sync::Arc;
use std::time::Duration;

use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{CopyEngine, CopyOptions, CopyRequest};
use wharf_oci_core::credentials::{Credential, StaticCredentials};
use wharf_oci_core::error::Error;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::hostile::{HostileRegistry, Scenario};
use wharf_testkit::services;

use super::corpus;

/// Every hostile call must end within this.
const BOUND: Duration = Duration::from_secs(20);

fn client(hostile: &HostileRegistry, extra_plain: &[&str]) -> RegistryClient {
    let transport = TransportConfig::builder()
        .plain_http_hosts([hostile.host(), hostile.elsewhere_host()])
        .plain_http_hosts(extra_plain.iter().copied())
        .read_timeout(Duration::from_secs(2))
        .build()
        .expect("transport");
    let credentials = StaticCredentials::new().with(
        hostile.host(),
        Credential::basic(HostileRegistry::USER, HostileRegistry::PASSWORD),
    );
    RegistryClient::builder()
        .transport(transport)
        .credentials(Arc::new(credentials))
        .retry_policy(RetryPolicy::never())
        .build()
        .expect("client")
}

async fn get_manifest(hostile: &HostileRegistry, scenario: Scenario) -> Result<(), Error> {
    let client = client(hostile, &[]);
    let reference = corpus::reference(&hostile.host(), scenario.repository(), "latest");
    tokio::time::timeout(BOUND, client.get_manifest(&reference))
        .await
        .unwrap_or_else(|_| panic!("{scenario:?}: no answer within {BOUND:?}"))
        .map(drop)
}

async fn get_layer(hostile: &HostileRegistry, scenario: Scenario) -> Result<Vec<u8>, Error> {
    let client = client(hostile, &[]);
    let repo = corpus::reference(&hostile.host(), scenario.repository(), "latest");
    let digest = hostile.image().layers[0].blob.digest.clone();
    let fetch = client.get_blob_bytes(&repo, &digest, 16 << 20);
    tokio::time::timeout(BOUND, fetch)
        .await
        .unwrap_or_else(|_| panic!("{scenario:?}: no answer within {BOUND:?}"))
        .map(|bytes| bytes.to_vec())
}

#[tokio::test]
async fn each_bad_manifest_answer_is_a_typed_error_in_bounded_time() {
    let hostile = HostileRegistry::start().await.expect("hostile registry");
    let huge = get_manifest(&hostile, Scenario::HugeManifest).await;
    assert!(matches!(huge, Err(Error::TooLarge { .. })), "{huge:?}");
    let endless = get_manifest(&hostile, Scenario::EndlessManifest).await;
    assert!(
        matches!(endless, Err(Error::TooLarge { .. })),
        "{endless:?}"
    );
    let html = get_manifest(&hostile, Scenario::HtmlPage).await;
    assert!(
        matches!(html, Err(Error::Manifest(_) | Error::Protocol { .. })),
        "{html:?}"
    );
    let text = get_manifest(&hostile, Scenario::TextError).await;
    assert!(matches!(text, Err(Error::Registry { .. })), "{text:?}");
    let challenge = get_manifest(&hostile, Scenario::MalformedChallenge).await;
    assert!(challenge.is_err(), "a malformed challenge must fail");
    let headers = get_manifest(&hostile, Scenario::OversizedHeaders).await;
    assert!(matches!(headers, Err(Error::Http { .. })), "{headers:?}");
    for error in [huge, endless, html, text, challenge, headers] {
        let message = error.expect_err("checked above").to_string();
        assert!(!message.contains(HostileRegistry::PASSWORD), "{message}");
    }
}

#[tokio::test]
async fn a_blob_not_matching_its_digest_is_refused() {
    let hostile = HostileRegistry::start().await.expect("hostile registry");
    let result = get_layer(&hostile, Scenario::BadDigest).await;
    assert!(matches!(result, Err(Error::Digest { .. })), "{result:?}");
}

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_host() {
    let hostile = HostileRegistry::start().await.expect("hostile registry");
    let bytes = get_layer(&hostile, Scenario::RedirectElsewhere)
        .await
        .expect("the redirected blob downloads");
    assert_eq!(bytes.len() as u64, hostile.image().layers[0].blob.size);
    let received = hostile.received_elsewhere();
    assert!(!received.is_empty(), "the redirect was not followed");
    assert!(
        received.iter().all(|r| r.authorization.is_none()),
        "credentials leaked to another host: {received:?}"
    );
}

#[tokio::test]
async fn an_upload_location_on_another_host_gets_no_credentials() {
    let hostile = HostileRegistry::start().await.expect("hostile registry");
    let client = client(&hostile, &[]);
    let repo = corpus::reference(
        &hostile.host(),
        Scenario::UploadLocationElsewhere.repository(),
        "latest",
    );
    let blob = &hostile.image().config;
    let push = client.push_blob(&repo, &blob.digest, blob.read_all().expect("config"));
    let result = tokio::time::timeout(BOUND, push)
        .await
        .expect("bounded time");
    let received = hostile.received_elsewhere();
    assert!(
        received.iter().all(|r| r.authorization.is_none()),
        "credentials leaked to another host: {received:?} ({result:?})"
    );
}

#[tokio::test]
async fn a_hostile_source_pushes_nothing_downstream() {
    let hostile = HostileRegistry::start().await.expect("hostile registry");
    let registry = services::registry_plain().host;
    let client = client(&hostile, &[&registry]);
    let target = format!("reliability-hostile/{}", uuid::Uuid::new_v4().simple());
    let engine = CopyEngine::new(client, CopyOptions::default().retry(RetryPolicy::never()));
    for scenario in [
        Scenario::BadDigest,
        Scenario::HugeManifest,
        Scenario::HtmlPage,
    ] {
        let source = corpus::reference(&hostile.host(), scenario.repository(), "latest");
        let destination = corpus::reference(&registry, &target, "latest");
        let request = CopyRequest::new(source, [destination]);
        let report = tokio::time::timeout(BOUND, engine.copy(&[request]))
            .await
            .expect("bounded time");
        assert!(!report.succeeded(), "{scenario:?} copied");
        let raw = corpus::skopeo_raw(&registry, &target, "latest").await;
        assert!(raw.is_none(), "{scenario:?}: a tag was pushed downstream");
    }
}
