//! Gitea's exact per-format paths, status codes and bodies, played by wiremock.
//!
//! Codes and messages follow go-gitea/gitea `routers/api/packages/<format>/*.go`: uploads
//! answer 201 (Cargo 200 with `{"ok":true}`), duplicates 409 with "package version already
//! exists" / "package file already exists" (PyPI and npm 400), quota 403 with "maximum allowed
//! package … exceeded"; the per-format errors are plain text, Cargo's are
//! `{"errors":[{"detail":…}]}`.

use futures::TryStreamExt;
use http::StatusCode;
use serde_json::Value;
use wharf_gitea_client::maven::{Artifact, Coordinates, checksums};
use wharf_gitea_client::{Auth, Error, GiteaClient};
use wiremock::matchers::{body_bytes, body_string, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::build;

const OWNER: &str = "k3s-homelab";
const TOKEN: &str = "gitea-pat-0123456789";

async fn gitea() -> (MockServer, GiteaClient) {
    let server = MockServer::start().await;
    let client = GiteaClient::builder(server.uri(), OWNER)
        .auth(Auth::token(TOKEN))
        .build()
        .unwrap();
    (server, client)
}

fn at(suffix: &str) -> String {
    format!("/api/packages/{OWNER}/{suffix}")
}

fn text(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(message)
}

#[tokio::test]
async fn generic_streams_up_and_down_and_deletes() {
    let (server, gitea) = gitea().await;
    let contents = b"streamed generic payload".repeat(1000);
    let file_path = at("generic/tools/1.0.0/tool.bin");
    Mock::given(method("PUT"))
        .and(path(file_path.as_str()))
        .and(header("authorization", format!("token {TOKEN}").as_str()))
        .and(body_bytes(contents.clone()))
        .respond_with(ResponseTemplate::new(201))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(file_path.as_str()))
        .respond_with(text(409, "package file already exists"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(file_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(contents.clone()))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(file_path.as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(at("generic/tools/1.0.0").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("tool.bin");
    std::fs::write(&local, &contents).unwrap();
    let generic = gitea.generic();
    generic
        .upload_file("tools", "1.0.0", "tool.bin", &local)
        .await
        .unwrap();

    let error = generic
        .upload_file("tools", "1.0.0", "tool.bin", &local)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::AlreadyExists { ref message, .. } if message == "package file already exists"),
        "{error:?}"
    );

    let chunks: Vec<bytes::Bytes> = generic
        .download("tools", "1.0.0", "tool.bin")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.concat(), contents);
    generic
        .delete_file("tools", "1.0.0", "tool.bin")
        .await
        .unwrap();
    generic.delete_version("tools", "1.0.0").await.unwrap();
}

#[tokio::test]
async fn generic_quota_scope_and_missing_files_are_named() {
    let (server, gitea) = gitea().await;
    Mock::given(method("PUT"))
        .and(path(at("generic/big/1.0.0/a.bin").as_str()))
        .respond_with(text(403, "maximum allowed package type size exceeded"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(at("generic/big/1.0.0/b.bin").as_str()))
        .respond_with(text(
            401,
            "user should have specific permission or be a site admin",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(at("generic/big/1.0.0/c%20d.bin").as_str()))
        .respond_with(text(404, "package does not exist"))
        .mount(&server)
        .await;

    let generic = gitea.generic();
    let error = generic
        .upload("big", "1.0.0", "a.bin", "x")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::QuotaExceeded { .. }), "{error:?}");
    assert_eq!(
        error.server_message(),
        Some("maximum allowed package type size exceeded")
    );
    let error = generic
        .upload("big", "1.0.0", "b.bin", "x")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    let error = generic
        .download("big", "1.0.0", "c d.bin")
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn maven_deploys_artifact_pom_checksums_and_metadata() {
    let (server, gitea) = gitea().await;
    let jar = b"PK fake jar".to_vec();
    let pom = b"<project><groupId>org.example</groupId></project>".to_vec();
    let version_dir = at("maven/org/example/demo/1.0.0");
    for (file, bytes) in [("demo-1.0.0.jar", &jar), ("demo-1.0.0.pom", &pom)] {
        Mock::given(method("PUT"))
            .and(path(format!("{version_dir}/{file}").as_str()))
            .and(body_bytes(bytes.clone()))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&server)
            .await;
        for (extension, sum) in checksums(bytes) {
            Mock::given(method("PUT"))
                .and(path(format!("{version_dir}/{file}.{extension}").as_str()))
                .and(body_string(sum))
                .respond_with(ResponseTemplate::new(200))
                .expect(1)
                .mount(&server)
                .await;
        }
    }
    let metadata_path = at("maven/org/example/demo/maven-metadata.xml");
    Mock::given(method("GET"))
        .and(path(metadata_path.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<metadata><versioning><versions><version>0.9.0</version></versions></versioning></metadata>",
        ))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(metadata_path.as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    for extension in ["md5", "sha1", "sha256", "sha512"] {
        Mock::given(method("PUT"))
            .and(path(format!("{metadata_path}.{extension}").as_str()))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }

    let coordinates = Coordinates::new("org.example", "demo", "1.0.0");
    gitea
        .maven()
        .deploy(&coordinates, &Artifact::new("jar", jar), pom)
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let metadata = requests
        .iter()
        .find(|request| {
            request.method == wiremock::http::Method::PUT && request.url.path() == metadata_path
        })
        .unwrap();
    let xml = String::from_utf8_lossy(&metadata.body);
    assert!(
        xml.contains("<version>0.9.0</version>") && xml.contains("<release>1.0.0</release>"),
        "{xml}"
    );
    let order: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == wiremock::http::Method::PUT)
        .map(|r| r.url.path())
        .collect();
    assert!(
        order[0].ends_with("demo-1.0.0.jar") && order[5].ends_with("demo-1.0.0.pom"),
        "{order:?}"
    );
}

#[tokio::test]
async fn maven_duplicate_and_checksum_mismatch() {
    let (server, gitea) = gitea().await;
    Mock::given(method("PUT"))
        .and(path(
            at("maven/org/example/demo/1.0.0/demo-1.0.0.jar").as_str(),
        ))
        .respond_with(text(409, "package file already exists"))
        .mount(&server)
        .await;
    let coordinates = Coordinates::new("org.example", "demo", "1.0.0");
    let error = gitea
        .maven()
        .deploy(&coordinates, &Artifact::new("jar", "x"), "pom")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");

    Mock::given(method("PUT"))
        .and(path(
            at("maven/org/example/demo/1.0.1/demo-1.0.1.jar").as_str(),
        ))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(
            at("maven/org/example/demo/1.0.1/demo-1.0.1.jar.md5").as_str(),
        ))
        .respond_with(text(400, "hash mismatch"))
        .mount(&server)
        .await;
    let coordinates = Coordinates::new("org.example", "demo", "1.0.1");
    let error = gitea
        .maven()
        .deploy(&coordinates, &Artifact::new("jar", "x"), "pom")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Api { status: StatusCode::BAD_REQUEST, ref message, .. } if message == "hash mismatch"),
        "{error:?}"
    );
}

#[tokio::test]
async fn go_module_upload_and_duplicate() {
    let (server, gitea) = gitea().await;
    let module_zip = b"PK module zip".to_vec();
    Mock::given(method("PUT"))
        .and(path(at("go/upload").as_str()))
        .and(body_bytes(module_zip.clone()))
        .and(header(
            "content-length",
            module_zip.len().to_string().as_str(),
        ))
        .respond_with(ResponseTemplate::new(201))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(at("go/upload").as_str()))
        .respond_with(text(409, "package version already exists"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(at("go/example.com/!team/mod/@v/list").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("v1.0.0\nv1.1.0\n"))
        .mount(&server)
        .await;

    // The first upload streams the file from disk, the second sends bytes from memory.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v1.0.0.zip");
    std::fs::write(&file, &module_zip).unwrap();
    let go = gitea.go();
    go.upload_file(&file).await.unwrap();
    let error = go.upload(module_zip).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::AlreadyExists {
                status: StatusCode::CONFLICT,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        go.versions("example.com/Team/mod").await.unwrap(),
        ["v1.0.0", "v1.1.0"]
    );
}

#[tokio::test]
async fn quota_is_named_for_maven_go_and_cargo() {
    // Gitea checks the owner's quota before storing any file and answers 403; the per-format
    // routers write it as plain text, Cargo's as its JSON error list.
    let (server, gitea) = gitea().await;
    let quota = "maximum allowed package storage quota exceeded";
    for route in ["maven/org/example/demo/2.0.0/demo-2.0.0.jar", "go/upload"] {
        Mock::given(method("PUT"))
            .and(path(at(route).as_str()))
            .respond_with(text(403, quota))
            .mount(&server)
            .await;
    }
    Mock::given(method("PUT"))
        .and(path(at("cargo/api/v1/crates/new").as_str()))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string(format!(r#"{{"errors":[{{"detail":"{quota}"}}]}}"#)),
        )
        .mount(&server)
        .await;

    let coordinates = Coordinates::new("org.example", "demo", "2.0.0");
    let maven = gitea
        .maven()
        .deploy(&coordinates, &Artifact::new("jar", "x"), "pom")
        .await
        .unwrap_err();
    let go = gitea.go().upload(b"PK module".to_vec()).await.unwrap_err();
    let dir = tempfile::tempdir().unwrap();
    let crate_file = dir.path().join("wharf-demo-0.2.0.crate");
    std::fs::write(&crate_file, build::crate_file("wharf-demo", "0.2.0")).unwrap();
    let cargo = gitea.cargo().publish_file(&crate_file).await.err().unwrap();
    for (format, error) in [("maven", maven), ("go", go), ("cargo", cargo)] {
        assert!(
            matches!(&error, Error::QuotaExceeded { status, message }
                if *status == StatusCode::FORBIDDEN && message == quota),
            "{format}: {error:?}"
        );
    }
}

/// Checks cargo's framing: u32 LE JSON length, JSON, u32 LE crate length, crate.
struct CargoFraming {
    name: &'static str,
    crate_bytes: Vec<u8>,
}

impl wiremock::Match for CargoFraming {
    fn matches(&self, request: &Request) -> bool {
        let body = &request.body;
        let Some(json_len) = body
            .get(..4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
        else {
            return false;
        };
        let Ok(json) = serde_json::from_slice::<Value>(&body[4..4 + json_len]) else {
            return false;
        };
        let rest = &body[4 + json_len..];
        let crate_len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        json["name"] == self.name
            && json["vers"] == "0.1.0"
            && crate_len == self.crate_bytes.len()
            && rest[4..] == self.crate_bytes[..]
    }
}

#[tokio::test]
async fn cargo_publish_index_yank_and_duplicate() {
    let (server, gitea) = gitea().await;
    let crate_bytes = build::crate_file("wharf-demo", "0.1.0");
    Mock::given(method("PUT"))
        .and(path(at("cargo/api/v1/crates/new").as_str()))
        .and(CargoFraming {
            name: "wharf-demo",
            crate_bytes: crate_bytes.clone(),
        })
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(at("cargo/api/v1/crates/new").as_str()))
        .respond_with(ResponseTemplate::new(409).set_body_string(
            r#"{"ok":false,"errors":[{"detail":"package version already exists"}]}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(at("cargo/wh/ar/wharf-demo").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "{\"name\":\"wharf-demo\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"abc\",\"features\":{},\"yanked\":false,\"links\":null}\n",
        ))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(
            at("cargo/api/v1/crates/wharf-demo/0.1.0/yank").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(
            at("cargo/api/v1/crates/wharf-demo/0.1.0/unyank").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wharf-demo-0.1.0.crate");
    std::fs::write(&file, &crate_bytes).unwrap();
    let cargo = gitea.cargo();
    let published = cargo.publish_file(&file).await.unwrap();
    assert_eq!(published.metadata()["deps"][0]["name"], "serde");

    let error = cargo.publish(&published).await.unwrap_err();
    assert!(
        matches!(error, Error::AlreadyExists { ref message, .. } if message == "package version already exists"),
        "{error:?}"
    );

    let index = cargo.index("wharf-demo").await.unwrap();
    assert_eq!((index[0].vers.as_str(), index[0].yanked), ("0.1.0", false));
    cargo.yank("wharf-demo", "0.1.0").await.unwrap();
    cargo.unyank("wharf-demo", "0.1.0").await.unwrap();
}

#[tokio::test]
async fn helm_upload_index_duplicate_and_quota() {
    let (server, gitea) = gitea().await;
    let chart = build::chart("wharf-chart", "0.1.0");
    Mock::given(method("POST"))
        .and(path(at("helm/api/charts").as_str()))
        .and(body_bytes(chart.clone()))
        .respond_with(ResponseTemplate::new(201))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(at("helm/api/charts").as_str()))
        .and(body_bytes(chart.clone()))
        .respond_with(text(409, "package version already exists"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(at("helm/api/charts").as_str()))
        .respond_with(text(403, "maximum allowed package storage quota exceeded"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(at("helm/index.yaml").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "apiVersion: v1\nentries:\n  wharf-chart:\n  - apiVersion: v2\n    name: wharf-chart\n    version: 0.1.0\n    \
             urls:\n    - http://g/api/packages/k3s-homelab/helm/charts/wharf-chart-0.1.0.tgz\n    digest: abc\ngenerated: \"2024-01-01T00:00:00Z\"\n",
        ))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wharf-chart-0.1.0.tgz");
    std::fs::write(&file, &chart).unwrap();
    let helm = gitea.helm();
    let uploaded = helm.upload_file(&file).await.unwrap();
    assert_eq!(uploaded.metadata().name, "wharf-chart");
    let error = helm.upload(&uploaded).await.unwrap_err();
    assert!(matches!(error, Error::AlreadyExists { .. }), "{error:?}");

    let other = build::chart("other-chart", "0.2.0");
    let other = wharf_gitea_client::helm::ChartArchive::from_bytes("other.tgz", other).unwrap();
    let error = helm.upload(&other).await.unwrap_err();
    assert!(matches!(error, Error::QuotaExceeded { .. }), "{error:?}");

    let index = helm.index().await.unwrap();
    assert_eq!(index.entries["wharf-chart"][0].metadata.version, "0.1.0");
}

#[tokio::test]
async fn gitea_pypi_and_npm_duplicates_are_400_and_still_already_exists() {
    let (server, gitea) = gitea().await;
    Mock::given(method("POST"))
        .and(path(at("pypi").as_str()))
        .respond_with(text(400, "package file already exists"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(at("npm/@wharf%2fdemo").as_str()))
        .respond_with(text(400, "package version already exists"))
        .mount(&server)
        .await;

    let (wheel_name, wheel) = build::PythonProject::new("0.1.0").wheel();
    let error = gitea.pypi().upload(&wheel_name, wheel).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::AlreadyExists {
                status: StatusCode::BAD_REQUEST,
                ..
            }
        ),
        "{error:?}"
    );

    let tarball = wharf_gitea_client::npm::PackageTarball::from_bytes(
        "t.tgz",
        build::npm_tarball("@wharf/demo", "1.0.0", 1),
    )
    .unwrap();
    let error = gitea.npm().publish(&tarball, None).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::AlreadyExists {
                status: StatusCode::BAD_REQUEST,
                ..
            }
        ),
        "{error:?}"
    );

    let uploaded: Vec<Request> = server.received_requests().await.unwrap();
    let form = String::from_utf8_lossy(&uploaded[0].body);
    for field in [
        ":action",
        "protocol_version",
        "filetype",
        "pyversion",
        "metadata_version",
        "sha256_digest",
        "requires_python",
        "content",
    ] {
        assert!(
            form.contains(&format!("name=\"{field}\"")),
            "{field} missing from the form"
        );
    }
    let document: Value = serde_json::from_slice(&uploaded[1].body).unwrap();
    assert!(
        document["versions"]["1.0.0"]["dist"]["integrity"]
            .as_str()
            .unwrap()
            .starts_with("sha512-")
    );
}

#[tokio::test]
async fn a_wheel_streamed_from_disk_sends_the_same_form_as_one_in_memory() {
    let (server, gitea) = gitea().await;
    Mock::given(method("POST"))
        .and(path(at("pypi").as_str()))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let (wheel_name, wheel) = build::PythonProject::new("0.2.0").wheel();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(&wheel_name);
    std::fs::write(&file, &wheel).unwrap();

    let streamed = gitea.pypi().upload_file(&file).await.unwrap();
    let in_memory = gitea
        .pypi()
        .upload(&wheel_name, wheel.clone())
        .await
        .unwrap();
    assert_eq!(streamed, in_memory);

    let requests: Vec<Request> = server.received_requests().await.unwrap();
    let form_without_boundary = |request: &Request| {
        let content_type = request.headers["content-type"].to_str().unwrap();
        let boundary = content_type.split("boundary=").nth(1).unwrap();
        String::from_utf8_lossy(&request.body).replace(boundary, "BOUNDARY")
    };
    assert_eq!(
        form_without_boundary(&requests[0]),
        form_without_boundary(&requests[1])
    );
    let body = &requests[0].body;
    assert!(body.windows(wheel.len()).any(|window| window == wheel));
    // Every part has a known length, so the streamed form still has a Content-Length.
    assert_eq!(
        requests[0].headers["content-length"].to_str().unwrap(),
        body.len().to_string()
    );
}

#[tokio::test]
async fn cargo_config_reads_gitea_s_config_json() {
    let (server, gitea) = gitea().await;
    // As services/packages/cargo BuildConfig writes it for a private owner.
    let config = serde_json::json!({
        "dl": format!("https://gitea.example.com/api/packages/{OWNER}/cargo/api/v1/crates"),
        "api": format!("https://gitea.example.com/api/packages/{OWNER}/cargo"),
        "auth-required": true,
    });
    Mock::given(method("GET"))
        .and(path(at("cargo/config.json").as_str()))
        .and(header("Authorization", format!("token {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&config))
        .expect(1)
        .mount(&server)
        .await;

    let read = gitea.cargo().config().await.unwrap();
    assert_eq!(read.dl, config["dl"]);
    assert_eq!(read.api.as_deref(), config["api"].as_str());
    assert!(read.auth_required);
}

#[tokio::test]
async fn maven_download_follows_gitea_s_redirect_to_storage_without_the_token() {
    let (server, gitea) = gitea().await;
    let storage = MockServer::start().await;
    let jar = b"PK the jar".to_vec();
    let signed = format!(
        "{}/bucket/demo-1.0.0.jar?X-Amz-Signature=abc",
        storage.uri()
    );
    Mock::given(method("GET"))
        .and(path(
            at("maven/org/example/demo/1.0.0/demo-1.0.0.jar").as_str(),
        ))
        .and(header("Authorization", format!("token {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(303).insert_header("Location", signed.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/demo-1.0.0.jar"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(jar.clone()))
        .expect(1)
        .mount(&storage)
        .await;

    let coordinates = Coordinates::new("org.example", "demo", "1.0.0");
    let downloaded = gitea
        .maven()
        .download(&coordinates, "demo-1.0.0.jar")
        .await
        .unwrap();
    assert_eq!(downloaded.as_ref(), jar.as_slice());
    let at_storage = &storage.received_requests().await.unwrap()[0];
    assert!(at_storage.headers.get("authorization").is_none());
}
