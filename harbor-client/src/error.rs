//! The crate's error type.

use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};
use serde::Deserialize;

use crate::operation::DecodeError;

/// Everything that can go wrong talking to Harbor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarborError {
    /// Harbor answered with an error status.
    #[error("harbor answered {status} to {method} {path}{}", request_id_suffix(request_id.as_deref()))]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The method of the request.
        method: Method,
        /// The request path (no host, no credentials).
        path: String,
        /// The `X-Request-Id` of the request (Harbor echoes it; quote it when asking an admin).
        request_id: Option<String>,
        /// The `errors` Harbor listed; empty when the body was not Harbor's error shape.
        errors: Vec<ApiErrorItem>,
        /// The start of the body when it was not Harbor's error shape.
        body_excerpt: String,
    },
    /// The request did not complete (connection, TLS, timeout).
    #[error("request {method} {path} failed{}", request_id_suffix(request_id.as_deref()))]
    Transport {
        /// The method of the request.
        method: Method,
        /// The request path.
        path: String,
        /// The request id sent.
        request_id: Option<String>,
        /// The cause.
        source: reqwest::Error,
    },
    /// A successful answer could not be decoded.
    #[error("cannot decode the answer to {operation}{}", request_id_suffix(request_id.as_deref()))]
    Decode {
        /// The operation id.
        operation: &'static str,
        /// The request id sent.
        request_id: Option<String>,
        /// The cause.
        source: DecodeError,
    },
    /// A request body could not be serialised.
    #[error("cannot encode the body of {operation}")]
    Encode {
        /// The operation id.
        operation: &'static str,
        /// The cause.
        source: serde_json::Error,
    },
    /// An argument is outside what Harbor accepts.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The client configuration is invalid.
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The transport could not be set up.
    #[error("cannot set up the HTTP transport")]
    TransportConfig(#[from] wharf_oci_core::transport::TransportError),
    /// The server's Harbor version is older than a feature needs.
    #[error("{feature} needs Harbor {required} or newer, the server runs {actual}")]
    Unsupported {
        /// The feature.
        feature: &'static str,
        /// The oldest version that has it.
        required: String,
        /// The server's version.
        actual: String,
    },
    /// A wait ended before the awaited state was reached.
    #[error("gave up waiting for {what} after {waited:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the client waited.
        waited: Duration,
    },
    /// A server answer lacks something the client needs (an id, a secret, a status).
    #[error("unexpected answer: {what}")]
    Unexpected {
        /// What was missing or wrong.
        what: String,
    },
}

fn request_id_suffix(request_id: Option<&str>) -> String {
    request_id
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

impl HarborError {
    /// The HTTP status, for errors Harbor answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request id of the failed request, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api { request_id, .. }
            | Self::Transport { request_id, .. }
            | Self::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The error codes Harbor listed.
    pub fn codes(&self) -> Vec<&ErrorCode> {
        match self {
            Self::Api { errors, .. } => errors.iter().map(|e| &e.code).collect(),
            _ => Vec::new(),
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True for a 409 (the resource exists, or its state forbids the change).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }
}

/// One entry of Harbor's `{"errors":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiErrorItem {
    /// The error code.
    #[serde(default)]
    pub code: ErrorCode,
    /// The message (5xx messages are masked by Harbor).
    #[serde(default)]
    pub message: String,
}

/// Harbor's error codes; codes this client does not know are kept in [`ErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `BAD_REQUEST`.
    BadRequest,
    /// `UNAUTHORIZED`.
    Unauthorized,
    /// `FORBIDDEN`.
    Forbidden,
    /// `DENIED`.
    Denied,
    /// `NOT_FOUND`.
    NotFound,
    /// `METHOD_NOT_ALLOWED`.
    MethodNotAllowed,
    /// `CONFLICT`.
    Conflict,
    /// `PRECONDITION`.
    Precondition,
    /// `UNPROCESSABLE_ENTITY`.
    UnprocessableEntity,
    /// `INTERNAL_SERVER_ERROR`.
    InternalServerError,
    /// `UNKNOWN` or no code at all.
    #[default]
    Unknown,
    /// Any other code, as sent.
    Other(String),
}

impl ErrorCode {
    /// Parses a code; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        match code {
            "BAD_REQUEST" => Self::BadRequest,
            "UNAUTHORIZED" => Self::Unauthorized,
            "FORBIDDEN" => Self::Forbidden,
            "DENIED" => Self::Denied,
            "NOT_FOUND" => Self::NotFound,
            "METHOD_NOT_ALLOWED" => Self::MethodNotAllowed,
            "CONFLICT" => Self::Conflict,
            "PRECONDITION" => Self::Precondition,
            "UNPROCESSABLE_ENTITY" => Self::UnprocessableEntity,
            "INTERNAL_SERVER_ERROR" => Self::InternalServerError,
            "UNKNOWN" | "" => Self::Unknown,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::Denied => "DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::Precondition => "PRECONDITION",
            Self::UnprocessableEntity => "UNPROCESSABLE_ENTITY",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::Unknown => "UNKNOWN",
            Self::Other(other) => other,
        };
        f.write_str(text)
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        Ok(Self::parse(&code))
    }
}

/// Reads Harbor's error body; anything else gives no items.
pub(crate) fn parse_error_items(body: &[u8]) -> Vec<ApiErrorItem> {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default, deserialize_with = "crate::serde_helpers::null_as_default")]
        errors: Vec<ApiErrorItem>,
    }
    serde_json::from_slice::<Errors>(body)
        .map(|e| e.errors)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_are_kept() {
        let items = parse_error_items(br#"{"errors":[{"code":"NOT_FOUND","message":"x"},{"code":"VIOLATE_FOREIGN_KEY_CONSTRAINT"}]}"#);
        assert_eq!(items[0].code, ErrorCode::NotFound);
        assert_eq!(
            items[1].code,
            ErrorCode::Other("VIOLATE_FOREIGN_KEY_CONSTRAINT".to_owned())
        );
        assert!(parse_error_items(b"<html>").is_empty());
    }
}
