//! Artifacts read from the registry, tags, copy (promotion), labels and scans.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wharf_testkit::harbor_sim::HarborSimConfig;

use super::support::{Harbor, expect_json, skopeo_copy};

const REPORT: &str = "application/vnd.security.vulnerability.report; version=1.1";

#[tokio::test]
async fn artifacts_list_tags_and_copy_into_another_project() {
    let harbor = Harbor::start().await;
    harbor.create_project("dev", json!({})).await;
    harbor.create_project("prod", json!({})).await;
    let digest = harbor.push_image("dev/team/app", "1.0", b"copy me").await;

    let listed = harbor
        .admin(
            Method::GET,
            "/projects/dev/repositories/team%252Fapp/artifacts",
            None,
        )
        .await;
    assert_eq!(listed.headers()["x-total-count"], "1");
    let artifacts = expect_json(listed, StatusCode::OK).await;
    let artifact = &artifacts[0];
    assert_eq!(artifact["digest"], digest.as_str());
    assert_eq!(artifact["tags"][0]["name"], "1.0");
    assert_eq!(artifact["repository_name"], "dev/team/app");
    assert_eq!(artifact["type"], "IMAGE");
    assert_eq!(artifact["extra_attrs"]["architecture"], "amd64");
    assert!(
        artifact["labels"].is_null(),
        "Harbor sends null for no labels"
    );
    assert!(artifact.get("scan_overview").is_none());
    let href = artifact["addition_links"]["vulnerabilities"]["href"]
        .as_str()
        .unwrap();
    assert!(
        href.contains("/repositories/team%252Fapp/artifacts/sha256:"),
        "{href}"
    );

    let tagged = harbor
        .admin(
            Method::POST,
            "/projects/dev/repositories/team%252Fapp/artifacts/1.0/tags",
            Some(json!({"name": "rc"})),
        )
        .await;
    assert_eq!(tagged.status(), StatusCode::CREATED);
    let again = harbor
        .admin(
            Method::POST,
            "/projects/dev/repositories/team%252Fapp/artifacts/1.0/tags",
            Some(json!({"name": "rc"})),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    let copied = harbor
        .admin(
            Method::POST,
            "/projects/prod/repositories/app/artifacts?from=dev/team/app:1.0",
            None,
        )
        .await;
    assert_eq!(copied.status(), StatusCode::CREATED);
    assert_eq!(
        copied.headers()["location"],
        "/api/v2.0/projects/prod/repositories/app/artifacts/1.0"
    );

    let promoted = expect_json(
        harbor
            .admin(
                Method::GET,
                "/projects/prod/repositories/app/artifacts/1.0",
                None,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(promoted["digest"], digest.as_str());
    let names: Vec<&str> = promoted["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"1.0") && names.contains(&"rc"), "{names:?}");

    let target = tempfile::tempdir().unwrap();
    let (user, password) = harbor.sim.admin();
    let pulled = skopeo_copy(
        &harbor.image("prod/app", "rc"),
        &format!("oci:{}:rc", target.path().display()),
        Some((user, password)),
    )
    .await;
    assert!(
        pulled.status.success(),
        "the copy is in the registry: {}",
        String::from_utf8_lossy(&pulled.stderr)
    );

    let deleted = harbor
        .admin(
            Method::DELETE,
            "/projects/prod/repositories/app/artifacts/1.0/tags/rc",
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let tags = expect_json(
        harbor
            .admin(
                Method::GET,
                "/projects/prod/repositories/app/artifacts/1.0/tags",
                None,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tags.as_array().unwrap().len(), 1);

    let missing = harbor
        .admin(
            Method::POST,
            "/projects/prod/repositories/app/artifacts?from=dev/team/app:nope",
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scan_moves_from_pending_to_success_and_reports_the_fixture() {
    let config = HarborSimConfig::default()
        .scan_delay(Duration::from_secs(2))
        .scan_fixture("team/app", "alpine-310");
    let harbor = Harbor::start_with(config).await;
    harbor.create_project("team", json!({})).await;
    harbor.push_image("team/app", "v1", b"scan me").await;

    let empty = expect_json(
        harbor
            .admin(
                Method::GET,
                "/projects/team/repositories/app/artifacts/v1/additions/vulnerabilities",
                None,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(empty, json!({}));

    let started = harbor
        .admin(
            Method::POST,
            "/projects/team/repositories/app/artifacts/v1/scan",
            None,
        )
        .await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);

    let mut statuses = Vec::new();
    let overview = loop {
        let artifact = expect_json(
            harbor
                .admin(
                    Method::GET,
                    "/projects/team/repositories/app/artifacts/v1?with_scan_overview=true",
                    None,
                )
                .await,
            StatusCode::OK,
        )
        .await;
        let overview = artifact["scan_overview"][REPORT].clone();
        let status = overview["scan_status"].as_str().unwrap().to_owned();
        if statuses.last() != Some(&status) {
            statuses.push(status.clone());
        }
        if status == "Success" {
            break overview;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The phases only move forward; how many polls see each one depends on the machine.
    let order = ["Pending", "Running", "Success"];
    let ranks: Vec<usize> = statuses
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(
        ranks.windows(2).all(|pair| pair[0] < pair[1]),
        "{statuses:?}"
    );
    assert!(
        ranks[0] < 2,
        "a fresh scan is not finished at once: {statuses:?}"
    );
    assert_eq!(overview["summary"]["total"], 4);
    assert_eq!(overview["scanner"]["name"], "Trivy");

    let report = expect_json(
        harbor
            .admin(
                Method::GET,
                "/projects/team/repositories/app/artifacts/v1/additions/vulnerabilities",
                None,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let vulnerabilities = report[REPORT]["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulnerabilities.len(), 4);
    assert_eq!(vulnerabilities[0]["id"], "CVE-2019-1549");
    assert_eq!(report[REPORT]["severity"], overview["severity"]);
}

#[tokio::test]
async fn labels_attach_to_artifacts() {
    let harbor = Harbor::start().await;
    harbor.create_project("team", json!({})).await;
    harbor.push_image("team/app", "v1", b"label me").await;
    let created = harbor
        .admin(
            Method::POST,
            "/labels",
            Some(json!({"name": "approved", "color": "#00ff00", "scope": "g"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id: i64 = created.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let attached = harbor
        .admin(
            Method::POST,
            "/projects/team/repositories/app/artifacts/v1/labels",
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(attached.status(), StatusCode::OK);
    let artifact: Value = harbor
        .admin(
            Method::GET,
            "/projects/team/repositories/app/artifacts/v1?with_label=true",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(artifact["labels"][0]["name"], "approved");
}

#[tokio::test]
async fn auto_scan_projects_scan_on_push_and_copies_share_the_report() {
    let harbor =
        Harbor::start_with(HarborSimConfig::default().scan_fixture("dev/app", "alpine-310")).await;
    harbor
        .create_project("dev", json!({"auto_scan": "true"}))
        .await;
    harbor.create_project("prod", json!({})).await;
    harbor.push_image("dev/app", "1", b"scanned on push").await;

    let path = "/projects/dev/repositories/app/artifacts/1?with_scan_overview=true";
    let artifact = expect_json(harbor.admin(Method::GET, path, None).await, StatusCode::OK).await;
    let overview = &artifact["scan_overview"][REPORT];
    assert!(
        overview["scan_status"].is_string(),
        "auto_scan started a scan: {artifact}"
    );

    let copied = harbor
        .admin(
            Method::POST,
            "/projects/prod/repositories/app/artifacts?from=dev/app:1",
            None,
        )
        .await;
    assert_eq!(copied.status(), StatusCode::CREATED);
    let promoted = expect_json(
        harbor
            .admin(
                Method::GET,
                "/projects/prod/repositories/app/artifacts/1?with_scan_overview=true",
                None,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        promoted["scan_overview"][REPORT]["report_id"], overview["report_id"],
        "Harbor keys reports by digest"
    );
}
