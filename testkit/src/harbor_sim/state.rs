//! The simulator's in-memory records: projects, repositories, artifacts, robots, labels, scans.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Everything the simulator remembers; lives behind one mutex, never held across an await.
#[derive(Debug, Default)]
pub(crate) struct State {
    ids: HashMap<&'static str, i64>,
    pub(crate) projects: Vec<Project>,
    pub(crate) repositories: Vec<Repository>,
    pub(crate) artifacts: Vec<Artifact>,
    pub(crate) robots: Vec<Robot>,
    pub(crate) labels: Vec<Label>,
    /// `(repository, tag, digest)` removed through the API; the registry still has them
    /// because distribution cannot delete a tag alone.
    pub(crate) deleted_tags: HashSet<(String, String, String)>,
    /// The last scan of each manifest digest: Harbor keys reports by digest, so copies of an
    /// artifact share its scan.
    pub(crate) scans: HashMap<String, Scan>,
    /// Repository full name to the Trivy fixture its scans report.
    pub(crate) scan_fixtures: HashMap<String, String>,
}

impl State {
    /// Empty records whose scans report the given fixtures.
    pub(crate) fn with_scan_fixtures(scan_fixtures: HashMap<String, String>) -> Self {
        Self {
            scan_fixtures,
            ..Self::default()
        }
    }

    /// The next id of `kind` (ids count per table from 1, as in Harbor's database).
    pub(crate) fn next_id(&mut self, kind: &'static str) -> i64 {
        let id = self.ids.entry(kind).or_insert(0);
        *id += 1;
        *id
    }

    /// The project named `name_or_id`; a number is an id unless `is_name` (`X-Is-Resource-Name`).
    pub(crate) fn project(&self, name_or_id: &str, is_name: bool) -> Option<&Project> {
        match name_or_id.parse::<i64>() {
            Ok(id) if !is_name => self.projects.iter().find(|project| project.id == id),
            _ => self
                .projects
                .iter()
                .find(|project| project.name == name_or_id),
        }
    }

    pub(crate) fn repository(&self, full_name: &str) -> Option<&Repository> {
        self.repositories
            .iter()
            .find(|repository| repository.name == full_name)
    }

    pub(crate) fn artifacts_of(&self, repository_id: i64) -> Vec<&Artifact> {
        let mut artifacts: Vec<&Artifact> = self
            .artifacts
            .iter()
            .filter(|artifact| artifact.repository_id == repository_id)
            .collect();
        // Newest push first, as Harbor sorts by default.
        artifacts.sort_by(|a, b| b.push_time.cmp(&a.push_time).then(b.id.cmp(&a.id)));
        artifacts
    }

    /// The artifact `reference` (a digest or a tag) of the repository `repository_id`.
    pub(crate) fn artifact_index(&self, repository_id: i64, reference: &str) -> Option<usize> {
        self.artifacts.iter().position(|artifact| {
            artifact.repository_id == repository_id
                && (artifact.digest == reference
                    || artifact.tags.iter().any(|tag| tag.name == reference))
        })
    }

    /// Bytes stored by a project: every distinct blob and manifest of its artifacts.
    pub(crate) fn project_usage(&self, project_id: i64) -> u64 {
        let mut seen = HashSet::new();
        self.artifacts
            .iter()
            .filter(|artifact| artifact.project_id == project_id)
            .flat_map(|artifact| {
                artifact
                    .blobs
                    .iter()
                    .cloned()
                    .chain([(artifact.digest.clone(), artifact.manifest_size)])
            })
            .filter(|(digest, _)| seen.insert(digest.clone()))
            .map(|(_, size)| size)
            .sum()
    }

    pub(crate) fn repository_count(&self, project_id: i64) -> usize {
        self.repositories
            .iter()
            .filter(|repository| repository.project_id == project_id)
            .count()
    }
}

/// A project and its metadata (string values, as Harbor stores them).
#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) storage_limit: i64,
    pub(crate) quota_id: i64,
    pub(crate) creation_time: OffsetDateTime,
    pub(crate) update_time: OffsetDateTime,
}

impl Project {
    pub(crate) fn is_public(&self) -> bool {
        self.metadata
            .get("public")
            .is_some_and(|value| value == "true")
    }
}

/// A repository; `name` is the full `project/repo` name.
#[derive(Debug, Clone)]
pub(crate) struct Repository {
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    pub(crate) name: String,
    pub(crate) creation_time: OffsetDateTime,
    pub(crate) update_time: OffsetDateTime,
}

/// An artifact (a manifest in a repository) with its tags and labels.
#[derive(Debug, Clone)]
pub(crate) struct Artifact {
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    pub(crate) repository_id: i64,
    pub(crate) repository_name: String,
    pub(crate) digest: String,
    pub(crate) manifest_media_type: String,
    pub(crate) media_type: String,
    pub(crate) kind: String,
    pub(crate) manifest_size: u64,
    pub(crate) size: u64,
    pub(crate) blobs: Vec<(String, u64)>,
    pub(crate) extra_attrs: Value,
    pub(crate) push_time: OffsetDateTime,
    pub(crate) tags: Vec<Tag>,
    pub(crate) label_ids: Vec<i64>,
}

/// A tag of an artifact.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) push_time: OffsetDateTime,
}

/// A scan started at `started`; its status is derived from the elapsed time.
#[derive(Debug, Clone)]
pub(crate) struct Scan {
    pub(crate) report_id: String,
    pub(crate) started: Instant,
    pub(crate) start_time: OffsetDateTime,
    /// The Harbor vulnerability report the scan ends with.
    pub(crate) report: Value,
}

/// A robot account. `name` is the full name (`robot$project+name` or `robot$name`).
#[derive(Debug, Clone)]
pub(crate) struct Robot {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) secret: String,
    pub(crate) level: String,
    pub(crate) duration: i64,
    pub(crate) expires_at: i64,
    pub(crate) disable: bool,
    pub(crate) project_id: i64,
    pub(crate) permissions: Vec<RobotPermission>,
    pub(crate) creation_time: OffsetDateTime,
    pub(crate) update_time: OffsetDateTime,
}

impl Robot {
    pub(crate) fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at != -1 && self.expires_at <= now.unix_timestamp()
    }
}

/// One permission of a robot: `kind` is `project` or `system`, `namespace` a project name or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RobotPermission {
    pub(crate) kind: String,
    pub(crate) namespace: String,
    #[serde(default)]
    pub(crate) access: Vec<RobotAccess>,
}

/// A `resource`/`action` pair of a robot permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RobotAccess {
    pub(crate) resource: String,
    pub(crate) action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) effect: Option<String>,
}

/// A label (global or project scope).
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) color: String,
    pub(crate) scope: String,
    pub(crate) project_id: i64,
    pub(crate) creation_time: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(state: &mut State, name: &str) -> i64 {
        let id = state.next_id("project");
        let now = OffsetDateTime::now_utc();
        state.projects.push(Project {
            id,
            name: name.to_owned(),
            metadata: BTreeMap::new(),
            storage_limit: -1,
            quota_id: id,
            creation_time: now,
            update_time: now,
        });
        id
    }

    #[test]
    fn numeric_project_names_resolve_as_ids_unless_marked_as_names() {
        let mut state = State::default();
        project(&mut state, "alpha");
        let numeric = project(&mut state, "1");
        assert_eq!(state.project("1", false).unwrap().name, "alpha");
        assert_eq!(state.project("1", true).unwrap().id, numeric);
        assert!(state.project("missing", false).is_none());
    }
}
