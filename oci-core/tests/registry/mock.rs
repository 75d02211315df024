//! wiremock cases for what the real registries never do: declined mounts, relative and
//! changing upload locations, `Retry-After`, `insufficient_scope`, ECR's expired-token 403,
//! bodies that do not match their digest, oversized manifests and cross-host redirects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use wharf_oci_core::client::{MIN_CHUNK_SIZE, MountOutcome, RegistryClient};
use wharf_oci_core::credentials::{
    BoxFuture, Credential, CredentialError, CredentialSource, StaticCredentials,
};
use wharf_oci_core::digest::Digest;
use wharf_oci_core::error::{Error, ErrorCode};
use wharf_oci_core::manifest::Descriptor;
use wharf_oci_core::media_type;
use wharf_oci_core::reference::Reference;
use wharf_oci_core::retry::RetryPolicy;
use wharf_oci_core::transport::TransportConfig;
use wiremock::matchers::{body_bytes, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn host(server: &MockServer) -> String {
    server.address().to_string()
}

fn builder(servers: &[&MockServer]) -> wharf_oci_core::client::RegistryClientBuilder {
    let transport = TransportConfig::builder()
        .plain_http_hosts(servers.iter().map(|s| host(s)))
        .build()
        .unwrap();
    RegistryClient::builder()
        .transport(transport)
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(1)))
}

fn client(servers: &[&MockServer]) -> RegistryClient {
    builder(servers).build().unwrap()
}

fn repo(server: &MockServer) -> Reference {
    Reference::parse(&format!("{}/team/app:v1", host(server))).unwrap()
}

fn bytes_stream(
    data: Bytes,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures::stream::iter([Ok(data)])
}

fn received_with_path<'a>(requests: &'a [Request], wanted: &str) -> Vec<&'a Request> {
    requests.iter().filter(|r| r.url.path() == wanted).collect()
}

#[tokio::test]
async fn declined_mount_continues_the_opened_session() {
    let server = MockServer::start().await;
    let data = Bytes::from_static(b"layer bytes");
    let digest = Digest::sha256_of(&data);
    Mock::given(method("POST"))
        .and(path("/v2/team/app/blobs/uploads/"))
        .and(query_param("mount", digest.as_str()))
        .and(query_param("from", "team/base"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "/v2/team/app/blobs/uploads/sess-1?_state=abc"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/blobs/uploads/sess-1"))
        .and(query_param("_state", "abc"))
        .and(query_param("digest", digest.as_str()))
        .and(body_bytes(data.to_vec()))
        .respond_with(
            ResponseTemplate::new(201).insert_header("Docker-Content-Digest", digest.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&[&server]);
    let source = Reference::parse(&format!("{}/team/base", host(&server))).unwrap();
    let MountOutcome::Declined(session) = client
        .mount_blob(&repo(&server), &digest, &source)
        .await
        .unwrap()
    else {
        panic!("a 202 is a declined mount");
    };
    session
        .upload_stream(&digest, data.len() as u64, bytes_stream(data))
        .await
        .unwrap();
}

#[tokio::test]
async fn chunked_upload_follows_relative_changing_locations_and_checks_range() {
    let server = MockServer::start().await;
    let data = Bytes::from(
        (0..(MIN_CHUNK_SIZE * 2 + 100))
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let digest = Digest::sha256_of(&data);
    let chunk = MIN_CHUNK_SIZE as u64;
    Mock::given(method("POST"))
        .and(path("/v2/team/app/blobs/uploads/"))
        .respond_with(ResponseTemplate::new(202).insert_header("Location", "s1"))
        .mount(&server)
        .await;
    let steps = [
        ("s1", "../uploads/s2", chunk - 1),
        ("s2", "/v2/team/app/blobs/uploads/s3", 2 * chunk - 1),
    ];
    for (at, next, end) in steps {
        Mock::given(method("PATCH"))
            .and(path(format!("/v2/team/app/blobs/uploads/{at}")))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("Location", next)
                    .insert_header("Range", format!("0-{end}")),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let last = data.len() as u64 - 1;
    Mock::given(method("PATCH"))
        .and(path("/v2/team/app/blobs/uploads/s3"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "s4")
                .insert_header("Range", format!("0-{last}")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/blobs/uploads/s4"))
        .and(query_param("digest", digest.as_str()))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;

    let client = builder(&[&server])
        .monolithic_upload(false)
        .chunk_size(MIN_CHUNK_SIZE)
        .build()
        .unwrap();
    client
        .push_blob_stream(
            &repo(&server),
            &digest,
            data.len() as u64,
            bytes_stream(data.clone()),
        )
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let patches: Vec<&Request> = requests
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    let ranges: Vec<&str> = patches
        .iter()
        .map(|r| r.headers["content-range"].to_str().unwrap())
        .collect();
    assert_eq!(
        ranges,
        [
            format!("0-{}", chunk - 1),
            format!("{chunk}-{}", 2 * chunk - 1),
            format!("{}-{last}", 2 * chunk)
        ]
    );
    let sent: Vec<u8> = patches.iter().flat_map(|r| r.body.clone()).collect();
    assert_eq!(sent, data.to_vec());
}

#[tokio::test]
async fn chunked_upload_rejects_a_range_that_lost_bytes() {
    let server = MockServer::start().await;
    let data = Bytes::from(vec![7u8; MIN_CHUNK_SIZE + 10]);
    let digest = Digest::sha256_of(&data);
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(202).insert_header("Location", "/v2/team/app/blobs/uploads/s1"),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("Location", "/v2/team/app/blobs/uploads/s2")
                .insert_header("Range", "0-99"),
        )
        .mount(&server)
        .await;

    let client = builder(&[&server])
        .monolithic_upload(false)
        .chunk_size(MIN_CHUNK_SIZE)
        .build()
        .unwrap();
    let error = client
        .push_blob_stream(
            &repo(&server),
            &digest,
            data.len() as u64,
            bytes_stream(data),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error}");
}

#[tokio::test]
async fn retry_after_and_rate_limit_reset_are_honoured() {
    let waits: [&[(&str, &str)]; 2] = [
        &[("Retry-After", "1")],
        &[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1")],
    ];
    for headers in waits {
        let server = MockServer::start().await;
        let manifest = Bytes::from_static(br#"{"schemaVersion":2}"#);
        let refusal = headers
            .iter()
            .fold(ResponseTemplate::new(429), |answer, (name, value)| {
                answer.insert_header(*name, *value)
            });
        Mock::given(method("GET"))
            .and(path("/v2/team/app/manifests/v1"))
            .respond_with(refusal)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/team/app/manifests/v1"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(manifest.to_vec(), OCI_MANIFEST))
            .with_priority(2)
            .mount(&server)
            .await;

        let started = Instant::now();
        let raw = client(&[&server])
            .get_manifest_raw(&repo(&server))
            .await
            .unwrap();
        assert_eq!(raw.bytes, manifest);
        // Backoff alone would have waited at most a millisecond.
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{headers:?}: waited {:?}",
            started.elapsed()
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }
}

/// Matches requests without a body (the `PUT` that completes a chunked upload).
struct EmptyBody;

impl wiremock::Match for EmptyBody {
    fn matches(&self, request: &Request) -> bool {
        request.body.is_empty()
    }
}

#[tokio::test]
async fn a_registry_refusing_whole_blobs_gets_chunks_from_then_on() {
    // A proxy in front of the registry caps request bodies: whole-blob PUTs get 413.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/team/app/blobs/uploads/"))
        .respond_with(ResponseTemplate::new(202).insert_header("Location", "first"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/team/app/blobs/uploads/"))
        .respond_with(ResponseTemplate::new(202).insert_header("Location", "chunked"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/blobs/uploads/first"))
        .respond_with(ResponseTemplate::new(413))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v2/team/app/blobs/uploads/chunked"))
        .respond_with(|request: &Request| {
            let end = request.body.len().saturating_sub(1);
            ResponseTemplate::new(202)
                .insert_header("Location", "done")
                .insert_header("Range", format!("0-{end}").as_str())
        })
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/team/app/blobs/uploads/done"))
        .and(EmptyBody)
        .respond_with(ResponseTemplate::new(201))
        .expect(2)
        .mount(&server)
        .await;

    let client = client(&[&server]);
    let first = Bytes::from_static(b"a layer behind a body-size cap");
    client
        .push_blob(&repo(&server), &Digest::sha256_of(&first), first.clone())
        .await
        .unwrap();
    // A stream cannot be sent twice: the client must choose chunks at once now.
    let second = Bytes::from_static(b"another layer");
    client
        .push_blob_stream(
            &repo(&server),
            &Digest::sha256_of(&second),
            second.len() as u64,
            bytes_stream(second.clone()),
        )
        .await
        .unwrap();
    let bodies: Vec<Vec<u8>> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| r.body)
        .collect();
    assert_eq!(bodies, [first.to_vec(), second.to_vec()]);
}

#[tokio::test]
async fn an_exhausted_docker_hub_quota_is_not_hammered() {
    // Docker Hub's answer once the anonymous pulls of the 6-hour window are used up.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("RateLimit-Limit", "100;w=21600")
                .insert_header("RateLimit-Remaining", "0;w=21600")
                .set_body_string(
                    r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#,
                ),
        )
        .mount(&server)
        .await;

    let started = Instant::now();
    let error = client(&[&server])
        .get_manifest_raw(&repo(&server))
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(http::StatusCode::TOO_MANY_REQUESTS),
        "{error:?}"
    );
    assert!(error.to_string().contains("pull rate limit"), "{error}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no retry into an exhausted quota"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn retries_stop_after_the_policy_and_report_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_string(r#"{"errors":[{"code":"UNAVAILABLE","message":"later"}]}"#),
        )
        .mount(&server)
        .await;
    let client = builder(&[&server])
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let error = client.get_manifest_raw(&repo(&server)).await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(error.code(), Some(&ErrorCode::Other("UNAVAILABLE".into())));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn insufficient_scope_asks_for_a_wider_token() {
    let registry = MockServer::start().await;
    let auth = MockServer::start().await;
    let realm = format!("http://{}/token", host(&auth));
    let challenge = |scope: &str, error: &str| {
        format!(r#"Bearer realm="{realm}",service="reg",scope="{scope}"{error}"#)
    };
    Mock::given(header("authorization", "Bearer wide"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"{}".to_vec(), OCI_MANIFEST))
        .mount(&registry)
        .await;
    Mock::given(header("authorization", "Bearer narrow"))
        .respond_with(
            ResponseTemplate::new(401).insert_header(
                "WWW-Authenticate",
                challenge(
                    "repository:team/app:pull,push",
                    r#",error="insufficient_scope""#,
                )
                .as_str(),
            ),
        )
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "WWW-Authenticate",
            challenge("repository:team/app:pull", "").as_str(),
        ))
        .with_priority(10)
        .mount(&registry)
        .await;
    Mock::given(query_param("scope", "repository:team/app:pull,push"))
        .and(query_param("service", "reg"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"access_token":"wide","expires_in":300}"#),
        )
        .expect(1)
        .mount(&auth)
        .await;
    Mock::given(query_param("scope", "repository:team/app:pull"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"token":"narrow"}"#))
        .expect(1)
        .mount(&auth)
        .await;

    let credentials = Arc::new(StaticCredentials::everywhere(Credential::basic("ci", "pw")));
    let client = builder(&[&registry, &auth])
        .credentials(credentials)
        .build()
        .unwrap();
    client.get_manifest_raw(&repo(&registry)).await.unwrap();
    // The wide token is cached and reused for the same scopes.
    client.get_manifest_raw(&repo(&registry)).await.unwrap();
}

/// A credential source like ECR's: each invalidation makes the next credential a new one.
#[derive(Debug, Default)]
struct RotatingCredentials {
    generation: AtomicUsize,
}

impl CredentialSource for RotatingCredentials {
    fn credential<'a>(
        &'a self,
        _registry: &'a str,
    ) -> BoxFuture<'a, Result<Option<Credential>, CredentialError>> {
        let generation = self.generation.load(Ordering::SeqCst);
        Box::pin(async move { Ok(Some(Credential::basic("AWS", format!("pw{generation}")))) })
    }

    fn invalidate<'a>(&'a self, _registry: &'a str) -> BoxFuture<'a, ()> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }
}

fn basic(password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
    )
}

async fn ecr_like(server: &MockServer, accepted_password: Option<&str>) {
    let expired = "Your authorization token has expired. Reauthenticate and try again.";
    if let Some(password) = accepted_password {
        Mock::given(header("authorization", basic(password).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_raw(b"{}".to_vec(), OCI_MANIFEST))
            .mount(server)
            .await;
    }
    Mock::given(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(403).set_body_string(expired))
        .with_priority(5)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", r#"Basic realm="ecr""#),
        )
        .with_priority(10)
        .mount(server)
        .await;
}

#[tokio::test]
async fn ecr_expired_token_invalidates_the_source_and_retries_once() {
    let server = MockServer::start().await;
    ecr_like(&server, Some("pw1")).await;
    let credentials = Arc::new(RotatingCredentials::default());
    let client = builder(&[&server])
        .credentials(credentials.clone())
        .build()
        .unwrap();
    client.get_manifest_raw(&repo(&server)).await.unwrap();
    assert_eq!(credentials.generation.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn ecr_expired_token_twice_is_an_error_after_one_refresh() {
    let server = MockServer::start().await;
    ecr_like(&server, None).await;
    let credentials = Arc::new(RotatingCredentials::default());
    let client = builder(&[&server])
        .credentials(credentials.clone())
        .build()
        .unwrap();
    let error = client.get_manifest_raw(&repo(&server)).await.unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
    assert_eq!(credentials.generation.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn blob_that_does_not_match_its_digest_fails_the_stream() {
    let server = MockServer::start().await;
    let digest = Digest::sha256_of(b"the real content");
    Mock::given(path(format!("/v2/team/app/blobs/{digest}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"tampered content".to_vec()))
        .mount(&server)
        .await;
    let stream = client(&[&server])
        .get_blob(&repo(&server), &digest)
        .await
        .unwrap();
    let error = stream.try_collect::<Vec<Bytes>>().await.unwrap_err();
    assert!(matches!(error, Error::Digest { .. }), "{error}");
}

#[tokio::test]
async fn manifest_body_and_header_must_match_the_digest() {
    let server = MockServer::start().await;
    let real = br#"{"schemaVersion":2,"real":true}"#;
    let digest = Digest::sha256_of(real);
    let other = Digest::sha256_of(b"other");
    Mock::given(path(format!("/v2/team/app/manifests/{digest}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"{\"schemaVersion\":2}".to_vec(), OCI_MANIFEST),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v2/team/app/manifests/v1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(real.to_vec(), OCI_MANIFEST)
                .insert_header("Docker-Content-Digest", other.as_str()),
        )
        .mount(&server)
        .await;

    let client = client(&[&server]);
    let by_digest = repo(&server).repository_reference().with_digest(digest);
    let error = client.get_manifest_raw(&by_digest).await.unwrap_err();
    assert!(matches!(error, Error::Digest { .. }), "{error}");
    let error = client.get_manifest_raw(&repo(&server)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Digest { .. } | Error::DigestHeaderMismatch { .. }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn oversized_manifest_is_refused() {
    let server = MockServer::start().await;
    let huge = vec![b' '; wharf_oci_core::client::MAX_MANIFEST_BYTES + 1];
    Mock::given(path("/v2/team/app/manifests/v1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, OCI_MANIFEST))
        .mount(&server)
        .await;
    let error = client(&[&server])
        .get_manifest_raw(&repo(&server))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TooLarge { .. }), "{error}");
}

#[tokio::test]
async fn redirect_to_another_host_drops_the_authorization_header() {
    let registry = MockServer::start().await;
    let storage = MockServer::start().await;
    let data = b"blob from storage".to_vec();
    let digest = Digest::sha256_of(&data);
    let blob_path = format!("/v2/team/app/blobs/{digest}");
    Mock::given(path(blob_path.as_str()))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "Location",
            format!("http://{}/store/blob?sig=abc", host(&storage)).as_str(),
        ))
        .mount(&registry)
        .await;
    Mock::given(path(blob_path.as_str()))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", r#"Basic realm="r""#),
        )
        .with_priority(10)
        .mount(&registry)
        .await;
    Mock::given(path("/store/blob"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(data.clone()))
        .mount(&storage)
        .await;

    let credentials = Arc::new(StaticCredentials::everywhere(Credential::basic(
        "ci", "secret",
    )));
    let client = builder(&[&registry, &storage])
        .credentials(credentials)
        .build()
        .unwrap();
    let stream = client.get_blob(&repo(&registry), &digest).await.unwrap();
    let body: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(body.concat(), data);

    let at_storage = storage.received_requests().await.unwrap();
    assert_eq!(at_storage.len(), 1);
    assert!(
        !at_storage[0].headers.contains_key("authorization"),
        "credentials leaked to the storage host"
    );
    let at_registry = registry.received_requests().await.unwrap();
    assert!(
        received_with_path(&at_registry, &blob_path)
            .iter()
            .any(|r| r.headers.contains_key("authorization"))
    );
}

#[tokio::test]
async fn upload_location_on_another_host_gets_no_credentials() {
    let registry = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let data = Bytes::from_static(b"blob");
    let digest = Digest::sha256_of(&data);
    Mock::given(method("POST"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(202).insert_header(
            "Location",
            format!("http://{}/upload/1", host(&elsewhere)).as_str(),
        ))
        .mount(&registry)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", r#"Basic realm="r""#),
        )
        .with_priority(10)
        .mount(&registry)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&elsewhere)
        .await;

    let credentials = Arc::new(StaticCredentials::everywhere(Credential::basic(
        "ci", "secret",
    )));
    let client = builder(&[&registry, &elsewhere])
        .credentials(credentials)
        .build()
        .unwrap();
    client
        .push_blob_stream(&repo(&registry), &digest, 4, bytes_stream(data))
        .await
        .unwrap();
    let at_elsewhere = elsewhere.received_requests().await.unwrap();
    assert_eq!(at_elsewhere.len(), 1);
    assert!(!at_elsewhere[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn tag_listing_follows_link_pages() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/team/app/tags/list"))
        .and(query_param("last", "b"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"name":"team/app","tags":["c"]}"#),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/team/app/tags/list"))
        .and(query_param("n", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"name":"team/app","tags":["a","b"]}"#)
                .insert_header("Link", r#"</v2/team/app/tags/list?n=2&last=b>; rel="next""#),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let tags: Vec<String> = client(&[&server])
        .list_tags(&repo(&server), Some(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags, ["a", "b", "c"]);
}

#[tokio::test]
async fn referrers_api_is_used_when_present() {
    let server = MockServer::start().await;
    let subject = Digest::sha256_of(b"subject");
    let referrer = Digest::sha256_of(b"sbom");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": referrer.as_str(), "size": 10, "artifactType": "application/spdx+json"}],
    });
    Mock::given(path(format!("/v2/team/app/referrers/{subject}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(index))
        .mount(&server)
        .await;
    let referrers = client(&[&server])
        .referrers(&repo(&server), &subject, None)
        .await
        .unwrap();
    assert!(!referrers.from_fallback_tag);
    assert_eq!(referrers.descriptors.len(), 1);
    assert_eq!(referrers.descriptors[0].digest, referrer);
}

#[tokio::test]
async fn per_host_limit_serialises_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"{}".to_vec(), OCI_MANIFEST)
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let client = builder(&[&server]).per_host_limit(1).build().unwrap();
    let reference = repo(&server);
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        client.get_manifest_raw(&reference),
        client.get_manifest_raw(&reference),
        client.get_manifest_raw(&reference),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    // One at a time: three 200 ms answers cannot overlap.
    assert!(
        started.elapsed() >= Duration::from_millis(590),
        "took {:?}",
        started.elapsed()
    );
}

/// One tag of a registry where another client writes its own version of the tag right after
/// this client's first `PUT` (or after every one), as a second CI job adding a signature to
/// the same image would.
struct ContestedTag {
    stored: std::sync::Mutex<Option<Vec<u8>>>,
    competitor: Vec<u8>,
    overwrite_every_put: bool,
    puts: AtomicUsize,
}

impl ContestedTag {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let mut stored = self.stored.lock().unwrap();
        if request.method.as_str() == "PUT" {
            let first = self.puts.fetch_add(1, Ordering::SeqCst) == 0;
            let overwritten = first || self.overwrite_every_put;
            *stored = Some(if overwritten {
                self.competitor.clone()
            } else {
                request.body.clone()
            });
            return ResponseTemplate::new(201);
        }
        match stored.as_ref() {
            Some(index) => ResponseTemplate::new(200)
                .insert_header("Content-Type", media_type::OCI_INDEX)
                .set_body_bytes(index.clone()),
            None => ResponseTemplate::new(404).set_body_string(
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            ),
        }
    }
}

async fn contested_referrers_tag(
    overwrite_every_put: bool,
) -> (
    MockServer,
    Arc<ContestedTag>,
    Digest,
    Descriptor,
    Descriptor,
) {
    let server = MockServer::start().await;
    let subject = Digest::sha256_of(b"the image manifest");
    let theirs = Descriptor::for_content(OCI_MANIFEST, b"their signature");
    let ours = Descriptor::for_content(OCI_MANIFEST, b"our SBOM");
    let competitor = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [theirs],
    }))
    .unwrap();
    let tag = Arc::new(ContestedTag {
        stored: std::sync::Mutex::new(None),
        competitor,
        overwrite_every_put,
        puts: AtomicUsize::new(0),
    });
    Mock::given(path(format!(
        "/v2/team/app/manifests/{}",
        subject.referrers_tag()
    )))
    .respond_with({
        let tag = Arc::clone(&tag);
        move |request: &Request| tag.answer(request)
    })
    .mount(&server)
    .await;
    (server, tag, subject, theirs, ours)
}

fn listed_digests(index: &[u8]) -> Vec<String> {
    let index: serde_json::Value = serde_json::from_slice(index).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_referrer_overwritten_by_another_client_is_added_to_their_index_again() {
    let (server, tag, subject, theirs, ours) = contested_referrers_tag(false).await;

    client(&[&server])
        .add_to_referrers_tag(&repo(&server), &subject, &ours)
        .await
        .unwrap();

    assert_eq!(tag.puts.load(Ordering::SeqCst), 2);
    let stored = tag.stored.lock().unwrap().clone().unwrap();
    assert_eq!(
        listed_digests(&stored),
        [theirs.digest.to_string(), ours.digest.to_string()],
        "both clients' entries survive"
    );
}

#[tokio::test]
async fn a_referrer_that_keeps_being_overwritten_is_a_typed_error_after_bounded_writes() {
    let (server, tag, subject, _, ours) = contested_referrers_tag(true).await;

    let error = client(&[&server])
        .add_to_referrers_tag(&repo(&server), &subject, &ours)
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("lost the new entry"), "{error}");
    assert_eq!(
        tag.puts.load(Ordering::SeqCst),
        wharf_oci_core::client::REFERRERS_TAG_WRITES
    );
}
