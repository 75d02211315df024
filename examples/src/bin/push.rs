//! `push`: push one locally built image to several registries at once, so a CI job builds
//! once and pushes everywhere (ECR and Harbor staging during a migration).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use futures::TryStreamExt as _;
use futures::future::join_all;
use serde::Serialize;
use tokio_util::io::ReaderStream;
use wharf_examples::cli::{CommonArgs, finish};
use wharf_examples::layout::{LocalBlob, LocalImage, load};
use wharf_examples::output::{Table, human_bytes, print_report};
use wharf_examples::progress::ByteProgress;
use wharf_examples::registry::RegistryArgs;
use wharf_examples::registry::finish_progress;
use wharf_oci_core::client::RegistryClient;
use wharf_oci_core::reference::Reference;
use wharf_oci_core::retry::RetryPolicy;

const EXAMPLES: &str = "\
Examples:
  # an OCI layout written by buildah, buildkit (--output type=oci) or umoci
  push ./image-layout --to harbor.example.com/staging/api:1.4 \\
       --to 123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1.4

  # a docker save archive holding several images: pick one by tag
  docker save api:1.4 worker:1.4 -o images.tar
  push images.tar --image api:1.4 --to harbor.example.com/staging/api:1.4

Credentials come from the Docker config.json ($DOCKER_CONFIG or ~/.docker) and its credential
helpers (docker-credential-ecr-login covers ECR). Exit code 0: every destination has the
image; 1: some destination failed (the others still got it); 2: usage.";

/// Push a local image (OCI layout or docker save archive) to several registries at once.
#[derive(Debug, Parser)]
#[command(name = "push", version, after_help = EXAMPLES)]
struct Args {
    /// An OCI layout directory, an OCI layout tar, or a `docker save` archive.
    source: PathBuf,

    /// Destination reference with a tag. Repeatable: all destinations are pushed in parallel.
    #[arg(long = "to", required = true, value_name = "REFERENCE")]
    destinations: Vec<String>,

    /// The image to push when the source holds several (layout ref name or docker tag).
    #[arg(long)]
    image: Option<String>,

    #[command(flatten)]
    registry: RegistryArgs,

    #[command(flatten)]
    common: CommonArgs,
}

/// What happened at one destination.
#[derive(Debug, Serialize)]
struct DestinationReport {
    destination: String,
    digest: String,
    ok: bool,
    error: Option<String>,
    blobs_uploaded: usize,
    bytes_uploaded: u64,
    blobs_present: usize,
    seconds: f64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    args.common.init_logging();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let destinations = args
        .destinations
        .iter()
        .map(|d| Reference::parse(d).with_context(|| format!("invalid destination `{d}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scratch = tempfile::tempdir()?;
    let image = load(&args.source, args.image.as_deref(), scratch.path())?;
    let client = args.registry.docker_config_client()?;
    let blob_bytes: u64 = image.blobs.iter().map(|blob| blob.size).sum();
    let progress = Arc::new(Mutex::new(ByteProgress::new(
        "pushing",
        blob_bytes * destinations.len() as u64,
    )));
    let pushes = destinations
        .iter()
        .map(|destination| push_to(&client, &image, destination, &progress));
    let reports: Vec<DestinationReport> = join_all(pushes).await;
    finish_progress(progress);
    let ok = reports.iter().all(|r| r.ok);
    print_report(args.common.output, &reports, |reports| {
        let mut table = Table::new([
            "DESTINATION",
            "RESULT",
            "UPLOADED",
            "ALREADY THERE",
            "SECONDS",
        ]);
        for r in reports {
            let result = r
                .error
                .clone()
                .map_or_else(|| "pushed".to_owned(), |e| format!("failed: {e}"));
            table.row([
                r.destination.clone(),
                result,
                human_bytes(r.bytes_uploaded),
                format!("{} blobs", r.blobs_present),
                format!("{:.1}", r.seconds),
            ]);
        }
        table
    })?;
    Ok(ok)
}

async fn push_to(
    client: &RegistryClient,
    image: &LocalImage,
    destination: &Reference,
    progress: &SharedProgress,
) -> DestinationReport {
    let started = Instant::now();
    let mut report = DestinationReport {
        destination: destination.to_string(),
        digest: image.digest().to_string(),
        ok: false,
        error: None,
        blobs_uploaded: 0,
        bytes_uploaded: 0,
        blobs_present: 0,
        seconds: 0.0,
    };
    match push_image(client, image, destination, &mut report, progress).await {
        Ok(()) => report.ok = true,
        Err(error) => report.error = Some(format!("{error:#}")),
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Blobs first, then manifests by digest (children before their index), the tag last.
async fn push_image(
    client: &RegistryClient,
    image: &LocalImage,
    destination: &Reference,
    report: &mut DestinationReport,
    progress: &SharedProgress,
) -> anyhow::Result<()> {
    let repo = destination.repository_reference();
    for blob in &image.blobs {
        if client.blob_exists(&repo, &blob.digest).await?.is_some() {
            report.blobs_present += 1;
            lock(progress).advance(blob.size);
            continue;
        }
        upload_with_retries(client, &repo, blob, progress).await?;
        report.blobs_uploaded += 1;
        report.bytes_uploaded += blob.size;
    }
    let (top, children) = image
        .manifests
        .split_last()
        .expect("an image has a manifest");
    for manifest in children.iter().chain(std::iter::once(top)) {
        let by_digest = repo.with_digest(manifest.digest.clone());
        client
            .put_manifest_raw(&by_digest, &manifest.media_type, manifest.bytes.clone())
            .await?;
    }
    if destination.tag().is_some() {
        client
            .put_manifest_raw(destination, &top.media_type, top.bytes.clone())
            .await?;
    }
    Ok(())
}

/// The progress of all destinations together.
type SharedProgress = Arc<Mutex<ByteProgress>>;

fn lock(progress: &SharedProgress) -> std::sync::MutexGuard<'_, ByteProgress> {
    progress
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Streams a blob from its file; a failed attempt starts over from the file. A registry that
/// refuses a body as too large (413) gets the blob again at once in smaller pieces, without
/// using up an attempt, as the library's own uploads do.
async fn upload_with_retries(
    client: &RegistryClient,
    repo: &Reference,
    blob: &LocalBlob,
    progress: &SharedProgress,
) -> anyhow::Result<()> {
    let policy = RetryPolicy::default();
    let mut attempt = 1;
    loop {
        let shape = client.upload_shape(repo.registry());
        let file = tokio::fs::File::open(&blob.path)
            .await
            .with_context(|| format!("cannot open {}", blob.path.display()))?;
        let sent = Arc::new(AtomicU64::new(0));
        let stream = {
            let (progress, sent) = (Arc::clone(progress), Arc::clone(&sent));
            ReaderStream::with_capacity(file, 1 << 20).inspect_ok(move |chunk| {
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                lock(&progress).advance(chunk.len() as u64);
            })
        };
        let result = client
            .push_blob_stream(repo, &blob.digest, blob.size, stream)
            .await;
        // What a failed attempt sent will be sent again.
        let resend = || lock(progress).add_total(sent.load(Ordering::Relaxed));
        match result {
            Ok(()) => return Ok(()),
            Err(error) if client.made_bodies_smaller(&error, repo.registry(), shape) => {
                resend();
                tracing::warn!(digest = %blob.digest, %error, "upload refused as too large; sending it in smaller pieces");
            }
            Err(error)
                if policy.has_attempts_left(attempt)
                    && error.status().is_none_or(|s| policy.should_retry_status(s)) =>
            {
                resend();
                tracing::warn!(digest = %blob.digest, attempt, %error, "upload failed; starting it again");
                tokio::time::sleep(policy.delay(attempt, None)).await;
                attempt += 1;
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot upload {}", blob.digest));
            }
        }
    }
}
