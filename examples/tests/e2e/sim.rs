//! Shared helpers for the Harbor flows: a simulator with an admin client, images pushed with
//! umoci and skopeo, and the binaries run as child processes.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use wharf_harbor_client::HarborClient;
use wharf_harbor_client::handlers::NewProject;
use wharf_oci_core::transport::TransportConfig;
use wharf_testkit::harbor_sim::{HarborSim, HarborSimConfig, HarborSimHandle};

/// A running simulator and an admin client for it.
pub struct Stack {
    /// The simulator (dropping it stops it).
    pub sim: HarborSimHandle,
    /// An admin client.
    pub harbor: HarborClient,
}

impl Stack {
    /// Starts a simulator whose scans take 100 ms; `fixtures` maps `project/repo` to a Trivy
    /// fixture for its scans.
    pub async fn start(fixtures: &[(&str, &str)]) -> Self {
        let mut config = HarborSimConfig::default().scan_delay(Duration::from_millis(100));
        for (repository, fixture) in fixtures {
            config = config.scan_fixture(repository, fixture);
        }
        let sim = HarborSim::start(config)
            .await
            .expect("the simulator starts");
        let (user, password) = sim.admin();
        let host = sim.url().trim_start_matches("http://").to_owned();
        let transport = TransportConfig::builder()
            .plain_http_host(host)
            .build()
            .expect("transport");
        let harbor = HarborClient::builder(sim.url())
            .transport(transport)
            .basic(user, password)
            .build()
            .expect("client");
        Self { sim, harbor }
    }

    /// Creates a project (private unless `public`), with a storage limit when given.
    pub async fn project(&self, name: &str, storage_limit: Option<i64>) {
        let mut project = NewProject::new(name).public(false).auto_scan(false);
        if let Some(limit) = storage_limit {
            project = project.storage_limit(limit);
        }
        self.harbor
            .projects()
            .create(project)
            .await
            .expect("project created");
    }

    /// Pushes a small image (unique to `target`) built with umoci to `target` (`project/repo:tag`) as the admin.
    pub async fn push_image(&self, scratch: &Path, target: &str) {
        let layout = scratch.join(format!("layout-{}", target.replace(['/', ':'], "-")));
        let image = format!("{}:v1", layout.display());
        run(
            "umoci",
            &["init", "--layout", &layout.display().to_string()],
        )
        .await;
        run("umoci", &["new", "--image", &image]).await;
        // A label naming the target gives every pushed image its own digest: the simulator
        // keeps scan reports per digest, as Harbor does.
        let label = format!("wharf.test.target={target}");
        run(
            "umoci",
            &["config", "--image", &image, "--config.label", &label],
        )
        .await;
        let (user, password) = self.sim.admin();
        let creds = format!("{user}:{password}");
        let destination = format!("docker://{}/{target}", self.sim.registry_host());
        run(
            "skopeo",
            &[
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                &creds,
                &format!("oci:{image}"),
                &destination,
            ],
        )
        .await;
    }

    /// Runs a binary with HARBOR_URL and the admin password in its environment.
    pub async fn run_bin(&self, binary: &str, args: &[&str]) -> Output {
        let (_, password) = self.sim.admin();
        run_bin(
            binary,
            args,
            &[
                ("HARBOR_URL", self.sim.url()),
                ("HARBOR_PASSWORD", password),
            ],
        )
        .await
    }
}

/// Runs `binary` (a path from `env!("CARGO_BIN_EXE_...")`) with extra environment variables.
pub async fn run_bin(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(binary);
    command.args(args);
    for inherited in [
        "RUST_LOG",
        "HARBOR_URL",
        "HARBOR_USER",
        "HARBOR_PASSWORD",
        "GITEA_TOKEN",
    ] {
        command.env_remove(inherited);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await.expect("the binary runs")
}

/// Stdout and stderr of a run, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn run(program: &str, args: &[&str]) {
    let output = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|error| panic!("{program} runs: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `skopeo inspect --raw` of a reference on a plain-HTTP registry, with optional credentials.
pub fn raw_manifest(reference: &str, creds: Option<(&str, &str)>) -> Vec<u8> {
    let mut command = std::process::Command::new("skopeo");
    command.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some((user, password)) = creds {
        command.arg("--creds").arg(format!("{user}:{password}"));
    }
    let output = command
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo runs");
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// An anonymous registry client for a plain-HTTP registry of the stack.
pub fn plain_client(host: &str) -> wharf_oci_core::client::RegistryClient {
    let transport = TransportConfig::builder()
        .plain_http_host(host)
        .build()
        .unwrap();
    wharf_oci_core::client::RegistryClient::builder()
        .transport(transport)
        .credentials(std::sync::Arc::new(wharf_oci_core::credentials::Anonymous))
        .build()
        .unwrap()
}
