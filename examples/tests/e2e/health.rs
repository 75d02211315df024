//! `health` against the Harbor simulator: healthy and under the threshold exits 0, a project
//! past the threshold exits 1, Prometheus output carries the gauges.

use super::sim::{Stack, describe};

const HEALTH: &str = env!("CARGO_BIN_EXE_health");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_above_the_threshold_fails_the_check() {
    let stack = Stack::start(&[]).await;
    let scratch = tempfile::tempdir().unwrap();
    stack.project("roomy", None).await;
    stack.push_image(scratch.path(), "roomy/app:1.0").await;

    let healthy = stack.run_bin(HEALTH, &[]).await;
    assert_eq!(healthy.status.code(), Some(0), "{}", describe(&healthy));
    let table = String::from_utf8_lossy(&healthy.stdout);
    assert!(
        table.contains("component registry") && table.contains("quota roomy"),
        "{table}"
    );

    // The same image in a project whose limit is about 110 % of its size: about 91 % used.
    let used = stack
        .harbor
        .quotas()
        .project_usage("roomy")
        .await
        .unwrap()
        .used;
    assert!(used > 0, "the pushed image counts against the quota");
    stack.project("tight", Some(used + used / 10)).await;
    stack.push_image(scratch.path(), "tight/app:1.0").await;
    // Its own image differs in a label (and a timestamp), so its size may differ by a byte.
    let used = stack
        .harbor
        .quotas()
        .project_usage("tight")
        .await
        .unwrap()
        .used;

    let over = stack.run_bin(HEALTH, &["--output", "json"]).await;
    assert_eq!(over.status.code(), Some(1), "{}", describe(&over));
    let report: serde_json::Value = serde_json::from_slice(&over.stdout).unwrap();
    assert_eq!(report["healthy"], true);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report:#}");
    assert!(problems[0].as_str().unwrap().contains("project tight"));

    let relaxed = stack.run_bin(HEALTH, &["--threshold", "95"]).await;
    assert_eq!(relaxed.status.code(), Some(0), "{}", describe(&relaxed));

    let metrics = stack.run_bin(HEALTH, &["--output", "prometheus"]).await;
    assert_eq!(metrics.status.code(), Some(1));
    let text = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        text.contains("# TYPE harbor_up gauge\nharbor_up 1\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "harbor_project_storage_used_bytes{{project=\"tight\"}} {used}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("harbor_component_healthy{component=\"registry\"} 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_health_reads_only_the_components() {
    let stack = Stack::start(&[]).await;
    let output = super::sim::run_bin(
        HEALTH,
        &["--harbor", stack.sim.url(), "--output", "json"],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["components"].as_array().unwrap().len() > 1);
    assert!(report["version"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_component_fails_the_check_and_is_named() {
    let mut stack = Stack::start(&[]).await;
    stack.sim.stop_registry();

    let table = stack.run_bin(HEALTH, &[]).await;
    assert_eq!(table.status.code(), Some(1), "{}", describe(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .any(|line| line.contains("component registry") && line.contains("unhealthy")),
        "{}",
        describe(&table)
    );

    let json = stack.run_bin(HEALTH, &["--output", "json"]).await;
    assert_eq!(json.status.code(), Some(1), "{}", describe(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["healthy"], false, "{report:#}");
    // Harbor answers the rest from its database while the registry is down.
    assert_eq!(report["unavailable"], serde_json::json!([]), "{report:#}");
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("component registry is unhealthy"),
        "{report:#}"
    );

    let metrics = stack.run_bin(HEALTH, &["--output", "prometheus"]).await;
    assert_eq!(metrics.status.code(), Some(1));
    let text = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        text.contains("harbor_component_healthy{component=\"registry\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("harbor_component_healthy{component=\"core\"} 1"),
        "{text}"
    );
}
