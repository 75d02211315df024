//! `harbor.projects()`.

use std::collections::BTreeMap;

use super::{List, ProjectRef, created_id};
use crate::client::HarborClient;
use crate::error::HarborError;
use crate::generated::models::{Project, ProjectMetadata, ProjectReq, ProjectSummary};
use crate::generated::operations as op;
use crate::quirks::StringBool;

/// Projects: list, get, create, update, delete, metadata and summary.
#[derive(Debug, Clone)]
pub struct Projects {
    client: HarborClient,
}

impl Projects {
    pub(crate) fn new(client: &HarborClient) -> Self {
        Self {
            client: client.clone(),
        }
    }

    /// Lists projects; narrow it with [`List::with`] (`name`, `public`, `q`, `sort`).
    pub fn list(&self) -> List<op::ListProjects> {
        List::new(&self.client, op::ListProjects::default())
    }

    /// One project, by name (sent with `X-Is-Resource-Name: true`) or id.
    pub async fn get(&self, project: impl Into<ProjectRef>) -> Result<Project, HarborError> {
        let project = project.into();
        let request = op::GetProject {
            project_name_or_id: project.path_value(),
            is_resource_name: Some(project.is_name()),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// True when a project with this name exists (`HEAD /projects?project_name=`).
    pub async fn exists(&self, name: &str) -> Result<bool, HarborError> {
        let request = op::HeadProject {
            project_name: name.to_owned(),
            ..Default::default()
        };
        match self.client.call(&request).await {
            Ok(()) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Creates a project and returns its id (read from `Location`).
    pub async fn create(&self, project: NewProject) -> Result<i64, HarborError> {
        let name = project.request.project_name.clone().unwrap_or_default();
        let request = op::CreateProject {
            body: project.request,
            ..Default::default()
        };
        let created = self.client.call(&request).await?;
        tracing::info!(project = %name, "created Harbor project");
        created_id(&created, "a project")
    }

    /// Updates a project with the fields set in `changes`.
    pub async fn update(
        &self,
        project: impl Into<ProjectRef>,
        changes: NewProject,
    ) -> Result<(), HarborError> {
        let project = project.into();
        let request = op::UpdateProject {
            project_name_or_id: project.path_value(),
            is_resource_name: Some(project.is_name()),
            body: changes.request,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Deletes a project (Harbor refuses while it holds repositories).
    pub async fn delete(&self, project: impl Into<ProjectRef>) -> Result<(), HarborError> {
        let project = project.into();
        let request = op::DeleteProject {
            project_name_or_id: project.path_value(),
            is_resource_name: Some(project.is_name()),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Counts of repositories and members, and the quota.
    pub async fn summary(
        &self,
        project: impl Into<ProjectRef>,
    ) -> Result<ProjectSummary, HarborError> {
        let project = project.into();
        let request = op::GetProjectSummary {
            project_name_or_id: project.path_value(),
            is_resource_name: Some(project.is_name()),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// The project's metadata as Harbor stores it: strings, booleans as `"true"`.
    pub async fn metadata(
        &self,
        project: impl Into<ProjectRef>,
    ) -> Result<BTreeMap<String, String>, HarborError> {
        let project = project.into();
        let request = op::ListProjectMetadatas {
            project_name_or_id: project.path_value(),
            is_resource_name: Some(project.is_name()),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Adds or replaces metadata entries.
    pub async fn set_metadata(
        &self,
        project: impl Into<ProjectRef>,
        entries: BTreeMap<String, String>,
    ) -> Result<(), HarborError> {
        let project = project.into();
        let request = op::AddProjectMetadatas {
            project_name_or_id: project.path_value(),
            is_resource_name: Some(project.is_name()),
            body: Some(entries),
            ..Default::default()
        };
        self.client.call(&request).await
    }
}

/// A project to create, or the changes of an update. Only what is set is sent.
///
/// ```
/// use wharf_harbor_client::handlers::NewProject;
///
/// let project = NewProject::new("staging").public(false).auto_scan(true).storage_limit(10 << 30);
/// # let _ = project;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewProject {
    request: ProjectReq,
}

impl NewProject {
    /// A project named `name`; private, no quota and Harbor's default metadata unless set.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            request: ProjectReq {
                project_name: Some(name.into()),
                ..Default::default()
            },
        }
    }

    /// Whether anyone may pull. Default: Harbor's (private).
    #[must_use]
    pub fn public(mut self, public: bool) -> Self {
        self.metadata_mut().public = Some(StringBool(public));
        self
    }

    /// Scan every pushed artifact. Default: off.
    #[must_use]
    pub fn auto_scan(mut self, enabled: bool) -> Self {
        self.metadata_mut().auto_scan = Some(StringBool(enabled));
        self
    }

    /// Refuse pulls of artifacts with vulnerabilities of at least `severity`
    /// (`low`, `medium`, `high`, `critical`). Default: off.
    #[must_use]
    pub fn prevent_vulnerable(mut self, severity: impl Into<String>) -> Self {
        let metadata = self.metadata_mut();
        metadata.prevent_vul = Some(StringBool(true));
        metadata.severity = Some(severity.into());
        self
    }

    /// Any metadata, replacing what the other setters set.
    #[must_use]
    pub fn metadata(mut self, metadata: ProjectMetadata) -> Self {
        self.request.metadata = Some(metadata);
        self
    }

    /// The storage quota in bytes; -1 means unlimited. Default: the system default.
    #[must_use]
    pub fn storage_limit(mut self, bytes: i64) -> Self {
        self.request.storage_limit = Some(bytes);
        self
    }

    /// Makes it a proxy-cache project of the registry endpoint `registry_id`.
    #[must_use]
    pub fn proxy_cache_of(mut self, registry_id: i64) -> Self {
        self.request.registry_id = Some(registry_id);
        self
    }

    /// The request body as it will be sent.
    pub fn request(&self) -> &ProjectReq {
        &self.request
    }

    fn metadata_mut(&mut self) -> &mut ProjectMetadata {
        self.request
            .metadata
            .get_or_insert_with(ProjectMetadata::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_project_sends_string_booleans() {
        let body =
            serde_json::to_value(NewProject::new("p").public(true).auto_scan(false).request())
                .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"project_name": "p", "metadata": {"public": "true", "auto_scan": "false"}})
        );
    }
}
