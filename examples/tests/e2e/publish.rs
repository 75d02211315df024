//! `publish` against pypiserver and verdaccio (PyPI and npm protocol, as Gitea speaks them):
//! a first publish succeeds, a duplicate exits 1 with the server's message, `--skip-existing`
//! turns it into success.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use wharf_testkit::services;

use super::sim::{describe, run_bin};

const PUBLISH: &str = env!("CARGO_BIN_EXE_publish");

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}{}", std::process::id(), nanos % 1_000_000_000)
}

/// `tar -czf <dir>/<archive> -C <dir> <root>` after writing `files` under `<dir>/<root>`.
fn tar_gz(dir: &Path, archive: &str, root: &str, files: &[(&str, String)]) -> PathBuf {
    for (path, contents) in files {
        let path = dir.join(root).join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let target = dir.join(archive);
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&target)
        .arg("-C")
        .arg(dir)
        .arg(root)
        .status()
        .expect("tar runs");
    assert!(status.success());
    target
}

#[tokio::test]
async fn python_duplicates_exit_1_unless_skipped() {
    let index = services::pypi();
    let scratch = tempfile::tempdir().unwrap();
    let module = unique("wharf_publish_");
    let root = format!("{module}-1.0.0");
    let pkg_info =
        format!("Metadata-Version: 2.1\nName: {module}\nVersion: 1.0.0\nSummary: publish test\n");
    let sdist = tar_gz(
        scratch.path(),
        &format!("{root}.tar.gz"),
        &root,
        &[("PKG-INFO", pkg_info)],
    );
    let sdist = sdist.display().to_string();
    let upload_url = format!("{}/", index.url);
    let args = [
        "--pypi-url",
        upload_url.as_str(),
        "--user",
        index.username.as_str(),
        sdist.as_str(),
    ];
    let env = [("GITEA_TOKEN", index.password.as_str())];

    let first = run_bin(PUBLISH, &args, &env).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("published"));
    let simple = http_get(&format!(
        "{}/simple/{}/",
        index.url,
        module.replace('_', "-")
    ));
    assert!(
        simple.contains(&format!("{root}.tar.gz")),
        "the index lists the file: {simple}"
    );

    let duplicate = run_bin(PUBLISH, &args, &env).await;
    assert_eq!(duplicate.status.code(), Some(1), "{}", describe(&duplicate));
    assert!(
        String::from_utf8_lossy(&duplicate.stdout).contains("already exists"),
        "{}",
        describe(&duplicate)
    );

    let mut skipping = args.to_vec();
    skipping.insert(0, "--skip-existing");
    let skipped = run_bin(PUBLISH, &skipping, &env).await;
    assert_eq!(skipped.status.code(), Some(0), "{}", describe(&skipped));
}

#[tokio::test]
async fn npm_duplicates_exit_1() {
    let index = services::npm();
    let scratch = tempfile::tempdir().unwrap();
    let name = unique("wharf-publish-");
    let manifest = format!(r#"{{"name":"{name}","version":"1.0.0","description":"publish test"}}"#);
    let tarball = tar_gz(
        scratch.path(),
        &format!("{name}-1.0.0.tgz"),
        "package",
        &[("package.json", manifest)],
    );
    let tarball = tarball.display().to_string();
    let registry = format!("{}/", index.url);
    let token = index.token.clone().expect("verdaccio token");
    let args = [
        "--npm-registry",
        registry.as_str(),
        "--bearer",
        "--output",
        "json",
        tarball.as_str(),
    ];
    let env = [("GITEA_TOKEN", token.as_str())];

    let first = run_bin(PUBLISH, &args, &env).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["files"][0]["kind"], "npm");
    assert_eq!(report["files"][0]["package"], name.as_str());

    let duplicate = run_bin(PUBLISH, &args, &env).await;
    assert_eq!(duplicate.status.code(), Some(1), "{}", describe(&duplicate));
    let report: serde_json::Value = serde_json::from_slice(&duplicate.stdout).unwrap();
    assert_eq!(report["files"][0]["status"], "already exists");
    assert!(
        report["files"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already")
    );
}

#[tokio::test]
async fn gitea_formats_need_url_and_owner() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("demo-0.1.0.crate");
    std::fs::write(&file, b"not really a crate").unwrap();
    let file = file.display().to_string();
    let output = run_bin(PUBLISH, &[file.as_str()], &[("GITEA_TOKEN", "t")]).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("--url and --owner"));
    let no_token = run_bin(PUBLISH, &[file.as_str()], &[]).await;
    assert_eq!(no_token.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("GITEA_TOKEN"));
}

/// A GET with curl (on PATH with the stack), to read the index without another client.
fn http_get(url: &str) -> String {
    let output = std::process::Command::new("curl")
        .args(["-sSL", url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
