//! End-to-end flows on the Harbor simulator, pushing and pulling with skopeo through the
//! simulator's registry (token auth enforcing robot permissions, as Harbor does).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use futures::TryStreamExt as _;
use wharf_harbor_client::handlers::{Artifacts, NewProject, RobotSpec};
use wharf_harbor_client::quirks::ScanStatus;
use wharf_harbor_client::{HarborClient, WaitOptions};
use wharf_testkit::harbor_sim::{HarborSim, HarborSimConfig, HarborSimHandle};

use super::common;

const FAST: WaitOptions = WaitOptions {
    interval: Duration::from_millis(50),
    max_interval: Duration::from_millis(500),
    deadline: Duration::from_secs(30),
};

async fn start() -> (HarborSimHandle, HarborClient) {
    let sim = HarborSim::start(HarborSimConfig::default().scan_delay(Duration::from_millis(200)))
        .await
        .expect("simulator starts");
    let (user, password) = sim.admin();
    let harbor = common::builder(sim.url())
        .basic(user, password)
        .build()
        .expect("client");
    (sim, harbor)
}

/// A one-image OCI layout made with umoci, tagged `v1`.
fn oci_layout(dir: &Path) -> String {
    let layout = dir.join("layout");
    run(Command::new("umoci")
        .arg("init")
        .arg("--layout")
        .arg(&layout));
    run(Command::new("umoci")
        .arg("new")
        .arg("--image")
        .arg(format!("{}:v1", layout.display())));
    format!("oci:{}:v1", layout.display())
}

fn run(command: &mut Command) {
    let output = command.output().expect("tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs")
}

fn push(
    source: &str,
    registry: &str,
    target: &str,
    user: &str,
    secret: &str,
) -> std::process::Output {
    let destination = format!("docker://{registry}/{target}");
    let creds = format!("{user}:{secret}");
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        source,
        &destination,
    ])
}

fn inspect_with_creds(registry: &str, image: &str, user: &str, secret: &str) -> bool {
    let creds = format!("{user}:{secret}");
    skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &creds,
        &format!("docker://{registry}/{image}"),
    ])
    .status
    .success()
}

// The simulator is served by this test's runtime while skopeo and umoci run as blocking
// child processes, so the runtime needs a second worker thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_push_promote_scan_and_pull_with_the_rendered_secret() {
    let (sim, harbor) = start().await;
    let scratch = tempfile::tempdir().unwrap();
    let source = oci_layout(scratch.path());

    let dev = harbor
        .projects()
        .create(NewProject::new("dev").public(false).auto_scan(false))
        .await
        .unwrap();
    harbor
        .projects()
        .create(NewProject::new("prod").storage_limit(1 << 30))
        .await
        .unwrap();
    let project = harbor.projects().get("dev").await.unwrap();
    assert_eq!(project.project_id, Some(dev));
    let metadata = project.metadata.unwrap_or_default();
    assert_eq!(metadata.public.map(bool::from), Some(false));

    let pusher = harbor
        .robots()
        .create(RobotSpec::project_push("dev", "ci"))
        .await
        .unwrap();
    let push_result = push(
        &source,
        sim.registry_host(),
        "dev/team/app:v1",
        &pusher.name,
        pusher.secret.expose(),
    );
    assert!(
        push_result.status.success(),
        "push through the robot failed: {}",
        String::from_utf8_lossy(&push_result.stderr)
    );
    let denied = push(
        &source,
        sim.registry_host(),
        "prod/team/app:v1",
        &pusher.name,
        pusher.secret.expose(),
    );
    assert!(
        !denied.status.success(),
        "a dev robot must not push to prod"
    );

    let listed: Vec<_> = harbor
        .artifacts("dev", "team/app")
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(Artifacts::tag_names(&listed[0]), ["v1"]);

    let from = "dev/team/app:v1".parse().unwrap();
    let promoted = harbor
        .artifacts("prod", "team/app")
        .promote(&from, Some("stable"), FAST)
        .await
        .unwrap();
    assert_eq!(promoted.digest, listed[0].digest);
    let mut tags = Artifacts::tag_names(&promoted);
    tags.sort();
    assert_eq!(tags, ["stable", "v1"]);

    let outcome = harbor
        .artifacts("prod", "team/app")
        .scan_and_wait("stable", FAST)
        .await
        .unwrap();
    assert_eq!(outcome.status, ScanStatus::Success);
    let report = harbor
        .artifacts("prod", "team/app")
        .vulnerability_report("stable")
        .await
        .unwrap();
    assert!(report.is_some(), "a finished scan has a report");

    let puller = harbor
        .robots()
        .create(RobotSpec::project_pull("prod", "puller"))
        .await
        .unwrap();
    let auth_file = scratch.path().join("config.json");
    std::fs::write(&auth_file, puller.dockerconfigjson(sim.registry_host())).unwrap();
    let auth_file = auth_file.display().to_string();
    let inspection = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--authfile",
        &auth_file,
        &format!("docker://{}/prod/team/app:stable", sim.registry_host()),
    ]);
    assert!(
        inspection.status.success(),
        "pull with the pull secret failed: {}",
        String::from_utf8_lossy(&inspection.stderr)
    );
    let elsewhere = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--authfile",
        &auth_file,
        &format!("docker://{}/dev/team/app:v1", sim.registry_host()),
    ]);
    assert!(
        !elsewhere.status.success(),
        "a prod pull secret must not read dev"
    );

    let usage = harbor.quotas().project_usage("prod").await.unwrap();
    assert_eq!(usage.limit, Some(1 << 30));
    assert!(harbor.system().ping().await.unwrap().contains("Pong"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_rotation_keeps_the_old_secret_working_until_the_switch() {
    let (sim, harbor) = start().await;
    let scratch = tempfile::tempdir().unwrap();
    let source = oci_layout(scratch.path());
    harbor
        .projects()
        .create(NewProject::new("apps"))
        .await
        .unwrap();
    let (admin, password) = sim.admin();
    let push_result = push(&source, sim.registry_host(), "apps/web:v1", admin, password);
    assert!(
        push_result.status.success(),
        "{}",
        String::from_utf8_lossy(&push_result.stderr)
    );

    let old = harbor
        .robots()
        .create(RobotSpec::project_pull("apps", "deploy"))
        .await
        .unwrap();
    let registry = sim.registry_host();
    assert!(inspect_with_creds(
        registry,
        "apps/web:v1",
        &old.name,
        old.secret.expose()
    ));

    let rotation = harbor.robots().rotate(old.id).await.unwrap();
    assert_ne!(rotation.new.name, old.name);
    assert!(
        inspect_with_creds(registry, "apps/web:v1", &old.name, old.secret.expose()),
        "old secret works during the rotation"
    );
    assert!(inspect_with_creds(
        registry,
        "apps/web:v1",
        &rotation.new.name,
        rotation.new.secret.expose()
    ));
    let copied = harbor.robots().get(rotation.new.id).await.unwrap();
    assert_eq!(copied.permissions.len(), 1);

    harbor.robots().finish_rotation(&rotation).await.unwrap();
    assert!(
        !inspect_with_creds(registry, "apps/web:v1", &old.name, old.secret.expose()),
        "old secret stops after the switch"
    );
    assert!(inspect_with_creds(
        registry,
        "apps/web:v1",
        &rotation.new.name,
        rotation.new.secret.expose()
    ));

    let refreshed = harbor
        .robots()
        .refresh_secret(rotation.new.id)
        .await
        .unwrap();
    assert!(
        !inspect_with_creds(
            registry,
            "apps/web:v1",
            &rotation.new.name,
            rotation.new.secret.expose()
        ),
        "refresh revokes at once"
    );
    assert!(inspect_with_creds(
        registry,
        "apps/web:v1",
        &rotation.new.name,
        refreshed.expose()
    ));
}
