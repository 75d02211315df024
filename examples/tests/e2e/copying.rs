//! `copy`, `push` and `migrate` run for real: registries from the service stack, the Harbor
//! simulator as the migration target, skopeo as the independent judge of what arrived.

use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_oci_core::reference::Reference;
use wharf_testkit::fault_proxy::{FaultConfig, FaultProxy};
use wharf_testkit::image::{ArtifactBuilder, Flavor, Image, ImageBuilder, IndexBuilder};
use wharf_testkit::services;

use super::sim::{Stack, describe, plain_client, raw_manifest, run_bin};

fn unique(name: &str) -> String {
    format!(
        "{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_recreates_every_tag_under_the_prefix_and_fails_loudly_on_a_missing_source() {
    let registry = services::registry_plain();
    let host = registry.host.clone();
    let client = plain_client(&host);
    let repo = format!("e2e/{}", unique("svc"));
    let amd64 = ImageBuilder::new(Flavor::Oci)
        .layer(40_000)
        .build()
        .unwrap();
    let arm64 = ImageBuilder::new(Flavor::Oci)
        .platform("linux", "arm64", None)
        .layer(30_000)
        .build()
        .unwrap();
    let index = IndexBuilder::new(Flavor::Oci)
        .image(amd64)
        .image(arm64)
        .build();
    let single = ImageBuilder::new(Flavor::Docker)
        .layer(20_000)
        .build()
        .unwrap();
    index
        .push(
            &client,
            &Reference::parse(&format!("{host}/{repo}:multi")).unwrap(),
        )
        .await
        .unwrap();
    single
        .push(
            &client,
            &Reference::parse(&format!("{host}/{repo}:single")).unwrap(),
        )
        .await
        .unwrap();

    let prefix = format!("{host}/{}", unique("mirror"));
    let source = format!("{host}/{repo}");
    let args = [
        "--plain-http",
        host.as_str(),
        "--to",
        prefix.as_str(),
        source.as_str(),
    ];
    let output = run_bin(env!("CARGO_BIN_EXE_copy"), &args, &[]).await;
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        raw_manifest(&format!("{prefix}/{repo}:multi"), None),
        index.bytes.to_vec()
    );
    assert_eq!(
        raw_manifest(&format!("{prefix}/{repo}:single"), None),
        single.manifest.to_vec()
    );

    let json_args = [
        "--plain-http",
        host.as_str(),
        "--dry-run",
        "--output",
        "json",
        "--to",
        prefix.as_str(),
        source.as_str(),
    ];
    let plan = run_bin(env!("CARGO_BIN_EXE_copy"), &json_args, &[]).await;
    assert!(plan.status.success(), "{}", describe(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("JSON plan");
    let references = plan["references"].as_array().expect("references");
    assert_eq!(references.len(), 2);
    assert!(
        references.iter().all(|r| r["up_to_date"] == true),
        "{plan:#}"
    );

    let missing = format!("{host}/{repo}:no-such-tag");
    let failed = run_bin(
        env!("CARGO_BIN_EXE_copy"),
        &["--plain-http", &host, "--to", &prefix, &missing],
        &[],
    )
    .await;
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));

    // A repository that cannot be listed fails on its own; the other source is still copied.
    let absent = format!("{host}/e2e/{}", unique("absent"));
    let elsewhere = format!("{host}/{}", unique("mixed"));
    let mixed = run_bin(
        env!("CARGO_BIN_EXE_copy"),
        &[
            "--plain-http",
            &host,
            "--output",
            "json",
            "--to",
            &elsewhere,
            &absent,
            &source,
        ],
        &[],
    )
    .await;
    assert_eq!(mixed.status.code(), Some(1), "{}", describe(&mixed));
    let report: serde_json::Value = serde_json::from_slice(&mixed.stdout).unwrap();
    let references = report["references"].as_array().unwrap();
    assert_eq!(references.len(), 3, "{report:#}");
    let (failed, copied): (Vec<_>, Vec<_>) = references
        .iter()
        .partition(|reference| reference["status"] == "failed");
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["source"], absent.as_str());
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot list the tags"),
        "{report:#}"
    );
    assert!(
        copied
            .iter()
            .all(|reference| reference["status"] == "copied")
    );
    assert_eq!(
        raw_manifest(&format!("{elsewhere}/{repo}:multi"), None),
        index.bytes.to_vec()
    );
}

/// Writes `image` as an OCI layout under `dir` (tag `app`) the way a build tool would: pushed
/// to `registry`, then copied out by skopeo.
async fn oci_layout_of(image: &Image, registry: &str, dir: &Path) -> PathBuf {
    let seed = format!("{registry}/e2e/{}:v1", unique("seed"));
    image
        .push(&plain_client(registry), &Reference::parse(&seed).unwrap())
        .await
        .unwrap();
    let layout = dir.join("layout");
    let status = Command::new("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{seed}"),
            &format!("oci:{}:app", layout.display()),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    layout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_sends_one_layout_to_several_registries() {
    let plain = services::registry_plain();
    let guarded = services::registry_htpasswd();
    let (user, password) = guarded.credentials().expect("htpasswd registry has a user");
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(50_000)
        .layer(10_000)
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let layout = oci_layout_of(&image, &plain.host, scratch.path()).await;

    let docker_config = scratch.path().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    let auth = base64_encode(&format!("{user}:{password}"));
    std::fs::write(
        docker_config.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, guarded.host),
    )
    .unwrap();
    let to_plain = format!("{}/e2e/{}:1.0", plain.host, unique("pushed"));
    let to_guarded = format!("{}/e2e/{}:1.0", guarded.host, unique("pushed"));
    let layout_arg = layout.display().to_string();
    let args = [
        layout_arg.as_str(),
        "--plain-http",
        plain.host.as_str(),
        "--plain-http",
        guarded.host.as_str(),
        "--to",
        to_plain.as_str(),
        "--to",
        to_guarded.as_str(),
    ];
    let docker_config = docker_config.display().to_string();
    let output = run_bin(
        env!("CARGO_BIN_EXE_push"),
        &args,
        &[("DOCKER_CONFIG", docker_config.as_str())],
    )
    .await;
    assert!(output.status.success(), "{}", describe(&output));
    // Not a terminal: the progress is one plain line, both destinations' bytes counted.
    let blob_bytes: u64 = image.config.size
        + image
            .layers
            .iter()
            .map(|layer| layer.blob.size)
            .sum::<u64>();
    let total = 2 * blob_bytes;
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains(&format!("pushing: {total} of {total} bytes, done")),
        "{}",
        describe(&output)
    );
    assert_eq!(raw_manifest(&to_plain, None), image.manifest.to_vec());
    assert_eq!(
        raw_manifest(&to_guarded, Some((user, password))),
        image.manifest.to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_gets_a_layer_past_a_small_body_cap_without_using_up_its_retries() {
    let plain = services::registry_plain();
    // One layer, so that the 413s come in a known order: refused whole, then as one 3 MB
    // chunk, then as 1.5 MB, 750 kB and 375 kB chunks; 187.5 kB chunks pass a 200 kB cap.
    // Five refusals: more than the four attempts of the default retry policy.
    let image = ImageBuilder::new(Flavor::Oci)
        .layer(3_000_000)
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let layout = oci_layout_of(&image, &plain.host, scratch.path()).await;
    let cap = FaultProxy::start(&plain.host, FaultConfig::new(5).max_request_body(200_000))
        .await
        .unwrap();

    let capped = cap.host();
    let destination = format!("{capped}/e2e/{}:1.0", unique("capped"));
    let layout_arg = layout.display().to_string();
    let args = [
        layout_arg.as_str(),
        "--plain-http",
        capped.as_str(),
        "--to",
        destination.as_str(),
    ];
    let output = run_bin(env!("CARGO_BIN_EXE_push"), &args, &[]).await;

    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(cap.counts().too_large, 5, "{:?}", cap.counts());
    let behind_the_cap = destination.replacen(capped.as_str(), &plain.host, 1);
    assert_eq!(raw_manifest(&behind_the_cap, None), image.manifest.to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_picks_one_platform_and_brings_the_signatures_along() {
    let registry = services::registry_plain();
    let host = registry.host.clone();
    let client = plain_client(&host);
    let amd64 = ImageBuilder::new(Flavor::Oci)
        .layer(20_000)
        .build()
        .unwrap();
    let arm64 = ImageBuilder::new(Flavor::Oci)
        .platform("linux", "arm64", Some("v8"))
        .layer(20_000)
        .build()
        .unwrap();
    let arm64_manifest = arm64.manifest.to_vec();
    let arm64_digest = arm64.digest.clone();
    let index = IndexBuilder::new(Flavor::Oci)
        .image(amd64)
        .image(arm64)
        .build();
    let repo = format!("e2e/{}", unique("multi"));
    let source = Reference::parse(&format!("{host}/{repo}:2.0")).unwrap();
    index.push(&client, &source).await.unwrap();
    let signature = ArtifactBuilder::new(
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        &index.digest,
        index.bytes.len() as u64,
        wharf_oci_core::media_type::OCI_INDEX,
    )
    .payload(
        "application/vnd.dev.cosign.simplesigning.v1+json",
        &b"{\"critical\":{}}"[..],
    )
    .build();
    signature.push(&client, &source).await.unwrap();
    let source_arg = source.to_string();

    let prefix = format!("{host}/{}", unique("arm"));
    let one_platform = run_bin(
        env!("CARGO_BIN_EXE_copy"),
        &[
            "--plain-http",
            &host,
            "--platform",
            "linux/arm64/v8",
            "--output",
            "json",
            "--to",
            &prefix,
            &source_arg,
        ],
        &[],
    )
    .await;
    assert!(one_platform.status.success(), "{}", describe(&one_platform));
    let copied = format!("{prefix}/{repo}:2.0");
    assert_eq!(
        raw_manifest(&copied, None),
        arm64_manifest,
        "the arm64 image itself, not the index"
    );
    let report: serde_json::Value = serde_json::from_slice(&one_platform.stdout).unwrap();
    assert_eq!(
        report["references"][0]["digest"].as_str(),
        Some(arm64_digest.as_str()),
        "the report names the copied platform image: {report}"
    );

    let missing = run_bin(
        env!("CARGO_BIN_EXE_copy"),
        &[
            "--plain-http",
            &host,
            "--platform",
            "linux/s390x",
            "--to",
            &prefix,
            &source_arg,
        ],
        &[],
    )
    .await;
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
    assert!(
        describe(&missing).contains("no image for platform linux/s390x"),
        "{}",
        describe(&missing)
    );

    let signed_prefix = format!("{host}/{}", unique("signed"));
    let with_referrers = run_bin(
        env!("CARGO_BIN_EXE_copy"),
        &[
            "--plain-http",
            &host,
            "--referrers",
            "--to",
            &signed_prefix,
            &source_arg,
        ],
        &[],
    )
    .await;
    assert!(
        with_referrers.status.success(),
        "{}",
        describe(&with_referrers)
    );
    let destination = Reference::parse(&format!("{signed_prefix}/{repo}:2.0")).unwrap();
    let referrers = client
        .referrers(&destination, &index.digest, None)
        .await
        .unwrap();
    let digests: Vec<_> = referrers
        .descriptors
        .iter()
        .map(|d| d.digest.clone())
        .collect();
    assert_eq!(digests, vec![signature.digest.clone()]);
    assert_eq!(
        raw_manifest(&format!("{signed_prefix}/{repo}:2.0"), None),
        index.bytes.to_vec()
    );
}

/// `skopeo inspect --raw [--config]` of any skopeo transport (`docker-archive:...`, ...).
fn skopeo_raw(location: &str, config: bool) -> serde_json::Value {
    let mut command = Command::new("skopeo");
    command.args(["inspect", "--raw", "--tls-verify=false"]);
    if config {
        command.arg("--config");
    }
    let output = command.arg(location).output().expect("skopeo runs");
    assert!(
        output.status.success(),
        "skopeo inspect {location}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("skopeo prints JSON")
}

fn layer_digests(manifest: &serde_json::Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_takes_an_image_from_a_docker_save_archive() {
    let plain = services::registry_plain();
    let client = plain_client(&plain.host);
    let image = ImageBuilder::new(Flavor::Docker)
        .layer(40_000)
        .layer(15_000)
        .build()
        .unwrap();
    let seed = format!("{}/e2e/{}:v1", plain.host, unique("saved"));
    image
        .push(&client, &Reference::parse(&seed).unwrap())
        .await
        .unwrap();
    // skopeo writes the archive as `docker save` does: manifest.json, config, layer tars.
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("images.tar");
    let archive_location = format!("docker-archive:{}", archive.display());
    let status = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{seed}"),
            &format!("{archive_location}:example/api:1.4"),
        ])
        .status()
        .unwrap();
    assert!(status.success());

    let destination = format!("{}/e2e/{}:1.4", plain.host, unique("from-archive"));
    let archive_arg = archive.display().to_string();
    let push = |image: &'static str| {
        let args = [
            archive_arg.clone(),
            "--image".to_owned(),
            image.to_owned(),
            "--plain-http".to_owned(),
            plain.host.clone(),
            "--to".to_owned(),
            destination.clone(),
        ];
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_bin(env!("CARGO_BIN_EXE_push"), &args, &[]).await
        }
    };

    let unknown = push("example/other:1.4").await;
    assert_eq!(unknown.status.code(), Some(1), "{}", describe(&unknown));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no image tagged `example/other:1.4`"),
        "{}",
        describe(&unknown)
    );

    let output = push("example/api:1.4").await;
    assert!(output.status.success(), "{}", describe(&output));
    let pushed = format!("docker://{destination}");
    assert_eq!(
        skopeo_raw(&pushed, true),
        skopeo_raw(&format!("docker://{seed}"), true),
        "the image configuration arrives unchanged"
    );
    assert_eq!(
        layer_digests(&skopeo_raw(&pushed, false)),
        layer_digests(&skopeo_raw(&archive_location, false)),
        "the layers are the archive's layer tars"
    );
    // skopeo verifies every blob digest on the way.
    let check = Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false", &pushed])
        .arg(format!(
            "oci:{}:check",
            scratch.path().join("check").display()
        ))
        .status()
        .unwrap();
    assert!(check.success(), "the pushed image pulls back");
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_registry_into_harbor_and_a_rerun_sends_nothing() {
    let stack = Stack::start(&[]).await;
    let source = services::registry_plain();
    let client = plain_client(&source.host);
    let repo = format!("legacy/{}", unique("api"));
    for tag in ["1.0", "1.1"] {
        let image = ImageBuilder::new(Flavor::Oci)
            .layer(30_000)
            .build()
            .unwrap();
        image
            .push(
                &client,
                &Reference::parse(&format!("{}/{repo}:{tag}", source.host)).unwrap(),
            )
            .await
            .unwrap();
    }
    let project = unique("migrated");
    let scratch = tempfile::tempdir().unwrap();
    let harbor_host = stack.sim.url().trim_start_matches("http://").to_owned();
    let (admin, _) = stack.sim.admin();
    let config = format!(
        r#"plain_http = ["{source}", "{registry}", "{harbor_host}"]
[target]
url = "{url}"
registry = "{registry}"
username = "{admin}"
[target.project_defaults]
auto_scan = true
[[sources]]
kind = "registry"
registry = "{source}"
repositories = ["{repo}"]
project = "{project}"
"#,
        source = source.host,
        registry = stack.sim.registry_host(),
        url = stack.sim.url(),
    );
    let config_path = scratch.path().join("migrate.toml");
    std::fs::write(&config_path, config).unwrap();
    let report = scratch.path().join("report.json");
    let (config_arg, report_arg) = (
        config_path.display().to_string(),
        report.display().to_string(),
    );
    let args = [
        "run",
        "--config",
        config_arg.as_str(),
        "--report",
        report_arg.as_str(),
    ];

    let dry = stack
        .run_bin(
            env!("CARGO_BIN_EXE_migrate"),
            &[&args[..], &["--dry-run"]].concat(),
        )
        .await;
    assert!(dry.status.success(), "{}", describe(&dry));
    assert!(
        !stack.harbor.projects().exists(&project).await.unwrap(),
        "a dry run creates nothing"
    );

    let output = stack.run_bin(env!("CARGO_BIN_EXE_migrate"), &args).await;
    assert!(output.status.success(), "{}", describe(&output));
    assert!(stack.harbor.projects().exists(&project).await.unwrap());
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["projects_created"], serde_json::json!([project]));
    assert_eq!(written["copy"]["references"].as_array().unwrap().len(), 2);
    let (user, password) = stack.sim.admin();
    let migrated = format!("{}/{project}/{repo}:1.1", stack.sim.registry_host());
    let original = format!("{}/{repo}:1.1", source.host);
    assert_eq!(
        raw_manifest(&migrated, Some((user, password))),
        raw_manifest(&original, None)
    );

    let again = stack.run_bin(env!("CARGO_BIN_EXE_migrate"), &args).await;
    assert!(again.status.success(), "{}", describe(&again));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let statuses: Vec<&str> = written["copy"]["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["up_to_date", "up_to_date"]);
}

/// Calls the ECR API of moto (which does not check signatures) the way an AWS client would.
fn moto(action: &str, body: &serde_json::Value) -> serde_json::Value {
    let output = Command::new("curl")
        .args(["-sS", "-X", "POST", "-w", "\n%{http_code}"])
        .args(["-H", "Content-Type: application/x-amz-json-1.1"])
        .arg("-H")
        .arg(format!(
            "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.{action}"
        ))
        .arg("-H")
        .arg(format!(
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{ECR_REGION}/ecr/aws4_request, SignedHeaders=host, Signature=0"
        ))
        .arg("--data-binary")
        .arg(body.to_string())
        .arg(format!("{}/", services::moto_url()))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let (reply, status) = text.rsplit_once('\n').unwrap_or((&text, ""));
    assert_eq!(status, "200", "moto {action}: {reply}");
    serde_json::from_str(reply).unwrap_or(serde_json::Value::Null)
}

const ECR_ACCOUNT: &str = "123456789012";
const ECR_REGION: &str = "eu-west-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_ecr_repositories_with_their_indexes_into_harbor() {
    // moto answers the ECR API; the stack's plain registry holds the bytes, as the ECR
    // registry host would.
    let stack = Stack::start(&[]).await;
    let ecr_host = services::registry_plain().host;
    let client = plain_client(&ecr_host);
    let team = unique("shop");
    let amd64 = ImageBuilder::new(Flavor::Oci)
        .layer(12_000)
        .build()
        .unwrap();
    let arm64 = ImageBuilder::new(Flavor::Oci)
        .platform("linux", "arm64", Some("v8"))
        .layer(11_000)
        .build()
        .unwrap();
    let index = IndexBuilder::new(Flavor::Oci)
        .image(amd64)
        .image(arm64)
        .build();
    let worker = ImageBuilder::new(Flavor::Docker)
        .layer(9_000)
        .build()
        .unwrap();
    let api_repo = format!("{team}/api");
    let worker_repo = format!("{team}/worker");
    index
        .push(
            &client,
            &Reference::parse(&format!("{ecr_host}/{api_repo}:1.0")).unwrap(),
        )
        .await
        .unwrap();
    worker
        .push(
            &client,
            &Reference::parse(&format!("{ecr_host}/{worker_repo}:2.3")).unwrap(),
        )
        .await
        .unwrap();
    for (repository, tag, manifest, media_type, digest) in [
        (
            &api_repo,
            "1.0",
            &index.bytes,
            wharf_oci_core::media_type::OCI_INDEX,
            &index.digest,
        ),
        (
            &worker_repo,
            "2.3",
            &worker.manifest,
            worker.media_type(),
            &worker.digest,
        ),
    ] {
        moto(
            "CreateRepository",
            &serde_json::json!({"repositoryName": repository}),
        );
        moto(
            "PutImage",
            &serde_json::json!({
                "repositoryName": repository,
                "imageManifest": String::from_utf8_lossy(manifest),
                "imageManifestMediaType": media_type,
                "imageTag": tag,
                "imageDigest": digest.as_str(),
            }),
        );
    }

    let project = unique("from-ecr");
    let scratch = tempfile::tempdir().unwrap();
    let registry = stack.sim.registry_host().to_owned();
    let mapping = scratch.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        format!(
            "[[registries]]\naccount = \"{ECR_ACCOUNT}\"\nregion = \"{ECR_REGION}\"\n\
             harbor = \"{registry}\"\ndefault_project = \"{project}\"\n"
        ),
    )
    .unwrap();
    let (admin, password) = stack.sim.admin();
    let config = format!(
        r#"plain_http = ["{ecr_host}", "{registry}", "{harbor_host}"]
[target]
url = "{url}"
registry = "{registry}"
username = "{admin}"
[[sources]]
kind = "ecr"
account = "{ECR_ACCOUNT}"
region = "{ECR_REGION}"
prefix = "{team}/"
endpoint_url = "{moto_url}"
registry_host = "{ecr_host}"
mapping = "{mapping}"
"#,
        harbor_host = stack.sim.url().trim_start_matches("http://"),
        url = stack.sim.url(),
        moto_url = services::moto_url(),
        mapping = mapping.display(),
    );
    let config_path = scratch.path().join("migrate.toml");
    std::fs::write(&config_path, config).unwrap();
    let report = scratch.path().join("report.json");
    let (config_arg, report_arg) = (
        config_path.display().to_string(),
        report.display().to_string(),
    );
    let env = [
        ("HARBOR_URL", stack.sim.url()),
        ("HARBOR_PASSWORD", password),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", ECR_REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let output = run_bin(
        env!("CARGO_BIN_EXE_migrate"),
        &["run", "--config", &config_arg, "--report", &report_arg],
        &env,
    )
    .await;
    assert!(output.status.success(), "{}", describe(&output));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["projects_created"], serde_json::json!([project]));
    assert_eq!(
        written["copy"]["references"].as_array().unwrap().len(),
        2,
        "{written:#}"
    );
    let login = Some((admin, password));
    assert_eq!(
        raw_manifest(&format!("{registry}/{project}/{api_repo}:1.0"), login),
        index.bytes.to_vec(),
        "the multi-arch index arrives byte for byte"
    );
    assert_eq!(
        raw_manifest(&format!("{registry}/{project}/{worker_repo}:2.3"), login),
        worker.manifest.to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_shards_split_the_repositories_without_overlap_or_gap() {
    const SHARDS: usize = 3;
    let stack = Stack::start(&[]).await;
    let source = services::registry_plain();
    let client = plain_client(&source.host);
    let team = unique("team");
    let repositories: Vec<String> = (0..8).map(|n| format!("{team}/svc{n}")).collect();
    for repository in &repositories {
        let image = ImageBuilder::new(Flavor::Oci).layer(5_000).build().unwrap();
        image
            .push(
                &client,
                &Reference::parse(&format!("{}/{repository}:1.0", source.host)).unwrap(),
            )
            .await
            .unwrap();
    }
    let project = unique("sharded");
    let scratch = tempfile::tempdir().unwrap();
    let (admin, _) = stack.sim.admin();
    let listed = repositories
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        r#"plain_http = ["{source}", "{registry}", "{harbor_host}"]
[target]
url = "{url}"
registry = "{registry}"
username = "{admin}"
[[sources]]
kind = "registry"
registry = "{source}"
repositories = [{listed}]
project = "{project}"
"#,
        source = source.host,
        registry = stack.sim.registry_host(),
        harbor_host = stack.sim.url().trim_start_matches("http://"),
        url = stack.sim.url(),
    );
    let config_path = scratch.path().join("migrate.toml");
    std::fs::write(&config_path, config).unwrap();
    let config_arg = config_path.display().to_string();

    let mut moved: Vec<String> = Vec::new();
    for index in 0..SHARDS {
        let shard = format!("{index}/{SHARDS}");
        let report = scratch.path().join(format!("report-{index}.json"));
        let report_arg = report.display().to_string();
        let args = [
            "run",
            "--config",
            config_arg.as_str(),
            "--shard",
            shard.as_str(),
            "--report",
            report_arg.as_str(),
        ];
        let output = stack.run_bin(env!("CARGO_BIN_EXE_migrate"), &args).await;
        assert!(output.status.success(), "{}", describe(&output));
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        for reference in written["copy"]["references"].as_array().unwrap() {
            assert_eq!(reference["status"], "copied", "shard {shard}: {reference}");
            moved.push(reference["source"].as_str().unwrap().to_owned());
        }
    }
    moved.sort();
    let mut expected: Vec<String> = repositories
        .iter()
        .map(|r| format!("{}/{r}:1.0", source.host))
        .collect();
    expected.sort();
    assert_eq!(moved, expected, "every tag exactly once across the shards");

    let usage = stack
        .run_bin(
            env!("CARGO_BIN_EXE_migrate"),
            &["run", "--config", config_arg.as_str(), "--shard", "3/3"],
        )
        .await;
    assert_eq!(usage.status.code(), Some(2), "{}", describe(&usage));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_rewrite_shows_a_diff_and_writes_only_when_asked() {
    let scratch = tempfile::tempdir().unwrap();
    let mapping = scratch.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        r#"[[registries]]
account = "123456789012"
region = "eu-west-1"
harbor = "harbor.example.com"
default_project = "production"
"#,
    )
    .unwrap();
    let deploy = scratch.path().join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    let manifest = "spec:\n  containers:\n    - name: api # the API\n      image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4\n";
    std::fs::write(deploy.join("deployment.yaml"), manifest).unwrap();
    let (mapping_arg, deploy_arg) = (mapping.display().to_string(), deploy.display().to_string());

    let review = run_bin(
        env!("CARGO_BIN_EXE_migrate"),
        &["rewrite", "--mapping", &mapping_arg, &deploy_arg],
        &[],
    )
    .await;
    assert!(review.status.success(), "{}", describe(&review));
    let shown = String::from_utf8_lossy(&review.stdout);
    assert!(
        shown.contains("+      image: harbor.example.com/production/api:1.4"),
        "{shown}"
    );
    assert_eq!(
        std::fs::read_to_string(deploy.join("deployment.yaml")).unwrap(),
        manifest,
        "review only"
    );

    let write = run_bin(
        env!("CARGO_BIN_EXE_migrate"),
        &["rewrite", "--mapping", &mapping_arg, "--write", &deploy_arg],
        &[],
    )
    .await;
    assert!(write.status.success(), "{}", describe(&write));
    let rewritten = std::fs::read_to_string(deploy.join("deployment.yaml")).unwrap();
    assert_eq!(
        rewritten,
        manifest.replace(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api",
            "harbor.example.com/production/api"
        )
    );
}
