//! Shared helpers: a started simulator with an admin client, OCI layouts, skopeo.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use wharf_testkit::harbor_sim::{HarborSim, HarborSimConfig, HarborSimHandle};

/// A running simulator and a plain HTTP client.
pub struct Harbor {
    pub sim: HarborSimHandle,
    pub http: reqwest::Client,
    /// Where the API calls go (the simulator, or a proxy in front of it).
    pub base: String,
}

/// Robot credentials as `POST /robots` returned them.
#[derive(Debug, Clone)]
pub struct RobotAccount {
    pub id: i64,
    pub name: String,
    pub secret: String,
}

impl Harbor {
    pub async fn start() -> Self {
        Self::start_with(HarborSimConfig::default()).await
    }

    pub async fn start_with(config: HarborSimConfig) -> Self {
        let sim = HarborSim::start(config)
            .await
            .expect("the simulator starts");
        let base = sim.url().to_owned();
        Self {
            sim,
            http: reqwest::Client::builder()
                .timeout(Duration::from_mins(1))
                .build()
                .unwrap(),
            base,
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v2.0{path}", self.base)
    }

    /// A request as the admin.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let (user, password) = self.sim.admin();
        self.call(method, path, body, Some((user, password))).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        credentials: Option<(&str, &str)>,
    ) -> Response {
        let mut request = self.http.request(method, self.api(path));
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the simulator answers")
    }

    pub async fn create_project(&self, name: &str, metadata: Value) {
        let response = self
            .admin(
                Method::POST,
                "/projects",
                Some(json!({"project_name": name, "metadata": metadata})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "create project {name}"
        );
    }

    pub async fn create_robot(
        &self,
        project: &str,
        name: &str,
        access: &[(&str, &str)],
    ) -> RobotAccount {
        let access: Vec<Value> = access
            .iter()
            .map(|(resource, action)| json!({"resource": resource, "action": action}))
            .collect();
        let body = json!({
            "name": name,
            "level": "project",
            "duration": -1,
            "permissions": [{"kind": "project", "namespace": project, "access": access}],
        });
        let response = self.admin(Method::POST, "/robots", Some(body)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        RobotAccount {
            id: created["id"].as_i64().unwrap(),
            name: created["name"].as_str().unwrap().to_owned(),
            secret: created["secret"].as_str().unwrap().to_owned(),
        }
    }

    /// `docker://host/repo:tag` of the simulator's registry.
    pub fn image(&self, repository: &str, tag: &str) -> String {
        format!("docker://{}/{repository}:{tag}", self.sim.registry_host())
    }

    /// Pushes a fresh one-layer image as the admin; returns the manifest digest.
    pub async fn push_image(&self, repository: &str, tag: &str, payload: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let digest = write_layout(dir.path(), tag, payload);
        let (user, password) = self.sim.admin();
        let output = skopeo_copy(
            &format!("oci:{}:{tag}", dir.path().display()),
            &self.image(repository, tag),
            Some((user, password)),
        )
        .await;
        assert!(
            output.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        digest
    }
}

/// Writes an OCI layout with one image (one raw layer holding `payload`) tagged `tag`;
/// returns the manifest digest.
pub fn write_layout(dir: &Path, tag: &str, payload: &[u8]) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let store = |bytes: &[u8]| {
        let hex = hex::encode(Sha256::digest(bytes));
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let (layer, layer_size) = store(payload);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer]},
    });
    let (config, config_size) = store(&serde_json::to_vec(&config).unwrap());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}],
    });
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let (digest, manifest_size) = store(&manifest_bytes);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    digest
}

/// Runs `skopeo copy` over plain HTTP with optional credentials for both ends, on a blocking
/// thread so that the simulator keeps serving the runtime.
pub async fn skopeo_copy(
    from: &str,
    to: &str,
    credentials: Option<(&str, &str)>,
) -> std::process::Output {
    let mut command = Command::new("skopeo");
    command.args([
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ]);
    if let Some((user, password)) = credentials {
        let pair = format!("{user}:{password}");
        if from.starts_with("docker://") {
            command.args(["--src-creds", &pair]);
        }
        if to.starts_with("docker://") {
            command.args(["--dest-creds", &pair]);
        }
    }
    command.args([from, to]);
    tokio::task::spawn_blocking(move || command.output().expect("skopeo runs"))
        .await
        .expect("the skopeo thread ends")
}

/// The JSON body of a response that must have `status`.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}
