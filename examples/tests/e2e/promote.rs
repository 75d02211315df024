//! `promote` against the Harbor simulator: a clean image is promoted with its production tag,
//! a vulnerable one is refused with the findings that blocked it.

use wharf_harbor_client::handlers::Artifacts;

use super::sim::{Stack, describe};

const PROMOTE: &str = env!("CARGO_BIN_EXE_promote");
const VULNERABLE_FIXTURE: &str = "alpine-39-high-critical";

fn fixture(name: &str) -> String {
    format!(
        "{}/../../shared/fixtures/trivy/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_image_is_promoted_and_vulnerable_image_is_refused() {
    let stack = Stack::start(&[("staging/vuln", VULNERABLE_FIXTURE)]).await;
    let scratch = tempfile::tempdir().unwrap();
    stack.project("staging", None).await;
    stack.project("production", None).await;
    stack.push_image(scratch.path(), "staging/app:1.0").await;
    stack.push_image(scratch.path(), "staging/vuln:1.0").await;

    let passed = stack
        .run_bin(
            PROMOTE,
            &[
                "--from",
                "staging/app:1.0",
                "--to",
                "production",
                "--tag",
                "stable",
            ],
        )
        .await;
    assert_eq!(passed.status.code(), Some(0), "{}", describe(&passed));
    let stdout = String::from_utf8_lossy(&passed.stdout);
    assert!(stdout.contains("promoted staging/app:1.0"), "{stdout}");
    let promoted = stack
        .harbor
        .artifacts("production", "app")
        .get("stable")
        .await
        .unwrap();
    let source = stack
        .harbor
        .artifacts("staging", "app")
        .get("1.0")
        .await
        .unwrap();
    assert_eq!(promoted.digest, source.digest);
    let mut tags = Artifacts::tag_names(&promoted);
    tags.sort();
    assert_eq!(tags, ["1.0", "stable"]);

    let refused = stack
        .run_bin(
            PROMOTE,
            &[
                "--from",
                "staging/vuln:1.0",
                "--to",
                "production",
                "--tag",
                "stable",
                "--output",
                "json",
            ],
        )
        .await;
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).expect("JSON report");
    assert_eq!(report["promoted"], false);
    assert_eq!(report["scan_status"], "Success");
    assert_eq!(report["decision"]["passed"], false);
    let blocking = report["decision"]["violations"][0]["findings"]
        .as_array()
        .unwrap();
    assert!(
        blocking
            .iter()
            .any(|finding| finding["id"] == "CVE-2019-14697"),
        "{report:#}"
    );
    let not_there = stack
        .harbor
        .artifacts("production", "vuln")
        .get("stable")
        .await;
    assert!(
        not_there.is_err_and(|error| error.is_not_found()),
        "a refused image must not be copied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trivy_report_file_gates_instead_of_harbors_scan() {
    let stack = Stack::start(&[]).await;
    let scratch = tempfile::tempdir().unwrap();
    stack.project("staging", None).await;
    stack.project("production", None).await;
    stack.push_image(scratch.path(), "staging/api:2.0").await;
    let policy = scratch.path().join("policy.toml");
    std::fs::write(&policy, "fail_on = \"CRITICAL\"\n").unwrap();

    let refused = stack
        .run_bin(
            PROMOTE,
            &[
                "--from",
                "staging/api:2.0",
                "--to",
                "production",
                "--policy",
                &policy.display().to_string(),
                "--trivy-report",
                &fixture(VULNERABLE_FIXTURE),
            ],
        )
        .await;
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(
        stdout.contains("CVE-2019-14697") && stdout.contains("severity >= CRITICAL"),
        "{stdout}"
    );
    assert!(stdout.contains("refused"), "{stdout}");

    let allowed = scratch.path().join("allow.toml");
    std::fs::write(
        &allowed,
        "fail_on = \"CRITICAL\"\n[[allow]]\nid = \"CVE-2019-14697\"\nreason = \"not reachable\"\n",
    )
    .unwrap();
    let passed = stack
        .run_bin(
            PROMOTE,
            &[
                "--from",
                "staging/api:2.0",
                "--to",
                "production",
                "--tag",
                "2.0-prod",
                "--policy",
                &allowed.display().to_string(),
                "--trivy-report",
                &fixture(VULNERABLE_FIXTURE),
            ],
        )
        .await;
    assert_eq!(passed.status.code(), Some(0), "{}", describe(&passed));
    let promoted = stack
        .harbor
        .artifacts("production", "api")
        .get("2.0-prod")
        .await;
    assert!(promoted.is_ok(), "the production tag exists after a pass");
}

#[tokio::test]
async fn usage_errors_exit_2_and_help_shows_examples() {
    let missing = super::sim::run_bin(PROMOTE, &["--to", "production"], &[]).await;
    assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
    let help = super::sim::run_bin(PROMOTE, &["--help"], &[]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples:"));
}
