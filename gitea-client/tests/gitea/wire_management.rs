//! The newer management endpoints (not in the stored spec), version gating, pagination and
//! download checks, played by wiremock with Gitea's paths and codes.

use futures::TryStreamExt;
use serde_json::json;
use wharf_gitea_client::packages::{ListFilter, PackageType};
use wharf_gitea_client::pypi::PypiRegistry;
use wharf_gitea_client::{Auth, Error, GiteaClient};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OWNER: &str = "k3s-homelab";

fn package(id: i64, name: &str, version: &str) -> serde_json::Value {
    json!({
        "id": id, "owner": {"id": 1, "login": OWNER}, "repository": null, "creator": {"id": 2, "login": "ci"},
        "type": "container", "name": name, "version": version,
        "html_url": format!("http://g/{OWNER}/-/packages/container/{name}/{version}"), "created_at": "2025-01-01T00:00:00Z"
    })
}

async fn server_with_version(version: &str) -> (MockServer, GiteaClient) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/version"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "version": version })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let client = GiteaClient::builder(server.uri(), OWNER)
        .auth(Auth::basic("ci", "token"))
        .build()
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn list_pages_until_a_short_page() {
    let (server, gitea) = server_with_version("1.22.0").await;
    let page = |number: &str, items: serde_json::Value| {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/packages/{OWNER}")))
            .and(query_param("type", "container"))
            .and(query_param("q", "tools/builder"))
            .and(query_param("limit", "2"))
            .and(query_param("page", number))
            .respond_with(ResponseTemplate::new(200).set_body_json(items))
            .expect(1)
    };
    page(
        "1",
        json!([
            package(1, "tools/builder", "v1"),
            package(2, "tools/builder", "v2")
        ]),
    )
    .mount(&server)
    .await;
    page("2", json!([package(3, "tools/builder", "v3")]))
        .mount(&server)
        .await;

    let filter = ListFilter::new()
        .package_type(PackageType::Container)
        .query("tools/builder")
        .page_size(2);
    let listed: Vec<_> = gitea.packages().list(&filter).try_collect().await.unwrap();
    let versions: Vec<&str> = listed
        .iter()
        .map(|package| package.version.as_str())
        .collect();
    assert_eq!(versions, ["v1", "v2", "v3"]);
    drop(gitea);
    server.verify().await;
}

#[tokio::test]
async fn newer_servers_get_versions_latest_link_unlink_and_delete_package() {
    let (server, gitea) = server_with_version("1.24.3").await;
    let base = format!("/api/v1/packages/{OWNER}/container/tools%2Fbuilder");
    Mock::given(method("GET"))
        .and(path(base.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([package(
            1,
            "tools/builder",
            "v1"
        )])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/-/latest")))
        .respond_with(ResponseTemplate::new(200).set_body_json(package(1, "tools/builder", "v1")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/-/link/infra%20repo")))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/-/unlink")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(base.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let packages = gitea.packages();
    let container = PackageType::Container;
    assert_eq!(
        packages
            .versions(&container, "tools/builder")
            .await
            .unwrap()[0]
            .version,
        "v1"
    );
    assert_eq!(
        packages
            .latest(&container, "tools/builder")
            .await
            .unwrap()
            .version,
        "v1"
    );
    packages
        .link(&container, "tools/builder", "infra repo")
        .await
        .unwrap();
    packages.unlink(&container, "tools/builder").await.unwrap();
    packages
        .delete_package(&container, "tools/builder")
        .await
        .unwrap();
}

#[tokio::test]
async fn older_servers_delete_a_package_version_by_version() {
    let (server, gitea) = server_with_version("1.21.11").await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/packages/{OWNER}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            package(1, "tools/builder", "v1"),
            package(2, "tools/builder-extra", "v9"),
            package(3, "tools/builder", "v2")
        ])))
        .mount(&server)
        .await;
    for version in ["v1", "v2"] {
        Mock::given(method("DELETE"))
            .and(path(format!(
                "/api/v1/packages/{OWNER}/container/tools%2Fbuilder/{version}"
            )))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let packages = gitea.packages();
    packages
        .delete_package(&PackageType::Container, "tools/builder")
        .await
        .unwrap();
    let error = packages
        .unlink(&PackageType::Container, "tools/builder")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Unsupported { ref server, .. } if server == "1.21.11"),
        "{error:?}"
    );
}

/// An index whose only link announces `fragment`; the file redirects to storage (as Gitea's
/// file downloads can), which serves `body`.
async fn index_with_one_file(fragment: &str, body: &'static str) -> (MockServer, PypiRegistry) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/simple/demo/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"<a href="/files/demo-1.0.tar.gz#{fragment}">demo-1.0.tar.gz</a>"#
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/demo-1.0.tar.gz"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "/storage/demo-1.0.tar.gz"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/storage/demo-1.0.tar.gz"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let index = PypiRegistry::new(
        &format!("{}/", server.uri()),
        &format!("{}/simple", server.uri()),
        Auth::Anonymous,
    )
    .unwrap();
    (server, index)
}

#[tokio::test]
async fn pypi_download_checks_every_pep_503_hash_algorithm() {
    // Digests of the bytes `genuine` (from `openssl dgst`); the upper-case one reads the same.
    let announced = [
        "md5=7aa4a242d3ce5fe086e54bd1949ad950",
        "sha1=6f092934300dd334517ffabce0bd1c7a630251b6",
        "sha224=66ae8834ff36986f1e5a31d6e31433d1d6235339fabc162ff72d06cb",
        "sha256=DFEC22473777F0DDAEA98D74045C22AE9029A8E3B75AA8FCCE941AA29E5B073B",
        "sha384=7d146791924e255d9105c2883c77734f8b12a889497a9c9bfc771a5742369451e6102589a84273aa4681ab56abf064d7",
        "sha512=3b317a2695613c707d62567ffabbbe2ee64f02d3a06f6e4bdb49c8a590a80e3c694cc880a90fb12af9a88b39cd99ae9a9fe6e3fb1237835b74a86f69031b128c",
    ];
    let dir = tempfile::tempdir().unwrap();
    for fragment in announced {
        let algorithm = fragment.split('=').next().unwrap();
        let target = dir.path().join(format!("{algorithm}.tar.gz"));

        let (_server, index) = index_with_one_file(fragment, "genuine").await;
        let files = index.files("demo").await.unwrap();
        assert_eq!(
            index.download(&files[0], &target).await.unwrap(),
            7,
            "{algorithm}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"genuine");

        let (_server, index) = index_with_one_file(fragment, "tampered").await;
        let files = index.files("demo").await.unwrap();
        let error = index.download(&files[0], &target).await.unwrap_err();
        assert!(
            matches!(&error, Error::HashMismatch { algorithm: a, .. } if a == algorithm),
            "{algorithm}: {error:?}"
        );
        assert!(
            !target.exists(),
            "{algorithm}: a file that failed its check stays"
        );
    }
}

#[tokio::test]
async fn pypi_download_of_an_unknown_hash_algorithm_is_not_refused() {
    let (_server, index) = index_with_one_file("blake2b=00", "genuine").await;
    let files = index.files("demo").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("demo.tar.gz");
    assert_eq!(index.download(&files[0], &target).await.unwrap(), 7);
}

#[tokio::test]
async fn container_registry_client_presents_the_token_as_basic() {
    use wiremock::matchers::header;
    let server = MockServer::start().await;
    // base64("gitea-pat:x-oauth-basic"): Gitea's Basic auth reads a user name with this
    // password as a token.
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .and(header(
            "authorization",
            "Basic Z2l0ZWEtcGF0Ongtb2F1dGgtYmFzaWM=",
        ))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", r#"Basic realm="Gitea Package API""#),
        )
        .mount(&server)
        .await;

    let gitea = GiteaClient::builder(server.uri(), "K3s-Homelab")
        .auth(Auth::token("gitea-pat"))
        .build()
        .unwrap();
    let container = gitea.container();
    let reference = container.reference("tools/builder", "v1").unwrap();
    assert_eq!(reference.repository(), "k3s-homelab/tools/builder");
    let registry = container.registry_client().unwrap();
    registry.ping(reference.registry()).await.unwrap();
}
