//! Robot accounts (`/robots`): create (secret shown once), list, read, update, refresh the
//! secret (`PATCH`), delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use rand::Rng as _;
use rand::distributions::Alphanumeric;
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{BASE, caller, find_project, full_path, require};
use crate::harbor_sim::Sim;
use crate::harbor_sim::auth::Principal;
use crate::harbor_sim::http::{ApiError, ApiResult, Query, harbor_time, ok_empty, paged_json};
use crate::harbor_sim::state::{Robot, RobotPermission, State as Records};

/// Harbor's robot name prefix.
const PREFIX: &str = "robot$";

/// The body of `POST /robots` and `PUT /robots/{id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RobotRequest {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    secret: Option<String>,
    #[serde(default)]
    level: String,
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    duration: i64,
    #[serde(default)]
    permissions: Vec<RobotPermission>,
}

/// `POST /robots`: 201 with `Location` and `{id, name, secret, creation_time, expires_at}`.
pub(crate) async fn create(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Json(request): Json<RobotRequest>,
) -> ApiResult {
    validate_name(&request.name)?;
    validate(&request)?;
    if let Some(secret) = request
        .secret
        .as_deref()
        .filter(|secret| !secret.is_empty())
    {
        validate_secret(secret)?;
    }
    let principal = caller(&sim, &headers);
    let mut records = sim.records();
    let namespace = request.permissions[0].namespace.clone();
    let (full_name, project_id) = if request.level == "project" {
        let project = find_project(&records, &principal, &namespace, true)?;
        require(&principal, &project, "robot", "create")?;
        (
            format!("{PREFIX}{}+{}", project.name, request.name),
            project.id,
        )
    } else {
        require_system(&principal, "create")?;
        (format!("{PREFIX}{}", request.name), 0)
    };
    if records.robots.iter().any(|robot| robot.name == full_name) {
        return Err(ApiError::conflict(format!(
            "robot account {full_name} already exists"
        )));
    }

    let secret = request
        .secret
        .clone()
        .filter(|secret| !secret.is_empty())
        .unwrap_or_else(random_secret);
    let now = OffsetDateTime::now_utc();
    let id = records.next_id("robot");
    let robot = Robot {
        id,
        name: full_name,
        description: request.description,
        secret: secret.clone(),
        level: request.level,
        duration: request.duration,
        expires_at: expiry(now, request.duration),
        disable: request.disable,
        project_id,
        permissions: request.permissions,
        creation_time: now,
        update_time: now,
    };
    let body = json!({
        "id": id,
        "name": robot.name,
        "secret": secret,
        "creation_time": harbor_time(now),
        "expires_at": robot.expires_at,
    });
    records.robots.push(robot);
    let mut response = (axum::http::StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::LOCATION,
        format!("{BASE}/robots/{id}")
            .parse()
            .expect("an ASCII location"),
    );
    Ok(response)
}

fn expiry(created: OffsetDateTime, duration: i64) -> i64 {
    if duration == -1 {
        -1
    } else {
        (created + Duration::days(duration)).unix_timestamp()
    }
}

fn random_secret() -> String {
    // Harbor's generated secrets are 32 alphanumerics; make sure all classes appear.
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(29)
        .map(char::from)
        .collect();
    format!("Aa1{body}")
}

fn validate_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.split(['.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "robot name is not in lower case or contains illegal characters",
        ))
    }
}

fn validate(request: &RobotRequest) -> Result<(), ApiError> {
    if request.duration < -1 || request.duration == 0 || request.duration >= i64::from(i32::MAX) {
        return Err(ApiError::bad_request(format!(
            "bad request error duration input: {}",
            request.duration
        )));
    }
    if request.level != "system" && request.level != "project" {
        return Err(ApiError::bad_request(format!(
            "bad request error level input: {}",
            request.level
        )));
    }
    if request.permissions.is_empty() {
        return Err(ApiError::bad_request("bad request empty permission"));
    }
    if request
        .permissions
        .iter()
        .any(|permission| permission.access.is_empty())
    {
        return Err(ApiError::bad_request("bad request empty access"));
    }
    if request.level == "project" && request.permissions.len() > 1 {
        return Err(ApiError::bad_request("bad request permission"));
    }
    Ok(())
}

fn validate_secret(secret: &str) -> Result<(), ApiError> {
    let valid = secret.len() >= 8
        && secret.bytes().any(|byte| byte.is_ascii_lowercase())
        && secret.bytes().any(|byte| byte.is_ascii_uppercase())
        && secret.bytes().any(|byte| byte.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "the secret must longer than 8 chars with at least 1 uppercase letter, 1 lowercase letter and 1 number",
        ))
    }
}

fn require_system(principal: &Principal, action: &str) -> Result<(), ApiError> {
    if principal.can_system("robot", action) {
        Ok(())
    } else if principal.is_authenticated() {
        Err(ApiError::forbidden())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// Checks `action` on a robot's level: the project's `robot` resource or the system's.
fn require_robot_access(
    records: &Records,
    principal: &Principal,
    robot: &Robot,
    action: &str,
) -> Result<(), ApiError> {
    if robot.level == "project" {
        let project = find_project(records, principal, &robot.project_id.to_string(), false)?;
        require(principal, &project, "robot", action)
    } else {
        require_system(principal, action)
    }
}

fn find_robot(records: &Records, principal: &Principal, id: i64) -> Result<Robot, ApiError> {
    if !principal.is_authenticated() {
        return Err(ApiError::unauthorized());
    }
    records
        .robots
        .iter()
        .find(|robot| robot.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("robot {id} not found")))
}

/// `GET /robots?q=Level=project,ProjectID=N` (default: system robots).
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
    let keywords = keywords(query.get("q").unwrap_or_default());
    let level = keywords
        .iter()
        .find(|(key, _)| key == "Level")
        .map_or("system", |(_, value)| value.as_str());
    let records = sim.records();
    let project_id = match level {
        "system" => {
            require_system(&principal, "list")?;
            0
        }
        "project" => {
            let id = keywords
                .iter()
                .find(|(key, _)| key == "ProjectID")
                .ok_or_else(|| {
                    ApiError::bad_request("must with project ID when to query project robots")
                })?
                .1
                .clone();
            let project = find_project(&records, &principal, &id, false)?;
            require(&principal, &project, "robot", "list")?;
            project.id
        }
        _ => return Err(ApiError::bad_request("bad request error level input")),
    };
    let robots: Vec<Value> = records
        .robots
        .iter()
        .filter(|robot| robot.level == level && robot.project_id == project_id)
        .map(robot_json)
        .collect();
    Ok(paged_json(&full_path(&uri), &query, page, &robots))
}

/// `k=v` clauses of Harbor's `q` parameter.
fn keywords(q: &str) -> Vec<(String, String)> {
    q.split(',')
        .filter_map(|clause| clause.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// `GET /robots/{id}`.
pub(crate) async fn get_one(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let records = sim.records();
    let robot = find_robot(&records, &principal, id)?;
    require_robot_access(&records, &principal, &robot, "read")?;
    Ok(Json(robot_json(&robot)).into_response())
}

/// `PUT /robots/{id}`: description, disable, duration and permissions; name and level fixed.
pub(crate) async fn update(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(request): Json<RobotRequest>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let mut records = sim.records();
    let robot = find_robot(&records, &principal, id)?;
    validate(&request)?;
    require_robot_access(&records, &principal, &robot, "update")?;
    if request.level != robot.level || request.name != robot.name {
        return Err(ApiError::bad_request(
            "cannot update the level or name of robot",
        ));
    }
    let stored = records
        .robots
        .iter_mut()
        .find(|stored| stored.id == id)
        .expect("found above");
    if stored.duration != request.duration {
        stored.duration = request.duration;
        stored.expires_at = expiry(stored.creation_time, request.duration);
    }
    stored.description = request.description;
    stored.disable = request.disable;
    stored.permissions = request.permissions;
    stored.update_time = OffsetDateTime::now_utc();
    Ok(ok_empty())
}

/// The body of `PATCH /robots/{id}` (`RobotSec`).
#[derive(Debug, Deserialize)]
pub(crate) struct RobotSecret {
    #[serde(default)]
    secret: String,
}

/// `PATCH /robots/{id}`: an empty secret makes a new one, returned once; a given secret is
/// validated and not echoed. The old secret stops working at once.
pub(crate) async fn refresh_secret(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(request): Json<RobotSecret>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let mut records = sim.records();
    let robot = find_robot(&records, &principal, id)?;
    require_robot_access(&records, &principal, &robot, "update")?;
    let (secret, shown) = if request.secret.is_empty() {
        let secret = random_secret();
        (secret.clone(), secret)
    } else {
        validate_secret(&request.secret)?;
        (request.secret, String::new())
    };
    let stored = records
        .robots
        .iter_mut()
        .find(|stored| stored.id == id)
        .expect("found above");
    stored.secret = secret;
    stored.update_time = OffsetDateTime::now_utc();
    Ok(Json(json!({"secret": shown})).into_response())
}

/// `DELETE /robots/{id}`.
pub(crate) async fn remove(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    let principal = caller(&sim, &headers);
    let mut records = sim.records();
    let robot = find_robot(&records, &principal, id)?;
    require_robot_access(&records, &principal, &robot, "delete")?;
    records.robots.retain(|stored| stored.id != id);
    Ok(ok_empty())
}

/// A robot as Harbor answers it (never with its secret).
fn robot_json(robot: &Robot) -> Value {
    json!({
        "id": robot.id,
        "name": robot.name,
        "description": robot.description,
        "level": robot.level,
        "duration": robot.duration,
        "editable": true,
        "disable": robot.disable,
        "expires_at": robot.expires_at,
        "permissions": robot.permissions,
        "creator_type": "local",
        "creator_ref": 1,
        "creation_time": harbor_time(robot.creation_time),
        "update_time": harbor_time(robot.update_time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_names_follow_harbors_rules() {
        assert!(validate_secret("Abcdefg1").is_ok());
        assert!(validate_secret("abcdefg1").is_err());
        assert!(validate_secret("Ab1").is_err());
        assert!(validate_secret(&random_secret()).is_ok());
        assert_eq!(random_secret().len(), 32);
        assert!(validate_name("ci-push").is_ok());
        assert!(validate_name("ci+push").is_err());
    }

    #[test]
    fn query_keywords_are_split_on_commas() {
        assert_eq!(
            keywords("Level=project,ProjectID=3"),
            [
                ("Level".to_owned(), "project".to_owned()),
                ("ProjectID".to_owned(), "3".to_owned())
            ]
        );
        assert_eq!(expiry(OffsetDateTime::UNIX_EPOCH, -1), -1);
        assert_eq!(expiry(OffsetDateTime::UNIX_EPOCH, 1), 86_400);
    }
}
