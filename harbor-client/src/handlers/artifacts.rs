//! `harbor.repositories(project)` and `harbor.artifacts(project, repository)`, with the
//! promotion and scan helpers.

use std::fmt;
use std::str::FromStr;

use wharf_trivy_report::harbor::HarborVulnerabilityReport;

use super::{Backoff, List};
use crate::client::{HarborClient, WaitOptions};
use crate::error::HarborError;
use crate::generated::models::{
    Artifact, Label, NativeReportSummary, NewTag, Repository, ScanType, Tag,
};
use crate::generated::operations as op;
use crate::quirks::{ScanStatus, VulnerabilityReports};

/// Repositories of one project.
#[derive(Debug, Clone)]
pub struct Repositories {
    client: HarborClient,
    project: String,
}

impl Repositories {
    pub(crate) fn new(client: &HarborClient, project: String) -> Self {
        Self {
            client: client.clone(),
            project,
        }
    }

    /// Lists the project's repositories (names in answers include the project).
    pub fn list(&self) -> List<op::ListRepositories> {
        List::new(
            &self.client,
            op::ListRepositories {
                project_name: self.project.clone(),
                ..Default::default()
            },
        )
    }

    /// One repository, by name without the project (`a/b` allowed).
    pub async fn get(&self, repository: &str) -> Result<Repository, HarborError> {
        let request = op::GetRepository {
            project_name: self.project.clone(),
            repository_name: repository.to_owned(),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Changes the description.
    pub async fn update_description(
        &self,
        repository: &str,
        description: &str,
    ) -> Result<(), HarborError> {
        let body = Repository {
            description: Some(description.to_owned()),
            ..Default::default()
        };
        let request = op::UpdateRepository {
            project_name: self.project.clone(),
            repository_name: repository.to_owned(),
            body,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Deletes a repository and its artifacts.
    pub async fn delete(&self, repository: &str) -> Result<(), HarborError> {
        let request = op::DeleteRepository {
            project_name: self.project.clone(),
            repository_name: repository.to_owned(),
            ..Default::default()
        };
        self.client.call(&request).await
    }
}

/// Which extras an artifact answer carries. Default: tags, labels and the scan overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactOptions {
    /// `with_tag`. Default true.
    pub with_tag: bool,
    /// `with_label`. Default true.
    pub with_label: bool,
    /// `with_scan_overview`. Default true.
    pub with_scan_overview: bool,
}

impl Default for ArtifactOptions {
    fn default() -> Self {
        Self {
            with_tag: true,
            with_label: true,
            with_scan_overview: true,
        }
    }
}

/// Where a promotion copies from: `project/repo:tag` or `project/repo@sha256:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoteSource {
    /// The source project.
    pub project: String,
    /// The source repository, without the project.
    pub repository: String,
    /// A tag or a digest.
    pub reference: String,
}

impl PromoteSource {
    /// True when the reference is a digest.
    pub fn is_digest(&self) -> bool {
        self.reference.contains(':')
    }
}

impl fmt::Display for PromoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = if self.is_digest() { '@' } else { ':' };
        write!(
            f,
            "{}/{}{separator}{}",
            self.project, self.repository, self.reference
        )
    }
}

impl FromStr for PromoteSource {
    type Err = HarborError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || HarborError::InvalidArgument {
            name: "from",
            reason: format!("{text:?} is not project/repository:tag or project/repository@digest"),
        };
        let (name, reference) = match text.split_once('@') {
            Some((name, digest)) => (name, digest),
            None => text
                .rsplit_once(':')
                .filter(|(_, tag)| !tag.contains('/'))
                .ok_or_else(invalid)?,
        };
        let (project, repository) = name.split_once('/').ok_or_else(invalid)?;
        if project.is_empty() || repository.is_empty() || reference.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            project: project.to_owned(),
            repository: repository.to_owned(),
            reference: reference.to_owned(),
        })
    }
}

/// The result of [`Artifacts::scan_and_wait`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOutcome {
    /// The report MIME type the overview entry is keyed by.
    pub mime_type: String,
    /// The final status: success, error or stopped.
    pub status: ScanStatus,
    /// The overview entry.
    pub summary: NativeReportSummary,
}

/// Artifacts of one repository.
#[derive(Debug, Clone)]
pub struct Artifacts {
    client: HarborClient,
    project: String,
    repository: String,
}

impl Artifacts {
    pub(crate) fn new(client: &HarborClient, project: String, repository: String) -> Self {
        Self {
            client: client.clone(),
            project,
            repository,
        }
    }

    /// Lists the artifacts with tags, labels and scan overviews.
    pub fn list(&self) -> List<op::ListArtifacts> {
        let request = op::ListArtifacts {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            with_tag: Some(true),
            with_label: Some(true),
            with_scan_overview: Some(true),
            ..Default::default()
        };
        List::new(&self.client, request)
    }

    /// One artifact by tag or digest, with the [default extras](ArtifactOptions).
    pub async fn get(&self, reference: &str) -> Result<Artifact, HarborError> {
        self.get_with(reference, ArtifactOptions::default()).await
    }

    /// One artifact by tag or digest, with chosen extras.
    pub async fn get_with(
        &self,
        reference: &str,
        options: ArtifactOptions,
    ) -> Result<Artifact, HarborError> {
        let request = op::GetArtifact {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            with_tag: Some(options.with_tag),
            with_label: Some(options.with_label),
            with_scan_overview: Some(options.with_scan_overview),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Deletes an artifact and all its tags.
    pub async fn delete(&self, reference: &str) -> Result<(), HarborError> {
        let request = op::DeleteArtifact {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Copies an artifact (with its tags and accessories) into this repository.
    pub async fn copy_from(&self, from: &PromoteSource) -> Result<(), HarborError> {
        let request = op::CopyArtifact {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            from: from.to_string(),
            ..Default::default()
        };
        self.client.call(&request).await.map(drop)
    }

    /// The tags of an artifact.
    pub fn tags(&self, reference: &str) -> List<op::ListTags> {
        let request = op::ListTags {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            ..Default::default()
        };
        List::new(&self.client, request)
    }

    /// Adds a tag to an artifact.
    pub async fn add_tag(&self, reference: &str, tag: &str) -> Result<(), HarborError> {
        let body = NewTag {
            name: tag.to_owned(),
            ..Default::default()
        };
        let request = op::CreateTag {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            body,
            ..Default::default()
        };
        self.client.call(&request).await.map(drop)
    }

    /// Removes a tag (the artifact stays).
    pub async fn delete_tag(&self, reference: &str, tag: &str) -> Result<(), HarborError> {
        let request = op::DeleteTag {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            tag_name: tag.to_owned(),
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Attaches a label by id.
    pub async fn add_label(&self, reference: &str, label_id: i64) -> Result<(), HarborError> {
        let body = Label {
            id: Some(label_id),
            ..Default::default()
        };
        let request = op::AddLabel {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            body,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// Starts a vulnerability scan (202; the result comes later).
    pub async fn scan(&self, reference: &str) -> Result<(), HarborError> {
        let body = Some(ScanType {
            scan_type: Some("vulnerability".to_owned()),
            ..Default::default()
        });
        let request = op::ScanArtifact {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            body,
            ..Default::default()
        };
        self.client.call(&request).await
    }

    /// The vulnerabilities addition: reports keyed by MIME type (the spec says string; Harbor
    /// sends an object).
    pub async fn vulnerabilities(
        &self,
        reference: &str,
    ) -> Result<VulnerabilityReports, HarborError> {
        let request = op::GetVulnerabilitiesAddition {
            project_name: self.project.clone(),
            repository_name: self.repository.clone(),
            reference: reference.to_owned(),
            ..Default::default()
        };
        let response = self.client.execute(&request).await?;
        VulnerabilityReports::from_addition(&response.value).map_err(|source| HarborError::Decode {
            operation: "getVulnerabilitiesAddition",
            request_id: Some(response.request_id.clone()),
            source: source.into(),
        })
    }

    /// The first vulnerability report with data, in trivy-report's Harbor model.
    pub async fn vulnerability_report(
        &self,
        reference: &str,
    ) -> Result<Option<HarborVulnerabilityReport>, HarborError> {
        let reports = self.vulnerabilities(reference).await?;
        let Some((_, report)) = reports.first() else {
            return Ok(None);
        };
        let report =
            serde_json::from_value(report.clone()).map_err(|source| HarborError::Decode {
                operation: "getVulnerabilitiesAddition",
                request_id: None,
                source: source.into(),
            })?;
        Ok(Some(report))
    }

    /// Promotes an artifact into this repository: copies it from `from` (tags and accessories
    /// come along), adds `tag` when given, and waits until the artifact answers under its new
    /// name. Returns the artifact as the destination sees it.
    pub async fn promote(
        &self,
        from: &PromoteSource,
        tag: Option<&str>,
        wait: WaitOptions,
    ) -> Result<Artifact, HarborError> {
        self.copy_from(from).await?;
        tracing::info!(%from, project = %self.project, repository = %self.repository, "copied artifact");
        let copied = self.wait_visible(&from.reference, wait).await?;
        let Some(tag) = tag else {
            return Ok(copied);
        };
        let digest = copied
            .digest
            .clone()
            .unwrap_or_else(|| from.reference.clone());
        self.add_tag(&digest, tag).await?;
        self.wait_visible(tag, wait).await
    }

    async fn wait_visible(
        &self,
        reference: &str,
        wait: WaitOptions,
    ) -> Result<Artifact, HarborError> {
        let mut backoff = Backoff::new(wait);
        loop {
            match self.get(reference).await {
                Ok(artifact) => return Ok(artifact),
                Err(error) if error.is_not_found() => {
                    backoff
                        .wait(|| {
                            format!("{}/{}:{reference} to appear", self.project, self.repository)
                        })
                        .await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Starts a scan and polls the artifact (`with_scan_overview=true`, backing off) until
    /// the scan ends in success, error or stopped, or the deadline passes.
    pub async fn scan_and_wait(
        &self,
        reference: &str,
        wait: WaitOptions,
    ) -> Result<ScanOutcome, HarborError> {
        let before = self.get(reference).await?;
        // Only a finished report counts as "the previous one": when a scan is already pending
        // or running (an auto-scan on push), the report it ends with is the one to wait for.
        let previous_report = latest_overview(&before)
            .filter(|(_, summary)| {
                ScanStatus::parse(summary.scan_status.as_deref().unwrap_or_default()).is_final()
            })
            .and_then(|(_, summary)| summary.report_id.clone());
        match self.scan(reference).await {
            Ok(()) => {}
            Err(error) if error.is_conflict() => tracing::debug!("a scan is already running"),
            Err(error) => return Err(error),
        }
        let mut backoff = Backoff::new(wait);
        loop {
            let artifact = self.get(reference).await?;
            if let Some((mime_type, summary)) = latest_overview(&artifact) {
                let status = ScanStatus::parse(summary.scan_status.as_deref().unwrap_or_default());
                let is_new = previous_report.is_none() || summary.report_id != previous_report;
                if is_new && status.is_final() {
                    tracing::info!(%status, reference, "scan finished");
                    return Ok(ScanOutcome {
                        mime_type: mime_type.to_owned(),
                        status,
                        summary: summary.clone(),
                    });
                }
            }
            backoff
                .wait(|| {
                    format!(
                        "the scan of {}/{}:{reference}",
                        self.project, self.repository
                    )
                })
                .await?;
        }
    }

    /// The tags of this artifact as the artifact answer lists them.
    pub fn tag_names(artifact: &Artifact) -> Vec<String> {
        artifact
            .tags
            .iter()
            .filter_map(|tag: &Tag| tag.name.clone())
            .collect()
    }
}

/// The scan overview entry of an artifact, preferring Harbor's native report type.
fn latest_overview(artifact: &Artifact) -> Option<(&str, &NativeReportSummary)> {
    let overview = artifact.scan_overview.as_ref()?;
    let native = overview
        .iter()
        .find(|(mime, _)| mime.starts_with("application/vnd.security.vulnerability.report"));
    native
        .or_else(|| overview.iter().next())
        .map(|(mime, summary)| (mime.as_str(), summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promote_sources_parse_tags_and_digests() {
        let tag: PromoteSource = "dev/team/app:v1".parse().unwrap();
        assert_eq!(
            (
                tag.project.as_str(),
                tag.repository.as_str(),
                tag.reference.as_str()
            ),
            ("dev", "team/app", "v1")
        );
        assert_eq!(tag.to_string(), "dev/team/app:v1");
        let digest: PromoteSource = "dev/app@sha256:abc".parse().unwrap();
        assert!(digest.is_digest());
        assert_eq!(digest.to_string(), "dev/app@sha256:abc");
        assert!("noproject:v1".parse::<PromoteSource>().is_err());
        assert!("dev/app".parse::<PromoteSource>().is_err());
    }
}
