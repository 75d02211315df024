//! Project-scoped handlers: `immutable_rules(p)`, `webhooks(p)`, `members(p)`.

use super::{List, ProjectRef, created_id};
use crate::client::HarborClient;
use crate::error::HarborError;
use crate::generated::models::{
    ImmutableRule, ProjectMember, ProjectMemberEntity, RoleRequest, UserEntity, WebhookPolicy,
};
use crate::generated::operations as op;

/// Tag immutability rules of a project.
#[derive(Debug, Clone)]
pub struct ImmutableRules {
    client: HarborClient,
    project: ProjectRef,
}

impl ImmutableRules {
    pub(crate) fn new(client: &HarborClient, project: ProjectRef) -> Self {
        Self {
            client: client.clone(),
            project,
        }
    }

    /// Lists the rules.
    pub fn list(&self) -> List<op::ListImmuRules> {
        let request = op::ListImmuRules {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            ..Default::default()
        };
        List::new(&self.client, request)
    }

    /// Adds a rule and returns its id.
    pub async fn create(&self, rule: ImmutableRule) -> Result<i64, HarborError> {
        let request = op::CreateImmuRule {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            body: rule,
            ..Default::default()
        };
        created_id(&self.client.call(&request).await?, "an immutable rule")
    }

    /// Replaces a rule.
    pub async fn update(&self, id: i64, rule: ImmutableRule) -> Result<(), HarborError> {
        let request = op::UpdateImmuRule {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            immutable_rule_id: id,
            body: rule,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Deletes a rule.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        let request = op::DeleteImmuRule {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            immutable_rule_id: id,
            ..Default::default()
        };
        self.client.call(&request).await
    }
}

/// Webhook policies of a project.
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: HarborClient,
    project: ProjectRef,
}

impl Webhooks {
    pub(crate) fn new(client: &HarborClient, project: ProjectRef) -> Self {
        Self {
            client: client.clone(),
            project,
        }
    }

    /// Lists the policies.
    pub fn list(&self) -> List<op::ListWebhookPoliciesOfProject> {
        let request = op::ListWebhookPoliciesOfProject {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            ..Default::default()
        };
        List::new(&self.client, request)
    }

    /// One policy.
    pub async fn get(&self, id: i64) -> Result<WebhookPolicy, HarborError> {
        let request = op::GetWebhookPolicyOfProject {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            webhook_policy_id: id,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Adds a policy and returns its id.
    pub async fn create(&self, policy: WebhookPolicy) -> Result<i64, HarborError> {
        let request = op::CreateWebhookPolicyOfProject {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            body: policy,
            ..Default::default()
        };
        created_id(&self.client.call(&request).await?, "a webhook policy")
    }

    /// Replaces a policy.
    pub async fn update(&self, id: i64, policy: WebhookPolicy) -> Result<(), HarborError> {
        let request = op::UpdateWebhookPolicyOfProject {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            webhook_policy_id: id,
            body: policy,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Deletes a policy.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        let request = op::DeleteWebhookPolicyOfProject {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            webhook_policy_id: id,
            ..Default::default()
        };
        self.client.call(&request).await
    }
}

/// Harbor's project roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Full control of the project (1).
    ProjectAdmin,
    /// Push, pull, scan and manage tags (4).
    Maintainer,
    /// Push and pull (2).
    Developer,
    /// Pull (3).
    Guest,
    /// Pull, no listing of members and logs (5).
    LimitedGuest,
}

impl Role {
    /// Harbor's role id.
    pub fn id(self) -> i64 {
        match self {
            Self::ProjectAdmin => 1,
            Self::Developer => 2,
            Self::Guest => 3,
            Self::Maintainer => 4,
            Self::LimitedGuest => 5,
        }
    }
}

/// Members of a project.
#[derive(Debug, Clone)]
pub struct Members {
    client: HarborClient,
    project: ProjectRef,
}

impl Members {
    pub(crate) fn new(client: &HarborClient, project: ProjectRef) -> Self {
        Self {
            client: client.clone(),
            project,
        }
    }

    /// Lists the members.
    pub fn list(&self) -> List<op::ListProjectMembers> {
        let request = op::ListProjectMembers {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            ..Default::default()
        };
        List::new(&self.client, request)
    }

    /// One membership.
    pub async fn get(&self, member_id: i64) -> Result<ProjectMemberEntity, HarborError> {
        let request = op::GetProjectMember {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            mid: member_id,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Adds a user by name with a role and returns the membership id.
    pub async fn add_user(&self, username: &str, role: Role) -> Result<i64, HarborError> {
        let body = ProjectMember {
            role_id: Some(role.id()),
            member_user: Some(UserEntity {
                username: Some(username.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = op::CreateProjectMember {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            body: Some(body),
            ..Default::default()
        };
        created_id(&self.client.call(&request).await?, "a project member")
    }

    /// Changes a member's role.
    pub async fn update_role(&self, member_id: i64, role: Role) -> Result<(), HarborError> {
        let body = Some(RoleRequest {
            role_id: Some(role.id()),
            ..Default::default()
        });
        let request = op::UpdateProjectMember {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            mid: member_id,
            body,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Removes a member.
    pub async fn remove(&self, member_id: i64) -> Result<(), HarborError> {
        let request = op::DeleteProjectMember {
            project_name_or_id: self.project.path_value(),
            is_resource_name: Some(self.project.is_name()),
            mid: member_id,
            ..Default::default()
        };
        self.client.call(&request).await
    }
}
