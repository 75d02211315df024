//! Registry access shared by the binaries that move images: flags, client, copy reports.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use clap::Args;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::copy::{BatchReport, CopyEvent, CopyPlan, ProgressObserver};
use wharf_oci_core::credentials::CredentialSource;
use wharf_oci_core::docker_credentials::DockerCredentials;
use wharf_oci_core::transport::TransportConfig;

use crate::output::{Table, human_bytes};
use crate::progress::ByteProgress;

/// How to reach registries: plain-HTTP hosts and extra CAs.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryArgs {
    /// Registry host (host:port) reached over plain HTTP instead of HTTPS. Repeatable.
    #[arg(long = "plain-http", value_name = "HOST")]
    pub plain_http: Vec<String>,

    /// Extra CA certificate (PEM) to trust, in addition to the system roots. Repeatable.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,
}

impl RegistryArgs {
    /// The transport these flags describe.
    pub fn transport(&self) -> anyhow::Result<TransportConfig> {
        let mut transport = TransportConfig::builder().plain_http_hosts(&self.plain_http);
        for ca in &self.ca_files {
            transport = transport.ca_file(ca);
        }
        Ok(transport.build()?)
    }

    /// A client with credentials from the Docker `config.json` (`$DOCKER_CONFIG` or
    /// `~/.docker`), credential helpers included.
    pub fn docker_config_client(&self) -> anyhow::Result<RegistryClient> {
        let credentials =
            DockerCredentials::from_default_location().context("cannot read the Docker config")?;
        self.client(Arc::new(credentials))
    }

    /// A client with the given credentials.
    pub fn client(&self, credentials: Arc<dyn CredentialSource>) -> anyhow::Result<RegistryClient> {
        Ok(RegistryClient::builder()
            .transport(self.transport()?)
            .credentials(credentials)
            .build()?)
    }
}

/// A progress bar fed by copy events, and the observer that feeds it.
pub fn copy_progress(label: &str) -> (Arc<Mutex<ByteProgress>>, ProgressObserver) {
    let progress = Arc::new(Mutex::new(ByteProgress::new(label, 0)));
    let fed = Arc::clone(&progress);
    let observer: ProgressObserver = Arc::new(move |event, snapshot| {
        let mut bar = fed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            CopyEvent::Planned => bar.add_total(snapshot.bytes_total),
            CopyEvent::Bytes { count } => bar.advance(*count),
            _ => {}
        }
    });
    (progress, observer)
}

/// Ends a progress bar made by [`copy_progress`].
pub fn finish_progress(progress: Arc<Mutex<ByteProgress>>) {
    if let Ok(progress) = Arc::try_unwrap(progress) {
        progress
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .finish();
    }
}

/// A copy report as a table: one row per source reference.
pub fn copy_report_table(report: &BatchReport) -> Table {
    let mut table = Table::new([
        "SOURCE", "STATUS", "COPIED", "MOUNTED", "SKIPPED", "SECONDS", "ERROR",
    ]);
    for reference in &report.references {
        table.row([
            reference.source.clone(),
            format!("{:?}", reference.status).to_lowercase(),
            human_bytes(reference.bytes_copied),
            human_bytes(reference.bytes_mounted),
            human_bytes(reference.bytes_skipped),
            format!("{:.1}", reference.duration.as_secs_f64()),
            reference.error.clone().unwrap_or_default(),
        ]);
    }
    table
}

/// One line summing up a copy report.
pub fn copy_summary(report: &BatchReport) -> String {
    format!(
        "{} references, {} failed, {} streamed in {:.1} s",
        report.references.len(),
        report.failures().count(),
        human_bytes(report.bytes_copied()),
        report.duration.as_secs_f64()
    )
}

/// A dry-run plan as a table: one row per reference, then the blob totals.
pub fn copy_plan_table(plan: &CopyPlan) -> Table {
    let mut table = Table::new(["SOURCE", "DESTINATION", "DIGEST", "STATE"]);
    for reference in &plan.references {
        let state = match (&reference.error, reference.up_to_date) {
            (Some(error), _) => format!("error: {error}"),
            (None, true) => "up to date".to_owned(),
            (None, false) => format!("will copy ({} manifests)", reference.manifests),
        };
        table.row([
            reference.source.clone(),
            reference.destinations.join(", "),
            reference.digest.clone().unwrap_or_default(),
            state,
        ]);
    }
    let totals = plan.totals;
    table.row([
        "TOTAL".to_owned(),
        String::new(),
        String::new(),
        format!(
            "copy {} blobs ({}), mount {} ({}), skip {} ({})",
            totals.blobs_to_copy,
            human_bytes(totals.bytes_to_copy),
            totals.blobs_to_mount,
            human_bytes(totals.bytes_to_mount),
            totals.blobs_to_skip,
            human_bytes(totals.bytes_to_skip),
        ),
    ]);
    table
}
