//! `/ping`, `/health`, `/systeminfo`, `/statistics`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use serde_json::json;
use time::OffsetDateTime;

use super::caller;
use crate::harbor_sim::Sim;
use crate::harbor_sim::http::{ApiError, ApiResult, harbor_time};
use crate::harbor_sim::sync::sync_all;

/// `GET /ping`: `Pong` as plain text, no auth.
pub(crate) async fn ping() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], "Pong")
}

/// `GET /health`: the registry is checked for real; the other components are simulated.
pub(crate) async fn health(State(sim): State<Arc<Sim>>) -> ApiResult {
    let registry = if sim.registry.is_healthy().await {
        json!({"name": "registry", "status": "healthy"})
    } else {
        json!({"name": "registry", "status": "unhealthy", "error": "the registry does not answer"})
    };
    let healthy = registry["status"] == "healthy";
    let components = json!([
        {"name": "core", "status": "healthy"},
        {"name": "database", "status": "healthy"},
        {"name": "jobservice", "status": "healthy"},
        {"name": "portal", "status": "healthy"},
        {"name": "redis", "status": "healthy"},
        registry,
        {"name": "registryctl", "status": "healthy"},
        {"name": "trivy", "status": "healthy"},
    ]);
    let status = if healthy { "healthy" } else { "unhealthy" };
    Ok(Json(json!({"status": status, "components": components})).into_response())
}

/// `GET /systeminfo`: anonymous callers get the public subset; the version needs a login
/// (Harbor hides `harbor_version` from anonymous callers since 2.x security fixes).
pub(crate) async fn system_info(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> ApiResult {
    let principal = caller(&sim, &headers);
    let mut info = json!({
        "auth_mode": "db_auth",
        "banner_message": "",
        "current_time": harbor_time(OffsetDateTime::now_utc()),
        "oidc_provider_name": "",
        "primary_auth_mode": false,
        "self_registration": false,
    });
    if principal.is_authenticated() {
        let host = sim.registry_host.as_str();
        let extra = json!({
            "external_url": sim.external_url,
            "harbor_version": sim.harbor_version,
            "has_ca_root": false,
            "notification_enable": true,
            "project_creation_restriction": "everyone",
            "read_only": false,
            "registry_storage_provider_name": "filesystem",
            "registry_url": host,
        });
        for (key, value) in extra.as_object().into_iter().flatten() {
            info[key] = value.clone();
        }
    }
    Ok(Json(info).into_response())
}

/// `GET /statistics`: project and repository counts the caller can see, and storage.
pub(crate) async fn statistics(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> ApiResult {
    let principal = caller(&sim, &headers);
    if !principal.is_authenticated() {
        return Err(ApiError::unauthorized());
    }
    sync_all(&sim).await?;
    let records = sim.records();
    let visible: Vec<_> = records
        .projects
        .iter()
        .filter(|project| principal.can(project, "project", "read"))
        .collect();
    let count = |public: bool| {
        visible
            .iter()
            .filter(|project| project.is_public() == public)
            .count()
    };
    let repositories = |public: bool| -> usize {
        visible
            .iter()
            .filter(|project| project.is_public() == public)
            .map(|project| records.repository_count(project.id))
            .sum()
    };
    let mut body = json!({
        "private_project_count": count(false),
        "private_repo_count": repositories(false),
        "public_project_count": count(true),
        "public_repo_count": repositories(true),
    });
    // Only the admin sees totals; Harbor still sends the fields (as 0) to everyone else.
    let admin = principal.is_admin();
    let storage: u64 = records
        .projects
        .iter()
        .map(|project| records.project_usage(project.id))
        .sum();
    body["total_project_count"] = json!(if admin { records.projects.len() } else { 0 });
    body["total_repo_count"] = json!(if admin { records.repositories.len() } else { 0 });
    body["total_storage_consumption"] = json!(if admin { storage } else { 0 });
    Ok(Json(body).into_response())
}
