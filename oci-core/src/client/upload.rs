//! Blob uploads: one streaming `PUT` by default, `PATCH` chunks as a fallback, and mounts.

use std::fmt;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt, TryStreamExt};
use http::{Method, StatusCode, header};
use tracing::{debug, info, warn};
use url::Url;

use super::RegistryClient;
use super::manifests::announced_digest;
use super::request::{Call, location};
use crate::digest::Digest;
use crate::error::{Error, redact_url};
use crate::reference::{Action, Reference, Scope};

/// The content type of uploaded blob bytes.
const OCTET_STREAM: &str = "application/octet-stream";

/// The answer to a mount request.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per mount; boxing the session buys nothing"
)]
#[must_use = "a declined mount holds an open upload session: upload into it or cancel it"]
pub enum MountOutcome {
    /// `201`: the registry linked the blob from the source repository.
    Mounted,
    /// `202`: the registry declined the mount and opened an upload session instead; upload the
    /// blob into it (the session is not leaked by discarding this value, but it wastes a
    /// server-side session until the registry purges it).
    Declined(UploadSession),
}

/// How a [`RegistryClient`] sends blobs to a registry, as
/// [`RegistryClient::upload_shape`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadShape {
    /// The whole blob in one `PUT`.
    WholeBlob,
    /// `PATCH` requests of at most this many bytes, then an empty `PUT`.
    Chunks(usize),
}

/// An open upload session (`POST /v2/<name>/blobs/uploads/` answered `202` with a
/// `Location`). Consumed by the method that completes it.
pub struct UploadSession {
    client: RegistryClient,
    repo: Reference,
    location: Url,
    offset: u64,
}

impl fmt::Debug for UploadSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadSession")
            .field("repo", &self.repo.to_string())
            .field("location", &redact_url(&self.location))
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// Opens an upload session in `repo`.
    pub async fn start_upload(&self, repo: &Reference) -> Result<UploadSession, Error> {
        let call = self.upload_post(repo, &[])?;
        let answer = self.execute(&call).await?;
        self.session_from(repo, &answer.response, &answer.url)
    }

    /// Asks the registry to link `digest` from `source` (a repository on the same registry)
    /// into `target`. The token asked for covers `pull,push` on the target and `pull` on the
    /// source.
    pub async fn mount_blob(
        &self,
        target: &Reference,
        digest: &Digest,
        source: &Reference,
    ) -> Result<MountOutcome, Error> {
        let query = [("mount", digest.as_str()), ("from", source.repository())];
        let mut call = self.upload_post(target, &query)?;
        call.scopes
            .push(Scope::repository(source.repository_name(), [Action::Pull]));
        let answer = self.execute(&call).await?;
        if answer.response.status() == StatusCode::CREATED {
            info!(%digest, target = %target.repository(), source = %source.repository(), "blob mounted");
            return Ok(MountOutcome::Mounted);
        }
        debug!(%digest, "mount declined; continuing with the opened upload session");
        let session = self.session_from(target, &answer.response, &answer.url)?;
        Ok(MountOutcome::Declined(session))
    }

    /// Uploads a blob from a stream of `size` bytes, as one streaming `PUT` (or in chunks when
    /// the client prefers them). The stream is consumed once: this upload is not retried past
    /// the session's opening; see [`push_blob`](Self::push_blob) for a restartable upload.
    pub async fn push_blob_stream<S, E>(
        &self,
        repo: &Reference,
        digest: &Digest,
        size: u64,
        stream: S,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let session = self.start_upload(repo).await?;
        session.upload_stream(digest, size, stream).await
    }

    /// Uploads a blob held in memory, restarting the whole upload (a new session) after
    /// transient failures, as the retry policy allows.
    pub async fn push_blob(
        &self,
        repo: &Reference,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<(), Error> {
        digest.verify(&bytes)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let shape = self.upload_shape(repo.registry());
            let result = match self.start_upload(repo).await {
                Ok(session) => session.upload_bytes(digest, bytes.clone()).await,
                Err(error) => Err(error),
            };
            match result {
                Err(error) if self.made_bodies_smaller(&error, repo.registry(), shape) => {
                    warn!(%digest, error = %error, "upload refused as too large; sending it in smaller pieces");
                    attempt -= 1;
                }
                Err(error)
                    if self.is_transient(&error) && self.inner.retry.has_attempts_left(attempt) =>
                {
                    let wait = self.inner.retry.delay(attempt, None);
                    warn!(%digest, attempt, error = %error, "upload failed; restarting it");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    fn is_transient(&self, error: &Error) -> bool {
        error.is_connection()
            || error
                .status()
                .is_some_and(|s| self.inner.retry.should_retry_status(s))
    }

    /// Whether uploads to `repo`'s registry go as one `PUT`: the client prefers it and the
    /// registry has not refused a whole blob.
    pub(crate) fn sends_whole_blobs(&self, repo: &Reference) -> bool {
        self.upload_shape(repo.registry()) == UploadShape::WholeBlob
    }

    /// How blobs go to `registry` now: one `PUT`, or chunks of a size. It only changes when
    /// the registry refuses a body with 413, so a caller that sees it change across a failed
    /// upload knows that starting again is worth it (see
    /// [`made_bodies_smaller`](Self::made_bodies_smaller)).
    pub fn upload_shape(&self, registry: &str) -> UploadShape {
        let refused = self.chunked_registries().get(registry).copied();
        match refused {
            Some(chunk_size) => UploadShape::Chunks(chunk_size),
            None if self.inner.monolithic_upload => UploadShape::WholeBlob,
            None => UploadShape::Chunks(self.inner.chunk_size),
        }
    }

    /// Whether `error` is a 413 after which blobs to `registry` go in smaller bodies than
    /// `shape_before` (what [`upload_shape`](Self::upload_shape) said when the upload began):
    /// starting the upload again at once is then worth it, without using a retry attempt (the
    /// bodies can only shrink a few times, down to the minimum chunk). A 413 that changed
    /// nothing is not worth a retry.
    ///
    /// For callers with an upload loop of their own, such as one that restarts a stream from
    /// a file; [`push_blob`](Self::push_blob) and the copy engine already do this.
    pub fn made_bodies_smaller(
        &self,
        error: &Error,
        registry: &str,
        shape_before: UploadShape,
    ) -> bool {
        error.is_payload_too_large() && self.upload_shape(registry) != shape_before
    }

    fn chunked_registries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.inner
            .chunked_registries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers a registry that answered a whole-blob `PUT` with 413, so later uploads
    /// (and the retry of this one) go in chunks.
    fn note_refused_whole_blob(&self, registry: &str, error: &Error) {
        if error.is_payload_too_large() {
            warn!(%registry, "registry refused a whole blob (413); uploading in chunks from now on");
            self.chunked_registries()
                .entry(registry.to_owned())
                .or_insert(self.inner.chunk_size);
        }
    }

    /// Remembers a registry that answered a chunk of `chunk_len` bytes with 413 (a proxy's
    /// body-size cap below the chunk size): later chunks are half as big, down to
    /// [`MIN_CHUNK_SIZE`](super::MIN_CHUNK_SIZE).
    fn note_refused_chunk(&self, registry: &str, chunk_len: usize, error: &Error) {
        if !error.is_payload_too_large() {
            return;
        }
        let smaller = (chunk_len / 2).max(super::MIN_CHUNK_SIZE);
        let mut registries = self.chunked_registries();
        let current = registries
            .entry(registry.to_owned())
            .or_insert(self.inner.chunk_size);
        if smaller < *current {
            warn!(%registry, refused = chunk_len, next = smaller, "registry refused a chunk (413); sending smaller chunks");
            *current = smaller;
        }
    }

    fn upload_post(&self, repo: &Reference, query: &[(&str, &str)]) -> Result<Call, Error> {
        let mut call = self.repo_call(
            Method::POST,
            repo,
            "blobs/uploads/",
            &[Action::Pull, Action::Push],
        )?;
        if !query.is_empty() {
            call.url.query_pairs_mut().extend_pairs(query);
        }
        // A lost answer only leaves an unused session behind, which registries purge.
        call.retryable = true;
        Ok(call)
    }

    fn session_from(
        &self,
        repo: &Reference,
        response: &reqwest::Response,
        url: &Url,
    ) -> Result<UploadSession, Error> {
        let location = location(response, url)?;
        Ok(UploadSession {
            client: self.clone(),
            repo: repo.clone(),
            location,
            offset: 0,
        })
    }
}

impl UploadSession {
    /// Bytes the registry has accepted so far in this session.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Uploads `size` bytes from `stream` and completes the session, as one streaming `PUT`
    /// or in `PATCH` chunks, whichever the client is configured to prefer.
    pub async fn upload_stream<S, E>(
        self,
        digest: &Digest,
        size: u64,
        stream: S,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        if self.client.sends_whole_blobs(&self.repo) {
            self.upload_monolithic(digest, size, stream).await
        } else {
            self.upload_chunked(digest, stream).await
        }
    }

    /// One `PUT <location>?digest=` whose body is the stream (no buffering).
    pub async fn upload_monolithic<S, E>(
        self,
        digest: &Digest,
        size: u64,
        stream: S,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let call = self
            .finishing_put(digest)
            .header(header::CONTENT_TYPE, OCTET_STREAM)
            .header(header::CONTENT_LENGTH, &size.to_string());
        let body = reqwest::Body::wrap_stream(stream.map_err(Into::into));
        let client = self.client.clone();
        let registry = self.repo.registry().to_owned();
        let answer = client
            .execute_streaming(&call, body)
            .await
            .inspect_err(|error| client.note_refused_whole_blob(&registry, error))?;
        check_completed(&answer.response, digest, &answer.url)
    }

    /// Uploads bytes held in memory and completes the session: one `PUT`, or chunks for a
    /// registry that refused a whole blob before.
    pub async fn upload_bytes(self, digest: &Digest, bytes: Bytes) -> Result<(), Error> {
        if !self.client.sends_whole_blobs(&self.repo) {
            let stream = futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes)]);
            return self.upload_chunked(digest, stream).await;
        }
        let call = self
            .finishing_put(digest)
            .header(header::CONTENT_TYPE, OCTET_STREAM)
            .body(bytes)
            .not_retryable();
        let answer = self.client.execute(&call).await.inspect_err(|error| {
            self.client
                .note_refused_whole_blob(self.repo.registry(), error);
        })?;
        check_completed(&answer.response, digest, &answer.url)
    }

    /// Sends the stream as `PATCH` requests of the client's chunk size, following the
    /// `Location` after each and checking the `Range` the registry acknowledges, then completes
    /// the session with an empty `PUT`.
    pub async fn upload_chunked<S, E>(mut self, digest: &Digest, stream: S) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let chunk_size = match self.client.upload_shape(self.repo.registry()) {
            UploadShape::Chunks(chunk_size) => chunk_size,
            UploadShape::WholeBlob => self.client.inner.chunk_size,
        };
        let mut stream = std::pin::pin!(stream);
        let mut buffer = BytesMut::with_capacity(chunk_size);
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| self.body_error(e))?;
            buffer.extend_from_slice(&piece);
            while buffer.len() >= chunk_size {
                let chunk = buffer.split_to(chunk_size).freeze();
                self.patch(chunk).await?;
            }
        }
        if !buffer.is_empty() {
            self.patch(buffer.freeze()).await?;
        }
        let call = self.finishing_put(digest).not_retryable();
        let answer = self.client.execute(&call).await?;
        check_completed(&answer.response, digest, &answer.url)
    }

    /// Abandons the session (`DELETE <location>`); errors are ignored, registries purge
    /// abandoned sessions anyway.
    pub async fn cancel(self) {
        let call = self.session_call(Method::DELETE, self.location.clone());
        if let Err(error) = self.client.execute(&call).await {
            debug!(error = %error, "cancelling an upload session failed");
        }
    }

    async fn patch(&mut self, chunk: Bytes) -> Result<(), Error> {
        let start = self.offset;
        let chunk_len = chunk.len();
        let end = start + chunk_len as u64 - 1;
        let call = self
            .session_call(Method::PATCH, self.location.clone())
            .header(header::CONTENT_TYPE, OCTET_STREAM)
            .header(header::CONTENT_RANGE, &format!("{start}-{end}"))
            .body(chunk)
            .not_retryable();
        let answer = self.client.execute(&call).await.inspect_err(|error| {
            self.client
                .note_refused_chunk(self.repo.registry(), chunk_len, error);
        })?;
        check_range(&answer.response, end, &answer.url)?;
        self.location = location(&answer.response, &answer.url)?;
        self.offset = end + 1;
        Ok(())
    }

    /// `PUT <location>` with `digest=` added to the session's own query.
    fn finishing_put(&self, digest: &Digest) -> Call {
        let mut url = self.location.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        self.session_call(Method::PUT, url)
    }

    fn session_call(&self, method: Method, url: Url) -> Call {
        let scope = Scope::repository(self.repo.repository_name(), [Action::Pull, Action::Push]);
        let mut call = self
            .client
            .call(method, url, self.repo.registry(), vec![scope]);
        call.retryable = false;
        call
    }

    fn body_error<E: Into<Box<dyn std::error::Error + Send + Sync>>>(&self, error: E) -> Error {
        Error::Body {
            url: redact_url(&self.location),
            source: std::io::Error::other(error),
        }
    }
}

/// A finished upload answers `201`; its `Docker-Content-Digest`, if any, must be ours.
fn check_completed(response: &reqwest::Response, digest: &Digest, url: &Url) -> Result<(), Error> {
    if response.status() != StatusCode::CREATED {
        return Err(Error::protocol(
            url,
            format!("upload completed with {} instead of 201", response.status()),
        ));
    }
    match announced_digest(response.headers()) {
        Some(announced) if &announced != digest => Err(Error::DigestHeaderMismatch {
            url: redact_url(url),
            expected: digest.to_string(),
            announced: announced.to_string(),
        }),
        _ => Ok(()),
    }
}

/// After a `PATCH` the registry's `Range: 0-<end>` must acknowledge everything sent.
fn check_range(response: &reqwest::Response, end: u64, url: &Url) -> Result<(), Error> {
    let Some(range) = response
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let acknowledged = range
        .trim()
        .trim_start_matches("bytes=")
        .split('-')
        .nth(1)
        .and_then(|v| v.parse::<u64>().ok());
    if acknowledged == Some(end) {
        Ok(())
    } else {
        Err(Error::protocol(
            url,
            format!("registry acknowledged `{range}` after sending up to byte {end}"),
        ))
    }
}
