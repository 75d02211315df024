//! Tag and catalog listings as streams that follow `Link`, and the referrers API with its
//! tag fallback.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http::{Method, header};
use serde::Deserialize;
use tracing::debug;
use url::Url;

use super::request::Call;
use super::{MAX_JSON_BYTES, RegistryClient, read_capped};
use crate::digest::Digest;
use crate::error::Error;
use crate::manifest::Descriptor;
use crate::media_type;
use crate::reference::{Action, Reference, Scope};

/// The manifests that refer to a subject, and how they were found.
#[derive(Debug, Clone, PartialEq)]
pub struct Referrers {
    /// One descriptor per referring manifest (with `artifactType` and annotations when the
    /// registry or the fallback index has them).
    pub descriptors: Vec<Descriptor>,
    /// True when the registry has no referrers API and the `sha256-<hex>` tag was read.
    pub from_fallback_tag: bool,
}

#[derive(Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct IndexPage {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// The state of a paginated listing between items.
struct Pages {
    client: RegistryClient,
    call: Call,
    next: Option<Url>,
    buffered: VecDeque<String>,
    read_page: fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
}

impl Pages {
    async fn next_item(mut self) -> Option<(Result<String, Error>, Self)> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Some((Ok(item), self));
            }
            let url = self.next.take()?;
            if let Err(error) = self.fetch(url).await {
                return Some((Err(error), self));
            }
        }
    }

    async fn fetch(&mut self, url: Url) -> Result<(), Error> {
        let mut call = self.call.clone();
        call.url = url;
        let answer = self.client.execute(&call).await?;
        let link = answer
            .response
            .headers()
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_capped(answer.response, MAX_JSON_BYTES, "listing", &answer.url).await?;
        let items = (self.read_page)(&body)
            .map_err(|e| Error::protocol(&answer.url, format!("unreadable listing: {e}")))?;
        debug!(items = items.len(), more = link.is_some(), "listing page");
        self.buffered.extend(items);
        self.next = match link.as_deref().and_then(crate::link::next_link) {
            Some(target) => Some(
                answer
                    .url
                    .join(&target)
                    .map_err(|e| Error::protocol(&answer.url, format!("invalid Link: {e}")))?,
            ),
            None => None,
        };
        Ok(())
    }
}

fn tag_page(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_slice::<TagPage>(body).map(|page| page.tags.unwrap_or_default())
}

fn catalog_page(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_slice::<CatalogPage>(body).map(|page| page.repositories.unwrap_or_default())
}

impl RegistryClient {
    /// Every tag of `repo`, page by page (`n` per page when given), following `Link` until
    /// the registry sends no more.
    pub fn list_tags(
        &self,
        repo: &Reference,
        page_size: Option<usize>,
    ) -> BoxStream<'static, Result<String, Error>> {
        let call = match self.repo_call(Method::GET, repo, "tags/list", &[Action::Pull]) {
            Ok(call) => call,
            Err(error) => return stream::once(async { Err(error) }).boxed(),
        };
        self.paginate(call, page_size, tag_page)
    }

    /// Every repository of a registry (`host[:port]`) from `/v2/_catalog`, following `Link`.
    pub fn catalog(
        &self,
        registry: &str,
        page_size: Option<usize>,
    ) -> BoxStream<'static, Result<String, Error>> {
        let url = match self
            .origin(super::registry_api_host(registry))
            .map(|o| o.join("/v2/_catalog"))
        {
            Ok(Ok(url)) => url,
            Ok(Err(error)) => {
                let error = Error::Unsupported {
                    reason: format!("invalid registry `{registry}`: {error}"),
                };
                return stream::once(async { Err(error) }).boxed();
            }
            Err(error) => return stream::once(async { Err(error) }).boxed(),
        };
        let call = self.call(Method::GET, url, registry, vec![Scope::catalog()]);
        self.paginate(call, page_size, catalog_page)
    }

    fn paginate(
        &self,
        call: Call,
        page_size: Option<usize>,
        read_page: fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
    ) -> BoxStream<'static, Result<String, Error>> {
        let mut first = call.url.clone();
        if let Some(n) = page_size {
            first.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let pages = Pages {
            client: self.clone(),
            call,
            next: Some(first),
            buffered: VecDeque::new(),
            read_page,
        };
        stream::unfold(pages, Pages::next_item).boxed()
    }

    /// The manifests whose `subject` is `digest`, optionally only those of `artifact_type`.
    ///
    /// Uses the referrers API (`/v2/<name>/referrers/<digest>`) and falls back to the
    /// `sha256-<hex>` tag when the registry does not have the API (a 404), as distribution 2.8
    /// and 3.1 do not.
    pub async fn referrers(
        &self,
        repo: &Reference,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers, Error> {
        let mut referrers = match self.referrers_api(repo, digest).await? {
            Some(descriptors) => Referrers {
                descriptors,
                from_fallback_tag: false,
            },
            None => Referrers {
                descriptors: self.referrers_tag(repo, digest).await?,
                from_fallback_tag: true,
            },
        };
        if let Some(wanted) = artifact_type {
            referrers
                .descriptors
                .retain(|d| d.artifact_type.as_deref() == Some(wanted));
        }
        Ok(referrers)
    }

    /// Adds `descriptor` to the `sha256-<hex>` fallback index of `subject` (creating it when
    /// missing), keeping every other entry and field as it was. For registries without the
    /// referrers API, after pushing a manifest whose `subject` is `subject`.
    ///
    /// The index is read, extended and written back, then read again: when another client
    /// wrote its own version in between and the entry is gone, it is added to that version
    /// and written again, up to [`REFERRERS_TAG_WRITES`] times.
    // FIXME: a writer that read the index before this one wrote it and writes after this
    // one's check can still drop the entry; closing that needs a conditional PUT
    // (`If-Match`), which the distribution spec does not define (opencontainers/
    // distribution-spec pull request 251 is still open).
    pub async fn add_to_referrers_tag(
        &self,
        repo: &Reference,
        subject: &Digest,
        descriptor: &Descriptor,
    ) -> Result<(), Error> {
        let tagged = repo
            .repository_reference()
            .with_tag(&subject.referrers_tag())?;
        let entry = serde_json::to_value(descriptor).map_err(|e| Error::Unsupported {
            reason: e.to_string(),
        })?;
        // Every write is followed by a read that checks it, the last one included.
        for written in 0..=REFERRERS_TAG_WRITES {
            let mut index = self.fallback_index(&tagged, subject).await?;
            if !add_index_entry(&mut index, &entry, subject)? {
                return Ok(());
            }
            if written == REFERRERS_TAG_WRITES {
                break;
            }
            let bytes = Bytes::from(serde_json::to_vec(&index).expect("a JSON value serialises"));
            self.put_manifest_raw(&tagged, media_type::OCI_INDEX, bytes)
                .await?;
        }
        Err(Error::Protocol {
            url: tagged.to_string(),
            reason: format!(
                "the referrers tag of {subject} lost the new entry after each of \
                 {REFERRERS_TAG_WRITES} writes (other clients writing it at the same time?)"
            ),
        })
    }

    /// The fallback index of `subject` at `tagged`, or an empty index when there is none yet.
    async fn fallback_index(
        &self,
        tagged: &Reference,
        subject: &Digest,
    ) -> Result<serde_json::Value, Error> {
        match self.get_manifest_raw(tagged).await {
            Ok(raw) => serde_json::from_slice(&raw.bytes).map_err(|e| Error::Unsupported {
                reason: format!("referrers tag of {subject} is not JSON: {e}"),
            }),
            Err(error) if error.is_not_found() => Ok(serde_json::json!({
                "schemaVersion": 2,
                "mediaType": media_type::OCI_INDEX,
                "manifests": [],
            })),
            Err(error) => Err(error),
        }
    }

    async fn referrers_api(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<Vec<Descriptor>>, Error> {
        let call = self.repo_call(
            Method::GET,
            repo,
            &format!("referrers/{digest}"),
            &[Action::Pull],
        )?;
        let call = call.header(header::ACCEPT, media_type::OCI_INDEX);
        let answer = match self.execute(&call).await {
            Ok(answer) => answer,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        let body = read_capped(
            answer.response,
            MAX_JSON_BYTES,
            "referrers index",
            &answer.url,
        )
        .await?;
        let index: IndexPage = serde_json::from_slice(&body).map_err(|e| {
            Error::protocol(&answer.url, format!("unreadable referrers index: {e}"))
        })?;
        Ok(Some(index.manifests))
    }

    async fn referrers_tag(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Vec<Descriptor>, Error> {
        let tagged = repo
            .repository_reference()
            .with_tag(&digest.referrers_tag())?;
        match self.get_manifest_raw(&tagged).await {
            Ok(raw) => {
                let index: IndexPage =
                    serde_json::from_slice(&raw.bytes).map_err(|e| Error::Unsupported {
                        reason: format!("referrers tag of {digest} is not an index: {e}"),
                    })?;
                Ok(index.manifests)
            }
            Err(error) if error.is_not_found() => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }
}

/// How often [`RegistryClient::add_to_referrers_tag`] writes a fallback index before it gives
/// up on other clients overwriting it.
pub const REFERRERS_TAG_WRITES: usize = 5;

/// Appends `entry` to the `manifests` of `index` unless an entry with its digest is already
/// there. Returns whether it was appended.
fn add_index_entry(
    index: &mut serde_json::Value,
    entry: &serde_json::Value,
    subject: &Digest,
) -> Result<bool, Error> {
    let Some(manifests) = index
        .get_mut("manifests")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return Err(Error::Unsupported {
            reason: format!("referrers tag of {subject} is not an index"),
        });
    };
    if manifests
        .iter()
        .any(|m| m.get("digest") == entry.get("digest"))
    {
        return Ok(false);
    }
    manifests.push(entry.clone());
    Ok(true)
}
