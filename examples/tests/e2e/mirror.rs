//! `mirror` run for real: the stack's plain registry stands in for Docker Hub, the Harbor
//! simulator is the mirror, skopeo judges what arrived, and a fault proxy plays the rate limit.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::reference::Reference;
use wharf_testkit::fault_proxy::{FaultConfig, FaultKind, FaultProxy};
use wharf_testkit::image::{Flavor, ImageBuilder, IndexBuilder};
use wharf_testkit::services;

use super::sim::{Stack, describe, plain_client, raw_manifest, run_bin};

fn unique(name: &str) -> String {
    format!(
        "{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Pushes a small single-platform image whose layer is `size` random bytes.
async fn push_image(client: &RegistryClient, reference: &str, size: u64) {
    ImageBuilder::new(Flavor::Oci)
        .layer(size)
        .build()
        .unwrap()
        .push(client, &Reference::parse(reference).unwrap())
        .await
        .unwrap();
}

/// Runs `mirror --config CONFIG --output json` with the target's login and an empty Docker
/// configuration (so nothing of the machine's own logins is used).
async fn run_mirror(scratch: &Path, config: &str, login: (&str, &str)) -> Output {
    let config_path = scratch.join("mirror.toml");
    std::fs::write(&config_path, config).unwrap();
    let docker_config = scratch.join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    let config_arg = config_path.display().to_string();
    let docker_arg = docker_config.display().to_string();
    run_bin(
        env!("CARGO_BIN_EXE_mirror"),
        &["--config", &config_arg, "--output", "json"],
        &[
            ("DOCKER_CONFIG", docker_arg.as_str()),
            ("TARGET_USERNAME", login.0),
            ("TARGET_PASSWORD", login.1),
        ],
    )
    .await
}

/// `(source, status)` of every reference in a JSON copy report.
fn statuses(output: &Output) -> Vec<(String, String)> {
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", describe(output)));
    report["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reference| {
            (
                reference["source"].as_str().unwrap().to_owned(),
                reference["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_moves_only_changed_digests_into_a_harbor_project() {
    let stack = Stack::start(&[]).await;
    let project = unique("mirror");
    stack.project(&project, None).await;
    let upstream = services::registry_plain().host;
    let client = plain_client(&upstream);
    let hub = unique("hub");
    let nginx = format!("{upstream}/{hub}/library/nginx:alpine");
    let index = IndexBuilder::new(Flavor::Oci)
        .image(
            ImageBuilder::new(Flavor::Oci)
                .layer(30_000)
                .build()
                .unwrap(),
        )
        .image(
            ImageBuilder::new(Flavor::Oci)
                .platform("linux", "arm64", Some("v8"))
                .layer(20_000)
                .build()
                .unwrap(),
        )
        .build();
    index
        .push(&client, &Reference::parse(&nginx).unwrap())
        .await
        .unwrap();
    for tag in ["3.12-slim", "3.13-slim"] {
        push_image(&client, &format!("{upstream}/{hub}/python:{tag}"), 25_000).await;
    }

    let registry = stack.sim.registry_host().to_owned();
    let config = format!(
        r#"target = "{registry}/{project}"
plain_http = ["{upstream}", "{registry}"]
[[images]]
source = "{nginx}"
[[images]]
source = "{upstream}/{hub}/python"
tags = ["3.12-slim", "3.13-slim"]
name = "python"
"#
    );
    let scratch = tempfile::tempdir().unwrap();
    let login = stack.sim.admin();

    let first = run_mirror(scratch.path(), &config, login).await;
    assert!(first.status.success(), "{}", describe(&first));
    assert!(
        statuses(&first)
            .iter()
            .all(|(_, status)| status == "copied"),
        "{}",
        describe(&first)
    );
    let mirrored_nginx = format!("{registry}/{project}/{hub}/library/nginx:alpine");
    assert_eq!(
        raw_manifest(&mirrored_nginx, Some(login)),
        index.bytes.to_vec()
    );
    for tag in ["3.12-slim", "3.13-slim"] {
        assert_eq!(
            raw_manifest(&format!("{registry}/{project}/python:{tag}"), Some(login)),
            raw_manifest(&format!("{upstream}/{hub}/python:{tag}"), None),
        );
    }

    let unchanged = run_mirror(scratch.path(), &config, login).await;
    assert!(unchanged.status.success(), "{}", describe(&unchanged));
    assert!(
        statuses(&unchanged)
            .iter()
            .all(|(_, status)| status == "up_to_date"),
        "{}",
        describe(&unchanged)
    );

    // Upstream moves one tag: only that one travels.
    push_image(
        &client,
        &format!("{upstream}/{hub}/python:3.13-slim"),
        26_000,
    )
    .await;
    let moved = run_mirror(scratch.path(), &config, login).await;
    assert!(moved.status.success(), "{}", describe(&moved));
    let by_source = statuses(&moved);
    let status_of = |tag: &str| {
        by_source
            .iter()
            .find(|(source, _)| source.ends_with(tag))
            .map(|(_, status)| status.as_str())
    };
    assert_eq!(status_of(":alpine"), Some("up_to_date"));
    assert_eq!(status_of(":3.12-slim"), Some("up_to_date"));
    assert_eq!(status_of(":3.13-slim"), Some("copied"));
    assert_eq!(
        raw_manifest(
            &format!("{registry}/{project}/python:3.13-slim"),
            Some(login)
        ),
        raw_manifest(&format!("{upstream}/{hub}/python:3.13-slim"), None),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_waits_out_a_rate_limit_and_says_so() {
    let registry = services::registry_plain().host;
    let client = plain_client(&registry);
    let hub = unique("limited");
    let source = format!("{registry}/{hub}/nginx:alpine");
    push_image(&client, &source, 30_000).await;

    // Every request is answered 429 with `Retry-After: 1` until two have been refused.
    let upstream = FaultProxy::start(
        &registry,
        FaultConfig::new(1)
            .rate(1.0)
            .kinds([FaultKind::TooManyRequests])
            .retry_after_secs(1),
    )
    .await
    .unwrap();
    let proxy = Arc::new(upstream);
    let lifter = {
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            while proxy.counts().too_many_requests < 2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            proxy.set_rate(0.0);
        })
    };
    let limited = proxy.host();
    let target = format!("{registry}/{}", unique("mirror"));
    let config = format!(
        r#"target = "{target}"
plain_http = ["{limited}", "{registry}"]
[[images]]
source = "{limited}/{hub}/nginx:alpine"
"#
    );
    let scratch = tempfile::tempdir().unwrap();
    let output = run_mirror(scratch.path(), &config, ("anonymous", "unused")).await;
    lifter.await.unwrap();

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let waits: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("registry asked to retry later"))
        .collect();
    assert_eq!(
        waits.len(),
        2,
        "each wait is reported: {}",
        describe(&output)
    );
    for wait in waits {
        assert!(
            wait.contains("429") && wait.contains(&limited) && wait.contains("wait_ms=1000"),
            "a wait names the status, the registry and how long: {wait}"
        );
    }
    assert!(
        !stderr.contains('\u{1b}'),
        "no terminal colours in a log that is not a terminal: {stderr}"
    );
    assert_eq!(proxy.counts().too_many_requests, 2);
    assert_eq!(
        raw_manifest(&format!("{target}/{hub}/nginx:alpine"), None),
        raw_manifest(&source, None)
    );
}
