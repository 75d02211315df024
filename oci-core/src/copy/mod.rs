//! Registry-to-registry copies: one image, an index with all its platforms, or a whole batch
//! that shares one plan.
//!
//! A batch runs in three steps:
//!
//! 1. **Resolve** every request: one `HEAD` on the source and one per destination tag. When
//!    every destination already points at the source digest the request is done; otherwise
//!    the source manifests are fetched (children of an index first).
//! 2. **Plan** the blobs: each distinct (destination repository, digest) pair becomes one job
//!    after a `HEAD` on the destination: skip it when present, mount it when another
//!    repository of the destination registry holds it (or receives it earlier in this batch),
//!    stream it otherwise. A blob therefore crosses the network once per destination registry.
//! 3. **Execute**: blob jobs run with bounded concurrency, streaming from the source `GET` into
//!    the destination upload with the digest verified on the way (memory stays flat). An image's
//!    manifests are pushed only after all its blobs are in place (children before their index),
//!    and its tags last, so a failure never leaves a tag pointing at an incomplete image. A
//!    failed reference is reported and the others continue; running the batch again finishes it
//!    without sending again what arrived.
//!
//! ```no_run
//! use wharf_oci_core::client::RegistryClient;
//! use wharf_oci_core::copy::{CopyEngine, CopyOptions, CopyRequest};
//! use wharf_oci_core::reference::Reference;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = RegistryClient::builder().build()?;
//! let engine = CopyEngine::new(client, CopyOptions::default().blob_jobs(4));
//! let request = CopyRequest::new(
//!     Reference::parse("docker.io/library/nginx:alpine")?,
//!     [Reference::parse("harbor.example.com/mirror/nginx:alpine")?],
//! );
//! let report = engine.copy(&[request]).await;
//! assert!(report.succeeded());
//! # Ok(()) }
//! ```

mod execute;
pub mod plan;
pub mod progress;
mod report;
mod resolve;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use tokio::sync::Semaphore;

pub use plan::{BlobAction, BlobJob, BlobNeed, PlanTotals, RepoKey};
pub use progress::{CopyEvent, ProgressObserver, ProgressSnapshot};
pub use report::{BatchReport, CopyPlan, CopyStatus, PlannedReference, ReferenceReport};

use crate::client::RegistryClient;
use crate::digest::Digest;
use crate::error::Error;
use crate::platform::Platform;
use crate::reference::Reference;
use crate::retry::RetryPolicy;
use execute::{BlobOutcome, Executor, JobHandle};
use progress::Progress;
use report::error_chain;
use resolve::ResolvedImage;

/// One source reference and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    /// The source, with a tag or a digest.
    pub source: Reference,
    /// The destinations: each with a tag (the tag is set last) or without one (the image is
    /// stored by digest only).
    pub destinations: Vec<Reference>,
}

impl CopyRequest {
    /// A request copying `source` to every destination.
    pub fn new(source: Reference, destinations: impl IntoIterator<Item = Reference>) -> Self {
        Self {
            source,
            destinations: destinations.into_iter().collect(),
        }
    }
}

/// How a batch is copied. Setters document their defaults.
#[derive(Clone)]
pub struct CopyOptions {
    blob_jobs: usize,
    image_jobs: usize,
    platform: Option<Platform>,
    referrers: bool,
    retry: RetryPolicy,
    observer: Option<ProgressObserver>,
}

impl std::fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOptions")
            .field("blob_jobs", &self.blob_jobs)
            .field("image_jobs", &self.image_jobs)
            .field("platform", &self.platform)
            .field("referrers", &self.referrers)
            .field("retry", &self.retry)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            blob_jobs: 4,
            image_jobs: 8,
            platform: None,
            referrers: false,
            retry: RetryPolicy::default(),
            observer: None,
        }
    }
}

impl CopyOptions {
    /// Blob transfers running at once across the batch. Default 4 (values below 1 count as 1).
    #[must_use]
    pub fn blob_jobs(mut self, jobs: usize) -> Self {
        self.blob_jobs = jobs.max(1);
        self
    }

    /// References resolved at once. Default 8.
    #[must_use]
    pub fn image_jobs(mut self, jobs: usize) -> Self {
        self.image_jobs = jobs.max(1);
        self
    }

    /// Copies only this platform's image out of an index (the destination gets the image
    /// manifest, not the index). Default: every platform, the index byte for byte.
    #[must_use]
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Also copies the referrers (signatures, SBOMs) of each image, through the referrers
    /// API or the `sha256-<hex>` fallback tag. Default off.
    #[must_use]
    pub fn referrers(mut self, copy_referrers: bool) -> Self {
        self.referrers = copy_referrers;
        self
    }

    /// How a failed blob transfer is restarted. Default [`RetryPolicy::default`].
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Receives every progress event. Default none.
    #[must_use]
    pub fn observer(mut self, observer: ProgressObserver) -> Self {
        self.observer = Some(observer);
        self
    }
}

/// Copies images between registries through one [`RegistryClient`].
#[derive(Debug, Clone)]
pub struct CopyEngine {
    client: RegistryClient,
    options: CopyOptions,
}

/// The resolved batch and its blob jobs, before anything is written.
struct Prepared {
    resolved: Vec<Result<ResolvedImage, Error>>,
    jobs: Vec<BlobJob>,
}

impl CopyEngine {
    /// An engine copying through `client` with `options`.
    pub fn new(client: RegistryClient, options: CopyOptions) -> Self {
        Self { client, options }
    }

    /// Works out what [`copy`](Self::copy) would do, writing nothing (a dry run).
    pub async fn plan(&self, requests: &[CopyRequest]) -> CopyPlan {
        let prepared = self.prepare(requests).await;
        let references = requests
            .iter()
            .zip(&prepared.resolved)
            .map(|(request, resolved)| planned_reference(request, resolved))
            .collect();
        let totals = PlanTotals::of(&prepared.jobs);
        CopyPlan {
            references,
            blobs: prepared.jobs,
            totals,
        }
    }

    /// Copies every request and reports per reference. Never fails as a whole: look at
    /// [`BatchReport::succeeded`] and the per-reference errors.
    ///
    /// Dropping the returned future cancels the copy: running transfers are aborted, no tag
    /// is written, and a later copy of the same requests skips the blobs that did arrive.
    pub async fn copy(&self, requests: &[CopyRequest]) -> BatchReport {
        let started = Instant::now();
        let progress = Arc::new(Progress::new(self.options.observer.clone(), requests.len()));
        let prepared = self.prepare(requests).await;
        let totals = PlanTotals::of(&prepared.jobs);
        let blobs_total = prepared.jobs.len();
        progress.planned(blobs_total, totals.bytes_to_copy);
        let owners = job_owners(&prepared);
        let executor = Executor {
            client: self.client.clone(),
            retry: self.options.retry.clone(),
            transfers: Arc::new(Semaphore::new(self.options.blob_jobs)),
            progress: Arc::clone(&progress),
        };
        let handles = executor.start(prepared.jobs);
        let finishing = requests.iter().zip(prepared.resolved).enumerate().map(
            |(index, (request, resolved))| {
                let executor = executor.clone();
                let handles = &handles;
                let owners = &owners;
                async move {
                    let mut report = ReferenceReport::new(
                        request.source.to_string(),
                        destination_names(request),
                    );
                    match resolved {
                        Ok(image) => {
                            finish_image(&executor, index, &image, handles, owners, &mut report)
                                .await;
                        }
                        Err(error) => report.error = Some(error_chain(&error)),
                    }
                    report.duration = started.elapsed();
                    executor
                        .progress
                        .image_finished(&report.source, report.status != CopyStatus::Failed);
                    report
                }
            },
        );
        let references = futures::future::join_all(finishing).await;
        BatchReport {
            references,
            duration: started.elapsed(),
        }
    }

    /// Resolves every request (bounded), then checks the destinations for each blob and
    /// assigns the jobs.
    async fn prepare(&self, requests: &[CopyRequest]) -> Prepared {
        let resolved: Vec<Result<ResolvedImage, Error>> = futures::stream::iter(requests)
            .map(|request| self.resolve_with_retries(request))
            .buffered(self.options.image_jobs)
            .collect()
            .await;
        let needs = blob_needs(&resolved);
        let present = self.find_present(&needs).await;
        let jobs = plan::assign_blob_actions(&needs, &present);
        Prepared { resolved, jobs }
    }

    /// Resolves one request, starting again after a transient failure (a manifest body cut
    /// or stalled part-way) as blob transfers do; resolving writes nothing, so a retry is safe.
    async fn resolve_with_retries(&self, request: &CopyRequest) -> Result<ResolvedImage, Error> {
        let retry = &self.options.retry;
        let mut attempt = 1;
        loop {
            match resolve::resolve(&self.client, request, &self.options).await {
                Err(error)
                    if execute::is_worth_retrying(retry, &error)
                        && retry.has_attempts_left(attempt) =>
                {
                    let wait = retry.delay(attempt, None);
                    tracing::warn!(source = %request.source, attempt, %error, ?wait, "resolving failed; starting it again");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// `HEAD`s each distinct (destination repository, digest) pair once. Blobs whose source
    /// repository is on the destination registry count as present there (no request needed).
    async fn find_present(&self, needs: &[(RepoKey, Vec<BlobNeed>)]) -> HashSet<(RepoKey, Digest)> {
        let mut present = HashSet::new();
        let mut to_check = Vec::new();
        let mut seen = HashSet::new();
        for (target, blobs) in needs {
            for blob in blobs {
                if blob.source.registry == target.registry {
                    present.insert((blob.source.clone(), blob.digest.clone()));
                }
                if seen.insert((target.clone(), blob.digest.clone())) {
                    to_check.push((target.clone(), blob.digest.clone()));
                }
            }
        }
        let found: Vec<Option<(RepoKey, Digest)>> = futures::stream::iter(to_check)
            .map(|(target, digest)| async move {
                let repo = execute::repo_reference(&target).ok()?;
                match self.client.blob_exists(&repo, &digest).await {
                    Ok(Some(_)) => Some((target, digest)),
                    _ => None,
                }
            })
            .buffer_unordered(self.options.image_jobs * 2)
            .collect()
            .await;
        present.extend(found.into_iter().flatten());
        present
    }
}

/// Per destination repository, the blobs it must end up with: the image's blobs where the
/// destination is behind, the referrers' blobs everywhere.
fn blob_needs(resolved: &[Result<ResolvedImage, Error>]) -> Vec<(RepoKey, Vec<BlobNeed>)> {
    let mut needs = Vec::new();
    for image in resolved.iter().flatten() {
        for destination in &image.destinations {
            let target = RepoKey::new(
                destination.reference.registry(),
                destination.reference.repository(),
            );
            let mut blobs = Vec::new();
            if !destination.up_to_date {
                blobs.extend(image.blobs.iter().cloned());
            }
            for referrer in &image.referrers {
                blobs.extend(referrer.blobs.iter().cloned());
            }
            needs.push((target, blobs));
        }
    }
    needs
}

/// Which request a job's bytes are counted for: the first one that needs the pair.
fn job_owners(prepared: &Prepared) -> HashMap<(RepoKey, Digest), usize> {
    let mut owners = HashMap::new();
    for (index, resolved) in prepared.resolved.iter().enumerate() {
        for (target, blobs) in blob_needs(std::slice::from_ref(resolved)) {
            for blob in blobs {
                owners.entry((target.clone(), blob.digest)).or_insert(index);
            }
        }
    }
    owners
}

/// Waits for an image's blobs, then writes its manifests and tags per destination.
async fn finish_image(
    executor: &Executor,
    index: usize,
    image: &ResolvedImage,
    handles: &HashMap<(RepoKey, Digest), JobHandle>,
    owners: &HashMap<(RepoKey, Digest), usize>,
    report: &mut ReferenceReport,
) {
    report.digest = Some(image.digest.to_string());
    let outcome = async {
        for destination in &image.destinations {
            let target = RepoKey::new(
                destination.reference.registry(),
                destination.reference.repository(),
            );
            let mut blobs: Vec<&BlobNeed> = image.referrers.iter().flat_map(|r| &r.blobs).collect();
            if !destination.up_to_date {
                blobs.extend(&image.blobs);
            }
            for blob in blobs {
                let key = (target.clone(), blob.digest.clone());
                let Some(handle) = handles.get(&key) else {
                    continue;
                };
                let outcome = handle.clone().await.map_err(|e| e.to_string())?;
                if owners.get(&key) == Some(&index) {
                    count_blob(report, outcome);
                }
            }
            if !destination.up_to_date {
                report.manifests_pushed += executor
                    .push_image(image, &destination.reference)
                    .await
                    .map_err(|e| error_chain(&e))?;
            }
            for referrer in &image.referrers {
                report.manifests_pushed += executor
                    .push_referrer(referrer, &destination.reference)
                    .await
                    .map_err(|e| error_chain(&e))?;
            }
        }
        Ok::<(), String>(())
    }
    .await;
    match outcome {
        Ok(()) if image.is_up_to_date() && report.manifests_pushed == 0 => {
            report.status = CopyStatus::UpToDate;
        }
        Ok(()) => report.status = CopyStatus::Copied,
        Err(error) => report.error = Some(error),
    }
}

fn count_blob(report: &mut ReferenceReport, outcome: BlobOutcome) {
    match outcome {
        BlobOutcome::Copied(size) => {
            report.blobs_copied += 1;
            report.bytes_copied += size;
        }
        BlobOutcome::Mounted(size) => {
            report.blobs_mounted += 1;
            report.bytes_mounted += size;
        }
        BlobOutcome::Skipped(size) => {
            report.blobs_skipped += 1;
            report.bytes_skipped += size;
        }
    }
}

fn destination_names(request: &CopyRequest) -> Vec<String> {
    request
        .destinations
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn planned_reference(
    request: &CopyRequest,
    resolved: &Result<ResolvedImage, Error>,
) -> PlannedReference {
    let mut planned = PlannedReference {
        source: request.source.to_string(),
        destinations: destination_names(request),
        digest: None,
        up_to_date: false,
        manifests: 0,
        error: None,
    };
    match resolved {
        Ok(image) => {
            planned.digest = Some(image.digest.to_string());
            planned.up_to_date = image.is_up_to_date();
            planned.manifests = image.manifests.len()
                + image
                    .referrers
                    .iter()
                    .map(|r| r.manifests.len())
                    .sum::<usize>();
        }
        Err(error) => planned.error = Some(error_chain(error)),
    }
    planned
}
