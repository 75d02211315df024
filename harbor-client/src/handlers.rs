//! Resource handlers: `harbor.projects()`, `harbor.artifacts(project, repo)` and so on, with
//! verbs named after the API. Each wraps generated operations; [`HarborClient::raw`] covers
//! whatever a handler does not.

mod admin;
mod artifacts;
mod projects;
mod robots;
mod scoped;

use futures::stream::BoxStream;
use serde::de::DeserializeOwned;

pub use self::admin::{
    AuditLogs, Gc, Labels, Quotas, Registries, Replication, Retention, ScanAll, Scanners,
    StorageUsage, System, Users,
};
pub use self::artifacts::ScanOutcome;
pub use self::artifacts::{ArtifactOptions, Artifacts, PromoteSource, Repositories};
pub use self::projects::{NewProject, Projects};
pub use self::robots::{CreatedRobot, DockerConfigJson, RobotSpec, Robots, Rotation};
pub use self::scoped::{ImmutableRules, Members, Role, Webhooks};
use crate::client::HarborClient;
use crate::error::HarborError;
use crate::operation::Paginated;
use crate::pagination::{self, DEFAULT_PAGE_SIZE, Page, check_page_size};

/// A project addressed by name or by id.
///
/// Names are sent with `X-Is-Resource-Name: true`, so a project named `123` is never taken
/// for the project with id 123.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    /// The project name.
    Name(String),
    /// The numeric project id.
    Id(i64),
}

impl ProjectRef {
    /// The path segment value.
    pub(crate) fn path_value(&self) -> String {
        match self {
            Self::Name(name) => name.clone(),
            Self::Id(id) => id.to_string(),
        }
    }

    /// The value of `X-Is-Resource-Name`.
    pub(crate) fn is_name(&self) -> bool {
        matches!(self, Self::Name(_))
    }
}

impl From<&str> for ProjectRef {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for ProjectRef {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl From<&String> for ProjectRef {
    fn from(name: &String) -> Self {
        Self::Name(name.clone())
    }
}

impl From<i64> for ProjectRef {
    fn from(id: i64) -> Self {
        Self::Id(id)
    }
}

/// A list request: adjust it, then read one page or stream every item.
///
/// The page size defaults to 50; Harbor refuses more than 100, and so does
/// [`page_size`](Self::page_size) (the error comes when the list is read).
#[derive(Debug, Clone)]
pub struct List<O> {
    client: HarborClient,
    operation: O,
    page_size: i64,
}

impl<O, T> List<O>
where
    O: Paginated<Output = Vec<T>> + 'static,
    T: DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(client: &HarborClient, operation: O) -> Self {
        Self {
            client: client.clone(),
            operation,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// Items per page, 1 to 100. Default 50.
    #[must_use]
    pub fn page_size(mut self, page_size: i64) -> Self {
        self.page_size = page_size;
        self
    }

    /// Changes any parameter of the generated request (`q`, `sort`, `with_*` flags).
    #[must_use]
    pub fn with(mut self, change: impl FnOnce(&mut O)) -> Self {
        change(&mut self.operation);
        self
    }

    /// Reads one page (from 1), with `X-Total-Count` and the next page's link.
    pub async fn page(mut self, page: i64) -> Result<Page<T>, HarborError> {
        let page_size = check_page_size(self.page_size)?;
        self.operation.set_page(page.max(1), page_size);
        pagination::first_page(&self.client, &self.operation).await
    }

    /// Streams every item, following `Link: rel="next"` until the last page.
    pub fn stream(mut self) -> BoxStream<'static, Result<T, HarborError>> {
        match check_page_size(self.page_size) {
            Ok(page_size) => {
                self.operation.set_page(1, page_size);
                pagination::stream(self.client, self.operation)
            }
            Err(error) => Box::pin(futures::stream::once(async move { Err(error) })),
        }
    }
}

impl HarborClient {
    /// Projects.
    pub fn projects(&self) -> Projects {
        Projects::new(self)
    }

    /// Repositories of a project.
    pub fn repositories(&self, project: impl Into<String>) -> Repositories {
        Repositories::new(self, project.into())
    }

    /// Artifacts of a repository (`repository` without the project, `a/b` allowed).
    pub fn artifacts(
        &self,
        project: impl Into<String>,
        repository: impl Into<String>,
    ) -> Artifacts {
        Artifacts::new(self, project.into(), repository.into())
    }

    /// Robot accounts.
    pub fn robots(&self) -> Robots {
        Robots::new(self)
    }

    /// Registry endpoints (replication targets and sources).
    pub fn registries(&self) -> Registries {
        Registries::new(self)
    }

    /// Replication policies and executions.
    pub fn replication(&self) -> Replication {
        Replication::new(self)
    }

    /// Scanner registrations.
    pub fn scanners(&self) -> Scanners {
        Scanners::new(self)
    }

    /// Scanning every artifact.
    pub fn scan_all(&self) -> ScanAll {
        ScanAll::new(self)
    }

    /// Tag retention policies.
    pub fn retention(&self) -> Retention {
        Retention::new(self)
    }

    /// Tag immutability rules of a project.
    pub fn immutable_rules(&self, project: impl Into<ProjectRef>) -> ImmutableRules {
        ImmutableRules::new(self, project.into())
    }

    /// Webhook policies of a project.
    pub fn webhooks(&self, project: impl Into<ProjectRef>) -> Webhooks {
        Webhooks::new(self, project.into())
    }

    /// Labels.
    pub fn labels(&self) -> Labels {
        Labels::new(self)
    }

    /// Quotas and storage usage.
    pub fn quotas(&self) -> Quotas {
        Quotas::new(self)
    }

    /// Members of a project.
    pub fn members(&self, project: impl Into<ProjectRef>) -> Members {
        Members::new(self, project.into())
    }

    /// Users.
    pub fn users(&self) -> Users {
        Users::new(self)
    }

    /// Garbage collection.
    pub fn gc(&self) -> Gc {
        Gc::new(self)
    }

    /// Audit logs.
    pub fn audit_logs(&self) -> AuditLogs {
        AuditLogs::new(self)
    }

    /// System information, health, ping and statistics.
    pub fn system(&self) -> System {
        System::new(self)
    }
}

/// Reads the id out of a 201's `Location`, or says that it is missing.
pub(crate) fn created_id(
    created: &crate::operation::Created,
    what: &str,
) -> Result<i64, HarborError> {
    created.id().ok_or_else(|| HarborError::Unexpected {
        what: format!(
            "creating {what} answered without an id in Location ({:?})",
            created.location
        ),
    })
}

/// Pauses between polls: doubles from `interval` up to `max_interval`.
pub(crate) struct Backoff {
    next: std::time::Duration,
    max: std::time::Duration,
    deadline: tokio::time::Instant,
    started: tokio::time::Instant,
}

impl Backoff {
    pub(crate) fn new(options: crate::client::WaitOptions) -> Self {
        let started = tokio::time::Instant::now();
        Self {
            next: options.interval,
            max: options.max_interval,
            deadline: started + options.deadline,
            started,
        }
    }

    /// Sleeps before the next poll, or fails when the deadline has passed.
    pub(crate) async fn wait(&mut self, what: impl FnOnce() -> String) -> Result<(), HarborError> {
        let now = tokio::time::Instant::now();
        if now >= self.deadline {
            return Err(HarborError::Timeout {
                what: what(),
                waited: now - self.started,
            });
        }
        let pause = self.next.min(self.deadline - now);
        tokio::time::sleep(pause).await;
        self.next = (self.next * 2).min(self.max);
        Ok(())
    }
}
