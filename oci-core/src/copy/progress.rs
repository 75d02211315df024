//! Progress of a batch as events with running totals, for progress bars and logs.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

use crate::digest::Digest;

/// Running totals of a batch. `*_total` grow while images are resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProgressSnapshot {
    /// Bytes streamed so far.
    pub bytes_done: u64,
    /// Bytes the plan says will be streamed.
    pub bytes_total: u64,
    /// Blobs finished (copied, mounted or skipped).
    pub blobs_done: usize,
    /// Blobs in the plan.
    pub blobs_total: usize,
    /// References finished, successfully or not.
    pub images_done: usize,
    /// References in the batch.
    pub images_total: usize,
}

/// What just happened in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyEvent {
    /// The plan is known: totals are final from here on.
    Planned,
    /// A blob transfer started.
    BlobStarted {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// Bytes of some blob arrived at the destination.
    Bytes {
        /// How many bytes, since the last event of this kind for the same transfer. Negative
        /// progress after a retry is reported as a new total in the snapshot instead.
        count: u64,
    },
    /// A blob is in place at the destination.
    BlobFinished {
        /// The blob.
        digest: Digest,
    },
    /// A reference finished.
    ImageFinished {
        /// The source reference as given.
        source: String,
        /// False when it failed.
        ok: bool,
    },
}

/// A function that receives every event with the totals right after it.
pub type ProgressObserver = Arc<dyn Fn(&CopyEvent, &ProgressSnapshot) + Send + Sync>;

/// Counters shared by the tasks of one batch.
#[derive(Default)]
pub(crate) struct Progress {
    observer: Option<ProgressObserver>,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    blobs_done: AtomicUsize,
    blobs_total: AtomicUsize,
    images_done: AtomicUsize,
    images_total: AtomicUsize,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("snapshot", &self.snapshot())
            .finish_non_exhaustive()
    }
}

impl Progress {
    pub(crate) fn new(observer: Option<ProgressObserver>, images: usize) -> Self {
        let progress = Self {
            observer,
            ..Self::default()
        };
        progress.images_total.store(images, Ordering::Relaxed);
        progress
    }

    pub(crate) fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            blobs_done: self.blobs_done.load(Ordering::Relaxed),
            blobs_total: self.blobs_total.load(Ordering::Relaxed),
            images_done: self.images_done.load(Ordering::Relaxed),
            images_total: self.images_total.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn planned(&self, blobs: usize, bytes: u64) {
        self.blobs_total.store(blobs, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
        self.emit(&CopyEvent::Planned);
    }

    pub(crate) fn blob_started(&self, digest: &Digest, size: u64) {
        self.emit(&CopyEvent::BlobStarted {
            digest: digest.clone(),
            size,
        });
    }

    pub(crate) fn bytes(&self, count: u64) {
        self.bytes_done.fetch_add(count, Ordering::Relaxed);
        self.emit(&CopyEvent::Bytes { count });
    }

    /// Takes back bytes of an attempt that failed and will be sent again.
    pub(crate) fn rewind(&self, count: u64) {
        self.bytes_done.fetch_sub(count, Ordering::Relaxed);
    }

    pub(crate) fn blob_finished(&self, digest: &Digest) {
        self.blobs_done.fetch_add(1, Ordering::Relaxed);
        self.emit(&CopyEvent::BlobFinished {
            digest: digest.clone(),
        });
    }

    pub(crate) fn image_finished(&self, source: &str, ok: bool) {
        self.images_done.fetch_add(1, Ordering::Relaxed);
        self.emit(&CopyEvent::ImageFinished {
            source: source.to_owned(),
            ok,
        });
    }

    fn emit(&self, event: &CopyEvent) {
        if let Some(observer) = &self.observer {
            observer(event, &self.snapshot());
        }
    }
}
