//! `pull-secret ecr --once` against a wiremock ECR API whose token expires in 12 hours (moto's
//! tokens carry an `expiresAt` in 2015, which the provider rightly refuses): the Secrets hold the
//! token's `AWS` credential for the registry, in files mode 0600 or on stdout.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::{Value, json};
use wharf_examples::kubernetes::credentials_from_file;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::sim::describe;

const PULL_SECRET: &str = env!("CARGO_BIN_EXE_pull-secret");
const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const TOKEN_PASSWORD: &str = "ecr-token-password";

/// An ECR API that answers `GetAuthorizationToken` with a token valid for 12 more hours.
async fn ecr_api() -> MockServer {
    let server = MockServer::start().await;
    let expires_at = SystemTime::now() + Duration::from_hours(12);
    let seconds = expires_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{TOKEN_PASSWORD}"));
    let body = json!({
        "authorizationData": [{
            "authorizationToken": token,
            "expiresAt": seconds,
            "proxyEndpoint": format!("https://{REGISTRY}"),
        }]
    });
    Mock::given(method("POST"))
        .and(header(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_string(body.to_string()),
        )
        .mount(&server)
        .await;
    server
}

/// Runs `pull-secret ecr --once` with fake AWS keys and no AWS configuration from the host.
async fn run_ecr(endpoint: &str, extra: &[&str]) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("missing").display().to_string();
    let mut args = vec![
        "ecr",
        "--once",
        "--registry",
        REGISTRY,
        "--region",
        "us-east-1",
        "--endpoint-url",
        endpoint,
        "--namespace",
        "shop,payments",
        "--secret-name",
        "ecr-pull",
    ];
    args.extend_from_slice(extra);
    super::sim::run_bin(
        PULL_SECRET,
        &args,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDWHARFTEST"),
            ("AWS_SECRET_ACCESS_KEY", "wharf-test-secret"),
            ("AWS_CONFIG_FILE", &missing),
            ("AWS_SHARED_CREDENTIALS_FILE", &missing),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    )
    .await
}

/// The credential for the ECR registry inside a Secret file: `AWS` and the token's password.
fn assert_holds_the_token(secret_file: &Path) {
    let (user, password) = credentials_from_file(secret_file, REGISTRY).unwrap();
    assert_eq!(user, "AWS");
    assert_eq!(password.expose(), TOKEN_PASSWORD);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn ecr_once_writes_one_secret_per_namespace_mode_0600() {
    let api = ecr_api().await;
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("secrets");
    let out = out_dir.display().to_string();

    let output = run_ecr(&api.uri(), &["--out-dir", &out, "--output", "json"]).await;

    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["registry"], REGISTRY);
    assert_eq!(report["files"].as_array().map(Vec::len), Some(2));
    for namespace in ["shop", "payments"] {
        let file = out_dir.join(format!("{namespace}-ecr-pull.yaml"));
        let yaml = std::fs::read_to_string(&file).unwrap();
        assert!(
            yaml.contains("type: kubernetes.io/dockerconfigjson")
                && yaml.contains(&format!("namespace: {namespace}"))
                && yaml.contains("name: ecr-pull"),
            "{yaml}"
        );
        assert!(!yaml.contains(TOKEN_PASSWORD), "the config is base64 data");
        assert_holds_the_token(&file);
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert!(
        !describe(&output).contains(TOKEN_PASSWORD),
        "the token leaked"
    );
}

#[tokio::test]
async fn ecr_once_prints_the_secrets_and_reports_on_stderr() {
    let api = ecr_api().await;
    let scratch = tempfile::tempdir().unwrap();

    let output = run_ecr(&api.uri(), &[]).await;

    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stream = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stream.matches("kind: Secret").count(), 2, "{stream}");
    assert!(stream.contains("namespace: payments"), "{stream}");
    let printed = scratch.path().join("printed.yaml");
    std::fs::write(&printed, &stream).unwrap();
    assert_holds_the_token(&printed);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("ecr pull secret"),
        "the report goes to stderr: {}",
        describe(&output)
    );
}

/// `ecr --once --apply` (feature `kube`): the token's Secret server-side applied to each
/// namespace through the kubeconfig's context.
#[cfg(feature = "kube")]
#[tokio::test]
async fn ecr_once_applies_the_secrets() {
    use wiremock::matchers::{path_regex, query_param};

    let ecr = ecr_api().await;
    let cluster = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path_regex(
            "^/api/v1/namespaces/(shop|payments)/secrets/ecr-pull$",
        ))
        .and(query_param("fieldManager", "wharf-pull-secret"))
        .respond_with(|request: &wiremock::Request| {
            ResponseTemplate::new(200).set_body_raw(request.body.clone(), "application/json")
        })
        .expect(2)
        .mount(&cluster)
        .await;
    let scratch = tempfile::tempdir().unwrap();
    let kubeconfig = super::pull_secret::apply::kubeconfig(scratch.path(), &cluster.uri());
    let kubeconfig = kubeconfig.display().to_string();

    let output = run_ecr(
        &ecr.uri(),
        &[
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

    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["applied"], json!(["shop", "payments"]));
    assert_eq!(report["failed"], json!([]));
    let requests = cluster.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let encoded = body["data"][".dockerconfigjson"].as_str().unwrap();
    let config = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let config: Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["auths"][REGISTRY]["username"], "AWS");
    assert_eq!(config["auths"][REGISTRY]["password"], TOKEN_PASSWORD);
    assert!(
        !describe(&output).contains(TOKEN_PASSWORD),
        "the token leaked"
    );
}
