//! Labels (`/labels`) and labels on artifacts.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::artifacts::find_artifact;
use super::{BASE, caller, find_project, full_path, repository_name, require};
use crate::harbor_sim::Sim;
use crate::harbor_sim::http::{
    ApiError, ApiResult, Query, created, harbor_time, ok_empty, paged_json,
};
use crate::harbor_sim::state::Label;
use crate::harbor_sim::sync::sync_repository;

/// The body of `POST /labels`.
#[derive(Debug, Deserialize)]
pub(crate) struct NewLabel {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    color: String,
    scope: Option<String>,
    #[serde(default)]
    project_id: i64,
}

/// `POST /labels`: global labels (`scope: "g"`) need the admin, project labels (`"p"`) the
/// project's `label:create`.
pub(crate) async fn create(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Json(label): Json<NewLabel>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let name = label.name.unwrap_or_default();
    let scope = label.scope.unwrap_or_else(|| "g".to_owned());
    if name.is_empty() || !["g", "p"].contains(&scope.as_str()) {
        return Err(ApiError::bad_request(
            "a label needs a name and scope g or p",
        ));
    }
    let mut records = sim.records();
    if scope == "g" {
        if !principal.is_authenticated() {
            return Err(ApiError::unauthorized());
        }
        if !principal.can_system("label", "create") {
            return Err(ApiError::forbidden());
        }
    } else {
        let project = find_project(&records, &principal, &label.project_id.to_string(), false)?;
        require(&principal, &project, "label", "create")?;
    }
    let duplicate = records.labels.iter().any(|existing| {
        existing.name == name && existing.scope == scope && existing.project_id == label.project_id
    });
    if duplicate {
        return Err(ApiError::conflict(format!("label {name} already exists")));
    }
    let id = records.next_id("label");
    records.labels.push(Label {
        id,
        name,
        description: label.description,
        color: label.color,
        project_id: if scope == "g" { 0 } else { label.project_id },
        scope,
        creation_time: OffsetDateTime::now_utc(),
    });
    Ok(created(&format!("{BASE}/labels/{id}")))
}

/// `GET /labels?scope=g` or `?scope=p&project_id=N`, filtered by `name`.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    if !principal.is_authenticated() {
        return Err(ApiError::unauthorized());
    }
    let query = Query::parse(raw.as_deref());
    let page = query.page()?;
    let scope = query.get("scope").unwrap_or("g");
    let project_id = query
        .get("project_id")
        .and_then(|id| id.parse::<i64>().ok())
        .unwrap_or(0);
    let records = sim.records();
    let labels: Vec<Value> = records
        .labels
        .iter()
        .filter(|label| label.scope == scope && (scope == "g" || label.project_id == project_id))
        .filter(|label| {
            query
                .get("name")
                .is_none_or(|name| label.name.contains(name))
        })
        .map(label_json)
        .collect();
    Ok(paged_json(&full_path(&uri), &query, page, &labels))
}

/// `GET /labels/{label_id}`.
pub(crate) async fn get_one(State(sim): State<Arc<Sim>>, Path(id): Path<i64>) -> ApiResult {
    let records = sim.records();
    let label = records
        .labels
        .iter()
        .find(|label| label.id == id)
        .ok_or_else(|| ApiError::not_found(format!("label {id} not found")))?;
    Ok(Json(label_json(label)).into_response())
}

/// `DELETE /labels/{label_id}` (admin).
pub(crate) async fn remove(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    if !principal.is_admin() {
        return Err(if principal.is_authenticated() {
            ApiError::forbidden()
        } else {
            ApiError::unauthorized()
        });
    }
    let mut records = sim.records();
    if !records.labels.iter().any(|label| label.id == id) {
        return Err(ApiError::not_found(format!("label {id} not found")));
    }
    records.labels.retain(|label| label.id != id);
    for artifact in &mut records.artifacts {
        artifact.label_ids.retain(|label| *label != id);
    }
    Ok(ok_empty())
}

/// The body of `POST .../artifacts/{reference}/labels`.
#[derive(Debug, Deserialize)]
pub(crate) struct LabelReference {
    id: i64,
}

/// `POST .../artifacts/{reference}/labels`: 200 (not 201), as Harbor.
pub(crate) async fn attach(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference)): Path<(String, String, String)>,
    Json(label): Json<LabelReference>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "artifact-label", "create")?;
    let full_name = format!("{}/{}", project.name, repository_name(&repository));
    sync_repository(&sim, &full_name).await?;
    let mut records = sim.records();
    let usable = records.labels.iter().any(|known| {
        known.id == label.id && (known.scope == "g" || known.project_id == project.id)
    });
    if !usable {
        return Err(ApiError::not_found(format!("label {} not found", label.id)));
    }
    let index = find_artifact(&records, &full_name, &reference)?;
    let artifact = &mut records.artifacts[index];
    if artifact.label_ids.contains(&label.id) {
        return Err(ApiError::conflict(format!(
            "label {} is already added",
            label.id
        )));
    }
    artifact.label_ids.push(label.id);
    Ok(ok_empty())
}

/// `DELETE .../artifacts/{reference}/labels/{label_id}`.
pub(crate) async fn detach(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((project_name, repository, reference, label_id)): Path<(String, String, String, i64)>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(&sim.records(), &principal, &project_name, true)?;
    require(&principal, &project, "artifact-label", "delete")?;
    let full_name = format!("{}/{}", project.name, repository_name(&repository));
    sync_repository(&sim, &full_name).await?;
    let mut records = sim.records();
    let index = find_artifact(&records, &full_name, &reference)?;
    let artifact = &mut records.artifacts[index];
    if !artifact.label_ids.contains(&label_id) {
        return Err(ApiError::not_found(format!(
            "label {label_id} is not on the artifact"
        )));
    }
    artifact.label_ids.retain(|id| *id != label_id);
    Ok(ok_empty())
}

/// A label as Harbor answers it.
pub(crate) fn label_json(label: &Label) -> Value {
    json!({
        "id": label.id,
        "name": label.name,
        "description": label.description,
        "color": label.color,
        "scope": label.scope,
        "project_id": label.project_id,
        "creation_time": harbor_time(label.creation_time),
        "update_time": harbor_time(label.creation_time),
    })
}
