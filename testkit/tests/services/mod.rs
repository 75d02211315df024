//! The local service stack answers and behaves: run with `cargo xtask test`, or after
//! `cargo xtask services up` with `eval "$(cargo xtask services env)"`.
//!
//! Every test panics with a message naming the service and `cargo xtask services up` when the
//! stack is not running.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use wharf_testkit::services::{self, RegistryEndpoint};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Pushes a one-layer image (`config` blob, layer blob, manifest) and pulls the manifest back,
/// optionally with a bearer token.
async fn push_and_pull(registry: &RegistryEndpoint, repository: &str, bearer: Option<&str>) {
    let base = registry.base_url();
    let authorize = |request: reqwest::RequestBuilder| match bearer {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = b"wharf services test layer";
    for blob in [&config[..], &layer[..]] {
        let start = authorize(client().post(format!("{base}/v2/{repository}/blobs/uploads/")))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::ACCEPTED, "start upload");
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put = authorize(client().put(format!("{location}{separator}digest={}", sha256(blob))))
            .header("content-type", "application/octet-stream")
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED, "finish upload");
    }

    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(layer), "size": layer.len()}],
    }))
    .unwrap();
    let url = format!("{base}/v2/{repository}/manifests/v1");
    let pushed = authorize(client().put(&url))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED, "push manifest");

    let pulled = authorize(client().get(&url))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::OK, "pull manifest");
    assert_eq!(pulled.bytes().await.unwrap().as_ref(), manifest.as_slice());
}

#[tokio::test]
async fn plain_registry_accepts_anonymous_push_and_pull() {
    let registry = services::registry_plain();
    push_and_pull(&registry, "testkit/plain", None).await;
}

#[tokio::test]
async fn htpasswd_registry_rejects_bad_credentials_and_accepts_good_ones() {
    let registry = services::registry_htpasswd();
    let (user, password) = registry.credentials().unwrap();
    let url = format!("{}/v2/", registry.base_url());

    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = client()
        .get(&url)
        .basic_auth(user, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client()
        .get(&url)
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_registry_accepts_tokens_from_the_token_service() {
    let registry = services::registry_token();
    let (user, password) = registry.credentials().unwrap();

    let challenge = client()
        .get(format!("{}/v2/", registry.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), StatusCode::UNAUTHORIZED);
    let header = challenge.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let realm = registry.token_service_url.clone().unwrap() + "/token";
    assert!(header.contains(&format!("realm=\"{realm}\"")), "{header}");

    let repository = "testkit/token";
    let answer: Value = client()
        .get(&realm)
        .query(&[
            ("service", "wharf-registry"),
            ("scope", &format!("repository:{repository}:pull,push")),
        ])
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["token"], answer["access_token"]);
    push_and_pull(&registry, repository, answer["token"].as_str()).await;

    let refused = client()
        .get(&realm)
        .query(&[("service", "wharf-registry")])
        .basic_auth(user, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tls_registry_is_trusted_through_the_generated_ca() {
    let registry = services::registry_tls();
    let ca = std::fs::read(registry.ca_file.as_ref().unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let url = format!("{}/v2/", registry.base_url());
    assert_eq!(
        trusting.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(
        untrusting.get(&url).send().await.is_err(),
        "unknown CA must be refused"
    );
}

#[tokio::test]
async fn moto_serves_the_ecr_api() {
    let url = services::moto_url();
    let answer = client()
        .post(format!("{url}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        )
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecr/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    assert!(body["repositories"].is_array(), "{body}");
}

#[tokio::test]
async fn prism_mocks_harbor_and_gitea_under_their_base_paths() {
    let harbor = client()
        .get(format!(
            "{}/api/v2.0/systeminfo",
            services::prism_harbor_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(harbor.status(), StatusCode::OK);
    let unknown = client()
        .get(format!("{}/systeminfo", services::prism_harbor_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        StatusCode::NOT_FOUND,
        "paths carry the basePath"
    );

    // Gitea's spec requires credentials everywhere; Prism enforces the security schemes.
    let version = format!("{}/api/v1/version", services::prism_gitea_url());
    let anonymous = client().get(&version).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let gitea = client()
        .get(&version)
        .basic_auth("user", Some("password"))
        .send()
        .await
        .unwrap();
    assert_eq!(gitea.status(), StatusCode::OK);
    let body: Value = gitea.json().await.unwrap();
    assert!(body.get("version").is_some(), "{body}");
}

#[tokio::test]
async fn pypiserver_needs_credentials_to_upload() {
    let pypi = services::pypi();
    let index = client()
        .get(format!("{}/simple/", pypi.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), StatusCode::OK);

    let form = [
        (":action", "remove_pkg"),
        ("name", "absent"),
        ("version", "0"),
    ];
    let anonymous = client().post(&pypi.url).form(&form).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let authorized = client()
        .post(&pypi.url)
        .basic_auth(&pypi.username, Some(&pypi.password))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_ne!(authorized.status(), StatusCode::UNAUTHORIZED);
    assert!(services::python_tools_bin().join("twine").is_file());
}

#[tokio::test]
async fn verdaccio_knows_the_user_behind_the_token() {
    let npm = services::npm();
    let whoami: Value = client()
        .get(format!("{}/-/whoami", npm.url))
        .bearer_auth(npm.token.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["username"], npm.username.as_str());
}

#[test]
fn tool_paths_exist() {
    assert!(services::prism_bin().is_file());
    assert!(services::services_dir().join("state.json").is_file());
}
