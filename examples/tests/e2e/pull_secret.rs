//! `pull-secret` against the Harbor simulator: Secrets written mode 0600 that pull through the
//! simulator's registry, reuse rules, and rotation with overlap.

use std::path::Path;

use super::sim::{Stack, describe};

const PULL_SECRET: &str = env!("CARGO_BIN_EXE_pull-secret");

async fn check(stack: &Stack, secret_file: &Path, image: &str) -> std::process::Output {
    let registry = stack.sim.registry_host();
    let file = secret_file.display().to_string();
    let image = format!("{registry}/{image}");
    stack
        .run_bin(
            PULL_SECRET,
            &[
                "check",
                "--plain-http",
                registry,
                "--secret-file",
                &file,
                "--output",
                "json",
                &image,
            ],
        )
        .await
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_secrets_pull_and_rotation_overlaps() {
    let stack = Stack::start(&[]).await;
    let scratch = tempfile::tempdir().unwrap();
    stack.project("production", None).await;
    stack.project("other", None).await;
    stack.push_image(scratch.path(), "production/app:1.0").await;
    stack.push_image(scratch.path(), "other/app:1.0").await;
    let out_dir = scratch.path().join("secrets");
    let out = out_dir.display().to_string();

    let created = stack
        .run_bin(
            PULL_SECRET,
            &[
                "create",
                "--project",
                "production",
                "--name",
                "k8s",
                "--namespace",
                "shop,payments",
                "--out-dir",
                &out,
            ],
        )
        .await;
    assert_eq!(created.status.code(), Some(0), "{}", describe(&created));
    let shop = out_dir.join("shop-harbor-pull.yaml");
    let payments = out_dir.join("payments-harbor-pull.yaml");
    let yaml = std::fs::read_to_string(&shop).unwrap();
    assert!(
        yaml.contains("type: kubernetes.io/dockerconfigjson") && yaml.contains("namespace: shop"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("password"),
        "the config must be base64 inside `data`"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&shop), 0o600);
        assert_eq!(mode(&payments), 0o600);
    }

    let pulled = check(&stack, &shop, "production/app:1.0").await;
    assert_eq!(pulled.status.code(), Some(0), "{}", describe(&pulled));
    let report: serde_json::Value = serde_json::from_slice(&pulled.stdout).unwrap();
    assert!(
        report["manifest_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(report["robot"], "robot$production+k8s");
    let elsewhere = check(&stack, &shop, "other/app:1.0").await;
    assert_eq!(
        elsewhere.status.code(),
        Some(1),
        "a production pull secret must not read `other`"
    );

    let again = stack
        .run_bin(
            PULL_SECRET,
            &[
                "create",
                "--project",
                "production",
                "--name",
                "k8s",
                "--namespace",
                "shop",
            ],
        )
        .await;
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("PULL_SECRET_ROBOT_SECRET"));

    let rotated = stack
        .run_bin(
            PULL_SECRET,
            &[
                "rotate",
                "--project",
                "production",
                "--name",
                "k8s",
                "--namespace",
                "shop",
            ],
        )
        .await;
    assert_eq!(rotated.status.code(), Some(0), "{}", describe(&rotated));
    let new_secret = scratch.path().join("rotated.yaml");
    std::fs::write(&new_secret, &rotated.stdout).unwrap();
    assert!(
        check(&stack, &new_secret, "production/app:1.0")
            .await
            .status
            .success(),
        "new robot pulls"
    );
    assert!(
        check(&stack, &shop, "production/app:1.0")
            .await
            .status
            .success(),
        "old robot still pulls during the overlap"
    );

    let finished = stack
        .run_bin(
            PULL_SECRET,
            &[
                "rotate",
                "--project",
                "production",
                "--name",
                "k8s",
                "--finish",
            ],
        )
        .await;
    assert_eq!(finished.status.code(), Some(0), "{}", describe(&finished));
    let finished_report = String::from_utf8_lossy(&finished.stdout).into_owned();
    assert!(
        finished_report
            .lines()
            .any(|line| line.starts_with("deleted robot") && line.ends_with("robot$production+k8s")),
        "{finished_report}"
    );
    assert_eq!(
        check(&stack, &shop, "production/app:1.0")
            .await
            .status
            .code(),
        Some(1),
        "old robot is gone"
    );
    assert!(
        check(&stack, &new_secret, "production/app:1.0")
            .await
            .status
            .success()
    );
}

#[tokio::test]
async fn a_missing_namespace_is_refused() {
    let output = super::sim::run_bin(
        PULL_SECRET,
        &["create", "--harbor", "http://127.0.0.1:9", "--project", "p"],
        &[("HARBOR_PASSWORD", "x")],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--namespace"));
}

/// `--apply` (feature `kube`): server-side apply through the kubeconfig's context, one result
/// per namespace, exit 1 when a namespace refused, and no credential in the output.
#[cfg(feature = "kube")]
pub mod apply {
    use std::path::{Path, PathBuf};

    use base64::Engine as _;
    use serde_json::{Value, json};
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::super::sim::{Stack, describe};
    use super::PULL_SECRET;

    /// A kubeconfig whose current context points nowhere and whose context `test` reaches
    /// `server` with a bearer token, so the run proves both `--kubeconfig` and `--context`.
    pub fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
        let config = format!(
            "apiVersion: v1
kind: Config
current-context: elsewhere
clusters:
- name: elsewhere
  cluster: {{server: 'http://127.0.0.1:9'}}
- name: test
  cluster: {{server: '{server}'}}
users:
- name: ci
  user: {{token: test-token}}
contexts:
- name: elsewhere
  context: {{cluster: elsewhere, user: ci}}
- name: test
  context: {{cluster: test, user: ci, namespace: default}}
"
        );
        let file = dir.join("kubeconfig");
        std::fs::write(&file, config).unwrap();
        file
    }

    /// `shop` accepts the apply, `payments` refuses it with a Kubernetes 403 Status.
    async fn api_server() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path("/api/v1/namespaces/shop/secrets/harbor-pull"))
            .and(query_param("fieldManager", "wharf-pull-secret"))
            .and(query_param("force", "true"))
            .and(header("authorization", "Bearer test-token"))
            .respond_with(|request: &Request| {
                ResponseTemplate::new(200).set_body_raw(request.body.clone(), "application/json")
            })
            .expect(1)
            .mount(&server)
            .await;
        let forbidden = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "secrets \"harbor-pull\" is forbidden", "reason": "Forbidden", "code": 403,
        });
        Mock::given(method("PATCH"))
            .and(path("/api/v1/namespaces/payments/secrets/harbor-pull"))
            .respond_with(ResponseTemplate::new(403).set_body_json(forbidden))
            .expect(1)
            .mount(&server)
            .await;
        server
    }

    /// The robot password inside the Secret the API server received for `shop`.
    async fn applied_password(server: &MockServer) -> String {
        let requests = server.received_requests().await.unwrap();
        let shop = requests
            .iter()
            .find(|request| request.url.path().contains("/namespaces/shop/"))
            .expect("shop was applied");
        let body: Value = serde_json::from_slice(&shop.body).unwrap();
        assert_eq!(body["type"], "kubernetes.io/dockerconfigjson");
        let encoded = body["data"][".dockerconfigjson"].as_str().unwrap();
        let config: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        let auths = config["auths"].as_object().unwrap();
        let (_, entry) = auths.iter().next().expect("one registry");
        assert_eq!(entry["username"], "robot$production+k8s");
        entry["password"].as_str().unwrap().to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apply_reports_each_namespace_and_fails_on_a_refusal() {
        let stack = Stack::start(&[]).await;
        stack.project("production", None).await;
        let api = api_server().await;
        let scratch = tempfile::tempdir().unwrap();
        let kubeconfig = kubeconfig(scratch.path(), &api.uri()).display().to_string();

        let output = stack
            .run_bin(
                PULL_SECRET,
                &[
                    "create",
                    "--project",
                    "production",
                    "--name",
                    "k8s",
                    "--namespace",
                    "shop,payments",
                    "--apply",
                    "--kubeconfig",
                    &kubeconfig,
                    "--context",
                    "test",
                    "--output",
                    "json",
                ],
            )
            .await;

        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("stdout is the JSON report only\n{}", describe(&output)));
        assert_eq!(report["applied"], json!(["shop"]));
        assert_eq!(report["failed"][0]["namespace"], "payments");
        let error = report["failed"][0]["error"].as_str().unwrap();
        assert!(error.starts_with("403 Forbidden"), "{error}");
        let password = applied_password(&api).await;
        let everything = format!("{}{}", describe(&output), report);
        assert!(!everything.contains(&password), "the robot secret leaked");
    }
}

#[cfg(not(feature = "kube"))]
#[tokio::test]
async fn apply_without_the_kube_feature_is_a_usage_error() {
    let output = super::sim::run_bin(
        PULL_SECRET,
        &[
            "create",
            "--harbor",
            "http://127.0.0.1:9",
            "--project",
            "p",
            "--namespace",
            "shop",
            "--apply",
        ],
        &[("HARBOR_PASSWORD", "x")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("built without it"),
        "{}",
        describe(&output)
    );
}
