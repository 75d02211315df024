//! The crate's error type: what went wrong talking to a registry, and why.
//!
//! A registry's own error body (`{"errors":[{"code":…,"message":…,"detail":…}]}`) is parsed
//! into [`RegistryErrorBody`] entries whose [`ErrorCode`] keeps codes it does not know in
//! [`ErrorCode::Other`], so a new or vendor-specific code never turns into a parse failure.
//! URLs in errors never carry credentials or query strings that might hold signatures.

use std::fmt;

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::credentials::CredentialError;
use crate::digest::DigestError;
use crate::reference::ReferenceError;
use crate::transport::TransportError;

/// An error code from the distribution spec, or any other code a registry sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`: the blob is not in the repository.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`: the upload failed or was rejected.
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`: the upload session does not exist (any more).
    BlobUploadUnknown,
    /// `DIGEST_INVALID`: the content does not match the digest, or the digest is malformed.
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`: the manifest references a blob or child the registry lacks.
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`: the manifest failed validation.
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`: no manifest for this tag or digest.
    ManifestUnknown,
    /// `NAME_INVALID`: the repository name is invalid.
    NameInvalid,
    /// `NAME_UNKNOWN`: the repository does not exist.
    NameUnknown,
    /// `SIZE_INVALID`: the content length does not match.
    SizeInvalid,
    /// `UNAUTHORIZED`: authentication is required.
    Unauthorized,
    /// `DENIED`: access to the resource is denied.
    Denied,
    /// `UNSUPPORTED`: the operation is not supported (e.g. delete is disabled).
    Unsupported,
    /// `TOOMANYREQUESTS`: the client is rate limited.
    TooManyRequests,
    /// Any other code, kept verbatim (`UNKNOWN`, `RANGE_INVALID`, Harbor's own codes, …).
    Other(String),
}

impl ErrorCode {
    /// Reads a code as a registry writes it.
    pub fn parse(code: &str) -> Self {
        match code {
            "BLOB_UNKNOWN" => Self::BlobUnknown,
            "BLOB_UPLOAD_INVALID" => Self::BlobUploadInvalid,
            "BLOB_UPLOAD_UNKNOWN" => Self::BlobUploadUnknown,
            "DIGEST_INVALID" => Self::DigestInvalid,
            "MANIFEST_BLOB_UNKNOWN" => Self::ManifestBlobUnknown,
            "MANIFEST_INVALID" => Self::ManifestInvalid,
            "MANIFEST_UNKNOWN" => Self::ManifestUnknown,
            "NAME_INVALID" => Self::NameInvalid,
            "NAME_UNKNOWN" => Self::NameUnknown,
            "SIZE_INVALID" => Self::SizeInvalid,
            "UNAUTHORIZED" => Self::Unauthorized,
            "DENIED" => Self::Denied,
            "UNSUPPORTED" => Self::Unsupported,
            "TOOMANYREQUESTS" => Self::TooManyRequests,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as the registry wrote it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::Unsupported => "UNSUPPORTED",
            Self::TooManyRequests => "TOOMANYREQUESTS",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::parse(&text))
    }
}

/// One entry of a registry's `errors` array.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegistryErrorBody {
    /// The error code.
    pub code: ErrorCode,
    /// A human-readable message, possibly empty.
    #[serde(default)]
    pub message: String,
    /// Free-form detail the registry attached, if any.
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    errors: Vec<RegistryErrorBody>,
}

/// Reads the `errors` array of a registry error body; an unreadable body gives no entries.
pub fn parse_error_body(body: &[u8]) -> Vec<RegistryErrorBody> {
    serde_json::from_slice::<ErrorEnvelope>(body).map_or_else(|_| Vec::new(), |e| e.errors)
}

/// What a registry answered when it refused a request.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryResponse {
    /// The request method.
    pub method: Method,
    /// The URL without credentials and without its query string.
    pub url: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The parsed error entries (empty when the body had none).
    pub errors: Vec<RegistryErrorBody>,
    /// The request id the server echoed (`X-Request-Id`, `Docker-Request-Id`, …), if any.
    pub request_id: Option<String>,
}

impl RegistryResponse {
    /// The first error code, if the body carried one.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.errors.first().map(|e| &e.code)
    }
}

impl fmt::Display for RegistryResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} answered {}", self.method, self.url, self.status)?;
        if let Some(first) = self.errors.first() {
            write!(f, " {}", first.code)?;
            if !first.message.is_empty() {
                write!(f, ": {}", first.message)?;
            }
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in this crate's I/O.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry answered with an error status.
    #[error("{response}")]
    Registry {
        /// The status, error codes, URL and request id.
        response: Box<RegistryResponse>,
    },
    /// The request could not be sent or its answer could not be read (connection refused,
    /// TLS failure, reset, timeout).
    #[error("{method} {url} failed")]
    Http {
        /// The request method.
        method: Method,
        /// The URL without credentials.
        url: String,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// Content did not match its digest.
    #[error("content of {url} does not match its digest")]
    Digest {
        /// The URL the content came from (without credentials).
        url: String,
        /// The mismatch.
        source: DigestError,
    },
    /// The registry's `Docker-Content-Digest` header disagrees with the requested digest.
    #[error("{url} announced digest {announced}, expected {expected}")]
    DigestHeaderMismatch {
        /// The URL without credentials.
        url: String,
        /// The digest requested.
        expected: String,
        /// The digest the header announced.
        announced: String,
    },
    /// A body was larger than the limit for its kind.
    #[error("{what} from {url} exceeds {limit} bytes")]
    TooLarge {
        /// What was being read (`manifest`, `JSON body`).
        what: &'static str,
        /// The URL without credentials.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The registry's answer broke the protocol (missing `Location`, bad `Range`, …).
    #[error("invalid response from {url}: {reason}")]
    Protocol {
        /// The URL without credentials.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The token service refused or answered nonsense.
    #[error("token request to {realm} failed: {reason}")]
    Token {
        /// The realm URL without credentials.
        realm: String,
        /// What went wrong.
        reason: String,
        /// The registry's answer, when it sent an error status.
        response: Option<Box<RegistryResponse>>,
    },
    /// The operation is not possible as asked (e.g. deleting a manifest by tag).
    #[error("unsupported operation: {reason}")]
    Unsupported {
        /// Why.
        reason: String,
    },
    /// A redirect chain was too long or pointed somewhere unusable.
    #[error("redirect from {url} cannot be followed: {reason}")]
    Redirect {
        /// The URL that redirected (without credentials).
        url: String,
        /// Why it was not followed.
        reason: String,
    },
    /// A streamed body (an upload source) failed.
    #[error("upload body for {url} failed")]
    Body {
        /// The upload URL without credentials.
        url: String,
        /// What the stream reported.
        source: std::io::Error,
    },
    /// A reference or name was invalid.
    #[error("invalid reference")]
    Reference(#[from] ReferenceError),
    /// A digest was invalid.
    #[error("invalid digest")]
    InvalidDigest(#[from] DigestError),
    /// A manifest could not be parsed.
    #[error("invalid manifest")]
    Manifest(#[from] crate::manifest::ManifestError),
    /// The transport could not be configured.
    #[error("transport configuration failed")]
    Transport(#[from] TransportError),
    /// The credential source failed.
    #[error("no usable credential")]
    Credential(#[from] CredentialError),
}

impl Error {
    /// The HTTP status, when the registry answered with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Registry { response }
            | Self::Token {
                response: Some(response),
                ..
            } => Some(response.status),
            _ => None,
        }
    }

    /// The first registry error code, when the registry sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Registry { response } => response.code(),
            _ => None,
        }
    }

    /// The registry's answer, when it refused the request.
    pub fn response(&self) -> Option<&RegistryResponse> {
        match self {
            Self::Registry { response }
            | Self::Token {
                response: Some(response),
                ..
            } => Some(response),
            _ => None,
        }
    }

    /// True for a 404 (unknown manifest, blob or repository).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True for a 413 (Payload Too Large), a body refused by a size cap: the client sends that
    /// registry's blobs in chunks from then on, and smaller chunks after a refused chunk, so
    /// an upload that can start again from its first byte is worth starting again (the push
    /// example does; `push_blob` and the copy engine do it themselves).
    pub fn is_payload_too_large(&self) -> bool {
        self.status() == Some(StatusCode::PAYLOAD_TOO_LARGE)
    }

    /// True when the error came from the connection (refused, reset, timeout) rather than
    /// from an answer.
    pub fn is_connection(&self) -> bool {
        matches!(self, Self::Http { .. })
    }

    pub(crate) fn registry(response: RegistryResponse) -> Self {
        Self::Registry {
            response: Box::new(response),
        }
    }

    pub(crate) fn protocol(url: &url::Url, reason: impl Into<String>) -> Self {
        Self::Protocol {
            url: redact_url(url),
            reason: reason.into(),
        }
    }
}

/// A crate-wide result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The URL as it may appear in an error or a log line: no user, no password, no query string
/// (upload URLs and storage redirects carry state and signatures there), no fragment.
pub fn redact_url(url: &url::Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes_parse() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}},{"code":"RANGE_INVALID","message":"bad range"}]}"#;
        let errors = parse_error_body(body);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].code, ErrorCode::ManifestUnknown);
        assert!(errors[0].detail.is_some());
        assert_eq!(errors[1].code, ErrorCode::Other("RANGE_INVALID".into()));
        assert_eq!(errors[1].code.as_str(), "RANGE_INVALID");
    }

    #[test]
    fn unreadable_body_gives_no_entries() {
        assert!(parse_error_body(b"<html>bad gateway</html>").is_empty());
        assert!(parse_error_body(b"").is_empty());
    }

    #[test]
    fn urls_lose_credentials_and_query() {
        let url =
            url::Url::parse("https://user:pw@h.example/v2/a/blobs/uploads/x?_state=abc&digest=d")
                .unwrap();
        assert_eq!(redact_url(&url), "https://h.example/v2/a/blobs/uploads/x");
    }

    #[test]
    fn display_names_status_code_and_request_id() {
        let error = Error::registry(RegistryResponse {
            method: Method::GET,
            url: "http://r/v2/a/manifests/x".into(),
            status: StatusCode::NOT_FOUND,
            errors: parse_error_body(
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            ),
            request_id: Some("abc".into()),
        });
        assert_eq!(
            error.to_string(),
            "GET http://r/v2/a/manifests/x answered 404 Not Found MANIFEST_UNKNOWN: manifest unknown (request id abc)"
        );
        assert!(error.is_not_found());
        assert_eq!(error.code(), Some(&ErrorCode::ManifestUnknown));
    }
}
