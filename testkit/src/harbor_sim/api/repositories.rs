//! Repositories of a project (`/projects/{project_name}/repositories`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{caller, find_project, full_path, repository_name, require};
use crate::harbor_sim::Sim;
use crate::harbor_sim::http::{ApiError, ApiResult, Query, harbor_time, ok_empty, paged_json};
use crate::harbor_sim::state::{Repository, State as Records};
use crate::harbor_sim::sync::{sync_project, sync_repository};

/// `GET /projects/{project_name}/repositories`, filtered by `q=name=~x` or `q=name=x`.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(project_name): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let query = Query::parse(raw.as_deref());
    let page = query.page()?;
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "repository", "list")?;
    sync_project(&sim, &project.name).await?;

    let filter = NameFilter::parse(query.get("q"));
    let records = sim.records();
    let mut repositories: Vec<&Repository> = records
        .repositories
        .iter()
        .filter(|repository| {
            repository.project_id == project.id && filter.matches(&repository.name)
        })
        .collect();
    // Harbor sorts repositories by creation time, newest first.
    repositories.sort_by(|a, b| b.creation_time.cmp(&a.creation_time).then(b.id.cmp(&a.id)));
    let items: Vec<Value> = repositories
        .into_iter()
        .map(|repository| repository_json(&records, repository))
        .collect();
    Ok(paged_json(&full_path(&uri), &query, page, &items))
}

/// `GET /projects/{project_name}/repositories/{repository_name}`.
pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository)): Path<(String, String)>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "repository", "read")?;
    let full_name = format!("{}/{}", project.name, repository_name(&repository));
    sync_repository(&sim, &full_name).await?;
    let records = sim.records();
    let repository = records
        .repository(&full_name)
        .ok_or_else(|| ApiError::not_found(format!("repository {full_name} not found")))?;
    Ok(Json(repository_json(&records, repository)).into_response())
}

/// `DELETE /projects/{project_name}/repositories/{repository_name}`: deletes every artifact
/// from the registry, then the repository.
pub(crate) async fn remove(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository)): Path<(String, String)>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "repository", "delete")?;
    let full_name = format!("{}/{}", project.name, repository_name(&repository));
    sync_repository(&sim, &full_name).await?;

    let digests: Vec<String> = {
        let records = sim.records();
        let repository = records
            .repository(&full_name)
            .ok_or_else(|| ApiError::not_found(format!("repository {full_name} not found")))?;
        records
            .artifacts_of(repository.id)
            .iter()
            .map(|artifact| artifact.digest.clone())
            .collect()
    };
    for digest in &digests {
        sim.registry.delete_manifest(&full_name, digest).await?;
    }

    let mut records = sim.records();
    records
        .artifacts
        .retain(|artifact| artifact.repository_name != full_name);
    records
        .repositories
        .retain(|repository| repository.name != full_name);
    Ok(ok_empty())
}

/// A repository as Harbor answers it.
pub(crate) fn repository_json(records: &Records, repository: &Repository) -> Value {
    json!({
        "id": repository.id,
        "project_id": repository.project_id,
        "name": repository.name,
        "artifact_count": records.artifacts_of(repository.id).len(),
        "pull_count": 0,
        "creation_time": harbor_time(repository.creation_time),
        "update_time": harbor_time(repository.update_time),
    })
}

/// The `name` clause of Harbor's query language: exact `name=x` or fuzzy `name=~x`.
#[derive(Debug, PartialEq, Eq)]
enum NameFilter {
    Any,
    Exact(String),
    Fuzzy(String),
}

impl NameFilter {
    fn parse(q: Option<&str>) -> Self {
        let Some(clause) = q
            .into_iter()
            .flat_map(|q| q.split(','))
            .find(|c| c.starts_with("name="))
        else {
            return Self::Any;
        };
        let value = &clause["name=".len()..];
        match value.strip_prefix('~') {
            Some(fuzzy) => Self::Fuzzy(fuzzy.to_owned()),
            None => Self::Exact(value.to_owned()),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(wanted) => name == wanted,
            Self::Fuzzy(part) => name.contains(part.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter_reads_exact_and_fuzzy_clauses() {
        assert_eq!(NameFilter::parse(None), NameFilter::Any);
        assert!(NameFilter::parse(Some("name=~app")).matches("team/app-x"));
        assert!(!NameFilter::parse(Some("name=team/app")).matches("team/app-x"));
        assert!(NameFilter::parse(Some("x=1,name=team/app")).matches("team/app"));
    }
}
