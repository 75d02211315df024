//! Who is calling (Basic auth: the admin or a robot) and what they may do, following Harbor's
//! RBAC for robots (`src/common/rbac`), plus the registry token service (`/service/token`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use time::OffsetDateTime;

use super::Sim;
use super::http::Query;
use super::state::{Project, RobotPermission, State as Records};
use crate::token::Access;

/// What a project guest (anyone, on a public project) may do: read-only resources.
const PUBLIC_READ: &[(&str, &str)] = &[
    ("repository", "pull"),
    ("repository", "read"),
    ("repository", "list"),
    ("artifact", "read"),
    ("artifact", "list"),
    ("tag", "list"),
    ("artifact-addition", "read"),
    ("scan", "read"),
    ("label", "read"),
    ("project", "read"),
];

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// No (valid) credentials: Harbor carries on as anonymous.
    Anonymous,
    /// The system administrator.
    Admin { name: String },
    /// A robot account and its permissions.
    Robot {
        name: String,
        permissions: Vec<RobotPermission>,
    },
}

impl Principal {
    pub(crate) fn is_authenticated(&self) -> bool {
        !matches!(self, Self::Anonymous)
    }

    pub(crate) fn is_admin(&self) -> bool {
        matches!(self, Self::Admin { .. })
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Anonymous => "",
            Self::Admin { name } | Self::Robot { name, .. } => name,
        }
    }

    /// Whether the caller may do `action` on `resource` of `project`.
    pub(crate) fn can(&self, project: &Project, resource: &str, action: &str) -> bool {
        if project.is_public() && PUBLIC_READ.contains(&(resource, action)) {
            return true;
        }
        match self {
            Self::Anonymous => false,
            Self::Admin { .. } => true,
            Self::Robot { permissions, .. } => permissions.iter().any(|permission| {
                permission.kind == "project"
                    && (permission.namespace == project.name || permission.namespace == "*")
                    && permission.access.iter().any(|access| {
                        access.resource == resource
                            && (access.action == action || access.action == "*")
                    })
            }),
        }
    }

    /// Whether the caller holds a system-level `action` on `resource` (only the admin, or a
    /// system robot with a `system` permission).
    pub(crate) fn can_system(&self, resource: &str, action: &str) -> bool {
        match self {
            Self::Anonymous => false,
            Self::Admin { .. } => true,
            Self::Robot { permissions, .. } => permissions.iter().any(|permission| {
                permission.kind == "system"
                    && permission
                        .access
                        .iter()
                        .any(|access| access.resource == resource && access.action == action)
            }),
        }
    }
}

/// The caller named by the `Authorization: Basic` header; wrong credentials, disabled and
/// expired robots fall back to anonymous, as Harbor's security middleware does.
pub(crate) fn authenticate(sim: &Sim, records: &Records, headers: &HeaderMap) -> Principal {
    let Some((user, password)) = basic_credentials(headers) else {
        return Principal::Anonymous;
    };
    if user == sim.admin.0 && password == sim.admin.1 {
        return Principal::Admin { name: user };
    }
    let now = OffsetDateTime::now_utc();
    records
        .robots
        .iter()
        .find(|robot| {
            robot.name == user
                && robot.secret == password
                && !robot.disable
                && !robot.is_expired(now)
        })
        .map_or(Principal::Anonymous, |robot| Principal::Robot {
            name: robot.name.clone(),
            permissions: robot.permissions.clone(),
        })
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The registry actions `principal` holds on `repository` (`project/name`), as Harbor's
/// token creator computes them: every allowed one of pull, push and delete (not only the
/// requested ones), plus `*` when all three are allowed; none when the project is unknown.
pub(crate) fn registry_actions(
    records: &Records,
    principal: &Principal,
    repository: &str,
) -> Vec<String> {
    let Some((project_name, _)) = repository.split_once('/') else {
        return Vec::new();
    };
    let Some(project) = records.project(project_name, true) else {
        return Vec::new();
    };
    let mut actions: Vec<String> = ["pull", "push", "delete"]
        .into_iter()
        .filter(|action| principal.can(project, "repository", action))
        .map(str::to_owned)
        .collect();
    if actions.len() == 3 {
        actions.push("*".to_owned());
    }
    actions
}

/// `GET /service/token`: Harbor's token service for its registry.
pub(crate) async fn token_service(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let scopes = requested_scopes(raw.as_deref());
    let (principal, grants) = {
        let records = sim.records();
        let principal = authenticate(&sim, &records, &headers);
        let grants: Vec<Access> = scopes
            .into_iter()
            .map(|access| grant(&records, &principal, access))
            .collect();
        (principal, grants)
    };
    if !principal.is_authenticated() && grants.is_empty() {
        // `docker login` with bad credentials: no scope, no security context.
        return unauthorized();
    }
    let service = query.get("service").unwrap_or_default();
    tracing::debug!(user = principal.name(), ?grants, "registry token");
    match sim.issuer.issue(principal.name(), service, &grants) {
        Ok(issued) => Json(json!({
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued.issued_at,
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot sign a registry token");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn grant(records: &Records, principal: &Principal, requested: Access) -> Access {
    let actions = match requested.kind.as_str() {
        "repository" => registry_actions(records, principal, &requested.name),
        "registry" if requested.name == "catalog" && principal.is_admin() => {
            requested.actions.clone()
        }
        _ => Vec::new(),
    };
    Access {
        actions,
        ..requested
    }
}

fn requested_scopes(raw: Option<&str>) -> Vec<Access> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| {
            value
                .split(' ')
                .filter_map(Access::parse_scope)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"harbor\"")],
        Json(json!({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harbor_sim::state::RobotAccess;
    use std::collections::BTreeMap;

    fn project(name: &str, public: bool) -> Project {
        let now = OffsetDateTime::now_utc();
        Project {
            id: 1,
            name: name.to_owned(),
            metadata: BTreeMap::from([("public".to_owned(), public.to_string())]),
            storage_limit: -1,
            quota_id: 1,
            creation_time: now,
            update_time: now,
        }
    }

    fn robot(namespace: &str, pairs: &[(&str, &str)]) -> Principal {
        Principal::Robot {
            name: "robot$x".to_owned(),
            permissions: vec![RobotPermission {
                kind: "project".to_owned(),
                namespace: namespace.to_owned(),
                access: pairs
                    .iter()
                    .map(|(resource, action)| RobotAccess {
                        resource: (*resource).to_owned(),
                        action: (*action).to_owned(),
                        effect: None,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn robots_are_scoped_to_their_namespace_and_actions() {
        let private = project("team", false);
        let puller = robot("team", &[("repository", "pull")]);
        assert!(puller.can(&private, "repository", "pull"));
        assert!(!puller.can(&private, "repository", "push"));
        assert!(!robot("other", &[("repository", "pull")]).can(&private, "repository", "pull"));
        assert!(robot("*", &[("repository", "push")]).can(&private, "repository", "push"));
        assert!(!Principal::Anonymous.can(&private, "repository", "pull"));
        assert!(Principal::Anonymous.can(&project("pub", true), "repository", "pull"));
        assert!(!Principal::Anonymous.can(&project("pub", true), "repository", "push"));
    }

    #[test]
    fn scopes_split_on_spaces_and_repeat() {
        let scopes = requested_scopes(Some(
            "scope=repository:a/b:pull+repository:c/d:push&scope=x",
        ));
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[1].name, "c/d");
    }
}
