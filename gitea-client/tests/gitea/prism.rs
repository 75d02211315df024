//! Management calls validated by `prism mock` with the stored Gitea spec.
//!
//! The stored spec is Gitea's 1.17-era swagger: it declares `GET /version`, the owner list
//! (`type` enum without `cargo` and `go`), and get, delete and files of one version. It lacks
//! the newer endpoints (list the versions of a package, `-/latest`, delete a whole package,
//! `-/link/{repo}`, `-/unlink`), so those are exercised with wiremock in `wire.rs`. Prism
//! answers a request that breaks the spec with 4xx and an `sl-violations` header, which the
//! client reports as an error, so every `unwrap` below is a validation.

use futures::TryStreamExt;
use wharf_gitea_client::packages::{ListFilter, PackageType};
use wharf_gitea_client::{Auth, Error, GiteaClient};
use wharf_testkit::services;

fn client() -> GiteaClient {
    GiteaClient::builder(services::prism_gitea_url(), "k3s-homelab")
        .auth(Auth::token("0123456789abcdef0123456789abcdef01234567"))
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_management_call_the_spec_knows_validates() {
    let packages = client().packages();

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
        assert!(listed.iter().all(|package| package.id >= 0), "{listed:?}");
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
    assert!(files.iter().all(|file| file.size >= 0));
    packages
        .delete_version(&PackageType::Container, "tools/builder", "v1")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_call_outside_the_spec_is_refused_by_prism() {
    let packages = client().packages();
    // The 1.17 spec's `type` enum has no `cargo`, so Prism rejects the filter.
    let error = packages
        .list(&ListFilter::new().package_type(PackageType::Cargo))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
}

#[tokio::test]
async fn newer_endpoints_are_gated_on_the_server_version() {
    let packages = client().packages();
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
