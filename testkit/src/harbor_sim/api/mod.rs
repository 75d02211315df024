//! The `/api/v2.0` routes and what the handlers share: caller, project lookup, permissions.

mod artifacts;
mod labels;
mod projects;
mod repositories;
mod robots;
pub(crate) mod scans;
mod system;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use percent_encoding::percent_decode_str;

use super::Sim;
use super::auth::{Principal, authenticate, token_service};
use super::http::{ApiError, request_id};
use super::state::{Project, State as Records};

/// The API base path.
pub(crate) const BASE: &str = "/api/v2.0";

/// The whole simulator app: the API under [`BASE`] and the token service.
pub(crate) fn router(sim: Arc<Sim>) -> Router {
    let project = "/projects/{project_name_or_id}";
    let repository = "/projects/{project_name}/repositories/{repository_name}";
    let artifact = "/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}";
    let api = Router::new()
        .route("/ping", get(system::ping))
        .route("/health", get(system::health))
        .route("/systeminfo", get(system::system_info))
        .route("/statistics", get(system::statistics))
        .route(
            "/projects",
            get(projects::list)
                .post(projects::create)
                .head(projects::head),
        )
        .route(
            project,
            get(projects::get_one)
                .put(projects::update)
                .delete(projects::remove),
        )
        .route(&format!("{project}/summary"), get(projects::summary))
        .route("/quotas", get(projects::quotas))
        .route(
            "/projects/{project_name}/repositories",
            get(repositories::list),
        )
        .route(
            repository,
            get(repositories::get_one).delete(repositories::remove),
        )
        .route(
            &format!("{repository}/artifacts"),
            get(artifacts::list).post(artifacts::copy),
        )
        .route(artifact, get(artifacts::get_one).delete(artifacts::remove))
        .route(
            &format!("{artifact}/tags"),
            get(artifacts::list_tags).post(artifacts::add_tag),
        )
        .route(
            &format!("{artifact}/tags/{{tag_name}}"),
            delete(artifacts::delete_tag),
        )
        .route(&format!("{artifact}/labels"), post(labels::attach))
        .route(
            &format!("{artifact}/labels/{{label_id}}"),
            delete(labels::detach),
        )
        .route(&format!("{artifact}/scan"), post(scans::start))
        .route(
            &format!("{artifact}/additions/vulnerabilities"),
            get(scans::vulnerabilities),
        )
        .route("/robots", get(robots::list).post(robots::create))
        .route(
            "/robots/{robot_id}",
            get(robots::get_one)
                .put(robots::update)
                .patch(robots::refresh_secret)
                .delete(robots::remove),
        )
        .route("/labels", get(labels::list).post(labels::create))
        .route(
            "/labels/{label_id}",
            get(labels::get_one).delete(labels::remove),
        )
        .fallback(not_found);

    Router::new()
        .nest(BASE, api)
        .route("/service/token", get(token_service))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(request_id))
        .with_state(sim)
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    ApiError::not_found(format!("{} not found", uri.path()))
}

/// The request path with the API base that nesting strips from `Uri`.
pub(crate) fn full_path(uri: &Uri) -> String {
    format!("{BASE}{}", uri.path())
}

/// The caller of a request.
pub(crate) fn caller(sim: &Sim, headers: &HeaderMap) -> Principal {
    let records = sim.records();
    authenticate(sim, &records, headers)
}

/// Whether `X-Is-Resource-Name: true` asks to read a numeric project as a name.
pub(crate) fn is_resource_name(headers: &HeaderMap) -> bool {
    headers
        .get("x-is-resource-name")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The project `name_or_id`, or the error Harbor answers for an unknown one.
pub(crate) fn find_project(
    records: &Records,
    principal: &Principal,
    name_or_id: &str,
    is_name: bool,
) -> Result<Project, ApiError> {
    match records.project(name_or_id, is_name) {
        Some(project) => Ok(project.clone()),
        None if !principal.is_authenticated() => Err(ApiError::unauthorized()),
        None => Err(ApiError::not_found(format!(
            "project {name_or_id} not found"
        ))),
    }
}

/// `Ok` when `principal` may do `action` on `resource` of `project`: otherwise 401 for an
/// anonymous caller and 403 for an authenticated one, as Harbor answers.
pub(crate) fn require(
    principal: &Principal,
    project: &Project,
    resource: &str,
    action: &str,
) -> Result<(), ApiError> {
    if principal.can(project, resource, action) {
        Ok(())
    } else if principal.is_authenticated() {
        Err(ApiError::forbidden())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The repository name of a path after axum's decoding: Harbor's clients encode it twice
/// (`a%252Fb`), so one more decoding gives `a/b`; a name sent once-encoded also works.
pub(crate) fn repository_name(from_path: &str) -> String {
    percent_decode_str(from_path)
        .decode_utf8_lossy()
        .into_owned()
}

/// A repository name encoded for a path as Harbor writes it in links (`a/b` -> `a%252Fb`).
pub(crate) fn encode_repository(name: &str) -> String {
    name.replace('/', "%252F")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_decode_twice_and_encode_as_harbor() {
        assert_eq!(repository_name("a%2Fb"), "a/b");
        assert_eq!(repository_name("plain"), "plain");
        assert_eq!(encode_repository("a/b/c"), "a%252Fb%252Fc");
    }
}
