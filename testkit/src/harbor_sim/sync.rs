//! Brings the records up to date with what clients pushed to the registry.
//!
//! Harbor learns about pushes in its registry proxy; the simulator's registry is reached
//! directly, so every API read that shows repositories or artifacts first reads the catalog,
//! tags and manifests from the registry (deterministic: no notification lag).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Sim;
use super::api::scans::begin_scan;
use super::http::ApiError;
use super::registry::{RegistryError, StoredManifest};
use super::state::{Artifact, Repository, State as Records, Tag};

/// Config media types Harbor shows as `IMAGE`.
const IMAGE_CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        ApiError::internal(&error)
    }
}

/// A manifest read from the registry, with what Harbor extracts from its config.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) manifest: StoredManifest,
    pub(crate) config_media_type: String,
    pub(crate) extra_attrs: Value,
}

/// Syncs every repository of the registry that belongs to a known project.
pub(crate) async fn sync_all(sim: &Sim) -> Result<(), ApiError> {
    let Some(catalog) = reachable_catalog(sim).await else {
        return Ok(());
    };
    for repository in catalog {
        sync_repository(sim, &repository).await?;
    }
    Ok(())
}

/// The registry's catalog, or `None` when the registry does not answer: Harbor keeps its
/// records in a database, so during a registry outage its API still answers from what it
/// last knew, and so does the simulator.
async fn reachable_catalog(sim: &Sim) -> Option<Vec<String>> {
    match sim.registry.catalog().await {
        Ok(catalog) => Some(catalog),
        Err(error) => {
            tracing::warn!(
                ?error,
                "registry unreachable; answering from the last known records"
            );
            None
        }
    }
}

/// Syncs the repositories of project `name`.
pub(crate) async fn sync_project(sim: &Sim, name: &str) -> Result<(), ApiError> {
    let prefix = format!("{name}/");
    let Some(catalog) = reachable_catalog(sim).await else {
        return Ok(());
    };
    for repository in catalog
        .iter()
        .filter(|repository| repository.starts_with(&prefix))
    {
        sync_repository(sim, repository).await?;
    }
    Ok(())
}

/// Syncs the tags and artifacts of repository `full_name` (`project/repo`).
pub(crate) async fn sync_repository(sim: &Sim, full_name: &str) -> Result<(), ApiError> {
    let Some((project_name, _)) = full_name.split_once('/') else {
        return Ok(());
    };
    let Some(project_id) = sim
        .records()
        .project(project_name, true)
        .map(|project| project.id)
    else {
        return Ok(());
    };

    let mut tagged: Vec<(String, Found)> = Vec::new();
    for tag in sim.registry.tags(full_name).await? {
        if let Some(found) = read(sim, full_name, &tag).await? {
            tagged.push((tag, found));
        }
    }

    let mut records = sim.records();
    let known = records.artifacts.len();
    apply(&mut records, project_id, full_name, tagged);
    let auto_scan = records.project(project_name, true).is_some_and(|project| {
        project
            .metadata
            .get("auto_scan")
            .is_some_and(|value| value == "true")
    });
    if auto_scan {
        // Harbor scans new pushes of projects with `auto_scan`; records only grow at the end.
        for index in known..records.artifacts.len() {
            begin_scan(sim, &mut records, index)?;
        }
    }
    Ok(())
}

/// Reads manifest `reference` of `repository` and its image config.
pub(crate) async fn read(
    sim: &Sim,
    repository: &str,
    reference: &str,
) -> Result<Option<Found>, ApiError> {
    let Some(manifest) = sim.registry.manifest(repository, reference).await? else {
        return Ok(None);
    };
    let json = manifest.json();
    let config = json.get("config");
    let config_media_type = config
        .and_then(|config| config.get("mediaType"))
        .and_then(Value::as_str)
        .unwrap_or(&manifest.media_type)
        .to_owned();
    let extra_attrs = match config
        .and_then(|config| config.get("digest"))
        .and_then(Value::as_str)
    {
        Some(digest) if IMAGE_CONFIG_TYPES.contains(&config_media_type.as_str()) => {
            let blob = sim.registry.blob(repository, digest).await?;
            image_attributes(&serde_json::from_slice(&blob).unwrap_or(Value::Null))
        }
        _ => Value::Null,
    };
    Ok(Some(Found {
        manifest,
        config_media_type,
        extra_attrs,
    }))
}

/// What Harbor's image processor keeps from an image config.
fn image_attributes(config: &Value) -> Value {
    json!({
        "architecture": config.get("architecture").cloned().unwrap_or(Value::Null),
        "author": config.get("author").cloned().unwrap_or(json!("")),
        "config": config.get("config").cloned().unwrap_or(json!({})),
        "created": config.get("created").cloned().unwrap_or(Value::Null),
        "os": config.get("os").cloned().unwrap_or(Value::Null),
    })
}

fn apply(records: &mut Records, project_id: i64, full_name: &str, tagged: Vec<(String, Found)>) {
    let visible: Vec<(String, Found)> = tagged
        .into_iter()
        .filter(|(tag, found)| {
            !records.deleted_tags.contains(&(
                full_name.to_owned(),
                tag.clone(),
                found.manifest.digest.clone(),
            ))
        })
        .collect();
    if visible.is_empty() && records.repository(full_name).is_none() {
        return;
    }
    for (tag, found) in visible {
        let index = record_artifact(records, project_id, full_name, &found);
        attach_tag(records, index, &tag);
    }
}

/// The repository `full_name`, created when missing.
pub(crate) fn ensure_repository(records: &mut Records, project_id: i64, full_name: &str) -> i64 {
    if let Some(repository) = records.repository(full_name) {
        return repository.id;
    }
    let id = records.next_id("repository");
    let now = OffsetDateTime::now_utc();
    records.repositories.push(Repository {
        id,
        project_id,
        name: full_name.to_owned(),
        creation_time: now,
        update_time: now,
    });
    id
}

/// The index of the artifact for `found` in `full_name`, recorded when new.
pub(crate) fn record_artifact(
    records: &mut Records,
    project_id: i64,
    full_name: &str,
    found: &Found,
) -> usize {
    let repository_id = ensure_repository(records, project_id, full_name);
    if let Some(index) = records.artifact_index(repository_id, &found.manifest.digest) {
        return index;
    }
    let id = records.next_id("artifact");
    let blobs = found.manifest.descriptors();
    let manifest_size = found.manifest.bytes.len() as u64;
    let kind = if IMAGE_CONFIG_TYPES.contains(&found.config_media_type.as_str())
        || found.manifest.is_index()
    {
        "IMAGE"
    } else {
        "UNKNOWN"
    };
    records.artifacts.push(Artifact {
        id,
        project_id,
        repository_id,
        repository_name: full_name.to_owned(),
        digest: found.manifest.digest.clone(),
        manifest_media_type: found.manifest.media_type.clone(),
        media_type: found.config_media_type.clone(),
        kind: kind.to_owned(),
        manifest_size,
        size: manifest_size + blobs.iter().map(|(_, size)| size).sum::<u64>(),
        blobs,
        extra_attrs: found.extra_attrs.clone(),
        push_time: OffsetDateTime::now_utc(),
        tags: Vec::new(),
        label_ids: Vec::new(),
    });
    records.artifacts.len() - 1
}

/// Puts tag `name` on the artifact at `index`, moving it off any other artifact of the
/// repository (a re-pushed tag leaves the old artifact untagged, as in Harbor).
pub(crate) fn attach_tag(records: &mut Records, index: usize, name: &str) {
    let repository_id = records.artifacts[index].repository_id;
    if records.artifacts[index]
        .tags
        .iter()
        .any(|tag| tag.name == name)
    {
        return;
    }
    for artifact in records
        .artifacts
        .iter_mut()
        .filter(|artifact| artifact.repository_id == repository_id)
    {
        artifact.tags.retain(|tag| tag.name != name);
    }
    let id = records.next_id("tag");
    records.artifacts[index].tags.push(Tag {
        id,
        name: name.to_owned(),
        push_time: OffsetDateTime::now_utc(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harbor_sim::state::Project;
    use std::collections::BTreeMap;

    fn found(digest: &str) -> Found {
        Found {
            manifest: StoredManifest {
                digest: digest.to_owned(),
                media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
                bytes: br#"{"config":{"digest":"sha256:c","size":10},"layers":[]}"#.to_vec(),
            },
            config_media_type: IMAGE_CONFIG_TYPES[0].to_owned(),
            extra_attrs: Value::Null,
        }
    }

    fn records_with_project() -> Records {
        let mut records = Records::default();
        let now = OffsetDateTime::now_utc();
        records.projects.push(Project {
            id: 1,
            name: "team".to_owned(),
            metadata: BTreeMap::new(),
            storage_limit: -1,
            quota_id: 1,
            creation_time: now,
            update_time: now,
        });
        records
    }

    #[test]
    fn moved_tag_leaves_old_artifact_untagged_and_deleted_tags_stay_hidden() {
        let mut records = records_with_project();
        apply(
            &mut records,
            1,
            "team/app",
            vec![("v1".to_owned(), found("sha256:a"))],
        );
        apply(
            &mut records,
            1,
            "team/app",
            vec![("v1".to_owned(), found("sha256:b"))],
        );
        assert_eq!(records.artifacts.len(), 2);
        assert!(records.artifacts[0].tags.is_empty());
        assert_eq!(records.artifacts[1].tags[0].name, "v1");
        assert_eq!(
            records.artifacts[1].size,
            10 + records.artifacts[1].manifest_size
        );

        records.deleted_tags.insert((
            "team/app".to_owned(),
            "old".to_owned(),
            "sha256:b".to_owned(),
        ));
        apply(
            &mut records,
            1,
            "team/app",
            vec![("old".to_owned(), found("sha256:b"))],
        );
        assert_eq!(records.artifacts[1].tags.len(), 1);
    }

    #[test]
    fn repositories_with_only_hidden_tags_are_not_created() {
        let mut records = records_with_project();
        records.deleted_tags.insert((
            "team/gone".to_owned(),
            "v1".to_owned(),
            "sha256:a".to_owned(),
        ));
        apply(
            &mut records,
            1,
            "team/gone",
            vec![("v1".to_owned(), found("sha256:a"))],
        );
        assert!(records.repositories.is_empty());
    }
}
