//! Image references (`nginx:alpine`, `registry.example.com:5000/team/app@sha256:…`) parsed and
//! normalised the way `distribution/reference` does, plus token [`Scope`]s.
//!
//! Parsing follows `ParseNormalizedNamed` with the digest-only rejection of
//! `ParseAnyReference`:
//!
//! - the first `/`-separated component is a registry when it contains `.` or `:`, is
//!   `localhost`, or contains an uppercase letter; otherwise the registry is `docker.io`;
//! - a single-component name on `docker.io` gets the `library/` prefix;
//! - `index.docker.io` is written `docker.io` (whose API host is `registry-1.docker.io`);
//! - the repository is lowercase, at most 255 characters; a tag is at most 128 characters;
//! - a digest is `sha256` or `sha512` in lowercase hex of the right length;
//! - a bare 64-character hex identifier or a lone digest has no name and is rejected.
//!
//! One deliberate difference: `distribution/reference` accepts a first component such as
//! `my_host.com` (which contains `.` but is not a valid host) as part of the path of a
//! reference without a domain. Such a reference cannot be pulled, so it is rejected here with
//! [`ReferenceError::InvalidRegistry`].
//!
//! ```
//! use wharf_oci_core::reference::Reference;
//!
//! let reference: Reference = "nginx:alpine".parse().unwrap();
//! assert_eq!(reference.registry(), "docker.io");
//! assert_eq!(reference.api_host(), "registry-1.docker.io");
//! assert_eq!(reference.repository(), "library/nginx");
//! assert_eq!(reference.tag(), Some("alpine"));
//! assert_eq!(reference.to_string(), "docker.io/library/nginx:alpine");
//! assert_eq!(reference.familiar(), "nginx:alpine");
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{Digest, DigestError};

/// The registry a name without a registry component refers to.
pub const DOCKER_HUB_REGISTRY: &str = "docker.io";

/// The host that serves the registry API for [`DOCKER_HUB_REGISTRY`].
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The legacy spelling of Docker Hub that normalises to [`DOCKER_HUB_REGISTRY`].
pub const DOCKER_HUB_LEGACY_REGISTRY: &str = "index.docker.io";

/// The namespace of Docker Hub's official images, added to single-component names.
const OFFICIAL_NAMESPACE: &str = "library/";

/// The longest repository name (the path after the registry).
pub const MAX_REPOSITORY_LEN: usize = 255;

/// The longest tag.
pub const MAX_TAG_LEN: usize = 128;

/// Building blocks of the grammar. The host and path patterns mirror the reference grammar
/// of the distribution project; `[A-Za-z0-9_]` spells out Go's ASCII `\w`.
mod grammar {
    pub const ALPHANUMERIC: &str = "[a-z0-9]+";
    pub const SEPARATOR: &str = "(?:[._]|__|[-]+)";
    pub const DOMAIN_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    pub const IPV6: &str = r"\[(?:[a-fA-F0-9:]+)\]";
    pub const PORT: &str = "(?::[0-9]+)?";
    pub const TAG: &str = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    pub const DIGEST: &str =
        "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";

    pub fn path_component() -> String {
        format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*")
    }

    pub fn remote_name() -> String {
        let component = path_component();
        format!("{component}(?:/{component})*")
    }

    pub fn domain_and_port() -> String {
        let domain_name = format!(r"{DOMAIN_COMPONENT}(?:\.{DOMAIN_COMPONENT})*");
        format!("(?:{domain_name}|{IPV6}){PORT}")
    }

    pub fn name() -> String {
        format!("(?:{}/)?{}", domain_and_port(), remote_name())
    }
}

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the reference grammar compiles")
}

/// The whole reference: name, optional tag, optional digest.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        "^({})(?::({}))?(?:@({}))?$",
        grammar::name(),
        grammar::TAG,
        grammar::DIGEST
    );
    compile(&pattern)
});

/// A name split into its optional domain and its path.
static ANCHORED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        "^(?:({})/)?({})$",
        grammar::domain_and_port(),
        grammar::remote_name()
    );
    compile(&pattern)
});

static ANCHORED_REMOTE_NAME: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!("^{}$", grammar::remote_name())));

static ANCHORED_TAG: LazyLock<Regex> = LazyLock::new(|| compile(&format!("^{}$", grammar::TAG)));

static ANCHORED_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| compile("^[a-f0-9]{64}$"));

/// Why a string is not a valid reference, repository name, tag or scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The input is empty.
    #[error("reference is empty")]
    Empty,
    /// The input does not follow the reference grammar.
    #[error("invalid reference format `{input}`")]
    InvalidFormat {
        /// The rejected input.
        input: String,
    },
    /// The repository part contains uppercase letters.
    #[error("repository name `{repository}` must be lowercase")]
    Uppercase {
        /// The offending repository part.
        repository: String,
    },
    /// The repository is longer than [`MAX_REPOSITORY_LEN`].
    #[error("repository name has {length} characters, more than {MAX_REPOSITORY_LEN}")]
    NameTooLong {
        /// The repository's length.
        length: usize,
    },
    /// The input is a digest or a 64-character image id without a repository name.
    #[error("reference `{input}` has no repository name")]
    MissingName {
        /// The rejected input.
        input: String,
    },
    /// The first component looks like a registry but is not a valid host.
    #[error("invalid registry host `{registry}`")]
    InvalidRegistry {
        /// The rejected registry component.
        registry: String,
    },
    /// A tag does not match `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    #[error("invalid tag `{tag}`")]
    InvalidTag {
        /// The rejected tag.
        tag: String,
    },
    /// The digest part is not a supported, well-formed digest.
    #[error("invalid digest in reference")]
    InvalidDigest {
        /// Why the digest was rejected.
        #[source]
        source: DigestError,
    },
    /// A token scope string is not `type:name:actions`.
    #[error("invalid scope `{input}`")]
    InvalidScope {
        /// The rejected input.
        input: String,
    },
}

/// A validated repository path such as `library/nginx` (without the registry).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

impl RepositoryName {
    /// Validates a repository path: lowercase components separated by `/`, at most 255
    /// characters. No `docker.io` normalisation happens here.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }

        if !ANCHORED_REMOTE_NAME.is_match(input) {
            return Err(
                if ANCHORED_REMOTE_NAME.is_match(&input.to_ascii_lowercase()) {
                    ReferenceError::Uppercase {
                        repository: input.to_owned(),
                    }
                } else {
                    ReferenceError::InvalidFormat {
                        input: input.to_owned(),
                    }
                },
            );
        }

        if input.len() > MAX_REPOSITORY_LEN {
            return Err(ReferenceError::NameTooLong {
                length: input.len(),
            });
        }

        Ok(Self(input.to_owned()))
    }

    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepositoryName({})", self.0)
    }
}

impl FromStr for RepositoryName {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for RepositoryName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A normalised, fully qualified image reference: registry, repository, and an optional tag
/// and digest.
///
/// `Display` prints the canonical form (`docker.io/library/nginx:alpine`), which parses back to
/// an equal value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: RepositoryName,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference as `docker pull` would read it.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }

        if ANCHORED_IDENTIFIER.is_match(input) || Digest::parse(input).is_ok() {
            return Err(ReferenceError::MissingName {
                input: input.to_owned(),
            });
        }

        let (registry, remainder) = split_registry(input);
        check_lowercase_repository(&remainder)?;

        let qualified = format!("{registry}/{remainder}");
        let Some(parts) = REFERENCE.captures(&qualified) else {
            return Err(classify_mismatch(input, &qualified));
        };

        let name = parts.get(1).map_or("", |m| m.as_str());
        let (registry, path) = split_name(name)?;
        if path.len() > MAX_REPOSITORY_LEN {
            return Err(ReferenceError::NameTooLong { length: path.len() });
        }

        let digest = parts
            .get(3)
            .map(|m| Digest::parse(m.as_str()))
            .transpose()
            .map_err(|source| ReferenceError::InvalidDigest { source })?;

        Ok(Self {
            registry: registry.to_owned(),
            repository: RepositoryName(path.to_owned()),
            tag: parts.get(2).map(|m| m.as_str().to_owned()),
            digest,
        })
    }

    /// A reference to `repository` on `registry`, without tag or digest.
    ///
    /// The registry is normalised (`index.docker.io` becomes `docker.io`) but must be a valid
    /// host that reads as one (contains `.` or `:`, or is `localhost`), so that the result
    /// prints in a form that parses back; no `library/` prefix is added.
    pub fn from_parts(registry: &str, repository: RepositoryName) -> Result<Self, ReferenceError> {
        let registry = if registry == DOCKER_HUB_LEGACY_REGISTRY {
            DOCKER_HUB_REGISTRY
        } else {
            registry
        };
        let qualified = format!("{registry}/{repository}");
        let (parsed_registry, path) = split_name(&qualified)?;
        if !reads_as_registry(registry)
            || parsed_registry != registry
            || path != repository.as_str()
        {
            return Err(ReferenceError::InvalidRegistry {
                registry: registry.to_owned(),
            });
        }

        Ok(Self {
            registry: registry.to_owned(),
            repository,
            tag: None,
            digest: None,
        })
    }

    /// The normalised registry, e.g. `docker.io` or `localhost:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host (with port) that serves the registry API: `registry-1.docker.io` for
    /// `docker.io`, otherwise the registry itself.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB_REGISTRY {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// The repository path, e.g. `library/nginx`.
    pub fn repository(&self) -> &str {
        self.repository.as_str()
    }

    /// The repository path as a validated name.
    pub fn repository_name(&self) -> &RepositoryName {
        &self.repository
    }

    /// The tag, if one was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if one was given.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to put after `/manifests/` in a request: the digest when there is one (it pins
    /// the content), else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.as_str(),
            (None, Some(tag)) => tag,
            (None, None) => "latest",
        }
    }

    /// The same repository with `tag`, keeping any digest.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        if !ANCHORED_TAG.is_match(tag) {
            return Err(ReferenceError::InvalidTag {
                tag: tag.to_owned(),
            });
        }

        Ok(Self {
            tag: Some(tag.to_owned()),
            ..self.clone()
        })
    }

    /// The same repository with `digest`, keeping any tag.
    #[must_use]
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The repository alone, without tag or digest.
    #[must_use]
    pub fn repository_reference(&self) -> Self {
        Self {
            tag: None,
            digest: None,
            ..self.clone()
        }
    }

    /// The registry and repository, e.g. `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Docker's short form: `nginx:alpine` for `docker.io/library/nginx:alpine`,
    /// `team/app` for `docker.io/team/app`; other registries stay fully qualified.
    ///
    /// Unlike Docker, a Docker Hub path whose first component would read as a registry
    /// (`docker.io/my.org/app`) keeps its `docker.io/` so the short form parses back.
    pub fn familiar(&self) -> String {
        let mut text = self.familiar_name();
        self.write_suffix(&mut text);
        text
    }

    fn familiar_name(&self) -> String {
        if self.registry != DOCKER_HUB_REGISTRY {
            return self.name();
        }

        let path = self.repository.as_str();
        match path.strip_prefix(OFFICIAL_NAMESPACE) {
            Some(short) if !short.contains('/') => short.to_owned(),
            _ if path
                .split_once('/')
                .is_some_and(|(first, _)| reads_as_registry(first)) =>
            {
                self.name()
            }
            _ => path.to_owned(),
        }
    }

    fn write_suffix(&self, text: &mut String) {
        if let Some(tag) = &self.tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            text.push('@');
            text.push_str(digest.as_str());
        }
    }
}

/// Splits off the registry like Docker does: the first component is a registry when it
/// contains `.` or `:`, is `localhost`, or is not lowercase. Returns the normalised registry
/// and the rest, with `library/` added to single-component Docker Hub names.
fn split_registry(input: &str) -> (&str, String) {
    let Some((first, rest)) = input.split_once('/') else {
        return (DOCKER_HUB_REGISTRY, format!("{OFFICIAL_NAMESPACE}{input}"));
    };

    let (registry, remainder) = if first == DOCKER_HUB_LEGACY_REGISTRY {
        (DOCKER_HUB_REGISTRY, rest)
    } else if reads_as_registry(first) {
        (first, rest)
    } else {
        (DOCKER_HUB_REGISTRY, input)
    };

    if registry == DOCKER_HUB_REGISTRY && !remainder.contains('/') {
        return (registry, format!("{OFFICIAL_NAMESPACE}{remainder}"));
    }
    (registry, remainder.to_owned())
}

/// Whether Docker reads `component`, as the first of several, as a registry.
fn reads_as_registry(component: &str) -> bool {
    component == "localhost"
        || component.contains(['.', ':'])
        || component.to_ascii_lowercase() != component
}

/// Rejects uppercase in the part before the first `:` (the repository), as Docker does
/// before matching the grammar.
fn check_lowercase_repository(remainder: &str) -> Result<(), ReferenceError> {
    let repository = remainder.split(':').next().unwrap_or_default();
    if repository.to_ascii_lowercase() == repository {
        return Ok(());
    }
    Err(ReferenceError::Uppercase {
        repository: repository.to_owned(),
    })
}

fn classify_mismatch(input: &str, qualified: &str) -> ReferenceError {
    let lowered = qualified.to_ascii_lowercase();
    if lowered != qualified && REFERENCE.is_match(&lowered) {
        return ReferenceError::Uppercase {
            repository: input.to_owned(),
        };
    }
    ReferenceError::InvalidFormat {
        input: input.to_owned(),
    }
}

/// Splits a qualified name into registry and path with the grammar; a name whose first
/// component is not a valid host has no registry and is rejected.
fn split_name(name: &str) -> Result<(&str, &str), ReferenceError> {
    let registry_of = |name: &str| name.split('/').next().unwrap_or_default().to_owned();
    let parts = ANCHORED_NAME
        .captures(name)
        .ok_or_else(|| ReferenceError::InvalidRegistry {
            registry: registry_of(name),
        })?;

    match (parts.get(1), parts.get(2)) {
        (Some(registry), Some(path)) => Ok((registry.as_str(), path.as_str())),
        _ => Err(ReferenceError::InvalidRegistry {
            registry: registry_of(name),
        }),
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.name();
        self.write_suffix(&mut text);
        f.write_str(&text)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An action a token scope grants on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Action {
    /// `pull`: read manifests and blobs.
    Pull,
    /// `push`: write manifests and blobs.
    Push,
    /// `delete`: delete manifests and blobs.
    Delete,
    /// `*`: every action.
    All,
    /// Any other action a registry defines.
    Other(String),
}

impl Action {
    fn parse(text: &str) -> Self {
        match text {
            "pull" => Self::Pull,
            "push" => Self::Push,
            "delete" => Self::Delete,
            "*" => Self::All,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The action as written in a scope string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
            Self::All => "*",
            Self::Other(other) => other,
        }
    }
}

/// A token scope such as `repository:library/nginx:pull,push` or `registry:catalog:*`.
///
/// Actions are kept sorted and deduplicated, so equal scopes print equally and can key a
/// token cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    resource_type: String,
    name: String,
    actions: BTreeSet<Action>,
}

impl Scope {
    /// A `repository:<name>:<actions>` scope.
    pub fn repository(name: &RepositoryName, actions: impl IntoIterator<Item = Action>) -> Self {
        Self {
            resource_type: "repository".to_owned(),
            name: name.as_str().to_owned(),
            actions: actions.into_iter().collect(),
        }
    }

    /// The `registry:catalog:*` scope that `/v2/_catalog` needs.
    pub fn catalog() -> Self {
        Self {
            resource_type: "registry".to_owned(),
            name: "catalog".to_owned(),
            actions: BTreeSet::from([Action::All]),
        }
    }

    /// Parses `type:name:action[,action…]`. The name may contain `:` (a registry port); the
    /// type ends at the first `:` and the actions start after the last.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let invalid = || ReferenceError::InvalidScope {
            input: input.to_owned(),
        };
        let (resource_type, rest) = input.split_once(':').ok_or_else(invalid)?;
        let (name, actions) = rest.rsplit_once(':').ok_or_else(invalid)?;
        if resource_type.is_empty() || name.is_empty() || input.contains(char::is_whitespace) {
            return Err(invalid());
        }

        let actions = actions
            .split(',')
            .filter(|action| !action.is_empty())
            .map(Action::parse)
            .collect();
        Ok(Self {
            resource_type: resource_type.to_owned(),
            name: name.to_owned(),
            actions,
        })
    }

    /// The resource type, e.g. `repository`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The resource name, e.g. `library/nginx`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The granted actions, sorted.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter()
    }

    /// Whether this scope grants at least everything `other` asks for on the same resource.
    pub fn covers(&self, other: &Scope) -> bool {
        self.resource_type == other.resource_type
            && self.name == other.name
            && (self.actions.contains(&Action::All) || other.actions.is_subset(&self.actions))
    }

    /// Adds the actions of `other` when it names the same resource; returns whether it did.
    pub fn merge(&mut self, other: &Scope) -> bool {
        if self.resource_type != other.resource_type || self.name != other.name {
            return false;
        }
        self.actions.extend(other.actions.iter().cloned());
        true
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.resource_type, self.name)?;
        for (index, action) in self.actions.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(action.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests;
