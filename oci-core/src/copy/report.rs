//! What a batch did, per reference and in total.

use std::time::Duration;

use serde::Serialize;

use super::plan::{BlobJob, PlanTotals};

/// How one reference ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyStatus {
    /// Everything was copied and every destination tag points at the source digest.
    Copied,
    /// Every destination already pointed at the source digest: nothing was sent.
    UpToDate,
    /// Something failed; no destination tag was moved to an incomplete image.
    Failed,
}

/// The outcome for one source reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceReport {
    /// The source reference as given.
    pub source: String,
    /// The destination references.
    pub destinations: Vec<String>,
    /// The copied digest, once known.
    pub digest: Option<String>,
    /// How it ended.
    pub status: CopyStatus,
    /// The error with its causes, when it failed.
    pub error: Option<String>,
    /// Blobs streamed on behalf of this reference.
    pub blobs_copied: usize,
    /// Bytes streamed on behalf of this reference.
    pub bytes_copied: u64,
    /// Blobs mounted from another repository of the destination registry.
    pub blobs_mounted: usize,
    /// Bytes that mounting saved.
    pub bytes_mounted: u64,
    /// Blobs that were already in the destination repository.
    pub blobs_skipped: usize,
    /// Bytes that were already in place.
    pub bytes_skipped: u64,
    /// Manifests (children, image or index, referrers) written, tags included.
    pub manifests_pushed: usize,
    /// Wall time from the start of the batch until this reference finished.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

impl ReferenceReport {
    /// A reference that failed before anything was copied (for instance, a repository whose
    /// tags could not be listed), for callers that report it alongside a batch.
    pub fn failed(source: String, destinations: Vec<String>, error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::new(source, destinations)
        }
    }

    pub(crate) fn new(source: String, destinations: Vec<String>) -> Self {
        Self {
            source,
            destinations,
            digest: None,
            status: CopyStatus::Failed,
            error: None,
            blobs_copied: 0,
            bytes_copied: 0,
            blobs_mounted: 0,
            bytes_mounted: 0,
            blobs_skipped: 0,
            bytes_skipped: 0,
            manifests_pushed: 0,
            duration: Duration::ZERO,
        }
    }
}

/// The outcome of a whole batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// One entry per request, in request order.
    pub references: Vec<ReferenceReport>,
    /// Wall time of the batch.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
}

impl BatchReport {
    /// True when no reference failed.
    pub fn succeeded(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The references that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ReferenceReport> {
        self.references
            .iter()
            .filter(|r| r.status == CopyStatus::Failed)
    }

    /// Bytes streamed in the whole batch.
    pub fn bytes_copied(&self) -> u64 {
        self.references.iter().map(|r| r.bytes_copied).sum()
    }
}

/// A planned reference, as a dry run shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedReference {
    /// The source reference as given.
    pub source: String,
    /// The destination references.
    pub destinations: Vec<String>,
    /// The digest that would be copied.
    pub digest: Option<String>,
    /// True when every destination already points at the digest.
    pub up_to_date: bool,
    /// Manifests that would be written (children and the image or index).
    pub manifests: usize,
    /// Why the reference cannot be copied, when resolving it failed.
    pub error: Option<String>,
}

/// What a batch would do: the result of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyPlan {
    /// One entry per request.
    pub references: Vec<PlannedReference>,
    /// Every blob job: copy, mount or skip, with sizes.
    pub blobs: Vec<BlobJob>,
    /// Totals over the blob jobs.
    pub totals: PlanTotals,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// An error with its chain of causes on one line: `a: b: c`.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
