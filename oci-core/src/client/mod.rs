//! The distribution client: manifests, blobs, uploads, mounts, listings and referrers.
//!
//! [`RegistryClient`] is cheap to clone (an `Arc` inside) and safe to share between tasks, so
//! a copy engine can run many transfers through one client and one per-host limit.
//!
//! Operations that name a repository take a [`Reference`]; its registry and repository are used
//! and its tag or digest ignored unless the operation is about a manifest.
//!
//! Behaviour worth knowing:
//!
//! - Idempotent requests (and the upload `POST`, which opens a fresh session each time) are
//!   retried on 408, 429, 502, 503, 504, connection errors and timeouts, with exponential
//!   backoff and jitter, honouring `Retry-After` up to the policy's cap. A streamed body cannot
//!   be replayed, so the `PUT` or `PATCH` carrying one is sent once; [`RegistryClient::push_blob`]
//!   restarts a whole upload from its in-memory bytes instead.
//! - `Authorization` is only ever sent to the registry's own origin (scheme, host and port).
//!   Redirects of blob downloads are followed without it when they leave that origin. An
//!   upload `Location` on another origin is **followed without credentials** rather than
//!   refused, so registries that hand out pre-signed upload URLs keep working.
//! - Manifests are verified against the requested digest, a `Docker-Content-Digest` that
//!   disagrees is rejected, and bodies are capped ([`MAX_MANIFEST_BYTES`], [`MAX_JSON_BYTES`]).

mod blobs;
mod builder;
mod listing;
mod manifests;
mod request;
mod upload;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{HeaderMap, Method};
use url::Url;

pub use blobs::BlobStream;
pub use builder::{
    DEFAULT_CHUNK_SIZE, DEFAULT_PER_HOST_LIMIT, MIN_CHUNK_SIZE, RegistryClientBuilder,
};
pub use listing::{REFERRERS_TAG_WRITES, Referrers};
pub use manifests::{ManifestHead, PushedManifest, RawManifest};
pub use upload::{MountOutcome, UploadSession, UploadShape};

use crate::auth::Authenticator;
use crate::error::Error;
pub use crate::manifest::MAX_MANIFEST_BYTES;
use crate::reference::{Action, Reference, Scope};
use crate::retry::RetryPolicy;
use crate::transport::TransportConfig;
use request::{Call, HostLimits};

/// The largest JSON answer read (tag lists, catalogs, referrer indexes): 16 MiB.
pub const MAX_JSON_BYTES: usize = 16 * 1024 * 1024;

/// A client for the OCI distribution API of any number of registries.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    auth: Authenticator,
    transport: TransportConfig,
    retry: RetryPolicy,
    limits: HostLimits,
    chunk_size: usize,
    monolithic_upload: bool,
    /// Registries that refused a request body as too large (413), with the chunk size they
    /// get from then on: the configured one after a refused whole blob, half of a refused
    /// chunk after that.
    chunked_registries: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl RegistryClient {
    /// Starts a builder; see [`RegistryClientBuilder`] for the defaults.
    pub fn builder() -> RegistryClientBuilder {
        RegistryClientBuilder::default()
    }

    /// Checks that `registry` (`host[:port]`) speaks the distribution API and that the
    /// credentials, if any, are accepted: `GET /v2/`.
    pub async fn ping(&self, registry: &str) -> Result<(), Error> {
        let origin = self.origin(registry)?;
        let url = origin
            .join("/v2/")
            .map_err(|e| Error::protocol(&origin, e.to_string()))?;
        let call = self.call(Method::GET, url, registry, Vec::new());
        self.execute(&call).await.map(drop)
    }

    /// `scheme://api-host/` of a registry, by the transport's plain-HTTP list.
    fn origin(&self, api_host: &str) -> Result<Url, Error> {
        let scheme = self.inner.transport.scheme_for(api_host);
        let text = format!("{scheme}://{api_host}/");
        Url::parse(&text).map_err(|e| Error::Unsupported {
            reason: format!("invalid registry host `{api_host}`: {e}"),
        })
    }

    /// `…/v2/<repository>/<rest>` for `repo`.
    fn repo_url(&self, repo: &Reference, rest: &str) -> Result<Url, Error> {
        let origin = self.origin(repo.api_host())?;
        let path = format!("/v2/{}/{rest}", repo.repository());
        origin
            .join(&path)
            .map_err(|e| Error::protocol(&origin, e.to_string()))
    }

    fn call(&self, method: Method, url: Url, registry: &str, scopes: Vec<Scope>) -> Call {
        let origin = self
            .origin(registry_api_host(registry))
            .unwrap_or_else(|_| url.clone());
        let retryable = matches!(
            method,
            Method::GET | Method::HEAD | Method::DELETE | Method::PUT
        );
        Call {
            method,
            url,
            registry: registry.to_owned(),
            origin,
            scopes,
            headers: HeaderMap::new(),
            body: None,
            retryable,
            follow_redirects: false,
        }
    }

    fn repo_call(
        &self,
        method: Method,
        repo: &Reference,
        rest: &str,
        actions: &[Action],
    ) -> Result<Call, Error> {
        let url = self.repo_url(repo, rest)?;
        let scope = Scope::repository(repo.repository_name(), actions.iter().cloned());
        let mut call = self.call(method, url, repo.registry(), vec![scope]);
        call.origin = self.origin(repo.api_host())?;
        Ok(call)
    }
}

/// Docker Hub's API host for `docker.io`, the registry itself otherwise.
fn registry_api_host(registry: &str) -> &str {
    if registry == crate::reference::DOCKER_HUB_REGISTRY {
        crate::reference::DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

/// The request id a server echoed, under any of the usual names.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    [
        "x-request-id",
        "docker-request-id",
        "x-amz-request-id",
        "x-amzn-requestid",
    ]
    .iter()
    .find_map(|name| headers.get(*name)?.to_str().ok().map(str::to_owned))
}

/// Reads a whole body, failing with [`Error::TooLarge`] past `limit` bytes (checked against
/// `Content-Length` first, then while reading).
pub(crate) async fn read_capped(
    response: reqwest::Response,
    limit: usize,
    what: &'static str,
    url: &Url,
) -> Result<Bytes, Error> {
    let too_large = || Error::TooLarge {
        what,
        url: crate::error::redact_url(url),
        limit: limit as u64,
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|source| Error::Http {
            method: Method::GET,
            url: crate::error::redact_url(url),
            source,
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
