//! Deciding, without I/O, what happens to every blob of a batch.
//!
//! The resolver finds out which blobs each image needs and which ones the destination
//! repositories already hold; [`assign_blob_actions`] turns that into one job per distinct
//! (destination repository, digest) pair so that every blob crosses the network at most once
//! per destination registry: later repositories mount it from the first one.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;

use serde::Serialize;

use crate::digest::Digest;

/// A repository on a registry, the unit blobs are stored in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RepoKey {
    /// Registry host with port (`harbor.example.com`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path on that registry (`staging/api`).
    pub repository: String,
}

impl RepoKey {
    /// A key for `repository` on `registry`.
    pub fn new(registry: impl Into<String>, repository: impl Into<String>) -> Self {
        Self {
            registry: registry.into(),
            repository: repository.into(),
        }
    }
}

impl std::fmt::Display for RepoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// A blob an image needs: its digest, size, and a source repository that serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobNeed {
    /// The blob's digest.
    pub digest: Digest,
    /// Its size in bytes, from the descriptor.
    pub size: u64,
    /// Where to download it from.
    pub source: RepoKey,
}

/// What happens to one blob in one destination repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum BlobAction {
    /// The repository already has it: nothing to do (found by one `HEAD`).
    Skip,
    /// Link it from another repository of the same registry: no bytes move.
    Mount {
        /// The repository to mount from.
        from: RepoKey,
    },
    /// Stream it from the source registry into the destination.
    Copy,
}

/// One unit of blob work: a digest that must end up in a destination repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobJob {
    /// Destination repository.
    pub target: RepoKey,
    /// The blob.
    pub blob: BlobNeed,
    /// How it gets there.
    #[serde(flatten)]
    pub action: BlobAction,
}

/// Assigns an action to every distinct (destination repository, digest) pair.
///
/// `needs` lists, per destination repository, the blobs its images need (duplicates allowed,
/// order kept: earlier needs win the `Copy`). `present` holds the pairs a `HEAD` found in the
/// destination already. Rules, per pair in order:
///
/// 1. present in the repository → [`BlobAction::Skip`];
/// 2. present in another repository of the same registry, or copied there earlier in this
///    batch → [`BlobAction::Mount`] from that repository;
/// 3. otherwise → [`BlobAction::Copy`], and this repository becomes the place later
///    repositories mount from.
pub fn assign_blob_actions<S: BuildHasher>(
    needs: &[(RepoKey, Vec<BlobNeed>)],
    present: &HashSet<(RepoKey, Digest), S>,
) -> Vec<BlobJob> {
    let mut holders = holders_by_registry(present);
    let mut seen: HashSet<(RepoKey, Digest)> = HashSet::new();
    let mut jobs = Vec::new();
    for (target, blobs) in needs {
        for blob in blobs {
            if !seen.insert((target.clone(), blob.digest.clone())) {
                continue;
            }
            let action = choose_action(target, blob, present, &mut holders);
            jobs.push(BlobJob {
                target: target.clone(),
                blob: blob.clone(),
                action,
            });
        }
    }
    jobs
}

/// For each (registry, digest), the repositories known to hold the blob (sorted, so the
/// choice of mount source is deterministic).
type Holders = HashMap<(String, Digest), BTreeSet<String>>;

fn holders_by_registry<S: BuildHasher>(present: &HashSet<(RepoKey, Digest), S>) -> Holders {
    let mut holders = Holders::new();
    for (repo, digest) in present {
        holders
            .entry((repo.registry.clone(), digest.clone()))
            .or_default()
            .insert(repo.repository.clone());
    }
    holders
}

fn choose_action<S: BuildHasher>(
    target: &RepoKey,
    blob: &BlobNeed,
    present: &HashSet<(RepoKey, Digest), S>,
    holders: &mut Holders,
) -> BlobAction {
    if present.contains(&(target.clone(), blob.digest.clone())) {
        return BlobAction::Skip;
    }
    let key = (target.registry.clone(), blob.digest.clone());
    let known = holders.entry(key).or_default();
    let action = match known.iter().find(|repo| **repo != target.repository) {
        Some(repo) => BlobAction::Mount {
            from: RepoKey::new(&target.registry, repo),
        },
        None => BlobAction::Copy,
    };
    known.insert(target.repository.clone());
    action
}

/// Totals of a plan, in blobs and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanTotals {
    /// Blobs that will be streamed.
    pub blobs_to_copy: usize,
    /// Bytes that will be streamed.
    pub bytes_to_copy: u64,
    /// Blobs that will be mounted.
    pub blobs_to_mount: usize,
    /// Bytes that mounting saves.
    pub bytes_to_mount: u64,
    /// Blobs already in place.
    pub blobs_to_skip: usize,
    /// Bytes already in place.
    pub bytes_to_skip: u64,
}

impl PlanTotals {
    /// Adds up the jobs.
    pub fn of(jobs: &[BlobJob]) -> Self {
        let mut totals = Self::default();
        for job in jobs {
            let size = job.blob.size;
            match job.action {
                BlobAction::Skip => {
                    totals.blobs_to_skip += 1;
                    totals.bytes_to_skip += size;
                }
                BlobAction::Mount { .. } => {
                    totals.blobs_to_mount += 1;
                    totals.bytes_to_mount += size;
                }
                BlobAction::Copy => {
                    totals.blobs_to_copy += 1;
                    totals.bytes_to_copy += size;
                }
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn need(n: u8, size: u64) -> BlobNeed {
        BlobNeed {
            digest: digest(n),
            size,
            source: RepoKey::new("src:5000", "seed/app"),
        }
    }

    fn repo(name: &str) -> RepoKey {
        RepoKey::new("dst:5000", name)
    }

    fn actions(jobs: &[BlobJob]) -> Vec<(String, u64, BlobAction)> {
        jobs.iter()
            .map(|j| (j.target.repository.clone(), j.blob.size, j.action.clone()))
            .collect()
    }

    #[test]
    fn shared_blobs_cross_the_network_once_and_are_mounted_elsewhere() {
        let needs = vec![
            (repo("a"), vec![need(1, 30), need(2, 10), need(3, 60)]),
            (
                repo("a"),
                vec![need(1, 30), need(2, 10), need(3, 60), need(4, 6)],
            ),
            (repo("b"), vec![need(1, 30), need(2, 10), need(5, 60)]),
        ];
        let jobs = assign_blob_actions(&needs, &HashSet::new());
        let mount_a = BlobAction::Mount { from: repo("a") };
        assert_eq!(
            actions(&jobs),
            vec![
                ("a".into(), 30, BlobAction::Copy),
                ("a".into(), 10, BlobAction::Copy),
                ("a".into(), 60, BlobAction::Copy),
                ("a".into(), 6, BlobAction::Copy),
                ("b".into(), 30, mount_a.clone()),
                ("b".into(), 10, mount_a),
                ("b".into(), 60, BlobAction::Copy),
            ]
        );
        let totals = PlanTotals::of(&jobs);
        assert_eq!((totals.blobs_to_copy, totals.bytes_to_copy), (5, 166));
        assert_eq!((totals.blobs_to_mount, totals.bytes_to_mount), (2, 40));
    }

    #[test]
    fn blobs_already_present_are_skipped_or_mounted_from_where_they_are() {
        let needs = vec![
            (repo("a"), vec![need(1, 30)]),
            (repo("b"), vec![need(1, 30)]),
        ];
        let present = HashSet::from([(repo("b"), digest(1))]);
        let jobs = assign_blob_actions(&needs, &present);
        assert_eq!(
            actions(&jobs),
            vec![
                ("a".into(), 30, BlobAction::Mount { from: repo("b") }),
                ("b".into(), 30, BlobAction::Skip),
            ]
        );
    }

    #[test]
    fn other_registries_never_serve_as_mount_sources() {
        let other = RepoKey::new("elsewhere:5000", "a");
        let needs = vec![(other, vec![need(1, 30)]), (repo("a"), vec![need(1, 30)])];
        let jobs = assign_blob_actions(&needs, &HashSet::new());
        assert!(jobs.iter().all(|j| j.action == BlobAction::Copy));
    }
}
