//! Which Harbor reference an ECR image becomes.
//!
//! A mapping names, per ECR registry (account and region), the Harbor host, the Harbor project
//! for each repository prefix, an optional default project, and optional rename rules. For an
//! image `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`:
//!
//! 1. the registry rule for the account and region gives the Harbor host;
//! 2. the first rename rule whose pattern matches the repository rewrites it (regular
//!    expression replacement, `$1` for groups);
//! 3. the project rule with the longest matching prefix (whole path components) gives the
//!    project, and the rest of the path follows it: prefix `team-a` to project `alpha` turns
//!    `team-a/api` into `alpha/api`; a repository equal to the prefix keeps its last component
//!    (`team-a` becomes `alpha/team-a`);
//! 4. without a matching prefix, `default_project` is put in front of the whole path;
//!    without one either, the image has no mapping.
//!
//! Tags and digests are kept.
//!
//! ```
//! use wharf_ecr_compat::{mapping::Mapping, uri::EcrImage};
//!
//! let mapping = Mapping::from_toml(r#"
//!     [[registries]]
//!     account = "123456789012"
//!     region = "eu-west-1"
//!     harbor = "harbor.example.com"
//!     default_project = "legacy"
//!
//!     [[registries.projects]]
//!     prefix = "team-a"
//!     project = "alpha"
//!
//!     [[registries.rename]]
//!     pattern = "^old-name$"
//!     replacement = "team-a/new-name"
//! "#).unwrap();
//!
//! let image = EcrImage::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/old-name:3").unwrap();
//! assert_eq!(mapping.map(&image).unwrap().to_string(), "harbor.example.com/alpha/new-name:3");
//! ```

use std::fmt;

use regex::Regex;
use serde::Deserialize;
use wharf_oci_core::reference::Reference;

use crate::error::EcrError;
use crate::uri::EcrImage;

/// The mapping as written in TOML (or any serde format).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MappingConfig {
    /// One entry per ECR registry (account and region).
    #[serde(default)]
    pub registries: Vec<RegistryRuleConfig>,
}

/// Where the images of one ECR registry go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RegistryRuleConfig {
    /// The 12-digit account id.
    pub account: String,
    /// The region, e.g. `eu-west-1`.
    pub region: String,
    /// The Harbor host (with port if any), e.g. `harbor.example.com`.
    pub harbor: String,
    /// Project for repositories that match no prefix; none means they stay unmapped.
    #[serde(default)]
    pub default_project: Option<String>,
    /// Repository prefix to project rules.
    #[serde(default)]
    pub projects: Vec<ProjectRuleConfig>,
    /// Rename rules, tried in order before the project rules.
    #[serde(default)]
    pub rename: Vec<RenameRuleConfig>,
}

/// A repository prefix and the Harbor project it goes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProjectRuleConfig {
    /// Whole leading path components, e.g. `team-a` or `platform/base`.
    pub prefix: String,
    /// The Harbor project.
    pub project: String,
}

/// A rename rule: a regular expression over the ECR repository and its replacement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RenameRuleConfig {
    /// Regular expression matched against the repository.
    pub pattern: String,
    /// Replacement, with `$1`-style group references.
    pub replacement: String,
}

/// A validated mapping, ready to map images.
#[derive(Debug, Clone)]
pub struct Mapping {
    registries: Vec<RegistryRule>,
}

#[derive(Debug, Clone)]
struct RegistryRule {
    account: String,
    region: String,
    harbor: String,
    default_project: Option<String>,
    projects: Vec<ProjectRuleConfig>,
    rename: Vec<(Regex, String)>,
}

/// Why an image has no Harbor reference.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmapped {
    /// No registry rule for the image's account and region.
    NoRegistryRule {
        /// The account.
        account: String,
        /// The region.
        region: String,
    },
    /// No project prefix matches and there is no default project.
    NoProjectRule {
        /// The repository after renaming.
        repository: String,
    },
    /// The mapped name is not a valid reference (e.g. an upper-case project).
    InvalidTarget {
        /// The text that failed to parse.
        target: String,
    },
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRegistryRule { account, region } => {
                write!(f, "no registry rule for account {account} in {region}")
            }
            Self::NoProjectRule { repository } => {
                write!(f, "no project rule matches repository {repository}")
            }
            Self::InvalidTarget { target } => {
                write!(f, "mapped name {target} is not a valid reference")
            }
        }
    }
}

impl Mapping {
    /// Reads and validates a TOML mapping.
    pub fn from_toml(text: &str) -> Result<Self, EcrError> {
        let config: MappingConfig =
            toml::from_str(text).map_err(|source| EcrError::InvalidMapping {
                reason: "the TOML does not describe a mapping".to_owned(),
                source: Some(Box::new(source)),
            })?;
        Self::new(config)
    }

    /// Validates a mapping configuration (compiles the rename patterns, checks names).
    pub fn new(config: MappingConfig) -> Result<Self, EcrError> {
        let registries = config
            .registries
            .into_iter()
            .map(RegistryRule::new)
            .collect::<Result<_, _>>()?;
        Ok(Self { registries })
    }

    /// The Harbor reference for `image`, keeping its tag and digest.
    pub fn map(&self, image: &EcrImage) -> Result<Reference, Unmapped> {
        let registry = image.registry();
        let rule = self
            .registries
            .iter()
            .find(|rule| rule.account == registry.account() && rule.region == registry.region())
            .ok_or_else(|| Unmapped::NoRegistryRule {
                account: registry.account().to_owned(),
                region: registry.region().to_owned(),
            })?;
        let repository = rule.rename(image.repository());
        let path = rule.harbor_path(&repository)?;
        rule.reference(&path, image)
    }
}

impl RegistryRule {
    fn new(config: RegistryRuleConfig) -> Result<Self, EcrError> {
        let invalid = |reason: String| EcrError::InvalidMapping {
            reason,
            source: None,
        };
        if config.harbor.trim().is_empty() {
            return Err(invalid(format!(
                "registry {} {} has an empty harbor host",
                config.account, config.region
            )));
        }
        for project in config
            .projects
            .iter()
            .map(|p| &p.project)
            .chain(&config.default_project)
        {
            if project.is_empty() || project.contains('/') {
                return Err(invalid(format!(
                    "project {project:?} must be one non-empty path component"
                )));
            }
        }
        let rename = config
            .rename
            .into_iter()
            .map(|rule| {
                Regex::new(&rule.pattern)
                    .map(|regex| (regex, rule.replacement))
                    .map_err(|source| EcrError::InvalidMapping {
                        reason: format!("rename pattern {:?} does not compile", rule.pattern),
                        source: Some(Box::new(source)),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            account: config.account,
            region: config.region,
            harbor: config.harbor.trim().to_owned(),
            default_project: config.default_project,
            projects: config.projects,
            rename,
        })
    }

    fn rename(&self, repository: &str) -> String {
        self.rename
            .iter()
            .find(|(pattern, _)| pattern.is_match(repository))
            .map_or_else(
                || repository.to_owned(),
                |(pattern, replacement)| {
                    pattern
                        .replace(repository, replacement.as_str())
                        .into_owned()
                },
            )
    }

    fn harbor_path(&self, repository: &str) -> Result<String, Unmapped> {
        let best = self
            .projects
            .iter()
            .filter_map(|rule| {
                let prefix = rule.prefix.trim_matches('/');
                let rest = strip_components(repository, prefix)?;
                Some((prefix.len(), rule, prefix, rest))
            })
            .max_by_key(|(length, ..)| *length);
        match (best, &self.default_project) {
            (Some((_, rule, prefix, rest)), _) => {
                let rest = if rest.is_empty() {
                    prefix.rsplit('/').next().unwrap_or(prefix)
                } else {
                    rest
                };
                Ok(format!("{}/{rest}", rule.project))
            }
            (None, Some(project)) => Ok(format!("{project}/{repository}")),
            (None, None) => Err(Unmapped::NoProjectRule {
                repository: repository.to_owned(),
            }),
        }
    }

    fn reference(&self, path: &str, image: &EcrImage) -> Result<Reference, Unmapped> {
        let target = format!("{}/{path}", self.harbor);
        let invalid = || Unmapped::InvalidTarget {
            target: target.clone(),
        };
        let mut reference = Reference::parse(&target).map_err(|_| invalid())?;
        if reference.registry() != self.harbor {
            return Err(invalid());
        }
        if let Some(tag) = image.tag() {
            reference = reference.with_tag(tag).map_err(|_| invalid())?;
        }
        if let Some(digest) = image.digest() {
            reference = reference.with_digest(digest.clone());
        }
        Ok(reference)
    }
}

/// The rest of `repository` after the whole components of `prefix`, or `None`.
fn strip_components<'a>(repository: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(repository);
    }
    let rest = repository.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
        [[registries]]
        account = "111111111111"
        region = "eu-west-1"
        harbor = "harbor.example.com"

        [[registries.projects]]
        prefix = "team-a"
        project = "alpha"

        [[registries.projects]]
        prefix = "team-a/ml/"
        project = "ml"

        [[registries]]
        account = "222222222222"
        region = "us-east-1"
        harbor = "harbor-us.example.com:8443"
        default_project = "imported"

        [[registries.rename]]
        pattern = "^legacy-(.+)$"
        replacement = "apps/$1"
    "#;

    fn map(uri: &str) -> Result<String, Unmapped> {
        let mapping = Mapping::from_toml(CONFIG).unwrap();
        mapping
            .map(&EcrImage::parse(uri).unwrap())
            .map(|r| r.to_string())
    }

    #[test]
    fn longest_prefix_wins_on_whole_components() {
        let host = "111111111111.dkr.ecr.eu-west-1.amazonaws.com";
        assert_eq!(
            map(&format!("{host}/team-a/api:1")).unwrap(),
            "harbor.example.com/alpha/api:1"
        );
        assert_eq!(
            map(&format!("{host}/team-a/ml/train:2")).unwrap(),
            "harbor.example.com/ml/train:2"
        );
        assert_eq!(
            map(&format!("{host}/team-a:3")).unwrap(),
            "harbor.example.com/alpha/team-a:3"
        );
        assert_eq!(
            map(&format!("{host}/team-ab/api:1")),
            Err(Unmapped::NoProjectRule {
                repository: "team-ab/api".into()
            })
        );
    }

    #[test]
    fn default_project_rename_and_digest() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let uri = format!("222222222222.dkr-ecr.us-east-1.on.aws/legacy-web:9@{digest}");
        assert_eq!(
            map(&uri).unwrap(),
            format!("harbor-us.example.com:8443/imported/apps/web:9@{digest}")
        );
        assert_eq!(
            map("333333333333.dkr.ecr.us-east-1.amazonaws.com/x"),
            Err(Unmapped::NoRegistryRule {
                account: "333333333333".into(),
                region: "us-east-1".into()
            })
        );
    }

    #[test]
    fn rejects_bad_configuration() {
        let bad_pattern = CONFIG.replace("^legacy-(.+)$", "(");
        assert!(matches!(
            Mapping::from_toml(&bad_pattern),
            Err(EcrError::InvalidMapping { .. })
        ));
        let bad_project = CONFIG.replace("project = \"ml\"", "project = \"a/b\"");
        assert!(Mapping::from_toml(&bad_project).is_err());
        assert!(Mapping::from_toml("[[registries]]\naccount = 1").is_err());
    }
}
