//! The one error type of this crate, and how server answers are classified into it.

use std::path::PathBuf;

use http::StatusCode;

/// What went wrong talking to a package registry.
///
/// The variants name what happened the same way for every format and every server: a duplicate
/// upload is [`Error::AlreadyExists`] whether Gitea answered 400 (PyPI, npm) or 409 (the other
/// formats), pypiserver 400 or verdaccio 409. The server's own message is kept in `message`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The package version or file is already in the registry.
    #[error("{what} already exists (HTTP {status}): {message}")]
    AlreadyExists {
        /// The package, version or file that was being published.
        what: String,
        /// The status the server answered with.
        status: StatusCode,
        /// The server's message.
        message: String,
    },
    /// The owner's package quota (count or size) is used up.
    #[error("package quota exceeded (HTTP {status}): {message}")]
    QuotaExceeded {
        /// The status the server answered with (403).
        status: StatusCode,
        /// The server's message.
        message: String,
    },
    /// The credentials are missing or wrong, or the token lacks the `read:package` /
    /// `write:package` scope that the call needs.
    #[error("not authorised, or the token lacks the package scope (HTTP {status}): {message}")]
    Unauthorized {
        /// The status the server answered with (401).
        status: StatusCode,
        /// The server's message.
        message: String,
    },
    /// The server refused the call for a reason other than quota (403).
    #[error("forbidden (HTTP {status}): {message}")]
    Forbidden {
        /// The status the server answered with.
        status: StatusCode,
        /// The server's message.
        message: String,
    },
    /// The package, version, file or owner does not exist.
    #[error("not found: {url}")]
    NotFound {
        /// The URL that was requested.
        url: String,
        /// The server's message.
        message: String,
    },
    /// Local validation failed: the file is not a package this client can read.
    #[error("invalid package {file}: {reason}")]
    InvalidPackage {
        /// The file (or the package name when there is no file).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other answer that is not a success.
    #[error("server answered HTTP {status} for {url}: {message}")]
    Api {
        /// The status the server answered with.
        status: StatusCode,
        /// The URL that was requested.
        url: String,
        /// The server's message.
        message: String,
    },
    /// A downloaded file does not match the hash the index announced.
    #[error("{file} does not match its {algorithm} hash (expected {expected}, got {actual})")]
    HashMismatch {
        /// The file name.
        file: String,
        /// The hash algorithm, e.g. `sha256`.
        algorithm: String,
        /// The hash the index announced.
        expected: String,
        /// The hash of the bytes received.
        actual: String,
    },
    /// The server is too old for the call.
    #[error("{feature} needs Gitea {required} or newer, the server runs {server}")]
    Unsupported {
        /// The feature that was called.
        feature: &'static str,
        /// The first Gitea version that has it.
        required: &'static str,
        /// The version the server reported.
        server: String,
    },
    /// The server answered with a body this client cannot read.
    #[error("unexpected answer from {url}: {reason}")]
    InvalidResponse {
        /// The URL that was requested.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// The client configuration is invalid (base URL, owner).
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The HTTP transport could not be built.
    #[error("cannot build the HTTP transport")]
    Transport(#[from] wharf_oci_core::transport::TransportError),
    /// oci-core's registry client failed (container registry calls).
    #[error("container registry client failed")]
    Registry {
        /// The registry client's error.
        source: Box<wharf_oci_core::error::Error>,
    },
    /// The request could not be sent or its answer not read.
    #[error("request to {url} failed")]
    Http {
        /// The URL that was requested.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// A local file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// The HTTP status of a server answer, when the error comes from one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::AlreadyExists { status, .. }
            | Self::QuotaExceeded { status, .. }
            | Self::Unauthorized { status, .. }
            | Self::Forbidden { status, .. }
            | Self::Api { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Self::Http { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The server's message, when the error comes from a server answer.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Self::AlreadyExists { message, .. }
            | Self::QuotaExceeded { message, .. }
            | Self::Unauthorized { message, .. }
            | Self::Forbidden { message, .. }
            | Self::NotFound { message, .. }
            | Self::Api { message, .. } => Some(message),
            _ => None,
        }
    }

    pub(crate) fn invalid_package(file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidPackage {
            file: file.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// A shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of call an answer belongs to: it decides which statuses mean "duplicate".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// A read, delete or management call.
    Plain,
    /// A publish whose duplicate answer is 409 (and 400 when the message says so, as
    /// PyPI and npm answer on Gitea and pypiserver).
    Publish,
}

/// Turns a failed answer into an [`Error`].
pub(crate) fn classify(
    call: Call,
    what: &str,
    url: &str,
    status: StatusCode,
    body: &[u8],
) -> Error {
    let message = server_message(body);
    let says_exists = message.to_ascii_lowercase().contains("exist")
        || message.to_ascii_lowercase().contains("already present");
    let says_quota = {
        let lower = message.to_ascii_lowercase();
        lower.contains("quota") || lower.contains("exceeded")
    };
    match status {
        StatusCode::CONFLICT if call == Call::Publish => Error::AlreadyExists {
            what: what.to_owned(),
            status,
            message,
        },
        StatusCode::BAD_REQUEST if call == Call::Publish && says_exists => Error::AlreadyExists {
            what: what.to_owned(),
            status,
            message,
        },
        StatusCode::UNAUTHORIZED => Error::Unauthorized { status, message },
        StatusCode::FORBIDDEN if says_quota => Error::QuotaExceeded { status, message },
        StatusCode::FORBIDDEN => Error::Forbidden { status, message },
        StatusCode::NOT_FOUND => Error::NotFound {
            url: url.to_owned(),
            message,
        },
        _ => Error::Api {
            status,
            url: url.to_owned(),
            message,
        },
    }
}

/// The longest server message kept in an error.
const MAX_MESSAGE_LEN: usize = 1024;

/// Reads the human message out of an error body: JSON (`message`, `error`, `reason`,
/// `errors[0].detail` as cargo answers), the `<pre>` of an HTML error page, or plain text.
pub(crate) fn server_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = json_message(&text)
        .or_else(|| html_pre(&text))
        .unwrap_or_else(|| text.trim().to_owned());
    truncate(message)
}

fn json_message(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if let Some(text) = value.as_str() {
        return Some(text.to_owned());
    }
    for key in ["message", "error", "reason", "detail"] {
        if let Some(text) = value.get(key).and_then(serde_json::Value::as_str) {
            return Some(text.to_owned());
        }
    }
    let first = value.get("errors")?.get(0)?;
    ["detail", "message"]
        .iter()
        .find_map(|key| first.get(*key).and_then(serde_json::Value::as_str))
        .map(str::to_owned)
}

fn html_pre(text: &str) -> Option<String> {
    let start = text.find("<pre>")? + "<pre>".len();
    let end = start + text[start..].find("</pre>")?;
    Some(crate::html::unescape(text[start..end].trim()))
}

fn truncate(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_LEN {
        let mut cut = MAX_MESSAGE_LEN;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_codes_of_every_server_map_to_already_exists() {
        let gitea_pypi = classify(
            Call::Publish,
            "pkg 1.0",
            "u",
            StatusCode::BAD_REQUEST,
            b"package file already exists",
        );
        assert!(
            matches!(gitea_pypi, Error::AlreadyExists { .. }),
            "{gitea_pypi}"
        );

        let verdaccio = classify(
            Call::Publish,
            "p",
            "u",
            StatusCode::CONFLICT,
            br#"{"error":"this package is already present"}"#,
        );
        assert!(
            matches!(verdaccio, Error::AlreadyExists { ref message, .. } if message == "this package is already present")
        );

        let bad_request = classify(
            Call::Publish,
            "p",
            "u",
            StatusCode::BAD_REQUEST,
            b"invalid name",
        );
        assert!(matches!(bad_request, Error::Api { .. }));

        let read_conflict = classify(Call::Plain, "p", "u", StatusCode::CONFLICT, b"");
        assert!(matches!(read_conflict, Error::Api { .. }));
    }

    #[test]
    fn quota_scope_and_not_found_are_named() {
        let quota = classify(
            Call::Publish,
            "p",
            "u",
            StatusCode::FORBIDDEN,
            b"maximum allowed package count exceeded",
        );
        assert!(matches!(quota, Error::QuotaExceeded { .. }));
        let denied = classify(Call::Plain, "p", "u", StatusCode::FORBIDDEN, b"no");
        assert!(matches!(denied, Error::Forbidden { .. }));
        let scope = classify(Call::Plain, "p", "u", StatusCode::UNAUTHORIZED, b"");
        assert_eq!(scope.status(), Some(StatusCode::UNAUTHORIZED));
        let missing = classify(Call::Plain, "p", "u", StatusCode::NOT_FOUND, b"");
        assert!(matches!(missing, Error::NotFound { .. }));
    }

    #[test]
    fn messages_come_out_of_json_html_and_cargo_bodies() {
        assert_eq!(server_message(br#"{"message":"m","url":"x"}"#), "m");
        assert_eq!(
            server_message(br#"{"ok":false,"errors":[{"detail":"dup"}]}"#),
            "dup"
        );
        assert_eq!(
            server_message(b"<html><pre>File &quot;x&quot; exists</pre></html>"),
            "File \"x\" exists"
        );
        assert_eq!(server_message(b"  plain\n"), "plain");
        assert!(server_message("é".repeat(2000).as_bytes()).len() <= MAX_MESSAGE_LEN + 3);
    }
}
