//! Blob HEAD, GET (a verified, resuming stream) and DELETE.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use http::{Method, StatusCode, header};
use tracing::warn;

use super::RegistryClient;
use super::request::{Answer, Call};
use crate::digest::{Digest, DigestVerifier};
use crate::error::{Error, redact_url};
use crate::reference::{Action, Reference};

/// How many times a download resumes after its connection dropped.
const MAX_RESUMES: u32 = 5;

/// A blob download: a stream of chunks that verifies the digest as it goes and resumes with
/// `Range` when the connection drops.
///
/// The last item is an error if the content did not match the digest, so a consumer that
/// reads to the end has either verified bytes or an error. Redirects to storage on another
/// host are followed without the registry's credentials.
pub struct BlobStream {
    size: Option<u64>,
    inner: BoxStream<'static, Result<Bytes, Error>>,
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStream")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BlobStream {
    /// The blob's size from `Content-Length`, when the registry sent one.
    pub fn size(&self) -> Option<u64> {
        self.size
    }
}

impl Stream for BlobStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl RegistryClient {
    /// `HEAD` on a blob: its size when the repository has it, `None` when it does not.
    pub async fn blob_exists(
        &self,
        repo: &Reference,
        digest: &Digest,
    ) -> Result<Option<u64>, Error> {
        let call = self.repo_call(
            Method::HEAD,
            repo,
            &format!("blobs/{digest}"),
            &[Action::Pull],
        )?;
        let call = call.following_redirects();
        match self.execute(&call).await {
            // reqwest reports a HEAD body as empty, so read the header itself.
            Ok(answer) => Ok(Some(
                answer
                    .response
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(0),
            )),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Starts downloading a blob. Errors before the first byte (404, denied) are returned here;
    /// later ones, including a digest mismatch, arrive as the stream's last item.
    pub async fn get_blob(&self, repo: &Reference, digest: &Digest) -> Result<BlobStream, Error> {
        let call = self.repo_call(
            Method::GET,
            repo,
            &format!("blobs/{digest}"),
            &[Action::Pull],
        )?;
        let call = call.following_redirects();
        let answer = self.execute(&call).await?;
        let size = answer.response.content_length();
        let download = Download {
            client: self.clone(),
            call,
            verifier: Some(DigestVerifier::new(digest)),
            size,
            received: 0,
            skip: 0,
            body: Some(answer.response.bytes_stream().boxed()),
            resumes_left: MAX_RESUMES,
        };
        let inner = futures::stream::unfold(download, Download::next).boxed();
        Ok(BlobStream { size, inner })
    }

    /// Downloads a whole blob into memory (for configs and small layers), verified.
    pub async fn get_blob_bytes(
        &self,
        repo: &Reference,
        digest: &Digest,
        limit: usize,
    ) -> Result<Bytes, Error> {
        let mut stream = self.get_blob(repo, digest).await?;
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > limit {
                return Err(Error::TooLarge {
                    what: "blob",
                    url: format!("{repo}@{digest}"),
                    limit: limit as u64,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Deletes a blob from a repository (registries need deletes enabled).
    pub async fn delete_blob(&self, repo: &Reference, digest: &Digest) -> Result<(), Error> {
        let call = self.repo_call(
            Method::DELETE,
            repo,
            &format!("blobs/{digest}"),
            &[Action::Pull, Action::Delete],
        )?;
        self.execute(&call).await.map(drop)
    }
}

/// The state of a download between chunks.
struct Download {
    client: RegistryClient,
    call: Call,
    verifier: Option<DigestVerifier>,
    size: Option<u64>,
    received: u64,
    /// Bytes still to drop because a server ignored `Range` and sent from the start.
    skip: u64,
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    resumes_left: u32,
}

impl Download {
    async fn next(mut self) -> Option<(Result<Bytes, Error>, Self)> {
        loop {
            self.verifier.as_ref()?;
            if self.body.is_none()
                && let Err(error) = self.reopen().await
            {
                self.verifier = None;
                return Some((Err(error), self));
            }
            let body = self.body.as_mut().expect("body is open");
            match body.next().await {
                Some(Ok(chunk)) => {
                    if let Some(chunk) = self.accept(chunk) {
                        return Some((chunk, self));
                    }
                }
                Some(Err(error)) => {
                    if let Err(error) = self.dropped(error) {
                        return Some((Err(error), self));
                    }
                }
                None if self.size.is_some_and(|size| self.received < size) => {
                    let url = redact_url(&self.call.url);
                    warn!(
                        url,
                        received = self.received,
                        "blob body ended early; resuming"
                    );
                    if let Err(error) = self.use_resume() {
                        return Some((Err(error), self));
                    }
                }
                None => return self.finish().map(|error| (Err(error), self)),
            }
        }
    }

    /// Counts and verifies a chunk; `None` when it was entirely skipped.
    fn accept(&mut self, mut chunk: Bytes) -> Option<Result<Bytes, Error>> {
        if self.skip > 0 {
            let drop_now = self.skip.min(chunk.len() as u64) as usize;
            self.skip -= drop_now as u64;
            chunk = chunk.slice(drop_now..);
            if chunk.is_empty() {
                return None;
            }
        }
        self.received += chunk.len() as u64;
        if self.size.is_some_and(|size| self.received > size) {
            self.verifier = None;
            return Some(Err(Error::protocol(
                &self.call.url,
                "blob is longer than its Content-Length",
            )));
        }
        self.verifier
            .as_mut()
            .expect("verifier present")
            .update(&chunk);
        Some(Ok(chunk))
    }

    fn dropped(&mut self, error: reqwest::Error) -> Result<(), Error> {
        warn!(error = %error, received = self.received, "blob download interrupted; resuming");
        self.use_resume().map_err(|_| Error::Http {
            method: Method::GET,
            url: redact_url(&self.call.url),
            source: error,
        })
    }

    fn use_resume(&mut self) -> Result<(), Error> {
        self.body = None;
        if self.resumes_left == 0 {
            self.verifier = None;
            return Err(Error::protocol(
                &self.call.url,
                "blob download kept dropping; giving up",
            ));
        }
        self.resumes_left -= 1;
        Ok(())
    }

    /// Opens the body again from `received` with a `Range` request.
    async fn reopen(&mut self) -> Result<(), Error> {
        let call = self
            .call
            .clone()
            .header(header::RANGE, &format!("bytes={}-", self.received));
        let Answer { response, url } = self.client.execute(&call).await?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT => check_range_start(&response, self.received, &url)?,
            _ => self.skip = self.received,
        }
        self.body = Some(response.bytes_stream().boxed());
        Ok(())
    }

    /// Checks the digest at the end; `Some(error)` on a mismatch.
    fn finish(&mut self) -> Option<Error> {
        let verifier = self.verifier.take()?;
        verifier.finish().err().map(|source| Error::Digest {
            url: redact_url(&self.call.url),
            source,
        })
    }
}

/// A `206` must resume exactly where the download stopped.
fn check_range_start(
    response: &reqwest::Response,
    expected: u64,
    url: &url::Url,
) -> Result<(), Error> {
    let start = response
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|v| v.parse::<u64>().ok());
    if start == Some(expected) {
        Ok(())
    } else {
        Err(Error::protocol(
            url,
            format!("resumed download starts at {start:?}, expected {expected}"),
        ))
    }
}
