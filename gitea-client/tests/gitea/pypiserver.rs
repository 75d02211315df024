//! PyPI protocol against a real pypiserver: upload, simple index, download, `pip install`.

use std::path::Path;
use std::process::Command;

use wharf_gitea_client::pypi::PypiRegistry;
use wharf_gitea_client::{Auth, Error};
use wharf_testkit::services;

use super::build::PythonProject;

fn registry() -> (PypiRegistry, String) {
    let index = services::pypi();
    let registry = PypiRegistry::new(
        &format!("{}/", index.url),
        &format!("{}/simple/", index.url),
        Auth::basic(index.username.clone(), index.password.clone()),
    )
    .unwrap();
    (registry, index.url)
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn pip_install_and_import(index_url: &str, project: &PythonProject, dir: &Path) {
    let venv = dir.join("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    let requirement = format!("{}=={}", project.name, project.version);
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--index-url",
        &format!("{index_url}/simple/"),
        &requirement,
    ]));
    let printed = run(Command::new(venv.join("bin/python")).args([
        "-c",
        &format!("import {0}; print({0}.VALUE)", project.module),
    ]));
    assert_eq!(printed.trim(), project.value);
}

#[tokio::test]
async fn wheel_and_sdist_publish_list_download_and_pip_install() {
    let (registry, index_url) = registry();
    let project = PythonProject::new("0.1.0");
    let (wheel_name, wheel) = project.wheel();
    let (sdist_name, sdist) = project.sdist();

    // The wheel goes up streamed from disk, the sdist from memory: both ways reach the index.
    let dist = tempfile::tempdir().unwrap();
    let wheel_path = dist.path().join(&wheel_name);
    std::fs::write(&wheel_path, &wheel).unwrap();
    let uploaded = registry.upload_file(&wheel_path).await.unwrap();
    assert_eq!(
        (uploaded.name.as_str(), uploaded.version.as_str()),
        (project.name.as_str(), "0.1.0")
    );
    registry.upload(&sdist_name, sdist).await.unwrap();

    let files = registry.files(&project.name).await.unwrap();
    let names: Vec<&str> = files.iter().map(|file| file.file_name.as_str()).collect();
    assert!(
        names.contains(&wheel_name.as_str()) && names.contains(&sdist_name.as_str()),
        "{names:?}"
    );
    let listed_wheel = files
        .iter()
        .find(|file| file.file_name == wheel_name)
        .unwrap();
    assert_eq!(
        listed_wheel
            .hash
            .as_ref()
            .map(|(algorithm, hex)| (algorithm.as_str(), hex.as_str())),
        Some(("sha256", uploaded.sha256.as_str()))
    );

    let dir = tempfile::tempdir().unwrap();
    let downloaded = dir.path().join(&wheel_name);
    registry.download(listed_wheel, &downloaded).await.unwrap();
    assert_eq!(std::fs::read(&downloaded).unwrap(), wheel);

    pip_install_and_import(&index_url, &project, dir.path());
}

#[tokio::test]
async fn second_publish_is_already_exists() {
    let (registry, _) = registry();
    let project = PythonProject::new("1.0.0");
    let (wheel_name, wheel) = project.wheel();
    registry.upload(&wheel_name, wheel.clone()).await.unwrap();

    let error = registry.upload(&wheel_name, wheel).await.unwrap_err();
    assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");
    assert!(
        error
            .server_message()
            .is_some_and(|message| !message.is_empty()),
        "{error:?}"
    );
}

#[tokio::test]
async fn wrong_password_is_forbidden_and_bad_files_never_leave() {
    let index = services::pypi();
    let registry = PypiRegistry::new(
        &format!("{}/", index.url),
        &format!("{}/simple/", index.url),
        Auth::basic(index.username, "wrong"),
    )
    .unwrap();
    let (wheel_name, wheel) = PythonProject::new("0.0.1").wheel();
    let error = registry.upload(&wheel_name, wheel).await.unwrap_err();
    // pypiserver refuses a wrong password with 403 (Gitea answers 401); no quota text, so the
    // error is Forbidden rather than QuotaExceeded.
    // FIXME: pypiserver sometimes answers and closes before it has read the body, and the
    // client then sees a broken pipe instead of the 403; reading the early answer would need
    // an `Expect: 100-continue` upload, which reqwest does not offer.
    let refused = matches!(error, Error::Forbidden { .. })
        || matches!(&error, Error::Http { source, .. } if source.is_request());
    assert!(refused, "{error:?}");

    let error = registry
        .upload("broken-1.0-py3-none-any.whl", b"not a zip".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidPackage { .. }), "{error:?}");
}
