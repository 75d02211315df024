//! `publish` against pypiserver and verdaccio (PyPI and npm protocol, as Gitea speaks them),
//! and against wiremock playing Gitea's Cargo, Helm and generic endpoints: a first publish
//! succeeds, a duplicate exits 1 with the server's message, `--skip-existing` turns it into
//! success.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use wharf_testkit::services;
use wiremock::matchers::{body_bytes, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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

/// What each file of a JSON publish report ended as: `(kind, package, status)`.
fn outcomes(output: &std::process::Output) -> Vec<(String, String, String)> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", describe(output)));
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            let field = |name: &str| file[name].as_str().unwrap_or_default().to_owned();
            (field("kind"), field("package"), field("status"))
        })
        .collect()
}

/// Gitea's answers (go-gitea/gitea `routers/api/packages/{cargo,helm,generic}`): the first
/// upload of each is accepted, any later one is a 409 duplicate. Every request must carry
/// the token as Gitea reads it (`Authorization: token ...`).
async fn gitea_with_cargo_helm_and_generic(owner: &str, generic_file: &[u8]) -> MockServer {
    let server = MockServer::start().await;
    let at = |suffix: &str| format!("/api/packages/{owner}/{suffix}");
    let token = || header("authorization", "token gitea-pat-e2e");
    let once = [
        (
            "PUT",
            at("cargo/api/v1/crates/new"),
            ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#),
        ),
        ("POST", at("helm/api/charts"), ResponseTemplate::new(201)),
        (
            "PUT",
            at("generic/backups/2026.12/dump.sql.zst"),
            ResponseTemplate::new(201),
        ),
    ];
    for (verb, route, accepted) in once {
        let mut first = Mock::given(method(verb))
            .and(path(route.as_str()))
            .and(token());
        if route.ends_with("dump.sql.zst") {
            first = first.and(body_bytes(generic_file.to_vec()));
        }
        first
            .respond_with(accepted)
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        let duplicate = if route.contains("/cargo/") {
            ResponseTemplate::new(409).set_body_string(
                r#"{"ok":false,"errors":[{"detail":"package version already exists"}]}"#,
            )
        } else {
            ResponseTemplate::new(409).set_body_string("package version already exists")
        };
        Mock::given(method(verb))
            .and(path(route.as_str()))
            .and(token())
            .respond_with(duplicate)
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn crate_chart_and_generic_file_reach_their_gitea_endpoints() {
    let owner = "platform";
    let scratch = tempfile::tempdir().unwrap();
    let crate_file = tar_gz(
        scratch.path(),
        "wharf-demo-0.1.0.crate",
        "wharf-demo-0.1.0",
        &[(
            "Cargo.toml",
            "[package]\nname = \"wharf-demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
                .to_owned(),
        )],
    );
    let chart = tar_gz(
        scratch.path(),
        "api-0.4.0.tgz",
        "api",
        &[(
            "Chart.yaml",
            "apiVersion: v2\nname: api\nversion: 0.4.0\n".to_owned(),
        )],
    );
    let dump = scratch.path().join("dump.sql.zst");
    std::fs::write(&dump, b"not really zstd").unwrap();
    let server = gitea_with_cargo_helm_and_generic(owner, b"not really zstd").await;
    let url = server.uri();
    let (crate_arg, chart_arg, dump_arg) = (
        crate_file.display().to_string(),
        chart.display().to_string(),
        dump.display().to_string(),
    );
    let gitea = ["--url", url.as_str(), "--owner", owner, "--output", "json"];
    let both = [&gitea[..], &[crate_arg.as_str(), chart_arg.as_str()]].concat();
    let generic = [
        &gitea[..],
        &[
            "--kind",
            "generic",
            "--name",
            "backups",
            "--package-version",
            "2026.12",
            dump_arg.as_str(),
        ],
    ]
    .concat();
    let env = [("GITEA_TOKEN", "gitea-pat-e2e")];
    let triple = |kind: &str, package: &str, status: &str| {
        (kind.to_owned(), package.to_owned(), status.to_owned())
    };

    let first = run_bin(PUBLISH, &both, &env).await;
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    assert_eq!(
        outcomes(&first),
        [
            triple("cargo", "wharf-demo", "published"),
            triple("helm", "api", "published")
        ]
    );
    let generic_run = run_bin(PUBLISH, &generic, &env).await;
    assert_eq!(
        generic_run.status.code(),
        Some(0),
        "{}",
        describe(&generic_run)
    );
    assert_eq!(
        outcomes(&generic_run),
        [triple("generic", "backups", "published")]
    );

    let again = run_bin(PUBLISH, &both, &env).await;
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    let statuses: Vec<String> = outcomes(&again).into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(statuses, ["already exists", "already exists"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("package version already exists"),
        "the server's reason is shown: {}",
        describe(&again)
    );
    let skipping = [&["--skip-existing"][..], &both[..]].concat();
    let skipped = run_bin(PUBLISH, &skipping, &env).await;
    assert_eq!(skipped.status.code(), Some(0), "{}", describe(&skipped));
}

/// A GET with curl (on PATH with the stack), to read the index without another client.
fn http_get(url: &str) -> String {
    let output = std::process::Command::new("curl")
        .args(["-sSL", url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}
