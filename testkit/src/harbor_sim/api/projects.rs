//! Projects, their metadata and summary, and `/quotas`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{BASE, caller, find_project, full_path, is_resource_name, require};
use crate::harbor_sim::Sim;
use crate::harbor_sim::http::{
    ApiError, ApiResult, Query, ZERO_TIME, created, harbor_time, ok_empty, paged_json,
};
use crate::harbor_sim::state::{Project, State as Records};
use crate::harbor_sim::sync::sync_project;

/// Metadata keys whose values are string booleans.
const BOOLEAN_METADATA: &[&str] = &[
    "public",
    "enable_content_trust",
    "enable_content_trust_cosign",
    "prevent_vul",
    "auto_scan",
    "auto_sbom_generation",
    "reuse_sys_cve_allowlist",
];
/// Accepted values of the `severity` metadata.
const SEVERITIES: &[&str] = &["none", "low", "medium", "high", "critical"];

/// The body of `POST /projects` (`ProjectReq`).
#[derive(Debug, Deserialize)]
pub(crate) struct ProjectRequest {
    project_name: Option<String>,
    public: Option<bool>,
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
    storage_limit: Option<i64>,
    registry_id: Option<i64>,
}

/// `POST /projects`.
pub(crate) async fn create(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Json(request): Json<ProjectRequest>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    if !principal.is_authenticated() {
        return Err(ApiError::unauthorized());
    }
    if !principal.can_system("project", "create") {
        return Err(ApiError::forbidden());
    }
    let name = request.project_name.clone().unwrap_or_default();
    validate_name(&name)?;
    if request.registry_id.is_some() {
        // FIXME: proxy-cache projects need registry endpoints, which the simulator lacks.
        return Err(ApiError::bad_request(
            "proxy cache projects are not simulated",
        ));
    }
    let mut metadata = normalized_metadata(&request.metadata)?;
    if let Some(public) = request.public {
        metadata
            .entry("public".to_owned())
            .or_insert_with(|| public.to_string());
    }
    metadata
        .entry("public".to_owned())
        .or_insert_with(|| "false".to_owned());
    let storage_limit = request.storage_limit.unwrap_or(-1);
    if storage_limit == 0 || storage_limit < -1 {
        return Err(ApiError::bad_request(format!(
            "invalid storage limit: {storage_limit}"
        )));
    }

    let mut records = sim.records();
    if records.project(&name, true).is_some() {
        return Err(ApiError::conflict(format!(
            "The project named {name} already exists"
        )));
    }
    let id = records.next_id("project");
    let quota_id = records.next_id("quota");
    let now = OffsetDateTime::now_utc();
    records.projects.push(Project {
        id,
        name,
        metadata,
        storage_limit,
        quota_id,
        creation_time: now,
        update_time: now,
    });
    Ok(created(&format!("{BASE}/projects/{id}")))
}

fn validate_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.split(['.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "project name is not in lower case or contains illegal characters: {name}"
        )))
    }
}

/// Metadata as Harbor stores it: string values, booleans normalised to `"true"`/`"false"`.
fn normalized_metadata(
    raw: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut metadata = BTreeMap::new();
    for (key, value) in raw {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => continue,
            other => other.to_string(),
        };
        let text = if BOOLEAN_METADATA.contains(&key.as_str()) {
            parse_bool(&text)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("invalid bool value {text} for {key}"))
                })?
                .to_string()
        } else if key == "severity" && !SEVERITIES.contains(&text.as_str()) {
            return Err(ApiError::bad_request(format!("invalid severity {text}")));
        } else {
            text
        };
        metadata.insert(key.clone(), text);
    }
    Ok(metadata)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `HEAD /projects?project_name=`: 200 when the project exists, else 404.
pub(crate) async fn head(State(sim): State<Arc<Sim>>, RawQuery(raw): RawQuery) -> ApiResult {
    let query = Query::parse(raw.as_deref());
    let name = query.get("project_name").unwrap_or_default();
    if sim.records().project(name, true).is_some() {
        Ok(ok_empty())
    } else {
        Err(ApiError::not_found(format!("project {name} not found")))
    }
}

/// `GET /projects`: the projects the caller can see, filtered by `name` (fuzzy) and `public`.
pub(crate) async fn list(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let query = Query::parse(raw.as_deref());
    let page = query.page()?;
    let public = query
        .flag("public", false)
        .map(|flag| query.get("public").map(|_| flag))?;
    let names: Vec<String> = sim
        .records()
        .projects
        .iter()
        .map(|project| project.name.clone())
        .collect();
    for name in &names {
        sync_project(&sim, name).await?;
    }

    let records = sim.records();
    let projects: Vec<Value> = records
        .projects
        .iter()
        .filter(|project| principal.can(project, "project", "read") || principal.is_admin())
        .filter(|project| {
            query
                .get("name")
                .is_none_or(|name| project.name.contains(name))
        })
        .filter(|project| public.is_none_or(|public| project.is_public() == public))
        .map(|project| project_json(&records, project))
        .collect();
    Ok(paged_json(&full_path(&uri), &query, page, &projects))
}

/// `GET /projects/{project_name_or_id}`.
pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(name_or_id): Path<String>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(
        &sim.records(),
        &principal,
        &name_or_id,
        is_resource_name(&headers),
    )?;
    require(&principal, &project, "project", "read")?;
    sync_project(&sim, &project.name).await?;
    let records = sim.records();
    Ok(Json(project_json(&records, &project)).into_response())
}

/// The body of `PUT /projects/{id}`: metadata to merge.
#[derive(Debug, Deserialize)]
pub(crate) struct ProjectUpdate {
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
    public: Option<bool>,
}

/// `PUT /projects/{project_name_or_id}`: merges metadata.
pub(crate) async fn update(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(name_or_id): Path<String>,
    Json(request): Json<ProjectUpdate>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let mut metadata = normalized_metadata(&request.metadata)?;
    if let Some(public) = request.public {
        metadata
            .entry("public".to_owned())
            .or_insert_with(|| public.to_string());
    }
    let mut records = sim.records();
    let project = find_project(
        &records,
        &principal,
        &name_or_id,
        is_resource_name(&headers),
    )?;
    require(&principal, &project, "project", "update")?;
    let stored = records
        .projects
        .iter_mut()
        .find(|stored| stored.id == project.id)
        .expect("the project was just found");
    stored.metadata.extend(metadata);
    stored.update_time = OffsetDateTime::now_utc();
    Ok(ok_empty())
}

/// `DELETE /projects/{project_name_or_id}`: refused (412) while repositories exist.
pub(crate) async fn remove(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(name_or_id): Path<String>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(
        &sim.records(),
        &principal,
        &name_or_id,
        is_resource_name(&headers),
    )?;
    require(&principal, &project, "project", "delete")?;
    sync_project(&sim, &project.name).await?;
    let mut records = sim.records();
    if records.repository_count(project.id) > 0 {
        return Err(ApiError::precondition(format!(
            "the project {} contains repositories, can not be deleted",
            project.name
        )));
    }
    records.projects.retain(|stored| stored.id != project.id);
    records
        .robots
        .retain(|robot| robot.project_id != project.id);
    Ok(ok_empty())
}

/// `GET /projects/{project_name_or_id}/summary`.
pub(crate) async fn summary(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(name_or_id): Path<String>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let project = find_project(
        &sim.records(),
        &principal,
        &name_or_id,
        is_resource_name(&headers),
    )?;
    require(&principal, &project, "project", "read")?;
    sync_project(&sim, &project.name).await?;
    let records = sim.records();
    let body = json!({
        "repo_count": records.repository_count(project.id),
        "project_admin_count": 1,
        "quota": {
            "hard": {"storage": project.storage_limit},
            "used": {"storage": records.project_usage(project.id)},
        },
    });
    Ok(Json(body).into_response())
}

/// `GET /quotas`: project quotas (`reference=project`, optional `reference_id`); admin only.
pub(crate) async fn quotas(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    if !principal.is_authenticated() {
        return Err(ApiError::unauthorized());
    }
    if !principal.can_system("quota", "list") {
        return Err(ApiError::forbidden());
    }
    let query = Query::parse(raw.as_deref());
    let page = query.page()?;
    let names: Vec<String> = sim
        .records()
        .projects
        .iter()
        .map(|project| project.name.clone())
        .collect();
    for name in &names {
        sync_project(&sim, name).await?;
    }
    let records = sim.records();
    let reference_id = query.get("reference_id");
    let quotas: Vec<Value> = records
        .projects
        .iter()
        .filter(|_| {
            query
                .get("reference")
                .is_none_or(|reference| reference == "project")
        })
        .filter(|project| reference_id.is_none_or(|id| id == project.id.to_string()))
        .map(|project| quota_json(&records, project))
        .collect();
    Ok(paged_json(&full_path(&uri), &query, page, &quotas))
}

fn quota_json(records: &Records, project: &Project) -> Value {
    json!({
        "id": project.quota_id,
        "ref": {"id": project.id, "name": project.name, "owner_name": "admin"},
        "hard": {"storage": project.storage_limit},
        "used": {"storage": records.project_usage(project.id)},
        "creation_time": harbor_time(project.creation_time),
        "update_time": harbor_time(project.update_time),
    })
}

/// A project as Harbor answers it (the caller's role is reported as project admin).
pub(crate) fn project_json(records: &Records, project: &Project) -> Value {
    json!({
        "project_id": project.id,
        "owner_id": 1,
        "name": project.name,
        "owner_name": "admin",
        "creation_time": harbor_time(project.creation_time),
        "update_time": harbor_time(project.update_time),
        "deleted": false,
        "togglable": true,
        "current_user_role_id": 1,
        "current_user_role_ids": [1],
        "repo_count": records.repository_count(project.id),
        "metadata": project.metadata,
        "cve_allowlist": {
            "id": project.id,
            "project_id": project.id,
            "items": [],
            "creation_time": ZERO_TIME,
            "update_time": ZERO_TIME,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_harbors_pattern() {
        assert!(validate_name("team-a.b_c1").is_ok());
        for bad in ["", "Team", "a..b", "-a", "a b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_booleans_become_strings() {
        let raw = BTreeMap::from([
            ("public".to_owned(), json!(true)),
            ("auto_scan".to_owned(), json!("1")),
            ("severity".to_owned(), json!("high")),
        ]);
        let metadata = normalized_metadata(&raw).unwrap();
        assert_eq!(metadata["public"], "true");
        assert_eq!(metadata["auto_scan"], "true");
        assert_eq!(metadata["severity"], "high");
        let bad = BTreeMap::from([("public".to_owned(), json!("yes"))]);
        assert!(normalized_metadata(&bad).is_err());
    }
}
