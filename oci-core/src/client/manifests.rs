//! Manifest HEAD, GET, PUT and DELETE.

use bytes::Bytes;
use http::{HeaderMap, Method, header};

use super::{RegistryClient, read_capped};
use crate::digest::{Digest, DigestVerifier};
use crate::error::{Error, redact_url};
use crate::manifest::{MAX_MANIFEST_BYTES, Manifest};
use crate::reference::{Action, Reference};

/// A manifest exactly as the registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// The media type from `Content-Type` (or the body's `mediaType` when the header is bare
    /// JSON or missing).
    pub media_type: String,
    /// The digest of [`bytes`](Self::bytes), verified.
    pub digest: Digest,
    /// The body, byte for byte: push these to copy the manifest without changing its digest.
    pub bytes: Bytes,
}

/// What a `HEAD` on a manifest tells without downloading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// `Docker-Content-Digest`, or the requested digest when the registry sent none.
    pub digest: Option<Digest>,
    /// The media type, when the registry sent one.
    pub media_type: Option<String>,
    /// `Content-Length`, when the registry sent one.
    pub size: Option<u64>,
}

/// What a manifest `PUT` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    /// The digest of the pushed bytes.
    pub digest: Digest,
    /// True when the registry answered with `OCI-Subject`, meaning it indexed the manifest's
    /// `subject` itself (referrers API); false means a client must maintain the
    /// `sha256-<hex>` fallback tag.
    pub subject_acknowledged: bool,
}

impl RegistryClient {
    /// Downloads a manifest by tag or digest, verified against its digest, with its bytes
    /// unchanged.
    pub async fn get_manifest_raw(&self, reference: &Reference) -> Result<RawManifest, Error> {
        let rest = format!("manifests/{}", reference.manifest_reference());
        let call = self.repo_call(Method::GET, reference, &rest, &[Action::Pull])?;
        let call = call.header(header::ACCEPT, &manifest_accept());
        let answer = self.execute(&call).await?;
        let headers = answer.response.headers().clone();
        let bytes =
            read_capped(answer.response, MAX_MANIFEST_BYTES, "manifest", &answer.url).await?;
        let digest = verify_manifest(reference, &headers, &bytes, &answer.url)?;
        let media_type = content_type(&headers)
            .filter(|t| *t != "application/json" && !t.is_empty())
            .map(str::to_owned)
            .or_else(|| body_media_type(&bytes))
            .unwrap_or_default();
        Ok(RawManifest {
            media_type,
            digest,
            bytes,
        })
    }

    /// Downloads and parses a manifest (image manifest, index or artifact).
    pub async fn get_manifest(&self, reference: &Reference) -> Result<Manifest, Error> {
        let raw = self.get_manifest_raw(reference).await?;
        let content_type = Some(raw.media_type.as_str()).filter(|t| !t.is_empty());
        Ok(Manifest::from_bytes(content_type, raw.bytes)?)
    }

    /// `HEAD` on a manifest: `None` when the registry does not have it.
    pub async fn head_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<ManifestHead>, Error> {
        let rest = format!("manifests/{}", reference.manifest_reference());
        let call = self.repo_call(Method::HEAD, reference, &rest, &[Action::Pull])?;
        let call = call.header(header::ACCEPT, &manifest_accept());
        let answer = match self.execute(&call).await {
            Ok(answer) => answer,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        let headers = answer.response.headers();
        let announced = announced_digest(headers);
        if let (Some(wanted), Some(announced)) = (reference.digest(), &announced)
            && wanted != announced
        {
            return Err(header_mismatch(&answer.url, wanted, announced));
        }
        Ok(Some(ManifestHead {
            digest: announced.or_else(|| reference.digest().cloned()),
            media_type: content_type(headers).map(str::to_owned),
            size: headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok()),
        }))
    }

    /// Pushes manifest bytes exactly as given, under the reference's tag (or its digest when
    /// it has no tag). A digest in the reference must match the bytes.
    pub async fn put_manifest_raw(
        &self,
        reference: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<PushedManifest, Error> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(Error::TooLarge {
                what: "manifest",
                url: reference.to_string(),
                limit: MAX_MANIFEST_BYTES as u64,
            });
        }
        let digest = match reference.digest() {
            Some(wanted) => {
                wanted.verify(&bytes)?;
                wanted.clone()
            }
            None => Digest::sha256_of(&bytes),
        };
        let target = reference.tag().unwrap_or(digest.as_str()).to_owned();
        let call = self.repo_call(
            Method::PUT,
            reference,
            &format!("manifests/{target}"),
            &[Action::Pull, Action::Push],
        )?;
        let call = call.header(header::CONTENT_TYPE, media_type).body(bytes);
        let answer = self.execute(&call).await?;
        let headers = answer.response.headers();
        if let Some(announced) = announced_digest(headers)
            && announced != digest
        {
            return Err(header_mismatch(&answer.url, &digest, &announced));
        }
        let subject_acknowledged = headers.contains_key("oci-subject");
        Ok(PushedManifest {
            digest,
            subject_acknowledged,
        })
    }

    /// Deletes a manifest. Registries delete by digest only, so a reference without a digest
    /// is refused here with [`Error::Unsupported`] (resolve the tag with
    /// [`head_manifest`](Self::head_manifest) first).
    pub async fn delete_manifest(&self, reference: &Reference) -> Result<(), Error> {
        let Some(digest) = reference.digest() else {
            return Err(Error::Unsupported {
                reason: format!("manifests are deleted by digest; `{reference}` has only a tag"),
            });
        };
        let rest = format!("manifests/{digest}");
        let call = self.repo_call(
            Method::DELETE,
            reference,
            &rest,
            &[Action::Pull, Action::Delete],
        )?;
        self.execute(&call).await.map(drop)
    }
}

/// The `Accept` value for manifests: OCI and Docker manifests and indexes.
pub(crate) fn manifest_accept() -> String {
    crate::media_type::manifest_accept_header()
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim())
}

fn body_media_type(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Probe>(bytes).ok()?.media_type
}

pub(crate) fn announced_digest(headers: &HeaderMap) -> Option<Digest> {
    let value = headers.get("docker-content-digest")?.to_str().ok()?;
    Digest::parse(value.trim()).ok()
}

fn header_mismatch(url: &url::Url, expected: &Digest, announced: &Digest) -> Error {
    Error::DigestHeaderMismatch {
        url: redact_url(url),
        expected: expected.to_string(),
        announced: announced.to_string(),
    }
}

/// The verified digest of a manifest body: it must match the requested digest (if any) and
/// the `Docker-Content-Digest` header (if any).
fn verify_manifest(
    reference: &Reference,
    headers: &HeaderMap,
    bytes: &[u8],
    url: &url::Url,
) -> Result<Digest, Error> {
    let announced = announced_digest(headers);
    if let (Some(wanted), Some(announced)) = (reference.digest(), &announced)
        && wanted != announced
    {
        return Err(header_mismatch(url, wanted, announced));
    }
    let expected = reference.digest().or(announced.as_ref());
    let Some(expected) = expected else {
        return Ok(Digest::sha256_of(bytes));
    };
    let mut verifier = DigestVerifier::new(expected);
    verifier.update(bytes);
    verifier.finish().map_err(|source| Error::Digest {
        url: redact_url(url),
        source,
    })?;
    Ok(expected.clone())
}
