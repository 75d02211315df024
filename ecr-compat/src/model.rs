//! What the enumeration returns: plain data converted from the SDK's types.

use std::time::SystemTime;

use regex::Regex;
use wharf_oci_core::digest::Digest;

use crate::error::EcrError;

/// An ECR repository.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repository {
    /// The repository name, e.g. `team/api`.
    pub name: String,
    /// The image URI without tag, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api`.
    pub uri: Option<String>,
    /// The account (registry id) that owns it.
    pub registry_id: Option<String>,
    /// The repository ARN.
    pub arn: Option<String>,
    /// When it was created.
    pub created_at: Option<SystemTime>,
}

/// One image of a repository as `DescribeImages` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageDetail {
    /// The repository the image lives in.
    pub repository: String,
    /// The manifest digest.
    pub digest: Digest,
    /// Its tags; empty for an untagged image.
    pub tags: Vec<String>,
    /// The manifest media type, e.g. `application/vnd.oci.image.manifest.v1+json`.
    pub manifest_media_type: Option<String>,
    /// The artifact (config) media type.
    pub artifact_media_type: Option<String>,
    /// The size ECR reports (compressed layers), in bytes.
    pub size_bytes: Option<u64>,
    /// When the image was pushed.
    pub pushed_at: Option<SystemTime>,
}

/// An image named by digest, by tag, or both, as `ListImages` returns them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ImageId {
    /// The manifest digest, when known.
    pub digest: Option<Digest>,
    /// The tag, when the id names one.
    pub tag: Option<String>,
}

impl ImageId {
    /// An id naming a tag.
    pub fn tag(tag: impl Into<String>) -> Self {
        Self {
            digest: None,
            tag: Some(tag.into()),
        }
    }

    /// An id naming a digest.
    pub fn digest(digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            tag: None,
        }
    }

    /// The tag or the digest, for messages.
    pub fn describe(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => format!(":{tag}"),
            (None, Some(digest)) => format!("@{digest}"),
            (None, None) => "<empty image id>".to_owned(),
        }
    }
}

/// A manifest fetched with `BatchGetImage`, byte for byte as ECR stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageManifest {
    /// The repository.
    pub repository: String,
    /// The image the manifest belongs to (ECR fills in both digest and tag when it can).
    pub id: ImageId,
    /// The manifest media type.
    pub media_type: Option<String>,
    /// The manifest itself; push these exact bytes, never a re-serialisation.
    pub manifest: String,
}

/// Which images `ListImages` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TagStatus {
    /// Every image (the default).
    #[default]
    Any,
    /// Only images with at least one tag.
    Tagged,
    /// Only images without tags.
    Untagged,
}

/// Which repositories to enumerate. The filter runs on the client side over ECR's full list.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum RepositoryFilter {
    /// Every repository (the default).
    #[default]
    All,
    /// Names starting with a prefix, e.g. `team-a/`.
    Prefix(String),
    /// Names matching a regular expression (unanchored, like `grep`).
    Pattern(Regex),
}

impl RepositoryFilter {
    /// A filter for names starting with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self::Prefix(prefix.into())
    }

    /// A filter for names matching `pattern`.
    pub fn pattern(pattern: &str) -> Result<Self, EcrError> {
        Regex::new(pattern)
            .map(Self::Pattern)
            .map_err(|source| EcrError::InvalidPattern {
                pattern: pattern.to_owned(),
                source,
            })
    }

    /// True when `name` passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Prefix(prefix) => name.starts_with(prefix.as_str()),
            Self::Pattern(pattern) => pattern.is_match(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_prefix_and_pattern() {
        assert!(RepositoryFilter::All.matches("x"));
        let prefix = RepositoryFilter::prefix("team-a/");
        assert!(prefix.matches("team-a/api"));
        assert!(!prefix.matches("team-b/api"));
        let pattern = RepositoryFilter::pattern("^(web|api)-").unwrap();
        assert!(pattern.matches("api-gateway"));
        assert!(!pattern.matches("team/api-gateway"));
        assert!(RepositoryFilter::pattern("(").is_err());
    }
}
