//! npm protocol against a real verdaccio: publish, `npm install`, dist-tags, duplicates.

use std::process::Command;

use wharf_gitea_client::npm::{NpmRegistry, PackageTarball};
use wharf_gitea_client::{Auth, Error};
use wharf_testkit::services;

use super::build::{npm_tarball, unique_suffix};

fn registry() -> (NpmRegistry, services::PackageIndex) {
    let index = services::npm();
    let token = index.token.clone().expect("verdaccio has a token");
    let registry = NpmRegistry::new(&format!("{}/", index.url), Auth::bearer(token)).unwrap();
    (registry, index)
}

fn scoped_name() -> String {
    format!("@wharf/demo-{}", unique_suffix())
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn scoped_package_publishes_and_npm_installs_it() {
    let (registry, index) = registry();
    let name = scoped_name();
    let tarball = PackageTarball::from_bytes("demo.tgz", npm_tarball(&name, "1.0.0", 42)).unwrap();
    registry.publish(&tarball, None).await.unwrap();

    let packument = registry.packument(&name).await.unwrap();
    assert_eq!(
        packument.dist_tags.get("latest").map(String::as_str),
        Some("1.0.0")
    );
    assert_eq!(
        packument.integrity("1.0.0"),
        Some(tarball.integrity().as_str())
    );
    assert_eq!(
        registry.download_tarball(&name, "1.0.0").await.unwrap(),
        npm_tarball(&name, "1.0.0", 42)
    );

    let dir = tempfile::tempdir().unwrap();
    let registry_url = format!("{}/", index.url);
    let host_path = registry_url.trim_start_matches("http:");
    let npmrc = format!(
        "registry={registry_url}\n{host_path}:_authToken={}\n",
        index.token.as_deref().unwrap()
    );
    std::fs::write(dir.path().join(".npmrc"), npmrc).unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name":"consumer","version":"0.0.0","private":true}"#,
    )
    .unwrap();
    run(Command::new("npm").current_dir(dir.path()).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--registry",
        &registry_url,
        &format!("{name}@1.0.0"),
    ]));
    let printed = run(Command::new("node")
        .current_dir(dir.path())
        .args(["-e", &format!("console.log(require('{name}').answer)")]));
    assert_eq!(printed.trim(), "42");
}

#[tokio::test]
async fn dist_tags_round_trip() {
    let (registry, _) = registry();
    let name = scoped_name();
    for version in ["1.0.0", "1.1.0-beta.1"] {
        let tarball =
            PackageTarball::from_bytes("demo.tgz", npm_tarball(&name, version, 1)).unwrap();
        let tag = if version == "1.0.0" {
            None
        } else {
            Some("next")
        };
        registry.publish(&tarball, tag).await.unwrap();
    }

    registry
        .add_dist_tag(&name, "beta", "1.1.0-beta.1")
        .await
        .unwrap();
    let tags = registry.dist_tags(&name).await.unwrap();
    assert_eq!(tags.get("latest").map(String::as_str), Some("1.0.0"));
    assert_eq!(tags.get("beta").map(String::as_str), Some("1.1.0-beta.1"));

    registry.remove_dist_tag(&name, "beta").await.unwrap();
    let tags = registry.dist_tags(&name).await.unwrap();
    assert!(!tags.contains_key("beta"), "{tags:?}");

    registry
        .unpublish_version(&name, "1.1.0-beta.1")
        .await
        .unwrap();
    let packument = registry.packument(&name).await.unwrap();
    assert!(
        !packument.versions.contains_key("1.1.0-beta.1"),
        "{packument:?}"
    );
    assert!(packument.versions.contains_key("1.0.0"), "{packument:?}");
    assert!(!packument.dist_tags.contains_key("next"), "{packument:?}");

    registry.unpublish(&name).await.unwrap();
    let error = registry.packument(&name).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn duplicate_version_is_already_exists() {
    let (registry, _) = registry();
    let name = scoped_name();
    let tarball = PackageTarball::from_bytes("demo.tgz", npm_tarball(&name, "2.0.0", 7)).unwrap();
    registry.publish(&tarball, None).await.unwrap();

    let error = registry.publish(&tarball, None).await.unwrap_err();
    assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::CONFLICT));
}
