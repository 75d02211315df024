//! `harbor.robots()`: robot accounts, secret refresh, rotation with overlap and pull secrets.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use wharf_oci_core::credentials::Credential;
use wharf_oci_core::secret::Secret;

use super::List;
use crate::client::HarborClient;
use crate::error::HarborError;
use crate::generated::models::{Access, Robot, RobotCreate, RobotPermission, RobotSec};
use crate::generated::operations as op;

/// Robot accounts.
#[derive(Debug, Clone)]
pub struct Robots {
    client: HarborClient,
}

impl Robots {
    pub(crate) fn new(client: &HarborClient) -> Self {
        Self {
            client: client.clone(),
        }
    }

    /// Lists robots; filter with `q` (capitalised keys: `Level=project,ProjectID=1`).
    pub fn list(&self) -> List<op::ListRobot> {
        List::new(&self.client, op::ListRobot::default())
    }

    /// One robot by id (without its secret).
    pub async fn get(&self, id: i64) -> Result<Robot, HarborError> {
        self.client
            .call(&op::GetRobotById {
                robot_id: id,
                ..Default::default()
            })
            .await
    }

    /// Creates a robot. The answer holds the secret, which Harbor shows only this once.
    pub async fn create(&self, spec: RobotSpec) -> Result<CreatedRobot, HarborError> {
        let created = self
            .client
            .call(&op::CreateRobot {
                body: spec.request,
                ..Default::default()
            })
            .await?;
        let missing = |what: &str| HarborError::Unexpected {
            what: format!("robot creation answered without {what}"),
        };
        let robot = CreatedRobot {
            id: created.id.ok_or_else(|| missing("an id"))?,
            name: created.name.ok_or_else(|| missing("a name"))?,
            secret: created.secret.ok_or_else(|| missing("a secret"))?,
            expires_at: created.expires_at,
        };
        tracing::info!(robot = %robot.name, id = robot.id, "created robot account");
        Ok(robot)
    }

    /// Replaces a robot's description, permissions, duration and `disable` flag.
    pub async fn update(&self, robot: Robot) -> Result<(), HarborError> {
        let id = robot.id.ok_or(HarborError::InvalidArgument {
            name: "robot",
            reason: "has no id".to_owned(),
        })?;
        self.client
            .call(&op::UpdateRobot {
                robot_id: id,
                body: robot,
                ..Default::default()
            })
            .await
    }

    /// Deletes a robot; its secret stops working at once.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        self.client
            .call(&op::DeleteRobot {
                robot_id: id,
                ..Default::default()
            })
            .await
    }

    /// Makes Harbor generate a new secret and returns it. The old secret stops working at
    /// once; use [`rotate`](Self::rotate) when clients need time to switch.
    pub async fn refresh_secret(&self, id: i64) -> Result<Secret, HarborError> {
        let body = RobotSec {
            secret: Some(Secret::new("")),
            ..Default::default()
        };
        let answer = self
            .client
            .call(&op::RefreshSec {
                robot_id: id,
                body,
                ..Default::default()
            })
            .await?;
        answer
            .secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| HarborError::Unexpected {
                what: "secret refresh answered without a secret".to_owned(),
            })
    }

    /// Starts a rotation with overlap: creates a second robot with the same level,
    /// permissions and duration. Both secrets work until [`finish_rotation`](Self::finish_rotation)
    /// deletes the old robot, so callers can switch in their own time.
    pub async fn rotate(&self, id: i64) -> Result<Rotation, HarborError> {
        let old = self.get(id).await?;
        let old_name = old.name.clone().unwrap_or_default();
        let spec = RobotSpec {
            request: RobotCreate {
                name: Some(rotated_name(
                    &old_name,
                    time::OffsetDateTime::now_utc().unix_timestamp(),
                )),
                description: old.description.clone(),
                level: old.level.clone(),
                duration: old.duration,
                permissions: old.permissions.clone(),
                ..Default::default()
            },
        };
        let new = self.create(spec).await?;
        tracing::info!(old = %old_name, new = %new.name, "robot rotation started; both secrets work");
        Ok(Rotation {
            old_id: id,
            old_name,
            new,
        })
    }

    /// Ends a rotation: deletes the old robot, whose secret stops working.
    pub async fn finish_rotation(&self, rotation: &Rotation) -> Result<(), HarborError> {
        self.delete(rotation.old_id).await?;
        tracing::info!(old = %rotation.old_name, "robot rotation finished");
        Ok(())
    }
}

/// The bare name Harbor expects on creation for the successor of `full_name`
/// (`robot$proj+ci` or `robot$proj+ci-r1700000000` become `ci-r<now>`).
fn rotated_name(full_name: &str, now: i64) -> String {
    let short = full_name.rsplit(['$', '+']).next().unwrap_or(full_name);
    let stem = match short.rsplit_once("-r") {
        Some((stem, stamp)) if !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit()) => {
            stem
        }
        _ => short,
    };
    format!("{stem}-r{now}")
}

/// A robot to create.
///
/// ```
/// use wharf_harbor_client::handlers::RobotSpec;
///
/// let ci = RobotSpec::project_pull("staging", "deployer").access("staging", "repository", "push").duration_days(90);
/// # let _ = ci;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RobotSpec {
    request: RobotCreate,
}

impl RobotSpec {
    /// A project robot named `name` in `project` with no permissions yet; never expires
    /// unless [`duration_days`](Self::duration_days) says otherwise.
    pub fn project(project: &str, name: impl Into<String>) -> Self {
        let request = RobotCreate {
            name: Some(name.into()),
            level: Some("project".to_owned()),
            duration: Some(-1),
            permissions: vec![RobotPermission {
                kind: Some("project".to_owned()),
                namespace: Some(project.to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        };
        Self { request }
    }

    /// A project robot that can pull: `repository:pull` and `artifact:read`.
    pub fn project_pull(project: &str, name: impl Into<String>) -> Self {
        Self::project(project, name)
            .access(project, "repository", "pull")
            .access(project, "artifact", "read")
    }

    /// A project robot that can pull and push.
    pub fn project_push(project: &str, name: impl Into<String>) -> Self {
        Self::project_pull(project, name).access(project, "repository", "push")
    }

    /// A system robot with no permissions yet.
    pub fn system(name: impl Into<String>) -> Self {
        let request = RobotCreate {
            name: Some(name.into()),
            level: Some("system".to_owned()),
            duration: Some(-1),
            ..Default::default()
        };
        Self { request }
    }

    /// Grants `action` on `resource` in `project` (for a system robot, `*` means every project).
    #[must_use]
    pub fn access(mut self, project: &str, resource: &str, action: &str) -> Self {
        let access = Access {
            resource: Some(resource.to_owned()),
            action: Some(action.to_owned()),
            ..Default::default()
        };
        let kind = if project == "/" { "system" } else { "project" };
        let permissions = &mut self.request.permissions;
        match permissions
            .iter_mut()
            .find(|p| p.namespace.as_deref() == Some(project))
        {
            Some(permission) => permission.access.push(access),
            None => permissions.push(RobotPermission {
                kind: Some(kind.to_owned()),
                namespace: Some(project.to_owned()),
                access: vec![access],
                ..Default::default()
            }),
        }
        self
    }

    /// Days until the robot expires; -1 (the default) means never. Harbor rejects 0.
    #[must_use]
    pub fn duration_days(mut self, days: i64) -> Self {
        self.request.duration = Some(days);
        self
    }

    /// A description shown in Harbor's UI. Default none.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = Some(description.into());
        self
    }

    /// The request body as it will be sent.
    pub fn request(&self) -> &RobotCreate {
        &self.request
    }
}

/// A robot just created, with its one-time secret.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedRobot {
    /// The robot id.
    pub id: i64,
    /// The full name to log in with (`robot$project+name`).
    pub name: String,
    /// The secret.
    pub secret: Secret,
    /// Expiry as Unix seconds; -1 or absent for never.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for CreatedRobot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedRobot")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl CreatedRobot {
    /// The Basic credential for the API and the registry.
    pub fn credential(&self) -> Credential {
        Credential::basic(self.name.clone(), self.secret.clone())
    }

    /// A Kubernetes `.dockerconfigjson` value for pulling from `registry_host`.
    pub fn dockerconfigjson(&self, registry_host: &str) -> String {
        DockerConfigJson::new()
            .registry(registry_host, &self.name, &self.secret)
            .to_json()
    }
}

/// A rotation in progress: the old robot still works until it is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The id of the robot being replaced.
    pub old_id: i64,
    /// Its full name.
    pub old_name: String,
    /// The replacement, with its secret.
    pub new: CreatedRobot,
}

/// Builds the `.dockerconfigjson` of a Kubernetes `kubernetes.io/dockerconfigjson` Secret:
/// `{"auths":{"<host>":{"username","password","auth"}}}`.
///
/// ```
/// use wharf_harbor_client::handlers::DockerConfigJson;
/// use wharf_oci_core::secret::Secret;
///
/// let json = DockerConfigJson::new().registry("harbor.example.com", "robot$p+pull", &Secret::new("s")).to_json();
/// assert!(json.contains("\"harbor.example.com\""));
/// ```
#[derive(Default, Clone, PartialEq, Eq)]
pub struct DockerConfigJson {
    auths: BTreeMap<String, (String, Secret)>,
}

impl fmt::Debug for DockerConfigJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfigJson")
            .field("registries", &self.auths.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DockerConfigJson {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the credential for one registry host.
    #[must_use]
    pub fn registry(mut self, host: &str, username: &str, password: &Secret) -> Self {
        self.auths
            .insert(host.to_owned(), (username.to_owned(), password.clone()));
        self
    }

    /// The JSON text. It contains the secrets: store it only in a Secret.
    pub fn to_json(&self) -> String {
        let auths: serde_json::Map<String, serde_json::Value> = self
            .auths
            .iter()
            .map(|(host, (username, password))| {
                let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose()));
                (host.clone(), serde_json::json!({"username": username, "password": password.expose(), "auth": auth}))
            })
            .collect();
        serde_json::json!({ "auths": auths }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_replace_the_previous_stamp() {
        assert_eq!(rotated_name("robot$staging+ci", 7), "ci-r7");
        assert_eq!(rotated_name("robot$staging+ci-r5", 7), "ci-r7");
        assert_eq!(rotated_name("robot$sys", 7), "sys-r7");
        assert_eq!(rotated_name("robot$team-runner", 7), "team-runner-r7");
    }

    #[test]
    fn dockerconfigjson_has_the_kubernetes_shape() {
        let json = DockerConfigJson::new()
            .registry("h:5000", "robot$p+r", &Secret::new("pw"))
            .to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entry = &value["auths"]["h:5000"];
        assert_eq!(entry["username"], "robot$p+r");
        assert_eq!(entry["password"], "pw");
        assert_eq!(
            entry["auth"],
            base64::engine::general_purpose::STANDARD.encode("robot$p+r:pw")
        );
    }

    #[test]
    fn pull_robots_get_pull_and_read() {
        let spec = RobotSpec::project_pull("p", "r");
        let actions: Vec<_> = spec.request().permissions[0]
            .access
            .iter()
            .map(|a| (a.resource.clone().unwrap(), a.action.clone().unwrap()))
            .collect();
        assert_eq!(
            actions,
            [
                ("repository".to_owned(), "pull".to_owned()),
                ("artifact".to_owned(), "read".to_owned())
            ]
        );
        assert!(
            !format!(
                "{:?}",
                CreatedRobot {
                    id: 1,
                    name: "n".into(),
                    secret: Secret::new("hidden"),
                    expires_at: None
                }
            )
            .contains("hidden")
        );
    }
}
