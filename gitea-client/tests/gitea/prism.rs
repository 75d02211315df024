//! Management calls validated by `prism mock` with the stored Gitea spec.
//!
//! The stored spec is Gitea's 1.17-era swagger: it declares `GET /version`, the owner list
//! (`type` enum without `cargo` and `go`), and get, delete and files of one version. It lacks
//! the newer endpoints (list the versions of a package, `-/latest`, delete a whole package,
//! `-/link/{repo}`, `-/unlink`), so those are exercised with wiremock in `wire_management.rs`.
//! Prism answers a request that breaks the spec with 4xx, and reports lesser violations in an
//! `sl-violations` header; a recording proxy in front of Prism checks that no answer carries
//! one.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures::TryStreamExt;
use wharf_gitea_client::packages::{ListFilter, PackageType};
use wharf_gitea_client::{Auth, Error, GiteaClient};
use wharf_testkit::services;

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

fn client(url: &str) -> GiteaClient {
    GiteaClient::builder(url, "k3s-homelab")
        .auth(Auth::token(TOKEN))
        .build()
        .unwrap()
}

/// What the recording proxy saw: `(request line, sl-violations header)` per exchange.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

type ProxyState = (String, reqwest::Client, Seen);

/// A pass-through proxy in front of Prism that records Prism's `sl-violations` header.
async fn recording_proxy(upstream: String) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let state: ProxyState = (upstream, reqwest::Client::new(), Arc::clone(&seen));
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn forward(State((upstream, http, seen)): State<ProxyState>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let line = format!("{} {path}", request.method());
    let mut outgoing = http.request(request.method().clone(), format!("{upstream}{path}"));
    for (name, value) in request.headers() {
        if name != "host" {
            outgoing = outgoing.header(name, value);
        }
    }
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    let answer = outgoing.body(body).send().await.unwrap();
    let violations = answer
        .headers()
        .get("sl-violations")
        .map(|value| value.to_str().unwrap_or("?").to_owned());
    seen.lock().unwrap().push((line, violations));
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        response = response.header(name.as_str(), value.as_bytes());
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

#[tokio::test]
async fn every_management_call_the_spec_knows_validates() {
    let (proxy, seen) = recording_proxy(services::prism_gitea_url()).await;
    let packages = client(&proxy).packages();

    let version = packages.server_version().await.unwrap();
    assert!(!version.is_empty());

    for filter in [
        ListFilter::new(),
        ListFilter::new()
            .package_type(PackageType::Pypi)
            .query("wharf")
            .page_size(20),
        ListFilter::new().package_type(PackageType::Npm),
        ListFilter::new()
            .package_type(PackageType::Container)
            .query("tools/builder"),
    ] {
        let listed: Vec<_> = packages.list(&filter).try_collect().await.unwrap();
        // Prism answers with a generated example; reading it proves the model matches the spec.
        assert!(
            listed.iter().all(|package| !package.name.is_empty()),
            "{listed:?}"
        );
    }

    let package = packages
        .get(&PackageType::Npm, "@wharf/demo", "1.0.0")
        .await
        .unwrap();
    assert!(!package.name.is_empty());
    let files = packages
        .files(&PackageType::Pypi, "wharf-demo", "0.1.0")
        .await
        .unwrap();
    assert!(files.iter().all(|file| !file.name.is_empty()), "{files:?}");
    packages
        .delete_version(&PackageType::Container, "tools/builder", "v1")
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 8, "{seen:?}");
    let violations: Vec<_> = seen
        .iter()
        .filter(|(_, violations)| violations.as_deref().is_some_and(has_request_violation))
        .collect();
    assert!(
        violations.is_empty(),
        "Prism reported request violations: {violations:?}"
    );
}

/// True when Prism's `sl-violations` list names the request. Prism also reports its own
/// generated example bodies that break the 1.17 spec (`units_map` of nested teams); those are
/// located in the response and say nothing about the client.
fn has_request_violation(header: &str) -> bool {
    let violations: Vec<serde_json::Value> = serde_json::from_str(header).unwrap_or_default();
    violations
        .iter()
        .any(|violation| violation["location"][0] != "response")
}

#[tokio::test]
async fn a_call_outside_the_spec_is_refused_by_prism() {
    let (proxy, seen) = recording_proxy(services::prism_gitea_url()).await;
    let packages = client(&proxy).packages();
    // The 1.17 spec's `type` enum has no `cargo`, so Prism rejects the filter.
    let error = packages
        .list(&ListFilter::new().package_type(PackageType::Cargo))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Api {
                status: http::StatusCode::UNPROCESSABLE_ENTITY,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .server_message()
            .is_some_and(|message| message.contains("not valid")),
        "{error:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn newer_endpoints_are_gated_on_the_server_version() {
    let packages = client(&services::prism_gitea_url()).packages();
    // Prism's version string is not a release number, so the newer endpoints are not called.
    assert!(!packages.has_newer_endpoints().await.unwrap());
    let error = packages
        .link(&PackageType::Pypi, "wharf-demo", "infra")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");
    let error = packages
        .latest(&PackageType::Pypi, "wharf-demo")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");
}
