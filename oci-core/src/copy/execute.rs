//! Running the blob jobs and pushing manifests and tags in an order that never exposes a
//! broken image.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::{BoxFuture, FutureExt, Shared};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::plan::{BlobAction, BlobJob, BlobNeed, RepoKey};
use super::progress::Progress;
use super::resolve::{Referrer, ResolvedImage};
use crate::client::{MountOutcome, RawManifest, RegistryClient, UploadSession};
use crate::digest::Digest;
use crate::error::Error;
use crate::reference::Reference;
use crate::retry::RetryPolicy;

/// How a blob got into its destination repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobOutcome {
    Copied(u64),
    Mounted(u64),
    Skipped(u64),
}

/// A running (or finished) blob job that several images may wait for.
pub(crate) type JobHandle = Shared<BoxFuture<'static, Result<BlobOutcome, Arc<Error>>>>;

/// What the executor shares between its tasks.
#[derive(Clone)]
pub(crate) struct Executor {
    pub(crate) client: RegistryClient,
    pub(crate) retry: RetryPolicy,
    pub(crate) transfers: Arc<Semaphore>,
    pub(crate) progress: Arc<Progress>,
}

/// A spawned blob job that is aborted when its last handle is dropped: a copy whose future is
/// dropped (cancelled) stops its transfers instead of leaving them running in the background.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        // A finished task ignores the abort.
        self.0.abort();
    }
}

impl Executor {
    /// Starts every job as a task; mounts wait for the job that brings their blob in.
    pub(crate) fn start(&self, jobs: Vec<BlobJob>) -> HashMap<(RepoKey, Digest), JobHandle> {
        let mut handles: HashMap<(RepoKey, Digest), JobHandle> = HashMap::new();
        for job in jobs {
            let key = (job.target.clone(), job.blob.digest.clone());
            let awaited = match &job.action {
                BlobAction::Mount { from } => handles
                    .get(&(from.clone(), job.blob.digest.clone()))
                    .cloned(),
                _ => None,
            };
            let executor = self.clone();
            let mut task =
                AbortOnDrop(tokio::spawn(
                    async move { executor.run_job(job, awaited).await },
                ));
            let handle = async move {
                match (&mut task.0).await {
                    Ok(result) => result,
                    Err(join) => Err(Arc::new(Error::Unsupported {
                        reason: format!("blob task ended: {join}"),
                    })),
                }
            };
            handles.insert(key, handle.boxed().shared());
        }
        handles
    }

    async fn run_job(
        self,
        job: BlobJob,
        awaited: Option<JobHandle>,
    ) -> Result<BlobOutcome, Arc<Error>> {
        let size = job.blob.size;
        let outcome = match &job.action {
            BlobAction::Skip => Ok(BlobOutcome::Skipped(size)),
            BlobAction::Copy => self
                .transfer(&job.blob, &job.target, None)
                .await
                .map(|()| BlobOutcome::Copied(size)),
            BlobAction::Mount { from } => self.mount_or_copy(&job, from, awaited).await,
        };
        if outcome.is_ok() {
            self.progress.blob_finished(&job.blob.digest);
        }
        outcome.map_err(Arc::new)
    }

    /// Mounts the blob once its holder has it; falls back to streaming it when the holder's
    /// copy failed or the registry declines the mount.
    async fn mount_or_copy(
        &self,
        job: &BlobJob,
        from: &RepoKey,
        awaited: Option<JobHandle>,
    ) -> Result<BlobOutcome, Error> {
        let size = job.blob.size;
        if let Some(holder) = awaited
            && let Err(error) = holder.await
        {
            warn!(digest = %job.blob.digest, %error, "the copy this mount waited for failed; streaming the blob instead");
            return self
                .transfer(&job.blob, &job.target, None)
                .await
                .map(|()| BlobOutcome::Copied(size));
        }
        let target = repo_reference(&job.target)?;
        let source = repo_reference(from)?;
        match self
            .client
            .mount_blob(&target, &job.blob.digest, &source)
            .await
        {
            Ok(MountOutcome::Mounted) => Ok(BlobOutcome::Mounted(size)),
            Ok(MountOutcome::Declined(session)) => {
                debug!(digest = %job.blob.digest, "mount declined; uploading into the opened session");
                self.transfer(&job.blob, &job.target, Some(session))
                    .await
                    .map(|()| BlobOutcome::Copied(size))
            }
            Err(error) => {
                warn!(digest = %job.blob.digest, %error, "mount failed; streaming the blob instead");
                self.transfer(&job.blob, &job.target, None)
                    .await
                    .map(|()| BlobOutcome::Copied(size))
            }
        }
    }

    /// Streams a blob from its source into `target`, restarting the whole transfer after
    /// transient failures. The download verifies the digest on the way and the registry
    /// verifies it again when the upload closes, so a bad byte never lands.
    async fn transfer(
        &self,
        blob: &BlobNeed,
        target: &RepoKey,
        mut session: Option<UploadSession>,
    ) -> Result<(), Error> {
        let source = repo_reference(&blob.source)?;
        let target = repo_reference(target)?;
        let _permit = self
            .transfers
            .acquire()
            .await
            .expect("the transfer semaphore is never closed");
        self.progress.blob_started(&blob.digest, blob.size);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = Arc::new(AtomicU64::new(0));
            let shape = self.client.upload_shape(target.registry());
            let result = self
                .transfer_once(blob, &source, &target, session.take(), &sent)
                .await;
            match result {
                Ok(()) => {
                    info!(digest = %blob.digest, size = blob.size, target = %target, "blob copied");
                    return Ok(());
                }
                Err(error)
                    if self
                        .client
                        .made_bodies_smaller(&error, target.registry(), shape) =>
                {
                    self.progress.rewind(sent.load(Ordering::Relaxed));
                    warn!(digest = %blob.digest, %error, "blob refused as too large; sending it in smaller pieces");
                    attempt -= 1;
                }
                Err(error)
                    if is_worth_retrying(&self.retry, &error)
                        && self.retry.has_attempts_left(attempt) =>
                {
                    self.progress.rewind(sent.load(Ordering::Relaxed));
                    let wait = self.retry.delay(attempt, None);
                    warn!(digest = %blob.digest, attempt, %error, ?wait, "blob transfer failed; starting it again");
                    tokio::time::sleep(wait).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn transfer_once(
        &self,
        blob: &BlobNeed,
        source: &Reference,
        target: &Reference,
        session: Option<UploadSession>,
        sent: &Arc<AtomicU64>,
    ) -> Result<(), Error> {
        let download = self.client.get_blob(source, &blob.digest).await?;
        let progress = Arc::clone(&self.progress);
        let counter = Arc::clone(sent);
        let observed = download
            .inspect_ok(move |chunk| {
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                progress.bytes(chunk.len() as u64);
            })
            .boxed();
        match session {
            Some(session) => {
                session
                    .upload_stream(&blob.digest, blob.size, observed)
                    .await
            }
            None => {
                self.client
                    .push_blob_stream(target, &blob.digest, blob.size, observed)
                    .await
            }
        }
    }

    /// Pushes manifests missing at `destination` (children first), then the tag.
    pub(crate) async fn push_image(
        &self,
        image: &ResolvedImage,
        destination: &Reference,
    ) -> Result<usize, Error> {
        let repo = destination.repository_reference();
        let mut pushed = 0;
        for raw in &image.manifests {
            pushed += usize::from(self.push_manifest_if_missing(&repo, raw).await?);
        }
        if destination.tag().is_some() {
            let top = image.manifests.last().ok_or_else(|| Error::Unsupported {
                reason: format!("no manifest resolved for {destination}"),
            })?;
            self.client
                .put_manifest_raw(destination, &top.media_type, top.bytes.clone())
                .await?;
            info!(%destination, digest = %image.digest, "tag points at the copied image");
            pushed += 1;
        }
        Ok(pushed)
    }

    /// Pushes a referrer's manifests and keeps the `sha256-<hex>` fallback tag up to date on
    /// registries without the referrers API.
    pub(crate) async fn push_referrer(
        &self,
        referrer: &Referrer,
        destination: &Reference,
    ) -> Result<usize, Error> {
        let repo = destination.repository_reference();
        let mut pushed = 0;
        let Some((top, children)) = referrer.manifests.split_last() else {
            return Ok(0);
        };
        for raw in children {
            pushed += usize::from(self.push_manifest_if_missing(&repo, raw).await?);
        }
        let target = repo.with_digest(top.digest.clone());
        if self.client.head_manifest(&target).await?.is_some() {
            return Ok(pushed);
        }
        let answer = self
            .client
            .put_manifest_raw(&target, &top.media_type, top.bytes.clone())
            .await?;
        if !answer.subject_acknowledged {
            self.client
                .add_to_referrers_tag(&repo, &referrer.subject, &referrer.descriptor)
                .await?;
        }
        Ok(pushed + 1)
    }

    async fn push_manifest_if_missing(
        &self,
        repo: &Reference,
        raw: &RawManifest,
    ) -> Result<bool, Error> {
        let target = repo.with_digest(raw.digest.clone());
        if self.client.head_manifest(&target).await?.is_some() {
            return Ok(false);
        }
        self.client
            .put_manifest_raw(&target, &raw.media_type, raw.bytes.clone())
            .await?;
        Ok(true)
    }
}

/// Transient failures: connection trouble, a registry asking to retry, or a body that ended
/// badly mid-stream. A digest mismatch is retried too: a body cut short without
/// `Content-Length` (a proxy dropping a chunked stream) only shows as one; a source that is
/// really corrupt still fails once the attempts are used up. Refusals (4xx) are final.
pub(super) fn is_worth_retrying(retry: &RetryPolicy, error: &Error) -> bool {
    match error.status() {
        Some(status) => retry.should_retry_status(status),
        None => matches!(
            error,
            Error::Http { .. } | Error::Body { .. } | Error::Protocol { .. } | Error::Digest { .. }
        ),
    }
}

/// A repository reference (no tag, no digest) for a key.
pub(crate) fn repo_reference(key: &RepoKey) -> Result<Reference, Error> {
    Ok(Reference::parse(&format!(
        "{}/{}",
        key.registry, key.repository
    ))?)
}
