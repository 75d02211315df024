//! Artifacts of a repository, their tags, and copy (promotion) between repositories.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};

use super::labels::label_json;
use super::scans::scan_overview;
use super::{BASE, caller, encode_repository, find_project, full_path, repository_name, require};
use crate::harbor_sim::Sim;
use crate::harbor_sim::http::{
    ApiError, ApiResult, Query, ZERO_TIME, created, harbor_time, ok_empty, paged_json,
};
use crate::harbor_sim::report::accepted_mime_types;
use crate::harbor_sim::state::{Artifact, Project, State as Records};
use crate::harbor_sim::sync::{attach_tag, read, record_artifact, sync_repository};

/// Path parameters of artifact routes.
type ArtifactPath = (String, String, String);

/// What an artifact answer includes (`with_tag`, `with_label`, `with_scan_overview`).
#[derive(Debug, Clone)]
pub(crate) struct Include {
    tags: bool,
    labels: bool,
    scan_overview: bool,
    mime_types: Vec<String>,
}

impl Include {
    fn from_request(query: &Query, headers: &HeaderMap) -> Result<Self, ApiError> {
        let accept = headers
            .get("x-accept-vulnerabilities")
            .and_then(|value| value.to_str().ok());
        Ok(Self {
            tags: query.flag("with_tag", true)?,
            labels: query.flag("with_label", false)?,
            scan_overview: query.flag("with_scan_overview", false)?,
            mime_types: accepted_mime_types(accept),
        })
    }
}

/// The project (checked for `action` on `resource`) and the full repository name.
fn resolve(
    sim: &Sim,
    headers: &HeaderMap,
    project_name: &str,
    repository: &str,
    resource: &str,
    action: &str,
) -> Result<(Project, String), ApiError> {
    let principal = caller(sim, headers);
    let project = find_project(&sim.records(), &principal, project_name, true)?;
    require(&principal, &project, resource, action)?;
    Ok((
        project.clone(),
        format!("{}/{}", project.name, repository_name(repository)),
    ))
}

/// The index of artifact `reference` of `full_name`, or Harbor's 404.
pub(crate) fn find_artifact(
    records: &Records,
    full_name: &str,
    reference: &str,
) -> Result<usize, ApiError> {
    records
        .repository(full_name)
        .and_then(|repository| records.artifact_index(repository.id, reference))
        .ok_or_else(|| ApiError::not_found(format!("artifact {full_name}:{reference} not found")))
}

/// `GET .../artifacts`: newest first, paginated.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository)): Path<(String, String)>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let page = query.page()?;
    let include = Include::from_request(&query, &headers)?;
    let (_, full_name) = resolve(
        &sim,
        &headers,
        &project_name,
        &repository,
        "artifact",
        "list",
    )?;
    sync_repository(&sim, &full_name).await?;

    let records = sim.records();
    let repository = records
        .repository(&full_name)
        .ok_or_else(|| ApiError::not_found(format!("repository {full_name} not found")))?;
    let items: Vec<Value> = records
        .artifacts_of(repository.id)
        .into_iter()
        .map(|artifact| artifact_json(&sim, &records, artifact, &include))
        .collect();
    Ok(paged_json(&full_path(&uri), &query, page, &items))
}

/// `GET .../artifacts/{reference}`.
pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<ArtifactPath>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let include = Include::from_request(&query, &headers)?;
    let (_, full_name) = resolve(
        &sim,
        &headers,
        &project_name,
        &repository,
        "artifact",
        "read",
    )?;
    sync_repository(&sim, &full_name).await?;
    let records = sim.records();
    let index = find_artifact(&records, &full_name, &reference)?;
    Ok(Json(artifact_json(
        &sim,
        &records,
        &records.artifacts[index],
        &include,
    ))
    .into_response())
}

/// `DELETE .../artifacts/{reference}`: deletes the manifest from the registry too.
pub(crate) async fn remove(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<ArtifactPath>,
) -> ApiResult {
    let (_, full_name) = resolve(
        &sim,
        &headers,
        &project_name,
        &repository,
        "artifact",
        "delete",
    )?;
    sync_repository(&sim, &full_name).await?;
    let digest = {
        let records = sim.records();
        records.artifacts[find_artifact(&records, &full_name, &reference)?]
            .digest
            .clone()
    };
    sim.registry.delete_manifest(&full_name, &digest).await?;
    sim.records()
        .artifacts
        .retain(|artifact| !(artifact.repository_name == full_name && artifact.digest == digest));
    Ok(ok_empty())
}

/// `POST .../artifacts?from=project/repo:tag|@digest`: copies the manifest, its blobs (by
/// cross-repository mount) and its tags into this repository; 201 with `Location`.
pub(crate) async fn copy(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository)): Path<(String, String)>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let from = query.get("from").unwrap_or_default().to_owned();
    let (project, target) = resolve(
        &sim,
        &headers,
        &project_name,
        &repository,
        "artifact",
        "create",
    )?;
    let (source, reference) =
        parse_from(&from).ok_or_else(|| ApiError::bad_request(format!("invalid input: {from}")))?;
    let source_project = source.split_once('/').map_or("", |(project, _)| project);
    let principal = caller(&sim, &headers);
    let source_project = find_project(&sim.records(), &principal, source_project, true)?;
    require(&principal, &source_project, "artifact", "read")?;

    sync_repository(&sim, &source).await?;
    let (digest, tags) = {
        let records = sim.records();
        let artifact = &records.artifacts[find_artifact(&records, &source, &reference)?];
        let tags: Vec<String> = artifact.tags.iter().map(|tag| tag.name.clone()).collect();
        (artifact.digest.clone(), tags)
    };
    copy_manifest(&sim, &source, &target, &digest).await?;
    for tag in &tags {
        let manifest = sim.registry.manifest(&source, &digest).await?;
        if let Some(manifest) = manifest {
            sim.registry.put_manifest(&target, tag, &manifest).await?;
        }
    }

    let found = read(&sim, &target, &digest)
        .await?
        .ok_or_else(|| ApiError::internal(&"the copied manifest is missing"))?;
    let mut records = sim.records();
    let index = record_artifact(&mut records, project.id, &target, &found);
    for tag in &tags {
        attach_tag(&mut records, index, tag);
    }
    let path = full_path(&uri);
    let path = percent_decode_str(&path).decode_utf8_lossy();
    Ok(created(&format!(
        "{}/{reference}",
        path.trim_end_matches('/')
    )))
}

/// Copies manifest `digest` (children of an index first) with its blobs from `source` to
/// `target` inside the registry.
async fn copy_manifest(
    sim: &Sim,
    source: &str,
    target: &str,
    digest: &str,
) -> Result<(), ApiError> {
    let manifest = sim
        .registry
        .manifest(source, digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("artifact {source}@{digest} not found")))?;
    if manifest.is_index() {
        for (child, _) in manifest.descriptors() {
            Box::pin(copy_manifest(sim, source, target, &child)).await?;
        }
    } else {
        for (blob, _) in manifest.descriptors() {
            sim.registry.mount_blob(target, source, &blob).await?;
        }
    }
    sim.registry.put_manifest(target, digest, &manifest).await?;
    Ok(())
}

/// Splits `project/repo:tag` or `project/repo@sha256:...` into repository and reference.
fn parse_from(from: &str) -> Option<(String, String)> {
    if let Some((repository, digest)) = from.split_once('@') {
        let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && !hex.is_empty()
                && hex.bytes().all(|byte| byte.is_ascii_hexdigit())
        });
        return (valid && repository.contains('/'))
            .then(|| (repository.to_owned(), digest.to_owned()));
    }
    let (repository, tag) = from.rsplit_once(':')?;
    (repository.contains('/') && !tag.is_empty() && !tag.contains('/'))
        .then(|| (repository.to_owned(), tag.to_owned()))
}

/// `GET .../artifacts/{reference}/tags`.
pub(crate) async fn list_tags(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<ArtifactPath>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let page = query.page()?;
    let (_, full_name) = resolve(&sim, &headers, &project_name, &repository, "tag", "list")?;
    sync_repository(&sim, &full_name).await?;
    let records = sim.records();
    let artifact = &records.artifacts[find_artifact(&records, &full_name, &reference)?];
    let tags = tags_json(artifact);
    Ok(paged_json(&full_path(&uri), &query, page, &tags))
}

/// The body of `POST .../tags`.
#[derive(Debug, Deserialize)]
pub(crate) struct NewTag {
    name: Option<String>,
}

/// `POST .../artifacts/{reference}/tags`: tags the manifest in the registry too (201, no
/// `Location`, as Harbor).
pub(crate) async fn add_tag(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<ArtifactPath>,
    Json(tag): Json<NewTag>,
) -> ApiResult {
    let name = tag.name.unwrap_or_default();
    if name.is_empty() || name.len() > 128 || name.contains(['/', ':', '@']) {
        return Err(ApiError::bad_request(format!("invalid tag name: {name}")));
    }
    let (_, full_name) = resolve(&sim, &headers, &project_name, &repository, "tag", "create")?;
    sync_repository(&sim, &full_name).await?;
    let digest = {
        let records = sim.records();
        let repository_id = records
            .repository(&full_name)
            .map(|repository| repository.id);
        if repository_id.is_some_and(|id| {
            records
                .artifacts_of(id)
                .iter()
                .any(|artifact| artifact.tags.iter().any(|t| t.name == name))
        }) {
            return Err(ApiError::conflict(format!(
                "tag {name} already exists in {full_name}"
            )));
        }
        records.artifacts[find_artifact(&records, &full_name, &reference)?]
            .digest
            .clone()
    };
    let manifest = sim
        .registry
        .manifest(&full_name, &digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("artifact {full_name}@{digest} not found")))?;
    sim.registry
        .put_manifest(&full_name, &name, &manifest)
        .await?;

    let mut records = sim.records();
    records
        .deleted_tags
        .remove(&(full_name.clone(), name.clone(), digest.clone()));
    let index = find_artifact(&records, &full_name, &digest)?;
    attach_tag(&mut records, index, &name);
    Ok(axum::http::StatusCode::CREATED.into_response())
}

/// `DELETE .../artifacts/{reference}/tags/{tag_name}`.
///
/// FIXME: distribution cannot delete a tag without its manifest, so the tag disappears from
/// the API only and stays pullable from the registry; a tag-aware registry front would fix it.
pub(crate) async fn delete_tag(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference, tag)): Path<(String, String, String, String)>,
) -> ApiResult {
    let (_, full_name) = resolve(&sim, &headers, &project_name, &repository, "tag", "delete")?;
    sync_repository(&sim, &full_name).await?;
    let mut records = sim.records();
    let index = find_artifact(&records, &full_name, &reference)?;
    let artifact = &mut records.artifacts[index];
    if !artifact.tags.iter().any(|existing| existing.name == tag) {
        return Err(ApiError::not_found(format!(
            "tag {tag} attached to artifact {} not found",
            artifact.id
        )));
    }
    artifact.tags.retain(|existing| existing.name != tag);
    let digest = artifact.digest.clone();
    records.deleted_tags.insert((full_name, tag, digest));
    Ok(ok_empty())
}

fn tags_json(artifact: &Artifact) -> Vec<Value> {
    artifact
        .tags
        .iter()
        .map(|tag| {
            json!({
                "id": tag.id,
                "repository_id": artifact.repository_id,
                "artifact_id": artifact.id,
                "name": tag.name,
                "push_time": harbor_time(tag.push_time),
                "pull_time": ZERO_TIME,
                "immutable": false,
            })
        })
        .collect()
}

/// An artifact as Harbor answers it: `null` for empty arrays, as Harbor's Go models do.
pub(crate) fn artifact_json(
    sim: &Sim,
    records: &Records,
    artifact: &Artifact,
    include: &Include,
) -> Value {
    let project_name = artifact
        .repository_name
        .split('/')
        .next()
        .unwrap_or_default();
    let repository = artifact
        .repository_name
        .split_once('/')
        .map_or("", |(_, name)| name);
    let addition = |kind: &str| {
        json!({
            "absolute": false,
            "href": format!(
                "{BASE}/projects/{project_name}/repositories/{}/artifacts/{}/additions/{kind}",
                encode_repository(repository),
                artifact.digest
            ),
        })
    };
    let mut body = json!({
        "id": artifact.id,
        "type": artifact.kind,
        "media_type": artifact.media_type,
        "manifest_media_type": artifact.manifest_media_type,
        "project_id": artifact.project_id,
        "repository_id": artifact.repository_id,
        "repository_name": artifact.repository_name,
        "digest": artifact.digest,
        "size": artifact.size,
        "icon": "",
        "push_time": harbor_time(artifact.push_time),
        "pull_time": ZERO_TIME,
        "extra_attrs": artifact.extra_attrs,
        "annotations": null,
        "references": null,
        "labels": null,
        "accessories": null,
        "addition_links": {
            "build_history": addition("build_history"),
            "vulnerabilities": addition("vulnerabilities"),
        },
    });
    if include.tags {
        let tags = tags_json(artifact);
        body["tags"] = if tags.is_empty() {
            Value::Null
        } else {
            Value::from(tags)
        };
    }
    if include.labels && !artifact.label_ids.is_empty() {
        let labels: Vec<Value> = records
            .labels
            .iter()
            .filter(|label| artifact.label_ids.contains(&label.id))
            .map(label_json)
            .collect();
        body["labels"] = Value::from(labels);
    }
    if include.scan_overview
        && let Some(overview) = scan_overview(sim, records, artifact, &include.mime_types)
    {
        body["scan_overview"] = overview;
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_parameter_takes_tags_and_digests() {
        assert_eq!(
            parse_from("team/app:v1"),
            Some(("team/app".to_owned(), "v1".to_owned()))
        );
        assert_eq!(
            parse_from("team/a/b@sha256:ab12"),
            Some(("team/a/b".to_owned(), "sha256:ab12".to_owned()))
        );
        assert_eq!(parse_from("app:v1"), None);
        assert_eq!(parse_from("team/app@sha256:xyz"), None);
        assert_eq!(parse_from("team/app"), None);
    }
}
