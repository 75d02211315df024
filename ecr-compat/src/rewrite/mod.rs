//! Rewriting ECR references to Harbor references inside files, keeping everything else.
//!
//! Rewriting works on the text, not on a parsed document: only the bytes of each reference
//! change, so comments, quoting, key order, anchors and blank lines stay as they were. What
//! is recognised:
//!
//! - **YAML** (Kubernetes manifests, Helm values, Compose files; any number of `---`
//!   documents): every `image:` value on one line (containers, init containers, CronJob job
//!   templates, Compose services, Helm `image: "<uri>"`), plain or quoted. Helm-style split
//!   fields in one mapping: `repository: <full ECR URI>` (with an optional sibling `tag:`), and
//!   `registry: <ECR host>` with a sibling `repository: <path>` (and optional `tag:`). Flow
//!   mappings (`{image: ...}`), block scalars and values spread over several lines are not read.
//! - **Dockerfiles**: `FROM [--platform=...] <image> [AS <stage>]` (a `FROM` naming an earlier
//!   stage is left alone), `COPY --from=<image>`, `RUN --mount=...,from=<image>` and
//!   `ARG NAME=<image>` defaults. References built from `${VARIABLES}` are not resolved.
//!
//! A reference into ECR without a mapping is left as it is and reported. With a
//! [`DigestResolver`], mapped references are pinned: a whole reference becomes
//! `host/project/repo:tag@sha256:...`; in Helm split fields the `tag:` value becomes
//! `tag@sha256:...` (which charts joining `repository:tag` turn into a pinned reference), and a
//! split reference without a `tag:` field is reported as not pinned.

mod diff;
mod dockerfile;
mod scalar;
mod yaml;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use wharf_oci_core::credentials::BoxFuture;
use wharf_oci_core::digest::Digest;
use wharf_oci_core::reference::Reference;

pub use diff::unified_diff;

use crate::client::EcrClient;
use crate::error::EcrError;
use crate::mapping::{Mapping, Unmapped};
use crate::uri::EcrImage;

/// The kind of file being rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// Kubernetes manifests, Helm values or Compose files.
    Yaml,
    /// A Dockerfile or Containerfile.
    Dockerfile,
}

impl FileKind {
    /// Guesses the kind from a file name: `*.yaml`, `*.yml` are YAML; `Dockerfile`,
    /// `Containerfile`, `Dockerfile.*`, `*.Dockerfile` and `*.dockerfile` are Dockerfiles.
    pub fn detect(path: &Path) -> Option<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if extension.eq_ignore_ascii_case("yaml") || extension.eq_ignore_ascii_case("yml") {
            return Some(Self::Yaml);
        }
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let dockerfile = name == "dockerfile"
            || name == "containerfile"
            || name.starts_with("dockerfile.")
            || name.starts_with("containerfile.")
            || name.ends_with(".dockerfile");
        dockerfile.then_some(Self::Dockerfile)
    }
}

/// Looks up the digest a tag currently points to, for pinning.
pub trait DigestResolver: Send + Sync {
    /// The manifest digest of `image` (which has a tag and no digest).
    fn resolve<'a>(&'a self, image: &'a EcrImage) -> BoxFuture<'a, Result<Digest, EcrError>>;
}

impl DigestResolver for EcrClient {
    /// Resolves with `DescribeImages` in the image's account; the image must be in the
    /// client's region.
    fn resolve<'a>(&'a self, image: &'a EcrImage) -> BoxFuture<'a, Result<Digest, EcrError>> {
        Box::pin(async move {
            let unresolvable = |reason: &str| EcrError::Resolve {
                reference: image.to_string(),
                source: reason.into(),
            };
            if image.registry().region() != self.region() {
                return Err(unresolvable(
                    "the image is in another region than the client",
                ));
            }
            let tag = image
                .tag()
                .ok_or_else(|| unresolvable("the reference has no tag"))?;
            self.digest_of_tag(Some(image.registry().account()), image.repository(), tag)
                .await
        })
    }
}

/// A byte range of the text holding (part of) a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// Where the parts of one reference are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slots {
    /// The whole reference in one value.
    Whole(Span),
    /// Helm-style fields: an optional registry host, the repository (with the host when there
    /// is no registry field) and an optional tag.
    Split {
        registry: Option<Span>,
        repository: Span,
        tag: Option<Span>,
    },
}

/// One ECR reference found in a file.
#[derive(Debug, Clone)]
pub(crate) struct Occurrence {
    pub line: usize,
    pub image: EcrImage,
    pub slots: Slots,
    /// False when the tag is a variable (`repo:${TAG}`): the name is mapped, nothing pinned.
    pub pinnable: bool,
}

/// The ECR reference in the value at `span`: the whole value, the default of
/// `${VAR:-default}` / `${VAR-default}`, or the name before a variable tag (`repo:${TAG}`).
pub(crate) fn locate(text: &str, span: Span) -> Option<(EcrImage, Span, bool)> {
    let value = &text[span.start..span.end];
    if let Ok(image) = EcrImage::parse(value) {
        return Some((image, span, true));
    }
    if let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        let default_at = inner
            .find(":-")
            .map(|i| i + 2)
            .or_else(|| inner.find('-').map(|i| i + 1))?;
        let start = span.start + 2 + default_at;
        return locate(
            text,
            Span {
                start,
                end: span.end - 1,
            },
        );
    }
    let tag_at = value
        .rfind(':')
        .filter(|&colon| !value[colon..].contains('/') && value[colon + 1..].starts_with('$'))?;
    let name = Span {
        start: span.start,
        end: span.start + tag_at,
    };
    let image = EcrImage::parse(&text[name.start..name.end]).ok()?;
    Some((image, name, false))
}

/// A reference that was rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// 1-based line of the reference (of its first field for split references).
    pub line: usize,
    /// The ECR reference.
    pub from: String,
    /// The Harbor reference it became.
    pub to: String,
}

/// An ECR reference left as it was because the mapping has no target for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnmappedReference {
    /// 1-based line.
    pub line: usize,
    /// The ECR reference.
    pub reference: String,
    /// Why it has no mapping.
    pub reason: Unmapped,
}

/// A reference that was mapped but could not be pinned to a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unpinned {
    /// 1-based line.
    pub line: usize,
    /// The ECR reference.
    pub reference: String,
    /// Why it was not pinned.
    pub reason: String,
}

/// The result of rewriting one file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rewrite {
    /// The text before.
    pub original: String,
    /// The text after.
    pub text: String,
    /// Every reference that changed.
    pub changes: Vec<Change>,
    /// ECR references without a mapping (left unchanged).
    pub unmapped: Vec<UnmappedReference>,
    /// References mapped but not pinned although pinning was asked for.
    pub unpinned: Vec<Unpinned>,
}

impl Rewrite {
    /// True when the text changed.
    pub fn is_changed(&self) -> bool {
        self.original != self.text
    }

    /// A unified diff of the change for review, with `path` in the headers.
    pub fn diff(&self, path: &str) -> String {
        unified_diff(&self.original, &self.text, path)
    }
}

/// Rewrites ECR references to Harbor through a [`Mapping`].
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use wharf_ecr_compat::{mapping::Mapping, rewrite::{FileKind, Rewriter}};
///
/// let mapping = Mapping::from_toml(r#"
///     [[registries]]
///     account = "123456789012"
///     region = "eu-west-1"
///     harbor = "harbor.example.com"
///     default_project = "legacy"
/// "#)?;
/// let text = "FROM --platform=$BUILDPLATFORM 123456789012.dkr.ecr.eu-west-1.amazonaws.com/base:1 AS build\n";
/// let rewrite = Rewriter::new(mapping).rewrite(text, FileKind::Dockerfile).await;
/// assert_eq!(rewrite.text, "FROM --platform=$BUILDPLATFORM harbor.example.com/legacy/base:1 AS build\n");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Rewriter {
    mapping: Mapping,
    resolver: Option<Arc<dyn DigestResolver>>,
}

impl std::fmt::Debug for Rewriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewriter")
            .field("mapping", &self.mapping)
            .field("pins_digests", &self.resolver.is_some())
            .finish()
    }
}

/// The replacement computed for one occurrence.
enum Outcome {
    Edits {
        edits: Vec<(Span, String)>,
        change: Change,
        unpinned: Option<Unpinned>,
    },
    Unmapped(UnmappedReference),
}

impl Rewriter {
    /// A rewriter that maps without pinning.
    pub fn new(mapping: Mapping) -> Self {
        Self {
            mapping,
            resolver: None,
        }
    }

    /// Pins every mapped reference that has a tag and no digest, using `resolver`.
    #[must_use]
    pub fn pin_digests(mut self, resolver: Arc<dyn DigestResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Rewrites `text` as a file of `kind`.
    pub async fn rewrite(&self, text: &str, kind: FileKind) -> Rewrite {
        let occurrences = match kind {
            FileKind::Yaml => yaml::scan(text),
            FileKind::Dockerfile => dockerfile::scan(text),
        };

        let mut digests = HashMap::new();
        let mut edits = Vec::new();
        let mut rewrite = Rewrite {
            original: text.to_owned(),
            text: String::new(),
            changes: Vec::new(),
            unmapped: Vec::new(),
            unpinned: Vec::new(),
        };
        for occurrence in occurrences {
            match self.outcome(text, &occurrence, &mut digests).await {
                Outcome::Edits {
                    edits: more,
                    change,
                    unpinned,
                } => {
                    edits.extend(more);
                    rewrite.changes.push(change);
                    rewrite.unpinned.extend(unpinned);
                }
                Outcome::Unmapped(unmapped) => rewrite.unmapped.push(unmapped),
            }
        }
        rewrite.text = apply(text, edits);
        rewrite
    }

    async fn outcome(
        &self,
        text: &str,
        occurrence: &Occurrence,
        digests: &mut HashMap<String, Result<Digest, String>>,
    ) -> Outcome {
        let image = &occurrence.image;
        let target = match self.mapping.map(image) {
            Ok(target) => target,
            Err(reason) => {
                return Outcome::Unmapped(UnmappedReference {
                    line: occurrence.line,
                    reference: image.to_string(),
                    reason,
                });
            }
        };

        let pinning = if occurrence.pinnable {
            self.pin(image, digests).await
        } else if self.resolver.is_some() {
            Err("the tag is a variable".to_owned())
        } else {
            Ok(None)
        };
        let (digest, unpinned) = match pinning {
            Ok(digest) => (digest, None),
            Err(reason) => {
                let unpinned = Unpinned {
                    line: occurrence.line,
                    reference: image.to_string(),
                    reason,
                };
                (None, Some(unpinned))
            }
        };
        let (edits, to, unpinned) = slot_edits(
            text,
            &occurrence.slots,
            &target,
            digest.as_ref(),
            unpinned,
            occurrence,
        );
        let change = Change {
            line: occurrence.line,
            from: image.to_string(),
            to,
        };
        Outcome::Edits {
            edits,
            change,
            unpinned,
        }
    }

    /// The digest to pin `image` to: `Ok(None)` when pinning is off or the image already has
    /// a digest.
    async fn pin(
        &self,
        image: &EcrImage,
        digests: &mut HashMap<String, Result<Digest, String>>,
    ) -> Result<Option<Digest>, String> {
        let Some(resolver) = &self.resolver else {
            return Ok(None);
        };
        if image.digest().is_some() {
            return Ok(None);
        }
        if image.tag().is_none() {
            return Err("the reference has no tag to resolve".to_owned());
        }
        let key = image.to_string();
        if !digests.contains_key(&key) {
            let digest = resolver
                .resolve(image)
                .await
                .map_err(|error| error_chain(&error));
            digests.insert(key.clone(), digest);
        }
        digests[&key].clone().map(Some)
    }
}

/// The edits that write `target` (pinned to `digest` when given) into `slots`, the
/// reference as it now reads, and the pin failure to report if any.
fn slot_edits(
    text: &str,
    slots: &Slots,
    target: &Reference,
    digest: Option<&Digest>,
    unpinned: Option<Unpinned>,
    occurrence: &Occurrence,
) -> (Vec<(Span, String)>, String, Option<Unpinned>) {
    let pinned = digest.map_or_else(
        || target.clone(),
        |digest| target.with_digest(digest.clone()),
    );
    match slots {
        Slots::Whole(span) => (
            vec![(*span, pinned.to_string())],
            pinned.to_string(),
            unpinned,
        ),
        Slots::Split {
            registry,
            repository,
            tag,
        } => {
            let mut edits = Vec::new();
            match registry {
                Some(registry) => {
                    edits.push((*registry, target.registry().to_owned()));
                    edits.push((*repository, target.repository().to_owned()));
                }
                None => edits.push((*repository, target.name())),
            }
            let mut unpinned = unpinned;
            if let Some(digest) = digest {
                match tag {
                    Some(tag) => {
                        let tag_text = &text[tag.start..tag.end];
                        edits.push((*tag, format!("{tag_text}@{digest}")));
                    }
                    None => {
                        unpinned = Some(Unpinned {
                            line: occurrence.line,
                            reference: occurrence.image.to_string(),
                            reason: "split fields without a tag field cannot carry a digest"
                                .to_owned(),
                        });
                    }
                }
            }
            (edits, pinned.to_string(), unpinned)
        }
    }
}

/// Applies non-overlapping edits to `text`.
fn apply(text: &str, mut edits: Vec<(Span, String)>) -> String {
    edits.sort_by_key(|(span, _)| span.start);
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    for (span, replacement) in edits {
        if span.start < position {
            continue;
        }
        out.push_str(&text[position..span.start]);
        out.push_str(&replacement);
        position = span.end;
    }
    out.push_str(&text[position..]);
    out
}

/// An error and its sources joined with `: `, for a one-line report.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds_from_names() {
        let kind = |name: &str| FileKind::detect(Path::new(name));
        assert_eq!(kind("deploy/app.yaml"), Some(FileKind::Yaml));
        assert_eq!(kind("compose.yml"), Some(FileKind::Yaml));
        assert_eq!(kind("Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(kind("Dockerfile.prod"), Some(FileKind::Dockerfile));
        assert_eq!(kind("api.Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(kind("Containerfile"), Some(FileKind::Dockerfile));
        assert_eq!(kind("README.md"), None);
    }

    #[test]
    fn applies_edits_in_order() {
        let text = "aaa bbb ccc";
        let edits = vec![
            (Span { start: 8, end: 11 }, "Z".to_owned()),
            (Span { start: 0, end: 3 }, "X".to_owned()),
        ];
        assert_eq!(apply(text, edits), "X bbb Z");
    }
}
